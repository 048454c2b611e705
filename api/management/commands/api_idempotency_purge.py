"""Delete the kept first responses to Idempotency-Keys once their lifetime is over, in batches: for cron."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from api.conf import api_setting
from api.models import IdempotencyRecord
from orderops.commands import BatchCommand, plural, rows_delete_in_batches
from orderops.durations import duration_argument, duration_display


def expired_records(cutoff: datetime):
    """The records kept for longer than the lifetime: created before the cut-off (the created_at index)."""
    return IdempotencyRecord.objects.filter(created_at__lt=cutoff)


@dataclass
class PurgeReport:
    dry_run: bool
    older_than: timedelta
    cutoff: datetime
    records: int = 0
    batches: int = 0


class Command(BatchCommand):
    help = (
        'Delete the kept responses to Idempotency-Keys older than ORDEROPS_API["IDEMPOTENCY_TTL"] (24h by '
        "default), a batch per statement so that the table is never locked for long. Safe to run from cron "
        "while the API serves."
    )
    dry_run_help = "Count what would be deleted; delete nothing."
    # A batch is one DELETE of that many rows, committed on its own.
    batch_size_help = "Records per DELETE (default {default}, at most ORDEROPS BULK_MAX_ORDERS)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--older-than",
            type=duration_argument,
            metavar="DURATION",
            help="Delete records older than this (24h, 2d); at least IDEMPOTENCY_TTL, the default.",
        )
        super().add_arguments(parser)

    def handle_batches(self, *args: Any, batch_size: int, **options: Any) -> None:
        lifetime: timedelta = api_setting("IDEMPOTENCY_TTL")
        older_than: timedelta = options["older_than"] or lifetime
        if older_than < lifetime:
            # A record deleted inside its lifetime lets a retried request with the same key act twice.
            raise CommandError(
                f"--older-than {duration_display(older_than)} is shorter than the records' lifetime"
                f' (ORDEROPS_API["IDEMPOTENCY_TTL"], {duration_display(lifetime)}): a request retried with'
                " its key would take effect twice. Nothing was deleted."
            )
        now = timezone.now()
        report = PurgeReport(dry_run=options["dry_run"], older_than=older_than, cutoff=now - older_than)
        if report.dry_run:
            report.records = expired_records(report.cutoff).count()
        else:
            # Records that expire meanwhile wait for the next run (one cut-off per run).
            report.records, report.batches = rows_delete_in_batches(
                expired_records(report.cutoff), batch_size=batch_size
            )
        self.summary_write(report, as_json=options["json"])

    def summary_json(self, report: PurgeReport) -> dict[str, Any]:
        return {
            "dry_run": report.dry_run,
            "older_than": duration_display(report.older_than),
            "cutoff": report.cutoff.isoformat(),
            "records": report.records,
            "batches": report.batches,
        }

    def summary_text(self, report: PurgeReport) -> list[str]:
        records = plural(report.records, "idempotency record")
        older = (
            f"older than {duration_display(report.older_than)}"
            f" (created before {report.cutoff:%Y-%m-%d %H:%M} UTC)"
        )
        if report.dry_run:
            return [f"Dry run: {records} {older} would be deleted. Nothing was deleted."]
        return [f"Deleted {records} {older} in {plural(report.batches, 'batch', 'batches')}."]
