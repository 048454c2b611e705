"""Benchmark of the assignment engine: bulk assign/release and claim next, each against a raw-SQL reference.

Run from the repository root (full size needs PostgreSQL; the database is created if missing):

    .venv/bin/python -m bench.engine                                  # 200,000 orders, 5,000 claims
    .venv/bin/python -m bench.engine --orders 50000 --claims 1000 --repeat 5
    DATABASE_URL=sqlite:////tmp/bench-smoke.sqlite3 .venv/bin/python -m bench.engine --smoke   # CI

DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/orderops_bench. The benchmark owns that
database: it loads BENCH- orders (reused while their count matches --orders), empties the hold and log tables
at the start of every run, and refuses to touch a database holding orders it did not create. Full size runs
only on PostgreSQL; --smoke (tiny sizes, timings meaningless) runs on any database, so that CI keeps this
script working. What it measures, in one run:

1. statements of a bulk assign and a bulk release of few and of many orders (they must be equal: invariant 7);
2. a bulk assign of 10,000 orders through operators.services (log rows included) and its release, against
   the same writes in raw SQL and against a naive per-order ORM loop (timed on 1,000 orders, scaled);
3. claim next from 8 threads (one connection and one operator each) against raw one-statement SKIP LOCKED
   claims (the plain ORDER BY form and, on PostgreSQL, the service's per-status form), each run checked
   for double holds and released afterwards.

The hold tables are vacuumed and analyzed between rounds (autovacuum may be off, and the benchmark churns
faster than it would run). A smoke run on the default database replaces its orders: the next full run loads
them again (a few seconds).

The exit status is 1 when a check fails (statement counts differ, a double hold, a claim returned twice).
"""

# Django must be set up before the apps' modules are imported, hence the imports below the setup.
# ruff: noqa: E402

import argparse
import contextlib
import csv
import io
import os
import random
import statistics
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/orderops_bench"

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # also runnable as `python bench/engine.py`
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderops.settings")
os.environ.setdefault("SECRET_KEY", "orderops-bench-only-not-a-secret")
if not os.environ.get("DATABASE_URL"):
    os.environ["DATABASE_URL"] = DEFAULT_DATABASE_URL

import django

django.setup()

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.core.management import call_command
from django.db import OperationalError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from operators.management.commands.seed_demo import CITIES, FIRST_NAMES, LAST_NAMES, STATUS_WEIGHTS, STREETS
from operators.models import Assignment, AssignmentLog
from operators.services import order_claim_next, orders_assign, orders_release, roles_setup
from orderops.conf import OPERATORS_GROUP, SUPERVISORS_GROUP, orderops_setting
from orderops.db import db_datetime, id_set_sql
from orders.models import Order, OrderComment, OrderLine
from orders.results import BulkResult, Outcome

# Bench orders are numbered BENCH-0000001...; any other order means the database is not the benchmark's.
ORDER_PREFIX = "BENCH-"
ORDER_COLUMNS = (
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
# Every table that references orders, children first: emptied together when the orders are reloaded.
ORDER_TABLES = [AssignmentLog, Assignment, OrderComment, OrderLine, Order]
HOLD_TABLES = [AssignmentLog, Assignment]
# A claimer that finds nothing this many times in a row while orders should be free has found a bug.
MAX_EMPTY_CLAIMS = 1000
SEED = 42

ASSIGNMENT = Assignment._meta.db_table
LOG = AssignmentLog._meta.db_table
ORDER = Order._meta.db_table


@dataclass(frozen=True)
class Sizes:
    orders: int
    claims: int
    repeat: int
    bulk: int = 10_000  # orders per timed bulk assign (the default ORDEROPS BULK_MAX_ORDERS)
    naive: int = 1_000  # orders per naive per-order loop, its time scaled to `bulk`
    statement_sizes: tuple[int, int] = (10, 1_000)
    threads: int = 8


SMOKE = Sizes(orders=300, claims=100, repeat=2, bulk=100, naive=20, statement_sizes=(10, 100))


@dataclass
class Row:
    figure: str
    median: str = "-"
    p95: str = "-"
    statements: str = "-"
    reference: str = "-"
    ratio: str = "-"


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def check(self, ok: bool, what: str) -> None:
        (self.notes if ok else self.problems).append(f"{'ok' if ok else 'FAILED'}: {what}")


# --- database and data -------------------------------------------------------------------------------------


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
        print(f"created database {name}")


def tables_empty(models: list) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in models)
            cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY")
        else:
            for model in models:
                cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")


