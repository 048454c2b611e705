"""What changed since a page was rendered: the tokens that the list and the order page poll with, and what
they show when a token moved.

A token is a fingerprint of everything the page shows that other people can change, compared with the
current state by one indexed query, so that "nothing changed" costs one statement however long the page
has been open and whatever happened to other orders meanwhile. Comparing state, not timestamps: a write
that began before the page's last poll and committed after it moves the state, and is seen by the next
poll (a "changed since T" test would miss it for good), and the app servers' clocks do not matter.

What moves what, as the rows keep it:
- edits, status changes (and so auto-releases), imports, scripts: every write of an order increments its
  `version` (orders.Order, invariant 9);
- hold changes (take, release, take-over, transfer, expiry): they touch neither `version` nor `updated_at`
  (the `held` marker is kept by triggers without either), but each writes exactly one assignment log row in
  its transaction (invariant 2), and the log and the comments are append-only: their counts per order only
  grow. The order page's token is therefore (version, log rows, comments) of the order, three lookups of one
  primary key and two index ranges (assignmentlog_order_idx, comment_timeline_idx), counted straight from the
  timeline the page rendered (no query of its own);
- the list's rows: (version, the hold's id, holder and start, the colleagues who have the order open now)
  per order, read with the holds by the page's order ids: primary-key lookups, one statement for 100 rows.
  A row's token is a short hash of those; the first poll (the page rendered none, to keep the list's
  queries) fills every row.
"""

import hashlib
from dataclasses import dataclass
from typing import cast

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import CharField, IntegerField, OuterRef, StringAgg, Subquery, Value
from django.db.models.functions import Cast
from django.template.loader import render_to_string
from django.utils.translation import gettext as _

from console.admin import OrderAdmin
from console.formatting import display_name, held_for
from console.order_page import order_page_context, read_only_reason
from console.timeline import TimelineEntry
from live.models import Presence
from live.presence import fresh_since
from operators.models import AssignmentLog
from orderops.conf import orderops_setting
from orderops.db import id_set
from orderops.types import Actor
from orders.models import Order, OrderComment
from orders.services import changes_since

# The banner's markup is the console's: its order page defines it as a partial (Django's template partials)
# that this module renders alone.
BANNER_TEMPLATE = "admin/orders/order/change_form.html#hold-banner"
TIMELINE_TEMPLATE = "live/timeline.html"
LOG_KINDS = frozenset(AssignmentLog.Action.values)


# --- the order page -----------------------------------------------------------------------------------------


def order_token_of_page(version: int, timeline: list[TimelineEntry]) -> str:
    """The token of an order page as rendered: its version, and the log rows and comments its timeline
    shows (the whole timeline: the page renders all of it)."""
    logs = sum(1 for entry in timeline if entry.kind in LOG_KINDS)
    comments = sum(1 for entry in timeline if entry.is_comment)
    return f"{version}.{logs}.{comments}"


