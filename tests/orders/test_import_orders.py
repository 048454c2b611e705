"""import_orders: CSV and JSON Lines upsert by number, status changes through the service, invalid records."""

import json
import os
import subprocess
import sys
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from operators.models import Assignment, AssignmentLog
from operators.services import orders_assign
from orderops.events import OrderChanged, domain_event
from orders.history import history_replays
from orders.importing import RecordValidator, order_record_validate, orders_import, records_open
from orders.management.commands import import_orders
from orders.models import Order, OrderChange, OrderLine
from tests.factories import OrderFactory, OrderLineFactory
from tests.replay import assert_log_replays_to_holds

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"
HEADER = "number,status,customer_name,customer_email,line_sku,line_name,line_qty,line_unit_price"


class Terminal(StringIO):
    def isatty(self) -> bool:
        return True


def run(*args: str, stderr=None) -> tuple[str, str]:
    out, err = StringIO(), stderr if stderr is not None else StringIO()
    call_command("import_orders", *map(str, args), stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def refused(*args, returncode: int = 1) -> tuple[str, str, CommandError]:
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError) as error:
        call_command("import_orders", *map(str, args), stdout=out, stderr=err)
    assert error.value.returncode == returncode
    return out.getvalue(), err.getvalue(), error.value


def csv_file(tmp_path: Path, *rows: str, header: str = HEADER, name: str = "orders.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def jsonl_file(tmp_path: Path, *records, name: str = "orders.jsonl") -> Path:
    path = tmp_path / name
    path.write_text(
        "\n".join(record if isinstance(record, str) else json.dumps(record) for record in records) + "\n",
        encoding="utf-8",
    )
    return path


def order_record(number: str, status: str = "pending", **fields) -> dict:
    record = {
        "number": number,
        "status": status,
        "customer_name": "Elena Petrova",
        "lines": [{"sku": "TEA-1", "name": "Tea", "qty": 2, "unit_price": "6.90"}],
    }
    record.update(fields)
    return record


def database() -> tuple:
    """Everything an import may change: orders with their fields and lines, holds and the log."""
    orders = list(Order.objects.order_by("number").values_list())
    lines = list(OrderLine.objects.order_by("id").values_list())
    return orders, lines, list(Assignment.objects.values_list()), AssignmentLog.objects.count()


def lines_of(number: str) -> list[tuple]:
    return list(
        OrderLine.objects.filter(order__number=number)
        .order_by("id")
        .values_list("sku", "name", "qty", "unit_price")
    )


# --- the documented format --------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("example", ["example-orders.csv", "example-orders.jsonl"])
def test_import_orders_creates_the_documented_example_orders_with_their_lines(example):
    out, err = run(DOCS / example)

    assert err == ""
    assert f"Imported {example}: 3 records, all valid." in out
    assert "Created 3 orders, updated 0, left 0 unchanged." in out
    first = Order.objects.get(number="200001")
    assert first.status_id == "pending"
    assert first.customer_email == "elena.petrova@example.com"
    assert first.grand_total == Decimal("22.80")  # not given: 2 x 6.90 + 9.00
    assert first.created_at == timezone.datetime(2026, 5, 4, 6, 15, tzinfo=timezone.UTC)
    assert first.shipping_country == "BG"
    assert lines_of("200001") == [
        ("TEA-GRN-100", "Green tea, 100 g", 2, Decimal("6.90")),
        ("MUG-CER-WHT", "Ceramic mug, white", 1, Decimal("9.00")),
    ]
    assert Order.objects.get(number="200002").grand_total == Decimal("54.90")  # given
    assert Order.objects.get(number="200003").status_id == "complete"


@pytest.mark.django_db
def test_import_orders_csv_and_jsonl_examples_describe_the_same_orders():
    run(DOCS / "example-orders.csv")
    before = database()
    out, _err = run(DOCS / "example-orders.jsonl")
    assert "Created 0 orders, updated 0, left 3 unchanged." in out
    assert database() == before


@pytest.mark.django_db
def test_import_orders_updates_an_existing_order_by_number_and_replaces_its_lines(tmp_path):
    order = OrderFactory(number="300001", customer_name="Old Name", grand_total=Decimal("1.00"))
    OrderLineFactory(order=order, sku="OLD-1")
    OrderLineFactory(order=order, sku="OLD-2")
    path = jsonl_file(
        tmp_path,
        order_record(
            "300001",
            customer_name="New Name",
            lines=[{"sku": "NEW-1", "name": "Kettle", "qty": 1, "unit_price": 34.9}],
        ),
    )

    out, _err = run(path)

    order.refresh_from_db()
    assert Order.objects.count() == 1
    assert order.customer_name == "New Name"
    assert order.grand_total == Decimal("34.90")
    assert lines_of("300001") == [("NEW-1", "Kettle", 1, Decimal("34.90"))]
    assert "Created 0 orders, updated 1, left 0 unchanged. Lines replaced on 1 order." in out


@pytest.mark.django_db
def test_import_orders_leaves_an_order_that_matches_its_record_untouched(tmp_path):
    path = jsonl_file(tmp_path, order_record("300001", created_at="2026-05-01T10:00:00Z"))
    run(path)
    updated_at = Order.objects.get(number="300001").updated_at
    out, _err = run(path)
    assert "Created 0 orders, updated 0, left 1 unchanged." in out
    assert Order.objects.get(number="300001").updated_at == updated_at


@pytest.mark.django_db
def test_import_orders_keeps_created_at_of_an_existing_order_when_the_record_has_none(tmp_path):
    order = OrderFactory(number="300001")
    created_at = order.created_at
    run(jsonl_file(tmp_path, order_record("300001")))
    order.refresh_from_db()
    assert order.created_at == created_at
    assert order.customer_name == "Elena Petrova"


@pytest.mark.django_db
def test_import_orders_reads_a_naive_created_at_in_the_server_time_zone(tmp_path, settings):
    settings.TIME_ZONE = "Europe/Sofia"
    run(jsonl_file(tmp_path, order_record("300001", created_at="2026-01-10 12:00:00")))
    assert Order.objects.get(number="300001").created_at == timezone.datetime(
        2026, 1, 10, 10, 0, tzinfo=timezone.UTC
    )


@pytest.mark.django_db
def test_import_orders_csv_order_without_lines_and_a_quoted_cell_with_a_line_break(tmp_path):
    path = csv_file(
        tmp_path,
        '300001,pending,"Ann\nSecond line",ann@example.com,,,,',
        "300002,pending,Bob,,A,Apple,1,1.50",
    )
    out, _err = run(path)
    assert "Created 2 orders" in out
    assert lines_of("300001") == []
    assert Order.objects.get(number="300001").grand_total == Decimal("0.00")
    assert Order.objects.get(number="300001").customer_name == "Ann\nSecond line"


# --- status changes go through the status service ------------------------------------------------------


@pytest.mark.django_db
def test_import_orders_status_into_a_releasing_status_ends_the_hold_logged_with_the_import(
    tmp_path, operator
):
    held = OrderFactory(number="300001")
    other = OrderFactory(number="300002")
    orders_assign(actor=operator, order_ids=[held.pk, other.pk])
    path = jsonl_file(
        tmp_path,
        order_record("300001", status="complete"),
        order_record("300002", status="processing"),
        name="nightly.jsonl",
    )

    out, _err = run(path)

    assert Order.objects.get(number="300001").status_id == "complete"
    assert Order.objects.get(number="300002").status_id == "processing"
    assert set(Assignment.objects.values_list("order_id", flat=True)) == {other.pk}
    entry = AssignmentLog.objects.get(order=held, action=AssignmentLog.Action.AUTO_RELEASED)
    assert entry.actor_id is None
    assert entry.operator_id == operator.pk
    assert entry.reason == "status set to Complete: import_orders: nightly.jsonl"
    assert "Status changed: 1 to complete, 1 to processing." in out
    assert "Orders entering complete lost their holds" in out
    assert_log_replays_to_holds()


@pytest.mark.django_db
def test_import_orders_new_order_in_a_releasing_status_is_simply_created(tmp_path):
    run(jsonl_file(tmp_path, order_record("300001", status="canceled")))
    assert Order.objects.get(number="300001").status_id == "canceled"
    assert not AssignmentLog.objects.exists()


# --- invalid records: reported by record and field, nothing changed --------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("row", "problem"),
    [
        (
            "300002,shipped,Bob,,A,Apple,1,1.50",
            "record 2 (line 3), order 300002: status: unknown status 'shipped'",
        ),
        ("300002,pending,,,A,Apple,1,1.50", "record 2 (line 3), order 300002: customer_name: is missing"),
        (",pending,Bob,,A,Apple,1,1.50", "record 2 (line 3): number: is missing"),
        ("300 002,pending,Bob,,A,Apple,1,1.50", "number: '300 002' contains spaces"),
        ("300002,pending,Bob,bob@,A,Apple,1,1.50", "customer_email: 'bob@' is not an email address"),
        ("300002,pending,Bob,,A,Apple,two,1.50", "order 300002: line_qty: 'two' is not a whole number"),
        ("300002,pending,Bob,,A,Apple,0,1.50", "line_qty: 0 is not a quantity of at least 1"),
        ("300002,pending,Bob,,A,Apple,1,1.555", "line_unit_price: 1.555 has more than two decimal places"),
        ('300002,pending,Bob,,A,Apple,1,"1,50"', "line_unit_price: '1,50' is not an amount"),
        ("300002,pending,Bob,,A,Apple,1,-2", "line_unit_price: -2 is not an amount of zero or more"),
        ("300002,pending,Bob,,,Apple,1,1.50", "line_sku: is missing"),
        (
            "300002,pending,Bob,,A,Apple,1",
            "record 2 (line 3), order 300002: row: has 7 cells; the header has 8",
        ),
    ],
)
def test_import_orders_with_an_invalid_record_names_it_and_imports_nothing(tmp_path, row, problem):
    OrderFactory(number="399999")
    before = database()
    path = csv_file(tmp_path, "300001,pending,Ann,,A,Apple,1,1.50", row, "300003,pending,Cid,,A,Apple,1,1.50")

    _out, err, error = refused(path)

    assert problem in err
    assert "nothing was imported" in str(error)
    assert database() == before


