"""App config for the order domain."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "orders"
    verbose_name = _("Orders")

    def ready(self) -> None:
        from orders.sqlite import sqlite_functions_connect

        sqlite_functions_connect()
