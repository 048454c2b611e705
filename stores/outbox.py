"""Sending the stores' outbox (StoreChange rows): claim due changes, write each to its store outside any
transaction, record the outcome; the mechanism of the notifications' outbox (live/outbox.py).

A worker claims a batch in one statement that moves the changes' next attempt a lease ahead
(ORDEROPS_STORES["LEASE"]) and stamps them with its claim; on PostgreSQL the statement picks its rows FOR
UPDATE SKIP LOCKED, so workers running at once claim different changes without waiting for each other
(SQLite: the same statement, alone among writers). The statement claims only the earliest unsent change of
each order: a change waits while an earlier one of its order is pending (due, leased or waiting for a
retry), so a later status never overtakes an earlier one, whatever the number of workers. A dead change no
longer holds its order's later ones back.

The HTTP calls run with no transaction open; each call the store took is recorded at once (`steps_done`, where
the claim is still this worker's), and a retry starts after them: a note that reached the store is never sent
again by a live worker. A worker killed between the store's answer and that record can send that one call
again (as for the emails): a status or a tag is the same twice, a note then appears twice.

Failures: a time-out, a dropped connection, 5xx or 429 waits RETRY_BASE seconds, doubled after each failure
(429: at least what Retry-After says), and after MAX_ATTEMPTS attempts the change is dead; a refusal that a
retry cannot mend (400, 401, 403, 404, 422) is dead at once. Dead changes are shown to superusers on the
store's admin page, with a button that queues them again.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from orderops.db import db_datetime
from orderops.outbox import doubling_delay
from stores.clients import OrdersClient, client_for, retry_after_seconds
from stores.conf import stores_setting
from stores.models import Store, StoreChange
from stores.writeback import FULFILLMENT_ORDERS, Call, store_calls

State = StoreChange.State
ERROR_LENGTH = 2000
# Answers a retry cannot mend: the change is dead at once (the admin's retry queues it again once fixed).
FINAL_STATUSES = frozenset({400, 401, 403, 404, 405, 410, 422})


def retry_delay(attempts: int) -> timedelta:
    """The wait after the `attempts`-th failed attempt: RETRY_BASE seconds, doubled after each failure."""
    return doubling_delay(attempts, first=stores_setting("RETRY_BASE"))


# The claim, in one statement: the due pending changes of active stores that no earlier pending change of
# their order holds back, oldest due first; FOR UPDATE SKIP LOCKED on PostgreSQL (rows another worker is
# claiming are passed over, not waited for). A disconnected store's changes wait, pending, until it is
# connected again (store_disconnect: its credentials may no longer be good, nor wanted).
CLAIM_SQL = (
    "UPDATE {table} SET claim = %s, next_attempt_at = %s, attempts = attempts + 1"
    " WHERE id IN (SELECT c.id FROM {table} c WHERE c.state = %s AND c.next_attempt_at <= %s"
    " AND c.store_id IN (SELECT s.id FROM {stores} s WHERE s.active)"
    " AND NOT EXISTS (SELECT 1 FROM {table} e WHERE e.order_id = c.order_id AND e.id < c.id AND e.state = %s)"
    " ORDER BY c.next_attempt_at, c.id LIMIT %s{skip_locked})"
    " RETURNING id"
)


def changes_claim(*, worker: str, limit: int, now: datetime | None = None) -> list[int]:
    """Claim up to `limit` due changes for `worker`; returns their ids."""
    now = now or timezone.now()
    lease_end = now + timedelta(seconds=stores_setting("LEASE"))
    skip_locked = " FOR UPDATE SKIP LOCKED" if connection.vendor == "postgresql" else ""
    sql = CLAIM_SQL.format(
        table=StoreChange._meta.db_table, stores=Store._meta.db_table, skip_locked=skip_locked
    )
    params = [worker, db_datetime(lease_end), State.PENDING, db_datetime(now), State.PENDING, limit]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return sorted(row[0] for row in cursor.fetchall())


class CallFailed(Exception):
    """One call to the store failed: `final` when retrying cannot help, `retry_after` when the store said."""

    def __init__(self, message: str, *, final: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.final = final
        self.retry_after = retry_after


def _graphql_errors(answer: Any, field: str) -> str:
    errors = answer.get("errors") or []
    if errors:
        return "; ".join(str(error.get("message", error)) for error in errors)
    result = (answer.get("data") or {}).get(field) or {}
    user_errors = result.get("userErrors") or result.get("orderCancelUserErrors") or []
    return "; ".join(str(error.get("message", error)) for error in user_errors)


def call_send(http: httpx.Client, call: Call, *, store: Store, graphql_path: str) -> Any:
    """Make one call; raise CallFailed on anything but success."""
    path = call.path or graphql_path
    what = f"{store.slug}: {call.method} {path}"
    body = call.json
    if call.fulfillment_orders_of:
        found = call_send(
            http,
            Call("POST", "", {"query": FULFILLMENT_ORDERS, "variables": {"id": call.fulfillment_orders_of}}),
            store=store,
            graphql_path=graphql_path,
        )
        order = (found.get("data") or {}).get("order") or {}
        nodes = (order.get("fulfillmentOrders") or {}).get("nodes") or []
        fulfillment = {
            **body["variables"]["fulfillment"],
            "lineItemsByFulfillmentOrder": [{"fulfillmentOrderId": node["id"]} for node in nodes],
        }
        body = {**body, "variables": {"fulfillment": fulfillment}}
    try:
        response = http.request(call.method, path, json=body)
    except httpx.TimeoutException as error:
        raise CallFailed(
            f"{what} timed out (ORDEROPS_STORES['HTTP_TIMEOUT'] = {stores_setting('HTTP_TIMEOUT')} s):"
            f" {type(error).__name__}"
        ) from error
    except httpx.TransportError as error:
        raise CallFailed(f"{what} failed: {type(error).__name__}: {error}") from error
    if response.status_code == 429:
        raise CallFailed(
            f"{what} answered 429 (too many requests)",
            retry_after=retry_after_seconds(response.headers.get("Retry-After")),
        )
    if not response.is_success:
        raise CallFailed(
            f"{what} answered {response.status_code}: {response.text[:300]}",
            final=response.status_code in FINAL_STATUSES,
        )
    try:
        answer = response.json()
    except ValueError:
        answer = {}
    if call.graphql_field:
        errors = _graphql_errors(answer, call.graphql_field)
        if errors:
            raise CallFailed(f"{what}: {call.graphql_field}: {errors[:300]}")
    return answer


def _mine(change_id: int, worker: str):
    return StoreChange.objects.filter(pk=change_id, claim=worker, state=State.PENDING)


def _record_failure(change: StoreChange, worker: str, failure: CallFailed) -> str:
    """Record a failed attempt: retried after the wait, or dead. Returns "retrying" or "dead"."""
    now = timezone.now()
    retrying = not failure.final and change.attempts < stores_setting("MAX_ATTEMPTS")
    wait = retry_delay(change.attempts)
    if failure.retry_after is not None:
        wait = max(wait, timedelta(seconds=failure.retry_after))
    _mine(change.pk, worker).update(
        state=State.PENDING if retrying else State.DEAD,
        next_attempt_at=now + wait if retrying else now,
        last_error=str(failure)[:ERROR_LENGTH],
        failed_at=now,
        claim="",
    )
    return "retrying" if retrying else "dead"


def change_send_one(
    change_id: int,
    *,
    worker: str,
    transport: httpx.BaseTransport | None = None,
    clients: dict[int, OrdersClient] | None = None,
) -> str:
    """Send one claimed change; returns "sent", "retrying" or "dead" ("" when it is no longer ours).
    `clients` keeps one HTTP client per store across the changes of a pass (its connections are reused); the
    caller closes them."""
    change = _mine(change_id, worker).select_related("store", "order").first()
    if change is None:
        return ""
    if change.attempts > stores_setting("MAX_ATTEMPTS"):
        # Its earlier claims ended without an outcome (their workers stopped while sending): give up.
        _mine(change.pk, worker).update(
            state=State.DEAD,
            last_error=change.last_error
            or f"Gave up after {change.attempts - 1} attempts that ended without a result.",
            claim="",
        )
        return "dead"
    store = change.store
    calls = store_calls(
        change,
        platform=store.platform,
        external_id=change.order.external_id,
        notify_customer=store.notify_customer,
    )
    own_client = clients is None
    if clients is not None and store.pk in clients:
        client = clients[store.pk]
    else:
        client = client_for(store, transport=transport)
        if clients is not None:
            clients[store.pk] = client
    graphql_path = getattr(client, "path", "")
    try:
        for step, call in enumerate(calls):
            if step < change.steps_done:
                continue
            try:
                call_send(client.http, call, store=store, graphql_path=graphql_path)
            except CallFailed as failure:
                return _record_failure(change, worker, failure)
            # At once: a retry must not send this call again (a note is not idempotent).
            _mine(change.pk, worker).update(steps_done=step + 1)
    finally:
        if own_client:
            client.close()
    _mine(change.pk, worker).update(state=State.SENT, sent_at=timezone.now(), claim="")
    return "sent"


@dataclass
class Sending:
    """What one pass did: changes sent, to be retried, given up."""

    sent: int = 0
    retrying: int = 0
    dead: int = 0

    @property
    def claimed(self) -> int:
        return self.sent + self.retrying + self.dead


def changes_send(
    *,
    worker: str,
    limit: int = 50,
    stop: Callable[[], bool] = lambda: False,
    transport: httpx.BaseTransport | None = None,
) -> Sending:
    """One pass: claim up to `limit` due changes and send them one by one (until `stop()` says so)."""
    sending = Sending()
    clients: dict[int, OrdersClient] = {}
    try:
        _send_claimed(sending, worker=worker, limit=limit, stop=stop, transport=transport, clients=clients)
    finally:
        for client in clients.values():
            client.close()
    return sending


def _send_claimed(
    sending: Sending,
    *,
    worker: str,
    limit: int,
    stop: Callable[[], bool],
    transport: httpx.BaseTransport | None,
    clients: dict[int, OrdersClient],
) -> None:
    for change_id in changes_claim(worker=worker, limit=limit):
        if stop():
            # Not sent: hand the rest back at once rather than at the end of the lease.
            _mine(change_id, worker).update(
                claim="", next_attempt_at=timezone.now(), attempts=F("attempts") - 1
            )
            continue
        outcome = change_send_one(change_id, worker=worker, transport=transport, clients=clients)
        if outcome == "sent":
            sending.sent += 1
        elif outcome == "retrying":
            sending.retrying += 1
        elif outcome == "dead":
            sending.dead += 1


@transaction.atomic
def changes_retry(*, store: Store, change_ids: list[int] | None = None) -> int:
    """Queue a store's dead changes again (all, or these): attempts start over. Returns how many."""
    dead = StoreChange.objects.filter(store=store, state=State.DEAD)
    if change_ids is not None:
        dead = dead.filter(pk__in=change_ids)
    return dead.update(state=State.PENDING, attempts=0, next_attempt_at=timezone.now(), claim="")
