"""Importing orders from a store's export: the two file formats, their validation, and the upsert by number.

The format is documented in docs/import-format.md. Reading streams: a record is parsed, validated and handed
on before the next one is read, so memory grows with the batch size and the set of order numbers seen, not
with the file. Writing goes through `orders_import`, one batch per call; status changes of existing orders go
through the status service, so that an order entering a releasing status loses its hold, logged.
"""

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from orderops.db import db_datetime, id_set
from orders.models import Order, OrderLine, OrderStatus
from orders.results import Outcome
from orders.selectors import orders_locked
from orders.services import orders_status_set

FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}

# The order's own fields, as the file names them (the model's field names); `number` identifies the order.
ORDER_FIELDS = (
    "status",
    "customer_name",
    "customer_email",
    "customer_phone",
    "grand_total",
    "currency",
    "created_at",
    "shipping_name",
    "shipping_street",
    "shipping_city",
    "shipping_postcode",
    "shipping_country",
)
LINE_FIELDS = ("sku", "name", "qty", "unit_price")
# A CSV file has one row per order line: the order's columns repeated, then the line's as line_<field>.
CSV_LINE_PREFIX = "line_"
CSV_COLUMNS = ("number", *ORDER_FIELDS, *(CSV_LINE_PREFIX + name for name in LINE_FIELDS))
JSON_KEYS = ("number", *ORDER_FIELDS, "lines")
REQUIRED_FIELDS = ("number", "status", "customer_name")
REQUIRED_LINE_FIELDS = ("sku", "name", "qty", "unit_price")
DEFAULT_CURRENCY = "EUR"
# The fields an import writes directly: everything but the status, which only the status service changes.
UPDATED_FIELDS = tuple(name for name in ORDER_FIELDS if name != "status")

MONEY_PLACES = Decimal("0.01")
MONEY_LIMIT = Decimal(10) ** 10  # DecimalField(max_digits=12, decimal_places=2)
QTY_LIMIT = 2_147_483_647  # PositiveIntegerField on PostgreSQL
CURRENCY_CODE = re.compile(r"[A-Z]{3}")
COUNTRY_CODE = re.compile(r"[A-Z]{2}")
NO_WHITESPACE = re.compile(r"\S+")


class ImportFileError(Exception):
    """The file as a whole cannot be read (missing, not UTF-8, a CSV header without the needed columns)."""


@dataclass(frozen=True, slots=True)
class Problem:
    """Why one record cannot be imported: where it is, which order, which field, and what is wrong."""

    record: int
    line: int
    number: str
    field: str
    message: str

    def __str__(self) -> str:
        order = f", order {self.number}" if self.number else ""
        return f"record {self.record} (line {self.line}){order}: {self.field}: {self.message}"


@dataclass(slots=True)
class RawLine:
    line: int  # where the order line is in the file
    prefix: str  # how a problem names its fields: "line_" (CSV: line_qty) or "lines[2]." (JSON Lines)
    values: dict[str, Any]


@dataclass(slots=True)
class RawRecord:
    """One order as read from the file, before validation; `problems` holds what the reader found."""

    record: int
    line: int
    values: dict[str, Any]
    lines: list[RawLine] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    # False when the reader could not make out the record's fields at all (broken JSON, a short CSV row):
    # its one problem says so, and validation adds no follow-on noise.
    readable: bool = True

    def problem(self, field_name: str, message: str, *, line: int | None = None) -> None:
        number = self.values.get("number")
        number = str(number).strip() if isinstance(number, str | int) and not isinstance(number, bool) else ""
        self.problems.append(Problem(self.record, line or self.line, number, field_name, message))


@dataclass(frozen=True, slots=True)
class ImportedOrder:
    """A valid record: the order's field values (status as its code) and its lines, in file order."""

    record: int
    number: str
    values: dict[str, Any]
    lines: tuple[tuple[str, str, int, Decimal], ...]


# --- reading ---------------------------------------------------------------------------------------------


def format_guess(path: Path, given: str | None) -> str:
    if given:
        return given
    guessed = FORMATS.get(path.suffix.lower())
    if guessed is None:
        raise ImportFileError(
            f"Cannot tell the format of {path.name} from its extension: name it .csv or .jsonl, or say"
            " --format csv or --format jsonl."
        )
    return guessed


