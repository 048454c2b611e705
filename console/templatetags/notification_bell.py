"""The console header's notification bell, and the settings of the page's one live request per interval
(live:sync, which fills the bell's count, the navigation's queue counts and the open page's changes)."""

from django import template
from django.urls import reverse

from console.live_views import sync_interval
from orderops.conf import orderops_setting

register = template.Library()


@register.inclusion_tag("console/notifications/bell.html")
def notification_bell() -> dict:
    """No query: the page renders the bell empty and live.js's first live:sync fills the count at once, then
    every ORDEROPS["NOTIFICATION_BELL_INTERVAL"] seconds while the tab is visible."""
    return {
        "notifications_url": reverse("live:notifications"),
        "unread_url": reverse("live:notifications_unread"),
        "sync_url": reverse("live:sync"),
        "interval": sync_interval(),
        "bell_interval": orderops_setting("NOTIFICATION_BELL_INTERVAL"),
        "queues_interval": orderops_setting("QUEUE_COUNTS_INTERVAL"),
    }
