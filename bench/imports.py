"""Figure 12: what the search text costs an import (issue 24: "the normalised columns cost no more than 1.2x
on bulk writes and imports").

The search text lives in a narrow table of its own (orders.models.OrderSearch, one row per order) under the
trigram index, written only by the writes that change a searched column.

`manage.py import_orders` runs in this process (call_command, its default batches) on a CSV file of new
orders, then on a file changing every one of them (a new name and phone: the update path folds them again),
both in one transaction that is rolled back, so the data set stays as it was. Its reference is the same
import with the search text's work skipped: orders/search_text.py's fold returns "" in the two places the
import calls it (the order manager's bulk_create, the import's upsert of the changed orders' search rows),
so no name, email, phone or city is folded and the trigram index gets no trigrams. Both run the same
statements; the reference still writes the new orders' search rows (empty) and so does not count their
INSERT as the search's cost, and the changed import's rows, already empty, are not rewritten. The trigram
index defers its entries to its pending list (fastupdate); the time of each run includes moving them into
the index (gin_clean_pending_list), the work autovacuum would do later.

Bulk writes (figures 2 and 4) write no searched column. A status change rewrites each order's row, never
its search row: the figure's last row is a bulk status change of free orders by the status service, with
the search rows' trigram index against the same change with that index dropped inside the transaction
(rolled back with it), which shows whatever the search still costs such a write.

The imports' customers are the data set's: one in five with a Cyrillic name (transliterated), half the
phones in the national form ("0888 123 456"), the rest international.
"""

import csv
import io
import random
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import timedelta
from functools import partial
from pathlib import Path
from unittest import mock

from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from bench.common import (
    Goal,
    Report,
    Result,
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
    CHANGE,
    CYRILLIC_FIRST_NAMES,
    CYRILLIC_LAST_NAMES,
    LINE,
    ORDER,
    SEED,
    fetch,
    free_open_order_ids,
    vacuum,
)
from operators.management.commands.seed_demo import CATALOG, CITIES, FIRST_NAMES, LAST_NAMES
from orders.importing import CSV_COLUMNS
from orders.models import Order, OrderSearch
from orders.search_text import search_text_of
from orders.services import orders_status_set

IMPORT_RATIO_GOAL = 1.2
# The bulk write of figure 12: free open orders put on hold by the status service (no hold ends).
BULK_STATUS = "on_hold"
IMPORTED_PREFIX = "IMP-"
SEARCH_INDEX = "ordersearch_text_trgm_idx"  # on the search rows (orders migration 0010)
# The places an import computes the search text (orders/search_text.py's one function, as each imports it).
FOLD_CALLS = ("orders.models.search_text_of", "orders.importing.writing.order_search_text")


def _customer(rng: random.Random, index: int, *, changed: bool) -> dict[str, str]:
    if index % 5:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
    else:
        first, last = rng.choice(CYRILLIC_FIRST_NAMES), rng.choice(CYRILLIC_LAST_NAMES)
    if changed:  # the other alphabet, drawn without the generator: the lines and the rest stay the same
        first = (CYRILLIC_FIRST_NAMES if index % 5 else FIRST_NAMES)[index % 8]
    middle, last_digits = rng.randint(100, 999), rng.randint(1000, 9999)
    phone = (
        f"+359 88 {middle} {last_digits}"
        if (index + changed) % 2
        else f"088{middle // 100} {middle % 100:02d}{last_digits // 1000} {last_digits % 1000:03d}"
    )
    city, postcode, country = rng.choice(CITIES)
    return {
        "customer_name": f"{first} {last}",
        "customer_email": f"customer{index}@example.com",
        "customer_phone": phone,
        "shipping_name": f"{first} {last}",
        "shipping_street": f"Main street {index % 120 + 1}",
        "shipping_city": city,
        "shipping_postcode": postcode,
        "shipping_country": country,
    }


