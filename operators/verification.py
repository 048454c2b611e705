"""Replaying the assignment log against the holds: which orders the log does not account for, and why; and
the orders whose free row (operators_free_order) disagrees with the holds table; and the operators whose
held count (OperatorHoldCount) disagrees with a full count of their holds."""

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import groupby
from operator import itemgetter
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q, Sum

from operators.models import Assignment, AssignmentLog, FreeOrder, OperatorHoldCount
from orderops.db import id_set, streamed_in_transaction
from orders.models import Order

Action = AssignmentLog.Action
RELEASES = frozenset({Action.RELEASED, Action.AUTO_RELEASED, Action.EXPIRED})
MOVES = frozenset({Action.TAKEN_OVER, Action.REASSIGNED})
ACTION_LABELS = dict(Action.choices)

# Rows fetched per round trip from each of the two streams (log rows, holds): memory holds a few chunks,
# however many orders there are.
CHUNK_SIZE = 5000
# Differing orders whose numbers and holders' usernames are looked up together, one query each.
LOOKUP_BATCH = 1000


class LogConflict(NamedTuple):
    """A log row that does not follow from the order's rows before it (ids, as read)."""

    log_id: int
    action: str
    operator_id: int
    previous_operator_id: int | None
    held_by_id: int | None  # the holder the rows before it leave


class OrderReplay(NamedTuple):
    """One order as its log rows tell it (replayed in id order) and as its hold row is."""

    order_id: int
    log_holder_id: int | None
    holder_id: int | None
    log_rows: int
    conflicts: tuple[LogConflict, ...]

    @property
    def differs(self) -> bool:
        return bool(self.conflicts) or self.log_holder_id != self.holder_id


@dataclass(frozen=True, slots=True)
class Contradiction:
    """A log row that contradicts the rows before it, with usernames: e.g. assigned while held."""

    log_row: int
    action: str
    operator: str
    previous_operator: str | None
    held_by: str | None  # the holder the rows before it leave; None: not held

    @property
    def message(self) -> str:
        label = ACTION_LABELS.get(self.action)
        state = _held(self.held_by)
        if self.action == Action.ASSIGNED:
            what = f"assigned to {self.operator}"
        elif self.action in RELEASES:
            what = f"{label} from {self.operator}"
        elif self.action in MOVES:
            what = f"{label} from {self.previous_operator or 'nobody'} to {self.operator}"
        else:
            return f"log row {self.log_row}: unknown action {self.action!r}"
        return f"log row {self.log_row}: {what} while {state}"

    def as_dict(self) -> dict:
        return {
            "log_row": self.log_row,
            "action": self.action,
            "operator": self.operator,
            "previous_operator": self.previous_operator,
            "held_by": self.held_by,
            "message": self.message,
        }


@dataclass(frozen=True, slots=True)
class OrderDifference:
    """An order whose hold the log does not account for: who holds it by the log and by the holds table."""

    order_id: int
    number: str
    log_holder: str | None  # username; None: the log says it is not held
    holder: str | None  # username; None: no hold row
    contradictions: tuple[Contradiction, ...] = ()

    @property
    def message(self) -> str:
        lines = [f"#{self.number}: the log says {_held(self.log_holder)}; the holds say {_held(self.holder)}"]
        lines.extend(f"    {contradiction.message}" for contradiction in self.contradictions)
        return "\n".join(lines)

    def as_dict(self) -> dict:
        return {
            "order": self.number,
            "order_id": self.order_id,
            "log_holder": self.log_holder,
            "holder": self.holder,
            "contradictions": [contradiction.as_dict() for contradiction in self.contradictions],
        }


@dataclass
class LogVerification:
    """What a replay found: counts of everything replayed, and the differing orders (all, or the first
    `max_listed`: `orders_differing` counts them all)."""

    orders_requested: int | None = None  # how many orders were asked for; None: every order
    orders_replayed: int = 0  # orders with a hold or a log row
    orders_held: int = 0
    log_rows: int = 0
    orders_differing: int = 0
    differences: list[OrderDifference] = field(default_factory=list)

    @property
    def agrees(self) -> bool:
        return self.orders_differing == 0

    def add(self, replay: OrderReplay) -> None:
        self.orders_replayed += 1
        self.orders_held += replay.holder_id is not None
        self.log_rows += replay.log_rows
        self.orders_differing += replay.differs

    def summary(self) -> str:
        scope = "" if self.orders_requested is None else f" for {_plural(self.orders_requested, 'order')}"
        counts = f"{_plural(self.orders_held, 'order')} held, {_plural(self.log_rows, 'log row')} replayed"
        if self.agrees:
            return f"Assignment log agrees with the holds{scope}: {counts}."
        differ = (
            f"{self.orders_differing:,} {'order differs' if self.orders_differing == 1 else 'orders differ'}"
        )
        return f"Assignment log disagrees with the holds{scope}: {differ} ({counts})."

    def as_dict(self) -> dict:
        return {
            "agrees": self.agrees,
            "orders_requested": self.orders_requested,
            "orders_replayed": self.orders_replayed,
            "orders_held": self.orders_held,
            "log_rows": self.log_rows,
            "orders_differing": self.orders_differing,
            "summary": self.summary(),
        }


