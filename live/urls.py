"""The live console's routes, under /admin/live/ (before the admin's own catch-all): presence heartbeats, the
poll endpoint, notifications."""

from django.urls import path  # noqa: F401

app_name = "live"

urlpatterns: list = []
