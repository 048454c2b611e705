"""Presence: who has which order open, per browser tab, as state with a time-out (not a connection).

Each open order page sends a heartbeat every ORDEROPS["LIVE_HEARTBEAT_INTERVAL"] seconds while it is
visible; a tab whose last heartbeat is older than ORDEROPS["LIVE_PRESENCE_TIMEOUT"] counts as gone, whatever
happened to it (closed, asleep, its server killed). The rows live in the database, so every app server on
every host sees the same presence; a closing tab's "gone" is a courtesy that makes it disappear sooner.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AnonymousUser
from django.core import signing
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
from orders.results import Code, user_display_name

TAB_MAX_LENGTH: int = Presence._meta.get_field("tab").max_length or 64
# The signed tab id's salt: a signature made for anything else never passes for a tab id.
TAB_SALT = "orderops.live.tab"
# A signed tab id: the tab's own id (16 characters), the user's and the order's ids, and the signature.
SIGNED_TAB_MAX_LENGTH = 160


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
    """A heartbeat that cannot be recorded; the message names the order and the reason, `code` says which
    (invalid_input, not_allowed: a tab id this server did not issue, not_found, too_many: the person's tabs
    are at ORDEROPS["LIVE_TABS_PER_PERSON"])."""

    def __init__(self, message: str, code: Code = Code.INVALID_INPUT) -> None:
        super().__init__(message)
        self.code = code


def tab_issue(*, user: Actor, order_id: int) -> str:
    """A new tab id for one page of order `order_id` shown to `user`, signed by the server: presence comes
    only from pages the server rendered (a heartbeat with any other id is refused by tab_read), and a tab id
    is good for its person and its order only."""
    tab = secrets.token_urlsafe(12)
    return signing.Signer(salt=TAB_SALT).sign(f"{tab}.{user.pk}.{order_id}")


def tab_read(signed: str, *, user: Actor, order_id: int) -> str:
    """The tab's own id in `signed`, when this server issued it for `user` and order `order_id`; otherwise
    PresenceRefused, naming the order and the reason."""
    if refusal := tab_refusal(signed):
        raise PresenceRefused(_("Order %(order)s: %(why)s.") % {"order": order_id, "why": refusal})
    try:
        value = signing.Signer(salt=TAB_SALT).unsign(signed)
    except signing.BadSignature:
        value = ""
    tab, _dot, owner = value.partition(".")
    if not tab or owner != f"{user.pk}.{order_id}":
        raise PresenceRefused(
            _(
                "Order %(order)s: this tab id was not issued to you for this order by the console; reload "
                "the order's page."
            )
            % {"order": order_id},
            Code.NOT_ALLOWED,
        )
    return tab


def _upsert_sql() -> str:
    # One statement on PostgreSQL and SQLite alike: the row of this (user, tab) is inserted, or moved to
    # this order and refreshed; the SELECT from the orders table inserts nothing for an order that does not
    # exist, nor while the user has as many other fresh tabs as they may (so the caller learns either from
    # the row count, with no query of its own on the way that succeeds; the count reads the user's rows
    # through the (user, tab) index). opened_at is kept while the tab stays on the same order. Both
    # databases evaluate SET against the row as it was.
    presence, order = Presence._meta.db_table, Order._meta.db_table
    return (
        f"INSERT INTO {presence} (tab, user_id, order_id, state, opened_at, seen_at)"
        f" SELECT %s, %s, o.id, %s, %s, %s FROM {order} o WHERE o.id = %s"
        f" AND (SELECT COUNT(*) FROM {presence} p WHERE p.user_id = %s AND p.tab <> %s AND p.seen_at >= %s)"
        " < %s"
        " ON CONFLICT (user_id, tab) DO UPDATE SET"
        f" opened_at = CASE WHEN {presence}.order_id = excluded.order_id"
        f" THEN {presence}.opened_at ELSE excluded.opened_at END,"
        " order_id = excluded.order_id, state = excluded.state, seen_at = excluded.seen_at"
        # Whether the tab is new on this order (inserted, or moved here from another order): only then may
        # there be expired rows to prune (a closed tab's row ages on its order until a new tab arrives).
        + (" RETURNING opened_at = seen_at" if connection.features.can_return_columns_from_insert else "")
    )


def tab_refusal(signed: str) -> str:
    """Why `signed` is not a usable tab id at all ("" when it may be one): the console issues them short and
    plain (tab_issue)."""
    if (
        not signed
        or len(signed) > SIGNED_TAB_MAX_LENGTH
        or not all(ch.isascii() and (ch.isalnum() or ch in "-_.:") for ch in signed)
    ):
        return _("the tab id must be 1 to %(max)s letters, digits, '-', '_', '.' or ':'") % {
            "max": SIGNED_TAB_MAX_LENGTH
        }
    return ""


def presence_heartbeat(
    *, user: Actor, tab: str, order_id: int, editing: bool, at: datetime | None = None
) -> None:
    """Record that `user` has order `order_id` open in browser tab `tab` (the tab's own id, as tab_read
    returns it from the signed one; viewing, or editing once they typed), and forget expired tabs of this
    user and of this order when the tab is new on the order. One statement for a tab's repeated heartbeat,
    whatever the table's size: the upsert (on PostgreSQL in a short transaction with `SET LOCAL
    synchronous_commit TO off`). A tab new on the order adds a delete through the (user, tab) and (order,
    seen_at) indexes in a transaction of its own (two heartbeats pruning each other's expired rows cannot
    deadlock): rows expire when tabs close, and tabs open as often, so the table stays as small as when
    every heartbeat pruned; the reads skip expired rows anyway. A new tab beyond
    ORDEROPS["LIVE_TABS_PER_PERSON"] fresh ones of the same person is refused (too_many); two of their
    heartbeats for new tabs at the very same moment may both pass the count, so the cap holds within one."""
    if not tab or len(tab) > TAB_MAX_LENGTH:
        raise PresenceRefused(
            _("Order %(order)s: the tab id must be 1 to %(max)s characters.")
            % {"order": order_id, "max": TAB_MAX_LENGTH}
        )
    now = at or timezone.now()
    cap = orderops_setting("LIVE_TABS_PER_PERSON")
    state = Presence.State.EDITING if editing else Presence.State.VIEWING
    when, fresh = db_datetime(now), db_datetime(fresh_since(now))
    # A heartbeat lost in a crash of the database server is repeated by the next one: its commits need not
    # wait for the disk, and so do not queue behind the holds' and the comments' (about 5 heartbeats a
    # second per 100 open tabs).
    with commits_not_waiting_for_disk():
        with connection.cursor() as cursor:
            cursor.execute(
                _upsert_sql(),
                [tab, user.pk, str(state), when, when, order_id, user.pk, tab, fresh, cap],
            )
            if cursor.description is not None:  # RETURNING: a row when recorded (SQLite counts after a fetch)
                returned = cursor.fetchone()
                recorded, new_on_order = returned is not None, bool(returned and returned[0])
            else:
                recorded, new_on_order = cursor.rowcount > 0, True
        if not recorded:
            if Order.objects.filter(pk=order_id).exists():
                raise PresenceRefused(
                    _(
                        "Order %(order)s: you have the console open in %(count)s tabs, the most presence "
                        "counts for one person; close one of them."
                    )
                    % {"order": order_id, "count": cap},
                    Code.TOO_MANY,
                )
            raise PresenceRefused(
                _("Order %(order)s does not exist (deleted?).") % {"order": order_id}, Code.NOT_FOUND
            )
    if not new_on_order:
        return
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
