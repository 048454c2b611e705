"""Release holds in bulk, chosen by operator, status, age or order number: for incidents and clean-ups."""

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from operators.models import Assignment
from operators.selectors import users_by_id
from operators.services import holds_release
from orderops.conf import orderops_setting
from orderops.db import id_set
from orderops.durations import duration_argument, duration_display
from orderops.progress import Progress, is_terminal
from orders.models import Order, OrderStatus
from orders.results import Outcome, user_display_name
from orders.selectors import orders_locked

# Holds released per transaction: small enough that operators never wait long for a locked order, large
# enough that 100,000 holds take a few hundred statements. At most ORDEROPS["BULK_MAX_ORDERS"].
DEFAULT_BATCH_SIZE = 1000
DEFAULT_REASON = "released by release_orders"
REASON_PREFIX = "release_orders: "


@dataclass(frozen=True)
class HoldSelection:
    """Which holds to release: each option given must match (AND); a repeated option matches any value."""

    operator_ids: tuple[int, ...] = ()
    status_codes: tuple[str, ...] = ()
    held_before: datetime | None = None
    order_ids: tuple[int, ...] = ()

    def condition(self) -> Q:
        condition = Q()
        if self.operator_ids:
            condition &= Q(operator_id__in=self.operator_ids)
        if self.status_codes:
            condition &= Q(order__status_id__in=self.status_codes)
        if self.held_before is not None:
            condition &= Q(assigned_at__lt=self.held_before)
        if self.order_ids:
            condition &= Q(order_id__in=self.order_ids)
        return condition

    def holds(self):
        return Assignment.objects.filter(self.condition())


@dataclass
class OperatorTally:
    holds: int = 0
    oldest_held_since: datetime | None = None

    def add(self, assigned_at: datetime) -> None:
        self.holds += 1
        if self.oldest_held_since is None or assigned_at < self.oldest_held_since:
            self.oldest_held_since = assigned_at


@dataclass
class ReleaseReport:
    """What the command did (or, in a dry run, would do); counts only, so memory stays bounded."""

    dry_run: bool
    reason: str
    selection: dict
    by_operator: dict[int, OperatorTally] = field(default_factory=dict)
    batches: int = 0
    # Holds that matched when a batch was read but no longer did under the orders' locks.
    changed_meanwhile: int = 0
    released_meanwhile: int = 0
    not_held: list[str] = field(default_factory=list)  # orders named with --order that nobody holds
    last_order_id: int = 0
    error: str | None = None

    @property
    def holds(self) -> int:
        return sum(tally.holds for tally in self.by_operator.values())

    def count(self, operator_id: int, assigned_at: datetime) -> None:
        self.by_operator.setdefault(operator_id, OperatorTally()).add(assigned_at)


