"""What an open console page shows after its change token moved (live/changes.py keeps the tokens): the order
page's banner, timeline and sentences, and the list's cells. Reads only: a poll changes nothing a person
typed or will see (no kept Update-box draft is taken, no message is consumed)."""

import copy
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import cast

from django.contrib import admin
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ORDER_VAR, PAGE_VAR
from django.contrib.auth import get_user_model
from django.db.models import IntegerField, Value
from django.http import HttpRequest, QueryDict
from django.template.loader import render_to_string
from django.utils.formats import localize
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from console.admin import OrderAdmin
from console.formatting import display_name, time_ago
from console.order_page import banner_context
from console.timeline import TimelineEntry, order_timeline
from live.changes import page_token, rows_moved, token_log_rows
from operators.models import AssignmentLog
from orderops.db import id_set
from orderops.types import Actor
from orders.models import Order
from orders.services import changes_since

# The banner's markup is the order page's own: a partial (Django's template partials) rendered alone.
BANNER_TEMPLATE = "admin/orders/order/change_form.html#hold-banner"
TIMELINE_TEMPLATE = "console/live/timeline.html"
LOG_KINDS = frozenset(AssignmentLog.Action.values)


def _order_admin() -> OrderAdmin:
    return cast(OrderAdmin, admin.site.get_model_admin(Order))


def token_of_page(version: int, timeline: list[TimelineEntry]) -> str:
    """The token of an order page as rendered, counted from the timeline it shows (no query)."""
    return page_token(
        version=version,
        log_rows=sum(1 for entry in timeline if entry.kind in LOG_KINDS),
        comments=sum(1 for entry in timeline if entry.is_comment),
    )


# --- the order page -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OrderPageUpdate:
    """What an open order page shows after its token moved."""

    token: str
    version: int
    banner: str
    timeline: str
    editable: bool
    read_only_reason: str
    changed: str  # who changed which fields since the page's version ("" when the version did not move)
    notice: str  # the viewer's hold was taken over, moved, released or expired by someone else

    def as_dict(self) -> dict:
        return {
            "token": self.token,
            "version": self.version,
            "banner": self.banner,
            "timeline": self.timeline,
            "editable": self.editable,
            "read_only_reason": self.read_only_reason,
            "changed": self.changed,
            "notice": self.notice,
        }


def order_page_moved(
    request, *, order_id: int, since_token: str, loaded_version: int, token: str
) -> OrderPageUpdate:
    """The order page's new banner and timeline (the page's own markup, through the banner's context, which
    has no side effect), whether the viewer may still edit (the rule book, through the console's reading of
    the page), who changed what since the version the form was loaded at, and a sentence when someone else
    ended the viewer's hold since the last poll."""
    model_admin = _order_admin()
    order = Order.objects.select_related("status").get(pk=order_id)
    page = model_admin.order_page(request, order)
    # The model-level permission (change orders at all); the order's own is the rule book's edit power.
    may_change = model_admin.has_change_permission(request)
    context = banner_context(request, order, page, may_change)
    context.update(original=order, change=True, has_change_permission=may_change)
    timeline = order_timeline(order.pk)
    return OrderPageUpdate(
        token=token,
        version=order.version,
        banner=render_to_string(BANNER_TEMPLATE, context, request=request),
        timeline=render_to_string(TIMELINE_TEMPLATE, {"timeline": timeline}, request=request),
        editable=may_change and page.powers.edit is None,
        read_only_reason=context["read_only_reason"],
        changed=_changed_sentence(order, loaded_version, request.user)
        if order.version > loaded_version
        else "",
        notice=_hold_lost_sentence(order, request.user, seen_logs=token_log_rows(since_token)),
    )


def _changed_sentence(order: Order, loaded_version: int, viewer: Actor) -> str:
    """ "Boris changed street, city on #1001 2 minutes ago. …" from the field-change history; the viewer's
    own change (made in another tab) is said to them in the second person."""
    changes = changes_since(order, loaded_version)
    if not changes:
        return _(
            "#%(number)s was saved by someone else after you opened it. Reload it before you save: a save "
            "from this page would be refused."
        ) % {"number": order.number}
    latest = max(changes, key=lambda change: change.at)

    def by_viewer(change) -> bool:
        return not change.store_name and change.actor is not None and change.actor.pk == viewer.pk

    mine = any(by_viewer(change) for change in changes)
    others = sorted(
        {change.store_name or display_name(change.actor) for change in changes if not by_viewer(change)}
    )
    names = {
        "who": ", ".join(others),
        "fields": ", ".join(change.label for change in changes),
        "number": order.number,
        "when": time_ago(latest.at),
    }
    if mine and not others:
        return (
            _(
                "You changed %(fields)s on #%(number)s %(when)s in another tab. Reload it before you save: a "
                "save from this page would be refused."
            )
            % names
        )
    if mine:
        return (
            _(
                "%(who)s and you (in another tab) changed %(fields)s on #%(number)s %(when)s. Reload it "
                "before you save: a save from this page would be refused."
            )
            % names
        )
    return (
        _(
            "%(who)s changed %(fields)s on #%(number)s %(when)s. Reload it before you save: a save from this "
            "page would be refused."
        )
        % names
    )