@contextmanager
def records_open(path: Path, file_format: str):
    """Open the file and yield (records, bytes_read): records streams RawRecords, bytes_read() says how far
    the reading got (for a progress bar)."""
    try:
        binary = path.open("rb")
    except OSError as error:
        raise ImportFileError(f"Cannot open {path}: {error.strerror or error}.") from None
    with binary:
        text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
        reader = csv_records(text) if file_format == "csv" else jsonl_records(text)
        yield _decoded(reader, path), binary.tell


def _decoded(records: Iterator[RawRecord], path: Path) -> Iterator[RawRecord]:
    try:
        yield from records
    except UnicodeDecodeError:
        raise ImportFileError(
            f"{path.name} is not UTF-8 text (line {_first_line_not_utf8(path)} is not): save the export"
            " as UTF-8."
        ) from None


def _first_line_not_utf8(path: Path) -> int | str:
    """The decoder reads ahead in chunks, so its error does not say which line: look for it, line by line."""
    with path.open("rb") as binary:
        for line_no, line in enumerate(binary, start=1):
            try:
                line.decode("utf-8")
            except UnicodeDecodeError:
                return line_no
    return "?"


def csv_records(text) -> Iterator[RawRecord]:
    """One RawRecord per order: its rows (one per line) are consecutive and share the order's columns."""
    reader = csv.reader(text)
    header = next(reader, None)
    if header is None:
        raise ImportFileError("The CSV file is empty: it needs a header row naming its columns.")
    columns = [name.strip() for name in header]
    unknown = [name for name in columns if name not in CSV_COLUMNS]
    if unknown:
        raise ImportFileError(
            f"The CSV header has unknown column(s) {', '.join(map(repr, unknown))};"
            f" the columns are {', '.join(CSV_COLUMNS)}."
        )
    missing = [name for name in REQUIRED_FIELDS if name not in columns]
    line_columns = [name for name in columns if name.startswith(CSV_LINE_PREFIX)]
    if line_columns:
        missing += [
            CSV_LINE_PREFIX + name for name in REQUIRED_LINE_FIELDS if CSV_LINE_PREFIX + name not in columns
        ]
    if missing:
        raise ImportFileError(f"The CSV header lacks the column(s) {', '.join(missing)}.")
    duplicated = [name for name, count in Counter(columns).items() if count > 1]
    if duplicated:
        raise ImportFileError(f"The CSV header names {', '.join(duplicated)} more than once.")

    current: RawRecord | None = None
    record_count = 0
    line_no = reader.line_num
    for row in reader:
        # reader.line_num counts physical lines, so a quoted cell with a line break keeps numbers true.
        row_line, line_no = line_no + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            if current is not None:
                yield current
                current = None
            record_count += 1
            broken = RawRecord(record_count, row_line, {"number": row[0] if row else ""})
            broken.problem("row", f"has {len(row)} cells; the header has {len(columns)}")
            broken.readable = False
            yield broken
            continue
        cells = dict(zip(columns, row, strict=True))
        number = cells["number"].strip()
        order_values = {name: cells[name] for name in columns if not name.startswith(CSV_LINE_PREFIX)}
        line_values = {name.removeprefix(CSV_LINE_PREFIX): cells[name] for name in line_columns}
        if current is None or not number or number != current.values["number"].strip():
            if current is not None:
                yield current
            record_count += 1
            current = RawRecord(record_count, row_line, order_values)
        else:
            # A further row of the same order: its order columns are empty, or say what the first row said.
            for name, value in order_values.items():
                if value.strip() and value.strip() != current.values.get(name, "").strip():
                    current.problem(
                        name,
                        f"{value!r} differs from the order's first row (line {current.line}:"
                        f" {current.values.get(name, '')!r})",
                        line=row_line,
                    )
        if any(value.strip() for value in line_values.values()):
            current.lines.append(RawLine(row_line, CSV_LINE_PREFIX, line_values))
    if current is not None:
        yield current


