"""Claim next: the oldest unassigned order in a claimable status, taken by the clicker."""

import functools
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from weakref import WeakKeyDictionary

from django.db import connection, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Field
from django.db.models.expressions import Col
from django.utils import timezone
from django.utils.translation import gettext as _

from operators import log, rules
from operators.models import Assignment, AssignmentLog, FreeOrder
from operators.selectors import orders_let_go_recently_sql
from operators.services._holds import capacity_left, check_logged, holds_insert
from orderops.conf import orderops_setting
from orderops.db import db_datetime, id_set_sql, prepared_statement
from orderops.service_log import service_logged
from orderops.types import Actor
from orders.models import Order, OrderStatus
from orders.results import Code

# How often claim next retries when a concurrent claimer committed the same order between its snapshot
# and its insert; each retry sees that commit. Under heavy contention a quarter of attempts can collide, so
# the budget is generous: giving up would tell the operator "nothing to take" while orders wait.
CLAIM_ATTEMPTS = 50
# Candidates per claimable status that claim next considers before skipping locked rows; raised when all of
# them are being claimed by others at that moment.
CLAIM_WINDOWS = (16, 256, 4096, None)


@dataclass(frozen=True)
class ClaimResult:
    outcome: Code
    order: Order | None = None
    message: str = ""


@dataclass(frozen=True)
class PassingOver:
    """What a claim passes over while another order is free: `order_ids` (the caller's: orders a colleague
    has open right now, say), and the orders `let_go_by` released themselves recently."""

    order_ids: frozenset[int] = frozenset()
    let_go_by: Actor | None = None

    def __bool__(self) -> bool:
        return bool(self.order_ids) or self.let_go_by is not None


@dataclass(frozen=True)
class Taken:
    """What one claim did: the candidate it picked (None: none free in this window), and, when its hold and
    log row went in, the order with its status."""

    picked: int | None
    order: Order | None = None


