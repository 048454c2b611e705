"""Benchmark of the operations commands: release_orders on 100,000 holds, import_orders of 100,000 orders.

Run from the repository root (full size needs PostgreSQL; the database is created if missing):

    .venv/bin/python -m bench.ops_commands                              # 100,000 holds, 100,000 orders
    .venv/bin/python -m bench.ops_commands --holds 20000 --orders 20000
    DATABASE_URL=sqlite:////tmp/bench-ops-smoke.sqlite3 .venv/bin/python -m bench.ops_commands --smoke

DATABASE_URL defaults to postgres://postgres@127.0.0.1:5432/orderops_bench_ops. The benchmark owns that
database: it empties the order, hold and log tables at the start of every run, and refuses to touch a
database holding orders it did not create (numbers OPS-...). Each command runs as `manage.py` in a child
process, the way cron runs it; the figures are its wall time and its peak resident memory (VmHWM of that
child alone, read as it exits; Linux), next to the peak of a child that only starts Django (`manage.py
check`).
Flat peaks across sizes are the point: the commands stream ids and records instead of loading them.

1. release_orders --all on every hold; then, with the holds given again, release_orders --operator (one
   operator's tenth of them);
2. import_orders of a new CSV file (every order created), the same orders as JSON Lines (every order
   unchanged: the nightly re-import), and a CSV file changing every order (a field on all, the status of a
   fifth into complete, some of those held: the status service ends their holds).

The exit status is 1 when a check fails (a command failed, holds left, log rows missing, a log that does not
replay to the holds).
"""

# Django must be set up before the apps' modules are imported, hence the imports below the setup.
# ruff: noqa: E402

import argparse
import csv
import io
import json
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/orderops_bench_ops"
REPO = Path(__file__).resolve().parent.parent

sys.path.insert(0, str(REPO))  # also runnable as `python bench/ops_commands.py`
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "orderops.settings")
os.environ.setdefault("SECRET_KEY", "orderops-bench-only-not-a-secret")
if not os.environ.get("DATABASE_URL"):
    os.environ["DATABASE_URL"] = DEFAULT_DATABASE_URL

import django

django.setup()

from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import OperationalError, connection, transaction
from django.utils import timezone

from bench.child import manage_run
from operators.management.commands.seed_demo import (
    CATALOG,
    CITIES,
    FIRST_NAMES,
    LAST_NAMES,
    STREETS,
    ascii_email,
)
from operators.models import Assignment, AssignmentLog
from operators.services import roles_setup
from operators.verification import assignment_log_verify
from orderops.conf import OPERATORS_GROUP
from orderops.db import db_datetime
from orders.importing import CSV_COLUMNS
from orders.models import Order, OrderChange, OrderComment, OrderLine, OrderSearch

ORDER_PREFIX = "OPS-"
HELD_PREFIX = "OPS-H-"
IMPORTED_PREFIX = "OPS-I-"
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
ORDER_TABLES = [OrderChange, AssignmentLog, Assignment, OrderComment, OrderLine, OrderSearch, Order]
OPERATORS = 10
SEED = 42
# Of the orders the "changed" import touches, this share moves into complete, and this share of those is held.
TO_COMPLETE = 0.2
HELD_WHEN_COMPLETED = 0.5


@dataclass(frozen=True)
class Sizes:
    holds: int
    orders: int


SMOKE = Sizes(holds=300, orders=200)


@dataclass
class Figure:
    what: str
    seconds: float
    peak_mb: float
    detail: str = ""


@dataclass
class Report:
    figures: list[Figure] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.problems.append(f"FAILED: {what}")


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
        with connection._nodb_cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {connection.ops.quote_name(name)}")
        print(f"created database {name}")


def tables_empty() -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in ORDER_TABLES)
            cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY")
        else:
            for model in ORDER_TABLES:
                cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)}")


