"""Figures 4 and 5: a bulk status change of held orders to complete (auto-release included) against raw SQL,
and `manage.py release_orders` on 100,000 holds (time and peak memory) against the same release in raw SQL.

Each round puts back what it changed (statuses and holds, from the data set's snapshots) and vacuums, so
every round starts from the same state.
"""

import json
import random

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from bench import profiling
from bench.child import ChildRun, manage_run
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
    CHANGE,
    LOG,
    ORDER,
    SEED,
    Dataset,
    fetch,
    held_order_ids,
    holds_restore,
    statuses_restore,
    vacuum,
)
from bench.engine import holds_count, result_check, user_fresh
from operators.models import AssignmentLog
from orderops.db import db_datetime, id_set_sql
from orders.services import orders_status_set

STATUS_RATIO_GOAL = 1.5
RELEASE_MEMORY_GOAL_MB = 150
FINAL_STATUS = "complete"


# --- figure 4: bulk status change --------------------------------------------------------------------------


def raw_status_set(order_ids: list[int], actor_pk: int, status_code: str, reason: str) -> None:
    """What orders_status_set writes when the status releases holds, in four statements: one history row
    per order (OrderChange, as orders/history.py writes it), the orders' status and next version, one
    'auto_released' log row per hold, the holds' deletion (whose trigger writes the free orders back)."""
    ids_sql, ids_params = id_set_sql(order_ids)
    now = db_datetime(timezone.now())
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {CHANGE} (order_id, version, actor_id, at, field, old_value, new_value)"
            f" SELECT id, version + 1, %s, %s, 'status', status_id, %s FROM {ORDER}"
            f" WHERE id IN ({ids_sql}) AND status_id <> %s",
            [actor_pk, now, status_code, *ids_params, status_code],
        )
        cursor.execute(
            f"UPDATE {ORDER} SET status_id = %s, updated_at = %s, version = version + 1, updated_by_id = %s"
            f" WHERE id IN ({ids_sql})",
            [status_code, now, actor_pk, *ids_params],
        )
        cursor.execute(
            f"INSERT INTO {LOG} (order_id, action, operator_id, previous_operator_id, actor_id, at, reason)"
            f" SELECT order_id, %s, operator_id, NULL, %s, %s, %s FROM {ASSIGNMENT}"
            f" WHERE order_id IN ({ids_sql})",
            [AssignmentLog.Action.AUTO_RELEASED, actor_pk, now, reason, *ids_params],
        )
        cursor.execute(f"DELETE FROM {ASSIGNMENT} WHERE order_id IN ({ids_sql})", ids_params)


def last_log_id() -> int:
    return AssignmentLog.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def status_round_check(report: Report, order_ids: list[int], since_log_id: int, what: str) -> None:
    ids_sql, params = id_set_sql(order_ids)
    [(completed, still_held)] = fetch(
        f"SELECT COUNT(*) FILTER (WHERE o.status_id = %s), COUNT(a.id) FROM {ORDER} o"
        f" LEFT JOIN {ASSIGNMENT} a ON a.order_id = o.id WHERE o.id IN ({ids_sql})"
        if connection.vendor == "postgresql"
        else f"SELECT SUM(o.status_id = %s), COUNT(a.id) FROM {ORDER} o"
        f" LEFT JOIN {ASSIGNMENT} a ON a.order_id = o.id WHERE o.id IN ({ids_sql})",
        [FINAL_STATUS, *params],
    )
    logged = AssignmentLog.objects.filter(
        pk__gt=since_log_id, action=AssignmentLog.Action.AUTO_RELEASED, order_id__in=order_ids
    ).count()
    report.check(
        completed == len(order_ids) and still_held == 0 and logged == len(order_ids),
        f"{what}: {completed:,} of {len(order_ids):,} orders complete, {still_held} still held,"
        f" {logged:,} 'auto_released' log rows",
    )


def _restored(order_ids: list[int]) -> None:
    """The orders back as they were before a profiled status change: statuses, holds, vacuumed."""
    statuses_restore(order_ids)
    holds_restore(order_ids)
    vacuum(ORDER, ASSIGNMENT, LOG)


