"""The benchmark's data set: orders with lines, half of them held by 20 operators with the log rows to match,
and one order with a 200-entry timeline.

Loaded once, with COPY on PostgreSQL (executemany elsewhere), and reused while its description matches. What
the figures change (holds, the log, comments, statuses) is put back from snapshot tables taken at load time
at the start of every run, so that every run measures the same state. The benchmark owns its database:
it refuses one holding orders it did not create.
"""

import contextlib
import fcntl
import io
import itertools
import json
import os
import queue
import random
import threading
import time
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from operator import itemgetter
from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.color import no_style
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from operators.management.commands.seed_demo import (
    BULGARIAN_COMMENTS,
    CATALOG,
    CITIES,
    COMMENTS,
    FIRST_NAMES,
    LAST_NAMES,
    STATUS_WEIGHTS,
    STREETS,
)
from operators.models import Assignment, AssignmentLog, FreeOrder, OperatorActivityCount, OperatorHoldCount
from operators.services import roles_setup
from operators.triggers import free_orders as _free_orders
from operators.triggers import hold_count as _hold_count
from orderops.conf import OPERATORS_GROUP, SUPERVISORS_GROUP, orderops_setting
from orderops.db import db_datetime, id_set_sql
from orders.models import Order, OrderChange, OrderComment, OrderLine, OrderSearch, OrderStatus
from orders.search_text import order_search_text

# Bump when the generated data changes shape: a data set made by another version is loaded again.
# 2: holds carry order_created_at; 3: Cyrillic names, national phones, search_text; 4: comments on 1 in 5;
# 5: the search text in its own table (OrderSearch), one row per order; 6: the search rows carry their
# order's created_at
GENERATOR_VERSION = 6
SEED = 42
OPERATORS = 20
FIRST_NUMBER = 10_000_001  # store order numbers are digits: the list's search takes them by index
ROWS_PER_COPY = 50_000
TIMELINE_ENTRIES = 200
TIMELINE_COMMENTS = 49  # the other 151 entries are log rows: 50 x (assigned, taken over, released) + assigned
DAYS_OF_ORDERS = 45
COMMENTED_EVERY = 5  # every fifth order has an internal comment (figure 13 searches them)

ORDER = Order._meta.db_table
LINE = OrderLine._meta.db_table
SEARCH = OrderSearch._meta.db_table
ASSIGNMENT = Assignment._meta.db_table
FREE = FreeOrder._meta.db_table
LOG = AssignmentLog._meta.db_table
COMMENT = OrderComment._meta.db_table
# The counters the holds' and the log's triggers write (operators migration 0008): churned with them.
COUNTERS = (OperatorHoldCount._meta.db_table, OperatorActivityCount._meta.db_table)
# The field-change history: the load writes none, the figures that change orders do.
CHANGE = OrderChange._meta.db_table
META = "bench_dataset"
RUN_LOCK_KEY = 0x0B_E4C4  # advisory lock key of a benchmark run

ORDER_COLUMNS = (
    "id",
    "number",
    "status_id",
    "customer_name",
    "customer_email",
    "customer_phone",
    "grand_total",
    "currency",
    "shipping_name",
    "shipping_street",
    "shipping_city",
    "shipping_postcode",
    "shipping_country",
    "created_at",
    "updated_at",
)
# One order in five has a customer with a Cyrillic name (Bulgarian stores), the search's hardest case: its
# Latin spelling must find it too.
CYRILLIC_EVERY = 5
CYRILLIC_FIRST_NAMES = ["Мария", "Иван", "Георги", "Елена", "Димитър", "Йорданка", "Щерю", "Цветелина"]
CYRILLIC_LAST_NAMES = [
    "Иванова",
    "Петров",
    "Георгиева",
    "Стоянов",
    "Тодорова",
    "Христов",
    "Жекова",
    "Чолаков",
]
LINE_COLUMNS = ("id", "order_id", "sku", "name", "qty", "unit_price")
SEARCH_COLUMNS = ("order_id", "text", "order_created_at")
HOLD_COLUMNS = (
    "id",
    "order_id",
    "operator_id",
    "assigned_by_id",
    "assigned_at",
    "last_activity_at",
    "order_created_at",
)
LOG_COLUMNS = ("id", "order_id", "action", "operator_id", "previous_operator_id", "actor_id", "at", "reason")
COMMENT_COLUMNS = ("id", "order_id", "author_id", "body", "created_at")
# The tables the figures change, each with its snapshot and the columns put back from it.
SNAPSHOTS: dict[str, tuple[str, tuple[str, ...]]] = {
    ASSIGNMENT: ("bench_snapshot_hold", HOLD_COLUMNS),
    LOG: ("bench_snapshot_log", LOG_COLUMNS),
    COMMENT: ("bench_snapshot_comment", COMMENT_COLUMNS),
}
STATUS_SNAPSHOT = "bench_snapshot_status"
# Every table holding rows that reference orders, children first.
ORDER_TABLES = [CHANGE, LOG, ASSIGNMENT, COMMENT, LINE, SEARCH, ORDER]


