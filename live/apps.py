"""App config for the live console: presence, live updates and notifications (state in the database,
browsers poll; email through an outbox)."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LiveConfig(AppConfig):
    name = "live"
    verbose_name = _("Live console")

    def ready(self) -> None:
        # The notifications' receivers (written in the change's transaction) and their system checks.
        from live import checks, notifications  # noqa: F401
