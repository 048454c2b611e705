"""Release holds nobody has worked on for longer than the idle timeout, logged as expired: for cron."""

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from operators.models import Assignment
from operators.selectors import users_by_id
from operators.services import holds_expire
from orderops.commands import BatchCommand, plural
from orderops.conf import orderops_setting
from orderops.db import streamed_in_transaction
from orderops.durations import duration_argument, duration_display
from orders.results import user_display_name

NO_TIMEOUT_MESSAGE = (
    "No idle timeout is configured (ORDEROPS HOLD_IDLE_TIMEOUT) and no --idle was given: no hold expires."
)


def idle_holds(cutoff: datetime):
    """The holds expiry selects: last activity before the cut-off (the query holds_expire runs)."""
    return Assignment.objects.filter(last_activity_at__lt=cutoff).order_by("order_id")


@dataclass
class ExpiryReport:
    """What the run did (or, in a dry run, would do): holds per operator, counted as they expire."""

    dry_run: bool
    idle: timedelta
    now: datetime
    by_operator: Counter = field(default_factory=Counter)
    batches: int = 0
    error: str | None = None

    @property
    def holds(self) -> int:
        return sum(self.by_operator.values())


class Command(BatchCommand):
    help = (
        'Release holds idle longer than ORDEROPS["HOLD_IDLE_TIMEOUT"] (or --idle), logged as expired by the'
        " system. Safe to run from cron while operators work."
    )
    dry_run_help = "List what would expire; change nothing."
    # A batch is one holds_expire call, one transaction.
    batch_size_help = "Holds per transaction (default {default}, at most ORDEROPS BULK_MAX_ORDERS)."

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--idle",
            type=duration_argument,
            metavar="DURATION",
            help="Expire holds idle longer than this (90m, 8h, 2d) instead of HOLD_IDLE_TIMEOUT.",
        )
        super().add_arguments(parser)

    def handle_batches(self, *args: Any, batch_size: int, **options: Any) -> None:
        idle: timedelta | None = options["idle"] or orderops_setting("HOLD_IDLE_TIMEOUT")
        if idle is None:
            if options["json"]:
                self.json_write({"idle": None, "expired": 0, "message": NO_TIMEOUT_MESSAGE}, indent=None)
            else:
                self.stdout.write(NO_TIMEOUT_MESSAGE)
            return
        self._usernames: dict[int, str] = {}
        listing = self.listing(options)
        # One moment for the whole run: holds that become idle while it runs wait for the next run.
        report = ExpiryReport(dry_run=options["dry_run"], idle=idle, now=timezone.now())
        if report.dry_run:
            with streamed_in_transaction():
                for number, operator_id, last_activity_at in (
                    idle_holds(report.now - idle)
                    .values_list("order__number", "operator_id", "last_activity_at")
                    .iterator(chunk_size=batch_size)
                ):
                    report.by_operator[operator_id] += 1
                    if listing:
                        self.stdout.write(
                            f"would expire #{number}: held by {self.username(operator_id)}, idle since"
                            f" {timezone.localtime(last_activity_at):%Y-%m-%d %H:%M %Z}"
                        )
            self.summary_write(report, as_json=options["json"])
            return
        try:
            while True:
                result = holds_expire(idle=idle, now=report.now, limit=batch_size)
                report.batches += 1
                for outcome in result:
                    report.by_operator[outcome.holder.pk] += 1
                    if listing:
                        self.stdout.write(
                            f"expired #{outcome.number}: held by {outcome.holder.get_username()}"
                        )
                # A short batch was the last: the rest either expired or were worked on meanwhile.
                if len(result) < batch_size:
                    break
        except Exception as error:
            report.error = str(error)
            self.summary_write(report, as_json=options["json"])
            raise CommandError(
                f"Stopped in batch {report.batches + 1} ({type(error).__name__}: {error}). {report.holds}"
                f" holds expired in the batches before it; batch {report.batches + 1} changed nothing. Run"
                " the command again."
            ) from error
        self.summary_write(report, as_json=options["json"])

    def username(self, user_id: int) -> str:
        if user_id not in self._usernames:
            user = users_by_id([user_id]).get(user_id)
            self._usernames[user_id] = user.get_username() if user else "?"
        return self._usernames[user_id]

    # --- output --------------------------------------------------------------------------------------------

    def tallies(self, report: ExpiryReport) -> list:
        users = users_by_id(report.by_operator)
        tallies = sorted(
            report.by_operator.items(),
            key=lambda item: (-item[1], users[item[0]].get_username() if item[0] in users else ""),
        )
        return [(users.get(operator_id), count) for operator_id, count in tallies]

    def summary_json(self, report: ExpiryReport) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "dry_run": report.dry_run,
            "idle": duration_display(report.idle),
            "idle_seconds": int(report.idle.total_seconds()),
            "idle_since_before": (report.now - report.idle).isoformat(),
            ("would_expire" if report.dry_run else "expired"): report.holds,
            "by_operator": [
                {
                    "operator": user.get_username() if user is not None else "?",
                    "name": user_display_name(user),
                    "holds": count,
                }
                for user, count in self.tallies(report)
            ],
        }
        if not report.dry_run:
            summary.update(
                {"batches": report.batches, "completed": report.error is None, "error": report.error}
            )
        return summary

    def summary_text(self, report: ExpiryReport) -> list[str]:
        holds = plural(report.holds, "hold")
        idle_text = duration_display(report.idle)
        if report.dry_run:
            lines = [f"Dry run: would expire {holds} idle for more than {idle_text}; nothing was changed."]
        elif report.error is not None:
            lines = [self.style.WARNING(f"Expired {holds} idle for more than {idle_text} before the error.")]
        elif report.holds:
            lines = [self.style.SUCCESS(f"Expired {holds} idle for more than {idle_text}.")]
        else:
            lines = [f"No hold has been idle for more than {idle_text}; nothing expired."]
        verb = "would expire" if report.dry_run else "expired"
        for user, count in self.tallies(report):
            name = user.get_username() if user is not None else "?"
            lines.append(f"  {name} ({user_display_name(user)}): {verb} {count}")
        return lines
