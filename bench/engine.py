"""Figures 2 and 3: the assignment engine. Bulk assign (and release) through operators.services against the
same writes in raw SQL and against a naive per-order loop; claim next from 8 threads against raw
one-statement FOR UPDATE SKIP LOCKED claims; statement counts of bulk operations at two sizes.

Part of the suite (`python -m bench`, figures `bulk` and `claims`). The data set is bench/data.py's: half the
orders are held already, so every figure picks orders nobody holds, and puts the holds it made away again
(their log rows stay until the next run's reset).
"""

import contextlib
import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils import timezone

from bench import profiling
from bench.common import (
    Goal,
    Report,
    Result,
    Sizes,
    cost_ratio,
    judged,
    median,
    ms,
    p95,
    statements_of,
    timed,
    times,
)
from bench.data import (
    ASSIGNMENT,
    FREE,
    LOG,
    ORDER,
    SEED,
    Dataset,
    execute,
    fetch,
    free_claimable_order_ids,
    free_open_order_ids,
    holds_delete,
    vacuum,
)
from operators.models import Assignment, AssignmentLog
from operators.services import order_claim_next, orders_assign, orders_release
from operators.triggers.free_orders import ASSIGNMENT_TRIGGERS as HOLD_SHADOW_TRIGGERS
from orderops.conf import orderops_setting
from orderops.db import db_datetime, id_set_sql
from orders.models import Order
from orders.results import BulkResult, Outcome

BULK_RATIO_GOAL = 1.2  # issue 21: bulk assign and release of 10,000 within 1.2x raw (1.5x before)
CLAIM_THROUGHPUT_GOAL = 0.5
# Against the raw narrow-queue claim (issue 21): throughput at least this share, and one claim's p95
# within this factor of its own.
NARROW_THROUGHPUT_GOAL = 0.7
NARROW_P95_FACTOR = 2.0
CLAIM_P95_GOAL = 0.010  # seconds, one claim
# Flat over the run: the median claim of the last tenth of claims within this factor of the first tenth's.
CLAIM_FLATNESS_GOAL = 1.5
# A claimer that finds nothing this many times in a row while orders should be free has found a bug.
MAX_EMPTY_CLAIMS = 1000


def user_fresh(pk: int) -> AbstractBaseUser:
    """The user as a request would see it: loaded anew, with cold permission caches."""
    return get_user_model().objects.get(pk=pk)


def result_check(result: BulkResult) -> None:
    """The benchmark only asks for changes that must succeed: anything else is a bug here or there."""
    if result.not_done:
        raise RuntimeError(f"{len(result.not_done)} orders not done, e.g. {result.not_done[0].message}")


def holds_vacuum() -> None:
    """Vacuum and analyze the hold tables between rounds, as autovacuum would (it is off here, and the
    benchmark churns far faster than it runs): dead holds and stale statistics change claim next's plans.
    The free orders too: every hold taken or ended deletes or writes one."""
    vacuum(ASSIGNMENT, LOG, FREE)


def orders_warm(order_ids: list[int]) -> None:
    """Read the orders' rows into the buffer cache before a bulk round: the service runs first, and without
    this it alone paid for reading 10,000 random order pages from the disk's cache (its lock statement took
    255 ms cold and 74 ms warm), which the raw reference, running after it on the same orders, never did."""
    ids_sql, ids_params = id_set_sql(order_ids)
    fetch(f"SELECT sum(length(number)) FROM {ORDER} WHERE id IN ({ids_sql})", ids_params)


def holds_count() -> int:
    return Assignment.objects.count()


# --- the references ----------------------------------------------------------------------------------------


