"""The hook through which the order domain asks the edit guard whether a user may change orders.

The guard itself (who may change which order) belongs to the assignment domain, which installs it when the
apps load (operators/apps.py). Until one is installed every change is refused: the console fails closed.
"""

from collections.abc import Callable, Sequence

from django.contrib.auth.models import AbstractBaseUser
from django.utils.translation import gettext as _

from orders.results import OrderOutcome, Outcome

# guard(user, [(order_id, number), ...]) -> {order_id: refusal} for each order the user may not change.
EditGuard = Callable[[AbstractBaseUser, Sequence[tuple[int, str]]], dict[int, OrderOutcome]]

_installed_guard: EditGuard | None = None


def edit_guard_install(guard: EditGuard) -> None:
    global _installed_guard
    _installed_guard = guard


def orders_change_refusals(
    *, user: AbstractBaseUser | None, orders: Sequence[tuple[int, str]]
) -> dict[int, OrderOutcome]:
    """Refusals for the orders (id, number) that `user` (None: the system) may not change; the caller holds
    their row locks."""
    if _installed_guard is None:
        return {
            order_id: OrderOutcome(
                order_id, Outcome.NOT_ALLOWED, number, detail=_("no edit guard is installed")
            )
            for order_id, number in orders
        }
    return _installed_guard(user, orders)
