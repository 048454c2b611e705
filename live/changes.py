"""The change tokens: a fingerprint of what an open page shows that other people can change, so that an open
page learns whether anything moved with one indexed statement. State only: what a page shows after its token
moved is the console's (console/live_updates.py).

A token is compared with the current state by one indexed query, so that "nothing changed" costs one
statement however long the page has been open and whatever happened to other orders meanwhile. Comparing
state, not timestamps: a write that began before the page's last poll and committed after it moves the
state, and is seen by the next poll (a "changed since T" test would miss it for good), and the app servers'
clocks do not matter.

What moves what, as the rows keep it:
- edits, status changes (and so auto-releases), imports, scripts: every write of an order increments its
  `version` (orders.Order, invariant 9);
- hold changes (take, release, take-over, transfer, expiry): they touch neither `version` nor `updated_at`
  (the `held` marker is kept by triggers without either), but each writes exactly one assignment log row in
  its transaction (invariant 2), and the log and the comments are append-only: their counts per order only
  grow. The order page's token is therefore (version, log rows, comments) of the order, three lookups of one
  primary key and two index ranges (assignmentlog_order_idx, comment_timeline_idx); the page computes its
  first one from the timeline it rendered (no query of its own);
- the list's rows: (version, status, the hold's id, holder and start, the colleagues who have the order open
  now) per order, read with the holds by the page's order ids: primary-key lookups, one statement for 100
  rows. A row's token is a short hash of those; the first poll (the page rendered none, to keep the list's
  queries) fills every row.
"""

import hashlib
from dataclasses import dataclass

from django.db import connection
from django.db.models import CharField, OuterRef, StringAgg, Subquery, Value
from django.db.models.functions import Cast

from live.models import Notification, Presence
from live.presence import fresh_since
from operators.models import AssignmentLog
from orderops.db import id_set
from orderops.types import Actor
from orders.models import Order, OrderComment


def page_token(*, version: int, log_rows: int, comments: int) -> str:
    """The token of an order page as rendered: its version, and how many log rows and comments its timeline
    shows (the whole timeline: the page renders all of it)."""
    return f"{version}.{log_rows}.{comments}"


def order_token(order_id: int) -> str | None:
    """The order's token now, in one statement (None when the order does not exist)."""
    token, _unread = order_token_and_unread(order_id, recipient_id=None)
    return token


def order_token_and_unread(order_id: int, *, recipient_id: int | None) -> tuple[str | None, int | None]:
    """The order's token now (None when the order does not exist) and, for `recipient_id`, their unread
    notifications as the bell counts them (live.notifications.unread_count, through the unread rows' partial
    index): one statement for an open order page's changes and its bell."""
    order, log, comment = Order._meta.db_table, AssignmentLog._meta.db_table, OrderComment._meta.db_table
    notification = Notification._meta.db_table
    unread = (
        f"(SELECT COUNT(*) FROM {notification} n WHERE n.recipient_id = %s AND n.read_at IS NULL)"
        if recipient_id is not None
        else "NULL"
    )
    sql = (
        f"SELECT o.version, (SELECT COUNT(*) FROM {log} l WHERE l.order_id = o.id),"
        f" (SELECT COUNT(*) FROM {comment} c WHERE c.order_id = o.id), {unread}"
        f" FROM {order} o WHERE o.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [recipient_id, order_id] if recipient_id is not None else [order_id])
        row = cursor.fetchone()
    if row is None:
        return None, None
    return page_token(version=row[0], log_rows=row[1], comments=row[2]), row[3]


def token_log_rows(token: str) -> int | None:
    """How many log rows the page of `token` has seen (None for a token that is not one)."""
    try:
        _version, log_rows, _comments = (int(part) for part in token.split("."))
    except ValueError:
        return None
    return log_rows


@dataclass(frozen=True)
class RowState:
    """A list row's token now, and the colleagues (user ids) who have its order open."""

    token: str
    viewer_ids: list[int]


def _row_token(version: int, status: str, hold_id, holder_id, held_since, viewer_ids: list[int]) -> str:
    state = (
        version,
        status,
        hold_id or 0,
        holder_id or 0,
        held_since.isoformat() if held_since else "",
        ",".join(map(str, viewer_ids)),
    )
    return hashlib.blake2s(repr(state).encode(), digest_size=5).hexdigest()


def rows_moved(*, viewer: Actor, known: dict[int, str]) -> dict[int, RowState]:
    """The rows of `known` (order id → the token the page has, "" for none yet) whose token moved, with
    their new state: one statement reads the state of every row (version, status, hold, the colleagues who
    have it open) as plain values."""
    if not known:
        return {}
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
    moved: dict[int, RowState] = {}
    for pk, version, status, hold_id, holder_id, held_since, viewer_ids in states:
        ids = sorted({int(user) for user in (viewer_ids or "").split(",") if user})
        token = _row_token(version, status, hold_id, holder_id, held_since, ids)
        if known.get(pk) != token:
            moved[pk] = RowState(token, ids)
    return moved
