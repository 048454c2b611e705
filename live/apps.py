"""App config for the live console: presence, live updates and notifications (state in the database,
browsers poll; email through an outbox)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LiveConfig(AppConfig):
    name = "live"
    verbose_name = _("Live console")
