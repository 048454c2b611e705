"""Holds that end by themselves: expiry after inactivity, auto-release on a final status, and the activity
that keeps a hold alive."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from operators import log
from operators.models import Assignment
from operators.selectors import users_by_id
from operators.services import _holds
from operators.services._holds import check_logged
from orderops.conf import orderops_setting
from orderops.db import id_set
from orderops.durations import duration_display
from orderops.service_log import service_logged
from orderops.types import Actor
from orders.locking import orders_locked
from orders.models import OrderStatus
from orders.results import BulkResult, Code, OrderOutcome, RequestRefused


@service_logged("holds_expire")
@transaction.atomic
def holds_expire(
    *, idle: timedelta | None = None, now: datetime | None = None, limit: int | None = None
) -> BulkResult:
    """Release holds whose last activity is older than `idle` (default ORDEROPS["HOLD_IDLE_TIMEOUT"]).

    Logged as expired, by the system. Outcomes: done, with the holder whose hold expired.
    """
    idle = idle if idle is not None else orderops_setting("HOLD_IDLE_TIMEOUT")
    if idle is None:
        raise RequestRefused(
            _("No hold expired: no idle timeout is configured (ORDEROPS HOLD_IDLE_TIMEOUT)."),
            code=Code.NOT_CONFIGURED,
        )
    if idle < timedelta(0):
        raise RequestRefused(
            _("No hold expired: the idle timeout cannot be negative."), code=Code.INVALID_INPUT
        )
    cutoff = (now or timezone.now()) - idle
    candidates = Assignment.objects.filter(last_activity_at__lt=cutoff).order_by("order_id")
    candidate_ids = list(candidates.values_list("order_id", flat=True)[:limit])
    locked = orders_locked(candidate_ids)
    # Activity may have moved between the first read and the lock, or a release (it locks the holds, not the
    # orders) ended a hold: decide on the holds locked (_holds.holds_locking), the idle test checked again.
    holds = _holds.holds_locking(locked).filter(last_activity_at__lt=cutoff)
    expiring = list(holds.values_list("order_id", "operator_id"))
    holders = users_by_id(operator_id for _order_id, operator_id in expiring)
    expiring_ids = [order_id for order_id, _operator_id in expiring]
    reason = _("idle for more than %(idle)s") % {"idle": duration_display(idle)}
    logged_at = max(now or timezone.now(), timezone.now())  # never before a change made while we waited
    stores = {pk: order.store_id for pk, order in locked.items() if order.store_id is not None}
    expired = _holds.holds_delete_logged(
        order_ids=expiring_ids,
        action=log.Action.EXPIRED,
        actor=None,
        at=logged_at,
        reason=reason,
        stores=stores,
    )
    check_logged(expired, len(expiring_ids))
    return BulkResult(
        [
            OrderOutcome(order_id, Code.DONE, locked[order_id].number, holder=holders[operator_id])
            for order_id, operator_id in expiring
        ]
    )


def holds_auto_release(
    *,
    order_ids: list[int],
    status: OrderStatus,
    actor: Actor | None,
    reason: str = "",
    store_id: int | None = None,
) -> int:
    """Release the holds of orders that entered a releasing status. Runs inside the status change's
    transaction, on rows the status change has locked or updated. Returns how many holds ended. `store_id`:
    the connected store that set the status (its log rows name it)."""
    # Locked (_holds.holds_locking): a release ending one of them at this moment is waited for, not doubled.
    held = list(_holds.holds_locked(order_ids))
    if not held:
        return 0
    why = _("status set to %(status)s") % {"status": status.label}
    if reason:
        why = f"{why}: {reason}"
    now = timezone.now()
    ended = _holds.holds_delete_logged(
        order_ids=held,
        action=log.Action.AUTO_RELEASED,
        actor=actor,
        at=now,
        reason=why,
        stores=None,
        store_id=store_id,
    )
    check_logged(ended, len(held))
    return len(held)


def holds_touch(*, actor: Actor | None, order_ids: list[int]) -> int:
    """The holder worked on these orders: move their holds' last activity to now (expiry counts from it)."""
    if actor is None or not order_ids:
        return 0
    return Assignment.objects.filter(order_id__in=id_set(order_ids), operator_id=actor.pk).update(
        last_activity_at=timezone.now()
    )
