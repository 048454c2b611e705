"""App config for the operator console: its admin, templates and static files."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    name = "console"
    verbose_name = _("Order console")

    def ready(self) -> None:
        from console import sessions  # noqa: F401  (connects the login receiver)
