"""replay_deliveries: apply kept webhook deliveries again, through the same apply path (after a fix: a status
added to the store's map, a bug fixed)."""

import json
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from stores.inbox import delivery_replay
from stores.models import Delivery, Store


class Command(BaseCommand):
    help = (
        "Apply kept webhook deliveries again, oldest first: the failed ones with --failed, else every kept "
        "delivery (applying one again changes nothing unless the store's copy is newer than the order's)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--store", metavar="SLUG", help="Only this store's deliveries.")
        parser.add_argument("--failed", action="store_true", help="Only the failed deliveries.")
        parser.add_argument("--json", action="store_true", help="Print the summary as JSON.")

    def handle(self, *args: Any, **options: Any) -> None:
        deliveries = Delivery.objects.order_by("received_at", "id")
        if options["store"]:
            store = Store.objects.filter(slug=options["store"]).first()
            if store is None:
                raise CommandError(f"There is no store {options['store']!r}.")
            deliveries = deliveries.filter(store=store)
        if options["failed"]:
            deliveries = deliveries.filter(state=Delivery.State.FAILED)
        states: Counter[str] = Counter()
        errors = []
        for delivery_id, key in deliveries.values_list("pk", "key").iterator():
            receipt = delivery_replay(delivery_id=delivery_id)
            states[receipt.state] += 1
            if receipt.error:
                errors.append({"delivery": delivery_id, "key": key, "error": receipt.error})
                if not options["json"]:
                    self.stderr.write(f"delivery {delivery_id} ({key}): {receipt.error}")
        if options["json"]:
            self.stdout.write(
                json.dumps({"replayed": sum(states.values()), "states": states, "errors": errors})
            )
            return
        summary = (
            ", ".join(f"{count} {state}" for state, count in sorted(states.items())) or "nothing to replay"
        )
        self.stdout.write(f"Replayed {sum(states.values())} deliveries: {summary}.")
        if errors:
            raise CommandError(f"{len(errors)} deliveries failed again: fix their cause and replay them.")