@pytest.mark.django_db
def test_import_orders_number_that_appears_twice_is_invalid(tmp_path):
    path = csv_file(
        tmp_path,
        "300001,pending,Ann,,A,Apple,1,1.50",
        "300002,pending,Bob,,A,Apple,1,1.50",
        "300001,pending,Ann,,B,Banana,1,2.00",
    )
    _out, err, _error = refused(path)
    assert (
        "record 3 (line 4), order 300001: number: order 300001 appears a second time (first in record 1)"
        in err
    )
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_import_orders_csv_rows_of_one_order_that_disagree_are_reported_with_their_line(tmp_path):
    path = csv_file(tmp_path, "300001,pending,Ann,,A,Apple,1,1.50", "300001,complete,Ann,,B,Pear,1,2.00")
    _out, err, _error = refused(path)
    assert (
        "record 1 (line 3), order 300001: status: 'complete' differs from the order's first row (line 2"
        in err
    )
    assert not Order.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ("{not json", "record 1 (line 1): record: is not valid JSON"),
        ("[1, 2]", "record 1 (line 1): record: must be a JSON object, not list"),
        (order_record("300001", colour="red"), "order 300001: colour: is not a field of an order"),
        (order_record("300001", lines="tea"), "lines: must be a list of objects"),
        (
            order_record("300001", lines=[{"sku": "A", "name": "Tea", "qty": 1}]),
            "lines[1].unit_price: is missing",
        ),
        (
            order_record("300001", lines=[{"sku": "A", "name": "Tea", "qty": 1.5, "unit_price": 1}]),
            "lines[1].qty: Decimal('1.5') is not a whole number",
        ),
        (order_record("300001", created_at="yesterday"), "created_at: 'yesterday' is not a date and time"),
        (order_record("300001", lines=[{"name": "Tea", "qty": 1}]), "lines[1].unit_price: is missing"),
        (
            order_record("300001", lines=[{"sku": "A", "name": "Tea", "qty": 2**40, "unit_price": 1}]),
            "lines[1].qty: 1099511627776 is too large a quantity",
        ),
        (
            order_record("300001", lines=[{"sku": "A", "name": "Tea", "qty": "²", "unit_price": 1}]),
            "is not a whole",
        ),
        (order_record("300001", currency="EURO"), "currency: 'EURO' is not a three-letter currency code"),
        (order_record("300001", shipping_country="BGR"), "shipping_country: 'BGR' is not a two-letter"),
        (order_record("300001", grand_total="lots"), "grand_total: 'lots' is not an amount"),
        (order_record("300001", customer_name=["x"]), 'customer_name: must be text, not ["x"]'),
        (order_record("3" * 33), "number: has 33 characters; at most 32 fit"),
    ],
)
def test_import_orders_jsonl_invalid_record_names_record_and_field(tmp_path, record, problem):
    before = database()
    _out, err, _error = refused(jsonl_file(tmp_path, record))
    assert problem in err
    assert database() == before


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "The CSV file is empty"),
        ("number,status\n1,pending\n", "The CSV header lacks the column(s) customer_name"),
        (
            "number,status,customer_name,line_sku\n",
            "lacks the column(s) line_name, line_qty, line_unit_price",
        ),
        ("number,status,customer_name,colour\n", "unknown column(s) 'colour'"),
        ("number,status,customer_name,number\n", "names number more than once"),
    ],
)
def test_import_orders_unusable_csv_header_is_refused_before_anything(tmp_path, content, message):
    path = tmp_path / "orders.csv"
    path.write_text(content, encoding="utf-8")
    _out, _err, error = refused(path)
    assert message in str(error)
    assert "Nothing was imported." in str(error)


