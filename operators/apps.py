"""App config for the assignment domain: registers the signal receivers and the system checks."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperatorsConfig(AppConfig):
    name = "operators"
    verbose_name = _("Assignments")

    def ready(self) -> None:
        from operators import checks, receivers  # noqa: F401  (registers the checks and the receivers)
