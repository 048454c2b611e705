"""The order page's reading of one order: its hold, the viewer's powers over it (operators.rules), and how
the page words them; the order at a glance (its items and totals, payment and shipping, the customer's other
orders); and what the order form's line inline changed, for the edit service."""

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext as _

from console.flow import flow_read
from console.formatting import display_name, exact_time, money, time_ago
from console.forms import OperatorChoiceForm
from console.timeline import order_timeline
from console.update import draft_take
from operators import rules
from operators.models import Assignment
from orderops.conf import orderops_setting
from orderops.types import Actor
from orders.models import Order, OrderLine, OrderStatus
from orders.results import Code
from orders.selectors import orders_search_customer
from orders.services import LINE_FIELDS, LinesChange, OrderStale
from stores.labels import fulfillment_status_label, payment_status_label


@dataclass(frozen=True)
class OrderPage:
    order: Order
    hold: Assignment | None
    powers: rules.Powers


def order_page_read(user: Actor, order: Order) -> OrderPage:
    """One query for the hold with its people, one for the status (unless the order carries it)."""
    hold = Assignment.objects.filter(order_id=order.pk).select_related("operator", "assigned_by").first()
    return OrderPage(order, hold, rules.order_powers(user, rules.order_state(order, hold)))


def read_only_reason(page: OrderPage, *, may_change_orders: bool) -> str:
    """Why the viewer sees the order read-only, worded for the page ("" when they may change it)."""
    refusal = page.powers.edit
    if refusal is None:
        return ""
    if not may_change_orders or refusal.code in (Code.INACTIVE, Code.NOT_ALLOWED):
        return _("You can view this order and comment on it, but not change it.")
    if refusal.code == Code.FINAL_STATUS:
        return _("Orders in a final status cannot be held, so only a supervisor can change this one.")
    if refusal.code == Code.HELD_BY:
        return _("Only %(holder)s or a supervisor can change this order. You can still comment on it.") % {
            "holder": display_name(page.hold.operator if page.hold else None)
        }
    if refusal.code == Code.NOT_HELD and page.powers.assign is None:
        return _("Nobody holds this order. Assign it to yourself to change it.")
    if refusal.code == Code.NOT_HELD:
        return _("Nobody holds this order, and only operators and supervisors can take orders.")
    return refusal.message


def settable_statuses(page: OrderPage) -> list[OrderStatus]:
    """The statuses the Update box offers: every other status to those the rule book lets change the order
    (an order's status is one of its fields), none to anyone else."""
    if page.powers.edit is not None:
        return []
    return [status for status in OrderStatus.objects.all() if status.code != page.order.status_id]


def banner_context(request, order: Order, page: OrderPage, may_change_orders: bool) -> dict:
    """What the hold banner shows (the hold, its people, the viewer's buttons, the read-only reason): a read
    with no side effect, for the order page and for an open page's poll alike."""
    user, hold, powers = request.user, page.hold, page.powers
    flow = flow_read(request)
    hold_is_mine = hold is not None and hold.operator_id == user.pk
    context = {
        "hold": hold,
        "hold_is_mine": hold_is_mine,
        "hold_holder_name": display_name(hold.operator, viewer_id=user.pk) if hold else "",
        "hold_assigner_name": "",
        "hold_age": time_ago(hold.assigned_at) if hold else "",
        "hold_since": exact_time(hold.assigned_at) if hold else "",
        "order_is_final": order.status.releases_assignment,
        "powers": powers,
        "can_assign": powers.assign is None,
        "can_release": powers.release is None,
        # A colleague's hold: Release stands with Take over…, after the reason box both need.
        "release_needs_reason": rules.release_needs_reason(user, hold),
        "can_take_over": powers.take_over is None,
        "can_transfer": powers.transfer is None,
        "read_only_reason": read_only_reason(page, may_change_orders=may_change_orders),
        "reason_max_length": orderops_setting("REASON_MAX_LENGTH"),
        "flow": flow,
        "flow_query": flow.query(),
        # Working through "Get next order" and done with this one: the next order is the first button.
        "offer_next": flow.via_next and not hold_is_mine and rules.list_powers(user)["assign_to_me"],
    }
    if powers.transfer is None:
        context["transfer_choices"] = [
            operator
            for operator in OperatorChoiceForm().operators
            if hold is None or operator.pk != hold.operator_id
        ]
    if hold is not None and hold.assigned_by_id != hold.operator_id:
        context["hold_assigner_name"] = display_name(hold.assigned_by, viewer_id=user.pk)
    return context