def order_replays(
    *, order_ids: Iterable[int] | None = None, chunk_size: int = CHUNK_SIZE
) -> Iterator[OrderReplay]:
    """Every order that has a log row or a hold (or those of `order_ids`), ascending by id.

    Two sorted streams, the log rows and the holds, are read side by side and merged on the order id, so
    memory stays a few chunks whatever the size of the tables. Per order, rows replay in id order: changes
    to one order are serialized by its row lock, so ids follow commit order. A row that contradicts the rows
    before it is reported as a conflict and then taken at its word (an `assigned` row makes its operator
    the holder, a release leaves nobody), so that one bad row is not blamed for every row after it. The
    streams are server-side cursors on PostgreSQL, read inside a transaction (`streamed_in_transaction`).
    """
    log_rows = AssignmentLog.objects.order_by("order_id", "id").values_list(
        "order_id", "id", "action", "operator_id", "previous_operator_id"
    )
    holds = Assignment.objects.order_by("order_id").values_list("order_id", "operator_id")
    if order_ids is not None:
        ids = list(order_ids)
        log_rows = log_rows.filter(order_id__in=id_set(ids))
        holds = holds.filter(order_id__in=id_set(ids))
    with streamed_in_transaction():
        hold_stream = holds.iterator(chunk_size=chunk_size)
        hold = next(hold_stream, None)
        for order_id, rows in groupby(log_rows.iterator(chunk_size=chunk_size), key=itemgetter(0)):
            while hold is not None and hold[0] < order_id:
                yield OrderReplay(hold[0], None, hold[1], 0, ())
                hold = next(hold_stream, None)
            holder_id = None
            if hold is not None and hold[0] == order_id:
                holder_id = hold[1]
                hold = next(hold_stream, None)
            yield _replay(order_id, rows, holder_id)
        while hold is not None:
            yield OrderReplay(hold[0], None, hold[1], 0, ())
            hold = next(hold_stream, None)


def _replay(order_id: int, rows: Iterable[tuple], holder_id: int | None) -> OrderReplay:
    current: int | None = None
    count = 0
    conflicts: list[LogConflict] = []
    for _order_id, log_id, action, operator_id, previous_operator_id in rows:
        count += 1
        if action == Action.ASSIGNED:
            contradicts = current is not None
            after = operator_id
        elif action in RELEASES:
            contradicts = current != operator_id
            after = None
        elif action in MOVES:
            contradicts = current is None or current != previous_operator_id
            after = operator_id
        else:
            contradicts, after = True, current
        if contradicts:
            conflicts.append(LogConflict(log_id, action, operator_id, previous_operator_id, current))
        current = after
    return OrderReplay(order_id, current, holder_id, count, tuple(conflicts))