def raw_assign(order_ids: list[int], operator_pk: int) -> None:
    """What orders_assign writes, in two statements: the holds, then their log rows."""
    ids_sql, ids_params = id_set_sql(order_ids)
    now = db_datetime(timezone.now())
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {ASSIGNMENT}"
            " (order_id, operator_id, assigned_by_id, assigned_at, last_activity_at, order_created_at)"
            f" SELECT id, %s, %s, %s, %s, created_at FROM {ORDER} WHERE id IN ({ids_sql})"
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
    """The per-order save() loop that set-based bulk replaces (without even locking or checking anything)."""
    now = timezone.now()
    for order in Order.objects.filter(pk__in=order_ids).only("pk", "created_at"):
        pk = order.pk
        Assignment(
            order=order,
            operator_id=operator_pk,
            assigned_by_id=operator_pk,
            assigned_at=now,
            last_activity_at=now,
        ).save()
        AssignmentLog(
            order_id=pk,
            action=AssignmentLog.Action.ASSIGNED,
            operator_id=operator_pk,
            actor_id=operator_pk,
            at=now,
        ).save()


# The raw claim: what one writes knowing the data model, with no Python between the statements. The oldest
# free claimable order is found through the free orders' table (operators_free_order, one row per order
# nobody holds): for each claimable status the front of its index, then the oldest of those nobody has
# locked (its free row and its order row, as the service locks them); the hold and its log row are written
# by the same statement (PostgreSQL). The free row goes with the hold's insert (its trigger), as for the
# service.
RAW_CLAIM_WINDOW = 16  # candidates per status, as the service's first window


def raw_claim_pick(statuses: list[str]) -> tuple[str, list]:
    """FROM ... LIMIT 1 choosing the order a raw claim takes, and its parameters."""
    if connection.vendor != "postgresql":
        in_statuses = ", ".join(["%s"] * len(statuses))
        return (
            f"FROM {FREE} f JOIN {ORDER} o ON o.id = f.order_id WHERE f.status_id IN ({in_statuses})"
            " ORDER BY f.created_at, f.order_id LIMIT 1"
        ), list(statuses)
    return (
        f"FROM {FREE} f JOIN {ORDER} o ON o.id = f.order_id WHERE f.order_id IN ("
        " SELECT candidate.order_id FROM unnest(%s::varchar[]) AS claimable(code) CROSS JOIN LATERAL ("
        f"  SELECT c.order_id FROM {FREE} c WHERE c.status_id = claimable.code"
        "   ORDER BY c.created_at, c.order_id LIMIT %s"
        " ) AS candidate"
        ") AND f.status_id = ANY(%s::varchar[]) AND o.status_id = ANY(%s::varchar[])"
        " ORDER BY f.created_at, f.order_id LIMIT 1"
    ), [statuses, RAW_CLAIM_WINDOW, statuses, statuses]