def data_prepare() -> list[int]:
    call_command("migrate", verbosity=0, interactive=False)
    foreign = Order.objects.exclude(number__startswith=ORDER_PREFIX).count()
    if foreign:
        raise SystemExit(
            f"This database holds {foreign} orders the benchmark did not create: point DATABASE_URL at a"
            " database of its own (default: orderops_bench_ops on the local PostgreSQL)."
        )
    tables_empty()
    groups = roles_setup()
    user_model = get_user_model()
    operator_ids = []
    for n in range(1, OPERATORS + 1):
        user, _created = user_model.objects.get_or_create(
            username=f"ops-operator-{n}", defaults={"is_staff": True}
        )
        user.groups.set([groups[OPERATORS_GROUP]])
        operator_ids.append(user.pk)
    return operator_ids


def person(rng: random.Random, index: int) -> dict:
    first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    city, postcode, country = rng.choice(CITIES)
    return {
        "customer_name": f"{first} {last}",
        "customer_email": ascii_email(first, f"{last}.{index}"),
        "customer_phone": f"+359 88 {rng.randint(100, 999)} {rng.randint(1000, 9999)}",
        "shipping_name": f"{first} {last}",
        "shipping_street": f"{rng.choice(STREETS)} {rng.randint(1, 120)}",
        "shipping_city": city,
        "shipping_postcode": postcode,
        "shipping_country": country,
    }


def orders_copy(prefix: str, count: int, now: datetime) -> None:
    """Load `count` pending orders without lines: one COPY on PostgreSQL, one executemany elsewhere."""
    rng = random.Random(SEED)
    rows = []
    for index in range(1, count + 1):
        who = person(rng, index)
        created_at = now - timedelta(seconds=rng.randint(300, 45 * 24 * 3600))
        rows.append(
            (
                f"{prefix}{index:07d}",
                "pending",
                who["customer_name"],
                who["customer_email"],
                who["customer_phone"],
                Decimal(rng.randint(690, 30000)) / 100,
                "EUR",
                who["shipping_name"],
                who["shipping_street"],
                who["shipping_city"],
                who["shipping_postcode"],
                who["shipping_country"],
                created_at,
                created_at,
            )
        )
    table, columns = Order._meta.db_table, ", ".join(ORDER_COLUMNS)
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            buffer = io.StringIO()
            csv.writer(buffer).writerows(rows)
            buffer.seek(0)
            cursor.copy_expert(f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv)", buffer)
        else:
            placeholders = ", ".join(["%s"] * len(ORDER_COLUMNS))
            cursor.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({placeholders})",
                [(*row[:-2], db_datetime(row[-2]), db_datetime(row[-1])) for row in rows],
            )


def holds_give(order_filter: str, params: list, operator_ids: list[int], now: datetime) -> None:
    """Hold the orders matching the SQL filter, round robin over the operators, each with its log row, in
    set-based statements (what orders_assign writes, without its per-request checks)."""
    order, hold, log = Order._meta.db_table, Assignment._meta.db_table, AssignmentLog._meta.db_table
    at = db_datetime(now - timedelta(hours=2))
    with transaction.atomic(), connection.cursor() as cursor:
        for slot, operator_id in enumerate(operator_ids):
            cursor.execute(
                f"INSERT INTO {hold}"
                " (order_id, operator_id, assigned_by_id, assigned_at, last_activity_at, order_created_at)"
                f" SELECT id, %s, %s, %s, %s, created_at FROM {order} WHERE {order_filter} AND id %% %s = %s",
                [operator_id, operator_id, at, at, *params, len(operator_ids), slot],
            )
        cursor.execute(
            f"INSERT INTO {log} (order_id, action, operator_id, previous_operator_id, actor_id, at, reason)"
            f" SELECT order_id, %s, operator_id, NULL, assigned_by_id, assigned_at, '' FROM {hold}"
            f" WHERE assigned_at = %s",  # the holds this call gave, and only those
            [AssignmentLog.Action.ASSIGNED, at],
        )


def analyze() -> None:
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")


# --- import files ----------------------------------------------------------------------------------------


