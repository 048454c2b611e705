"""App config for the operator console: its admin, templates and static files."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    name = "console"
    verbose_name = _("Order console")

    def ready(self) -> None:
        # The login receiver that puts a person's language and time zone in their session.
        from console import (
            preferences,  # noqa: F401
            sessions,  # noqa: F401  (connects the login receiver)
        )