def jsonl_records(text) -> Iterator[RawRecord]:
    """One RawRecord per line: a JSON object with the order's fields and a "lines" list."""
    record_count = 0
    for line_no, line in enumerate(text, start=1):
        if not line.strip():
            continue
        record_count += 1
        try:
            data = json.loads(line, parse_float=Decimal)
        except ValueError as error:
            raw = RawRecord(record_count, line_no, {})
            raw.problem("record", f"is not valid JSON ({error})")
            raw.readable = False
            yield raw
            continue
        if not isinstance(data, dict):
            raw = RawRecord(record_count, line_no, {})
            raw.problem("record", f"must be a JSON object, not {type(data).__name__}")
            raw.readable = False
            yield raw
            continue
        raw = RawRecord(record_count, line_no, {key: value for key, value in data.items() if key != "lines"})
        for key in data:
            if key not in JSON_KEYS:
                raw.problem(key, f"is not a field of an order; the fields are {', '.join(JSON_KEYS)}")
        lines = data.get("lines", [])
        if lines is None:
            lines = []
        if not isinstance(lines, list):
            raw.problem("lines", "must be a list of objects")
            lines = []
        for index, item in enumerate(lines, start=1):
            label = f"lines[{index}]"
            if not isinstance(item, dict):
                raw.problem(label, "must be an object with sku, name, qty and unit_price")
                continue
            for key in item:
                if key not in LINE_FIELDS:
                    raw.problem(
                        f"{label}.{key}", f"is not a field of a line; they are {', '.join(LINE_FIELDS)}"
                    )
            raw.lines.append(
                RawLine(line_no, f"{label}.", {key: item.get(key) for key in LINE_FIELDS if key in item})
            )
        yield raw


# --- validation ------------------------------------------------------------------------------------------