def held_since_display(value: datetime) -> str:
    age = timezone.now() - value
    if age >= timedelta(minutes=1):
        age = timedelta(minutes=int(age.total_seconds() // 60))  # seconds are noise in "held for 2d3h"
    age = duration_display(age)
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M %Z} ({age} ago)"


def hold_batches(selection: HoldSelection, batch_size: int) -> Iterator[list[int]]:
    """The selected holds' order ids, ascending, `batch_size` at a time; each batch is read when it is
    needed (keyset on order_id), so neither ids nor models pile up in memory."""
    holds = selection.holds().order_by("order_id").values_list("order_id", flat=True)
    last = 0
    while True:
        batch = list(holds.filter(order_id__gt=last)[:batch_size])
        if not batch:
            return
        yield batch
        last = batch[-1]


class Command(BaseCommand):
    help = (
        "Release holds in bulk, chosen by operator, status, age and/or order number (or --all). Logged as"
        " released by the system, in batches that each commit on their own."
    )

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
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would be released; change nothing."
        )
        parser.add_argument("--json", action="store_true", help="Print the summary as JSON.")
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help=f"Holds per transaction (default {DEFAULT_BATCH_SIZE}, at most ORDEROPS BULK_MAX_ORDERS).",
        )

    def handle(self, *args, **options) -> None:
        batch_size = self.batch_size(options["batch_size"])
        reason = self.reason(options["reason"])
        selection = self.selection(options, now=timezone.now())
        report = ReleaseReport(
            dry_run=options["dry_run"], reason=reason, selection=self.selection_summary(options)
        )
        report.not_held = self.numbers_not_held(selection)
        verbose = options["verbosity"] >= 2 and not options["json"]
        if options["dry_run"]:
            self.dry_run(selection, batch_size, report, listing=not options["json"])
        else:
            self.release(selection, batch_size, reason, report, listing=verbose, as_json=options["json"])
        self.report(report, as_json=options["json"])

    # --- input ---------------------------------------------------------------------------------------------

    def batch_size(self, value: int) -> int:
        limit = orderops_setting("BULK_MAX_ORDERS")
        if not 1 <= value <= limit:
            raise CommandError(
                f"--batch-size must be between 1 and {limit} (ORDEROPS BULK_MAX_ORDERS); got {value}."
            )
        return value

    def reason(self, text: str | None) -> str:
        if text is None:
            return DEFAULT_REASON
        if not text.strip():
            raise CommandError("--reason cannot be empty: say why, or leave it out for the default reason.")
        return REASON_PREFIX + text.strip()

    def selection(self, options: dict, *, now: datetime) -> HoldSelection:
        """The options as a HoldSelection; anything unknown stops the command before it changes anything."""
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
        older_than: timedelta | None = options["older_than"]
        return HoldSelection(
            operator_ids=self.operator_ids(options["operators"]),
            status_codes=self.status_codes(options["statuses"]),
            held_before=now - older_than if older_than is not None else None,
            order_ids=self.order_ids(options["numbers"]),
        )

    def operator_ids(self, usernames: list[str]) -> tuple[int, ...]:
        if not usernames:
            return ()
        found = dict(get_user_model().objects.filter(username__in=usernames).values_list("username", "pk"))
        unknown = [name for name in dict.fromkeys(usernames) if name not in found]
        if unknown:
            raise CommandError(
                f"Unknown operator {_names(unknown)}: no user has that username. Nothing was released."
            )
        return tuple(found[name] for name in dict.fromkeys(usernames))

    def status_codes(self, codes: list[str]) -> tuple[str, ...]:
        if not codes:
            return ()
        known = list(OrderStatus.objects.values_list("code", flat=True))
        unknown = [code for code in dict.fromkeys(codes) if code not in known]
        if unknown:
            raise CommandError(
                f"Unknown status {_names(unknown)}; the statuses are {', '.join(known)}."
                " Nothing was released."
            )
        return tuple(dict.fromkeys(codes))

    def order_ids(self, numbers: list[str]) -> tuple[int, ...]:
        if not numbers:
            return ()
        wanted = [number.strip().removeprefix("#") for number in numbers]
        found = dict(Order.objects.filter(number__in=wanted).values_list("number", "pk"))
        unknown = [number for number in dict.fromkeys(wanted) if number not in found]
        if unknown:
            raise CommandError(
                f"Unknown order {_names(unknown, '#')}: no order has that number. Nothing was released."
            )
        return tuple(found[number] for number in dict.fromkeys(wanted))

    def selection_summary(self, options: dict) -> dict:
        older_than = options["older_than"]
        return {
            "operators": list(dict.fromkeys(options["operators"])),
            "statuses": list(dict.fromkeys(options["statuses"])),
            "older_than": duration_display(older_than) if older_than is not None else None,
            "orders": list(dict.fromkeys(number.strip().removeprefix("#") for number in options["numbers"])),
            "all": options["release_all"],
        }

    def numbers_not_held(self, selection: HoldSelection) -> list[str]:
        """Orders named with --order that nobody holds: said in the summary, so that a typo'd number that
        happens to exist is noticed."""
        if not selection.order_ids:
            return []
        return list(
            Order.objects.filter(pk__in=selection.order_ids, assignment__isnull=True)
            .order_by("number")
            .values_list("number", flat=True)
        )

    # --- work ----------------------------------------------------------------------------------------------

    def progress(self, selection: HoldSelection, label: str, batch_size: int) -> Progress:
        """A bar on a terminal when there is more than one batch; counting costs one query, so only then."""
        if not is_terminal(self.stderr):
            return Progress(0, label, stream=self.stderr, enabled=False)
        total = selection.holds().count()
        return Progress(total, label, stream=self.stderr, enabled=total > batch_size)

    def dry_run(
        self, selection: HoldSelection, batch_size: int, report: ReleaseReport, *, listing: bool
    ) -> None:
        """The same selection, batch by batch, as the real run reads it; nothing is locked or changed."""
        users = _Users()
        with self.progress(selection, "checking", batch_size) as progress:
            for batch in hold_batches(selection, batch_size):
                rows = (
                    Assignment.objects.filter(order_id__in=id_set(batch))
                    .order_by("order_id")
                    .values_list("order_id", "order__number", "operator_id", "assigned_at")
                )
                for _order_id, number, operator_id, assigned_at in rows:
                    report.count(operator_id, assigned_at)
                    if listing:
                        progress.note(
                            f"would release #{number}: held by {users.name(operator_id)}"
                            f" since {held_since_display(assigned_at)}",
                            self.stdout,
                        )
                report.batches += 1
                report.last_order_id = batch[-1]
                progress.advance(len(batch))

    def release(
        self,
        selection: HoldSelection,
        batch_size: int,
        reason: str,
        report: ReleaseReport,
        *,
        listing: bool,
        as_json: bool,
    ) -> None:
        users = _Users()
        with self.progress(selection, "releasing", batch_size) as progress:
            try:
                for batch in hold_batches(selection, batch_size):
                    released = self.release_batch(batch, selection, reason, report)
                    report.batches += 1
                    report.last_order_id = batch[-1]
                    for number, operator_id, assigned_at in released:
                        if listing:
                            progress.note(
                                f"released #{number}: held by {users.name(operator_id)}"
                                f" since {held_since_display(assigned_at)}",
                                self.stdout,
                            )
                    progress.advance(len(batch))
            except (Exception, KeyboardInterrupt) as error:
                progress.finish()
                report.error = str(error) or type(error).__name__
                self.report(report, as_json=as_json)
                raise CommandError(self.how_far(report, error)) from error

    def how_far(self, report: ReleaseReport, error: BaseException) -> str:
        what = f"{type(error).__name__}: {report.error}"
        if not report.batches:
            return f"Stopped in the first batch ({what}). Nothing was released."
        return (
            f"Stopped in batch {report.batches + 1} ({what}). Batches 1 to {report.batches} are done"
            f" ({_plural(report.holds, 'hold')} released, orders up to id {report.last_order_id});"
            f" batch {report.batches + 1} changed nothing; later ones were not tried."
            " Run the command again to release the rest."
        )

    def release_batch(
        self, batch: list[int], selection: HoldSelection, reason: str, report: ReleaseReport
    ) -> list[tuple[str, int, datetime]]:
        """Release one batch in one transaction; returns (number, holder id, held since) of each release.

        The batch was read without locks, and operators keep working meanwhile: a hold may have been
        released, taken over or moved since. So the orders are locked first (the services' lock order) and
        the selection is checked again on what the holds are now; only holds that still match are released.
        """
        with transaction.atomic():
            orders_locked(batch)
            matching = {
                order_id: (operator_id, assigned_at)
                for order_id, operator_id, assigned_at in selection.holds()
                .filter(order_id__in=id_set(batch))
                .values_list("order_id", "operator_id", "assigned_at")
            }
            if len(matching) < len(batch):
                still_held = Assignment.objects.filter(order_id__in=id_set(batch)).count()
                report.changed_meanwhile += still_held - len(matching)
                report.released_meanwhile += len(batch) - still_held
            result = holds_release(order_ids=sorted(matching), reason=reason, actor=None)
        released = []
        for outcome in result:
            if outcome.outcome == Outcome.DONE:
                operator_id, assigned_at = matching[outcome.order_id]
                report.count(operator_id, assigned_at)
                released.append((outcome.number, operator_id, assigned_at))
            else:  # cannot happen under the locks; counted rather than hidden
                report.released_meanwhile += 1
        return released

    # --- output --------------------------------------------------------------------------------------------

    def report(self, report: ReleaseReport, *, as_json: bool) -> None:
        users = users_by_id(report.by_operator)
        tallies = sorted(
            report.by_operator.items(), key=lambda item: (-item[1].holds, _username(users.get(item[0])))
        )
        if as_json:
            self.stdout.write(
                json.dumps(
                    {
                        "dry_run": report.dry_run,
                        "selection": report.selection,
                        "reason": report.reason,
                        ("would_release" if report.dry_run else "released"): report.holds,
                        "by_operator": [
                            {
                                "operator": _username(users.get(operator_id)),
                                "name": user_display_name(users.get(operator_id)),
                                "holds": tally.holds,
                                "oldest_held_since": tally.oldest_held_since.isoformat(),
                            }
                            for operator_id, tally in tallies
                        ],
                        "not_held": report.not_held,
                        "changed_meanwhile": report.changed_meanwhile,
                        "released_meanwhile": report.released_meanwhile,
                        "batches": report.batches,
                        "completed": report.error is None,
                        "error": report.error,
                    },
                    indent=2,
                )
            )
            return
        holds = _plural(report.holds, "hold")
        if report.dry_run:
            self.stdout.write(f"Dry run: would release {holds}; nothing was changed.")
        elif report.error is not None:
            self.stdout.write(self.style.WARNING(f"Released {holds} before the error ({report.reason!r})."))
        elif report.holds:
            self.stdout.write(
                self.style.SUCCESS(
                    f"Released {holds} in {_plural(report.batches, 'batch', 'batches')} ({report.reason!r})."
                )
            )
        else:
            self.stdout.write("No hold matches the selection; nothing was released.")
        verb = "would release" if report.dry_run else "released"
        for operator_id, tally in tallies:
            user = users.get(operator_id)
            self.stdout.write(
                f"  {_username(user)} ({user_display_name(user)}): {verb} {tally.holds},"
                f" oldest held since {held_since_display(tally.oldest_held_since)}"
            )
        if report.not_held:
            self.stdout.write(f"Not held by anyone: {', '.join('#' + number for number in report.not_held)}.")
        if report.changed_meanwhile:
            self.stdout.write(
                f"{_plural(report.changed_meanwhile, 'hold')} changed while the command ran (taken over,"
                " moved, or the order's status changed) and no longer matched: left alone."
            )
        if report.released_meanwhile:
            self.stdout.write(
                f"{_plural(report.released_meanwhile, 'hold')} ended while the command ran (released by"
                " someone else or by a status change)."
            )


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


def _names(values: list[str], prefix: str = "") -> str:
    return ", ".join(repr(f"{prefix}{value}") for value in values)


def _plural(count: int, singular: str, plural: str | None = None) -> str:
    return f"{count:,} {singular if count == 1 else plural or singular + 's'}"
