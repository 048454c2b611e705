"""Polling a store: the orders it changed since the store's sync cursor, page by page, each through the one
apply path (stores.services.store_order_apply, via "poll"). The reconciliation that catches missed webhooks,
and the way in for Magento Open Source, which sends none.

Resumable and idempotent: each page is applied in one transaction, with the move of the cursor
(`Store.sync_cursor`, the store's updated_at up to which everything is read) to the newest change of that
page, so a run that stops (a time-out, a kill) starts again where it stopped and applies nothing twice (an
order applied again is `unchanged`). One commit a page rather than one an order, and the page's orders
applied together (stores.services.store_orders_apply: the known orders read in one query, the new ones
created in one INSERT of orders and one of lines, the known ones locked in one statement and written in one
UPDATE), each with the outcome the one-order path gives it: a backfill's or a re-sync's cost is its
statements. A webhook for an order of the page waits for the page's commit (its row
lock), a fraction of a second.

An order that cannot be applied (its payload, an unmapped status, a refusal, a bug) is kept in the webhook
inbox as a failed delivery (topic "poll", the order as the store's API gave it), in the page's transaction,
and the poll goes on, the cursor past it: `replay_deliveries --failed` applies it once its cause is fixed (a
later change of the order comes in the next poll anyway). A fetched order is never lost.
"""

import logging
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from orders.models import Order
from stores.clients import OrdersClient, StoreClientError, client_for
from stores.inbox import poll_failure_keep
from stores.incoming import IncomingOrder, PayloadError
from stores.models import Store
from stores.platforms import POLL_MAPPINGS
from stores.services import store_orders_apply, store_status_code

logger = logging.getLogger("orderops")

# How each platform's polled order object becomes an IncomingOrder (Shopify polls the GraphQL Admin API).
MAPPINGS: dict[str, Callable[[Mapping[str, Any]], IncomingOrder]] = POLL_MAPPINGS
# What a dry run says it would do with an order.
WOULD_CREATE, WOULD_UPDATE, WOULD_KEEP = "would create", "would update", "unchanged or older"
FAILED = "failed"
# The first key of the sync's advisory lock (the second is the store's id): "SYNC" in ASCII.
SYNC_LOCK_NAMESPACE = 0x53594E43


@dataclass(frozen=True)
class OrderFailure:
    external_id: str
    number: str
    updated_at: datetime | None
    reason: str
    delivery_id: int | None = None  # the failed delivery that keeps it (replay_deliveries); None in a dry run


@dataclass
class StoreSyncResult:
    """What one poll of one store did: outcomes by name (created, updated, unchanged, stale, failed; a dry
    run's would create / would update / unchanged or older), its failures, where the cursor stands."""

    store: str
    since: datetime | None
    dry_run: bool
    outcomes: Counter = field(default_factory=Counter)
    failures: list[OrderFailure] = field(default_factory=list)
    read: int = 0
    pages: int = 0
    total: int | None = None
    cursor: datetime | None = None
    cursor_moved: bool = False
    stopped: str = ""  # why the poll stopped before the last page (the store's error), or ""
    seconds: float = 0.0
    waited: float = 0.0  # of which waiting for the store (429, throttle, back-off)

    @property
    def complete(self) -> bool:
        return not self.stopped

    @property
    def failed(self) -> int:
        return len(self.failures)

    def as_dict(self) -> dict[str, Any]:
        return {
            "store": self.store,
            "since": self.since.isoformat() if self.since else None,
            "dry_run": self.dry_run,
            "read": self.read,
            "pages": self.pages,
            "outcomes": dict(sorted(self.outcomes.items())),
            "failures": [
                {
                    "external_id": failure.external_id,
                    "number": failure.number,
                    "updated_at": failure.updated_at.isoformat() if failure.updated_at else None,
                    "reason": failure.reason,
                    "delivery": failure.delivery_id,
                }
                for failure in self.failures
            ],
            "cursor": self.cursor.isoformat() if self.cursor else None,
            "cursor_moved": self.cursor_moved,
            "complete": self.complete,
            "stopped": self.stopped or None,
            "seconds": round(self.seconds, 3),
            "waited": round(self.waited, 3),
            "orders_per_second": round(self.read / self.seconds, 1) if self.seconds else None,
        }


