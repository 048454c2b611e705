"""Release holds in bulk, chosen by operator, status, age or order number: for incidents and clean-ups."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.management.base import CommandError
from django.utils import timezone

from operators.selectors import users_by_id
from operators.services import holds_release_matching
from operators.services.selection import (
    DEFAULT_BATCH_SIZE,
    HoldSelection,
    HoldsReleased,
    HoldsReleaseStopped,
    ReleasedBatch,
    holds_selected,
)
from orderops.commands import BatchCommand, plural
from orderops.durations import duration_argument, duration_display
from orderops.progress import Progress, is_terminal
from orders.results import user_display_name

DEFAULT_REASON = "released by release_orders"
REASON_PREFIX = "release_orders: "


@dataclass
class ReleaseReport:
    """The summary: the selection as the options said it, and what the service released."""

    selection: dict
    released: HoldsReleased
    error: str | None = None


def held_since_display(value: datetime) -> str:
    age = timezone.now() - value
    if age >= timedelta(minutes=1):
        age = timedelta(minutes=int(age.total_seconds() // 60))  # seconds are noise in "held for 2d3h"
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M %Z} ({duration_display(age)} ago)"


class Command(BatchCommand):
    help = (
        "Release holds in bulk, chosen by operator, status, age and/or order number (or --all). Logged as"
        " released by the system, in batches that each commit on their own."
    )
    default_batch_size = DEFAULT_BATCH_SIZE
    dry_run_help = "List what would be released; change nothing."
    batch_size_help = "Holds per transaction (default {default}, at most ORDEROPS BULK_MAX_ORDERS)."

    def add_arguments(self, parser) -> None:
        selection = parser.add_argument_group(
            "which holds (options combine: a hold must match each one given; a repeated option matches any"
            " of its values)"
        )
        selection.add_argument(
            "--operator",
            action="append",
            dest="operators",
            default=[],
            metavar="USERNAME",
            help="Holds of this operator (repeatable).",
        )
        selection.add_argument(
            "--status",
            action="append",
            dest="statuses",
            default=[],
            metavar="CODE",
            help="Holds on orders in this status (repeatable).",
        )
        selection.add_argument(
            "--older-than",
            type=duration_argument,
            metavar="DURATION",
            help="Holds taken more than this long ago: 90m, 8h, 2d, 1d12h.",
        )
        selection.add_argument(
            "--order",
            action="append",
            dest="numbers",
            default=[],
            metavar="NUMBER",
            help="The hold on this order (repeatable).",
        )
        selection.add_argument(
            "--all", action="store_true", dest="release_all", help="Every hold (cannot be combined)."
        )
        parser.add_argument(
            "--reason",
            help=f'Why, written into every log row as "{REASON_PREFIX}REASON" (default: "{DEFAULT_REASON}").',
        )
        super().add_arguments(parser)

    def handle_batches(self, *args: Any, batch_size: int, **options: Any) -> None:
        reason = self.reason(options["reason"])
        selection = self.selection(options)
        now = timezone.now()
        dry_run, as_json = options["dry_run"], options["json"]
        listing = self.listing(options)
        users = _Users()
        verb = "would release" if dry_run else "released"
        selection_summary = self.selection_summary(selection)
        with self.progress(selection, now, "checking" if dry_run else "releasing", batch_size) as progress:

            def listed(batch: ReleasedBatch) -> None:
                if listing:
                    for hold in batch.holds:
                        progress.note(
                            f"{verb} #{hold.number}: held by {users.name(hold.operator_id)}"
                            f" since {held_since_display(hold.assigned_at)}",
                            self.stdout,
                        )
                progress.advance(batch.size)

            try:
                released = holds_release_matching(
                    selection=selection,
                    reason=reason,
                    actor=None,
                    batch_size=batch_size,
                    dry_run=dry_run,
                    now=now,
                    on_batch=listed,
                )
            except HoldsReleaseStopped as stopped:
                progress.finish()
                report = ReleaseReport(selection_summary, stopped.released, error=str(stopped))
                self.summary_write(report, as_json=as_json)
                raise CommandError(self.how_far(report, stopped.error)) from stopped.error
        self.summary_write(ReleaseReport(selection_summary, released), as_json=as_json)

    # --- input ---------------------------------------------------------------------------------------------

    def reason(self, text: str | None) -> str:
        if text is None:
            return DEFAULT_REASON
        if not text.strip():
            raise CommandError("--reason cannot be empty: say why, or leave it out for the default reason.")
        return REASON_PREFIX + text.strip()

    def selection(self, options: dict) -> HoldSelection:
        """The options as a HoldSelection; the service refuses unknown operators, statuses and orders."""
        selectors = [options["operators"], options["statuses"], options["older_than"], options["numbers"]]
        given = any(value for value in selectors)
        if options["release_all"] and given:
            raise CommandError(
                "--all releases every hold and cannot be combined with --operator, --status, --older-than or"
                " --order: leave out --all to release only the holds those options select."
            )
        if not given and not options["release_all"]:
            raise CommandError(
                "Say which holds to release: --operator USERNAME, --status CODE, --older-than DURATION,"
                " --order NUMBER, or --all for every hold (try --dry-run first)."
            )
        return HoldSelection(
            operators=tuple(dict.fromkeys(options["operators"])),
            status_codes=tuple(dict.fromkeys(options["statuses"])),
            older_than=options["older_than"],
            order_numbers=tuple(
                dict.fromkeys(number.strip().removeprefix("#") for number in options["numbers"])
            ),
            all=options["release_all"],
        )

    def selection_summary(self, selection: HoldSelection) -> dict:
        older_than = selection.older_than
        return {
            "operators": list(selection.operators),
            "statuses": list(selection.status_codes),
            "older_than": duration_display(older_than) if older_than is not None else None,
            "orders": list(selection.order_numbers),
            "all": selection.all,
        }

    # --- work ----------------------------------------------------------------------------------------------

    def progress(self, selection: HoldSelection, now: datetime, label: str, batch_size: int) -> Progress:
        """A bar on a terminal when there is more than one batch; counting costs one query, so only then."""
        if not is_terminal(self.stderr):
            return Progress(0, label, stream=self.stderr, enabled=False)
        total = holds_selected(selection, now=now).count()
        return Progress(total, label, stream=self.stderr, enabled=total > batch_size)

    def how_far(self, report: ReleaseReport, error: BaseException) -> str:
        released = report.released
        what = f"{type(error).__name__}: {report.error}"
        if not released.batches:
            return f"Stopped in the first batch ({what}). Nothing was released."
        return (
            f"Stopped in batch {released.batches + 1} ({what}). Batches 1 to {released.batches} are done"
            f" ({plural(released.holds, 'hold')} released, orders up to id {released.last_order_id});"
            f" batch {released.batches + 1} changed nothing; later ones were not tried."
            " Run the command again to release the rest."
        )

    # --- output --------------------------------------------------------------------------------------------

    def tallies(self, released: HoldsReleased) -> list:
        users = users_by_id(released.by_operator)
        tallies = sorted(
            released.by_operator.items(), key=lambda item: (-item[1].holds, _username(users.get(item[0])))
        )
        return [(users.get(operator_id), tally) for operator_id, tally in tallies]

    def summary_json(self, report: ReleaseReport) -> dict[str, Any]:
        released = report.released
        return {
            "dry_run": released.dry_run,
            "selection": report.selection,
            "reason": released.reason,
            ("would_release" if released.dry_run else "released"): released.holds,
            "by_operator": [
                {
                    "operator": _username(user),
                    "name": user_display_name(user),
                    "holds": tally.holds,
                    "oldest_held_since": tally.oldest_held_since.isoformat(),
                }
                for user, tally in self.tallies(released)
            ],
            "not_held": released.not_held,
            "changed_meanwhile": released.changed_meanwhile,
            "released_meanwhile": released.released_meanwhile,
            "batches": released.batches,
            "completed": report.error is None,
            "error": report.error,
        }

    def summary_text(self, report: ReleaseReport) -> list[str]:
        released = report.released
        holds = plural(released.holds, "hold")
        if released.dry_run:
            lines = [f"Dry run: would release {holds}; nothing was changed."]
        elif report.error is not None:
            lines = [self.style.WARNING(f"Released {holds} before the error ({released.reason!r}).")]
        elif released.holds:
            batches = plural(released.batches, "batch", "batches")
            lines = [self.style.SUCCESS(f"Released {holds} in {batches} ({released.reason!r}).")]
        else:
            lines = ["No hold matches the selection; nothing was released."]
        verb = "would release" if released.dry_run else "released"
        for user, tally in self.tallies(released):
            lines.append(
                f"  {_username(user)} ({user_display_name(user)}): {verb} {tally.holds},"
                f" oldest held since {held_since_display(tally.oldest_held_since)}"
            )
        if released.not_held:
            lines.append(f"Not held by anyone: {', '.join('#' + number for number in released.not_held)}.")
        if released.changed_meanwhile:
            lines.append(
                f"{plural(released.changed_meanwhile, 'hold')} changed while the command ran (taken over,"
                " moved, or the order's status changed) and no longer matched: left alone."
            )
        if released.released_meanwhile:
            lines.append(
                f"{plural(released.released_meanwhile, 'hold')} ended while the command ran (released by"
                " someone else or by a status change)."
            )
        return lines


class _Users:
    """Operators' display names, loaded once per operator as the listing meets them."""

    def __init__(self) -> None:
        self.names: dict[int, str] = {}

    def name(self, user_id: int) -> str:
        if user_id not in self.names:
            user = users_by_id([user_id]).get(user_id)
            self.names[user_id] = _username(user)
        return self.names[user_id]


def _username(user) -> str:
    return user.get_username() if user is not None else "?"
