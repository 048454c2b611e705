"""The field rules of an imported order: a RawRecord becomes an ImportedOrder, or a list of problems.

One validator checks a whole file (it remembers the numbers it has seen, and nothing else);
`order_record_validate` checks one order given as a dict, without a file (the API's order ingest).
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, cast

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db.models import CharField, Model
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from orders.importing.reading import REQUIRED_FIELDS, Problem, RawLine, RawRecord, record_from_object
from orders.models import Order, OrderLine, OrderStatus
from orders.validators import currency_normalised, order_number_problem

DEFAULT_CURRENCY = "EUR"
MONEY_PLACES = Decimal("0.01")
MONEY_LIMIT = Decimal(10) ** 10  # DecimalField(max_digits=12, decimal_places=2)
QTY_LIMIT = 2_147_483_647  # PositiveIntegerField on PostgreSQL
CURRENCY_CODE = re.compile(r"[A-Z]{3}")
COUNTRY_CODE = re.compile(r"[A-Z]{2}")


@dataclass(frozen=True, slots=True)
class ImportedOrder:
    """A valid record: the order's field values (status as its code) and its lines, in file order."""

    record: int
    number: str
    values: dict[str, Any]
    lines: tuple[tuple[str, str, int, Decimal], ...]


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
        if number and order_number_problem(number):
            raw.problem("number", order_number_problem(number))
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
            currency_normalised(self._text(raw, "currency", raw.values.get("currency"), check_length=False))
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
        limit = _max_length(OrderStatus if name == "status" else Order, name)
        if check_length and len(text) > limit:
            raw.problem(name, f"has {len(text)} characters; at most {limit} fit")
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
                limit = _max_length(OrderLine, name)
                if len(texts[name]) > limit:
                    raw.problem(
                        label(name), f"has {len(texts[name])} characters; at most {limit} fit", line=item.line
                    )
        qty = self._qty(raw, label("qty"), item.values.get("qty"), item.line)
        price = item.values.get("unit_price")
        if price is None or (isinstance(price, str) and not price.strip()):
            raw.problem(label("unit_price"), "is missing", line=item.line)
        unit_price = self._money(raw, label("unit_price"), price, line=item.line)
        if len(raw.problems) > problems_before or qty is None or unit_price is None:
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


def _max_length(model: type[Model], name: str) -> int:
    """The length limit of a text column (the status's is its code's)."""
    field = model._meta.get_field("code" if model is OrderStatus else name)
    return cast(CharField, field).max_length or 0


def order_record_validate(
    data: Mapping[str, Any], *, validator: RecordValidator | None = None, record: int = 1
) -> tuple[ImportedOrder | None, list[Problem]]:
    """Validate one order given as a dict shaped like a JSON Lines record: the order's fields and "lines",
    a list of dicts with sku, name, qty and unit_price (docs/import-format.md).

    Returns the valid order and no problems, or None and every problem found (each names its field:
    `customer_email`, `lines[2].qty`). Amounts are text, whole numbers or Decimals, never floats: parse
    JSON with `parse_float=Decimal`, as the file reader does. Pass one validator to check several orders
    against each other (a number may appear once); `record` is the order's position among them.
    """
    raw = record_from_object(dict(data) if isinstance(data, Mapping) else data, record=record, line=record)
    order = (validator if validator is not None else RecordValidator()).validate(raw)
    return order, list(raw.problems)