def order_page_context(request, order: Order, page: OrderPage, may_change_orders: bool) -> dict:
    """The whole order page: the banner, the timeline and the Update box, with what the box held when its
    submit was refused (taken from the session once: only the page itself shows it, never a poll)."""
    context = banner_context(request, order, page, may_change_orders)
    context["timeline"] = order_timeline(order.pk)
    context["glance"] = order_glance(order)
    draft = draft_take(request, order.pk)
    statuses = settable_statuses(page)
    context.update(
        {
            "comment_draft": draft.body,
            "comment_error": draft.error,
            "update_statuses": [
                {
                    "code": status.code,
                    "label": _("%(status)s (ends the hold)") % {"status": status.label}
                    if status.releases_assignment
                    else status.label,
                    "final": status.releases_assignment,
                    "chosen": status.code == draft.status,
                }
                for status in statuses
            ],
            "update_release_offered": context["hold_is_mine"],
            "update_release_chosen": draft.release_after,
        }
    )
    return context


# "N other orders" counts this many at most (one bounded query): more are "99+".
OTHER_ORDERS_SHOWN_MAX = 99


@dataclass(frozen=True)
class GlanceLine:
    name: str
    sku: str
    qty: int
    unit_price: str
    total: str


def _totals_mismatch(order: Order, subtotal: Decimal) -> Decimal | None:
    """What the lines, shipping, tax and discount add up to when that is not the order's total, else None.
    Stores differ in what the total counts: taxes included in the prices, or a discount already taken off
    the lines, both add up."""
    shipping = order.shipping_total or Decimal(0)
    tax = order.tax_total or Decimal(0)
    discount = order.discount_total or Decimal(0)
    expected = subtotal + shipping + tax - discount
    accepted = {expected, expected - tax, expected + discount, expected - tax + discount}
    return None if order.grand_total in accepted else expected


def other_orders(order: Order) -> dict | None:
    """The customer's other orders, found as the list's search finds them (the email, or the phone when
    there is no email), counted in one query bounded at OTHER_ORDERS_SHOWN_MAX + 1 rows."""
    term = order.customer_email or order.customer_phone
    if not term:
        return None
    # No order: any hundred rows the search's index finds count the same, without walking the newest first.
    found = orders_search_customer(Order.objects.exclude(pk=order.pk), term).order_by().values("pk")
    found = found[: OTHER_ORDERS_SHOWN_MAX + 1]
    count = found.count()
    return {"term": term, "count": min(count, OTHER_ORDERS_SHOWN_MAX), "more": count > OTHER_ORDERS_SHOWN_MAX}


def order_glance(order: Order) -> dict:
    """The top of the order page: what they bought (one query for the lines), what they paid, how it is
    shipped, and who the customer is. Orders from files may lack what only stores send: it is left out."""
    currency = order.currency
    lines = []
    subtotal = Decimal(0)
    for line in OrderLine.objects.filter(order_id=order.pk).order_by("id"):
        subtotal += line.total
        lines.append(
            GlanceLine(
                line.name, line.sku, line.qty, money(line.unit_price, currency), money(line.total, currency)
            )
        )
    expected = _totals_mismatch(order, subtotal) if lines else None
    return {
        "lines": lines,
        "subtotal": money(subtotal, currency),
        # Free shipping from a store is said; a file's order without these figures shows none of them.
        "shipping_total": money(order.shipping_total, currency)
        if order.shipping_total or (order.store_id and order.shipping_total is not None)
        else "",
        "tax_total": money(order.tax_total, currency) if order.tax_total else "",
        "discount_total": money(order.discount_total, currency) if order.discount_total else "",
        "grand_total": money(order.grand_total, currency),
        "mismatch": _("The lines, shipping, tax and discount add up to %(expected)s, not %(total)s.")
        % {"expected": money(expected, currency), "total": money(order.grand_total, currency)}
        if expected is not None
        else "",
        "payment_status": payment_status_label(order.payment_status),
        "fulfillment_status": fulfillment_status_label(order.fulfillment_status),
        "shipping_method": order.shipping_method,
        "shipping_address": ", ".join(
            part
            for part in (
                order.shipping_name,
                order.shipping_street,
                " ".join(filter(None, (order.shipping_postcode, order.shipping_city))),
                order.shipping_country,
            )
            if part
        ),
        "customer_note": order.customer_note,
        "other_orders": other_orders(order),
    }


