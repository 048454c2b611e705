"""Delete kept webhook deliveries once they are old, in batches: for cron. Failed deliveries are kept until
they are replayed."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from orderops.commands import BatchCommand, plural, rows_delete_in_batches
from orderops.durations import duration_argument, duration_display
from stores.models import Delivery

# Shopify retries for 48 hours at most and may deliver a day late: a delivery is kept at least this long, so
# that a late repeat is still recognised as a duplicate (were it not, the forward-only apply would still find
# it stale or unchanged).
SHORTEST_KEPT = timedelta(days=3)
DEFAULT_KEPT = timedelta(days=30)


def old_deliveries(cutoff: datetime):
    return Delivery.objects.filter(received_at__lt=cutoff).exclude(state=Delivery.State.FAILED)


@dataclass
class PurgeReport:
    dry_run: bool
    older_than: timedelta
    cutoff: datetime
    deliveries: int = 0
    batches: int = 0


class Command(BatchCommand):
    help = (
        "Delete kept webhook deliveries older than --older-than (30d by default, at least 3d), a batch per "
        "statement; failed ones are kept until they are replayed. Safe from cron while webhooks arrive."
    )
    dry_run_help = "Count what would be deleted; delete nothing."
    batch_size_help = "Deliveries per DELETE (default {default}, at most ORDEROPS BULK_MAX_ORDERS)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--older-than",
            type=duration_argument,
            metavar="DURATION",
            help="Delete deliveries received longer ago than this (30d by default; at least 3d).",
        )
        super().add_arguments(parser)

    def handle_batches(self, *args: Any, batch_size: int, **options: Any) -> None:
        older_than: timedelta = options["older_than"] or DEFAULT_KEPT
        if older_than < SHORTEST_KEPT:
            raise CommandError(
                f"--older-than {duration_display(older_than)} is shorter than"
                f" {duration_display(SHORTEST_KEPT)}: a store's late repeat of a deleted delivery would no"
                " longer be known as one. Nothing was deleted."
            )
        now = timezone.now()
        report = PurgeReport(dry_run=options["dry_run"], older_than=older_than, cutoff=now - older_than)
        if report.dry_run:
            report.deliveries = old_deliveries(report.cutoff).count()
        else:
            # Each DELETE commits by itself: the inbox's inserts never wait long on it.
            report.deliveries, report.batches = rows_delete_in_batches(
                old_deliveries(report.cutoff), batch_size=batch_size
            )
        self.summary_write(report, as_json=options["json"])

    def summary_json(self, report: PurgeReport) -> dict[str, Any]:
        return {
            "dry_run": report.dry_run,
            "older_than": duration_display(report.older_than),
            "cutoff": report.cutoff.isoformat(),
            "deliveries": report.deliveries,
            "batches": report.batches,
        }

    def summary_text(self, report: PurgeReport) -> list[str]:
        deliveries = plural(report.deliveries, "delivery", "deliveries")
        older = f"received before {report.cutoff:%Y-%m-%d %H:%M} UTC"
        if report.dry_run:
            return [
                f"Dry run: {deliveries} {older} would be deleted (failed ones are kept). Nothing was deleted."
            ]
        return [
            f"Deleted {deliveries} {older} in {plural(report.batches, 'batch', 'batches')}"
            " (failed ones are kept)."
        ]
