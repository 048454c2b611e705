"""Ending holds: a person's release (the release rule), and the system's release for commands."""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from operators import log, rules
from operators.selectors import Hold
from operators.services import _holds
from orderops.service_log import service_logged
from orderops.types import Actor
from orders.results import (
    BulkResult,
    Code,
    OrderOutcome,
    RequestRefused,
    reason_checked,
    unique_ids,
    user_display_name,
)

# How many of the orders a refusal names before it says "and N more".
NAMED_MAX = 10


def _release(releasing: list[int], *, actor: Actor | None, reason: str, orders: _holds.LockedOrders) -> None:
    released = _holds.holds_delete_logged(
        order_ids=releasing,
        action=log.Action.RELEASED,
        actor=actor,
        at=timezone.now(),
        reason=reason,
        stores=orders.stores,
    )
    # Every hold was read under its order's lock: one missing is a writer that bypassed the lock.
    _holds.check_logged(released, len(releasing))


@service_logged("orders_release")
@transaction.atomic
def orders_release(*, actor: Actor, order_ids: Iterable[int], reason: str = "") -> BulkResult:
    """Release holds. Allowed to the holder, to whoever assigned the hold, and to supervisors; releasing a
    colleague's hold needs a reason (logged, and told to the holder by a notification), else nothing is
    released.

    Outcomes: done, not held, not allowed (naming the holder), not found. Set-based.
    """
    ids = unique_ids(order_ids)
    if not actor.is_active:
        raise RequestRefused(
            _("Nothing was released: the account %(user)s is inactive.") % {"user": actor}, code=Code.INACTIVE
        )
    reason = reason_checked(reason, required=False, refused=_("Nothing was released"))
    orders = _holds.lock_then_read(ids, finals=False)
    outcomes: dict[int, OrderOutcome] = {}
    releasing: list[int] = []
    # The release rule answers alike for every order with the same hold and status (rules.release_refusal):
    # asked once for each, not 10,000 times for a bulk release of one person's holds.
    allowed: dict[tuple[Hold, str], bool] = {}
    for pk in ids:
        number = orders.numbers.get(pk)
        if number is None:
            outcomes[pk] = OrderOutcome(pk, Code.NOT_FOUND)
            continue
        hold = orders.holds.get(pk)
        if hold is None:
            outcomes[pk] = OrderOutcome(pk, Code.NOT_HELD, number)
            continue
        key = (hold, orders.statuses[pk])
        if key not in allowed:
            allowed[key] = rules.release_refusal(actor, orders.state(pk)) is None
        holder = orders.holders.get(hold.operator_id)
        if allowed[key]:
            outcomes[pk] = OrderOutcome(pk, Code.DONE, number, holder=holder)
            releasing.append(pk)
        else:
            refusal = rules.release_refusal(actor, orders.state(pk))
            assert refusal is not None  # the rule answered for this hold and status above
            outcomes[pk] = refusal.outcome(pk, number, holder)
    if not reason:
        _refuse_without_reason(actor, orders, releasing)
    _release(releasing, actor=actor, reason=reason, orders=orders)
    return BulkResult([outcomes[pk] for pk in ids])


def _refuse_without_reason(actor: Actor, orders: _holds.LockedOrders, releasing: list[int]) -> None:
    """Nothing is released when a colleague's hold among them has no reason: they are told why it ended."""
    needs_reason = {hold: rules.release_needs_reason(actor, hold) for hold in set(orders.holds.values())}
    colleagues = [pk for pk in releasing if needs_reason[orders.holds[pk]]]
    if not colleagues:
        return
    named = ", ".join(
        _("#%(number)s (held by %(holder)s)")
        % {"number": orders.numbers[pk], "holder": user_display_name(orders.holder_of(pk))}
        for pk in colleagues[:NAMED_MAX]
    )
    if len(colleagues) > NAMED_MAX:
        named = _("%(orders)s and %(count)s more") % {"orders": named, "count": len(colleagues) - NAMED_MAX}
    raise RequestRefused(
        _(
            "Nothing was released: releasing a colleague's hold needs a reason, which they are told: "
            "%(orders)s."
        )
        % {"orders": named},
        code=Code.NEEDS_REASON,
    )


@service_logged("holds_release")
@transaction.atomic
def holds_release(*, order_ids: Iterable[int], reason: str, actor: Actor | None = None) -> BulkResult:
    """Release holds on behalf of the system (management commands, incident clean-up): no permission check,
    logged as released with `actor` (None: the system) and the reason. Outcomes: done (with the holder whose
    hold ended), not held, not found. Set-based."""
    ids = unique_ids(order_ids)
    reason = reason_checked(reason, required=False, refused=_("Nothing was released"))
    orders = _holds.lock_then_read(ids, finals=False)
    outcomes: dict[int, OrderOutcome] = {}
    for pk in ids:
        if not orders.found(pk):
            outcomes[pk] = OrderOutcome(pk, Code.NOT_FOUND)
        elif pk not in orders.holds:
            outcomes[pk] = OrderOutcome(pk, Code.NOT_HELD, orders.numbers[pk])
        else:
            outcomes[pk] = OrderOutcome(pk, Code.DONE, orders.numbers[pk], holder=orders.holder_of(pk))
    releasing = [pk for pk in ids if outcomes[pk].outcome == Code.DONE]
    _release(releasing, actor=actor, reason=reason, orders=orders)
    return BulkResult([outcomes[pk] for pk in ids])