def import_rows(count: int, *, changed: bool) -> list[tuple[dict, list[tuple]]]:
    """The orders of the import files, deterministic: (order fields, lines). `changed` gives the same
    orders with a new phone number on every one and a fifth of them complete."""
    rng = random.Random(SEED + 1)
    statuses = ["pending", "processing", "on_hold"]
    now = timezone.now()
    rows = []
    for index in range(1, count + 1):
        fields = person(rng, index)
        fields["number"] = f"{IMPORTED_PREFIX}{index:07d}"
        fields["status"] = rng.choice(statuses)
        fields["currency"] = "EUR"
        fields["created_at"] = (now - timedelta(seconds=rng.randint(300, 45 * 24 * 3600))).isoformat()
        lines = [
            (sku, name, rng.randint(1, 3), str(price))
            for sku, name, price in rng.sample(CATALOG, rng.randint(1, 4))
        ]
        completes = rng.random() < TO_COMPLETE
        if changed:
            fields["customer_phone"] += " ext. 1"
            if completes:
                fields["status"] = "complete"
        rows.append((fields, lines))
    return rows


def csv_write(path: Path, rows) -> None:
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(CSV_COLUMNS)
        for fields, lines in rows:
            order_cells = [fields.get(name, "") for name in CSV_COLUMNS[:-4]]
            for sku, name, qty, price in lines:
                writer.writerow([*order_cells, sku, name, qty, price])


def jsonl_write(path: Path, rows) -> None:
    with path.open("w", encoding="utf-8") as file:
        for fields, lines in rows:
            record = {
                **fields,
                "lines": [{"sku": s, "name": n, "qty": q, "unit_price": p} for s, n, q, p in lines],
            }
            file.write(json.dumps(record) + "\n")


# --- measuring -------------------------------------------------------------------------------------------


def measure(report: Report, what: str, *args: str, expect_exit: int = 0) -> str:
    run = manage_run(*args)
    report.check(
        run.exit_status == expect_exit, f"{what}: exit status {run.exit_status}: {run.stderr.strip()[-2000:]}"
    )
    report.figures.append(Figure(what, run.seconds, run.peak_mb))
    return run.stdout


# --- the runs --------------------------------------------------------------------------------------------


def bench_release(report: Report, sizes: Sizes, operator_ids: list[int]) -> None:
    now = timezone.now()
    started = time.perf_counter()
    orders_copy(HELD_PREFIX, sizes.holds, now)
    holds_give("number LIKE %s", [HELD_PREFIX + "%"], operator_ids, now)
    analyze()
    print(f"loaded {sizes.holds:,} held orders in {time.perf_counter() - started:.1f} s")
    log_before = AssignmentLog.objects.count()

    out = measure(
        report, f"release_orders --all ({sizes.holds:,} holds)", "release_orders", "--all", "--json"
    )
    if out:
        summary = json.loads(out)
        report.figures[-1].detail = f"released {summary['released']:,} in {summary['batches']} batches"
    report.check(not Assignment.objects.exists(), "release: holds are left")
    released = AssignmentLog.objects.filter(action=AssignmentLog.Action.RELEASED, actor__isnull=True).count()
    report.check(released == sizes.holds, f"release: {released:,} log rows for {sizes.holds:,} holds")
    report.check(AssignmentLog.objects.count() == log_before + sizes.holds, "release: log rows out of step")

    # The incident case: one operator's holds among everyone's (a tenth of them, spread over all order ids).
    holds_give("number LIKE %s", [HELD_PREFIX + "%"], operator_ids, timezone.now())
    analyze()
    first = get_user_model().objects.get(pk=operator_ids[0]).get_username()
    share = Assignment.objects.filter(operator_id=operator_ids[0]).count()
    out = measure(
        report,
        f"release_orders --operator (one of {OPERATORS}: {share:,} of {sizes.holds:,} holds)",
        "release_orders",
        "--operator",
        first,
        "--json",
    )
    if out:
        report.figures[-1].detail = f"released {json.loads(out)['released']:,}"
    report.check(
        not Assignment.objects.filter(operator_id=operator_ids[0]).exists(), "release: operator holds left"
    )
    report.check(
        Assignment.objects.count() == sizes.holds - share, "release: other operators' holds released"
    )
    call_command("release_orders", "--all", stdout=io.StringIO())  # the rest, not measured


