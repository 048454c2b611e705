"""Presence: who has which order open, per browser tab, as state with a time-out (not a connection).

Each open order page sends a heartbeat every ORDEROPS["LIVE_HEARTBEAT_INTERVAL"] seconds while it is
visible; a tab whose last heartbeat is older than ORDEROPS["LIVE_PRESENCE_TIMEOUT"] counts as gone, whatever
happened to it (closed, asleep, its server killed). The rows live in the database, so every app server on
every host sees the same presence; a closing tab's "gone" is a courtesy that makes it disappear sooner.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AnonymousUser
from django.db import connection
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from live.models import Presence
from orderops.conf import orderops_setting
from orderops.db import commits_not_waiting_for_disk, db_datetime
from orderops.types import Actor
from orders.models import Order
from orders.results import user_display_name

TAB_MAX_LENGTH: int = Presence._meta.get_field("tab").max_length or 64


def presence_timeout() -> timedelta:
    return timedelta(seconds=orderops_setting("LIVE_PRESENCE_TIMEOUT"))


def fresh_since(now: datetime | None = None) -> datetime:
    """The oldest heartbeat that still counts: anything older is a tab that has gone."""
    return (now or timezone.now()) - presence_timeout()


@dataclass(frozen=True)
class Present:
    """One colleague on one order: their name and whether any of their tabs is editing it."""

    user_id: int
    name: str
    editing: bool


@dataclass(frozen=True)
class OrderPresence:
    """Who else has one order open, and in how many tabs the viewer has it open."""

    others: list[Present]
    my_tabs: int

    def sentence(self) -> str:
        """ "Ivan is viewing · Maria is editing"; empty when nobody else is there."""
        return " · ".join(
            (_("%(name)s is editing") if person.editing else _("%(name)s is viewing")) % {"name": person.name}
            for person in self.others
        )

    def tabs_sentence(self) -> str:
        """ "You have this order open in 2 tabs"; empty for one tab (the page itself)."""
        if self.my_tabs < 2:
            return ""
        return ngettext(
            "You have this order open in %(count)s tab.",
            "You have this order open in %(count)s tabs.",
            self.my_tabs,
        ) % {"count": self.my_tabs}

    def as_dict(self) -> dict:
        return {
            "others": [
                {"name": person.name, "state": "editing" if person.editing else "viewing"}
                for person in self.others
            ],
            "my_tabs": self.my_tabs,
            "text": self.sentence(),
            "tabs_text": self.tabs_sentence(),
        }


class PresenceRefused(Exception):
    """A heartbeat that cannot be recorded; the message names the order and the reason."""


def _upsert_sql() -> str:
    # One statement on PostgreSQL and SQLite alike: the row of this (user, tab) is inserted, or moved to
    # this order and refreshed; the SELECT from the orders table inserts nothing for an order that does not
    # exist (so the caller learns it from the row count, with no query of its own). opened_at is kept while
    # the tab stays on the same order. Both databases evaluate SET against the row as it was.
    presence, order = Presence._meta.db_table, Order._meta.db_table
    return (
        f"INSERT INTO {presence} (tab, user_id, order_id, state, opened_at, seen_at)"
        f" SELECT %s, %s, o.id, %s, %s, %s FROM {order} o WHERE o.id = %s"
        " ON CONFLICT (user_id, tab) DO UPDATE SET"
        f" opened_at = CASE WHEN {presence}.order_id = excluded.order_id"
        f" THEN {presence}.opened_at ELSE excluded.opened_at END,"
        " order_id = excluded.order_id, state = excluded.state, seen_at = excluded.seen_at"
    )


def tab_refusal(tab: str) -> str:
    """Why `tab` is not a usable tab id ("" when it is): the browser makes one per tab, short and plain."""
    if (
        not tab
        or len(tab) > TAB_MAX_LENGTH
        or not all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in tab)
    ):
        return _("the tab id must be 1 to %(max)s letters, digits, '-' or '_'") % {"max": TAB_MAX_LENGTH}
    return ""


def presence_heartbeat(
    *, user: Actor, tab: str, order_id: int, editing: bool, at: datetime | None = None
) -> None:
    """Record that `user` has order `order_id` open in browser tab `tab` (viewing, or editing once they
    typed), and forget expired tabs of this user and of this order. Two statements, whatever the table's
    size: the upsert (on PostgreSQL in a short transaction with `SET LOCAL synchronous_commit TO off`), and
    a delete through the (user, tab) and (order, seen_at) indexes. A prune that did not happen is done by the
    next heartbeat."""
    if refusal := tab_refusal(tab):
        raise PresenceRefused(_("Order %(order)s: %(why)s.") % {"order": order_id, "why": refusal})
    now = at or timezone.now()
    state = Presence.State.EDITING if editing else Presence.State.VIEWING
    when = db_datetime(now)
    # A heartbeat lost in a crash of the database server is repeated by the next one: its commits need not
    # wait for the disk, and so do not queue behind the holds' and the comments' (about 5 heartbeats a
    # second per 100 open tabs).
    with commits_not_waiting_for_disk():
        with connection.cursor() as cursor:
            cursor.execute(_upsert_sql(), [tab, user.pk, str(state), when, when, order_id])
            recorded = cursor.rowcount
        if recorded == 0:
            raise PresenceRefused(_("Order %(order)s does not exist (deleted?).") % {"order": order_id})
    # The prune in a transaction of its own: a heartbeat never keeps its row locked while its prune waits for
    # another heartbeat's. A prune that finds nothing to delete writes nothing and so waits for no disk.
    Presence.objects.filter(Q(user_id=user.pk) | Q(order_id=order_id), seen_at__lt=fresh_since(now)).delete()


def presence_gone(*, user: Actor, tab: str) -> int:
    """The tab closed (a best-effort beacon): forget its presence now rather than after the time-out."""
    deleted, _by_model = Presence.objects.filter(user_id=user.pk, tab=tab).delete()
    return deleted


def order_presence(*, order_id: int, viewer: Actor, now: datetime | None = None) -> OrderPresence:
    """Who has the order open right now besides `viewer`, and in how many tabs `viewer` has it open. One
    query through the (order, seen_at) index."""
    rows = (
        Presence.objects.filter(order_id=order_id, seen_at__gte=fresh_since(now))
        .select_related("user")
        .order_by("opened_at", "id")
    )
    others: dict[int, Present] = {}
    my_tabs = 0
    for row in rows:
        if row.user_id == viewer.pk:
            my_tabs += 1
            continue
        editing = row.state == Presence.State.EDITING
        known = others.get(row.user_id)
        others[row.user_id] = Present(
            row.user_id, user_display_name(row.user), editing or (known is not None and known.editing)
        )
    return OrderPresence(list(others.values()), my_tabs)


def orders_in_view(*, excluding: Actor | AnonymousUser, now: datetime | None = None) -> list[int]:
    """The orders a colleague of `excluding` has open right now (for "Get next order" to pass over). The
    table holds one row per recently open tab, so this reads a few hundred rows at most."""
    fresh = Presence.objects.filter(seen_at__gte=fresh_since(now))
    if excluding.pk is not None:
        fresh = fresh.exclude(user_id=excluding.pk)
    return list(fresh.values_list("order_id", flat=True).distinct())
