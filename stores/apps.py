"""App config for the connected stores: registers the system check of ORDEROPS_STORES."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StoresConfig(AppConfig):
    name = "stores"
    verbose_name = _("Connected stores")

    def ready(self) -> None:
        from stores import (
            conf,  # noqa: F401  (registers the system check)
            writeback,  # noqa: F401  (queues the changes for the stores)
        )