def _claim_taken_one_at_a_time(
    statuses: list[str], actor: Actor, at: datetime, passing_over: PassingOver
) -> Taken:
    """SQLite, which runs one writing transaction at a time: the oldest free order, its hold, its log row
    and the order read back, one statement each."""
    sql, params = claim_candidate_sql(
        statuses, None, passing_over.order_ids, let_go_by=passing_over.let_go_by, now=at
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return Taken(None)
    if not holds_insert(order_ids=[row[0]], holder=actor, assigned_by=actor, at=at):
        return Taken(row[0])
    check_logged(log.log_assigned(order_ids=[row[0]], actor=actor, at=at), 1)
    return Taken(row[0], _claimed_order(row[0]))


def _claim_taken(
    statuses: list[str], window: int | None, actor: Actor, at: datetime, passing_over: PassingOver
) -> Taken:
    """PostgreSQL: pick the candidate, insert its hold and its 'assigned' log row, and return the order, in
    one statement (the raw claim's shape: no round trip between the writes). A candidate without a hold
    means a writer that bypassed the order's row lock took it first (the unique constraint refused ours).

    The order comes from the locked row itself (FOR NO KEY UPDATE returns its newest version, whatever the
    statement's snapshot saw); this statement's hold deletes its free row (a trigger), not a word of it."""
    candidate, candidate_params = claim_candidate_sql(
        statuses,
        window,
        passing_over.order_ids,
        columns=_order_columns(),
        let_go_by=passing_over.let_go_by,
        now=at,
    )
    when = db_datetime(at)
    log_insert, log_params = log.assigned_from_sql("claimed", actor=actor, at=at)
    # The same hold row as _holds.holds_insert writes, from the candidate locked by the same statement.
    sql = (
        f"WITH picked AS ({candidate}), claimed AS ("
        f"  INSERT INTO {Assignment._meta.db_table}"
        "  (order_id, operator_id, assigned_by_id, assigned_at, last_activity_at, order_created_at)"
        "  SELECT id, %s, %s, %s, %s, created_at FROM picked"
        "  ON CONFLICT (order_id) DO NOTHING RETURNING order_id, operator_id"
        f"), logged AS ({log_insert})"
        " SELECT picked.*, s.label, s.position, s.releases_assignment,"
        "  logged.id, logged.order_id, logged.operator_id, logged.previous_operator_id"
        f" FROM picked JOIN {OrderStatus._meta.db_table} s ON s.code = picked.status_id"
        " LEFT JOIN logged ON logged.order_id = picked.id"
    )
    # Prepared once per server connection, and its generic plan run: planning this statement cost more than
    # running it (0.4 of 0.7 ms). Its plan does not depend on the values: the front of each status's free
    # orders, by index, whatever they are.
    prepared, arguments = prepared_statement(
        sql,
        [*candidate_params, actor.pk, actor.pk, when, when, *log_params],
        fingerprint=_claim_fingerprint(connection.vendor),
        generic=True,
    )
    with connection.cursor() as cursor:
        cursor.execute(prepared, arguments)
        row = cursor.fetchone()
    if row is None:
        return Taken(None)
    order_columns = len(row) - 3 - 4  # the order's, then the status's three and the log row's four
    names = [column[0] for column in cursor.description[:order_columns]]
    log_row = row[-4:]
    if log_row[0] is None:
        return Taken(row[names.index("id")])
    order = _order_with_status(names, row[:order_columns], row[order_columns:-4])
    logged = log.announce(
        action=log.Action.ASSIGNED,
        order_ids=[order.pk],
        actor=actor,
        at=at,
        reason="",
        rows=[(*log_row, order.store_id)],
    )
    check_logged(logged, 1)
    return Taken(order.pk, order)


STATUS_COLUMNS = ("code", "label", "position", "releases_assignment")


@functools.cache
def _order_columns() -> str:
    """The order's columns as the claim selects them, named one by one (a prepared `o.*` would keep the
    column list of the moment it was prepared)."""
    return ", ".join(f'o."{field.column}"' for field in Order._meta.concrete_fields)


@functools.cache
def _claim_fingerprint(vendor: str = "postgresql") -> str:
    """The types of every column the claim's statement reads or returns, as this code knows them: a prepared
    claim made for other types (before a migration) is never executed for these."""
    return ";".join(
        f"{field.column}:{field.db_type(connection)}"
        for model in (Order, OrderStatus, Assignment, AssignmentLog)
        for field in model._meta.concrete_fields
    )


@dataclass(frozen=True)
class ModelReading:
    """How a model's row is read as the ORM reads it: the fields, and for those that need it the column
    expression and the converters a query of it applies (the compiler's: the backend's, then the field's)."""

    fields: list[Field]
    attnames: list[str]
    conversions: list[tuple[int, Col, list]]

    @classmethod
    def of(cls, fields: list[Field], wrapper: BaseDatabaseWrapper) -> "ModelReading":
        conversions = []
        for position, field in enumerate(fields):
            column = field.get_col(field.model._meta.db_table)
            converters = wrapper.ops.get_db_converters(column) + column.get_db_converters(wrapper)
            if converters:
                conversions.append((position, column, converters))
        return cls(fields, [field.attname for field in fields], conversions)

    def converted(self, values: list, wrapper: BaseDatabaseWrapper) -> list:
        for position, column, converters in self.conversions:
            value = values[position]
            for converter in converters:
                value = converter(value, column, wrapper)
            values[position] = value
        return values


# The readings of an order and of its status, per connection (each thread has its own): the same for every
# claim it makes, and working them out cost a claim more than its conversions do.
_readings: "WeakKeyDictionary[BaseDatabaseWrapper, tuple[ModelReading, ModelReading]]" = WeakKeyDictionary()


def _order_and_status_readings(wrapper: BaseDatabaseWrapper) -> tuple[ModelReading, ModelReading]:
    readings = _readings.get(wrapper)
    if readings is None:
        status_fields = [
            field for name in STATUS_COLUMNS if isinstance(field := OrderStatus._meta.get_field(name), Field)
        ]
        readings = (
            ModelReading.of(list(Order._meta.concrete_fields), wrapper),
            ModelReading.of(status_fields, wrapper),
        )
        _readings[wrapper] = readings
    return readings


def _order_with_status(names: list[str], values, status_values) -> Order:
    """An Order from its row's columns, its status (label, position, releases_assignment) cached on it as
    select_related would; each value converted as the ORM converts what it reads (SQLite's datetimes and
    flags, say)."""
    wrapper = connections[connection.alias]
    order_reading, status_reading = _order_and_status_readings(wrapper)
    # from_db takes the values in the model's field order, which need not be the table's column order
    by_column: dict[str | None, object] = dict(zip(names, values, strict=True))
    order = Order.from_db(
        wrapper.alias,
        order_reading.attnames,
        order_reading.converted([by_column[field.column] for field in order_reading.fields], wrapper),
    )
    status = OrderStatus.from_db(
        wrapper.alias,
        status_reading.attnames,
        status_reading.converted([order.status_id, *status_values], wrapper),
    )
    Order.status.field.set_cached_value(order, status)
    return order


def _claimed_order(order_id: int) -> Order:
    """The claimed order with its status, in one query (a fraction of the ORM's select_related get)."""
    order_table, status_table = Order._meta.db_table, OrderStatus._meta.db_table
    sql = (
        f"SELECT o.*, s.label, s.position, s.releases_assignment FROM {order_table} o"
        f" JOIN {status_table} s ON s.code = o.status_id WHERE o.id = %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [order_id])
        row = cursor.fetchone()
        names = [column[0] for column in cursor.description[:-3]]
    return _order_with_status(names, row[:-3], row[-3:])


def claim_candidate_sql(
    statuses: list[str],
    window: int | None,
    avoid: Collection[int] = (),
    *,
    columns: str = "o.id",
    let_go_by: Actor | None = None,
    now: datetime | None = None,
) -> tuple[str, list]:
    """Claim next's candidate statement for this connection's database, and its parameters.

    The free orders are a narrow table of their own (FreeOrder, one row per order nobody holds, kept in
    step with the holds and the orders by triggers): a claim reads the front of its index per status and
    never steps over held ones, however many there are, and its hold writes the narrow row, not the
    order's. Orders in `avoid` are passed over
    (one parameter, whatever their number: the statement's text does not depend on it), and so are the
    orders `let_go_by` released themselves recently (a subquery of the log: orders_let_go_recently_sql).
    `columns`: what it selects of the order `o` (on PostgreSQL, of the locked row).
    """
    order, free = Order._meta.db_table, FreeOrder._meta.db_table
    passed_over = [id_set_sql(avoid)] if avoid else []
    if let_go_by is not None:
        passed_over.append(orders_let_go_recently_sql(let_go_by, now=now or timezone.now()))
    avoiding = " UNION ALL ".join(sql for sql, _params in passed_over)
    avoid_params = [param for _sql, params in passed_over for param in params]
    if connection.vendor != "postgresql":
        # SQLite runs one writing transaction at a time: the plain oldest free order is ours.
        placeholders = ", ".join(["%s"] * len(statuses))
        sql = (
            f"SELECT {columns} FROM {free} f JOIN {order} o ON o.id = f.order_id"
            f" WHERE f.status_id IN ({placeholders})"
            + (f" AND f.order_id NOT IN ({avoiding})" if avoiding else "")
            + " ORDER BY f.created_at, f.order_id LIMIT 1"
        )
        params: list = [*statuses, *avoid_params]
    else:
        # For each claimable status, the oldest few free orders (the front of free_order_front_idx); of
        # those, the oldest that nobody else is claiming right now. SKIP LOCKED: eight operators clicking at
        # once get eight different orders, with no waiting. The candidates, oldest first, are computed once
        # (an init plan) and numbered; the outer query fetches them by primary key and locks the first one
        # it can, in that order: its free row (which the hold's trigger then deletes) and its order row (a
        # lock, not a write: the services that change an order or its hold lock the same row first). The
        # statuses are checked again on the locked rows: a claim committed since this statement's snapshot
        # has deleted the free row, and a status change has rewritten both.
        limit = "" if window is None else "LIMIT %s"
        passing = f" AND c.order_id NOT IN ({avoiding})" if avoiding else ""
        sql = (
            f"SELECT {columns} FROM unnest(ARRAY("
            "  SELECT candidate.order_id FROM unnest(%s::varchar[]) AS claimable(code)"
            "  CROSS JOIN LATERAL ("
            f"    SELECT c.order_id, c.created_at FROM {free} c WHERE c.status_id = claimable.code"
            f"{passing}"
            f"    ORDER BY c.created_at, c.order_id {limit}"
            "  ) AS candidate"
            "  ORDER BY candidate.created_at, candidate.order_id"
            ")) WITH ORDINALITY AS queue(id, position)"
            f" JOIN {free} f ON f.order_id = queue.id"
            f" JOIN {order} o ON o.id = queue.id"
            " WHERE f.status_id = ANY(%s::varchar[]) AND o.status_id = ANY(%s::varchar[])"
            " ORDER BY queue.position LIMIT 1"
            " FOR UPDATE OF f SKIP LOCKED FOR NO KEY UPDATE OF o SKIP LOCKED"
        )
        params = [statuses, *avoid_params, *([] if window is None else [window]), statuses, statuses]
    return sql, params


@service_logged("order_claim_next")
@transaction.atomic
def order_claim_next(*, actor: Actor, avoid_order_ids: Collection[int] = ()) -> ClaimResult:
    """Take the oldest unassigned order whose status is in ORDEROPS["CLAIMABLE_STATUSES"]: every surface's
    "Get next order" (the console's button, the API's claim-next) is this, and chooses alike.

    Passed over while any other order is free: `avoid_order_ids` (the orders a colleague has open right now,
    say: live presence, which the surfaces know), and the orders `actor` released themselves in the last
    LET_GO_PASSED_OVER_FOR (letting an order go and asking for the next one does not hand it back). When no
    other order is free, the oldest of them is taken after all. Both are part of the same statements, so a
    claim costs the same statements whatever their number (one more look when it falls back)."""
    refusal = rules.actor_refusal(actor) or rules.holder_refusal(actor)
    if refusal is not None:
        return ClaimResult(Code.NOT_ALLOWED, message=_("No order was taken: %(why)s.") % {"why": refusal})
    capacity = capacity_left(actor)
    if capacity == 0:
        return ClaimResult(
            Code.AT_CAPACITY,
            message=_("No order was taken: you already hold %(cap)s orders, the most allowed.")
            % {"cap": orderops_setting("MAX_HELD_PER_OPERATOR")},
        )
    statuses = list(orderops_setting("CLAIMABLE_STATUSES"))
    postgresql = connection.vendor == "postgresql"
    windows = CLAIM_WINDOWS if postgresql else (None,)
    passing_over_first = PassingOver(frozenset(avoid_order_ids), let_go_by=actor)
    for _attempt in range(CLAIM_ATTEMPTS):
        now = timezone.now()
        taken = Taken(None)
        for passing_over in (passing_over_first, PassingOver()):
            for window in windows:
                taken = (
                    _claim_taken(statuses, window, actor, now, passing_over)
                    if postgresql
                    else _claim_taken_one_at_a_time(statuses, actor, now, passing_over)
                )
                if taken.picked is not None:
                    break
            if taken.picked is not None:
                break
        if taken.picked is None:
            return ClaimResult(Code.NOT_FOUND, message=_("There is no unassigned order to take right now."))
        if taken.order is not None:
            return ClaimResult(
                Code.DONE, taken.order, _("Order #%(number)s is now yours.") % {"number": taken.order.number}
            )
        # Another writer committed this order's hold without its row lock: look again with a fresh snapshot.
    return ClaimResult(Code.NOT_FOUND, message=_("Every free order was being taken at once; try again."))
