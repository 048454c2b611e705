"""Row locks on orders: every writer to an order, and every service that gives an order a hold, takes them
first, in one stable order (the ends and changes of existing holds lock the hold rows instead: operators'
services)."""

from collections.abc import Iterable
from typing import NamedTuple

from orderops.db import id_set
from orders.guard import GuardedOrder
from orders.models import Order


class LockedOrder(NamedTuple):
    """What the lock reads of an order: its number, its status's code and its connected store (None: none)."""

    number: str
    status: str
    store_id: int | None


def orders_locked(order_ids: Iterable[int]) -> dict[int, LockedOrder]:
    """Lock the orders' rows for this transaction and return {id: LockedOrder}.

    Every service that changes an order or gives it a hold locks the order rows first, in primary-key order so
    that two bulk operations never deadlock (one that then changes existing holds locks them next, in the same
    order; a release locks the holds alone, and waits for nobody: docs/architecture.md). FOR NO KEY UPDATE
    leaves foreign keys to the order unblocked; the values returned are those of the latest committed version.
    A no-op on SQLite, where transactions start IMMEDIATE and so run one writer at a time.
    """
    rows = (
        Order.objects.filter(pk__in=id_set(order_ids))
        .order_by("pk")
        .select_for_update(no_key=True, of=("self",))
        .values_list("pk", "number", "status_id", "store_id")
    )
    return {pk: LockedOrder(number, status_code, store_id) for pk, number, status_code, store_id in rows}


def guarded(locked: dict[int, LockedOrder]) -> list[GuardedOrder]:
    """The locked orders as the edit guard takes them."""
    return [GuardedOrder(pk, order.number, order.status) for pk, order in locked.items()]


def order_locked(order_id: int) -> Order | None:
    """Lock one order's row for this transaction and return it whole (None: it does not exist)."""
    return (
        Order.objects.filter(pk=order_id)
        .select_for_update(no_key=True, of=("self",))
        .select_related("updated_by")
        .first()
    )