@dataclass(frozen=True)
class Spec:
    orders: int
    holds: int


@dataclass(frozen=True)
class Dataset:
    """What the figures need to know about the loaded data."""

    spec: Spec
    operator_pks: list[int]  # bench-op-01 ... bench-op-20, each holding spec.holds / 20 orders
    supervisor_pk: int
    timeline_order_id: int  # held by the last operator, with TIMELINE_ENTRIES entries
    lines: int
    how: str  # "reused" or "loaded in 41.2 s"


# --- the database ------------------------------------------------------------------------------------------


def database_create_if_missing() -> None:
    if connection.vendor != "postgresql":
        return
    try:
        connection.ensure_connection()
    except OperationalError as error:
        if "does not exist" not in str(error):
            raise
        name = connection.settings_dict["NAME"]
        # The maintenance-database cursor Django's own test runner uses to create test databases.
        with connection._nodb_cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {connection.ops.quote_name(name)}")
        print(f"created database {name}", flush=True)


_run_lock = None  # kept open for the life of the process: closing it ends the lock


def run_lock_take() -> None:
    """One benchmark run per database at a time: a second one would reset the holds under the first.

    PostgreSQL: a transaction-level advisory lock in a transaction kept open on a connection of its own
    (Django's closes after each request) until the process ends. Not a session lock: behind a transaction
    pooler (PgBouncer) a session lock stays on whichever server connection ran it, held for nobody, and the
    next run's attempt may land elsewhere; an open transaction keeps its server connection, and its lock
    ends with it. The transaction only reads under READ COMMITTED, so it holds back no vacuum (no xid, no
    snapshot between statements). Elsewhere: an exclusive lock on a file next to the database.
    """
    global _run_lock
    if _run_lock is not None:
        return
    if is_postgresql():
        lock = connection.get_new_connection(connection.get_connection_params())
        lock.autocommit = False  # the driver opens the transaction with the first statement
        with lock.cursor() as cursor:
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [RUN_LOCK_KEY])
            taken = cursor.fetchone()[0]
    else:
        lock = open(f"{connection.settings_dict['NAME']}.bench-lock", "w")  # noqa: SIM115 (held open)
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            taken = True
        except OSError:
            taken = False
    if not taken:
        lock.close()
        raise SystemExit(
            "Another benchmark run is using this database right now (it would reset the holds under this"
            " one): wait for it to finish, or point DATABASE_URL at another database."
        )
    _run_lock = lock


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def execute(sql: str, params: Sequence[Any] | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def fetch(sql: str, params: Sequence[Any] | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def vacuum(*tables: str) -> None:
    """VACUUM ANALYZE, as autovacuum would have by now (it is off on this server, and the benchmark churns
    faster than it runs): fresh statistics, no dead rows, and a visibility map for index-only scans. With the
    holds or the log, their counters too: every hold change writes them, and their folds delete rows (left
    alone, the day's 1,000 counter rows carried 390,000 dead index entries, and the workload page's counter
    query took 45 ms instead of 1)."""
    if tables and (ASSIGNMENT in tables or LOG in tables):
        tables = (*tables, *COUNTERS, FREE)
    if is_postgresql():
        execute(f"VACUUM ANALYZE {', '.join(tables)}" if tables else "VACUUM ANALYZE")
    else:
        execute("ANALYZE")


@contextlib.contextmanager
def _hold_markers_deferred() -> Iterator[None]:
    """Reload the holds (and load the orders) with the free orders' triggers off (PostgreSQL), then set the
    free orders from the holds in three statements that touch only the rows that differ: a TRUNCATE and
    reload of 500,000 holds would otherwise write and delete 500,000 free rows twice; and every
    operator's held count from a count of the holds. SQLite keeps its row triggers (small data sets). The
    caller's transaction makes it all or nothing."""
    if not is_postgresql():
        yield
        # The log was emptied with DELETE (no TRUNCATE here), which the activity counts do not follow
        # (the log is append-only): count them again from the reloaded log.
        for statement in _hold_count.activity_rebuild(connection.vendor):
            execute(statement)
        return
    execute(f"ALTER TABLE {ASSIGNMENT} DISABLE TRIGGER USER")
    execute(f"ALTER TABLE {ORDER} DISABLE TRIGGER operators_free_order_on_order_insert")
    yield
    execute(f"ALTER TABLE {ORDER} ENABLE TRIGGER operators_free_order_on_order_insert")
    execute(f"ALTER TABLE {ASSIGNMENT} ENABLE TRIGGER USER")
    # The free rows from the holds, touching only those that differ (its guard off: these writes are the
    # truth, and a first load writes one row per free order).
    execute(f"ALTER TABLE {FREE} DISABLE TRIGGER USER")
    for statement in _free_orders.BACKFILL:
        execute(statement)
    execute(f"ALTER TABLE {FREE} ENABLE TRIGGER USER")
    # The held counts per operator, which the same triggers keep (operators migration 0008).
    for statement in _hold_count.REBUILD:
        execute(statement)


def tables_empty(tables: list[str]) -> None:
    if is_postgresql():
        # CASCADE: also rows of apps that reference orders and that the data set does not load (the live
        # console's presence rows): the benchmark owns its database.
        execute(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE")
    else:
        for table in tables:
            execute(f"DELETE FROM {table}")


@contextlib.contextmanager
def _bulk_load_mode(tables: list[str]) -> Iterator[None]:
    """PostgreSQL's advice for populating a database: drop the secondary indexes and the foreign keys of
    `tables`, load, then build each index once and check each foreign key in one join (instead of a trigger
    per row). Recreated from their own definitions; the caller's transaction makes it all or nothing."""
    if not is_postgresql():
        yield
        return
    foreign_keys = fetch(
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE contype = 'f' AND conrelid = ANY(%s::regclass[])",
        [tables],
    )
    indexes = fetch(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i"
        " WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
        [tables],
    )
    for table, name, _definition in foreign_keys:
        execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for name, _definition in indexes:
        execute(f"DROP INDEX {name}")
    yield
    execute("SET LOCAL maintenance_work_mem = '256MB'")
    for _name, definition in indexes:
        execute(definition)
    for table, name, definition in foreign_keys:
        execute(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')


def sequences_reset(models: list) -> None:
    for sql in connection.ops.sequence_reset_sql(no_style(), models):
        execute(sql)


# --- writing rows fast -------------------------------------------------------------------------------------


def _copy_value(value) -> str:
    if value is None:
        return "\\N"
    text = str(value)  # a datetime's str() is its ISO format with a space, as COPY reads it
    if "\\" in text or "\t" in text or "\n" in text:
        text = text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
    return text


def _plain_value(value) -> str:
    return "\\N" if value is None else str(value)


def _db_value(value):
    if isinstance(value, datetime):
        return db_datetime(value)
    if isinstance(value, Decimal):
        return str(value)
    return value


class CopyPipe:
    """COPY on a thread of its own (PostgreSQL), so that the database takes one chunk while Python makes the
    next. Chunks go out in the order they were sent, on the connection of the thread that made the pipe,
    which must not run anything else until close()."""

    def __init__(self) -> None:
        connection.ensure_connection()
        self.raw = connection.connection
        self.chunks: queue.Queue = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._send_all, name="copy", daemon=True)
        self.thread.start()

    def _send_all(self) -> None:
        while (chunk := self.chunks.get()) is not None:
            if self.error is None:
                sql, text = chunk
                try:
                    with self.raw.cursor() as cursor:
                        cursor.copy_expert(sql, io.StringIO(text))
                except BaseException as error:
                    self.error = error

    def send(self, sql: str, text: str) -> None:
        if self.error is not None:
            raise self.error
        self.chunks.put((sql, text))

    def close(self) -> None:
        self.chunks.put(None)
        self.thread.join()
        if self.error is not None:
            raise self.error


class RowWriter:
    """Rows into one table: COPY in chunks on PostgreSQL (through `pipe` when given), executemany elsewhere.

    `plain` rows hold no text needing an escape (tab, newline, backslash): str() of each value is its COPY
    text (None: NULL), much faster than checking each value for escapes.
    """

    def __init__(
        self, table: str, columns: tuple[str, ...], *, plain: bool = False, pipe: CopyPipe | None = None
    ) -> None:
        self.table, self.columns, self.plain, self.pipe = table, columns, plain, pipe
        self.rows: list[tuple] = []
        self.written = 0

    def add(self, row: tuple) -> None:
        self.rows.append(row)
        if len(self.rows) >= ROWS_PER_COPY:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        columns = ", ".join(self.columns)
        if is_postgresql():
            value = _plain_value if self.plain else _copy_value
            text = "".join("\t".join(map(value, row)) + "\n" for row in self.rows)
            sql = f"COPY {self.table} ({columns}) FROM STDIN"
            if self.pipe is not None:
                self.pipe.send(sql, text)
            else:
                with connection.cursor() as cursor:
                    cursor.copy_expert(sql, io.StringIO(text))
        else:
            placeholders = ", ".join(["%s"] * len(self.columns))
            with connection.cursor() as cursor:
                cursor.executemany(
                    f"INSERT INTO {self.table} ({columns}) VALUES ({placeholders})",
                    [tuple(map(_db_value, row)) for row in self.rows],
                )
        self.written += len(self.rows)
        self.rows = []


# --- the users ---------------------------------------------------------------------------------------------


def users_prepare() -> tuple[list[int], int]:
    """bench-op-01 ... bench-op-20 (Operators) and bench-supervisor (Supervisors), with names to show."""
    groups = roles_setup()
    user_model = get_user_model()

    def user(username: str, first: str, last: str, group: str) -> int:
        user, _created = user_model.objects.update_or_create(
            username=username,
            defaults={"first_name": first, "last_name": last, "is_staff": True, "is_active": True},
        )
        user.groups.set([groups[group]])
        return user.pk

    operators = [
        user(
            f"bench-op-{n:02d}",
            FIRST_NAMES[n % len(FIRST_NAMES)],
            LAST_NAMES[n % len(LAST_NAMES)],
            OPERATORS_GROUP,
        )
        for n in range(1, OPERATORS + 1)
    ]
    return operators, user("bench-supervisor", "Boris", "Bench", SUPERVISORS_GROUP)


# --- generating the data -----------------------------------------------------------------------------------


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


def _orders(count: int, rng: random.Random, now: datetime) -> Iterator[tuple[tuple, list[tuple], str]]:
    """(order row, its line rows, its search text): seed_demo's status mix, names, addresses and catalog;
    created over the last 45 days; the total is the lines' sum. Draws with random() (a C call) rather than
    randint() and choice(), several times faster over millions of rows."""
    statuses = rng.choices(list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values()), k=count)
    names = [(f"{first} {last}", _ascii(f"{first}.{last}")) for first in FIRST_NAMES for last in LAST_NAMES]
    cyrillic_names = [
        (
            f"{first} {last}",
            order_search_text(
                customer_name=f"{first}.{last}", customer_email="", customer_phone="", shipping_city=""
            ),
        )
        for first in CYRILLIC_FIRST_NAMES
        for last in CYRILLIC_LAST_NAMES
    ]
    catalog = [(sku, name, int(price * 100)) for sku, name, price in CATALOG]
    # The first k items of a random ordering of 4 distinct items are a random ordering of k distinct ones.
    orderings = list(itertools.permutations(catalog, 4))
    random_ = rng.random
    age_span = DAYS_OF_ORDERS * 86400 - 300
    line_id = 0
    for index, status in enumerate(statuses):
        order_id = index + 1
        if index % CYRILLIC_EVERY:
            name, email = names[int(random_() * len(names))]
        else:
            name, email = cyrillic_names[int(random_() * len(cyrillic_names))]
        city, postcode, country = CITIES[int(random_() * len(CITIES))]
        # Half the phones as the international form, half as the national one ("0886 223 958").
        middle, last = 100 + int(random_() * 900), 1000 + int(random_() * 9000)
        phone = (
            f"+359 88 {middle} {last}"
            if index % 2
            else f"088{middle // 100} {middle % 100:02d}{last // 1000} {last % 1000:03d}"
        )
        email = f"{email}{index % 997}@example.com"
        created_at = now - timedelta(seconds=300 + int(random_() * age_span))
        lines, cents = [], 0
        for sku, item, price in orderings[int(random_() * len(orderings))][: 1 + int(random_() * 4)]:
            qty = 1 + int(random_() * 3)
            cents += price * qty
            line_id += 1
            lines.append((line_id, order_id, sku, item, qty, f"{price // 100}.{price % 100:02d}"))
        yield (
            (
                order_id,
                str(FIRST_NUMBER + index),
                status,
                name,
                email,
                phone,
                f"{cents // 100}.{cents % 100:02d}",
                "EUR",
                name,
                f"{STREETS[int(random_() * len(STREETS))]} {1 + int(random_() * 120)}",
                city,
                postcode,
                country,
                created_at,
                created_at,
            ),
            lines,
            order_search_text(
                customer_name=name, customer_email=email, customer_phone=phone, shipping_city=city
            ),
        )


def _holds_and_log(
    open_orders: list[tuple[int, datetime]],
    spec: Spec,
    operator_pks: list[int],
    supervisor_pk: int,
    rng: random.Random,
    now: datetime,
) -> tuple[list[tuple], list[tuple], list[tuple], int]:
    """Holds on a random `spec.holds` of the open orders, the n-th held by operator n % 20 (so each holds
    exactly as many), a quarter handed out by the supervisor; one 'assigned' log row per hold; and the
    timeline order: the last operator's oldest hold, with 151 log rows and 49 comments."""
    if spec.holds > len(open_orders):
        raise SystemExit(f"{spec.holds:,} holds asked for, but only {len(open_orders):,} orders are open.")
    held = rng.sample(open_orders, spec.holds)
    holds: list[tuple] = []
    log: list[tuple] = []
    random_, minute = rng.random, timedelta(minutes=1)
    for n, (order_id, created_at) in enumerate(held):
        operator = operator_pks[n % len(operator_pks)]
        assigned_by = supervisor_pk if random_() < 0.25 else operator
        assigned_at = max(created_at + minute, now - timedelta(seconds=120 + int(random_() * 3 * 86400)))
        active_at = min(assigned_at + timedelta(seconds=int(random_() * 4 * 3600)), now)
        holds.append((n + 1, order_id, operator, assigned_by, assigned_at, active_at, created_at))
        log.append((order_id, "assigned", operator, None, assigned_by, assigned_at, ""))

    # The timeline order: held by the last operator, created at least two days ago (room for its history).
    last_operator = operator_pks[-1]
    candidates = [
        (created_at, n)
        for n, (_order_id, created_at) in enumerate(held)
        if n % len(operator_pks) == len(operator_pks) - 1 and created_at < now - timedelta(days=2)
    ]
    _created_at, n = min(candidates)
    timeline_order_id, created_at = held[n]
    history: list[tuple[int, str, int, int | None, int, datetime, str]] = []
    comments = []
    at = created_at
    cycles = (TIMELINE_ENTRIES - TIMELINE_COMMENTS - 1) // 3
    for cycle in range(cycles):
        operator = operator_pks[cycle % len(operator_pks)]
        at += timedelta(minutes=5)
        history.append((timeline_order_id, "assigned", operator, None, operator, at, ""))
        at += timedelta(minutes=5)
        history.append(
            (
                timeline_order_id,
                "taken_over",
                supervisor_pk,
                operator,
                supervisor_pk,
                at,
                "customer escalation",
            )
        )
        if cycle < TIMELINE_COMMENTS:
            comments.append((timeline_order_id, supervisor_pk, COMMENTS[cycle % len(COMMENTS)], at))
        at += timedelta(minutes=5)
        history.append((timeline_order_id, "released", supervisor_pk, None, supervisor_pk, at, ""))
    at += timedelta(minutes=5)
    history.append((timeline_order_id, "assigned", last_operator, None, last_operator, at, ""))
    holds[n] = (n + 1, timeline_order_id, last_operator, last_operator, at, at, created_at)
    log = [row for row in log if row[0] != timeline_order_id] + history
    log.sort(key=itemgetter(5, 0))  # log ids grow with time, as they do in use
    log_rows = [(index, *row) for index, row in enumerate(log, start=1)]
    comment_rows = [(index, *row) for index, row in enumerate(comments, start=1)]
    if len(history) + len(comment_rows) != TIMELINE_ENTRIES:
        raise RuntimeError("the timeline order's history does not add up")
    return holds, log_rows, comment_rows, timeline_order_id


def _comments(
    commented: list[tuple[int, datetime]], operator_pks: list[int], *, first_id: int, now: datetime
) -> list[tuple]:
    """One internal comment on each of `commented` (order id, created at) by one of the operators, a few hours
    after the order: seed_demo's phrases in English and Bulgarian, then a parcel's reference of its own
    ("Ref BG004812337"), so that a comment has words most comments share and one no other has. A random of
    its own, so that the orders stay as they were."""
    rng = random.Random(f"{SEED}-comments")
    random_ = rng.random
    phrases = COMMENTS + BULGARIAN_COMMENTS
    rows = []
    for offset, (order_id, created_at) in enumerate(commented):
        body = f"{phrases[int(random_() * len(phrases))]} Ref BG{int(random_() * 1e9):09d}"
        at = min(created_at + timedelta(seconds=60 + int(random_() * 6 * 3600)), now)
        rows.append((first_id + offset, order_id, operator_pks[int(random_() * len(operator_pks))], body, at))
    return rows


def _load(spec: Spec, operator_pks: list[int], supervisor_pk: int) -> tuple[int, int, dict[str, float]]:
    """Load everything; returns (lines, timeline order id, seconds per step)."""
    rng = random.Random(SEED)
    now = timezone.now()
    final = set(OrderStatus.objects.filter(releases_assignment=True).values_list("code", flat=True))
    steps: dict[str, float] = {}
    started = time.perf_counter()
    with transaction.atomic(), _bulk_load_mode(ORDER_TABLES), _hold_markers_deferred():
        tables_empty(ORDER_TABLES)
        pipe = CopyPipe() if is_postgresql() else None
        orders = RowWriter(ORDER, ORDER_COLUMNS, plain=True, pipe=pipe)
        lines = RowWriter(LINE, LINE_COLUMNS, plain=True, pipe=pipe)
        # The search rows (OrderSearch) by COPY beside the orders (plain: the fold collapses whitespace, and
        # the generated names and emails hold no backslash).
        searches = RowWriter(SEARCH, SEARCH_COLUMNS, plain=True, pipe=pipe)
        open_orders: list[tuple[int, datetime]] = []
        commented: list[tuple[int, datetime]] = []
        try:
            for order, order_lines, search_text in _orders(spec.orders, rng, now):
                orders.add(order)
                searches.add((order[0], search_text, order[13]))
                for line in order_lines:
                    lines.add(line)
                if order[2] not in final:
                    open_orders.append((order[0], order[13]))
                if order[0] % COMMENTED_EVERY == 0:
                    commented.append((order[0], order[13]))
            orders.flush()
            searches.flush()
            lines.flush()
        finally:
            if pipe is not None:
                pipe.close()
        steps["orders and lines"] = time.perf_counter() - started

        started = time.perf_counter()
        holds, log, comments, timeline_order_id = _holds_and_log(
            open_orders, spec, operator_pks, supervisor_pk, rng, now
        )
        commented = [row for row in commented if row[0] != timeline_order_id]  # its timeline is counted
        comments += _comments(commented, operator_pks, first_id=len(comments) + 1, now=now)
        for table, columns, rows in (
            (ASSIGNMENT, HOLD_COLUMNS, holds),
            (LOG, LOG_COLUMNS, log),
            (COMMENT, COMMENT_COLUMNS, comments),
        ):
            writer = RowWriter(table, columns, plain=True)
            for row in rows:
                writer.add(row)
            writer.flush()
        sequences_reset([Order, OrderLine, Assignment, AssignmentLog, OrderComment])
        steps["holds, log, comments"] = time.perf_counter() - started
        started = time.perf_counter()
    steps["indexes and foreign keys"] = time.perf_counter() - started

    started = time.perf_counter()
    with transaction.atomic():
        for table, (snapshot, snapshot_columns) in SNAPSHOTS.items():
            execute(f"DROP TABLE IF EXISTS {snapshot}")
            execute(
                f"CREATE TABLE {snapshot} AS SELECT {', '.join(snapshot_columns)} FROM {table} ORDER BY id"
            )
        execute(f"DROP TABLE IF EXISTS {STATUS_SNAPSHOT}")
        execute(f"CREATE TABLE {STATUS_SNAPSHOT} AS SELECT id, status_id FROM {ORDER}")
        execute(f"CREATE UNIQUE INDEX {STATUS_SNAPSHOT}_id ON {STATUS_SNAPSHOT} (id)")
        execute("CREATE INDEX bench_snapshot_hold_order ON bench_snapshot_hold (order_id)")
        steps["snapshots"] = time.perf_counter() - started
    started = time.perf_counter()
    vacuum()
    steps["vacuum analyze"] = time.perf_counter() - started
    return lines.written, timeline_order_id, steps


# --- preparing a run ---------------------------------------------------------------------------------------


def _description(spec: Spec, operator_pks: list[int], supervisor_pk: int) -> dict:
    return {
        "generator": GENERATOR_VERSION,
        "seed": SEED,
        "orders": spec.orders,
        "holds": spec.holds,
        "operators": operator_pks,
        "supervisor": supervisor_pk,
    }


def _stored() -> dict | None:
    if META not in connection.introspection.table_names():
        return None
    rows = fetch(f"SELECT value FROM {META} WHERE name = 'dataset'")
    return json.loads(rows[0][0]) if rows else None


def _store(description: dict) -> None:
    execute(f"DROP TABLE IF EXISTS {META}")
    execute(f"CREATE TABLE {META} (name varchar(32) PRIMARY KEY, value text NOT NULL)")
    execute(f"INSERT INTO {META} (name, value) VALUES ('dataset', %s)", [json.dumps(description)])


def _refuse_foreign_data() -> None:
    """Change nothing in a database that is not the benchmark's: orders there must be ours (or the old
    engine benchmark's BENCH-... ones)."""
    if ORDER not in connection.introspection.table_names() or _stored() is not None:
        return
    foreign = Order.objects.exclude(number__startswith="BENCH-").count()
    if foreign:
        raise SystemExit(
            f"This database holds {foreign:,} orders the benchmark did not create: point DATABASE_URL at a"
            " database of its own (default: orderops_bench on the local PostgreSQL)."
        )


def state_reset() -> dict[str, float]:
    """Put back what the figures change: holds, the log and comments from their snapshots (same ids), and
    any status changed since the load, and no field-change history (the load wrote none); then vacuum what
    changed. Returns seconds per step."""
    steps = {}
    started = time.perf_counter()
    tables_empty([CHANGE])
    # The figures only add comments: the ones after the load's are deleted, and the loaded ones (one on every
    # fifth order) are not copied back nor their indexes rebuilt.
    reloaded = [table for table in SNAPSHOTS if table != COMMENT]
    with transaction.atomic(), _bulk_load_mode(reloaded), _hold_markers_deferred():
        tables_empty(reloaded)
        for table in reloaded:
            snapshot, columns = SNAPSHOTS[table]
            names = ", ".join(columns)
            execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {snapshot} ORDER BY id")
        execute(
            f"DELETE FROM {COMMENT} WHERE id > (SELECT coalesce(max(id), 0) FROM {SNAPSHOTS[COMMENT][0]})"
        )
        sequences_reset([Assignment, AssignmentLog, OrderComment])
        steps["holds and log"] = time.perf_counter() - started
        started = time.perf_counter()
    steps["indexes and foreign keys"] = time.perf_counter() - started
    started = time.perf_counter()
    execute(
        f"UPDATE {ORDER} SET status_id = s.status_id FROM {STATUS_SNAPSHOT} s"
        f" WHERE s.id = {ORDER}.id AND {ORDER}.status_id <> s.status_id"
    )
    steps["statuses"] = time.perf_counter() - started
    started = time.perf_counter()
    vacuum(*SNAPSHOTS, ORDER)
    steps["vacuum analyze"] = time.perf_counter() - started
    started = time.perf_counter()
    writes_settle()
    steps["checkpoint and writeback"] = time.perf_counter() - started
    return steps


SETTLED_DIRTY = 64 * 1024 * 1024  # bytes of dirty and in-flight page cache below which the disk is quiet
SETTLE_MAX = 120.0  # seconds


def writes_settle() -> None:
    """Wait until the reset's writes are on disk: a checkpoint (PostgreSQL), then the kernel's writeback.
    The reset writes about a gigabyte (the holds, the log, the free orders, their vacuum); measured
    while the disk is still writing it, commits and reads stall for hundreds of milliseconds at a time
    (seen in figure 9), which is the benchmark's own doing, not the product's."""
    if is_postgresql():
        execute("CHECKPOINT")
    os.sync()
    deadline = time.monotonic() + SETTLE_MAX
    while _dirty_bytes() > SETTLED_DIRTY and time.monotonic() < deadline:
        time.sleep(0.5)


def _dirty_bytes() -> int:
    """Dirty and under-writeback page cache (Linux /proc/meminfo); 0 where it cannot be read."""
    try:
        lines = Path("/proc/meminfo").read_text().splitlines()
    except OSError:
        return 0
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    return sum(int(fields.get(name, "0 kB").split()[0]) * 1024 for name in ("Dirty", "Writeback"))


def prepare(spec: Spec, *, reload: bool = False) -> Dataset:
    """The data set of `spec`, loaded (always, with `reload`) or reused, in the state it was loaded in."""
    database_create_if_missing()
    run_lock_take()
    _refuse_foreign_data()
    call_command("migrate", verbosity=0, interactive=False)
    operator_pks, supervisor_pk = users_prepare()
    description = _description(spec, operator_pks, supervisor_pk)
    stored = _stored()
    if not reload and stored is not None and {k: stored.get(k) for k in description} == description:
        started = time.perf_counter()
        steps = state_reset()
        how = (
            f"reused; holds, log and statuses put back in {time.perf_counter() - started:.1f} s ("
            + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in steps.items())
            + ")"
        )
        lines, timeline_order_id = stored["lines"], stored["timeline_order"]
    else:
        started = time.perf_counter()
        lines, timeline_order_id, steps = _load(spec, operator_pks, supervisor_pk)
        _store({**description, "lines": lines, "timeline_order": timeline_order_id})
        how = (
            f"loaded in {time.perf_counter() - started:.1f} s ("
            + ", ".join(f"{step} {seconds:.1f} s" for step, seconds in steps.items())
            + ")"
        )
    return Dataset(spec, operator_pks, supervisor_pk, timeline_order_id, lines, how)


# --- reads and repairs the figures share -------------------------------------------------------------------


def free_open_order_ids() -> list[int]:
    """Orders nobody holds in a status that can be held, by id."""
    return list(
        Order.objects.filter(status__releases_assignment=False, assignment__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def free_claimable_order_ids(limit: int | None = None) -> list[int]:
    """Free orders in a claimable status, oldest first: the order in which claim next hands them out."""
    orders = Order.objects.filter(
        status__in=orderops_setting("CLAIMABLE_STATUSES"), assignment__isnull=True
    ).order_by("created_at", "pk")
    return list(orders.values_list("pk", flat=True)[:limit])


def held_order_ids(operator_pk: int, *, exclude: Iterable[int] = ()) -> list[int]:
    """The orders `operator_pk` holds, by id."""
    return list(
        Assignment.objects.filter(operator_id=operator_pk)
        .exclude(order_id__in=list(exclude))
        .order_by("order_id")
        .values_list("order_id", flat=True)
    )


def holds_delete(order_ids: list[int]) -> int:
    """Remove holds the benchmark made (untimed clean-up; their log rows stay until the next reset)."""
    if not order_ids:
        return 0
    ids_sql, params = id_set_sql(order_ids)
    return execute(f"DELETE FROM {ASSIGNMENT} WHERE order_id IN ({ids_sql})", params)


def holds_restore(order_ids: list[int]) -> int:
    """Put back the loaded holds of these orders (after a figure ended them)."""
    if not order_ids:
        return 0
    ids_sql, params = id_set_sql(order_ids)
    columns = ", ".join(HOLD_COLUMNS[1:])
    return execute(
        f"INSERT INTO {ASSIGNMENT} ({columns}) SELECT {columns} FROM bench_snapshot_hold"
        f" WHERE order_id IN ({ids_sql})",
        params,
    )


def statuses_restore(order_ids: list[int]) -> int:
    """Put back the loaded statuses of these orders."""
    if not order_ids:
        return 0
    ids_sql, params = id_set_sql(order_ids)
    return execute(
        f"UPDATE {ORDER} SET status_id = (SELECT s.status_id FROM {STATUS_SNAPSHOT} s"
        f" WHERE s.id = {ORDER}.id) WHERE id IN ({ids_sql})",
        params,
    )
