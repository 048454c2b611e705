"""Reads of the order domain that several services share."""

from collections.abc import Iterable

from orderops.db import id_set
from orders.models import Order, OrderStatus


def orders_locked(order_ids: Iterable[int]) -> dict[int, tuple[str, str]]:
    """Lock the orders' rows for this transaction and return {id: (number, status code)}.

    Every service that changes an order or its hold locks the order rows first, in primary-key order so that
    two bulk operations never deadlock. FOR NO KEY UPDATE leaves foreign keys to the order unblocked; the
    values returned are those of the latest committed version. A no-op on SQLite, where transactions start
    IMMEDIATE and so run one writer at a time.
    """
    rows = (
        Order.objects.filter(pk__in=id_set(order_ids))
        .order_by("pk")
        .select_for_update(no_key=True, of=("self",))
        .values_list("pk", "number", "status_id")
    )
    return {pk: (number, status_code) for pk, number, status_code in rows}


def final_status_labels() -> dict[str, str]:
    """{code: label} of the statuses that release an order's hold (complete, canceled, closed...)."""
    return dict(OrderStatus.objects.filter(releases_assignment=True).values_list("code", "label"))
