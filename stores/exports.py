"""The stores' export files, read through the platforms' mappings for import_orders (the formats of
ORDEROPS["IMPORT_FORMATS"], orders/importing/formats.py):

- shopify-csv: the admin's "Export orders" CSV, one row per line item; an order's own fields only on its
  first row, its continuation rows leave them blank;
- shopify-json: {"order": {...}} or {"orders": [...]} (REST Admin), or a bare order or list of orders;
- woocommerce-json: a list of REST v3 orders (or one order), or a legacy {"order": ...} / {"orders": [...]};
- magento-json: a search page {"items": [...], "total_count": N} (GET /V1/orders), or one order, or a list.

With --store each order is applied through stores.services.store_order_apply(via="file"), as a webhook's
would be; without it the file can only be checked (--dry-run): an order of a store belongs to that store.
"""

import csv
import io
import json
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from orders.importing.formats import ForeignApplied, ForeignRecord
from orders.importing.reading import ImportFileError
from orders.results import RequestRefused
from orders.validators import currency_normalised
from stores.incoming import IncomingLine, IncomingOrder, PayloadError
from stores.platforms import magento, shopify, woocommerce
from stores.platforms.common import Reader, first, street

# --- JSON files ------------------------------------------------------------------------------------------

# The keys under which a JSON file wraps its orders: one order, or a list of them.
ONE_ORDER_KEYS = ("order",)
ORDER_LIST_KEYS = ("orders", "items")


def json_orders(text: str) -> Iterator[tuple[int, str, Any]]:
    """(line, where, order) for each order in a JSON export: a bare order, a list of orders, {"order": {}},
    {"orders": []} or a Magento search page {"items": [], "total_count": N}. `where` is its place in the
    file ("items[2]") and `line` the line it starts on, for messages."""
    decoder = json.JSONDecoder(parse_float=Decimal)
    lines = _Lines(text)
    start = _skip_space(text, 0)
    if start == len(text):
        raise ImportFileError("The file is empty: it holds no JSON.")
    try:
        if text[start] == "[":
            for index, (offset, value) in enumerate(_array_elements(decoder, text, start)):
                yield lines.at(offset), f"[{index}]", value
            return
        if text[start] != "{":
            value, _end = decoder.raw_decode(text, start)
            raise ImportFileError(
                f"The file holds a JSON {type(value).__name__}, not an order or a list of orders."
            )
        members = dict(_object_members(decoder, text, start))
    except json.JSONDecodeError as error:
        raise ImportFileError(
            f"The file is not valid JSON (line {error.lineno}, column {error.colno}: {error.msg})."
        ) from None
    wrapper = _wrapper_key(members)
    if wrapper is None:  # a bare order
        yield lines.at(start), "the order", {key: value for key, (_, value) in members.items()}
        return
    offset, value = members[wrapper]
    if wrapper in ONE_ORDER_KEYS:
        yield lines.at(offset), wrapper, value
        return
    for index, (element_offset, element) in enumerate(zip(value.offsets, value, strict=True)):
        yield lines.at(element_offset), f"{wrapper}[{index}]", element


def search_page_note(text: str) -> str:
    """A Magento search page holds one page of the orders its search found: say so when the file holds fewer
    orders than total_count, so that nobody takes one page for the whole export."""
    start = _skip_space(text, 0)
    if start == len(text) or text[start] != "{":
        return ""
    members = dict(_object_members(json.JSONDecoder(), text, start))
    if _wrapper_key(members) != "items":
        return ""
    held, total = len(members["items"][1]), members.get("total_count", (0, None))[1]
    if isinstance(total, int) and not isinstance(total, bool) and total > held:
        return (
            f"The file is one page of a search: it holds {held:,} of the {total:,} orders the search found"
            " (total_count). Export the other pages (searchCriteria[currentPage]) to import them too."
        )
    return ""