Progress = Callable[[int, int | None], None]  # (orders read so far, how many in all when known)


def store_sync(
    *,
    store: Store,
    since: datetime | None = None,
    full: bool = False,
    dry_run: bool = False,
    client: OrdersClient | None = None,
    progress: Progress | None = None,
) -> StoreSyncResult:
    """Poll `store` for the orders changed since its cursor (or `since`; or all of them with `full`) and
    apply each as the store; a dry run maps them and says what it would do, writing nothing (the cursor
    included). Stops at the first call the store does not answer (StoreClientError): `stopped` says why,
    and the cursor stands after the last page applied."""
    if since is not None and full:
        raise ValueError("since and full exclude each other")
    start = None if full else (since if since is not None else store.sync_cursor)
    result = StoreSyncResult(store=store.slug, since=start, dry_run=dry_run, cursor=store.sync_cursor)
    # A run that starts after the cursor (--since shorter than the gap) leaves a gap behind it: it may not
    # move the cursor. A run from the cursor or before it may.
    may_move_cursor = start is None or (store.sync_cursor is not None and start <= store.sync_cursor)
    mapping = MAPPINGS[store.platform]
    started = time.monotonic()
    with _store_sync_lock(store) as locked:
        if not locked:
            result.stopped = (
                f"{store.slug}: another sync of this store is running (cron and a hand-run at once?);"
                " nothing was read"
            )
            return result
        _pages_apply(store, start, client, mapping, may_move_cursor, dry_run, progress, result, started)
    if not dry_run:
        Store.objects.filter(pk=store.pk).update(last_sync_at=timezone.now())
    logger.info(
        "store_sync %s: %s read, %s%s",
        store.slug,
        result.read,
        ", ".join(f"{count} {name}" for name, count in sorted(result.outcomes.items())) or "nothing",
        f"; stopped: {result.stopped}" if result.stopped else "",
        extra={"action": "store_sync", "store": store.slug, "outcomes": dict(result.outcomes)},
    )
    return result


@contextmanager
def _store_sync_lock(store: Store) -> Iterator[bool]:
    """One sync of a store at a time (PostgreSQL: a session advisory lock on the store; two runs at once
    would apply the same pages twice, harmlessly, but could move the cursor back). SQLite: always yes."""
    if connection.vendor != "postgresql":
        yield True
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", [SYNC_LOCK_NAMESPACE, store.pk])
        locked = bool(cursor.fetchone()[0])
    try:
        yield locked
    finally:
        if locked:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s, %s)", [SYNC_LOCK_NAMESPACE, store.pk])


def _pages_apply(
    store: Store,
    start: datetime | None,
    client: OrdersClient | None,
    mapping: Callable[[Mapping[str, Any]], IncomingOrder],
    may_move_cursor: bool,
    dry_run: bool,
    progress: Progress | None,
    result: StoreSyncResult,
    started: float,
) -> None:
    reached: datetime | None = None  # the newest change read
    own_client = client is None
    client = client or client_for(store)
    try:
        for page in client.pages(start):
            result.pages += 1
            if result.total is None:
                result.total = page.total
            # One transaction a page, the cursor's move and the failures kept in the inbox included: a page
            # is applied with its cursor or not at all.
            with transaction.atomic():
                for changed_at in _page_apply(store, client, page.payloads, mapping, dry_run, result):
                    reached = changed_at if reached is None else max(reached, changed_at)
                if not dry_run and may_move_cursor and reached is not None:
                    _cursor_save(store, result, reached)
            if progress:
                progress(result.read, result.total)
    except StoreClientError as error:
        result.stopped = str(error)
    finally:
        result.seconds = time.monotonic() - started
        result.waited = client.waited
        if own_client:
            client.close()


