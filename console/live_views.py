"""The live console's endpoints: one request per open tab per interval (`sync`), and the single-purpose ones
it merged (heartbeat, poll; the bell's count is console/notification_views.py, the queue counts
console/views.py), kept for scripts and the benchmark. All need a logged-in, active staff user who may view
orders (the rule book's comment rule: whoever may view orders), answer JSON, and are never cached.

GET or POST /admin/live/sync  (name live:sync; a POST is form-encoded with the CSRF token, as any admin POST)
    One tick of an open console page: every part it asks for, answered together. A GET changes nothing; the
    only thing a POST writes is the presence heartbeat (its tab's one row).
    Presence (POST only; the order page):  tab=<the signed tab id the page was rendered with>, order=<id>,
        state=viewing|editing|gone
    The order page's changes:  order=<id>, version=<the version its form was loaded at>, token=<the page's>
    The list's rows:  orders=<id>.<token>,<id>.<token>,...  (at most POLL_MAX_ORDERS)
    The bell:  bell=1        The navigation's queue counts:  queues=1
    The list's "N results" line:  list=<the list's filters and search, as its query string>, counted again
        whenever the queue counts are answered (a list that is one of the queues takes its queue's count)
    200 {"presence": as the heartbeat's, or absent; "page": as the poll's 200 answer, or null when nothing
         on the page changed; "rows": the moved rows (as the poll's list answer); "unread": n (with bell=1,
         and whenever "page" carries a notice: the bell counts it at once); "queues": {key: {count,
         estimated}} (with queues=1, and whenever a row the page had a token for moved); "result_count":
         {"count", "estimated", "results": "94 results", "orders": "94 orders"} (with list=, whenever
         "queues" is answered); "interval": s}
         A tab beyond the person's ORDEROPS["LIVE_TABS_PER_PERSON"] gets the other parts, and
         "presence_refused": {"error": "too_many", "message"} instead of "presence" (nothing recorded).
    400 bad parameters; 403 not staff, may not view orders, or a tab id this server did not issue for this
    person and order; 404 the order is gone; 405 a heartbeat on GET. Errors are {"error": code, "message"}.
    Queries (an order page's tick, nothing changed, with the bell): session, user, the user's permissions
    (2), the upsert (a tab new on the order adds the prune), the presence, the token with the bell's count:
    7 (PostgreSQL: 10, the heartbeat's BEGIN, SET LOCAL synchronous_commit and COMMIT). The queue counts add
    theirs once per ORDEROPS["QUEUE_COUNTS_SHARED_FOR"] seconds for every tab (console/queues.py).

POST /admin/live/heartbeat  (name live:heartbeat)  tab, order, state as above
    200 {"order": id, "presence": {"others": [{"name", "state"}], "my_tabs": n, "text": "Ivan is viewing ·
         Maria is editing", "tabs_text": "You have this order open in 2 tabs."}, "heartbeat_interval": s,
         "presence_timeout": s}; for "gone": {"order": id, "gone": true}
    400, 403, 404 as above; 429 the person's tabs are at ORDEROPS["LIVE_TABS_PER_PERSON"].

GET /admin/live/poll  (name live:poll)  the order page's or the list's parameters, as above
    304 (empty body) when nothing changed since the token(s): one indexed statement.
    200 the order page: {"token", "version", "banner": the hold banner's HTML, "timeline": the timeline's
        <li>s, "editable": bool, "read_only_reason", "changed": who changed what since `version` ("" if
        nobody), "notice": who ended the viewer's hold and why ("" if nobody)}; the list: {"rows": [{"id",
        "token", "assigned_to": the cell's HTML, "status": the cell's HTML, "viewers": [names of colleagues
        who have the order open], "viewers_text"}]}: only moved rows.

How a change is found with one statement: live/changes.py; what a moved page shows: console/live_updates.py.
"""

import functools
from dataclasses import dataclass
from typing import cast

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified, JsonResponse, QueryDict
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from console.live_updates import (
    ListCount,
    ListQueryRefused,
    OrderPageUpdate,
    list_result_count,
    list_rows_moved,
    order_page_moved,
)
from console.queues import queue_counts, queue_of
from live import changes
from live.notifications import unread_count
from live.presence import (
    PresenceRefused,
    order_presence,
    presence_gone,
    presence_heartbeat,
    tab_read,
)
from operators import rules
from orderops.conf import orderops_setting
from orderops.types import Actor
from orders.results import Code

