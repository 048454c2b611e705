"""The console header's notification bell: a link to the notifications page whose count bell.js fills."""

from django import template
from django.urls import reverse

from orderops.conf import orderops_setting

register = template.Library()


@register.inclusion_tag("live/notifications/bell.html")
def notification_bell() -> dict:
    """No query: the page renders the bell empty and bell.js fetches the count at once, then every
    ORDEROPS["NOTIFICATION_BELL_INTERVAL"] seconds while the tab is visible."""
    return {
        "notifications_url": reverse("live:notifications"),
        "unread_url": reverse("live:notifications_unread"),
        "interval": orderops_setting("NOTIFICATION_BELL_INTERVAL"),
    }