def import_file_write(path: Path, count: int, *, changed: bool) -> None:
    """A CSV file of `count` orders (deterministic); `changed`: the same orders, other names and phones."""
    rng = random.Random(SEED + 12)
    now = timezone.now()
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(CSV_COLUMNS)
        for index in range(1, count + 1):
            fields = {
                **_customer(rng, index, changed=changed),
                "number": f"{IMPORTED_PREFIX}{index:07d}",
                "status": "pending",
                "currency": "EUR",
                "created_at": (now - timedelta(seconds=300 + index)).isoformat(),
            }
            cells = [fields.get(name, "") for name in CSV_COLUMNS[:-4]]
            for sku, name, price in rng.sample(CATALOG, 1 + index % 3):
                writer.writerow([*cells, sku, name, 1 + index % 2, str(price)])


@contextmanager
def search_column_skipped() -> Iterator[None]:
    """The reference: the import with the search text left empty (no folding, no trigrams)."""
    with mock.patch(FOLD_CALLS[0], lambda order: ""), mock.patch(FOLD_CALLS[1], lambda **columns: ""):
        yield


def _pending_list_merged() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT gin_clean_pending_list(%s::regclass)", [SEARCH_INDEX])


def _import(path: Path) -> None:
    call_command("import_orders", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    _pending_list_merged()


def measure_writes(report: Report, imported: int, bulk: int, repeat: int, smoke: bool) -> None:
    """Figure 12: `imported` orders through import_orders, then `bulk` orders through a status change."""
    measure_import(report, imported, repeat, smoke)
    measure_bulk_status(report, bulk, repeat, smoke)
    # Rolled back, the writes still left dead rows and index entries (the trigram index's too): gone before
    # the next figure reads the orders.
    vacuum(ORDER, LINE, CHANGE)


def measure_import(report: Report, count: int, repeat: int, smoke: bool) -> None:
    """Figure 12: import_orders of `count` new orders, then of the same orders changed, with the search
    text kept against the same imports with its work skipped; interleaved, each run rolled back."""
    if Order.objects.filter(number__startswith=IMPORTED_PREFIX).exists():
        raise SystemExit(f"orders numbered {IMPORTED_PREFIX}… exist already: figure 12 imports those numbers")
    _pending_list_merged()  # what the figures before left there is no import's work
    with tempfile.TemporaryDirectory(prefix="orderops-bench-import-") as folder:
        new_file, changed_file = Path(folder) / "new.csv", Path(folder) / "changed.csv"
        import_file_write(new_file, count, changed=False)
        import_file_write(changed_file, count, changed=True)
        seconds: dict[tuple[str, str], list[float]] = {}
        statements: dict[tuple[str, str], int] = {}
        for round_number in range(repeat + 1):  # round 0 warms up, counts statements and checks
            variants = ["kept", "skipped"] if round_number % 2 else ["skipped", "kept"]
            for variant in variants:
                with transaction.atomic():
                    with search_column_skipped() if variant == "skipped" else nullcontext():
                        for kind, path in (("new", new_file), ("changed", changed_file)):
                            measure: Callable = statements_of if round_number == 0 else timed
                            cost, _result = measure(_import, path)
                            if round_number == 0:
                                statements[(kind, variant)] = cost
                                _import_check(report, variant, kind, count)
                            else:
                                seconds.setdefault((kind, variant), []).append(cost)
                    transaction.set_rollback(True)
    for kind, what in (
        ("new", f"import_orders of {count:,} new orders (CSV)"),
        ("changed", f"import_orders of the same {count:,} orders, names and phones changed (CSV)"),
    ):
        kept, skipped = seconds[(kind, "kept")], seconds[(kind, "skipped")]
        report.check(
            statements[(kind, "kept")] == statements[(kind, "skipped")],
            f"figure 12, {what}: {statements[(kind, 'kept')]} statements with the search text,"
            f" {statements[(kind, 'skipped')]} without",
        )
        ratio = cost_ratio(median(kept), median(skipped))
        report.results.append(
            Result(
                "12",
                f"{what}, the search text kept (folded, its own row, trigram index)",
                ms(median(kept)),
                ms(p95(kept)),
                str(statements[(kind, "kept")]),
                f"the same import with the search text's work skipped: {ms(median(skipped))}",
                times(ratio),
                [
                    Goal(
                        f"≤ {IMPORT_RATIO_GOAL}x without the search text",
                        judged(ratio <= IMPORT_RATIO_GOAL, smoke),
                        times(ratio),
                    )
                ],
            )
        )
    report.notes.append(
        f"import (12): {repeat} timed rounds after a warm-up round, `import_orders` in process (batches of"
        " its default size), each round's two imports in one transaction rolled back; with and without the"
        " search text alternating first; one customer in five with a Cyrillic name, half the phones"
        " national; each run's time includes merging the trigram index's pending list"
    )


def _status_change(order_ids: list[int], *, index_kept: bool) -> None:
    """The timed call: the status change, then (with the index) merging the index's pending list."""
    result = orders_status_set(actor=None, order_ids=order_ids, status_code=BULK_STATUS, reason="benchmark")
    if len(result) != len(order_ids):
        raise RuntimeError(f"figure 12: {len(result)} outcomes for {len(order_ids)} orders")
    if index_kept:
        _pending_list_merged()


def measure_bulk_status(report: Report, count: int, repeat: int, smoke: bool) -> None:
    """Figure 12, bulk writes: `count` free open orders put on hold through the status service, with the
    trigram index and with it dropped (inside the rolled-back transaction); the same orders for both."""
    candidates = [
        pk
        for pk, status in Order.objects.filter(pk__in=free_open_order_ids()).values_list("pk", "status_id")
        if status != BULK_STATUS
    ]
    if len(candidates) < count:
        raise SystemExit(
            f"figure 12 needs {count:,} free open orders not on hold; there are {len(candidates):,}"
        )
    rng = random.Random(SEED + 12)
    seconds: dict[str, list[float]] = {"kept": [], "skipped": []}
    statements: dict[str, int] = {}
    for round_number in range(repeat + 1):  # round 0 warms up and counts statements
        sample = rng.sample(candidates, count)
        for variant in ["kept", "skipped"] if round_number % 2 else ["skipped", "kept"]:
            with transaction.atomic():
                if variant == "skipped" and connection.vendor == "postgresql":
                    with connection.cursor() as cursor:
                        cursor.execute(f"DROP INDEX {SEARCH_INDEX}")
                change = partial(_status_change, sample, index_kept=variant == "kept")
                if round_number == 0:
                    statements[variant], _result = statements_of(change)
                else:
                    seconds[variant].append(timed(change)[0])
                transaction.set_rollback(True)
    ratio = cost_ratio(median(seconds["kept"]), median(seconds["skipped"]))
    report.results.append(
        Result(
            "12",
            f"bulk status change of {count:,} free orders to {BULK_STATUS} through the service, the search"
            " rows' trigram index kept",
            ms(median(seconds["kept"])),
            ms(p95(seconds["kept"])),
            str(statements["kept"]),
            f"the same change with the search rows' trigram index dropped: {ms(median(seconds['skipped']))},"
            f" {statements['skipped']} statements",
            times(ratio),
            [
                Goal(
                    f"≤ {IMPORT_RATIO_GOAL}x without the search text",
                    judged(ratio <= IMPORT_RATIO_GOAL, smoke),
                    times(ratio),
                )
            ],
        )
    )


def _import_check(report: Report, variant: str, kind: str, count: int) -> None:
    """The kept import writes every order's search row as search_text_of computes it; the skipped one
    leaves it empty (so the reference really skipped the work)."""
    orders = list(Order.objects.filter(number__startswith=IMPORTED_PREFIX))
    stored = dict(
        OrderSearch.objects.filter(order__number__startswith=IMPORTED_PREFIX).values_list("order_id", "text")
    )
    if variant == "kept":
        wrong = sum(stored.get(order.pk) != search_text_of(order) for order in orders)
    else:
        wrong = sum(stored.get(order.pk) != "" for order in orders)
    [(indexed,)] = fetch(
        f"SELECT COUNT(*) FROM {Order._meta.db_table} o JOIN {OrderSearch._meta.db_table} s"
        " ON s.order_id = o.id WHERE o.number LIKE %s AND s.text LIKE %s",
        [f"{IMPORTED_PREFIX}%", "%example%"],
    )
    report.check(
        len(orders) == count and wrong == 0 and (indexed == count) == (variant == "kept"),
        f"figure 12, {kind} import, search text {variant}: {len(orders):,} orders of {count:,},"
        f" {wrong} with a search row other than expected",
    )