def _by_viewer_only(stale: OrderStale, viewer: Actor | None) -> bool:
    """Whether every change since the refused form was loaded is the viewer's own (another tab of theirs)."""
    if viewer is None or stale.changed_by_store:
        return False
    actors = [change.actor for change in stale.changes] or [stale.changed_by]
    return all(actor is not None and actor.pk == viewer.pk for actor in actors)


def stale_sentence(stale: OrderStale, *, update: bool = False, viewer: Actor | None = None) -> str:
    """ "Boris changed street 2 minutes ago. Your changes were not saved: check them and save again." With
    `update`, worded for the Update box, which comes back on the order as it is now. The `viewer`'s own
    change, made in another tab, is said to them in the second person."""
    fields = ", ".join(change.label for change in stale.changes)
    who = stale.changed_by_store or display_name(stale.changed_by)
    names = {"who": who, "fields": fields, "number": stale.number}
    names["when"] = time_ago(stale.changed_at)
    if _by_viewer_only(stale, viewer):
        if update and fields:
            text = _(
                "You changed %(fields)s on #%(number)s %(when)s in another tab, after you opened it here. "
                "Your update was not made: check the order as it is now and send it again."
            )
        elif update:
            text = _(
                "You saved #%(number)s %(when)s in another tab, after you opened it here. Your update was "
                "not made: check the order as it is now and send it again."
            )
        elif fields:
            text = _(
                "You changed %(fields)s on #%(number)s %(when)s in another tab. Your changes were not saved: "
                "check them and save again."
            )
        else:
            text = _(
                "You saved #%(number)s %(when)s in another tab, after you opened it here. Your changes were "
                "not saved: check them and save again."
            )
        return text % names
    if update and fields:
        text = _(
            "%(who)s changed %(fields)s on #%(number)s %(when)s, after you opened it. Your update was not "
            "made: check the order as it is now and send it again."
        )
    elif update:
        text = _(
            "%(who)s saved #%(number)s %(when)s, after you opened it. Your update was not made: check the "
            "order as it is now and send it again."
        )
    elif fields:
        text = _(
            "%(who)s changed %(fields)s on #%(number)s %(when)s. Your changes were not saved: check them and "
            "save again."
        )
    else:
        text = _(
            "%(who)s saved #%(number)s %(when)s, after you opened it. Your changes were not saved: check "
            "them and save again."
        )
    return text % names


def lines_change(formsets) -> LinesChange:
    """What the line inline's forms ask: new lines, changed lines and deleted lines, by field."""
    added, changed, deleted = [], {}, []
    for formset in formsets:
        deleting = set(map(id, formset.deleted_forms)) if formset.can_delete else set()
        for form in formset.forms:
            pk = form.instance.pk
            if id(form) in deleting:
                if pk is not None:
                    deleted.append(pk)
            elif not form.has_changed():
                continue
            elif pk is None:
                added.append(
                    {name: form.cleaned_data[name] for name in LINE_FIELDS if name in form.cleaned_data}
                )
            else:
                changed[pk] = {
                    name: form.cleaned_data[name] for name in form.changed_data if name in LINE_FIELDS
                }
        # The admin's change message reads what the formset saved; the edit service saved it instead.
        formset.new_objects, formset.changed_objects, formset.deleted_objects = [], [], []
    return LinesChange(added=added, changed=changed, deleted=deleted)