def _wrapper_key(members: dict[str, tuple[int, Any]]) -> str | None:
    """The key that wraps the orders, or None when the object is an order itself (it has an id)."""
    if "id" in members or "entity_id" in members:
        return None
    for key in ONE_ORDER_KEYS:
        if isinstance(members.get(key, (0, None))[1], Mapping):
            return key
    for key in ORDER_LIST_KEYS:
        if isinstance(members.get(key, (0, None))[1], list):
            return key
    return None


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


class _Elements(list):
    """A JSON array's values, with the offset each one starts at (for the line a message names)."""

    offsets: list[int]


def _array_elements(decoder: json.JSONDecoder, text: str, start: int, end: list[int] | None = None):
    """(offset, value) of each element of the JSON array at `start`; `end` gets the offset after it."""
    position = _skip_space(text, start + 1)
    if position < len(text) and text[position] == "]":
        if end is not None:
            end.append(position + 1)
        return
    while True:
        value, after = decoder.raw_decode(text, position)
        yield position, value
        position = _skip_space(text, after)
        if position < len(text) and text[position] == ",":
            position = _skip_space(text, position + 1)
            continue
        if position < len(text) and text[position] == "]":
            if end is not None:
                end.append(position + 1)
            return
        raise json.JSONDecodeError("Expecting ',' delimiter", text, position)


def _array(decoder: json.JSONDecoder, text: str, start: int) -> tuple[_Elements, int]:
    """The JSON array at `start`, each element decoded once, and the offset after it."""
    end: list[int] = []
    elements = _Elements()
    elements.offsets = []
    for offset, value in _array_elements(decoder, text, start, end):
        elements.offsets.append(offset)
        elements.append(value)
    return elements, end[0]


def _object_members(
    decoder: json.JSONDecoder, text: str, start: int
) -> Iterator[tuple[str, tuple[int, Any]]]:
    """(key, (offset, value)) of each member of the top-level JSON object at `start`; what follows it must be
    blank."""
    position = _skip_space(text, start + 1)
    if position < len(text) and text[position] == "}":
        end = position + 1
    else:
        while True:
            key, position = decoder.raw_decode(text, position)
            if not isinstance(key, str):
                raise json.JSONDecodeError(
                    "Expecting property name enclosed in double quotes", text, position
                )
            position = _skip_space(text, position)
            if position >= len(text) or text[position] != ":":
                raise json.JSONDecodeError("Expecting ':' delimiter", text, position)
            position = _skip_space(text, position + 1)
            # An array is decoded element by element, once, keeping where each starts.
            value, end = (
                _array(decoder, text, position)
                if text.startswith("[", position)
                else decoder.raw_decode(text, position)
            )
            yield key, (position, value)
            position = _skip_space(text, end)
            if position < len(text) and text[position] == ",":
                position = _skip_space(text, position + 1)
                continue
            if position < len(text) and text[position] == "}":
                end = position + 1
                break
            raise json.JSONDecodeError("Expecting ',' delimiter", text, position)
    if _skip_space(text, end) != len(text):
        raise json.JSONDecodeError("Extra data", text, _skip_space(text, end))


