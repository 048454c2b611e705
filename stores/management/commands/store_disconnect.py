"""store_disconnect: set a connected store inactive (its webhook address answers 404, polling skips it)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from stores.models import Store
from stores.services import store_disconnect


class Command(BaseCommand):
    help = "Set a store inactive: its webhooks are refused (404) and sync_orders skips it; its orders stay."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            store = store_disconnect(slug=options["slug"])
        except Store.DoesNotExist:
            raise CommandError(f"There is no store {options['slug']!r}.") from None
        self.stdout.write(
            f"Disconnected {store.platform_label} store {store.slug!r}: remove its webhooks in the store's "
            "admin too (they are refused from now on)."
        )