# The most orders one list poll may name: a list page shows at most a few hundred.
POLL_MAX_ORDERS = 500
STATES = ("viewing", "editing", "gone")
REFUSED_STATUS = {Code.INVALID_INPUT: 400, Code.NOT_ALLOWED: 403, Code.NOT_FOUND: 404, Code.TOO_MANY: 429}


class BadParameters(Exception):
    """A request whose parameters are not what the endpoint takes: answered 400, nothing done."""


def _problem(status: int, code: str, message: str) -> JsonResponse:
    return JsonResponse({"error": code, "message": message}, status=status)


def staff_json(view):
    """The console's own users only, refused in JSON (no login redirect for a script to follow)."""

    @functools.wraps(view)
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        user = request.user
        if not (user.is_authenticated and user.is_active and user.is_staff):
            return _problem(403, "not_allowed", _("Log in to the console first."))
        refusal = rules.view_refusal(user)
        if refusal is not None:
            return _problem(403, str(refusal.code), refusal.message)
        try:
            return view(request, *args, **kwargs)
        except BadParameters as bad:
            return _problem(400, "invalid_input", str(bad))
        except PresenceRefused as refused:
            return _problem(REFUSED_STATUS.get(refused.code, 400), str(refused.code), str(refused))

    return guarded


def _user(request: HttpRequest) -> Actor:
    """The user that staff_json let through."""
    return cast(Actor, request.user)


