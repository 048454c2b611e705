"""The live console's routes, under /admin/live/ (before the admin's own catch-all): the one request an open
page makes per interval (sync), the heartbeat and the poll it merged, notifications. The namespace stays
`live` (the URL names and paths are a contract: tests, scripts and the page's script use them)."""

from django.contrib import admin
from django.urls import path

from console import live_views, notification_views

app_name = "live"

urlpatterns: list = [
    path("sync", live_views.sync, name="sync"),
    path("heartbeat", live_views.heartbeat, name="heartbeat"),
    path("poll", live_views.poll, name="poll"),
    # Notifications: the console's list, the bell's count, the read buttons, each person's email settings.
    path(
        "notifications/",
        admin.site.admin_view(notification_views.notifications_page),
        name="notifications",
    ),
    path(
        "notifications/unread",
        admin.site.admin_view(notification_views.notifications_unread),
        name="notifications_unread",
    ),
    path(
        "notifications/read-all",
        admin.site.admin_view(notification_views.notifications_read_all),
        name="notifications_read_all",
    ),
    path(
        "notifications/<int:notification_id>/read",
        admin.site.admin_view(notification_views.notification_read),
        name="notification_read",
    ),
    path(
        "notifications/settings",
        admin.site.admin_view(notification_views.notification_settings),
        name="notification_settings",
    ),
]