@pytest.mark.django_db
def test_import_orders_file_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_bytes((HEADER + "\n300001,pending,Ren\xe9e,,A,Apple,1,1.50\n").encode("latin-1"))
    _out, _err, error = refused(path)
    assert "orders.csv is not UTF-8 text (line 2 is not)" in str(error)
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_import_orders_missing_file_and_unknown_extension_are_refused(tmp_path):
    assert "There is no file" in str(refused(tmp_path / "missing.csv")[2])
    odd = tmp_path / "orders.txt"
    odd.write_text("", encoding="utf-8")
    assert "Cannot tell the format of orders.txt" in str(refused(odd)[2])


@pytest.mark.django_db
def test_import_orders_format_option_reads_a_file_whatever_its_name(tmp_path):
    path = jsonl_file(tmp_path, order_record("300001"), name="export.txt")
    out, _err = run(path, "--format", "jsonl")
    assert "Created 1 order" in out


@pytest.mark.django_db
def test_import_orders_refuses_a_batch_size_out_of_range(tmp_path, settings):
    settings.ORDEROPS = {"BULK_MAX_ORDERS": 10}
    path = jsonl_file(tmp_path, order_record("300001"))
    assert "between 1 and 10" in str(refused(path, "--batch-size", "11")[2])
    assert not Order.objects.exists()


