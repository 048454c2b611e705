"""Replay the assignment log and compare it with the holds: invariant 2 checked, for cron or incidents."""

import json
from collections.abc import Iterable

from django.core.management.base import BaseCommand, CommandError

from operators.verification import (
    ActivityDifference,
    CountDifference,
    FreeOrderDifference,
    LogVerification,
    OrderDifference,
    activity_count_differences,
    assignment_log_differences,
    free_order_differences,
    hold_count_differences,
)
from orders.models import Order

# Like diff(1): 0 the log and the holds agree, 1 they differ, 2 the command could not check (bad input).
EXIT_DIFFERENT = 1
EXIT_BAD_INPUT = 2
# Orders listed at most whose free row disagrees (each one is found by one scan of the orders).
MARKERS_LISTED = 1000


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
            markers, counts = self.write_json(verification, differences, order_ids)
        else:
            for difference in differences:
                self.stdout.write(difference.message)
            markers = self.markers(order_ids)
            for marker in markers:
                self.stdout.write(marker.message)
            counts = self.counts(order_ids)
            for count in counts:
                self.stdout.write(count.message)
            if verification.agrees and not markers and not counts:
                self.stdout.write(self.style.SUCCESS(verification.summary()))
        if not verification.agrees:
            raise CommandError(verification.summary(), returncode=EXIT_DIFFERENT)
        if markers:
            raise CommandError(
                f"The assignment log agrees with the holds, but {len(markers):,} order(s) have a free row"
                " (operators_free_order) that disagrees with them: claim next may offer a held order or skip"
                " a free one.",
                returncode=EXIT_DIFFERENT,
            )
        if counts:
            raise CommandError(
                f"The assignment log agrees with the holds, but {len(counts):,} held count(s) or activity"
                " count(s) (operators_hold_count, operators_activity_count) disagree with a full count of the"
                " holds or the log: the workload page and the queue counts show them.",
                returncode=EXIT_DIFFERENT,
            )

    def counts(self, order_ids: list[int] | None) -> list[CountDifference | ActivityDifference]:
        """Operators whose held count disagrees with their holds, then quarters of an hour whose activity
        counts disagree with the log (checked with every order only: a count is of all orders)."""
        if order_ids is not None:
            return []
        return [*hold_count_differences(), *activity_count_differences()]

    def markers(self, order_ids: list[int] | None) -> list[FreeOrderDifference]:
        """Orders whose free row disagrees with the holds (the first 1,000 when all are checked)."""
        if order_ids is None:
            return free_order_differences(max_listed=MARKERS_LISTED)
        wanted = set(order_ids)
        return [marker for marker in free_order_differences() if marker.order_id in wanted]

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

    def write_json(
        self,
        verification: LogVerification,
        differences: Iterable[OrderDifference],
        order_ids: list[int] | None,
    ) -> tuple[list[FreeOrderDifference], list[CountDifference | ActivityDifference]]:
        """One JSON object, written as the replay goes: the differences first (however many, never all in
        memory), then the counts, which are known only at the end."""
        self.stdout.write('{\n  "differences": [', ending="")
        separator = "\n    "
        for difference in differences:
            self.stdout.write(separator + json.dumps(difference.as_dict()), ending="")
            separator = ",\n    "
        self.stdout.write("\n  ]" if separator != "\n    " else "]", ending="")
        markers = self.markers(order_ids)
        marker_rows = json.dumps([marker.as_dict() for marker in markers])
        self.stdout.write(f',\n  "marker_differences": {marker_rows}', ending="")
        counts = self.counts(order_ids)
        count_rows = json.dumps([count.as_dict() for count in counts])
        self.stdout.write(f',\n  "count_differences": {count_rows}', ending="")
        for key, value in verification.as_dict().items():
            self.stdout.write(f",\n  {json.dumps(key)}: {json.dumps(value)}", ending="")
        self.stdout.write("\n}")
        return markers, counts