def bench_import(report: Report, sizes: Sizes, operator_ids: list[int], folder: Path) -> None:
    fresh, changed = import_rows(sizes.orders, changed=False), import_rows(sizes.orders, changed=True)
    new_csv, same_jsonl, changed_csv = folder / "orders.csv", folder / "orders.jsonl", folder / "changed.csv"
    csv_write(new_csv, fresh)
    jsonl_write(same_jsonl, fresh)
    csv_write(changed_csv, changed)
    del fresh, changed
    mb = new_csv.stat().st_size / 2**20
    rows = sum(1 for _line in new_csv.open()) - 1
    print(f"import files: {sizes.orders:,} orders, {rows:,} CSV rows ({mb:.1f} MB)")

    out = measure(
        report, f"import_orders, new CSV ({sizes.orders:,} orders created)", "import_orders", str(new_csv)
    )
    report.figures[-1].detail = out.strip().splitlines()[-1] if out else ""
    report.check(
        Order.objects.filter(number__startswith=IMPORTED_PREFIX).count() == sizes.orders,
        "import: orders missing",
    )
    analyze()

    out = measure(
        report,
        f"import_orders, same orders as JSON Lines ({sizes.orders:,} unchanged)",
        "import_orders",
        str(same_jsonl),
    )
    report.figures[-1].detail = out.strip().splitlines()[-1] if out else ""

    # Hold some of the orders the next file completes: the status service must end those holds.
    completing = [
        fields["number"]
        for fields, _lines in import_rows(sizes.orders, changed=True)
        if fields["status"] == "complete"
    ]
    held = completing[: int(len(completing) * HELD_WHEN_COMPLETED)]
    Order.objects.filter(number__in=held[:1]).exists()  # warm the connection
    chunk = 5000
    for start in range(0, len(held), chunk):
        ids = list(Order.objects.filter(number__in=held[start : start + chunk]).values_list("pk", flat=True))
        holds_give("id IN (" + ",".join(["%s"] * len(ids)) + ")", ids, operator_ids, timezone.now())
    out = measure(
        report,
        f"import_orders, CSV changing all ({len(completing):,} to complete, {len(held):,} of them held)",
        "import_orders",
        str(changed_csv),
    )
    report.figures[-1].detail = out.strip().splitlines()[-1] if out else ""
    report.check(
        not Assignment.objects.filter(order__status_id="complete").exists(), "import: holds survived complete"
    )
    auto = AssignmentLog.objects.filter(action=AssignmentLog.Action.AUTO_RELEASED).count()
    report.check(auto == len(held), f"import: {auto:,} auto-release log rows for {len(held):,} held orders")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--holds", type=int, default=100_000)
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument(
        "--smoke", action="store_true", help="Tiny sizes, any database: keeps the script working."
    )
    options = parser.parse_args()
    sizes = SMOKE if options.smoke else Sizes(options.holds, options.orders)
    if connection.vendor != "postgresql" and not options.smoke:
        raise SystemExit("Full size runs on PostgreSQL only (set DATABASE_URL, or pass --smoke).")

    database_create_if_missing()
    operator_ids = data_prepare()
    report = Report()
    measure(report, "baseline: manage.py check (Django started, nothing done)", "check")
    bench_release(report, sizes, operator_ids)
    with tempfile.TemporaryDirectory(prefix="orderops-bench-ops-") as folder:
        bench_import(report, sizes, operator_ids, Path(folder))
    verification = assignment_log_verify(max_listed=5)
    report.check(
        verification.agrees,
        " ".join([verification.summary(), *(difference.message for difference in verification.differences)]),
    )

    print(f"\n{connection.vendor}, {sizes.holds:,} holds, {sizes.orders:,} orders")
    print(f"{'figure':<88} {'wall':>9} {'peak RSS':>9}")
    for figure in report.figures:
        print(f"{figure.what:<88} {figure.seconds:>7.1f} s {figure.peak_mb:>6.0f} MB")
        if figure.detail:
            print(f"    {figure.detail}")
    for problem in report.problems:
        print(problem)
    if options.smoke:
        print("(smoke size: timings are meaningless)")
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
