"""The console's navigation: the saved queues, with their counts filled in by console.js; the header's
language and time zone menu."""

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils import timezone, translation

from console.preferences import options_html, session_preference
from console.queues import QUEUES

register = template.Library()


@register.inclusion_tag("console/queues.html", takes_context=True)
def console_queues(context) -> dict:
    return _queues(context)


@register.inclusion_tag("console/queue_bar.html", takes_context=True)
def console_queue_bar(context) -> dict:
    """The queues again, as a bar above the list, for phones (where the navigation is hidden)."""
    return _queues(context)


def _queues(context) -> dict:
    request = context.get("request")
    current = ""
    if request is not None and request.path == reverse("admin:orders_order_changelist"):
        asked = {
            key: value
            for key, value in request.GET.items()
            if key not in ("o", "p", "q", "_changelist_filters")
        }
        current = next((queue.key for queue in QUEUES if queue.params == asked), "")
    return {"queues": QUEUES, "current": current, "counts_url": reverse("admin:orders_order_queues")}


@register.inclusion_tag("console/preferences_menu.html", takes_context=True)
def preference_menu(context) -> dict:
    """The header's menu: the viewer's language and time zone, and the form that changes them (no query: the
    choice is in the session)."""
    request = context["request"]
    chosen = session_preference(request)
    return {
        "language_options": options_html("language", chosen.language),
        "zone_options": options_html("time_zone", chosen.time_zone),
        "next": request.get_full_path(),
        "language": translation.get_language_info(translation.get_language() or settings.LANGUAGE_CODE),
        "zone": timezone.get_current_timezone_name().replace("_", " "),
        "save_url": reverse("console_preferences"),
    }