def test_import_orders_on_the_command_line_exits_non_zero_for_a_missing_file(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
    }
    finished = subprocess.run(
        [sys.executable, "manage.py", "import_orders", "--skip-checks", str(tmp_path / "missing.csv")],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 1
    assert "There is no file" in finished.stderr


# --- --skip-invalid, --dry-run, batches --------------------------------------------------------------------


@pytest.mark.django_db
def test_import_orders_skip_invalid_imports_the_good_records_and_exits_2(tmp_path):
    path = csv_file(
        tmp_path,
        "300001,pending,Ann,,A,Apple,1,1.50",
        "300002,shipped,Bob,,A,Apple,1,1.50",
        "300003,pending,Cid,,A,Apple,1,1.50",
    )
    out, err, error = refused(path, "--skip-invalid", returncode=2)
    assert set(Order.objects.values_list("number", flat=True)) == {"300001", "300003"}
    assert "record 2 (line 3), order 300002: status: unknown status 'shipped'" in err
    assert "3 records, 1 invalid (listed above)." in out
    assert "1 invalid record skipped (listed above); the 2 valid ones are imported." in str(error)


@pytest.mark.django_db
def test_import_orders_skip_invalid_with_a_clean_file_exits_zero(tmp_path):
    out, err = run(jsonl_file(tmp_path, order_record("300001")), "--skip-invalid")
    assert "Created 1 order" in out and err == ""


@pytest.mark.django_db
def test_import_orders_dry_run_changes_nothing_and_predicts_the_real_run(tmp_path, operator):
    held = OrderFactory(number="300001")
    run(jsonl_file(tmp_path, order_record("300002"), name="earlier.jsonl"))
    orders_assign(actor=operator, order_ids=[held.pk])
    path = jsonl_file(
        tmp_path,
        order_record("300001", status="complete"),
        order_record("300002"),
        order_record("300003"),
    )
    before = database()

    dry, _err = run(path, "--dry-run", "--batch-size", "2")
    assert database() == before
    real, _err = run(path, "--batch-size", "2")

    assert "Would create 1 order, would update 1, would leave 1 unchanged." in dry
    assert "Created 1 order, updated 1, left 1 unchanged." in real
    assert "Status would change: 1 to complete." in dry
    assert "Status changed: 1 to complete." in real
    assert "Nothing was changed (dry run)." in dry


@pytest.mark.django_db
def test_import_orders_dry_run_with_invalid_records_exits_as_the_real_run_would(tmp_path):
    path = jsonl_file(tmp_path, order_record("300001"), order_record("300002", status="shipped"))
    _out, err, error = refused(path, "--dry-run")
    assert "record 2 (line 2), order 300002: status: unknown status" in err
    assert "the import would change nothing" in str(error)
    _out, _err, error = refused(path, "--dry-run", "--skip-invalid", returncode=2)
    assert "would write the 1 valid records and skip 1 invalid record" in str(error)
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_import_orders_in_small_batches_gives_the_same_orders(tmp_path):
    path = jsonl_file(tmp_path, *(order_record(f"3000{n:02d}") for n in range(7)))
    out, _err = run(path, "--batch-size", "3")
    assert Order.objects.count() == 7
    assert OrderLine.objects.count() == 7
    assert "Created 7 orders" in out


@pytest.mark.django_db
def test_import_orders_failure_mid_way_imports_nothing_by_default(tmp_path, monkeypatch):
    path = jsonl_file(tmp_path, *(order_record(f"3000{n:02d}") for n in range(4)))
    real_import = import_orders.orders_import
    calls = []

    def failing_second_batch(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real_import(**kwargs)

    monkeypatch.setattr(import_orders, "orders_import", failing_second_batch)
    _out, _err, error = refused(path, "--batch-size", "2")
    assert "The import failed (RuntimeError: disk full); nothing was imported." in str(error)
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_import_orders_skip_invalid_failure_mid_way_keeps_earlier_batches_and_says_how_far(
    tmp_path, monkeypatch
):
    path = jsonl_file(tmp_path, *(order_record(f"3000{n:02d}") for n in range(5)))
    real_import = import_orders.orders_import
    calls = []

    def failing_second_batch(**kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real_import(**kwargs)

    monkeypatch.setattr(import_orders, "orders_import", failing_second_batch)
    out, _err, error = refused(path, "--skip-invalid", "--batch-size", "2")
    assert "stopped in batch 2 (RuntimeError: disk full) after 4 records" in str(error)
    assert "Batches 1 to 1 are imported; batch 2 changed nothing" in str(error)
    assert "Before it stopped, the import created 2 orders" in out
    assert set(Order.objects.values_list("number", flat=True)) == {"300000", "300001"}


@pytest.mark.django_db
def test_import_orders_file_changed_between_validation_and_writing_imports_nothing(tmp_path, monkeypatch):
    path = jsonl_file(tmp_path, order_record("300001"), order_record("300002"))
    real_open = import_orders.records_open
    opened = []

    def open_then_spoil(file_path, file_format):
        opened.append(1)
        if len(opened) == 2:  # the writing pass: someone rewrote the export meanwhile
            jsonl_file(tmp_path, order_record("300001"), order_record("300002", status="shipped"))
        return real_open(file_path, file_format)

    monkeypatch.setattr(import_orders, "records_open", open_then_spoil)
    _out, _err, error = refused(path)
    assert "orders.jsonl changed while it was imported" in str(error)
    assert "unknown status 'shipped'" in str(error)
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_import_orders_draws_a_progress_bar_only_on_a_terminal(tmp_path):
    path = jsonl_file(tmp_path, order_record("300001"))
    _out, err = run(path)
    assert err == ""
    terminal = Terminal()
    out, _err = run(path, stderr=terminal)
    assert "validating [" in terminal.getvalue()
    assert "importing [" in terminal.getvalue()
    assert "\n" not in terminal.getvalue()  # one line, redrawn in place and cleared at the end
    assert "[" not in out


@pytest.mark.django_db
def test_import_orders_update_writes_every_field_so_that_importing_it_again_changes_nothing(tmp_path):
    run(jsonl_file(tmp_path, order_record("300001"), name="first.jsonl"))
    changed = order_record(
        "300001",
        customer_email="new@example.com",
        customer_phone="+49 30 1234",
        grand_total="99.95",
        currency="bgn",
        created_at="2026-03-01T08:30:15.250000+02:00",
        shipping_name="Lukas",
        shipping_street="Hauptstraße 5",
        shipping_city="Berlin",
        shipping_postcode=10115,
        shipping_country="de",
    )
    path = jsonl_file(tmp_path, changed, name="second.jsonl")

    out, _err = run(path)
    assert "updated 1" in out
    order = Order.objects.get(number="300001")
    assert (order.customer_email, order.customer_phone, order.grand_total, order.currency) == (
        "new@example.com",
        "+49 30 1234",
        Decimal("99.95"),
        "BGN",
    )
    assert order.created_at == timezone.datetime(2026, 3, 1, 6, 30, 15, 250000, tzinfo=timezone.UTC)
    assert (order.shipping_street, order.shipping_postcode, order.shipping_country) == (
        "Hauptstraße 5",
        "10115",
        "DE",
    )
    assert order.updated_at > order.created_at

    again, _err = run(path)
    assert "Created 0 orders, updated 0, left 1 unchanged." in again


@pytest.mark.django_db
def test_import_orders_skip_invalid_with_an_unreadable_header_says_the_file_is_unusable(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("number,status\n300001,pending\n", encoding="utf-8")
    _out, _err, error = refused(path, "--skip-invalid")
    assert str(error) == "The CSV header lacks the column(s) customer_name. Nothing was imported."


@pytest.mark.django_db
def test_import_orders_skip_invalid_stopped_by_bad_bytes_keeps_earlier_batches_and_says_how_far(tmp_path):
    path = tmp_path / "orders.csv"
    rows = [f"30000{n},pending,Ann,,A,Apple,1,1.50" for n in range(3)]
    # Far enough into the file that the decoder reads the first batches before it meets the bad byte.
    padding = [f"31{n:04d},pending,{'x' * 150},,A,Apple,1,1.50" for n in range(100)]
    path.write_bytes(
        ("\n".join([HEADER, *rows, *padding]) + "\n").encode() + b"319999,pending,Ren\xe9e,,A,B,1,1\n"
    )
    out, _err, error = refused(path, "--skip-invalid", "--batch-size", "2")
    assert "The import stopped in batch" in str(error)
    assert "orders.csv is not UTF-8 text (line 105 is not)" in str(error)
    assert "Before it stopped, the import created" in out
    assert Order.objects.filter(number__startswith="30000").count() == 3


# --- versions, the field history and the event ------------------------------------------------------------


def changes_of(number: str) -> list[tuple]:
    """The order's history rows: (version, field, old, new, actor id), in the order they were written."""
    return list(
        OrderChange.objects.filter(order__number=number)
        .order_by("id")
        .values_list("version", "field", "old_value", "new_value", "actor_id")
    )


@pytest.mark.django_db
def test_import_orders_update_takes_the_next_version_and_records_each_changed_field(tmp_path):
    run(jsonl_file(tmp_path, order_record("300001", customer_email="elena@example.com"), name="first.jsonl"))
    created = Order.objects.get(number="300001")
    assert (created.version, changes_of("300001")) == (1, [])  # a new order starts with no history

    changed = order_record(
        "300001",
        customer_name="Elena Ivanova",
        customer_email="elena.ivanova@example.com",
        grand_total="20.00",
    )
    run(jsonl_file(tmp_path, changed, name="second.jsonl"))

    order = Order.objects.get(number="300001")
    assert order.version == 2
    assert order.updated_by_id is None  # the system
    assert sorted(changes_of("300001")) == [
        (2, "customer_email", "elena@example.com", "elena.ivanova@example.com", None),
        (2, "customer_name", "Elena Petrova", "Elena Ivanova", None),
        (2, "grand_total", "13.80", "20.00", None),
    ]


@pytest.mark.django_db
def test_import_orders_changed_lines_are_one_lines_change_and_one_new_version(tmp_path):
    run(jsonl_file(tmp_path, order_record("300001"), name="first.jsonl"))
    # Same total (2 x 6.90), so only the lines differ: replacing them is a write of its own.
    other_tea = order_record(
        "300001", lines=[{"sku": "TEA-2", "name": "Tea", "qty": 2, "unit_price": "6.90"}]
    )

    out, _err = run(jsonl_file(tmp_path, other_tea, name="second.jsonl"))

    assert "Lines replaced on 1 order." in out
    assert Order.objects.get(number="300001").version == 2
    assert changes_of("300001") == [(2, "lines", "2 x TEA-1 Tea @ 6.90", "2 x TEA-2 Tea @ 6.90", None)]


@pytest.mark.django_db
def test_import_orders_fields_and_lines_of_one_order_are_one_write(tmp_path):
    run(jsonl_file(tmp_path, order_record("300001"), name="first.jsonl"))
    both = order_record(
        "300001",
        customer_name="Elena Ivanova",
        lines=[{"sku": "TEA-1", "name": "Tea", "qty": 3, "unit_price": "6.90"}],
    )
    run(jsonl_file(tmp_path, both, name="second.jsonl"))
    assert Order.objects.get(number="300001").version == 2
    assert sorted(changes_of("300001")) == [
        (2, "customer_name", "Elena Petrova", "Elena Ivanova", None),
        (2, "grand_total", "13.80", "20.70", None),
        (2, "lines", "2 x TEA-1 Tea @ 6.90", "3 x TEA-1 Tea @ 6.90", None),
    ]


@pytest.mark.django_db
def test_import_orders_unchanged_reimport_writes_no_history_and_keeps_the_version(tmp_path):
    run(jsonl_file(tmp_path, order_record("300001"), name="first.jsonl"))
    path = jsonl_file(tmp_path, order_record("300001", customer_name="Elena Ivanova"), name="second.jsonl")
    run(path)
    before = changes_of("300001")

    out, _err = run(path)

    assert "left 1 unchanged" in out
    assert Order.objects.get(number="300001").version == 2
    assert changes_of("300001") == before


@pytest.mark.django_db
def test_import_orders_history_replays_to_the_order_after_several_imports(tmp_path, operator):
    imports = [
        order_record("300001"),
        order_record("300001", customer_phone="+359 88 123 4567", created_at="2026-05-01T10:00:00+03:00"),
        order_record("300001", lines=[{"sku": "MUG-1", "name": "Mug", "qty": 1, "unit_price": "13.80"}]),
        order_record("300001", status="processing", customer_name="Elena Ivanova"),
        order_record("300001", status="complete", shipping_country="bg", currency="BGN"),
        order_record("300001", status="complete", shipping_country="bg", currency="BGN"),  # unchanged
    ]
    for number, record in enumerate(imports, start=1):
        if number == 4:
            orders_assign(actor=operator, order_ids=[Order.objects.get(number="300001").pk])
        run(jsonl_file(tmp_path, record, name=f"import-{number}.jsonl"))

    order = Order.objects.get(number="300001")
    assert history_replays(order) == []
    # Fields, then lines, then fields and status (two writes: the fields', then the status service's),
    # then the same again; the last import changed nothing.
    assert order.version == 7
    assert OrderChange.objects.filter(order=order, field="status").count() == 2
    assert not Assignment.objects.filter(order=order).exists()
    assert_log_replays_to_holds()


@pytest.mark.django_db
def test_import_orders_sends_one_order_changed_event_after_commit(
    tmp_path, django_capture_on_commit_callbacks
):
    run(jsonl_file(tmp_path, order_record("300001"), order_record("300002"), name="first.jsonl"))
    ids = dict(Order.objects.values_list("number", "pk"))
    events = []

    def heard(sender, event, **kwargs):
        events.append(event)

    domain_event.connect(heard)
    try:
        changed = jsonl_file(
            tmp_path,
            order_record("300001", customer_name="Elena Ivanova"),
            order_record("300002", lines=[{"sku": "TEA-2", "name": "Tea", "qty": 2, "unit_price": "6.90"}]),
            order_record("300003"),  # new: created, not changed
            name="second.jsonl",
        )
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            run(changed)
        assert events == []  # nothing before the commit
        for callback in callbacks:
            callback()
    finally:
        domain_event.disconnect(heard)

    assert [(type(event), event.order_ids, event.fields, event.actor_id) for event in events] == [
        (OrderChanged, (ids["300001"], ids["300002"]), ("customer_name", "lines"), None)
    ]


@pytest.mark.django_db
def test_import_orders_batch_costs_the_same_statements_for_any_size(tmp_path):
    def statements(count: int, prefix: str) -> int:
        numbers = [f"{prefix}{n:03d}" for n in range(count)]
        run(jsonl_file(tmp_path, *(order_record(number) for number in numbers), name=f"{prefix}-1.jsonl"))
        records = []
        for index, number in enumerate(numbers):
            if index % 3 == 0:  # fields
                records.append(order_record(number, customer_name="Elena Ivanova"))
            elif index % 3 == 1:  # lines only
                records.append(
                    order_record(number, lines=[{"sku": "X", "name": "Tea", "qty": 2, "unit_price": "6.90"}])
                )
            else:  # status, and a new order for each
                records.append(order_record(number, status="processing"))
                records.append(order_record(f"{number}-new"))
        validator = RecordValidator()
        with records_open(jsonl_file(tmp_path, *records, name=f"{prefix}-2.jsonl"), "jsonl") as (raws, _at):
            orders = [validator.validate(raw) for raw in raws]
        with CaptureQueriesContext(connection) as queries:
            orders_import(orders=orders, reason="import_orders: test")
        return len(queries.captured_queries)

    assert statements(6, "3100") == statements(60, "3200")


@pytest.mark.django_db
def test_one_order_given_as_a_dict_is_validated_without_a_file():
    order, problems = order_record_validate(order_record("300001", grand_total=Decimal("13.80")))
    assert problems == []
    assert (order.number, order.values["status_id"], order.values["grand_total"]) == (
        "300001",
        "pending",
        Decimal("13.80"),
    )
    assert order.lines == (("TEA-1", "Tea", 2, Decimal("6.90")),)

    bad = order_record("300002", status="shipped", colour="red")
    bad["lines"][0]["qty"] = 0
    order, problems = order_record_validate(bad)
    assert order is None
    assert [(problem.field, problem.number) for problem in problems] == [
        ("colour", "300002"),
        ("status", "300002"),
        ("lines[1].qty", "300002"),
    ]
    assert not Order.objects.exists()