def measure_status_change(report: Report, sizes: Sizes, dataset: Dataset, smoke: bool) -> None:
    """Figure 4: an operator completes `sizes.status_bulk` of their held orders in one call."""
    actor_pk = dataset.operator_pks[4]
    held = held_order_ids(actor_pk, exclude=[dataset.timeline_order_id])
    if len(held) < 2 * sizes.status_bulk:
        raise SystemExit(
            f"bench-op-05 holds {len(held):,} orders; the status figure needs {2 * sizes.status_bulk:,}."
        )
    rng = random.Random(SEED)
    seconds: dict[str, list[float]] = {"service": [], "raw": []}
    statements: dict[str, int] = {}
    checked = False
    for round_number in range(sizes.bulk_repeat + 1):  # round 0 warms up and counts statements
        sample = rng.sample(held, 2 * sizes.status_bulk)
        by_name = {"service": sample[: sizes.status_bulk], "raw": sample[sizes.status_bulk :]}
        order = ["service", "raw"] if round_number % 2 else ["raw", "service"]
        measure = statements_of if round_number == 0 else timed
        for name in order:
            ids = by_name[name]
            since = last_log_id()
            if name == "service":
                cost, result = measure(
                    orders_status_set, actor=user_fresh(actor_pk), order_ids=ids, status_code=FINAL_STATUS
                )
                result_check(result)
            else:
                cost, _nothing = measure(
                    raw_status_set, ids, actor_pk, FINAL_STATUS, "status set to Complete"
                )
            if round_number == 0:
                statements[name] = int(cost)
            else:
                seconds[name].append(cost)
            if not checked or smoke:
                status_round_check(report, ids, since, f"bulk status change ({name})")
        checked = True
        statuses_restore(sample)
        holds_restore(sample)
        vacuum(ORDER, ASSIGNMENT, LOG)

    ratio = cost_ratio(median(seconds["service"]), median(seconds["raw"]))
    report.results.append(
        Result(
            "4",
            f"bulk status change of {sizes.status_bulk:,} held orders to complete through the service"
            " (auto-release included)",
            ms(median(seconds["service"])),
            ms(p95(seconds["service"])),
            str(statements["service"]),
            f"raw SQL, {statements['raw']} statements: {ms(median(seconds['raw']))}",
            times(ratio),
            [Goal(f"≤ {STATUS_RATIO_GOAL:g}x raw", judged(ratio <= STATUS_RATIO_GOAL, smoke), times(ratio))],
        )
    )
    if profiling.available() and ratio > STATUS_RATIO_GOAL and not smoke:
        profiled: list[int] = []
        report.profiles.append(
            profiling.profile(
                f"bulk status change of {sizes.status_bulk:,} held orders",
                lambda: orders_status_set(
                    actor=user_fresh(actor_pk), order_ids=profiled, status_code=FINAL_STATUS
                ),
                before=lambda: profiled.__setitem__(slice(None), rng.sample(held, sizes.status_bulk)),
                after=lambda: _restored(profiled),
            )
        )
    report.notes.append(
        f"status change: {sizes.bulk_repeat} timed rounds after a warm-up round; each round completes two"
        f" random samples of {sizes.status_bulk:,} of bench-op-05's holds (one by the service, as"
        " bench-op-05,"
        " one by raw SQL; which goes first alternates), then puts statuses and holds back and vacuums"
    )


# --- figure 5: release_orders ------------------------------------------------------------------------------


def manage(*arguments: str) -> ChildRun:
    """`python manage.py ARGUMENTS` in a child process, as cron runs it: its wall time and its own peak
    resident memory (VmHWM, see bench/child.py). Fails when the command does."""
    run = manage_run(
        *arguments,
        environment={
            "DJANGO_SETTINGS_MODULE": "orderops.settings",
            "DEBUG": "0",
            "LOG_LEVEL": "WARNING",  # stdout carries the command's own output (JSON) only
        },
    )
    if run.exit_status != 0:
        command = " ".join(arguments)
        raise RuntimeError(f"manage.py {command} failed ({run.exit_status}): {run.stderr[-2000:]}")
    return run