class RecordValidator:
    """Turns RawRecords into ImportedOrders, or problems. Remembers the numbers it has seen (a number may
    appear once per file), and nothing else, so that one validator can check a whole file."""

    def __init__(self) -> None:
        self.statuses = list(OrderStatus.objects.values_list("code", flat=True))
        self.status_set = set(self.statuses)
        self.seen: dict[str, int] = {}

    def validate(self, raw: RawRecord) -> ImportedOrder | None:
        if not raw.readable:
            return None
        values: dict[str, Any] = {}
        number = self._text(raw, "number", raw.values.get("number"), required=True, allow_int=True)
        if number and not NO_WHITESPACE.fullmatch(number):
            raw.problem("number", f"{number!r} contains spaces")
        elif number and number in self.seen:
            raw.problem(
                "number",
                f"order {number} appears a second time (first in record {self.seen[number]}); one record"
                " per order, and in CSV the rows of one order together",
            )
        elif number:
            self.seen[number] = raw.record

        status = self._text(raw, "status", raw.values.get("status"), required=True)
        if status and status not in self.status_set:
            raw.problem("status", f"unknown status {status!r}; the statuses are {', '.join(self.statuses)}")
        values["status_id"] = status

        for name in ("customer_name", "customer_phone", "shipping_name", "shipping_street", "shipping_city"):
            values[name] = self._text(raw, name, raw.values.get(name), required=name in REQUIRED_FIELDS)
        values["shipping_postcode"] = self._text(
            raw, "shipping_postcode", raw.values.get("shipping_postcode"), allow_int=True
        )
        email = self._text(raw, "customer_email", raw.values.get("customer_email"))
        if email:
            try:
                validate_email(email)
            except ValidationError:
                raw.problem("customer_email", f"{email!r} is not an email address")
        values["customer_email"] = email
        currency = (
            self._text(raw, "currency", raw.values.get("currency"), check_length=False).upper()
            or DEFAULT_CURRENCY
        )
        if not CURRENCY_CODE.fullmatch(currency):
            raw.problem("currency", f"{currency!r} is not a three-letter currency code (EUR, BGN, USD)")
        values["currency"] = currency
        country = self._text(
            raw, "shipping_country", raw.values.get("shipping_country"), check_length=False
        ).upper()
        if country and not COUNTRY_CODE.fullmatch(country):
            raw.problem("shipping_country", f"{country!r} is not a two-letter country code (BG, DE)")
        values["shipping_country"] = country
        values["created_at"] = self._datetime(raw, "created_at", raw.values.get("created_at"))

        lines = tuple(line for line in (self._line(raw, item) for item in raw.lines) if line is not None)
        grand_total = self._money(raw, "grand_total", raw.values.get("grand_total"))
        if grand_total is None and len(lines) == len(raw.lines):
            grand_total = sum((qty * price for _sku, _name, qty, price in lines), Decimal("0.00"))
            if grand_total >= MONEY_LIMIT:
                raw.problem("grand_total", f"the lines add up to {grand_total}, more than an order can total")
        values["grand_total"] = grand_total

        if raw.problems:
            return None
        return ImportedOrder(raw.record, number, values, lines)

    def _text(
        self,
        raw: RawRecord,
        name: str,
        value: Any,
        *,
        required: bool = False,
        allow_int: bool = False,
        check_length: bool = True,
    ) -> str:
        if value is None:
            text = ""
        elif isinstance(value, str):
            text = value.strip()
        elif allow_int and isinstance(value, int) and not isinstance(value, bool):
            text = str(value)
        else:
            raw.problem(name, f"must be text, not {json.dumps(value, default=str)}")
            return ""
        if required and not text:
            raw.problem(name, "is missing")
        model_field = OrderStatus._meta.get_field("code") if name == "status" else Order._meta.get_field(name)
        if check_length and len(text) > model_field.max_length:
            raw.problem(name, f"has {len(text)} characters; at most {model_field.max_length} fit")
        return text

    def _money(self, raw: RawRecord, label: str, value: Any, *, line: int | None = None) -> Decimal | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            raw.problem(
                label, f"must be an amount like 12.50, not {json.dumps(value, default=str)}", line=line
            )
            return None
        try:
            amount = Decimal(value.strip() if isinstance(value, str) else value)
        except InvalidOperation:
            raw.problem(
                label, f"{value!r} is not an amount (write 12.50: a dot, no currency sign)", line=line
            )
            return None
        if not amount.is_finite() or amount < 0:
            raw.problem(label, f"{value} is not an amount of zero or more", line=line)
        elif amount != amount.quantize(MONEY_PLACES):
            raw.problem(label, f"{value} has more than two decimal places", line=line)
        elif amount >= MONEY_LIMIT:
            raw.problem(label, f"{value} is too large (at most 9999999999.99)", line=line)
        else:
            return amount.quantize(MONEY_PLACES)
        return None

    def _datetime(self, raw: RawRecord, name: str, value: Any) -> datetime | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        parsed = None
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                parsed = None
        if parsed is None:
            raw.problem(name, f"{value!r} is not a date and time like 2026-05-04T14:30:00+02:00")
            return None
        if timezone.is_naive(parsed):
            parsed = timezone.make_aware(parsed)
        return parsed

    def _line(self, raw: RawRecord, item: RawLine) -> tuple[str, str, int, Decimal] | None:
        problems_before = len(raw.problems)

        def label(name: str) -> str:
            return item.prefix + name

        texts = {}
        for name in ("sku", "name"):
            value = item.values.get(name)
            if value is None or (isinstance(value, str) and not value.strip()):
                raw.problem(label(name), "is missing", line=item.line)
            elif not isinstance(value, str | int) or isinstance(value, bool):
                raw.problem(label(name), "must be text", line=item.line)
            else:
                texts[name] = str(value).strip()
                limit = OrderLine._meta.get_field(name).max_length
                if len(texts[name]) > limit:
                    raw.problem(
                        label(name), f"has {len(texts[name])} characters; at most {limit} fit", line=item.line
                    )
        qty = self._qty(raw, label("qty"), item.values.get("qty"), item.line)
        price = item.values.get("unit_price")
        if price is None or (isinstance(price, str) and not price.strip()):
            raw.problem(label("unit_price"), "is missing", line=item.line)
        unit_price = self._money(raw, label("unit_price"), price, line=item.line)
        if len(raw.problems) > problems_before:
            return None
        return texts["sku"], texts["name"], qty, unit_price

    def _qty(self, raw: RawRecord, label: str, value: Any, line: int) -> int | None:
        if value is None or (isinstance(value, str) and not value.strip()):
            raw.problem(label, "is missing", line=line)
            return None
        if isinstance(value, bool):
            qty = None
        elif isinstance(value, int):
            qty = value
        elif isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
            qty = int(value.strip())
        else:
            qty = None
        if qty is None:
            raw.problem(label, f"{value!r} is not a whole number", line=line)
        elif qty < 1:
            raw.problem(label, f"{qty} is not a quantity of at least 1", line=line)
            qty = None
        elif qty > QTY_LIMIT:
            raw.problem(label, f"{qty} is too large a quantity (at most {QTY_LIMIT})", line=line)
            qty = None
        return qty


