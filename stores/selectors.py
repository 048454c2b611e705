"""Reads of the connected stores that the surfaces share."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.cache import cache
from django.db.models import Count, Max, Q

from stores.models import Store, StoreChange

SEVERAL_STORES_KEY = "orderops:stores:several"  # also forgotten by Store.save() for a new store
# How long the console trusts its answer; connecting or changing a store forgets it at once.
SEVERAL_STORES_TTL = 60


def stores_connected() -> int:
    """How many stores are connected (active or not: their orders stay). Cached: the list asks on every page
    view; the one cached number answers both questions below."""
    count = cache.get(SEVERAL_STORES_KEY)
    if not isinstance(count, int) or isinstance(count, bool):
        count = Store.objects.count()
        cache.set(SEVERAL_STORES_KEY, count, SEVERAL_STORES_TTL)
    return count


def orders_from_several_stores() -> bool:
    """Whether orders come from more than one connected store, so that the order list and page show each
    order's store (two stores may both have #1001)."""
    return stores_connected() > 1


def orders_from_stores() -> bool:
    """Whether any store is connected, so that the order list shows what the store says of each order's
    payment and fulfilment."""
    return stores_connected() > 0


def several_stores_forget() -> None:
    cache.delete(SEVERAL_STORES_KEY)


@dataclass(frozen=True, slots=True)
class StoreHealth:
    """How the write-back to one store goes: its last change sent, its last failure (and why), the changes
    waiting, the changes given up."""

    store_id: int
    slug: str
    name: str
    last_success_at: datetime | None
    last_failure_at: datetime | None
    last_error: str
    pending: int
    dead: int

    def as_json(self) -> dict:
        return {
            "store": self.slug,
            "name": self.name,
            "last_success_at": self.last_success_at.isoformat() if self.last_success_at else None,
            "last_failure_at": self.last_failure_at.isoformat() if self.last_failure_at else None,
            "last_error": self.last_error,
            "pending": self.pending,
            "dead": self.dead,
        }


def stores_health(stores: Iterable[Store]) -> list[StoreHealth]:
    """Each store's write-back health: two statements (the counts and last success; the last failures)."""
    stores = list(stores)
    ids = [store.pk for store in stores]
    counts = {
        row["store_id"]: row
        for row in StoreChange.objects.filter(store_id__in=ids)
        .order_by()
        .values("store_id")
        .annotate(
            pending=Count("pk", filter=Q(state=StoreChange.State.PENDING)),
            dead=Count("pk", filter=Q(state=StoreChange.State.DEAD)),
            last_success_at=Max("sent_at"),
        )
    }
    # The last failure: the newest change (of any state) whose last attempt left an error.
    failures: dict[int, StoreChange] = {}
    for change in (
        StoreChange.objects.filter(store_id__in=ids)
        .filter(failed_at__isnull=False)
        .order_by("store_id", "-failed_at")
        .only("store_id", "last_error", "failed_at")
    ):
        failures.setdefault(change.store_id, change)
    health = []
    for store in stores:
        row: Mapping[str, Any] = counts.get(store.pk) or {}
        failure = failures.get(store.pk)
        health.append(
            StoreHealth(
                store_id=store.pk,
                slug=store.slug,
                name=store.name,
                last_success_at=row.get("last_success_at"),
                last_failure_at=failure.failed_at if failure else None,
                last_error=failure.last_error if failure else "",
                pending=row.get("pending", 0),
                dead=row.get("dead", 0),
            )
        )
    return health


def store_dead_changes(store: Store, *, limit: int = 50) -> list[StoreChange]:
    """The store's changes given up, newest first, with their orders' numbers (for the admin's list)."""
    return list(
        StoreChange.objects.filter(store=store, state=StoreChange.State.DEAD)
        .select_related("order")
        .only("pk", "kind", "attempts", "last_error", "created_at", "order__number", "order_id")
        .order_by("-id")[:limit]
    )