def order_token(order_id: int) -> str | None:
    """The order's token now, in one statement (None when the order does not exist)."""
    order, log, comment = Order._meta.db_table, AssignmentLog._meta.db_table, OrderComment._meta.db_table
    sql = (
        f"SELECT o.version, (SELECT COUNT(*) FROM {log} l WHERE l.order_id = o.id),"
        f" (SELECT COUNT(*) FROM {comment} c WHERE c.order_id = o.id) FROM {order} o WHERE o.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [order_id])
        row = cursor.fetchone()
    return None if row is None else f"{row[0]}.{row[1]}.{row[2]}"


def _token_parts(token: str) -> tuple[int, int, int] | None:
    try:
        version, logs, comments = (int(part) for part in token.split("."))
    except ValueError:
        return None
    return version, logs, comments


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


def order_page_update(
    request, *, order_id: int, since_token: str, loaded_version: int, token: str
) -> OrderPageUpdate:
    """The order page's new banner and timeline (the console's own markup), whether the viewer may still edit
    (the rule book, through the console's reading of the page), who changed what since the version the form
    was loaded at, and a sentence when someone else ended the viewer's hold since the last poll."""
    model_admin = cast(OrderAdmin, admin.site.get_model_admin(Order))
    order = Order.objects.select_related("status").get(pk=order_id)
    page = model_admin.order_page(request, order)
    may_change = admin.ModelAdmin.has_change_permission(model_admin, request, order)
    context = order_page_context(request, order, page, may_change)
    context.update(
        original=order,
        change=True,
        has_change_permission=may_change,
        reason_max_length=orderops_setting("REASON_MAX_LENGTH"),
    )
    reason = read_only_reason(page, may_change_orders=may_change)
    seen = _token_parts(since_token)
    return OrderPageUpdate(
        token=token,
        version=order.version,
        banner=render_to_string(BANNER_TEMPLATE, context, request=request),
        timeline=render_to_string(TIMELINE_TEMPLATE, {"timeline": context["timeline"]}, request=request),
        editable=may_change and page.powers.edit is None,
        read_only_reason=reason,
        changed=_changed_sentence(order, loaded_version) if order.version > loaded_version else "",
        notice=_hold_lost_sentence(order, request.user, seen_logs=seen[1] if seen else None),
    )


def _changed_sentence(order: Order, loaded_version: int) -> str:
    """ "Boris changed street, city on #1001 2 minutes ago. …" from the field-change history."""
    changes = changes_since(order, loaded_version)
    if not changes:
        return _(
            "#%(number)s was saved by someone else after you opened it. Reload it before you save: a save "
            "from this page would be refused."
        ) % {"number": order.number}
    latest = max(changes, key=lambda change: change.at)
    names = sorted({change.store_name or display_name(change.actor) for change in changes})
    return _(
        "%(who)s changed %(fields)s on #%(number)s %(when)s. Reload it before you save: a save from this "
        "page would be refused."
    ) % {
        "who": ", ".join(names),
        "fields": ", ".join(change.label for change in changes),
        "number": order.number,
        "when": held_for(latest.at),
    }


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


def _row_token(version: int, status: str, hold_id, holder_id, held_since, viewer_ids: str) -> str:
    state = (
        version,
        status,
        hold_id or 0,
        holder_id or 0,
        held_since.isoformat() if held_since else "",
        ",".join(sorted(set(viewer_ids.split(",")) - {""})),
    )
    return hashlib.blake2s(repr(state).encode(), digest_size=5).hexdigest()


def list_rows_changed(*, viewer: Actor, known: dict[int, str]) -> list[ListRow]:
    """The rows of `known` (order id → the token the page has, "" for none yet) whose token moved, rendered
    as the list renders its cells. One statement reads the state of every row (version, status, hold, the
    colleagues who have it open) as plain values; only when a row moved, a second reads those orders to
    render them, and a third names the colleagues, when a moved row has any."""
    if not known:
        return []
    viewers = (
        Presence.objects.filter(order_id=OuterRef("pk"), seen_at__gte=fresh_since())
        .exclude(user_id=viewer.pk)
        .order_by()
        .values("order_id")
        .annotate(ids=StringAgg(Cast("user_id", CharField()), Value(",")))
        .values("ids")
    )
    states = (
        Order.objects.filter(pk__in=id_set(known))
        .annotate(live_viewers=Subquery(viewers, output_field=CharField()))
        .order_by()
        .values_list(
            "pk",
            "version",
            "status_id",
            "assignment__id",
            "assignment__operator_id",
            "assignment__assigned_at",
            "live_viewers",
        )
    )
    moved: dict[int, tuple[str, list[int]]] = {}
    for pk, version, status, hold_id, holder_id, held_since, viewer_ids in states:
        token = _row_token(version, status, hold_id, holder_id, held_since, viewer_ids or "")
        if known.get(pk) != token:
            moved[pk] = (token, sorted({int(user) for user in (viewer_ids or "").split(",") if user}))
    if not moved:
        return []
    orders = (
        Order.objects.filter(pk__in=id_set(moved))
        .select_related("status", "assignment__operator")
        .annotate(viewer_id=Value(viewer.pk, output_field=IntegerField()))
        .order_by()
    )
    names: dict[int, str] = {}
    wanted = {pk for _token, ids in moved.values() for pk in ids}
    if wanted:
        names = {user.pk: display_name(user) for user in get_user_model().objects.filter(pk__in=wanted)}
    model_admin = cast(OrderAdmin, admin.site.get_model_admin(Order))
    rows = [
        ListRow(
            order.pk,
            token,
            str(model_admin.assigned_to(order)),
            str(model_admin.status_badge(order)),
            [names[pk] for pk in moved[order.pk][1] if pk in names],
        )
        for order in orders
        for token in (moved[order.pk][0],)
    ]
    # Rendered from a read after the tokens: a change in between shows now and moves the token again, so the
    # next poll sends the row once more; it is never missed.
    return rows
