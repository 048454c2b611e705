"""How the write-back to each connected store goes: last success, last failure, changes pending and dead."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from stores.models import Store
from stores.selectors import stores_health


class Command(BaseCommand):
    help = (
        "Show each connected store's write-back health: the last change sent, the last failure, its error, "
        "the changes waiting (pending) and given up (dead; the store's admin page retries them)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help='One JSON object: {"stores": [...]}.')

    def handle(self, *args: Any, **options: Any) -> None:
        health = stores_health(Store.objects.order_by("slug"))
        if options["json"]:
            self.stdout.write(json.dumps({"stores": [row.as_json() for row in health]}, indent=2))
            return
        if not health:
            self.stdout.write("No store is connected.")
            return
        for row in health:
            success = row.last_success_at.isoformat(timespec="seconds") if row.last_success_at else "never"
            failure = row.last_failure_at.isoformat(timespec="seconds") if row.last_failure_at else "never"
            self.stdout.write(
                f"{row.slug} ({row.name}): last success {success}; last failure {failure}; "
                f"pending {row.pending}; dead {row.dead}"
            )
            if row.last_error:
                self.stdout.write(f"  last error: {row.last_error}")
