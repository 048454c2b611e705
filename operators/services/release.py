"""Ending holds: a person's release (the release rule), and the system's release for commands."""

from collections.abc import Callable, Iterable

from django.db import OperationalError, connection, transaction
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


RELEASED = log.Action.RELEASED

# PostgreSQL's SQLSTATE for a lock not granted in time (lock_timeout): psycopg2.errorcodes.LOCK_NOT_AVAILABLE.
LOCK_NOT_AVAILABLE = "55P03"

# How long a release's DELETE waits for a hold another transaction has locked before it undoes and takes the
# orders' locks first, as the other services do (holds_end_at_once).
LOCK_WAIT_MS = 100

# decide(orders, pk) -> the outcome of one requested order, on the holds as `orders` has them.
Decide = Callable[[_holds.LockedOrders, int], OrderOutcome]
# check(orders, releasing): may refuse the whole request (RequestRefused) before anything is kept.
Check = Callable[[_holds.LockedOrders, list[int]], None]


class _Undo(Exception):
    """The holds ended at once include one the rule keeps: undone, and decided under the locks instead."""


def _lock_timed_out(error: OperationalError) -> bool:
    return getattr(error.__cause__, "pgcode", None) == LOCK_NOT_AVAILABLE


def _release(ids: list[int], decide: Decide, check: Check, *, actor: Actor | None, reason: str) -> BulkResult:
    """End the holds that `decide` says are done, after `check`; report every order.

    PostgreSQL first ends them at once (one statement, no lock taken or read made before it:
    _holds.holds_end_at_once) and decides on exactly the holds that ended; if the rule keeps one of them, or
    the DELETE would wait for a hold another transaction has locked, it undoes that (a savepoint) and does it
    the usual way: orders locked, then their holds, decide, end the allowed ones. Both are one transaction's
    work: nobody ever sees a hold ended and put back."""
    at = timezone.now()
    if connection.vendor == "postgresql" and ids:
        try:
            with transaction.atomic():
                ended = _holds.holds_end_at_once(
                    ids,
                    action=RELEASED,
                    actor=actor,
                    at=at,
                    reason=reason,
                    lock_wait_ms=LOCK_WAIT_MS,
                )
                outcomes = {pk: decide(ended.orders, pk) for pk in ids}
                releasing = [pk for pk in ids if outcomes[pk].outcome == Code.DONE]
                if len(releasing) != len(ended.rows):
                    raise _Undo
                check(ended.orders, releasing)
        except _Undo:
            pass
        except OperationalError as error:
            if not _lock_timed_out(error):
                raise
        else:
            log.announce(
                action=RELEASED,
                order_ids=releasing,
                actor=actor,
                at=at,
                reason=reason,
                rows=ended.rows,
            )
            return BulkResult([outcomes[pk] for pk in ids])
    orders = _holds.lock_then_read(ids, finals=False)
    outcomes = {pk: decide(orders, pk) for pk in ids}
    releasing = [pk for pk in ids if outcomes[pk].outcome == Code.DONE]
    check(orders, releasing)
    released = _holds.holds_delete_logged(
        order_ids=releasing,
        action=RELEASED,
        actor=actor,
        at=at,
        reason=reason,
        stores=orders.stores,
    )
    # Every hold was read under its own lock: one missing is a writer that bypassed the lock.
    _holds.check_logged(released, len(releasing))
    return BulkResult([outcomes[pk] for pk in ids])


def _no_check(orders: _holds.LockedOrders, releasing: list[int]) -> None:
    return None


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
    # The release rule answers alike for every order with the same hold and status (rules.release_refusal):
    # asked once for each, not 10,000 times for a bulk release of one person's holds.
    allowed: dict[tuple[Hold, str], bool] = {}

    def decide(orders: _holds.LockedOrders, pk: int) -> OrderOutcome:
        number = orders.numbers.get(pk)
        if number is None:
            return OrderOutcome(pk, Code.NOT_FOUND)
        hold = orders.holds.get(pk)
        if hold is None:
            return OrderOutcome(pk, Code.NOT_HELD, number)
        key = (hold, orders.statuses[pk])
        if key not in allowed:
            allowed[key] = rules.release_refusal(actor, orders.state(pk)) is None
        holder = orders.holders.get(hold.operator_id)
        if allowed[key]:
            return OrderOutcome(pk, Code.DONE, number, holder=holder)
        refusal = rules.release_refusal(actor, orders.state(pk))
        assert refusal is not None  # the rule answered for this hold and status above
        return refusal.outcome(pk, number, holder)

    def check(orders: _holds.LockedOrders, releasing: list[int]) -> None:
        if not reason:
            _refuse_without_reason(actor, orders, releasing)

    return _release(ids, decide, check, actor=actor, reason=reason)


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

    def decide(orders: _holds.LockedOrders, pk: int) -> OrderOutcome:
        if not orders.found(pk):
            return OrderOutcome(pk, Code.NOT_FOUND)
        if pk not in orders.holds:
            return OrderOutcome(pk, Code.NOT_HELD, orders.numbers[pk])
        return OrderOutcome(pk, Code.DONE, orders.numbers[pk], holder=orders.holder_of(pk))

    return _release(ids, decide, _no_check, actor=actor, reason=reason)