def holds_vacuum() -> None:
    """Vacuum and analyze the hold tables, as autovacuum would between bursts (it may be off, and the
    benchmark churns far faster than it runs): dead holds bloat the table and stale statistics change
    the plans of claim next. PostgreSQL only."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"VACUUM ANALYZE {ASSIGNMENT}, {LOG}")


def order_rows(count: int, rng: random.Random, now: datetime) -> Iterable[tuple]:
    """Orders like seed_demo's: its status mix, names and addresses, created over the last 45 days."""
    statuses = rng.choices(list(STATUS_WEIGHTS), list(STATUS_WEIGHTS.values()), k=count)
    for index, status in enumerate(statuses, start=1):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        city, postcode, country = rng.choice(CITIES)
        created_at = now - timedelta(seconds=rng.randint(300, 45 * 24 * 3600))
        yield (
            f"{ORDER_PREFIX}{index:07d}",
            status,
            f"{first} {last}",
            f"{first}.{last}.{index}@example.com".lower(),
            f"+359 88 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
            Decimal(rng.randint(690, 30000)) / 100,
            "EUR",
            f"{first} {last}",
            f"{rng.choice(STREETS)} {rng.randint(1, 120)}",
            city,
            postcode,
            country,
            created_at,
            created_at,
        )


def orders_load(count: int) -> None:
    """Load the orders in one COPY on PostgreSQL (one executemany elsewhere), then refresh the statistics."""
    rows = order_rows(count, random.Random(SEED), timezone.now())
    columns = ", ".join(ORDER_COLUMNS)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            buffer = io.StringIO()
            csv.writer(buffer).writerows(rows)
            buffer.seek(0)
            cursor.copy_expert(f"COPY {ORDER} ({columns}) FROM STDIN WITH (FORMAT csv)", buffer)
        else:
            placeholders = ", ".join(["%s"] * len(ORDER_COLUMNS))
            cursor.executemany(
                f"INSERT INTO {ORDER} ({columns}) VALUES ({placeholders})",
                [(*row[:-2], db_datetime(row[-2]), db_datetime(row[-1])) for row in rows],
            )
    with connection.cursor() as cursor:
        # VACUUM too, as autovacuum would have by now: it sets the visibility map for index-only scans.
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


def data_prepare(count: int) -> str:
    """Orders ready and no holds; says whether the orders were reused or loaded (and how long that took)."""
    # Look before migrating: the benchmark changes nothing in a database that is not its own.
    if ORDER in connection.introspection.table_names():
        foreign = Order.objects.exclude(number__startswith=ORDER_PREFIX).count()
        if foreign:
            raise SystemExit(
                f"This database holds {foreign:,} orders the benchmark did not create: point DATABASE_URL at"
                " a database of its own (default: orderops_bench on the local PostgreSQL)."
            )
    call_command("migrate", verbosity=0, interactive=False)
    # Every run starts with no holds and an empty log, so that runs measure the same thing.
    tables_empty(HOLD_TABLES)
    existing = Order.objects.count()
    if existing == count:
        return f"{count:,} orders reused"
    started = time.perf_counter()
    tables_empty(ORDER_TABLES)
    orders_load(count)
    return f"{count:,} orders loaded in {time.perf_counter() - started:.1f} s (there were {existing:,})"


def users_prepare(operators: int) -> tuple[list[int], int]:
    """The benchmark's operators (one per claiming thread) and a supervisor who releases everything."""
    groups = roles_setup()
    user_model = get_user_model()

    def user(username: str, group_name: str) -> int:
        user, _created = user_model.objects.get_or_create(username=username, defaults={"is_staff": True})
        user.groups.set([groups[group_name]])
        return user.pk

    operator_pks = [user(f"bench-operator-{n}", OPERATORS_GROUP) for n in range(1, operators + 1)]
    return operator_pks, user("bench-supervisor", SUPERVISORS_GROUP)


def user_fresh(pk: int) -> AbstractBaseUser:
    """The user as a request would see it: loaded anew, with cold permission caches."""
    return get_user_model().objects.get(pk=pk)


def open_order_ids() -> list[int]:
    return list(Order.objects.filter(status__releases_assignment=False).values_list("pk", flat=True))