def raw_release_by_operator(operator_pks: list[int], reason: str) -> None:
    """The same release in raw SQL, one transaction: the log rows, then the holds' deletion."""
    with transaction.atomic(), connection.cursor() as cursor:
        ids = ", ".join(["%s"] * len(operator_pks))
        cursor.execute(
            f"INSERT INTO {LOG} (order_id, action, operator_id, actor_id, at, reason)"
            f" SELECT order_id, %s, operator_id, NULL, %s, %s FROM {ASSIGNMENT} WHERE operator_id IN ({ids})",
            [AssignmentLog.Action.RELEASED, db_datetime(timezone.now()), reason, *operator_pks],
        )
        cursor.execute(f"DELETE FROM {ASSIGNMENT} WHERE operator_id IN ({ids})", operator_pks)


def snapshot_holds_of(operator_pks: list[int]) -> list[int]:
    marks = ", ".join(["%s"] * len(operator_pks))
    rows = fetch(f"SELECT order_id FROM bench_snapshot_hold WHERE operator_id IN ({marks})", operator_pks)
    return [order_id for (order_id,) in rows]


def measure_release_orders(report: Report, sizes: Sizes, dataset: Dataset, smoke: bool) -> None:
    """Figure 5: release_orders --operator x 4 (a fifth of the holds: 100,000 of 500,000)."""
    operator_pks = dataset.operator_pks[: sizes.release_operators]
    usernames = dict(get_user_model().objects.filter(pk__in=operator_pks).values_list("pk", "username"))
    held_ids = snapshot_holds_of(operator_pks)
    if len(held_ids) != sizes.release_holds:
        raise RuntimeError(f"{len(held_ids):,} holds to release, {sizes.release_holds:,} expected")
    arguments = ["release_orders", "--json", "--reason", "benchmark"]
    for pk in operator_pks:
        arguments += ["--operator", usernames[pk]]
    startup = manage("check")
    command: list[ChildRun] = []
    raw: list[float] = []
    summary: dict = {}
    for round_number in range(sizes.release_repeat + 1):  # round 0 warms up
        before, since = holds_count(), last_log_id()
        run = manage(*arguments)
        summary = json.loads(run.stdout)
        released = AssignmentLog.objects.filter(pk__gt=since, action=AssignmentLog.Action.RELEASED).count()
        report.check(
            summary["released"] == len(held_ids)
            and holds_count() == before - len(held_ids)
            and released == len(held_ids),
            f"release_orders: reports {summary['released']:,} released, holds went from {before:,} to"
            f" {holds_count():,}, {released:,} 'released' log rows ({len(held_ids):,} expected)",
        )
        holds_restore(held_ids)
        vacuum(ASSIGNMENT, LOG)
        seconds, _nothing = timed(raw_release_by_operator, operator_pks, "release_orders: benchmark")
        holds_restore(held_ids)
        vacuum(ASSIGNMENT, LOG)
        if round_number > 0:
            command.append(run)
            raw.append(seconds)
    times_ = [run.seconds for run in command]
    peak = max(run.peak_mb for run in command)
    ratio = cost_ratio(median(times_), median(raw))
    report.results.append(
        Result(
            "5",
            f"release_orders --operator x{len(operator_pks)}: {len(held_ids):,} holds, peak memory"
            f" {peak:,.0f} MB"
            f" (manage.py check alone: {startup.peak_mb:,.0f} MB)",
            ms(median(times_)),
            ms(p95(times_)),
            f"{summary['batches']:,} batches",
            f"raw SQL in one transaction, 2 statements: {ms(median(raw))}",
            times(ratio),
            [
                Goal(
                    f"peak memory ≤ {RELEASE_MEMORY_GOAL_MB} MB",
                    judged(peak <= RELEASE_MEMORY_GOAL_MB, smoke),
                    f"{peak:,.0f} MB",
                )
            ],
        )
    )
    report.notes.append(
        f"release_orders: {sizes.release_repeat} timed runs after a warm-up run, each a child process"
        f" (`manage.py release_orders {' '.join(arguments[1:])}`) whose wall time includes starting Python"
        f" and Django ({startup.seconds:.1f} s for `manage.py check`); peak memory is the child's own"
        " high-water mark (VmHWM, not ru_maxrss: see bench/child.py); the holds are put back after every run"
    )