def _hold_lost_sentence(order: Order, viewer: Actor, *, seen_logs: int | None) -> str:
    """A sentence when a log row written since the page's last poll ended the viewer's hold and somebody else
    (or the system) did it: who, and the reason they gave."""
    if seen_logs is None:
        return ""
    Action = AssignmentLog.Action
    rows = (
        AssignmentLog.objects.filter(order_id=order.pk)
        .select_related("actor", "operator", "store")
        .order_by("at", "id")[seen_logs:]
    )
    sentence = ""
    for row in rows:
        names = {
            "who": display_name(row.actor),
            "to": display_name(row.operator),
            "number": order.number,
            "reason": row.reason,
        }
        if row.actor_id == viewer.pk:
            continue
        if row.action == Action.TAKEN_OVER and row.previous_operator_id == viewer.pk:
            sentence = (
                _("%(who)s took over #%(number)s from you: %(reason)s")
                if row.reason
                else _("%(who)s took over #%(number)s from you.")
            ) % names
        elif row.action == Action.REASSIGNED and row.previous_operator_id == viewer.pk:
            sentence = (
                _("%(who)s moved #%(number)s from you to %(to)s: %(reason)s")
                if row.reason
                else _("%(who)s moved #%(number)s from you to %(to)s.")
            ) % names
        elif row.action == Action.RELEASED and row.operator_id == viewer.pk:
            sentence = (
                _("%(who)s released your hold on #%(number)s: %(reason)s")
                if row.reason
                else _("%(who)s released your hold on #%(number)s.")
            ) % names
        elif row.action == Action.AUTO_RELEASED and row.store is not None and row.operator_id == viewer.pk:
            sentence = _("Your hold on #%(number)s ended: auto-released by %(store)s (%(reason)s).") % {
                "number": order.number,
                "store": row.store.name,
                "reason": row.reason,
            }
        elif row.action in (Action.EXPIRED, Action.AUTO_RELEASED) and row.operator_id == viewer.pk:
            sentence = _("Your hold on #%(number)s ended: %(why)s.") % {
                "number": order.number,
                "why": row.get_action_display(),
            }
    return sentence


# --- the list -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ListRow:
    order_id: int
    token: str
    assigned_to: str
    status: str
    viewers: list[str]

    def as_dict(self) -> dict:
        return {
            "id": self.order_id,
            "token": self.token,
            "assigned_to": self.assigned_to,
            "status": self.status,
            "viewers": self.viewers,
            "viewers_text": _("%(names)s viewing") % {"names": ", ".join(self.viewers)}
            if self.viewers
            else "",
        }


def list_cells(orders: Sequence[Order]) -> dict[int, tuple[str, str]]:
    """The list's "Assigned to" and status cells of these orders, as the list renders them (the orders carry
    their status, hold and holder, and the viewer's id as `viewer_id`)."""
    model_admin = _order_admin()
    return {
        order.pk: (str(model_admin.assigned_to(order)), str(model_admin.status_badge(order)))
        for order in orders
    }


def list_rows_moved(*, viewer: Actor, known: dict[int, str]) -> list[ListRow]:
    """The rows of `known` (order id → the token the page has, "" for none yet) whose token moved, rendered
    as the list renders its cells: one statement for the tokens; only when a row moved, a second reads those
    orders to render them, and a third names the colleagues, when a moved row has any."""
    moved = rows_moved(viewer=viewer, known=known)
    if not moved:
        return []
    orders = list(
        Order.objects.filter(pk__in=id_set(moved))
        .select_related("status", "assignment__operator")
        .annotate(viewer_id=Value(viewer.pk, output_field=IntegerField()))
        .order_by()
    )
    names: dict[int, str] = {}
    wanted = {pk for state in moved.values() for pk in state.viewer_ids}
    if wanted:
        names = {user.pk: display_name(user) for user in get_user_model().objects.filter(pk__in=wanted)}
    cells = list_cells(orders)
    # Rendered from a read after the tokens: a change in between shows now and moves the token again, so the
    # next poll sends the row once more; it is never missed.
    return [
        ListRow(
            order.pk,
            moved[order.pk].token,
            cells[order.pk][0],
            cells[order.pk][1],
            [names[pk] for pk in moved[order.pk].viewer_ids if pk in names],
        )
        for order in orders
    ]


# --- the list's "N results" line ---------------------------------------------------------------------------

# A list's query parameters that choose how it is shown, not which orders: left out of what the page sends.
SHOWN_NOT_CHOSEN = frozenset({ORDER_VAR, PAGE_VAR})


def list_query(params: Mapping[str, str]) -> str:
    """The list's filters and search as a query string (its ChangeList's `params`), without its sort and
    page: what the open list sends with its rows, for the sync to count its results again."""
    return urlencode({key: value for key, value in params.items() if key not in SHOWN_NOT_CHOSEN})


class ListQueryRefused(ValueError):
    """A list query that the list itself would refuse (an unknown filter value): nothing is counted."""


@dataclass(frozen=True)
class ListCount:
    count: int
    estimated: bool

    def as_dict(self) -> dict:
        number = localize(self.count)
        results = ngettext("%(counter)s result", "%(counter)s results", self.count) % {"counter": number}
        verbose = Order._meta.verbose_name if self.count == 1 else Order._meta.verbose_name_plural
        orders = f"{number} {verbose}"
        if self.estimated:
            results, orders = f"{_('about')} {results}", f"{_('about')} {orders}"
        return {"count": self.count, "estimated": self.estimated, "results": results, "orders": orders}


def list_result_count(request: HttpRequest, query: str) -> ListCount:
    """How many orders the list with this query shows now, counted as the list counts them (its own filters,
    search and estimating paginator, through the order admin's ChangeList): the list's "N results" line
    again. Costs what the list's count costs (and the filters' choices, which the ChangeList reads)."""
    asked = copy.copy(request)
    asked.GET = QueryDict(query)
    model_admin = _order_admin()
    try:
        changelist = model_admin.get_changelist_instance(asked)
    except IncorrectLookupParameters as refused:
        raise ListQueryRefused(query) from refused
    return ListCount(changelist.result_count, bool(getattr(changelist.paginator, "approximate", False)))
