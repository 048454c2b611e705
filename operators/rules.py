"""Who may do what with holds: the edit guard, the release rule, and who may hold orders at all."""

from collections.abc import Sequence

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.utils.translation import gettext as _

from operators.selectors import holds_of, users_by_id
from orderops.conf import OPERATORS_GROUP, SUPERVISORS_GROUP, orderops_setting
from orders.results import OrderOutcome, Outcome, user_display_name

OVERRIDE_HOLD = "operators.override_hold"
ASSIGN_OTHERS = "operators.assign_others"
CHANGE_ORDER = "orders.change_order"


def may_override(user: AbstractBaseUser) -> bool:
    """Supervisors (and superusers) edit and release orders held by others, and take them over."""
    return user.is_active and user.has_perm(OVERRIDE_HOLD)


def may_assign_others(user: AbstractBaseUser) -> bool:
    return user.is_active and user.has_perm(ASSIGN_OTHERS)


def may_release(user: AbstractBaseUser, *, holder_id: int, assigned_by_id: int) -> bool:
    """The release rule: the holder, whoever assigned the hold, or a supervisor. Nobody else."""
    return user.is_active and (user.pk in (holder_id, assigned_by_id) or may_override(user))


def actor_refusal(user: AbstractBaseUser) -> str | None:
    """Why `user` may not work on orders at all (None: they may)."""
    if not user.is_active:
        return _("the account %(user)s is inactive") % {"user": user.get_username()}
    if not user.has_perm(CHANGE_ORDER):
        return _("%(user)s has no operator role") % {"user": user.get_username()}
    return None


def holder_refusal(user: AbstractBaseUser) -> str | None:
    """Why `user` cannot be given holds: they must be an active Operator or Supervisor (or a superuser)."""
    if not user.is_active:
        return _("%(user)s is inactive") % {"user": user.get_username()}
    if user.is_superuser:
        return None
    if not user.groups.filter(name__in=[OPERATORS_GROUP, SUPERVISORS_GROUP]).exists():
        return _("%(user)s is neither an Operator nor a Supervisor") % {"user": user.get_username()}
    return None


def holder_lookup(username: str) -> AbstractBaseUser | None:
    return get_user_model().objects.filter(username=username).first()


def order_change_refusals(
    user: AbstractBaseUser | None, orders: Sequence[tuple[int, str]]
) -> dict[int, OrderOutcome]:
    """The edit guard: which of these orders `user` may not change, and why.

    Allowed: the holder, or anyone with override_hold; when ORDEROPS["EDIT_REQUIRES_HOLD"] is off, also
    anyone with change permission for an order nobody holds. `user` None is the system (management
    commands, imports run by the store's operations staff), which may change any order. Callers hold the
    orders' row locks, so the answer stays true until their transaction ends.
    """
    if user is None:
        return {}
    refusal = actor_refusal(user)
    if refusal is not None:
        return {pk: OrderOutcome(pk, Outcome.NOT_ALLOWED, number, detail=refusal) for pk, number in orders}
    if may_override(user):
        return {}
    holds = holds_of([pk for pk, _number in orders])
    holders = users_by_id({hold.operator_id for hold in holds.values()} - {user.pk})
    edit_requires_hold = orderops_setting("EDIT_REQUIRES_HOLD")
    refusals = {}
    for pk, number in orders:
        hold = holds.get(pk)
        if hold is None:
            if edit_requires_hold:
                refusals[pk] = OrderOutcome(
                    pk, Outcome.NOT_ALLOWED, number, detail=_("nobody holds it; assign it to yourself first")
                )
        elif hold.operator_id != user.pk:
            holder = holders[hold.operator_id]
            refusals[pk] = OrderOutcome(
                pk,
                Outcome.HELD_BY,
                number,
                holder=holder,
                detail=_("held by %(holder)s") % {"holder": user_display_name(holder)},
            )
    return refusals