def raw_claim_sql(statuses: list[str]) -> tuple[str, list, str | None]:
    """(claim statement, its parameters after operator, assigned by, at, at; the log statement or None).

    On PostgreSQL one statement writes the hold and its log row (its last parameter: the log action);
    elsewhere the log row takes a second statement.
    """
    pick, pick_params = raw_claim_pick(statuses)
    lock = (
        " FOR UPDATE OF f SKIP LOCKED FOR NO KEY UPDATE OF o SKIP LOCKED"
        if connection.vendor == "postgresql"
        else ""
    )
    insert_hold = (
        f"INSERT INTO {ASSIGNMENT}"
        " (order_id, operator_id, assigned_by_id, assigned_at, last_activity_at, order_created_at)"
        f" SELECT o.id, %s, %s, %s, %s, o.created_at {pick}{lock}"
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


# The raw narrow-queue claim: the physical limit of a claim, what one writes when a hold change touches no
# order row. A narrow table of the free orders (order, status, created_at; bench_free_queue, built from the
# holds before the run and dropped after), its front read per claimable status as above, the oldest row
# nobody has locked deleted, and the hold and its log row written, all in one statement (PostgreSQL). The
# product's own hold-shadow triggers on the holds table are off for this run (PostgreSQL): they keep the
# product's structure, which this reference replaces with its own. The counters' triggers stay on: both
# pay them.
NARROW_QUEUE = "bench_free_queue"


def narrow_queue_fill() -> None:
    """The narrow queue of free orders, from the holds; the product's hold-shadow triggers off
    (PostgreSQL)."""
    execute(f"DROP TABLE IF EXISTS {NARROW_QUEUE}")
    moment = "timestamp with time zone" if connection.vendor == "postgresql" else "datetime"
    execute(
        f"CREATE TABLE {NARROW_QUEUE} (order_id bigint PRIMARY KEY, status_id varchar(32) NOT NULL,"
        f" created_at {moment} NOT NULL)"
    )
    execute(
        f"INSERT INTO {NARROW_QUEUE} (order_id, status_id, created_at)"
        f" SELECT o.id, o.status_id, o.created_at FROM {ORDER} o"
        f" WHERE NOT EXISTS (SELECT 1 FROM {ASSIGNMENT} a WHERE a.order_id = o.id)"
    )
    execute(f"CREATE INDEX {NARROW_QUEUE}_front ON {NARROW_QUEUE} (status_id, created_at, order_id)")
    if connection.vendor == "postgresql":
        for trigger in HOLD_SHADOW_TRIGGERS:
            execute(f"ALTER TABLE {ASSIGNMENT} DISABLE TRIGGER {trigger}")
        vacuum(NARROW_QUEUE)


def narrow_queue_drop() -> None:
    if connection.vendor == "postgresql":
        for trigger in HOLD_SHADOW_TRIGGERS:
            execute(f"ALTER TABLE {ASSIGNMENT} ENABLE TRIGGER {trigger}")
    execute(f"DROP TABLE IF EXISTS {NARROW_QUEUE}")


def narrow_claim_sql(statuses: list[str]) -> tuple[str, list]:
    """(the narrow-queue claim's pick, or on PostgreSQL its one statement; parameters before the hold's)."""
    if connection.vendor != "postgresql":
        in_statuses = ", ".join(["%s"] * len(statuses))
        return (
            f"SELECT order_id, created_at FROM {NARROW_QUEUE} WHERE status_id IN ({in_statuses})"
            " ORDER BY created_at, order_id LIMIT 1"
        ), list(statuses)
    sql = (
        "WITH picked AS ("
        f" SELECT q.order_id, q.created_at FROM {NARROW_QUEUE} q WHERE q.order_id IN ("
        "  SELECT candidate.order_id FROM unnest(%s::varchar[]) AS claimable(code) CROSS JOIN LATERAL ("
        f"   SELECT c.order_id FROM {NARROW_QUEUE} c WHERE c.status_id = claimable.code"
        "    ORDER BY c.created_at, c.order_id LIMIT %s"
        "  ) AS candidate"
        " ) AND q.status_id = ANY(%s::varchar[]) ORDER BY q.created_at, q.order_id LIMIT 1"
        " FOR UPDATE OF q SKIP LOCKED"
        f"), gone AS (DELETE FROM {NARROW_QUEUE} q USING picked WHERE q.order_id = picked.order_id)"
        f", claimed AS (INSERT INTO {ASSIGNMENT}"
        " (order_id, operator_id, assigned_by_id, assigned_at, last_activity_at, order_created_at)"
        " SELECT order_id, %s, %s, %s, %s, created_at FROM picked"
        " ON CONFLICT (order_id) DO NOTHING RETURNING order_id, operator_id, assigned_at)"
        f" INSERT INTO {LOG} (order_id, action, operator_id, actor_id, at, reason)"
        " SELECT order_id, %s, operator_id, operator_id, assigned_at, '' FROM claimed RETURNING order_id"
    )
    return sql, [statuses, RAW_CLAIM_WINDOW, statuses]


# --- figure 2: bulk assign and release ---------------------------------------------------------------------


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
        report.results.append(
            Result(
                "2",
                f"bulk {name}: statements for {few:,} orders",
                queries=str(counts[few][index]),
                reference=f"{many:,} orders: {counts[many][index]} statements",
                ratio="same" if same else "DIFFERENT",
                goals=[
                    Goal(
                        "statements independent of N", same, f"{counts[few][index]} and {counts[many][index]}"
                    )
                ],
            )
        )
        report.check(same, f"bulk {name} runs as many statements for {few:,} orders as for {many:,}")


def measure_bulk(report: Report, sizes: Sizes, dataset: Dataset, smoke: bool) -> None:
    """Bulk assign and release of `sizes.bulk` free orders: the service, raw SQL, a naive loop (scaled)."""
    operator_pk = dataset.operator_pks[13]
    free_ids = free_open_order_ids()
    if len(free_ids) < sizes.bulk + sizes.naive:
        raise SystemExit(f"Only {len(free_ids):,} free open orders; the bulk figure needs {sizes.bulk:,}.")
    before = holds_count()
    measure_statements(
        report, sizes, operator_pk, random.Random(SEED).sample(free_ids, max(sizes.statement_sizes))
    )

    rng = random.Random(SEED)
    scale = sizes.bulk / sizes.naive
    names = ("assign", "release", "raw assign", "raw release", "naive")
    seconds: dict[str, list[float]] = {name: [] for name in names}
    statements: dict[str, int] = {}
    # Round 0 warms the caches and counts statements; rounds 1..repeat are timed.
    for round_number in range(sizes.bulk_repeat + 1):
        sample = rng.sample(free_ids, sizes.bulk + sizes.naive)
        ids, naive_ids = sample[: sizes.bulk], sample[sizes.bulk :]
        holds_vacuum()
        orders_warm(ids)
        measure = statements_of if round_number == 0 else timed
        # A fresh user for each service call, as in a request: loading its permissions is part of the cost.
        figures = {
            "assign": measure(orders_assign, actor=user_fresh(operator_pk), order_ids=ids),
            "release": measure(orders_release, actor=user_fresh(operator_pk), order_ids=ids),
            "raw assign": measure(raw_assign, ids, operator_pk),
            "raw release": measure(raw_release, ids, operator_pk),
            "naive": measure(naive_assign, naive_ids, operator_pk),
        }
        holds_delete(naive_ids)
        for name in ("assign", "release"):
            result_check(figures[name][1])
        if holds_count() != before:
            raise RuntimeError("holds are left over after a bulk round")
        for name, (figure, _result) in figures.items():
            if round_number == 0:
                statements[name] = int(figure)
            else:
                seconds[name].append(figure * (scale if name == "naive" else 1))

    middle = {name: median(values) for name, values in seconds.items()}
    for name in ("assign", "release"):
        raw = f"raw {name}"
        ratio = cost_ratio(middle[name], middle[raw])
        report.results.append(
            Result(
                "2",
                f"bulk {name} of {sizes.bulk:,} orders through the service (log rows included)",
                ms(middle[name]),
                ms(p95(seconds[name])),
                str(statements[name]),
                f"raw SQL, {statements[raw]} statements: {ms(middle[raw])}",
                times(ratio),
                [Goal(f"≤ {BULK_RATIO_GOAL}x raw", judged(ratio <= BULK_RATIO_GOAL, smoke), times(ratio))],
            )
        )
    report.results.append(
        Result(
            "2",
            f"naive per-order save() loop, {sizes.bulk:,} orders (timed on {sizes.naive:,}, x{scale:g})",
            ms(middle["naive"]),
            ms(p95(seconds["naive"])),
            f"{statements['naive']:,} per {sizes.naive:,}",
            f"the service's bulk assign: {ms(middle['assign'])}",
            times(cost_ratio(middle["naive"], middle["assign"])),
        )
    )
    assign_ratio = cost_ratio(middle["assign"], middle["raw assign"])
    if profiling.available() and assign_ratio > BULK_RATIO_GOAL and not smoke:
        profiled: list[int] = []

        def pick() -> None:
            profiled[:] = rng.sample(free_ids, sizes.bulk)

        report.profiles.append(
            profiling.profile(
                f"bulk assign of {sizes.bulk:,} orders",
                lambda: orders_assign(actor=user_fresh(operator_pk), order_ids=profiled),
                before=pick,
                after=lambda: holds_delete(profiled),
            )
        )
    report.notes.append(
        f"bulk: {sizes.bulk_repeat} timed rounds after a warm-up round, each on a fresh random sample of free"
        f" open orders; the naive loop ran on {sizes.naive:,} orders per round (one transaction), times"
        f" x{scale:g}; assigned by an operator (bench-op-14) to themself, released by the same;"
        " each round's orders read into the buffer cache first, for the service and the raw SQL alike"
    )


# --- figure 3: claim next ----------------------------------------------------------------------------------


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


def raw_claimer(operator_pk: int) -> ClaimOnce:
    claim_sql, pick_params, log_sql = raw_claim_sql(list(orderops_setting("CLAIMABLE_STATUSES")))
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


def narrow_claimer(operator_pk: int) -> ClaimOnce:
    sql, pick_params = narrow_claim_sql(list(orderops_setting("CLAIMABLE_STATUSES")))
    assigned = AssignmentLog.Action.ASSIGNED

    def claim() -> int | None:
        now = db_datetime(timezone.now())
        with transaction.atomic(), connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(sql, [*pick_params, operator_pk, operator_pk, now, now, assigned])
                row = cursor.fetchone()
                return row[0] if row else None
            cursor.execute(sql, pick_params)
            row = cursor.fetchone()
            if row is None:
                return None
            cursor.execute(f"DELETE FROM {NARROW_QUEUE} WHERE order_id = %s", [row[0]])
            cursor.execute(
                f"INSERT INTO {ASSIGNMENT}"
                " (order_id, operator_id, assigned_by_id, assigned_at, last_activity_at, order_created_at)"
                " VALUES (%s, %s, %s, %s, %s, %s)",
                [row[0], operator_pk, operator_pk, now, now, row[1]],
            )
            cursor.execute(
                f"INSERT INTO {LOG} (order_id, action, operator_id, actor_id, at, reason)"
                " VALUES (%s, %s, %s, %s, %s, '')",
                [row[0], assigned, operator_pk, operator_pk, now],
            )
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


def claims_verify(
    report: Report,
    name: str,
    run: ClaimRun,
    total: int,
    held_before: int,
    last_log_id: int,
    expected: list[int],
) -> None:
    """Checked, not assumed: no order held twice, no order claimed twice, no claim on an order someone else
    held, exactly one log row per claim; and, as a note, whether the oldest free orders went first."""
    doubles = fetch(f"SELECT order_id FROM {ASSIGNMENT} GROUP BY order_id HAVING COUNT(*) > 1 LIMIT 5")
    report.check(not doubles, f"{name}: no order has two holds (found {len(doubles)})")
    claimed = set(run.order_ids)
    report.check(
        len(run.order_ids) == len(claimed) == total,
        f"{name}: {len(run.order_ids):,} claims returned {len(claimed):,} distinct orders",
    )
    held_now = holds_count()
    report.check(
        held_now == held_before + total,
        f"{name}: holds went from {held_before:,} to {held_now:,} for {total:,} claims (no hold taken twice)",
    )
    ids_sql, ids_params = id_set_sql(sorted(claimed))
    workers_holds = fetch(
        f"SELECT COUNT(*) FROM {ASSIGNMENT} a JOIN {LOG} l ON l.order_id = a.order_id AND l.id > %s"
        f" AND l.action = 'assigned' AND l.operator_id = a.operator_id WHERE a.order_id IN ({ids_sql})",
        [last_log_id, *ids_params],
    )[0][0]
    report.check(
        workers_holds == total,
        f"{name}: each of the {total:,} orders claimed is held by its claimer, with its 'assigned' log row",
    )
    logged = AssignmentLog.objects.filter(pk__gt=last_log_id).count()
    report.check(logged == total, f"{name}: {logged:,} log rows written for {total:,} claims")
    younger = len(claimed - set(expected))
    report.notes.append(
        f"claims, {name}: the orders claimed {'are NOT' if younger else 'are'} the {total:,} oldest free"
        f" claimable ones ({younger:,} younger taken); {run.empty_claims:,} claims took nothing and were"
        " repeated"
    )


NARROW_NAME = "raw narrow-queue claim"
CLAIMERS: dict[str, Callable[[int], ClaimOnce]] = {
    "claim next (service)": service_claimer,
    "raw claim": raw_claimer,
    NARROW_NAME: narrow_claimer,
}


def claims_runs(
    report: Report, workers: list[int], total: int, expected: list[int]
) -> tuple[dict[str, ClaimRun], dict[str, int]]:
    """The service's and the raw claim's runs from the same workers, each checked and put away, and the
    statements of one claim of each."""
    runs, statements = {}, {}
    for name, make_claimer in CLAIMERS.items():
        narrow = name == NARROW_NAME
        if narrow:
            narrow_queue_fill()
        try:
            # The statements of one claim on this thread (the second: the first loads permissions).
            claim = make_claimer(workers[0])
            holds_delete([pk for pk in [claim()] if pk is not None])
            statements[name], order_id = statements_of(claim)
            if order_id is None:
                raise RuntimeError(f"{name} found nothing to claim")
            holds_delete([order_id])
            if narrow:
                narrow_queue_fill()  # the orders the two claims above took are free again
            holds_vacuum()
            held_before = holds_count()
            last_log_id = AssignmentLog.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            runs[name] = run = claims_run(make_claimer, workers, total)
            claims_verify(report, name, run, total, held_before, last_log_id, expected[:total])
        finally:
            if narrow:
                narrow_queue_drop()
        holds_delete(run.order_ids)
    return runs, statements


def measure_claims_per_core(report: Report, workers: list[int], total: int, smoke: bool) -> None:
    """Figure 3 again with one worker per core: a claim's own latency, without the queueing of eight
    closed-loop workers on two cores (where a claim waits about 8 / throughput, the raw claim's too)."""
    expected = free_claimable_order_ids(total)
    runs, _statements = claims_runs(report, workers, total, expected)
    service_name, raw_name, narrow_name = CLAIMERS
    service, raw, narrow = runs[service_name], runs[raw_name], runs[narrow_name]
    service_rate, raw_rate = total / service.seconds, total / raw.seconds
    narrow_rate = total / narrow.seconds
    report.results.append(
        Result(
            "3",
            f"claim next, {len(workers)} workers (one per core), until {total:,} claims:"
            f" {service_rate:,.0f} claims/s (median and p95: one claim)",
            ms(median(service.latencies)),
            ms(p95(service.latencies)),
            "-",
            f"{raw_name}, same workers: {raw_rate:,.0f} claims/s, one claim {ms(median(raw.latencies))}"
            f" (p95 {ms(p95(raw.latencies))}); {narrow_name}: {narrow_rate:,.0f} claims/s, one claim"
            f" {ms(median(narrow.latencies))} (p95 {ms(p95(narrow.latencies))})",
            f"{times(service_rate / raw_rate)} throughput ({times(service_rate / narrow_rate)} the narrow)",
            [
                Goal(
                    f"one claim p95 ≤ {ms(CLAIM_P95_GOAL)}",
                    judged(p95(service.latencies) <= CLAIM_P95_GOAL, smoke),
                    f"{ms(p95(service.latencies))} (raw claim {ms(p95(raw.latencies))})",
                ),
            ],
        )
    )


def measure_claims(report: Report, sizes: Sizes, dataset: Dataset, smoke: bool) -> None:
    """Claim next from several threads against raw one-statement claims, each run checked and put away."""
    workers = dataset.operator_pks[5 : 5 + sizes.threads]
    expected = free_claimable_order_ids(sizes.claims)
    if len(expected) < sizes.claims:
        raise SystemExit(
            f"Only {len(expected):,} free claimable orders; the claims figure needs {sizes.claims:,}."
        )
    runs, statements = claims_runs(report, workers, sizes.claims, expected)
    service_name, raw_name, narrow_name = CLAIMERS
    service, raw, narrow = runs[service_name], runs[raw_name], runs[narrow_name]
    service_rate, raw_rate = sizes.claims / service.seconds, sizes.claims / raw.seconds
    ratio = service_rate / raw_rate
    # Latencies are in completion order: a claim cost that grows with the claims made shows here.
    tenth = max(len(service.latencies) // 10, 1)
    first, last = median(service.latencies[:tenth]), median(service.latencies[-tenth:])
    flatness = last / first if first else 1.0
    raw_flatness = median(raw.latencies[-tenth:]) / (median(raw.latencies[:tenth]) or 1.0)
    report.results.append(
        Result(
            "3",
            f"claim next, {len(workers)} workers, until {sizes.claims:,} claims: {service_rate:,.0f} claims/s"
            " (median and p95: one claim)",
            ms(median(service.latencies)),
            ms(p95(service.latencies)),
            str(statements[service_name]),
            f"{raw_name} ({statements[raw_name]} statements), same workers: {raw_rate:,.0f} claims/s,"
            " one claim"
            f" {ms(median(raw.latencies))} (p95 {ms(p95(raw.latencies))})",
            f"{times(ratio)} throughput",
            [
                Goal(
                    f"≥ {CLAIM_THROUGHPUT_GOAL}x raw throughput",
                    judged(ratio >= CLAIM_THROUGHPUT_GOAL, smoke),
                    f"{times(ratio)} the raw claim's throughput",
                ),
                Goal(
                    f"one claim p95 ≤ {ms(CLAIM_P95_GOAL)}",
                    judged(p95(service.latencies) <= CLAIM_P95_GOAL, smoke),
                    ms(p95(service.latencies)),
                ),
                Goal(
                    f"flat: last tenth of claims ≤ {CLAIM_FLATNESS_GOAL}x the first tenth (median claim)",
                    judged(flatness <= CLAIM_FLATNESS_GOAL, smoke),
                    f"{flatness:.2f}x ({ms(first)} → {ms(last)}; raw claim {raw_flatness:.2f}x)",
                ),
                Goal(
                    "zero double holds (checked)",
                    not [failure for failure in report.failures if failure.startswith(tuple(CLAIMERS))],
                    "see Checks",
                ),
            ],
        )
    )
    narrow_rate = sizes.claims / narrow.seconds
    narrow_ratio = service_rate / narrow_rate
    p95_factor = p95(service.latencies) / (p95(narrow.latencies) or 1.0)
    report.results.append(
        Result(
            "3",
            f"claim next against the raw narrow-queue claim, {len(workers)} workers, until {sizes.claims:,}"
            f" claims: {service_rate:,.0f} claims/s (median and p95: one claim)",
            ms(median(service.latencies)),
            ms(p95(service.latencies)),
            str(statements[service_name]),
            f"{narrow_name} ({statements[narrow_name]} statements), same workers:"
            f" {narrow_rate:,.0f} claims/s, one claim {ms(median(narrow.latencies))}"
            f" (p95 {ms(p95(narrow.latencies))})",
            f"{times(narrow_ratio)} throughput",
            [
                Goal(
                    f"≥ {NARROW_THROUGHPUT_GOAL}x the narrow claim's throughput",
                    judged(narrow_ratio >= NARROW_THROUGHPUT_GOAL, smoke),
                    times(narrow_ratio),
                ),
                Goal(
                    f"one claim p95 ≤ {NARROW_P95_FACTOR:g}x the narrow claim's",
                    judged(p95_factor <= NARROW_P95_FACTOR, smoke),
                    f"{p95_factor:.2f}x ({ms(p95(service.latencies))} against {ms(p95(narrow.latencies))})",
                ),
            ],
        )
    )
    if profiling.available() and ratio < CLAIM_THROUGHPUT_GOAL and not smoke:
        claimed: list[int] = []
        claim = service_claimer(workers[0])
        report.profiles.append(
            profiling.profile(
                "claim next, one thread, 20 claims",
                lambda: claimed.extend(pk for _claim in range(20) if (pk := claim()) is not None),
                times=1,
                after=lambda: holds_delete(claimed),
            )
        )
    report.notes.append(
        f"claims: {sizes.claims:,} per run from {len(workers)} threads, each with its own connection and"
        " operator"
        f" (bench-op-06 to -{5 + len(workers):02d}); throughput over the whole run; wall time: "
        + ", ".join(f"{name} {run.seconds:.1f} s" for name, run in runs.items())
        + ". The raw claim is one statement (hold and log row in one CTE on PostgreSQL): for each claimable"
        " status the oldest free orders through the free orders' table (operators_free_order), the oldest of"
        " them nobody has locked (its free row and its order row, SKIP LOCKED). The raw narrow-queue"
        f" claim reads, deletes from and locks a narrow table of the free orders ({NARROW_QUEUE}: order,"
        " status, created_at) instead, in one statement with the hold and its log row, the product's"
        " hold-shadow triggers off for its run: what a claim costs when no order row is written"
    )
    per_core = workers[: os.cpu_count() or 2]
    if len(per_core) < len(workers):
        measure_claims_per_core(report, per_core, sizes.claims // 2, smoke)