def assignment_log_differences(
    verification: LogVerification,
    *,
    order_ids: Iterable[int] | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> Iterator[OrderDifference]:
    """The orders whose hold the log does not account for, ascending by id, with numbers and usernames;
    `verification` counts everything replayed as it goes. Read-only; streams (see order_replays)."""
    with _one_snapshot():
        names = _Names()
        pending: list[OrderReplay] = []
        for replay in order_replays(order_ids=order_ids, chunk_size=chunk_size):
            verification.add(replay)
            if replay.differs:
                pending.append(replay)
                if len(pending) >= LOOKUP_BATCH:
                    yield from names.differences(pending)
                    pending = []
        yield from names.differences(pending)


def assignment_log_verify(
    *,
    order_ids: Iterable[int] | None = None,
    max_listed: int | None = None,
    chunk_size: int = CHUNK_SIZE,
) -> LogVerification:
    """Replay the log (of every order, or of `order_ids`) and compare it with the holds (invariant 2).
    Never raises for what it finds: the result lists the differing orders, the first `max_listed` of them
    when given (to bound memory; `orders_differing` counts them all)."""
    ids = None if order_ids is None else list(dict.fromkeys(order_ids))
    verification = LogVerification(orders_requested=None if ids is None else len(ids))
    for difference in assignment_log_differences(verification, order_ids=ids, chunk_size=chunk_size):
        if max_listed is None or len(verification.differences) < max_listed:
            verification.differences.append(difference)
    return verification


@contextmanager
def _one_snapshot() -> Iterator[None]:
    """On PostgreSQL, read the log and the holds in one REPEATABLE READ snapshot: a change committed while
    the replay runs is then seen in both streams or in neither, so operators can keep working. Inside a
    caller's transaction, its reads are used as they are. SQLite (demo and development) stays in autocommit:
    its transactions are IMMEDIATE (orderops.settings) and would lock out every writer while the replay runs.
    """
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        yield


class _Names:
    """Order numbers and usernames for differing orders, looked up a batch at a time; usernames are kept
    (there are few operators)."""

    def __init__(self) -> None:
        self.usernames: dict[int, str] = {}

    def differences(self, replays: list[OrderReplay]) -> list[OrderDifference]:
        if not replays:
            return []
        numbers = dict(
            Order.objects.filter(pk__in=id_set(replay.order_id for replay in replays)).values_list(
                "pk", "number"
            )
        )
        self._look_up_users(replays)
        return [
            OrderDifference(
                order_id=replay.order_id,
                number=numbers.get(replay.order_id, f"? (order id {replay.order_id})"),
                log_holder=self.username(replay.log_holder_id),
                holder=self.username(replay.holder_id),
                contradictions=tuple(
                    Contradiction(
                        log_row=conflict.log_id,
                        action=conflict.action,
                        operator=self.username(conflict.operator_id) or "?",
                        previous_operator=self.username(conflict.previous_operator_id),
                        held_by=self.username(conflict.held_by_id),
                    )
                    for conflict in replay.conflicts
                ),
            )
            for replay in replays
        ]

    def _look_up_users(self, replays: list[OrderReplay]) -> None:
        mentioned: set[int | None] = set()
        for replay in replays:
            mentioned.update((replay.log_holder_id, replay.holder_id))
            for conflict in replay.conflicts:
                mentioned.update((conflict.operator_id, conflict.previous_operator_id, conflict.held_by_id))
        wanted = {user_id for user_id in mentioned if user_id is not None} - self.usernames.keys()
        if wanted:
            user_model = get_user_model()
            self.usernames.update(
                user_model.objects.filter(pk__in=wanted).values_list("pk", user_model.USERNAME_FIELD)
            )

    def username(self, user_id: int | None) -> str | None:
        if user_id is None:
            return None
        return self.usernames.get(user_id, f"user #{user_id}")


def _held(username: str | None) -> str:
    return f"held by {username}" if username is not None else "not held"


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun if count == 1 else noun + 's'}"


@dataclass(frozen=True, slots=True)
class FreeOrderDifference:
    """An order whose free row (operators_free_order, the queue of free orders the triggers keep) disagrees
    with its hold row or with the order itself."""

    order_id: int
    number: str  # "?" for a free row whose order does not exist
    marked_held: bool  # no free row, yet the holds table has no hold for it
    stale: bool = False  # a free row as it should be, but with another status or created_at than its order's

    @property
    def message(self) -> str:
        if self.stale:
            return f"#{self.number}: its free row's status or created date differs from the order's"
        if self.number == "?":
            return f"order id {self.order_id}: a free row for an order that does not exist"
        listed, holds = ("not free", "not held") if self.marked_held else ("free", "held")
        return f"#{self.number}: the free orders say {listed}; the holds say {holds}"

    def as_dict(self) -> dict:
        return {
            "order": self.number,
            "order_id": self.order_id,
            "marked_held": self.marked_held,
            "stale": self.stale,
        }


def free_order_differences(*, max_listed: int | None = None) -> list[FreeOrderDifference]:
    """Every order (or the first `max_listed`, by id) whose free row disagrees with the holds table: held
    and listed free (claim next would offer it), or free without its row (no queue would show it), or listed
    with another status or created_at than its own (a queue would show it under the wrong status); then the
    free rows of orders that do not exist. The triggers of operators migration 0013 keep this empty;
    read-only, two statements (a scan of the orders, one of the free rows)."""
    has_hold = Exists(Assignment.objects.filter(order_id=OuterRef("pk")))
    free = FreeOrder.objects.filter(order_id=OuterRef("pk"))
    has_free = Exists(free)
    true_free = Exists(free.filter(status_id=OuterRef("status_id"), created_at=OuterRef("created_at")))
    rows = (
        Order.objects.alias(held=has_hold, listed=has_free, listed_truly=true_free)
        .filter((Q(held=True) & Q(listed=True)) | (Q(held=False) & Q(listed_truly=False)))
        .annotate(is_listed=has_free)
        .order_by("pk")
        .values_list("pk", "number", "is_listed")
    )
    if max_listed is not None:
        rows = rows[:max_listed]
    differences = []
    for pk, number, is_listed in rows:
        held = Assignment.objects.filter(order_id=pk).exists() if is_listed else False
        differences.append(
            FreeOrderDifference(pk, number, marked_held=not is_listed, stale=is_listed and not held)
        )
    orphans = (
        FreeOrder.objects.filter(~Exists(Order.objects.filter(pk=OuterRef("order_id"))))
        .order_by("order_id")
        .values_list("order_id", flat=True)
    )
    left = None if max_listed is None else max(max_listed - len(differences), 0)
    if left != 0:
        differences.extend(
            FreeOrderDifference(order_id, "?", marked_held=False)
            for order_id in (orphans if left is None else orphans[:left])
        )
    return differences


