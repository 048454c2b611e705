"""Releasing every hold a selection matches (operators, statuses, age, order numbers, or all), in batches."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from operators.models import Assignment
from operators.services.release import holds_release
from orderops.conf import orderops_setting
from orderops.db import id_set
from orderops.types import Actor
from orders.locking import orders_locked
from orders.models import Order, OrderStatus
from orders.results import Code, Outcome, RequestRefused, reason_checked

# Holds released per transaction: small enough that operators never wait long for a locked order, large
# enough that 100,000 holds take a few hundred statements. At most ORDEROPS["BULK_MAX_ORDERS"].
DEFAULT_BATCH_SIZE = 1000


@dataclass(frozen=True)
class HoldSelection:
    """Which holds: each criterion given must match (AND); one with several values matches any (OR).

    `all` selects every hold and cannot be combined with a criterion; a selection of nothing is refused.
    People name operators and orders, so the selection does too: usernames and order numbers.
    """

    operators: tuple[str, ...] = ()  # usernames of the holders
    status_codes: tuple[str, ...] = ()  # the orders' statuses
    older_than: timedelta | None = None  # taken more than this long ago
    order_numbers: tuple[str, ...] = ()
    all: bool = False

    @property
    def has_criteria(self) -> bool:
        return bool(self.operators or self.status_codes or self.order_numbers) or self.older_than is not None


@dataclass(frozen=True, slots=True)
class ReleasedHold:
    """One hold the run released (in a dry run: would release): whose it was and since when."""

    order_id: int
    number: str
    operator_id: int
    assigned_at: datetime


@dataclass(frozen=True)
class ReleasedBatch:
    """One batch: the holds it released, and those that matched when it was read but not under the locks."""

    size: int  # holds selected for the batch when it was read
    last_order_id: int
    holds: list[ReleasedHold]
    changed_meanwhile: int = 0  # still held, but taken over, moved or their order's status changed
    released_meanwhile: int = 0  # ended by someone else (a release, a status change)


@dataclass
class OperatorTally:
    holds: int = 0
    oldest_held_since: datetime | None = None

    def add(self, assigned_at: datetime) -> None:
        self.holds += 1
        if self.oldest_held_since is None or assigned_at < self.oldest_held_since:
            self.oldest_held_since = assigned_at


@dataclass
class HoldsReleased:
    """What a run did (in a dry run: would do); counts only, so memory stays flat however many holds."""

    dry_run: bool
    reason: str
    not_held: list[str] = field(default_factory=list)  # numbers in the selection that nobody holds
    by_operator: dict[int, OperatorTally] = field(default_factory=dict)
    batches: int = 0
    changed_meanwhile: int = 0
    released_meanwhile: int = 0
    last_order_id: int = 0

    @property
    def holds(self) -> int:
        return sum(tally.holds for tally in self.by_operator.values())

    def add(self, batch: ReleasedBatch) -> None:
        for hold in batch.holds:
            self.by_operator.setdefault(hold.operator_id, OperatorTally()).add(hold.assigned_at)
        self.batches += 1
        self.last_order_id = batch.last_order_id
        self.changed_meanwhile += batch.changed_meanwhile
        self.released_meanwhile += batch.released_meanwhile


class HoldsReleaseStopped(Exception):
    """A batch failed (or the run was interrupted): the batches before it stay released, as `released`
    counts them; the failed batch changed nothing; later ones were not tried. `error` is what stopped it."""

    def __init__(self, released: HoldsReleased, error: BaseException) -> None:
        super().__init__(str(error) or type(error).__name__)
        self.released = released
        self.error = error


def _names(values: list[str], prefix: str = "") -> str:
    return ", ".join(repr(f"{prefix}{value}") for value in values)


def _condition(selection: HoldSelection, *, now: datetime) -> tuple[Q, tuple[int, ...]]:
    """The selection as a condition on Assignment, and the ids of the orders it names. Refuses a selection
    of nothing, `all` with a criterion, and unknown operators, statuses or orders: nothing has changed yet."""
    if selection.all and selection.has_criteria:
        raise RequestRefused(
            _("Nothing was released: all holds cannot be combined with operators, statuses, age or orders."),
            code=Code.INVALID_INPUT,
        )
    if not selection.all and not selection.has_criteria:
        raise RequestRefused(
            _("Nothing was released: say which holds (operators, statuses, an age, orders) or all of them."),
            code=Code.INVALID_INPUT,
        )
    condition = Q()
    if selection.operators:
        usernames = list(dict.fromkeys(selection.operators))
        found = dict(get_user_model().objects.filter(username__in=usernames).values_list("username", "pk"))
        unknown = [name for name in usernames if name not in found]
        if unknown:
            raise RequestRefused(
                _("Unknown operator %(names)s: no user has that username. Nothing was released.")
                % {"names": _names(unknown)},
                code=Code.INVALID_INPUT,
            )
        condition &= Q(operator_id__in=[found[name] for name in usernames])
    if selection.status_codes:
        codes = list(dict.fromkeys(selection.status_codes))
        known = list(OrderStatus.objects.values_list("code", flat=True))
        unknown = [code for code in codes if code not in known]
        if unknown:
            raise RequestRefused(
                _("Unknown status %(names)s; the statuses are %(known)s. Nothing was released.")
                % {"names": _names(unknown), "known": ", ".join(known)},
                code=Code.INVALID_INPUT,
            )
        condition &= Q(order__status_id__in=codes)
    if selection.older_than is not None:
        if selection.older_than <= timedelta(0):
            raise RequestRefused(
                _("Nothing was released: the age of a hold must be longer than zero."),
                code=Code.INVALID_INPUT,
            )
        condition &= Q(assigned_at__lt=now - selection.older_than)
    order_ids: tuple[int, ...] = ()
    if selection.order_numbers:
        numbers = list(dict.fromkeys(selection.order_numbers))
        found = dict(Order.objects.filter(number__in=numbers).values_list("number", "pk"))
        unknown = [number for number in numbers if number not in found]
        if unknown:
            raise RequestRefused(
                _("Unknown order %(names)s: no order has that number. Nothing was released.")
                % {"names": _names(unknown, "#")},
                code=Code.INVALID_INPUT,
            )
        order_ids = tuple(found[number] for number in numbers)
        condition &= Q(order_id__in=order_ids)
    return condition, order_ids


def holds_selected(selection: HoldSelection, *, now: datetime | None = None) -> QuerySet[Assignment]:
    """The holds the selection matches now, read without locks (to count them, or show them). Refuses a
    selection that names an unknown operator, status or order, as holds_release_matching does."""
    condition, _order_ids = _condition(selection, now=now or timezone.now())
    return Assignment.objects.filter(condition)


def _hold_batches(holds: QuerySet[Assignment], batch_size: int) -> Iterator[list[int]]:
    """The holds' order ids, ascending, `batch_size` at a time; each batch is read when it is needed (keyset
    on order_id), so neither ids nor models pile up in memory."""
    order_ids = holds.order_by("order_id").values_list("order_id", flat=True)
    last = 0
    while True:
        batch = list(order_ids.filter(order_id__gt=last)[:batch_size])
        if not batch:
            return
        yield batch
        last = batch[-1]


def _batch_read(batch: list[int]) -> ReleasedBatch:
    """A dry run's batch: the holds as they are, nothing locked or changed."""
    rows = (
        Assignment.objects.filter(order_id__in=id_set(batch))
        .order_by("order_id")
        .values_list("order_id", "order__number", "operator_id", "assigned_at")
    )
    return ReleasedBatch(len(batch), batch[-1], [ReleasedHold(*row) for row in rows])


