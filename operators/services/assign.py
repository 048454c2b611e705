"""Giving holds: assign (to oneself or, for supervisors, to another operator), take over, and transfer."""

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from operators import log, rules
from operators.models import Assignment
from operators.services._holds import (
    assign_free,
    at_capacity,
    capacity_left,
    check_logged,
    lock_and_read,
    lock_then_read,
)
from orderops.db import id_set
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


@service_logged("orders_assign")
@transaction.atomic
def orders_assign(
    *,
    actor: Actor,
    order_ids: Iterable[int],
    operator: Actor | None = None,
    reason: str = "",
) -> BulkResult:
    """Assign orders to the actor, or to another operator (needs assign_others).

    Outcomes: done, already yours (held by the new holder), held by someone else, final status, not found,
    at capacity. A bounded number of statements, whatever the number of orders.
    """
    ids = unique_ids(order_ids)
    holder = operator or actor
    refusal = rules.assigning_refusal(actor, holder, to_another=holder.pk != actor.pk)
    if refusal is not None:
        raise RequestRefused(_("Nothing was assigned: %(why)s.") % {"why": refusal}, code=refusal.code)
    reason = reason_checked(reason, required=False, refused=_("Nothing was assigned"))

    capacity = capacity_left(holder)
    orders = lock_and_read(ids)
    orders.holders[holder.pk] = holder
    outcomes: dict[int, OrderOutcome] = {}
    free: list[int] = []
    for pk in ids:
        if not orders.found(pk):
            outcomes[pk] = OrderOutcome(pk, Code.NOT_FOUND)
            continue
        number, held_by = orders.numbers[pk], orders.holder_of(pk)
        if held_by is not None:
            same = held_by.pk == holder.pk
            outcomes[pk] = OrderOutcome(pk, Code.ALREADY_YOURS if same else Code.HELD_BY, number, held_by)
        elif orders.is_final(pk):
            outcomes[pk] = OrderOutcome(pk, Code.FINAL_STATUS, number, detail=orders.state(pk).status_label)
        elif capacity is not None and len(free) >= capacity:
            outcomes[pk] = at_capacity(pk, number, holder)
        else:
            free.append(pk)
    outcomes.update(
        assign_free(
            order_ids=free,
            holder=holder,
            actor=actor,
            numbers=orders.numbers,
            at=timezone.now(),
            reason=reason,
            stores=orders.stores,
        )
    )
    return BulkResult([outcomes[pk] for pk in ids])


def _move(
    *,
    actor: Actor,
    ids: list[int],
    new_holder: Actor,
    reason: str,
    taking_over: bool,
) -> BulkResult:
    """Give holds to `new_holder` in one UPDATE: held orders move (no moment when they are free), free
    orders are assigned. Shared by take over (new holder = actor) and transfer."""
    capacity = capacity_left(new_holder)
    # The holds read after the lock, all fresh: a hold given meanwhile is moved, not reported as held.
    orders = lock_then_read(ids)
    outcomes: dict[int, OrderOutcome] = {}
    moving: list[int] = []
    free: list[int] = []
    for pk in ids:
        if not orders.found(pk):
            outcomes[pk] = OrderOutcome(pk, Code.NOT_FOUND)
            continue
        number, hold, holder = orders.numbers[pk], orders.holds.get(pk), orders.holder_of(pk)
        if orders.is_final(pk):
            outcomes[pk] = OrderOutcome(pk, Code.FINAL_STATUS, number, detail=orders.state(pk).status_label)
        elif hold is not None and hold.operator_id == new_holder.pk:
            outcomes[pk] = OrderOutcome(pk, Code.ALREADY_YOURS, number, holder=new_holder)
        elif hold is not None and not rules.may_release(
            actor, holder_id=hold.operator_id, assigned_by_id=hold.assigned_by_id
        ):
            refusal = rules.transfer_refusal(actor, orders.state(pk))
            detail = refusal.detail if refusal is not None else ""
            outcomes[pk] = OrderOutcome(pk, Code.NOT_ALLOWED, number, holder=holder, detail=detail)
        elif capacity is not None and len(moving) + len(free) >= capacity:
            outcomes[pk] = at_capacity(pk, number, new_holder)
        elif hold is not None:
            outcomes[pk] = OrderOutcome(pk, Code.DONE, number, holder=holder)
            moving.append(pk)
        else:
            free.append(pk)

    now = timezone.now()
    if taking_over:
        written = log.log_taken_over(
            order_ids=moving, actor=actor, at=now, reason=reason, stores=orders.stores
        )
    else:
        written = log.log_reassigned(
            order_ids=moving,
            new_operator=new_holder,
            actor=actor,
            at=now,
            reason=reason,
            stores=orders.stores,
        )
    check_logged(written, len(moving))
    if moving:
        moved = Assignment.objects.filter(order_id__in=id_set(moving)).update(
            operator=new_holder, assigned_by=actor, assigned_at=now, last_activity_at=now
        )
        check_logged(moved, len(moving))
    outcomes.update(
        assign_free(
            order_ids=free,
            holder=new_holder,
            actor=actor,
            numbers=orders.numbers,
            at=now,
            reason=reason,
            stores=orders.stores,
        )
    )
    return BulkResult([outcomes[pk] for pk in ids])


@service_logged("orders_take_over")
@transaction.atomic
def orders_take_over(*, actor: Actor, order_ids: Iterable[int], reason: str) -> BulkResult:
    """A supervisor takes orders held by others, in one step, with a reason; free orders are simply taken.

    Logged as taken_over with the previous holder. Outcomes: done (holder = previous holder, if any),
    already yours, final status, not found, at capacity.
    """
    ids = unique_ids(order_ids)
    reason = reason_checked(
        reason,
        required=True,
        refused=_("Nothing was taken over"),
        missing=_("Nothing was taken over: a take-over needs a reason."),
    )
    if not rules.may_override(actor):
        raise RequestRefused(
            _("Nothing was taken over: %(user)s is not a supervisor.") % {"user": user_display_name(actor)},
            code=Code.INACTIVE if not actor.is_active else Code.NOT_ALLOWED,
        )
    return _move(actor=actor, ids=ids, new_holder=actor, reason=reason, taking_over=True)


@service_logged("orders_reassign")
@transaction.atomic
def orders_reassign(
    *, actor: Actor, order_ids: Iterable[int], operator: Actor, reason: str = ""
) -> BulkResult:
    """Transfer: move holds to another operator (needs assign_others; moving someone else's hold needs the
    release right over it). Logged as reassigned with the previous holder; free orders are assigned."""
    ids = unique_ids(order_ids)
    refusal = rules.assigning_refusal(actor, operator, to_another=True)
    if refusal is not None:
        raise RequestRefused(_("Nothing was reassigned: %(why)s.") % {"why": refusal}, code=refusal.code)
    reason = reason_checked(reason, required=False, refused=_("Nothing was reassigned"))
    return _move(actor=actor, ids=ids, new_holder=operator, reason=reason, taking_over=False)


# The name the rules and the console use for moving a hold to another operator.
orders_transfer = orders_reassign