# --- writing ---------------------------------------------------------------------------------------------


@dataclass
class ImportCounts:
    """What an import did (or would do) to the orders."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    lines_replaced: int = 0  # orders whose lines were replaced
    status_changes: Counter = field(default_factory=Counter)  # new status code -> orders

    def add(self, other: "ImportCounts") -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.lines_replaced += other.lines_replaced
        self.status_changes.update(other.status_changes)


@dataclass
class ImportPlan:
    """One batch, compared with the database: which orders are new, which change and how."""

    new: list[ImportedOrder] = field(default_factory=list)
    # (order id, imported order, the values to write: every updated field, created_at kept when not given)
    changed: list[tuple[int, ImportedOrder, dict[str, Any]]] = field(default_factory=list)
    lines_changed: list[tuple[int, ImportedOrder]] = field(default_factory=list)
    status_moves: dict[str, list[int]] = field(default_factory=dict)
    unchanged: int = 0

    @property
    def counts(self) -> ImportCounts:
        touched = {pk for pk, _order, _values in self.changed}
        touched |= {pk for pk, _order in self.lines_changed}
        for ids in self.status_moves.values():
            touched |= set(ids)
        return ImportCounts(
            created=len(self.new),
            updated=len(touched),
            unchanged=self.unchanged,
            lines_replaced=len(self.lines_changed),
            status_changes=Counter({code: len(ids) for code, ids in self.status_moves.items()}),
        )


def orders_import_plan(*, orders: list[ImportedOrder], lock: bool = False) -> ImportPlan:
    """Compare a batch with the database. With `lock`, the existing orders are locked first (in the services'
    lock order), so that the comparison stays true until the transaction writes it."""
    numbers = [order.number for order in orders]
    existing_ids = list(Order.objects.filter(number__in=numbers).values_list("pk", flat=True))
    if lock and existing_ids:
        orders_locked(existing_ids)
    current = {
        row["number"]: row
        for row in Order.objects.filter(pk__in=id_set(existing_ids)).values(
            "pk", "number", "status_id", *UPDATED_FIELDS
        )
    }
    current_lines: dict[int, list[tuple]] = {}
    for order_id, sku, name, qty, unit_price in (
        OrderLine.objects.filter(order_id__in=id_set(existing_ids))
        .order_by("order_id", "id")
        .values_list("order_id", "sku", "name", "qty", "unit_price")
    ):
        current_lines.setdefault(order_id, []).append((sku, name, qty, unit_price))

    plan = ImportPlan()
    for order in orders:
        row = current.get(order.number)
        if row is None:
            plan.new.append(order)
            continue
        pk = row["pk"]
        values = {name: order.values[name] for name in UPDATED_FIELDS}
        if values["created_at"] is None:
            values["created_at"] = row["created_at"]
        fields_differ = any(values[name] != row[name] for name in UPDATED_FIELDS)
        lines_differ = list(order.lines) != current_lines.get(pk, [])
        if fields_differ:
            plan.changed.append((pk, order, values))
        if lines_differ:
            plan.lines_changed.append((pk, order))
        if order.values["status_id"] != row["status_id"]:
            plan.status_moves.setdefault(order.values["status_id"], []).append(pk)
        if not (fields_differ or lines_differ or order.values["status_id"] != row["status_id"]):
            plan.unchanged += 1
    return plan


def _orders_fields_set(*, changed: list[tuple[int, dict[str, Any]]], updated_at: datetime) -> None:
    """Write the new field values of many orders in one UPDATE ... FROM (a set of rows), never the status.

    bulk_update would do the same with one CASE per field listing every order: on 1,000 orders that is
    quadratic work for the database and seconds of expression building in Python.
    """
    if not changed:
        return
    table = Order._meta.db_table
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(name)} = v.{quote(name)}" for name in UPDATED_FIELDS)
    if connection.vendor == "postgresql":
        types = {"grand_total": "numeric[]", "created_at": "timestamptz[]"}
        arrays = ", ".join(f"%s::{types.get(name, 'text[]')}" for name in UPDATED_FIELDS)
        columns = ", ".join(quote(name) for name in UPDATED_FIELDS)
        sql = (
            f"UPDATE {table} SET {assignments}, updated_at = %s"
            f" FROM unnest(%s::bigint[], {arrays}) AS v(id, {columns}) WHERE {table}.id = v.id"
        )
        params = [
            updated_at,
            [pk for pk, _values in changed],
            *([values[name] for _pk, values in changed] for name in UPDATED_FIELDS),
        ]
    else:
        # SQLite: the rows as one JSON parameter, whatever their number (no limit on bound variables).
        picks = ", ".join(
            f"json_extract(value, '$[{index}]') AS {quote(name)}"
            for index, name in enumerate(UPDATED_FIELDS, start=1)
        )
        sql = (
            f"UPDATE {table} SET {assignments}, updated_at = %s"
            f" FROM (SELECT json_extract(value, '$[0]') AS id, {picks} FROM json_each(%s)) AS v"
            f" WHERE {table}.id = v.id"
        )
        rows = [
            [pk, *(_sqlite_value(name, values[name]) for name in UPDATED_FIELDS)] for pk, values in changed
        ]
        params = [db_datetime(updated_at), json.dumps(rows)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.rowcount != len(changed):
            raise RuntimeError(f"import: {cursor.rowcount} orders updated of {len(changed)}")


def _sqlite_value(name: str, value: Any) -> Any:
    """Amounts and moments as the text Django itself writes to SQLite; other values as they are."""
    if value is None or name not in ("grand_total", "created_at"):
        return value
    return str(Order._meta.get_field(name).get_db_prep_save(value, connection))


@transaction.atomic
def orders_import(*, orders: list[ImportedOrder], reason: str) -> ImportCounts:
    """Upsert one batch of valid orders by number, in one transaction: new orders are created with their
    lines; existing ones get the imported fields and lines; a changed status goes through the status
    service as the system (actor None) with `reason`, so entering a releasing status ends the hold, logged.
    """
    plan = orders_import_plan(orders=orders, lock=True)
    now = timezone.now()

    created = Order.objects.bulk_create(
        [
            Order(
                number=order.number,
                status_id=order.values["status_id"],
                **{name: order.values[name] for name in UPDATED_FIELDS if name != "created_at"},
                created_at=order.values["created_at"] or now,
                updated_at=now,
            )
            for order in plan.new
        ]
    )
    new_lines = [
        OrderLine(order_id=new_order.pk, sku=sku, name=name, qty=qty, unit_price=unit_price)
        for new_order, order in zip(created, plan.new, strict=True)
        for sku, name, qty, unit_price in order.lines
    ]

    _orders_fields_set(changed=[(pk, values) for pk, _order, values in plan.changed], updated_at=now)
    if plan.lines_changed:
        OrderLine.objects.filter(order_id__in=id_set(pk for pk, _order in plan.lines_changed)).delete()
        new_lines += [
            OrderLine(order_id=pk, sku=sku, name=name, qty=qty, unit_price=unit_price)
            for pk, order in plan.lines_changed
            for sku, name, qty, unit_price in order.lines
        ]
    OrderLine.objects.bulk_create(new_lines)

    for status_code, order_ids in plan.status_moves.items():
        result = orders_status_set(actor=None, order_ids=order_ids, status_code=status_code, reason=reason)
        refused = [outcome for outcome in result if outcome.outcome != Outcome.DONE]
        if refused:
            # The orders are locked and the system passes the guard: anything else is a bug. Undo the batch.
            raise RuntimeError(f"status change refused during import: {refused[0].message}")
    return plan.counts