def _batch_release(batch: list[int], condition: Q, *, reason: str, actor: Actor | None) -> ReleasedBatch:
    """Release one batch in one transaction.

    The batch was read without locks, and operators keep working meanwhile: a hold may have been released,
    taken over or moved since. So the orders are locked first (the services' lock order) and the selection
    is checked again on what the holds are now; only holds that still match are released.
    """
    changed_meanwhile = released_meanwhile = 0
    with transaction.atomic():
        orders_locked(batch)
        matching = {
            order_id: (operator_id, assigned_at)
            for order_id, operator_id, assigned_at in Assignment.objects.filter(
                condition, order_id__in=id_set(batch)
            ).values_list("order_id", "operator_id", "assigned_at")
        }
        if len(matching) < len(batch):
            still_held = Assignment.objects.filter(order_id__in=id_set(batch)).count()
            changed_meanwhile = still_held - len(matching)
            released_meanwhile = len(batch) - still_held
        result = holds_release(order_ids=sorted(matching), reason=reason, actor=actor)
    released = []
    for outcome in result:
        if outcome.outcome == Outcome.DONE:
            operator_id, assigned_at = matching[outcome.order_id]
            released.append(ReleasedHold(outcome.order_id, outcome.number or "", operator_id, assigned_at))
        else:  # cannot happen under the locks; counted rather than hidden
            released_meanwhile += 1
    return ReleasedBatch(len(batch), batch[-1], released, changed_meanwhile, released_meanwhile)


def holds_release_matching(
    *,
    selection: HoldSelection,
    reason: str,
    actor: Actor | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
    dry_run: bool = False,
    now: datetime | None = None,
    on_batch: Callable[[ReleasedBatch], None] | None = None,
) -> HoldsReleased:
    """Release the holds `selection` matches, on behalf of `actor` (None: the system), logged as released
    with `reason`, through holds_release: one log row per hold, in the hold's own transaction.

    No permission check: this is the system's clean-up (commands, incident tooling); a surface for people
    asks operators.rules first. Works `batch_size` holds at a time, each batch in its own transaction so
    that operators never wait long for a locked order; ids are streamed, so memory stays flat. `older_than`
    counts from `now` (default: when the call starts), once for the whole run. A dry run reads the same
    batches and changes nothing. `on_batch` hears of each batch once it has committed.

    Refuses bad input before anything changes (RequestRefused). A batch that fails raises
    HoldsReleaseStopped with what the batches before it released.
    """
    limit = orderops_setting("BULK_MAX_ORDERS")
    if not 1 <= batch_size <= limit:
        raise RequestRefused(
            _("Nothing was released: a batch holds 1 to %(limit)s orders, not %(size)s.")
            % {"limit": limit, "size": batch_size},
            code=Code.TOO_MANY,
        )
    condition, order_ids = _condition(selection, now=now or timezone.now())
    reason = reason_checked(reason, required=False, refused=_("Nothing was released"))
    released = HoldsReleased(dry_run=dry_run, reason=reason)
    if order_ids:
        # Named orders nobody holds: said, so that a mistyped number that happens to exist is noticed.
        released.not_held = list(
            Order.objects.filter(pk__in=order_ids, assignment__isnull=True)
            .order_by("number")
            .values_list("number", flat=True)
        )
    batches = _hold_batches(Assignment.objects.filter(condition), batch_size)
    if dry_run:
        for batch in batches:
            read = _batch_read(batch)
            released.add(read)
            if on_batch is not None:
                on_batch(read)
        return released
    try:
        for batch in batches:
            done = _batch_release(batch, condition, reason=reason, actor=actor)
            released.add(done)
            if on_batch is not None:
                on_batch(done)
    except (Exception, KeyboardInterrupt) as error:
        raise HoldsReleaseStopped(released, error) from error
    return released
