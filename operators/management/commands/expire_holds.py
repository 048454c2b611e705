"""Release holds nobody has worked on for longer than the idle timeout, logged as expired: for cron."""

import json
from collections import Counter
from datetime import datetime, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from operators.models import Assignment
from operators.selectors import users_by_id
from operators.services import holds_expire
from orderops.conf import orderops_setting
from orderops.durations import duration_argument, duration_display
from orders.results import user_display_name

# Holds expired per transaction (each holds_expire call is one); at most ORDEROPS["BULK_MAX_ORDERS"].
DEFAULT_BATCH_SIZE = 1000
NO_TIMEOUT_MESSAGE = (
    "No idle timeout is configured (ORDEROPS HOLD_IDLE_TIMEOUT) and no --idle was given: no hold expires."
)


def idle_holds(cutoff: datetime):
    """The holds expiry selects: last activity before the cut-off (the query holds_expire runs)."""
    return Assignment.objects.filter(last_activity_at__lt=cutoff).order_by("order_id")


class Command(BaseCommand):
    help = (
        'Release holds idle longer than ORDEROPS["HOLD_IDLE_TIMEOUT"] (or --idle), logged as expired by the'
        " system. Safe to run from cron while operators work."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument(
            "--idle",
            type=duration_argument,
            metavar="DURATION",
            help="Expire holds idle longer than this (90m, 8h, 2d) instead of HOLD_IDLE_TIMEOUT.",
        )
        parser.add_argument("--dry-run", action="store_true", help="List what would expire; change nothing.")
        parser.add_argument("--json", action="store_true", help="Print the summary as JSON.")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help=f"Holds per transaction (default {DEFAULT_BATCH_SIZE}, at most ORDEROPS BULK_MAX_ORDERS).",
        )

    def handle(self, *args, **options) -> None:
        limit = orderops_setting("BULK_MAX_ORDERS")
        batch_size = options["batch_size"]
        if not 1 <= batch_size <= limit:
            raise CommandError(
                f"--batch-size must be between 1 and {limit} (ORDEROPS BULK_MAX_ORDERS); got {batch_size}."
            )
        idle: timedelta | None = options["idle"] or orderops_setting("HOLD_IDLE_TIMEOUT")
        if idle is None:
            if options["json"]:
                self.stdout.write(json.dumps({"idle": None, "expired": 0, "message": NO_TIMEOUT_MESSAGE}))
            else:
                self.stdout.write(NO_TIMEOUT_MESSAGE)
            return
        self._usernames: dict[int, str] = {}
        # One moment for the whole run: holds that become idle while it runs wait for the next run.
        now = timezone.now()
        by_operator: Counter = Counter()
        batches = 0
        if options["dry_run"]:
            listing = not options["json"]
            for number, operator_id, last_activity_at in (
                idle_holds(now - idle)
                .values_list("order__number", "operator_id", "last_activity_at")
                .iterator(chunk_size=batch_size)
            ):
                by_operator[operator_id] += 1
                if listing:
                    self.stdout.write(
                        f"would expire #{number}: held by {self.username(operator_id)}, idle since"
                        f" {timezone.localtime(last_activity_at):%Y-%m-%d %H:%M %Z}"
                    )
            self.report(options, idle, now, by_operator, batches=None)
            return
        try:
            while True:
                result = holds_expire(idle=idle, now=now, limit=batch_size)
                batches += 1
                for outcome in result:
                    by_operator[outcome.holder.pk] += 1
                    if options["verbosity"] >= 2 and not options["json"]:
                        self.stdout.write(
                            f"expired #{outcome.number}: held by {outcome.holder.get_username()}"
                        )
                # A short batch was the last: the rest either expired or were worked on meanwhile.
                if len(result) < batch_size:
                    break
        except Exception as error:
            self.report(options, idle, now, by_operator, batches=batches, error=str(error))
            expired = sum(by_operator.values())
            raise CommandError(
                f"Stopped in batch {batches + 1} ({type(error).__name__}: {error}). {expired} holds expired"
                f" in the batches before it; batch {batches + 1} changed nothing. Run the command again."
            ) from error
        self.report(options, idle, now, by_operator, batches=batches)

    def username(self, user_id: int) -> str:
        if user_id not in self._usernames:
            user = users_by_id([user_id]).get(user_id)
            self._usernames[user_id] = user.get_username() if user else "?"
        return self._usernames[user_id]

    def report(
        self,
        options: dict,
        idle: timedelta,
        now: datetime,
        by_operator: Counter,
        *,
        batches: int | None,
        error: str | None = None,
    ) -> None:
        dry_run = options["dry_run"]
        total = sum(by_operator.values())
        users = users_by_id(by_operator)
        tallies = sorted(
            by_operator.items(),
            key=lambda item: (-item[1], users[item[0]].get_username() if item[0] in users else ""),
        )
        if options["json"]:
            summary = {
                "dry_run": dry_run,
                "idle": duration_display(idle),
                "idle_seconds": int(idle.total_seconds()),
                "idle_since_before": (now - idle).isoformat(),
                ("would_expire" if dry_run else "expired"): total,
                "by_operator": [
                    {
                        "operator": users[operator_id].get_username() if operator_id in users else "?",
                        "name": user_display_name(users.get(operator_id)),
                        "holds": count,
                    }
                    for operator_id, count in tallies
                ],
            }
            if not dry_run:
                summary.update({"batches": batches, "completed": error is None, "error": error})
            self.stdout.write(json.dumps(summary, indent=2))
            return
        holds = f"{total:,} hold{'' if total == 1 else 's'}"
        idle_text = duration_display(idle)
        if dry_run:
            self.stdout.write(
                f"Dry run: would expire {holds} idle for more than {idle_text}; nothing was changed."
            )
        elif error is not None:
            self.stdout.write(
                self.style.WARNING(f"Expired {holds} idle for more than {idle_text} before the error.")
            )
        elif total:
            self.stdout.write(self.style.SUCCESS(f"Expired {holds} idle for more than {idle_text}."))
        else:
            self.stdout.write(f"No hold has been idle for more than {idle_text}; nothing expired.")
        verb = "would expire" if dry_run else "expired"
        for operator_id, count in tallies:
            user = users.get(operator_id)
            name = user.get_username() if user else "?"
            self.stdout.write(f"  {name} ({user_display_name(user)}): {verb} {count}")
