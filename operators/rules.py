"""The one rule book: who may do what with an order, asked by every surface and enforced by the services.

Each rule is a small function of the user, the order's hold and its status that returns None (allowed) or a
`Refusal` (a code and a sentence). `order_powers` answers every rule for one order at once: the console's
order page, its list and the API read it; the services decide each order with the same functions under the
order's row lock. `orders_edit_refusals` is the edit guard the order domain calls through its port
(orders/guard.py, ORDEROPS["EDIT_GUARD"]).
"""

from collections.abc import Sequence
from dataclasses import dataclass, fields

from django.contrib.auth.models import AnonymousUser
from django.utils.translation import gettext as _

from operators.models import Assignment
from operators.selectors import Hold, holds_of, users_by_id
from orderops.conf import orderops_setting
from orderops.types import Actor
from orders.guard import GuardedOrder
from orders.models import Order
from orders.results import Code, OrderOutcome, user_display_name
from orders.selectors import final_status_labels

OVERRIDE_HOLD = "operators.override_hold"
ASSIGN_OTHERS = "operators.assign_others"
CHANGE_ORDER = "orders.change_order"
HOLD_ORDERS = "operators.hold_orders"
VIEW_ORDER = "orders.view_order"
ADD_ORDER = "orders.add_order"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a user may not do something: a code for machines, a sentence for people, and the short `detail`
    that a per-order outcome carries ("held by Anna")."""

    code: Code
    message: str
    detail: str = ""

    def __str__(self) -> str:
        return self.message

    def outcome(self, order_id: int, number: str, holder: Actor | None = None) -> OrderOutcome:
        return OrderOutcome(order_id, self.code, number, holder=holder, detail=self.detail or self.message)


# --- who the user is --------------------------------------------------------------------------------------


def may_override(user: Actor) -> bool:
    """Supervisors (and superusers) edit and release orders held by others, and take them over."""
    return user.is_active and user.has_perm(OVERRIDE_HOLD)


def may_assign_others(user: Actor) -> bool:
    return user.is_active and user.has_perm(ASSIGN_OTHERS)


def may_release(user: Actor, *, holder_id: int, assigned_by_id: int) -> bool:
    """The release rule: the holder, whoever assigned the hold, or a supervisor. Nobody else."""
    return user.is_active and (user.pk in (holder_id, assigned_by_id) or may_override(user))


def actor_refusal(user: Actor) -> Refusal | None:
    """Why `user` may not work on orders at all (None: they may)."""
    if not user.is_active:
        return Refusal(Code.INACTIVE, _("the account %(user)s is inactive") % {"user": user.get_username()})
    if not user.has_perm(CHANGE_ORDER):
        return Refusal(Code.NOT_ALLOWED, _("%(user)s has no operator role") % {"user": user.get_username()})
    return None


def console_refusal(user: Actor) -> Refusal | None:
    """Why `user` could not log in to the console and work there (None: they could): they must be active,
    staff (the admin's condition for a login) and in a role, which here means they may view orders (every
    role carries orders.view_order) or ingest them (the store's integration user). An API key acts only while
    its user passes this."""
    if not user.is_active:
        return Refusal(Code.INACTIVE, _("the account %(user)s is inactive") % {"user": user.get_username()})
    if not user.is_staff:
        return Refusal(
            Code.NOT_ALLOWED,
            _("%(user)s is not a staff account and may not log in to the console")
            % {"user": user.get_username()},
        )
    if not (user.has_perm(VIEW_ORDER) or user.has_perm(ADD_ORDER)):
        return Refusal(Code.NOT_ALLOWED, _("%(user)s has no role") % {"user": user.get_username()})
    return None


def may_hold(user: Actor) -> bool:
    """Whether `user` may be given holds: operators.hold_orders, which the Operators and Supervisors roles
    carry (operators.selectors.holders_eligible lists the same people)."""
    return user.is_active and user.has_perm(HOLD_ORDERS)


def holder_refusal(user: Actor) -> Refusal | None:
    """Why `user` cannot be given holds: they must be an active Operator or Supervisor (or a superuser)."""
    if not user.is_active:
        return Refusal(Code.INACTIVE, _("%(user)s is inactive") % {"user": user.get_username()})
    if not may_hold(user):
        return Refusal(
            Code.NOT_ALLOWED,
            _("%(user)s is neither an Operator nor a Supervisor") % {"user": user_display_name(user)},
        )
    return None


# --- one order ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderState:
    """What the rules need to know of one order: its number, its hold (and holder) and its status."""

    number: str
    hold: Hold | None
    holder: Actor | None
    status_label: str
    final: bool


def order_state(order: Order, hold: Assignment | None) -> OrderState:
    """One order as the rules judge it, from the order (its status loaded, or one query for it) and its hold
    (its operator loaded, or one query for them; None: not held). The console's order page and the API build
    it here; the services build theirs from the rows they locked (operators.services._holds)."""
    status = order.status
    return OrderState(
        number=order.number,
        hold=Hold(hold.operator_id, hold.assigned_by_id) if hold is not None else None,
        holder=hold.operator if hold is not None else None,
        status_label=status.label,
        final=status.releases_assignment,
    )


def _cannot_be_held(order: OrderState) -> Refusal:
    return Refusal(
        Code.FINAL_STATUS,
        _("#%(number)s is %(status)s: an order in a final status cannot be held.")
        % {"number": order.number, "status": order.status_label},
    )


def no_assigning_others_refusal(user: Actor) -> Refusal:
    return Refusal(
        Code.NOT_ALLOWED,
        _("%(user)s may not assign orders to other operators") % {"user": user_display_name(user)},
    )


def assigning_refusal(actor: Actor, holder: Actor, *, to_another: bool) -> Refusal | None:
    """Whether `actor` may give holds to `holder` at all (before any order is looked at): an active actor
    with an operator role, assign_others when the holds go to another operator, and a holder who may hold
    orders."""
    refusal = actor_refusal(actor)
    if refusal is None and to_another and not may_assign_others(actor):
        refusal = no_assigning_others_refusal(actor)
    return refusal or holder_refusal(holder)


def edit_refusal(user: Actor, order: OrderState) -> Refusal | None:
    """The edit guard for one order: the holder, or a supervisor; with ORDEROPS["EDIT_REQUIRES_HOLD"] off,
    also anyone with change permission while nobody holds it."""
    refusal = actor_refusal(user)
    if refusal is not None:
        return refusal
    if may_override(user):
        return None
    if order.hold is None:
        if not orderops_setting("EDIT_REQUIRES_HOLD"):
            return None
        if order.final:
            return Refusal(
                Code.FINAL_STATUS,
                _(
                    "#%(number)s is %(status)s: orders in a final status cannot be held, so only a "
                    "supervisor can change or reopen it."
                )
                % {"number": order.number, "status": order.status_label},
                detail=order.status_label,
            )
        if not may_hold(user):
            return Refusal(
                Code.NOT_HELD,
                _("Nobody holds #%(number)s, and only operators and supervisors can take orders.")
                % {"number": order.number},
                detail=_("nobody holds it, and only operators and supervisors can take orders"),
            )
        return Refusal(
            Code.NOT_HELD,
            _("Nobody holds #%(number)s. Assign it to yourself to change it.") % {"number": order.number},
            detail=_("nobody holds it; assign it to yourself first"),
        )
    if order.hold.operator_id != user.pk:
        holder = user_display_name(order.holder)
        return Refusal(
            Code.HELD_BY,
            _("Only %(holder)s or a supervisor can change #%(number)s. You can still comment on it.")
            % {"holder": holder, "number": order.number},
            detail=_("held by %(holder)s") % {"holder": holder},
        )
    return None


def assign_refusal(user: Actor, order: OrderState) -> Refusal | None:
    """Taking the order for oneself."""
    refusal = actor_refusal(user) or holder_refusal(user)
    if refusal is not None:
        return refusal
    if order.hold is not None:
        if order.hold.operator_id == user.pk:
            return Refusal(Code.ALREADY_YOURS, _("#%(number)s is already yours.") % {"number": order.number})
        return Refusal(
            Code.HELD_BY,
            _("#%(number)s is held by %(holder)s.")
            % {"number": order.number, "holder": user_display_name(order.holder)},
        )
    if order.final:
        return _cannot_be_held(order)
    return None


def release_needs_reason(user: Actor, hold: Hold | Assignment | None) -> bool:
    """Ending a colleague's hold (a supervisor's release, or the assigner's) needs a reason, which the
    holder is told; a person releases their own hold with one click."""
    return hold is not None and hold.operator_id != user.pk


def release_refusal(user: Actor, order: OrderState) -> Refusal | None:
    """Whether `user` may end the order's hold. The answer depends on the user, the hold and the status
    alone (the number only names the order in the sentence): a bulk release asks once per hold and status."""
    if order.hold is None:
        return Refusal(Code.NOT_HELD, _("#%(number)s is not held by anyone.") % {"number": order.number})
    if not user.is_active:
        return Refusal(Code.INACTIVE, _("the account %(user)s is inactive") % {"user": user.get_username()})
    if may_release(user, holder_id=order.hold.operator_id, assigned_by_id=order.hold.assigned_by_id):
        return None
    holder = user_display_name(order.holder)
    return Refusal(
        Code.NOT_ALLOWED,
        _(
            "#%(number)s is held by %(holder)s: only the holder, whoever assigned it, or a supervisor may "
            "release it."
        )
        % {"number": order.number, "holder": holder},
        detail=_("held by %(holder)s; only the holder, whoever assigned it, or a supervisor may release it")
        % {"holder": holder},
    )


def take_over_refusal(user: Actor, order: OrderState) -> Refusal | None:
    """Taking a colleague's hold in one step (supervisors, with a reason)."""
    if not may_override(user):
        return Refusal(Code.NOT_ALLOWED, _("Only a supervisor can take an order over."))
    if order.hold is None:
        return Refusal(
            Code.NOT_HELD,
            _("Nobody holds #%(number)s: assign it to yourself instead.") % {"number": order.number},
        )
    if order.hold.operator_id == user.pk:
        return Refusal(Code.ALREADY_YOURS, _("#%(number)s is already yours.") % {"number": order.number})
    if order.final:
        return _cannot_be_held(order)
    return None


def transfer_refusal(user: Actor, order: OrderState) -> Refusal | None:
    """Giving the order (held or free) to another operator."""
    refusal = actor_refusal(user)
    if refusal is not None:
        return refusal
    if not may_assign_others(user):
        return no_assigning_others_refusal(user)
    if order.final:
        return _cannot_be_held(order)
    if order.hold is not None and not may_release(
        user, holder_id=order.hold.operator_id, assigned_by_id=order.hold.assigned_by_id
    ):
        holder = user_display_name(order.holder)
        return Refusal(
            Code.NOT_ALLOWED,
            _("#%(number)s is held by %(holder)s: moving it needs the holder, its assigner or a supervisor.")
            % {"number": order.number, "holder": holder},
            detail=_("held by %(holder)s; moving it needs the holder, its assigner or a supervisor")
            % {"holder": holder},
        )
    return None


def view_refusal(user: Actor, order: OrderState | None = None) -> Refusal | None:
    """Who may view orders (the list, an order, its timeline, the live pages, the API): anyone active with
    the permission orders.view_order. Every surface asks this (or may_view_orders)."""
    if not user.is_active:
        return Refusal(Code.INACTIVE, _("the account %(user)s is inactive") % {"user": user.get_username()})
    if not user.has_perm(VIEW_ORDER):
        if order is None:
            return Refusal(Code.NOT_ALLOWED, _("You may not view orders."))
        return Refusal(
            Code.NOT_ALLOWED, _("#%(number)s: you may not view this order.") % {"number": order.number}
        )
    return None


def may_view_orders(user: Actor | AnonymousUser) -> bool:
    """view_refusal as a yes or no, for anyone (not logged in: no)."""
    return user.is_authenticated and view_refusal(user) is None


def comment_refusal(user: Actor, order: OrderState | None = None) -> Refusal | None:
    """Comments are open: anyone who may view orders comments on any order, held or not."""
    return view_refusal(user, order)


def ingest_refusal(user: Actor) -> Refusal | None:
    """The store's ingest (creating and upserting orders from the store's own data, as import_orders does):
    orders.add_order, which no role carries; the store's integration user is given it directly."""
    if not user.is_active:
        return Refusal(Code.INACTIVE, _("the account %(user)s is inactive") % {"user": user.get_username()})
    if not user.has_perm(ADD_ORDER):
        return Refusal(
            Code.NOT_ALLOWED,
            _("%(user)s may not create or upsert orders: that needs the permission orders.add_order.")
            % {"user": user.get_username()},
        )
    return None


@dataclass(frozen=True)
class Powers:
    """What one user may do with one order: None where allowed, else the refusal."""

    edit: Refusal | None
    assign: Refusal | None
    release: Refusal | None
    take_over: Refusal | None
    transfer: Refusal | None
    comment: Refusal | None

    def allowed(self) -> dict[str, bool]:
        return {item.name: getattr(self, item.name) is None for item in fields(self)}

    def as_dict(self) -> dict[str, dict | None]:
        """{power: None or {"code", "message"}}, for the API and the live pages."""
        result: dict[str, dict | None] = {}
        for item in fields(self):
            refusal = getattr(self, item.name)
            result[item.name] = (
                None if refusal is None else {"code": str(refusal.code), "message": refusal.message}
            )
        return result


def order_powers(user: Actor, order: OrderState) -> Powers:
    """Everything `user` may and may not do with this order. No query beyond the user's own permissions
    (cached on the user) and, once per user object, whether they may hold orders."""
    return Powers(
        edit=edit_refusal(user, order),
        assign=assign_refusal(user, order),
        release=release_refusal(user, order),
        take_over=take_over_refusal(user, order),
        transfer=transfer_refusal(user, order),
        comment=comment_refusal(user, order),
    )


def list_powers(user: Actor) -> dict[str, bool]:
    """Which of the list's actions to offer `user` at all (the services still decide each order)."""
    works = actor_refusal(user) is None
    return {
        "hold": works,
        "assign_to_me": works and holder_refusal(user) is None,
        "assign_others": works and may_assign_others(user),
        "override": works and may_override(user),
    }


# --- the edit guard, as the order domain's port calls it ---------------------------------------------------


def orders_edit_refusals(user: Actor | None, orders: Sequence[GuardedOrder]) -> dict[int, OrderOutcome]:
    """The edit guard: which of these orders `user` may not change, and why (edit_refusal for each).

    `user` None is the system (management commands, imports run by the store's operations staff), which may
    change any order. Callers hold the orders' row locks, so no hold is given or moved until their transaction
    ends; one may still end (a release locks the hold, not the order: docs/architecture.md, "The lock
    protocol"): an edit allowed to its holder then commits just after the release, as if made before it. Reads
    the holds in one query, the holders in one more, and the final statuses only when an unheld order is
    refused.
    """
    if user is None or not orders:
        return {}
    refusal = actor_refusal(user)
    if refusal is not None:
        return {order.id: refusal.outcome(order.id, order.number) for order in orders}
    if may_override(user):
        return {}
    holds = holds_of([order.id for order in orders])
    holders = users_by_id({hold.operator_id for hold in holds.values()} - {user.pk})
    holders[user.pk] = user
    finals: dict[str, str] | None = None
    refusals = {}
    for order in orders:
        hold = holds.get(order.id)
        final, label = False, ""
        if hold is None and orderops_setting("EDIT_REQUIRES_HOLD"):
            if finals is None:
                finals = final_status_labels()
            final, label = order.status_code in finals, finals.get(order.status_code, "")
        state = OrderState(order.number, hold, holders.get(hold.operator_id) if hold else None, label, final)
        refused = edit_refusal(user, state)
        if refused is not None:
            refusals[order.id] = refused.outcome(order.id, order.number, state.holder if hold else None)
    return refusals
