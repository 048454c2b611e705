"""Replay the assignment log and compare it with the holds: invariant 2 checked, for cron or incidents."""

import json
from collections.abc import Iterable

from django.core.management.base import BaseCommand, CommandError

from operators.verification import LogVerification, OrderDifference, assignment_log_differences
from orders.models import Order

# Like diff(1): 0 the log and the holds agree, 1 they differ, 2 the command could not check (bad input).
EXIT_DIFFERENT = 1
EXIT_BAD_INPUT = 2


class Command(BaseCommand):
    help = (
        "Replay the assignment log and compare it with the current holds. Lists every order that differs"
        " (what the log says, what the holds say, and log rows that contradict the rows before them) and"
        " exits with 1; exits with 0 when they agree. Read-only: safe while operators work."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--order",
            action="append",
            dest="numbers",
            default=[],
            metavar="NUMBER",
            help="Verify only this order (repeatable).",
        )
        parser.add_argument("--json", action="store_true", help="Print the summary and differences as JSON.")

    def handle(self, *args, **options) -> None:
        order_ids = self.order_ids(options["numbers"])
        verification = LogVerification(orders_requested=None if order_ids is None else len(order_ids))
        differences = assignment_log_differences(verification, order_ids=order_ids)
        if options["json"]:
            self.write_json(verification, differences)
        else:
            for difference in differences:
                self.stdout.write(difference.message)
            if verification.agrees:
                self.stdout.write(self.style.SUCCESS(verification.summary()))
        if not verification.agrees:
            raise CommandError(verification.summary(), returncode=EXIT_DIFFERENT)

    def order_ids(self, numbers: list[str]) -> list[int] | None:
        if not numbers:
            return None
        wanted = list(dict.fromkeys(number.strip().removeprefix("#") for number in numbers))
        found = dict(Order.objects.filter(number__in=wanted).values_list("number", "pk"))
        unknown = [number for number in wanted if number not in found]
        if unknown:
            raise CommandError(
                f"Unknown order {', '.join(repr('#' + number) for number in unknown)}: no order has that"
                " number. Nothing was verified.",
                returncode=EXIT_BAD_INPUT,
            )
        return [found[number] for number in wanted]

    def write_json(self, verification: LogVerification, differences: Iterable[OrderDifference]) -> None:
        """One JSON object, written as the replay goes: the differences first (however many, never all in
        memory), then the counts, which are known only at the end."""
        self.stdout.write('{\n  "differences": [', ending="")
        separator = "\n    "
        for difference in differences:
            self.stdout.write(separator + json.dumps(difference.as_dict()), ending="")
            separator = ",\n    "
        self.stdout.write("\n  ]" if separator != "\n    " else "]", ending="")
        for key, value in verification.as_dict().items():
            self.stdout.write(f",\n  {json.dumps(key)}: {json.dumps(value)}", ending="")
        self.stdout.write("\n}")