class _Lines:
    """The line of an offset in `text`, for offsets that only grow: each call counts from the last one, so
    that a file is scanned once, not once per order."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.offset = 0
        self.line = 1

    def at(self, offset: int) -> int:
        if offset < self.offset:
            self.offset, self.line = 0, 1
        self.line += self.text.count("\n", self.offset, offset)
        self.offset = offset
        return self.line


def _unwrapped(value: Any) -> Any:
    """A list element may itself be wrapped ({"order": {...}}, as a legacy WooCommerce webhook body is)."""
    if isinstance(value, Mapping) and set(value) == {"order"} and isinstance(value["order"], Mapping):
        return value["order"]
    return value


def json_records(text: str, mapping: Callable[[Mapping[str, Any]], IncomingOrder]) -> Iterator[ForeignRecord]:
    for record, (line, where, value) in enumerate(json_orders(text), start=1):
        value = _unwrapped(value)
        try:
            order = mapping(value)
        except PayloadError as error:
            yield ForeignRecord(record, line, _number_guess(value), problem=f"{where}: {error}")
        else:
            yield ForeignRecord(record, line, order.number, order=order)


def _number_guess(value: Any) -> str:
    if not isinstance(value, Mapping):
        return ""
    for key in ("name", "number", "order_number", "increment_id", "id", "entity_id"):
        if isinstance(value.get(key), str | int) and not isinstance(value.get(key), bool):
            return str(value[key])
    return ""


# --- Shopify's orders-export CSV ----------------------------------------------------------------------------

# The columns an export must have to be read at all; the others are read when present.
SHOPIFY_CSV_REQUIRED = (
    "Name",
    "Id",
    "Financial Status",
    "Fulfillment Status",
    "Currency",
    "Total",
    "Created at",
    "Lineitem quantity",
    "Lineitem name",
    "Lineitem price",
)


def shopify_csv_records(text: io.TextIOBase) -> Iterator[ForeignRecord]:
    """One record per order: its rows are consecutive and share its Name; the order's own fields come from
    its first row (Shopify leaves them blank on the rest), each row adds a line item."""
    reader = csv.reader(text)
    header = next(reader, None)
    if header is None:
        raise ImportFileError("The CSV file is empty: a Shopify orders export starts with its header row.")
    columns = [name.strip() for name in header]
    missing = [name for name in SHOPIFY_CSV_REQUIRED if name not in columns]
    if missing:
        raise ImportFileError(
            f"This is not a Shopify orders export: its header lacks {', '.join(missing)}"
            " (Shopify admin: Orders, Export, Plain CSV file)."
        )
    rows: list[tuple[int, dict[str, str]]] = []
    record = 0
    line = reader.line_num
    for row in reader:
        row_line, line = line + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(columns):
            if rows:
                record += 1
                yield _shopify_csv_record(record, rows)
                rows = []
            record += 1
            yield ForeignRecord(
                record,
                row_line,
                row[0].strip() if row else "",
                problem=f"the row has {len(row)} cells; the header has {len(columns)}",
            )
            continue
        cells = dict(zip(columns, row, strict=True))
        if rows and cells["Name"].strip() != rows[0][1]["Name"].strip():
            record += 1
            yield _shopify_csv_record(record, rows)
            rows = []
        rows.append((row_line, cells))
    if rows:
        record += 1
        yield _shopify_csv_record(record, rows)


def _shopify_csv_record(record: int, rows: list[tuple[int, dict[str, str]]]) -> ForeignRecord:
    line, head = rows[0]
    number = head["Name"].strip()
    try:
        order = shopify_csv_order(rows)
    except PayloadError as error:
        return ForeignRecord(record, line, number, problem=str(error))
    return ForeignRecord(record, line, number, order=order)


def shopify_csv_order(rows: list[tuple[int, dict[str, str]]]) -> IncomingOrder:
    """An order of Shopify's export from its rows ((file line, cells by column) each)."""
    first_line, head = rows[0]
    read = Reader(shopify.PLATFORM, head)
    number = read.text("Name")
    if not number:
        raise read.error(f"Name (line {first_line})", "is missing")
    read.name_order(number)

    def label(column: str, line: int = first_line) -> str:
        return f"{column} (line {line})"

    def text(column: str, *, required: bool = False) -> str:
        value = read.text(column)
        if required and not value:
            raise read.error(label(column), "is missing: an order's own fields are on its first row")
        return value

    def money(
        column: str, *, required: bool = False, cells: Mapping[str, str] = head, line: int = first_line
    ) -> Decimal:
        return read.amount(cells.get(column), label(column, line), required=required)

    def time(column: str, *, required: bool = False) -> datetime | None:
        try:
            return read.time(column, required=required)
        except PayloadError:
            raise read.error(label(column), f"{head.get(column)!r} is not a date and time") from None

    created_at = time("Created at", required=True)
    assert created_at is not None
    # The export has no updated_at: the latest thing that happened to the order stands for it.
    moments = [created_at, *(t for t in (time("Paid at"), time("Fulfilled at"), time("Cancelled at")) if t)]
    financial_status = text("Financial Status")
    fulfillment_status = text("Fulfillment Status") or "unfulfilled"

    lines = []
    for line, cells in rows:
        row = Reader(shopify.PLATFORM, cells)
        row.name_order(number)
        if not any(
            cells.get(column, "").strip()
            for column in ("Lineitem name", "Lineitem quantity", "Lineitem price")
        ):
            continue
        name = row.text("Lineitem name")
        if not name:
            raise read.error(label("Lineitem name", line), "is missing")
        try:
            qty = row.quantity("Lineitem quantity")
        except PayloadError:
            raise read.error(
                label("Lineitem quantity", line),
                f"{cells.get('Lineitem quantity')!r} is not a whole quantity of at least 1",
            ) from None
        price = money("Lineitem price", required=True, cells=cells, line=line)
        discount = money("Lineitem discount", cells=cells, line=line)
        lines.append(
            IncomingLine(
                sku=row.text("Lineitem sku"),
                name=name,
                qty=qty,
                unit_price=price,
                line_total=price * qty - discount,
            )
        )

    return IncomingOrder(
        external_id=text("Id", required=True),
        number=number,
        store_status=shopify.store_status(
            cancelled=bool(text("Cancelled at")),
            closed=False,
            financial_status=financial_status,
            fulfillment_status=fulfillment_status,
        ),
        created_at=created_at,
        updated_at=max(moments),
        currency=currency_normalised(text("Currency", required=True)),
        grand_total=money("Total", required=True),
        subtotal=money("Subtotal"),
        shipping_total=money("Shipping"),
        tax_total=money("Taxes"),
        discount_total=money("Discount Amount"),
        customer_name=first(text("Billing Name"), text("Shipping Name")),
        customer_email=text("Email"),
        customer_phone=first(text("Phone"), text("Billing Phone"), text("Shipping Phone")),
        shipping_name=text("Shipping Name"),
        shipping_street=text("Shipping Street")
        or street(text("Shipping Address1"), text("Shipping Address2")),
        shipping_city=text("Shipping City"),
        # Shopify writes a zip as '02134 so that a spreadsheet keeps its leading zero.
        shipping_postcode=text("Shipping Zip").lstrip("'"),
        shipping_country=_csv_country(read, first_line),
        payment_status=financial_status,
        fulfillment_status=fulfillment_status,
        shipping_method=text("Shipping Method"),
        customer_note=text("Notes"),
        lines=tuple(lines),
    )


