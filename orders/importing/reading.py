"""Reading a store's export: the two file formats, opening a file, and its records as RawRecords.

Reading streams: a record is parsed and handed on before the next one is read. The reader checks only what
it needs to make out a record (its shape, its keys, a CSV order's rows agreeing); the field rules are
orders.importing.validation's.
"""

import csv
import io
import json
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

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
        yield record_from_object(data, record=record_count, line=line_no)


def record_from_object(data: Any, *, record: int, line: int) -> RawRecord:
    """One order given as a JSON object (a dict: the order's fields and "lines", a list of objects), as a
    RawRecord: a line of a JSON Lines file, or an order sent to the API."""
    if not isinstance(data, dict):
        raw = RawRecord(record, line, {})
        raw.problem("record", f"must be a JSON object, not {type(data).__name__}")
        raw.readable = False
        return raw
    raw = RawRecord(record, line, {key: value for key, value in data.items() if key != "lines"})
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
                raw.problem(f"{label}.{key}", f"is not a field of a line; they are {', '.join(LINE_FIELDS)}")
        raw.lines.append(
            RawLine(line, f"{label}.", {key: item.get(key) for key in LINE_FIELDS if key in item})
        )
    return raw