def claimable_order_ids(limit: int | None = None) -> list[int]:
    """Claimable orders, oldest first: the order in which claim next should hand them out."""
    orders = Order.objects.filter(status__in=orderops_setting("CLAIMABLE_STATUSES")).order_by(
        "created_at", "pk"
    )
    return list(orders.values_list("pk", flat=True)[:limit])


def holds_release_all(supervisor_pk: int) -> None:
    held = list(Assignment.objects.order_by("order_id").values_list("order_id", flat=True))
    chunk = orderops_setting("BULK_MAX_ORDERS")
    for start in range(0, len(held), chunk):
        result_check(orders_release(actor=user_fresh(supervisor_pk), order_ids=held[start : start + chunk]))
    if Assignment.objects.exists():
        raise RuntimeError("holds are left after releasing them all")


def result_check(result: BulkResult) -> None:
    """The benchmark only asks for changes that must succeed: anything else is a bug here or there."""
    if result.not_done:
        raise RuntimeError(f"{len(result.not_done)} orders not done, e.g. {result.not_done[0].message}")


# --- the references ----------------------------------------------------------------------------------------


def raw_assign(order_ids: list[int], operator_pk: int) -> None:
    """What orders_assign writes, in two statements: the holds, then their log rows."""
    ids_sql, ids_params = id_set_sql(order_ids)
    now = db_datetime(timezone.now())
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ASSIGNMENT} (order_id, operator_id, assigned_by_id, assigned_at, last_activity_at)"
            f" SELECT id, %s, %s, %s, %s FROM {ORDER} WHERE id IN ({ids_sql})"
            " ON CONFLICT (order_id) DO NOTHING",
            [operator_pk, operator_pk, now, now, *ids_params],
        )
        cursor.execute(
            f"INSERT INTO {LOG} (order_id, action, operator_id, actor_id, at, reason)"
            f" SELECT order_id, %s, operator_id, %s, %s, '' FROM {ASSIGNMENT} WHERE order_id IN ({ids_sql})",
            [AssignmentLog.Action.ASSIGNED, operator_pk, now, *ids_params],
        )


def raw_release(order_ids: list[int], actor_pk: int) -> None:
    """What orders_release writes, in two statements: the log rows, then the deletion of the holds."""
    ids_sql, ids_params = id_set_sql(order_ids)
    now = db_datetime(timezone.now())
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {LOG} (order_id, action, operator_id, actor_id, at, reason)"
            f" SELECT order_id, %s, operator_id, %s, %s, '' FROM {ASSIGNMENT} WHERE order_id IN ({ids_sql})",
            [AssignmentLog.Action.RELEASED, actor_pk, now, *ids_params],
        )
        cursor.execute(f"DELETE FROM {ASSIGNMENT} WHERE order_id IN ({ids_sql})", ids_params)


@transaction.atomic
def naive_assign(order_ids: list[int], operator_pk: int) -> None:
    """The per-order ORM loop that set-based bulk replaces (without even locking or checking anything)."""
    now = timezone.now()
    for pk in order_ids:
        Assignment.objects.create(
            order_id=pk,
            operator_id=operator_pk,
            assigned_by_id=operator_pk,
            assigned_at=now,
            last_activity_at=now,
        )
        AssignmentLog.objects.create(
            order_id=pk,
            action=AssignmentLog.Action.ASSIGNED,
            operator_id=operator_pk,
            actor_id=operator_pk,
            at=now,
        )


# The two ways a raw claim picks the oldest free claimable order. "plain" is the statement one writes first:
# one ORDER BY over both statuses, which PostgreSQL serves by walking (created_at, id) and reading each row's
# status from the table, or by sorting. "per status" is the service's own candidate query: the oldest few
# free orders of each status through (status, created_at, id), then the oldest of those. PostgreSQL only.
PLAIN, PER_STATUS = "plain", "per status"
RAW_CLAIM_WINDOW = 16  # candidates per status, as the service's first window