def _csv_country(read: Reader, line: int) -> str:
    try:
        return read.country("Shipping Country")
    except PayloadError:
        raise read.error(
            f"Shipping Country (line {line})",
            f"{read.get('Shipping Country')!r} is not a two-letter country code",
        ) from None


# --- the formats -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoreFileFormat:
    """One of the stores' export formats, as import_orders sees it (orders.importing.formats.FileFormat)."""

    name: str
    platform: str  # stores.models.Platform's value
    description: str
    csv: bool = False

    @contextmanager
    def open(self, path: Path) -> Iterator[tuple[Iterator[ForeignRecord], Callable[[], int]]]:
        try:
            binary = path.open("rb")
        except OSError as error:
            raise ImportFileError(f"Cannot open {path}: {error.strerror or error}.") from None
        with binary:
            try:
                if self.csv:
                    text = io.TextIOWrapper(binary, encoding="utf-8-sig", newline="")
                    yield _decoded(shopify_csv_records(text), path), binary.tell
                else:
                    content = binary.read().decode("utf-8-sig")
                    yield json_records(content, _MAPPINGS[self.platform]), binary.tell
            except UnicodeDecodeError:
                raise ImportFileError(f"{path.name} is not UTF-8 text: save the export as UTF-8.") from None

    def target(self, store: str | None) -> "StoreTarget":
        return StoreTarget.for_store(store, platform=self.platform, file_format=self.name)

    def notes(self, path: Path) -> list[str]:
        if self.csv:
            return []
        try:
            note = search_page_note(path.read_text(encoding="utf-8-sig"))
        except (OSError, UnicodeDecodeError, ValueError):
            return []  # open() reports what is wrong with the file
        return [note] if note else []