def _page_apply(
    store: Store,
    client: OrdersClient,
    payloads: list[dict[str, Any]],
    mapping: Callable[[Mapping[str, Any]], IncomingOrder],
    dry_run: bool,
    result: StoreSyncResult,
) -> list[datetime]:
    """Map a page's orders and apply them together (stores.services.store_orders_apply: each with the
    outcome of the one-order path, in a few statements a page); count each outcome in `result`, keep each
    failure in the inbox. Returns the changes read (for the cursor)."""
    changes: list[datetime] = []
    mapped: list[tuple[Mapping[str, Any], datetime | None, IncomingOrder]] = []
    for payload in payloads:
        result.read += 1
        changed_at = _changed_at(client, payload)
        if changed_at is not None:
            changes.append(changed_at)
        try:
            mapped.append((payload, changed_at, mapping(payload)))
        except Exception as error:  # a PayloadError, or a bug of the mapping: that order's failure
            _failure(store, payload, changed_at, error, dry_run, result)
    if dry_run:
        for read, changed_at, incoming in mapped:
            try:
                store_status_code(store, incoming)
            except PayloadError as error:  # an unmapped status: the apply would refuse it
                _failure(store, read, changed_at, error, dry_run, result)
                continue
            result.outcomes[_dry_outcome(store, incoming)] += 1
        return changes
    applied = store_orders_apply(store=store, incomings=[incoming for _p, _c, incoming in mapped], via="poll")
    for (read, changed_at, _incoming), outcome in zip(mapped, applied.results, strict=True):
        if isinstance(outcome, Exception):
            _failure(store, read, changed_at, outcome, dry_run, result)
        else:
            result.outcomes[str(outcome.outcome)] += 1
    return changes


def _changed_at(client: OrdersClient, payload: Mapping[str, Any]) -> datetime | None:
    try:
        return client.updated_at(payload)
    except (KeyError, TypeError, ValueError):
        return None  # the mapping says what is wrong with it


def _failure(
    store: Store,
    payload: Mapping[str, Any],
    changed_at: datetime | None,
    error: Exception,
    dry_run: bool,
    result: StoreSyncResult,
) -> None:
    """An order of the page that cannot be applied: counted, logged, and (unless dry) kept in the inbox as
    a failed delivery (stores.inbox.poll_failure_keep), so that the poll goes on past it and
    replay_deliveries applies it once its cause is fixed."""
    number = str(payload.get("name") or payload.get("number") or payload.get("increment_id") or "")
    external_id = str(payload.get("legacyResourceId") or payload.get("id") or payload.get("entity_id") or "")
    if isinstance(error, PayloadError):
        reason = str(error)
    else:
        # A bug or a refusal of the apply. The first with its traceback; the rest (often the same cause) in
        # one line each.
        logger.error(
            "store_sync %s: order %s could not be applied: %s",
            store.slug,
            number or external_id,
            error,
            exc_info=error if not result.failures else None,
        )
        reason = f"{type(error).__name__}: {error}"
    delivery_id = None
    if not dry_run:
        delivery_id = poll_failure_keep(
            store=store,
            payload=payload,
            external_id=external_id,
            number=number.removeprefix("#"),
            updated_at=changed_at,
            error=error,
        )
    result.failures.append(OrderFailure(external_id, number, changed_at, reason, delivery_id))
    result.outcomes[FAILED] += 1


def _dry_outcome(store: Store, incoming: IncomingOrder) -> str:
    found = list(
        Order.objects.filter(store=store, external_id=incoming.external_id).values_list(
            "store_updated_at", flat=True
        )[:1]
    )
    if not found:
        return WOULD_CREATE
    held = found[0]
    if held is None or incoming.updated_at > held:
        return WOULD_UPDATE
    return WOULD_KEEP


def _cursor_save(store: Store, result: StoreSyncResult, cursor: datetime) -> None:
    """The cursor after a page: the newest change read (an order that failed is kept in the inbox, not
    asked for again). Only forward."""
    if store.sync_cursor is None or cursor > store.sync_cursor:
        Store.objects.filter(pk=store.pk).update(sync_cursor=cursor)
        result.cursor_moved = result.cursor_moved or cursor != store.sync_cursor
        store.sync_cursor = result.cursor = cursor