def raw_claim_pick(form: str, statuses: list[str]) -> tuple[str, list]:
    """FROM ... LIMIT 1 choosing the order a raw claim takes, and its parameters."""
    if form == PLAIN:
        in_statuses = ", ".join(["%s"] * len(statuses))
        return (
            f"FROM {ORDER} o WHERE o.status_id IN ({in_statuses})"
            f" AND NOT EXISTS (SELECT 1 FROM {ASSIGNMENT} a WHERE a.order_id = o.id)"
            " ORDER BY o.created_at, o.id LIMIT 1"
        ), list(statuses)
    return (
        f"FROM {ORDER} o WHERE o.id IN ("
        " SELECT candidate.id FROM unnest(%s::varchar[]) AS claimable(code) CROSS JOIN LATERAL ("
        f"  SELECT c.id FROM {ORDER} c WHERE c.status_id = claimable.code"
        f"  AND NOT EXISTS (SELECT 1 FROM {ASSIGNMENT} a WHERE a.order_id = c.id)"
        "   ORDER BY c.created_at, c.id LIMIT %s"
        " ) AS candidate"
        ") AND o.status_id = ANY(%s::varchar[]) ORDER BY o.created_at, o.id LIMIT 1"
    ), [statuses, RAW_CLAIM_WINDOW, statuses]


def raw_claim_sql(form: str, statuses: list[str]) -> tuple[str, list, str | None]:
    """(claim statement, its parameters after operator, assigned by, at, at; the log statement or None).

    On PostgreSQL one statement writes the hold and its log row (its last parameter: the log action);
    elsewhere the log row takes a second statement.
    """
    pick, pick_params = raw_claim_pick(form, statuses)
    lock = " FOR UPDATE OF o SKIP LOCKED" if connection.vendor == "postgresql" else ""
    insert_hold = (
        f"INSERT INTO {ASSIGNMENT} (order_id, operator_id, assigned_by_id, assigned_at, last_activity_at)"
        f" SELECT o.id, %s, %s, %s, %s {pick}{lock}"
        " ON CONFLICT (order_id) DO NOTHING RETURNING order_id, operator_id, assigned_at"
    )
    insert_log = f"INSERT INTO {LOG} (order_id, action, operator_id, actor_id, at, reason)"
    if connection.vendor == "postgresql":
        log_rows = "SELECT order_id, %s, operator_id, operator_id, assigned_at, '' FROM claimed"
        return (
            f"WITH claimed AS ({insert_hold}) {insert_log} {log_rows} RETURNING order_id",
            pick_params,
            None,
        )
    return insert_hold, pick_params, f"{insert_log} VALUES (%s, %s, %s, %s, %s, '')"


# --- measuring ---------------------------------------------------------------------------------------------


def timed(call: Callable, /, *args, **kwargs) -> tuple[float, Any]:
    """call(*args, **kwargs): (seconds it took, its result)."""
    started = time.perf_counter()
    result = call(*args, **kwargs)
    return time.perf_counter() - started, result


def statements_of(call: Callable, /, *args, **kwargs) -> tuple[int, Any]:
    """call(*args, **kwargs): (statements it ran on this thread's connection, its result)."""
    with CaptureQueriesContext(connection) as captured:
        result = call(*args, **kwargs)
    return len(captured.captured_queries), result


def p95(values: list[float]) -> float:
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:,.1f} ms"


def ratio(cost: float, reference_cost: float) -> str:
    """The figure's cost over its reference's: 2.00x means the figure takes twice as long."""
    return f"{cost / reference_cost:.2f}x" if reference_cost else "-"


def measure_statements(report: Report, sizes: Sizes, operator_pk: int, order_ids: list[int]) -> None:
    """Invariant 7: a bulk assign or release costs the same number of statements whatever the size."""
    counts = {}
    for size in sizes.statement_sizes:
        ids = order_ids[:size]
        assign, result = statements_of(orders_assign, actor=user_fresh(operator_pk), order_ids=ids)
        result_check(result)
        release, result = statements_of(orders_release, actor=user_fresh(operator_pk), order_ids=ids)
        result_check(result)
        counts[size] = (assign, release)
    few, many = sizes.statement_sizes
    for index, name in enumerate(("assign", "release")):
        same = counts[few][index] == counts[many][index]
        report.rows.append(
            Row(
                f"bulk {name}, {few:,} orders: statements",
                statements=str(counts[few][index]),
                reference=f"{many:,} orders: {counts[many][index]} statements",
                ratio="same" if same else "DIFFERENT",
            )
        )
        report.check(same, f"bulk {name} runs as many statements for {few:,} orders as for {many:,}")