def _order_id(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isascii() and raw.isdigit() and len(raw) < 19 else None


# --- the parts of a tick ------------------------------------------------------------------------------------


def _heartbeat(request: HttpRequest, params: QueryDict) -> dict:
    """Record the tab's presence (or forget it: "gone") and answer the order's presence."""
    order_id = _order_id(params.get("order"))
    state = params.get("state", "viewing")
    if order_id is None:
        raise BadParameters(_("The heartbeat names no order: send order=<the order's id>."))
    if state not in STATES:
        raise BadParameters(
            _("Order %(order)s: the state must be viewing, editing or gone, not %(state)r.")
            % {"order": order_id, "state": state[:32]}
        )
    tab = tab_read(params.get("tab", ""), user=_user(request), order_id=order_id)
    if state == "gone":
        presence_gone(user=_user(request), tab=tab)
        return {"order": order_id, "gone": True}
    presence_heartbeat(user=_user(request), tab=tab, order_id=order_id, editing=state == "editing")
    return {"order": order_id, "presence": order_presence(order_id=order_id, viewer=_user(request)).as_dict()}


@dataclass(frozen=True)
class PageAsked:
    order_id: int
    version: int
    token: str


def _page_asked(params: QueryDict) -> PageAsked:
    order_id = _order_id(params.get("order"))
    version = _order_id(params.get("version"))
    if order_id is None or version is None:
        raise BadParameters(
            _("Order %(order)s: the poll needs the order's id and the version the page loaded.")
            % {"order": params.get("order", "")[:20]}
        )
    return PageAsked(order_id, version, params.get("token", ""))


def _page_changes(
    request: HttpRequest, asked: PageAsked, *, bell: dict | None = None
) -> OrderPageUpdate | None:
    """What moved on the order page since its token; None when nothing did (one indexed statement). With
    `bell`, the same statement counts the viewer's unread notifications into bell["unread"]."""
    token, unread = changes.order_token_and_unread(
        asked.order_id, recipient_id=request.user.pk if bell is not None else None
    )
    if bell is not None:
        bell["unread"] = unread
    if token is None:
        raise PresenceRefused(
            _("Order %(order)s does not exist (deleted?).") % {"order": asked.order_id}, Code.NOT_FOUND
        )
    if token == asked.token:
        return None
    return order_page_moved(
        request, order_id=asked.order_id, since_token=asked.token, loaded_version=asked.version, token=token
    )


def _list_known(params: QueryDict) -> dict[int, str]:
    known: dict[int, str] = {}
    for item in params.get("orders", "").split(","):
        if not item:
            continue
        raw_id, _dot, token = item.partition(".")
        order_id = _order_id(raw_id)
        if order_id is None:
            raise BadParameters(_("Order %(order)s: not an order id.") % {"order": raw_id[:20]})
        known[order_id] = token[:32]
    if len(known) > POLL_MAX_ORDERS:
        raise BadParameters(
            _("A poll may name at most %(max)s orders; this one names %(count)s.")
            % {"max": POLL_MAX_ORDERS, "count": len(known)}
        )
    return known


def sync_interval() -> float:
    """Seconds between an open page's ticks: the shortest of the parts' intervals (each part rides along on
    the tick at which waiting for the next one would make it late: live.js)."""
    return min(
        orderops_setting("LIVE_POLL_INTERVAL"),
        orderops_setting("LIVE_HEARTBEAT_INTERVAL"),
        orderops_setting("NOTIFICATION_BELL_INTERVAL"),
        orderops_setting("QUEUE_COUNTS_INTERVAL"),
    )


# --- the endpoints ------------------------------------------------------------------------------------------


@never_cache
@require_http_methods(["GET", "POST"])
@staff_json
def sync(request: HttpRequest) -> HttpResponse:
    params = request.POST if request.method == "POST" else request.GET
    answer: dict = {"interval": sync_interval()}
    if "tab" in params:
        if request.method != "POST":
            response = _problem(
                405, "not_allowed", _("A heartbeat changes presence: send it with POST, not GET.")
            )
            response["Allow"] = "POST"
            return response
        try:
            answer.update(_heartbeat(request, params))
        except PresenceRefused as refused:
            if refused.code != Code.TOO_MANY:
                raise
            # One tab too many of this person: it counts in nobody's presence, and its page still follows
            # the order, the bell and the counts.
            answer["presence_refused"] = {"error": str(refused.code), "message": str(refused)}
    bell: dict = {}
    if "version" in params or ("order" in params and "tab" not in params):
        # The bell's count rides in the page's change check: one statement for both.
        page = _page_changes(request, _page_asked(params), bell=bell if params.get("bell") == "1" else None)
        answer["page"] = page.as_dict() if page is not None else None
    queues = params.get("queues") == "1"
    seen_row_moved = False
    if "orders" in params:
        known = _list_known(params)
        rows = list_rows_moved(viewer=_user(request), known=known)
        answer["rows"] = [row.as_dict() for row in rows]
        # A row the page had seen changed holder or status: the navigation's counts follow at once, counted
        # now (the shared ones may be from before the change).
        seen_row_moved = any(known.get(row.order_id) for row in rows)
        queues = queues or seen_row_moved
    # After the page's changes: a notice of a take-over is counted by the bell in the same answer (the notice
    # and its notification are written in one transaction: a count read with the token includes it).
    if "unread" in bell:
        answer["unread"] = bell["unread"]
    elif params.get("bell") == "1" or (answer.get("page") or {}).get("notice"):
        answer["unread"] = unread_count(_user(request))
    if queues:
        answer["queues"] = queue_counts(request.user, fresh=seen_row_moved)
        # The list's "N results" line follows with the counts, as its rows do.
        if "list" in params:
            answer["result_count"] = _result_count(request, params["list"], answer["queues"])
    return JsonResponse(answer)


def _result_count(request: HttpRequest, query: str, queues: dict[str, dict]) -> dict:
    """The list's count: its queue's, just counted, when the list is one of the navigation's queues (no
    query more); otherwise its own filters and search counted again."""
    queue = queue_of(QueryDict(query))
    if queue is not None:
        return ListCount(queues[queue.key]["count"], queues[queue.key]["estimated"]).as_dict()
    try:
        return list_result_count(request, query[:2000]).as_dict()
    except ListQueryRefused:
        raise BadParameters(
            _("The list's filters %(query)s are not ones the order list takes.") % {"query": query[:100]}
        ) from None


@never_cache
@require_POST
@staff_json
def heartbeat(request: HttpRequest) -> HttpResponse:
    answer = _heartbeat(request, request.POST)
    if "presence" in answer:
        answer["heartbeat_interval"] = orderops_setting("LIVE_HEARTBEAT_INTERVAL")
        answer["presence_timeout"] = orderops_setting("LIVE_PRESENCE_TIMEOUT")
    return JsonResponse(answer)


@never_cache
@require_GET
@staff_json
def poll(request: HttpRequest) -> HttpResponse:
    if "order" in request.GET:
        page = _page_changes(request, _page_asked(request.GET))
        return HttpResponseNotModified() if page is None else JsonResponse(page.as_dict())
    if "orders" in request.GET:
        rows = list_rows_moved(viewer=_user(request), known=_list_known(request.GET))
        if not rows:
            return HttpResponseNotModified()
        return JsonResponse({"rows": [row.as_dict() for row in rows]})
    raise BadParameters(_("The poll names no order: send order=<id> or orders=<id>.<token>,…"))
