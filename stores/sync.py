"""Polling a store: the orders it changed since the store's sync cursor, page by page, each through the one
apply path (stores.services.store_order_apply, via "poll"). The reconciliation that catches missed webhooks,
and the way in for Magento Open Source, which sends none.

Resumable and idempotent: each page is applied in one transaction, with the move of the cursor
(`Store.sync_cursor`, the store's updated_at up to which everything is applied) to the newest change of that
page, so a run that stops (a time-out, a kill) starts again where it stopped and applies nothing twice (an
order applied again is `unchanged`). One commit a page rather than one an order: a backfill's cost is its
applies, not its commits; a webhook for an order of the page waits for the page's commit (its row lock), a
fraction of a second. An order that cannot be applied (its payload, an unmapped status)
holds the cursor at its change: later orders are still applied, and every run tries it again until its cause
is fixed. Nothing is lost by moving on.
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
from stores.incoming import IncomingOrder, PayloadError
from stores.models import Platform, Store
from stores.platforms import magento, woocommerce
from stores.platforms.shopify_graphql import order_from_graphql
from stores.services import store_order_apply

logger = logging.getLogger("orderops")

# How each platform's polled order object becomes an IncomingOrder (Shopify polls the GraphQL Admin API).
MAPPINGS: dict[str, Callable[[Mapping[str, Any]], IncomingOrder]] = {
    Platform.SHOPIFY: order_from_graphql,
    Platform.WOOCOMMERCE: woocommerce.order_from_payload,
    Platform.MAGENTO: magento.order_from_payload,
}
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
    held_at: datetime | None = None  # the change of the earliest order this run could not apply
    reached: datetime | None = None  # the newest change read
    own_client = client is None
    client = client or client_for(store)
    try:
        for page in client.pages(start):
            result.pages += 1
            if result.total is None:
                result.total = page.total
            # One transaction a page, the cursor's move included: a page is applied with its cursor or
            # not at all. Each order is a savepoint inside it (store_order_apply is atomic), so an order
            # that fails undoes only itself.
            with transaction.atomic():
                for payload in page.payloads:
                    result.read += 1
                    changed_at = _changed_at(client, payload)
                    outcome = _order_sync(store, payload, changed_at, mapping, dry_run, result)
                    if outcome == FAILED and changed_at is not None:
                        held_at = changed_at if held_at is None else min(held_at, changed_at)
                    if changed_at is not None:
                        reached = changed_at if reached is None else max(reached, changed_at)
                if not dry_run and may_move_cursor and reached is not None:
                    _cursor_save(store, result, held_at if held_at is not None else reached)
            if progress:
                progress(result.read, result.total)
    except StoreClientError as error:
        result.stopped = str(error)
    finally:
        result.seconds = time.monotonic() - started
        result.waited = client.waited
        if own_client:
            client.close()


def _changed_at(client: OrdersClient, payload: Mapping[str, Any]) -> datetime | None:
    try:
        return client.updated_at(payload)
    except (KeyError, TypeError, ValueError):
        return None  # the mapping says what is wrong with it


def _order_sync(
    store: Store,
    payload: Mapping[str, Any],
    changed_at: datetime | None,
    mapping: Callable[[Mapping[str, Any]], IncomingOrder],
    dry_run: bool,
    result: StoreSyncResult,
) -> str:
    """Map and apply (or, dry, judge) one order; its outcome's name, counted in `result`."""
    number = str(payload.get("name") or payload.get("number") or payload.get("increment_id") or "")
    external_id = str(payload.get("legacyResourceId") or payload.get("id") or payload.get("entity_id") or "")
    reason = ""
    try:
        incoming = mapping(payload)
        outcome = (
            _dry_outcome(store, incoming)
            if dry_run
            else str(store_order_apply(store=store, incoming=incoming, via="poll").outcome)
        )
    except PayloadError as error:
        outcome, reason = FAILED, str(error)
    except Exception as error:  # a bug or a refusal of the apply: kept, the poll goes on (module docstring)
        # The first with its traceback; the rest (often the same cause) in one line each.
        log = logger.exception if not result.failures else logger.error
        log("store_sync %s: order %s could not be applied: %s", store.slug, number or external_id, error)
        outcome, reason = FAILED, f"{type(error).__name__}: {error}"
    if outcome == FAILED:
        result.failures.append(OrderFailure(external_id, number, changed_at, reason))
    result.outcomes[outcome] += 1
    return outcome


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
    """The cursor after a page: the newest change applied, or the change of the earliest order that failed
    (so that every run asks for it again). Only forward, unless a failure holds it back."""
    if result.failures or store.sync_cursor is None or cursor > store.sync_cursor:
        Store.objects.filter(pk=store.pk).update(sync_cursor=cursor)
        result.cursor_moved = result.cursor_moved or cursor != store.sync_cursor
        store.sync_cursor = result.cursor = cursor