def measure_bulk(report: Report, sizes: Sizes, operator_pk: int, open_ids: list[int]) -> None:
    """Bulk assign and release of `sizes.bulk` orders: the service, raw SQL, and a naive loop (scaled)."""
    rng = random.Random(SEED)
    scale = sizes.bulk / sizes.naive
    names = ("assign", "release", "raw assign", "raw release", "naive")
    times: dict[str, list[float]] = {name: [] for name in names}
    statements: dict[str, int] = {}
    # Round 0 warms the caches and counts statements; rounds 1..repeat are timed.
    for round_number in range(sizes.repeat + 1):
        sample = rng.sample(open_ids, sizes.bulk + sizes.naive)
        ids, naive_ids = sample[: sizes.bulk], sample[sizes.bulk :]
        holds_vacuum()
        measure = statements_of if round_number == 0 else timed
        # A fresh user for each service call, as in a request: loading its permissions is part of the cost.
        figures = {
            "assign": measure(orders_assign, actor=user_fresh(operator_pk), order_ids=ids),
            "release": measure(orders_release, actor=user_fresh(operator_pk), order_ids=ids),
            "raw assign": measure(raw_assign, ids, operator_pk),
            "raw release": measure(raw_release, ids, operator_pk),
            "naive": measure(naive_assign, naive_ids, operator_pk),
        }
        raw_release(naive_ids, operator_pk)
        for name in ("assign", "release"):
            result_check(figures[name][1])
        if Assignment.objects.exists():
            raise RuntimeError("holds are left after a bulk round")
        for name, (figure, _result) in figures.items():
            if round_number == 0:
                statements[name] = figure
            else:
                times[name].append(figure * (scale if name == "naive" else 1))

    median = {name: statistics.median(values) for name, values in times.items()}
    for name in ("assign", "release"):
        raw = f"raw {name}"
        report.rows.append(
            Row(
                f"bulk {name}, {sizes.bulk:,} orders (service)",
                ms(median[name]),
                ms(p95(times[name])),
                str(statements[name]),
                f"raw SQL ({statements[raw]} statements): {ms(median[raw])} (p95 {ms(p95(times[raw]))})",
                ratio(median[name], median[raw]),
            )
        )
    report.rows.append(
        Row(
            f"naive per-order loop, {sizes.bulk:,} orders",
            ms(median["naive"]),
            ms(p95(times["naive"])),
            f"{statements['naive']:,} per {sizes.naive:,}",
            f"service assign: {ms(median['assign'])}",
            ratio(median["naive"], median["assign"]),
        )
    )
    report.notes.append(
        f"bulk: {sizes.repeat} timed rounds after a warm-up round, each on a fresh random sample of open"
        f" orders; the naive loop ran on {sizes.naive:,} orders per round (one transaction), times x{scale:g}"
    )


@dataclass
class ClaimRun:
    seconds: float
    latencies: list[float]
    order_ids: list[int]
    empty_claims: int


ClaimOnce = Callable[[], int | None]


def service_claimer(operator_pk: int) -> ClaimOnce:
    actor = user_fresh(operator_pk)

    def claim() -> int | None:
        result = order_claim_next(actor=actor)
        return result.order.pk if result.outcome == Outcome.DONE else None

    return claim


def raw_claimer(form: str, operator_pk: int) -> ClaimOnce:
    claim_sql, pick_params, log_sql = raw_claim_sql(form, list(orderops_setting("CLAIMABLE_STATUSES")))
    assigned = AssignmentLog.Action.ASSIGNED

    def claim() -> int | None:
        now = db_datetime(timezone.now())
        hold_params = [operator_pk, operator_pk, now, now, *pick_params]
        with transaction.atomic(), connection.cursor() as cursor:
            if log_sql is None:
                cursor.execute(claim_sql, [*hold_params, assigned])
                row = cursor.fetchone()
                return row[0] if row else None
            cursor.execute(claim_sql, hold_params)
            row = cursor.fetchone()
            if row is None:
                return None
            cursor.execute(log_sql, [row[0], assigned, operator_pk, operator_pk, now])
            return row[0]

    return claim


