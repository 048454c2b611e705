"""Template tags that put the live console into the console's pages: the order page's presence, its signed tab
id and the settings live.js syncs with, and the order list's."""

from django import template
from django.utils.safestring import mark_safe

from console.live_updates import list_query, token_of_page
from live.presence import order_presence, tab_issue
from orderops.conf import orderops_setting

register = template.Library()

# An eye, drawn in the text's colour (no icon font, no request).
EYE_ICON = mark_safe(
    '<svg class="live-eye-icon" viewBox="0 0 24 24" width="16" height="16" aria-hidden="true"'
    ' focusable="false"><path fill="currentColor" d="M12 5C6.5 5 2.3 8.6 1 12c1.3 3.4 5.5 7 11 7s9.7-3.6'
    " 11-7c-1.3-3.4-5.5-7-11-7zm0 11.5a4.5 4.5 0 1 1 0-9 4.5 4.5 0 0 1 0 9zm0-2.5a2 2 0 1 0 0-4 2 2 0 0 0 0"
    ' 4z"/></svg>'
)


def _intervals() -> dict:
    return {
        "poll_interval": orderops_setting("LIVE_POLL_INTERVAL"),
        "heartbeat_interval": orderops_setting("LIVE_HEARTBEAT_INTERVAL"),
        "eye_icon": EYE_ICON,
    }


@register.inclusion_tag("console/live/order_page.html", takes_context=True)
def live_order_page(context) -> dict:
    """Who else has the order open (one query), the page's token for the poll (from the timeline the page
    rendered: no query), and this page's tab id, signed for the viewer and the order (presence comes only
    from pages the server rendered)."""
    order = context["original"]
    request = context["request"]
    return {
        "order": order,
        "presence": order_presence(order_id=order.pk, viewer=request.user),
        "token": token_of_page(order.version, context.get("timeline") or []),
        "tab": tab_issue(user=request.user, order_id=order.pk),
        # Read-only when loaded: the poll then says when the viewer may edit after all (a reload shows it).
        "editable": not context.get("read_only_reason"),
        "csrf_token": context.get("csrf_token"),
        **_intervals(),
    }


@register.inclusion_tag("console/live/order_list.html")
def live_order_list(cl) -> dict:
    """The list's settings, and its filters and search (its query without the sort and the page), with which
    the sync counts its results again (console/live_updates.py: list_result_count)."""
    return {**_intervals(), "list_query": list_query(cl.params)}
