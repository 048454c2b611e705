"""The API's reads: orders with their hold and status in one query, and the rule book's powers over one."""

from django.db.models import QuerySet

from operators import rules
from orderops.types import Actor
from orders.models import Order


def orders_with_holds() -> QuerySet[Order]:
    """Orders with their status, store, hold, holder and assigner joined: a page of any size is one query."""
    return Order.objects.select_related("status", "store", "assignment__operator", "assignment__assigned_by")


def order_powers(user: Actor, order: Order) -> dict[str, dict | None]:
    """The rule book's powers over one order from orders_with_holds (its hold and status joined)."""
    return rules.order_powers(user, rules.order_state(order, getattr(order, "assignment", None))).as_dict()
