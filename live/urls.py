"""The live console's routes, under /admin/live/ (before the admin's own catch-all): presence heartbeats, the
poll endpoint, notifications."""

from django.contrib import admin
from django.urls import path

from live import notification_views, views

app_name = "live"

urlpatterns: list = [
    path("heartbeat", views.heartbeat, name="heartbeat"),
    path("poll", views.poll, name="poll"),
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
