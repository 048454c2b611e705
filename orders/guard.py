"""The edit guard's port: how the order domain asks whether a user may change orders, without importing
the assignment domain that answers.

The implementation is named by ORDEROPS["EDIT_GUARD"] (default "operators.rules.orders_edit_refusals") and
resolved with import_string on first use; the system check verifies it at start-up.
"""

from collections.abc import Sequence
from functools import cache
from typing import NamedTuple, Protocol

from django.utils.module_loading import import_string

from orderops.conf import orderops_setting
from orderops.types import Actor
from orders.results import OrderOutcome


class GuardedOrder(NamedTuple):
    """An order the caller has locked and wants to change: its id, number and current status code."""

    id: int
    number: str
    status_code: str


class EditGuard(Protocol):
    """guard(user, orders) -> {order id: refusal} for each order that `user` (None: the system) may not
    change. The caller holds the orders' row locks."""

    def __call__(self, user: Actor | None, orders: Sequence[GuardedOrder]) -> dict[int, OrderOutcome]: ...


@cache
def _guard_at(path: str) -> EditGuard:
    return import_string(path)


def edit_guard() -> EditGuard:
    """The configured edit guard."""
    return _guard_at(orderops_setting("EDIT_GUARD"))


def orders_change_refusals(*, user: Actor | None, orders: Sequence[GuardedOrder]) -> dict[int, OrderOutcome]:
    """Refusals for the locked orders that `user` (None: the system) may not change."""
    return edit_guard()(user, orders)