@dataclass(frozen=True, slots=True)
class CountDifference:
    """An operator whose held count (operators_hold_count, the counter the triggers keep) disagrees with a
    full count of their holds."""

    operator_id: int
    username: str
    counted: int  # what the counter says
    held: int  # what a full count of the holds says

    @property
    def message(self) -> str:
        return f"{self.username}: the held count says {self.counted:,}; the holds say {self.held:,}"

    def as_dict(self) -> dict:
        return {
            "operator": self.username,
            "operator_id": self.operator_id,
            "counted": self.counted,
            "held": self.held,
        }


def hold_count_differences() -> list[CountDifference]:
    """Every operator whose counter disagrees with a full count of their holds (a missing counter row counts
    as 0), by id. The triggers of operators migration 0008 make this empty; read-only, two statements (the
    full count is one scan of the holds' operator index), in one snapshot on PostgreSQL."""
    with _one_snapshot():
        held = dict(
            Assignment.objects.order_by()
            .values("operator_id")
            .annotate(n=Count("pk"))
            .values_list("operator_id", "n")
        )
        counted = dict(
            OperatorHoldCount.objects.values("operator_id")
            .annotate(n=Sum("held"))
            .values_list("operator_id", "n")
        )
    differing = sorted(
        operator_id
        for operator_id in held.keys() | counted.keys()
        if held.get(operator_id, 0) != counted.get(operator_id, 0)
    )
    if not differing:
        return []
    user_model = get_user_model()
    names = dict(user_model.objects.filter(pk__in=differing).values_list("pk", user_model.USERNAME_FIELD))
    return [
        CountDifference(
            operator_id,
            names.get(operator_id, f"user #{operator_id}"),
            counted.get(operator_id, 0),
            held.get(operator_id, 0),
        )
        for operator_id in differing
    ]


@dataclass(frozen=True, slots=True)
class ActivityDifference:
    """A quarter of an hour of one operator whose counters (operators_activity_count) disagree with a count
    of the log rows in it."""

    operator_id: int
    username: str
    period_start: str  # as the database gives it
    counted: tuple[int, int]  # (taken, released) by the counters
    logged: tuple[int, int]  # by the log

    @property
    def message(self) -> str:
        return (
            f"{self.username}, the quarter from {self.period_start}: the activity counts say taken"
            f" {self.counted[0]:,}, released {self.counted[1]:,}; the log says taken {self.logged[0]:,},"
            f" released {self.logged[1]:,}"
        )

    def as_dict(self) -> dict:
        return {
            "operator": self.username,
            "operator_id": self.operator_id,
            "period_start": self.period_start,
            "counted": list(self.counted),
            "logged": list(self.logged),
        }


def activity_count_differences() -> list[ActivityDifference]:
    """Every (operator, quarter of an hour) whose taken and released counters disagree with a count of the
    log (a missing row counts as 0, 0), by operator and time. The trigger of operators migration 0008
    makes this empty; read-only, two statements (one a scan of the log), in one snapshot on PostgreSQL."""
    from operators.triggers import hold_count as _hold_count  # the grouping the counters' backfill uses

    with _one_snapshot(), connection.cursor() as cursor:
        cursor.execute(_hold_count.activity_select(connection.vendor))
        logged = {(row[0], str(row[1])): (row[2], row[3]) for row in cursor.fetchall()}
        cursor.execute(
            f"SELECT operator_id, period_start, sum(taken), sum(released) FROM {_hold_count.ACTIVITY}"
            " GROUP BY operator_id, period_start"
        )
        counted = {(row[0], str(row[1])): (row[2], row[3]) for row in cursor.fetchall()}
    differing = sorted(
        key for key in logged.keys() | counted.keys() if logged.get(key, (0, 0)) != counted.get(key, (0, 0))
    )
    if not differing:
        return []
    user_model = get_user_model()
    names = dict(
        user_model.objects.filter(pk__in={key[0] for key in differing}).values_list(
            "pk", user_model.USERNAME_FIELD
        )
    )
    return [
        ActivityDifference(
            operator_id,
            names.get(operator_id, f"user #{operator_id}"),
            period,
            counted.get((operator_id, period), (0, 0)),
            logged.get((operator_id, period), (0, 0)),
        )
        for operator_id, period in differing
    ]