def claims_run(make_claimer: Callable[[int], ClaimOnce], operator_pks: list[int], total: int) -> ClaimRun:
    """Threads, one per operator and each with its own connection, claim until `total` orders are taken.

    The clock runs from the moment all threads are ready until the last one is done. A latency is the time
    from a claim's first attempt to its success; an empty claim (nothing taken) is tried again.
    """
    lock = threading.Lock()
    ready = threading.Barrier(len(operator_pks) + 1)
    issued = [0]
    latencies: list[float] = []
    order_ids: list[int] = []
    empty_claims = [0]
    errors: list[BaseException] = []

    def next_ticket() -> bool:
        with lock:
            if issued[0] >= total:
                return False
            issued[0] += 1
            return True

    def worker(operator_pk: int) -> None:
        try:
            claim = make_claimer(operator_pk)
            ready.wait()
            while not errors and next_ticket():
                started, empty = time.perf_counter(), 0
                while (order_id := claim()) is None:
                    empty += 1
                    if empty >= MAX_EMPTY_CLAIMS:
                        raise RuntimeError(f"{empty} claims in a row found nothing")
                with lock:
                    latencies.append(time.perf_counter() - started)
                    order_ids.append(order_id)
                    empty_claims[0] += empty
        except BaseException as error:
            errors.append(error)
            ready.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(pk,)) for pk in operator_pks]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):  # a worker failed: its error is raised below
        ready.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - started
    if errors:
        raise errors[0]
    return ClaimRun(seconds, latencies, order_ids, empty_claims[0])


def claims_verify(report: Report, name: str, run: ClaimRun, total: int, expected_ids: list[int]) -> None:
    """No double holds; every claim its own order; one log row per claim; and, as a note, oldest first."""
    held = Assignment.objects.count()
    distinct = Assignment.objects.values("order_id").distinct().count()
    report.check(held == distinct == total, f"{name}: {held:,} holds on {distinct:,} distinct orders")
    claimed = set(run.order_ids)
    report.check(
        len(run.order_ids) == len(claimed) == total,
        f"{name}: {len(run.order_ids):,} claims returned {len(claimed):,} distinct orders",
    )
    report.check(
        claimed == set(Assignment.objects.values_list("order_id", flat=True)),
        f"{name}: the orders claimed are exactly the orders held",
    )
    logged = AssignmentLog.objects.filter(action=AssignmentLog.Action.ASSIGNED).count()
    report.check(logged == total, f"{name}: {logged:,} 'assigned' log rows for {total:,} claims")
    younger = len(claimed - set(expected_ids))
    report.notes.append(
        f"{name}: the orders claimed {'are NOT' if younger else 'are'} the {total:,} oldest claimable ones"
        f" ({younger:,} younger taken); {run.empty_claims:,} claims took nothing and were repeated"
    )


def measure_claims(report: Report, sizes: Sizes, operator_pks: list[int], supervisor_pk: int) -> None:
    """Claim next from several threads against raw one-statement claims, each run checked and released."""
    expected_ids = claimable_order_ids(sizes.claims)
    claimers = {"claim next (service)": service_claimer, f"raw claim, {PLAIN}": partial(raw_claimer, PLAIN)}
    if connection.vendor == "postgresql":
        claimers[f"raw claim, {PER_STATUS}"] = partial(raw_claimer, PER_STATUS)
    runs, statements = {}, {}
    for name, make_claimer in claimers.items():
        # Count the statements of one claim in this thread (the second: the first loads permissions).
        claim = make_claimer(operator_pks[0])
        claim()
        statements[name], order_id = statements_of(claim)
        if order_id is None:
            raise RuntimeError(f"{name} found nothing to claim")
        holds_release_all(supervisor_pk)
        tables_empty([AssignmentLog])  # so that the log check counts this run's rows only
        holds_vacuum()
        runs[name] = run = claims_run(make_claimer, operator_pks, sizes.claims)
        claims_verify(report, name, run, sizes.claims, expected_ids)
        holds_release_all(supervisor_pk)

    service_name = "claim next (service)"
    service = runs[service_name]
    service_rate = sizes.claims / service.seconds
    for name, raw in runs.items():
        if name == service_name:
            continue
        raw_rate = sizes.claims / raw.seconds
        report.rows.append(
            Row(
                f"claim next, {len(operator_pks)} threads: {service_rate:,.0f}/s",
                ms(statistics.median(service.latencies)),
                ms(p95(service.latencies)),
                str(statements[service_name]),
                f"{name} ({statements[name]} statements): {raw_rate:,.0f}/s"
                f" (median {ms(statistics.median(raw.latencies))}, p95 {ms(p95(raw.latencies))})",
                ratio(raw_rate, service_rate),
            )
        )
    report.notes.append(
        f"claims: {sizes.claims:,} per run from {len(operator_pks)} threads (claims/s over the whole run;"
        " median and p95 per claim); wall time: "
        + ", ".join(f"{name} {run.seconds:.1f} s" for name, run in runs.items())
        + "; on PostgreSQL a raw claim writes the hold and its log row in one statement"
    )


