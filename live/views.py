"""The live console's two endpoints: presence heartbeats and the poll for changes. Both need a logged-in,
active staff user who may view orders (the rule book's comment rule: whoever may view orders), answer JSON,
and are never cached.

POST /admin/live/heartbeat  (name live:heartbeat; form-encoded, with the CSRF token as for any admin POST)
    tab    the browser tab's id: 1-64 of A-Z a-z 0-9 - _ (live.js keeps one per tab in sessionStorage)
    order  the id of the order the tab shows
    state  "viewing", "editing" (the user typed into the order form or a comment box), or "gone" (the tab is
           closing: navigator.sendBeacon; best effort, the time-out is what makes presence right)
    200 {"order": id, "presence": {"others": [{"name", "state"}], "my_tabs": n, "text": "Ivan is viewing ·
         Maria is editing", "tabs_text": "You have this order open in 2 tabs."}, "heartbeat_interval": s,
         "presence_timeout": s}; for "gone": {"order": id, "gone": true}
    400 {"error": code, "message"} bad input; 403 not staff or may not view orders; 404 no such order.
    Queries: session, user, the user's permissions (2), the upsert, the prune of expired tabs, the presence.

GET /admin/live/poll  (name live:poll)
    The order page:  ?order=<id>&version=<the version its form was loaded at>&token=<the page's token>
        304 (empty body) when nothing on the page changed since `token`: one indexed statement.
        200 {"token", "version", "banner": the hold banner's HTML, "timeline": the timeline's <li>s,
             "editable": bool, "read_only_reason", "changed": who changed what since `version` ("" if
             nobody), "notice": who ended the viewer's hold and why ("" if nobody)}
    The list:  ?orders=<id>.<token>,<id>.<token>,...  (at most POLL_MAX_ORDERS; an empty token, "17.", for
             a row the page has none for yet: the first poll after the list loads)
        304 (empty body) when no row's token moved: one statement for the whole page.
        200 {"rows": [{"id", "token", "assigned_to": the cell's HTML, "status": the cell's HTML,
             "viewers": [names of colleagues who have the order open], "viewers_text"}]}: only moved rows.
    400 bad parameters; 403 as above; 404 the order page's order is gone.
    Queries (unchanged): session, user, the user's permissions (2), the token statement.

How a change is found with one statement, and why that catches edits, status changes, imports and hold
changes alike: live/changes.py.
"""

import functools
from typing import cast

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from live import changes
from live.presence import (
    PresenceRefused,
    order_presence,
    presence_gone,
    presence_heartbeat,
    tab_refusal,
)
from operators import rules
from orderops.conf import orderops_setting
from orderops.types import Actor

# The most orders one list poll may name: a list page shows at most a few hundred.
POLL_MAX_ORDERS = 500
STATES = ("viewing", "editing", "gone")


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
        return view(request, *args, **kwargs)

    return guarded


def _user(request: HttpRequest) -> Actor:
    """The user that staff_json let through."""
    return cast(Actor, request.user)


def _order_id(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isascii() and raw.isdigit() and len(raw) < 19 else None


@never_cache
@require_POST
@staff_json
def heartbeat(request: HttpRequest) -> HttpResponse:
    order_id = _order_id(request.POST.get("order"))
    state = request.POST.get("state", "viewing")
    if order_id is None:
        return _problem(400, "invalid_input", _("The heartbeat names no order: send order=<the order's id>."))
    if state not in STATES:
        return _problem(
            400,
            "invalid_input",
            _("Order %(order)s: the state must be viewing, editing or gone, not %(state)r.")
            % {"order": order_id, "state": state[:32]},
        )
    tab = request.POST.get("tab", "")
    if state == "gone":
        presence_gone(user=_user(request), tab=tab)
        return JsonResponse({"order": order_id, "gone": True})
    try:
        presence_heartbeat(user=_user(request), tab=tab, order_id=order_id, editing=state == "editing")
    except PresenceRefused as refused:
        status = 400 if tab_refusal(tab) else 404
        return _problem(status, "invalid_input" if status == 400 else "not_found", str(refused))
    presence = order_presence(order_id=order_id, viewer=_user(request))
    return JsonResponse(
        {
            "order": order_id,
            "presence": presence.as_dict(),
            "heartbeat_interval": orderops_setting("LIVE_HEARTBEAT_INTERVAL"),
            "presence_timeout": orderops_setting("LIVE_PRESENCE_TIMEOUT"),
        }
    )


@never_cache
@require_GET
@staff_json
def poll(request: HttpRequest) -> HttpResponse:
    if "order" in request.GET:
        return _poll_order(request)
    if "orders" in request.GET:
        return _poll_list(request)
    return _problem(
        400, "invalid_input", _("The poll names no order: send order=<id> or orders=<id>.<token>,…")
    )


def _poll_order(request: HttpRequest) -> HttpResponse:
    order_id = _order_id(request.GET.get("order"))
    version = _order_id(request.GET.get("version"))
    if order_id is None or version is None:
        return _problem(
            400,
            "invalid_input",
            _("Order %(order)s: the poll needs the order's id and the version the page loaded.")
            % {"order": request.GET.get("order", "")[:20]},
        )
    since = request.GET.get("token", "")
    token = changes.order_token(order_id)
    if token is None:
        return _problem(
            404, "not_found", _("Order %(order)s does not exist (deleted?).") % {"order": order_id}
        )
    if token == since:
        return HttpResponseNotModified()
    update = changes.order_page_changes(
        request, order_id=order_id, since_token=since, loaded_version=version, token=token
    )
    return JsonResponse(update.as_dict())


def _poll_list(request: HttpRequest) -> HttpResponse:
    known: dict[int, str] = {}
    for item in request.GET.get("orders", "").split(","):
        if not item:
            continue
        raw_id, _dot, token = item.partition(".")
        order_id = _order_id(raw_id)
        if order_id is None:
            return _problem(
                400, "invalid_input", _("Order %(order)s: not an order id.") % {"order": raw_id[:20]}
            )
        known[order_id] = token[:32]
    if len(known) > POLL_MAX_ORDERS:
        return _problem(
            400,
            "invalid_input",
            _("A poll may name at most %(max)s orders; this one names %(count)s.")
            % {"max": POLL_MAX_ORDERS, "count": len(known)},
        )
    rows = changes.list_rows_changed(viewer=_user(request), known=known)
    if not rows:
        return HttpResponseNotModified()
    return JsonResponse({"rows": [row.as_dict() for row in rows]})