def _decoded(records: Iterator[ForeignRecord], path: Path) -> Iterator[ForeignRecord]:
    try:
        yield from records
    except UnicodeDecodeError:
        raise ImportFileError(f"{path.name} is not UTF-8 text: save the export as UTF-8.") from None


_MAPPINGS = {
    "shopify": shopify.order_from_payload,
    "woocommerce": woocommerce.order_from_payload,
    "magento": magento.order_from_payload,
}
_PLATFORM_NAMES = {
    "shopify": shopify.PLATFORM,
    "woocommerce": woocommerce.PLATFORM,
    "magento": magento.PLATFORM,
}


@dataclass(frozen=True)
class StoreTarget:
    """A connected store that a file's orders are applied to, each through store_order_apply(via="file")."""

    store: Any  # stores.models.Store
    label: str

    @classmethod
    def for_store(cls, slug: str | None, *, platform: str, file_format: str) -> "StoreTarget":
        from stores.models import Store

        platform_name = _PLATFORM_NAMES[platform]
        if not slug:
            raise ImportFileError(
                f"--format {file_format} reads a {platform_name} store's export: name the store its"
                " orders belong to with --store SLUG (python manage.py store_connect creates one), or"
                " check the file alone with --dry-run."
            )
        store = Store.objects.filter(slug=slug).first()
        if store is None:
            known = ", ".join(
                Store.objects.filter(platform=platform).order_by("slug").values_list("slug", flat=True)
            )
            raise ImportFileError(
                f"There is no store {slug!r}."
                + (
                    f" The {platform_name} stores are {known}."
                    if known
                    else f" No {platform_name} store is connected."
                )
            )
        if store.platform != platform:
            raise ImportFileError(
                f"The store {slug!r} is a {_PLATFORM_NAMES.get(store.platform, store.platform)} store;"
                f" --format {file_format} is a {platform_name} export."
            )
        return cls(store=store, label=f"the {platform_name} store {slug}")

    def apply(self, records: Sequence[ForeignRecord]) -> ForeignApplied:
        from stores.services import store_order_apply

        outcomes: Counter[str] = Counter()
        refused: list[ForeignRecord] = []
        for record in records:
            try:
                result = store_order_apply(store=self.store, incoming=record.order, via="file")
            except (PayloadError, RequestRefused) as error:
                # The store's copy cannot be applied (a status its map lacks, a value an order cannot hold):
                # the order is refused, with the reason; the caller decides whether the file stops.
                refused.append(ForeignRecord(record.record, record.line, record.number, problem=str(error)))
            else:
                outcomes[str(result.outcome)] += 1
        return ForeignApplied(outcomes=outcomes, refused=refused)


SHOPIFY_CSV = StoreFileFormat(
    "shopify-csv", "shopify", "Shopify's orders export (Orders, Export, CSV): one row per line item", csv=True
)
SHOPIFY_JSON = StoreFileFormat(
    "shopify-json", "shopify", 'Shopify REST Admin JSON: {"order": ...} or {"orders": [...]}'
)
WOOCOMMERCE_JSON = StoreFileFormat(
    "woocommerce-json", "woocommerce", "WooCommerce REST v3 JSON: a list of orders or one order"
)
MAGENTO_JSON = StoreFileFormat(
    "magento-json",
    "magento",
    'Magento 2 REST JSON: a search page {"items": [...], "total_count": N} or one order',
)