# --- the run -----------------------------------------------------------------------------------------------


def table(rows: list[Row]) -> str:
    header = Row("figure", "median", "p95", "statements", "reference", "ratio")
    cells = [
        [row.figure, row.median, row.p95, row.statements, row.reference, row.ratio] for row in [header, *rows]
    ]
    widths = [max(len(line[column]) for line in cells) for column in range(6)]
    right = {1, 2, 3, 5}

    def render(line: list[str]) -> str:
        return "  ".join(
            cell.rjust(width) if column in right else cell.ljust(width)
            for column, (cell, width) in enumerate(zip(line, widths, strict=True))
        ).rstrip()

    rule = "-" * len(render(cells[0]))
    return "\n".join([render(cells[0]), rule, *(render(line) for line in cells[1:])])


def database_label() -> str:
    settings = connection.settings_dict
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SHOW server_version")
            version = cursor.fetchone()[0]
        return f"PostgreSQL {version}, {settings['HOST']}:{settings['PORT']}/{settings['NAME']}"
    return f"{connection.vendor} {settings['NAME']}"


def machine_label() -> str:
    """CPUs and load: other work on the machine (or on its database server) shows in every timing."""
    load = "load average {:.1f} {:.1f} {:.1f}".format(*os.getloadavg()) if hasattr(os, "getloadavg") else ""
    return f"{os.cpu_count()} CPUs, {load}"


def autovacuum_off() -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        return cursor.fetchone()[0] == "off"


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--orders", type=int, default=200_000, help="orders in the database (default 200,000)"
    )
    parser.add_argument("--claims", type=int, default=5_000, help="claims per claim run (default 5,000)")
    parser.add_argument("--repeat", type=int, default=10, help="timed rounds of bulk assign (default 10)")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny sizes, any database: keeps the script working"
    )
    return parser.parse_args()


def main() -> int:
    args = arguments()
    sizes = SMOKE if args.smoke else Sizes(orders=args.orders, claims=args.claims, repeat=args.repeat)
    database_create_if_missing()
    if connection.vendor != "postgresql" and not args.smoke:
        raise SystemExit(
            f"The benchmark measures PostgreSQL, and DATABASE_URL points at {connection.vendor}. Set"
            " DATABASE_URL=postgres://... (default: orderops_bench on 127.0.0.1), or pass --smoke."
        )
    data = data_prepare(sizes.orders)
    operator_pks, supervisor_pk = users_prepare(sizes.threads)
    open_ids = open_order_ids()
    claimable = len(claimable_order_ids())
    biggest = max(sizes.bulk + sizes.naive, *sizes.statement_sizes)
    if len(open_ids) < biggest or claimable < sizes.claims:
        raise SystemExit(
            f"Too few orders: {len(open_ids):,} open (need {biggest:,}), {claimable:,} claimable"
            f" (need {sizes.claims:,}). Raise --orders."
        )

    print(f"orderops engine benchmark{' (SMOKE: tiny sizes, timings mean nothing)' if args.smoke else ''}")
    print(f"database: {database_label()}")
    print(f"data: {data}; {len(open_ids):,} open, {claimable:,} claimable; {len(operator_pks)} operators")
    print(f"machine: {machine_label()}")
    started = time.perf_counter()
    report = Report()
    if autovacuum_off():
        report.notes.append("autovacuum is off on this server: the benchmark vacuums the hold tables itself")
    holds_vacuum()
    measure_statements(report, sizes, operator_pks[0], random.Random(SEED).sample(open_ids, biggest))
    measure_bulk(report, sizes, operator_pks[0], open_ids)
    measure_claims(report, sizes, operator_pks, supervisor_pk)

    print()
    print(table(report.rows))
    print("ratio: the figure's cost divided by its reference's (above 1: the figure is slower)")
    print("statements: as CaptureQueriesContext counts them, BEGIN and COMMIT included")
    print()
    for line in report.notes + report.problems:
        print(f"- {line}")
    print(f"- finished in {time.perf_counter() - started:.0f} s; machine at the end: {machine_label()}")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
