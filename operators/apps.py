"""App config for the assignment domain: installs the edit guard, the signal receivers and the checks."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OperatorsConfig(AppConfig):
    name = "operators"
    verbose_name = _("Assignments")

    def ready(self) -> None:
        from operators import checks, receivers  # noqa: F401  (registers the checks and the receivers)
        from operators.rules import order_change_refusals
        from orders.guard import edit_guard_install

        edit_guard_install(order_change_refusals)
