"""What the three platforms' mappings share: reading money, times, text and country codes out of a store's
JSON, each failure a PayloadError that names the order and the field."""

import html
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from typing import Any

from django.utils import timezone
from django.utils.dateparse import parse_datetime

from orders.importing import MONEY_LIMIT, QTY_LIMIT
from stores.incoming import PayloadError

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
COUNTRY_CODE = re.compile(r"[A-Za-z]{2}")


@lru_cache(maxsize=4096)
def _steps(path: str) -> tuple[str, ...]:
    return tuple(path.split("."))


class Reader:
    """Reads the fields of one order's payload; every error it raises names the order (by the number the
    store shows, or its id while the number is not known yet) and the field."""

    def __init__(self, platform: str, payload: Any) -> None:
        if not isinstance(payload, Mapping):
            raise PayloadError(f"{platform}: an order must be a JSON object, not {type(payload).__name__}")
        self.platform = platform
        self.payload = payload
        self.order = ""

    def name_order(self, order: str) -> None:
        self.order = order

    def error(self, field: str, message: str) -> PayloadError:
        order = f"order {self.order}" if self.order else "order"
        return PayloadError(f"{self.platform} {order}: {field} {message}")

    # --- finding values -----------------------------------------------------------------------------------

    def get(self, path: str, source: Any = None) -> Any:
        """The value at a dotted path ("billing.email", "items.0.sku"), or None where any step is missing or
        null."""
        value: Any = self.payload if source is None else source
        for key in _steps(path):
            # dict and list first: the JSON parser's own types, far cheaper to test than the ABCs.
            if isinstance(value, dict):
                value = value.get(key)
            elif isinstance(value, list):
                value = value[int(key)] if key.isdigit() and int(key) < len(value) else None
            elif isinstance(value, Mapping):
                value = value.get(key)
            else:
                return None
            if value is None:
                return None
        return value

    def mapping(self, path: str, source: Any = None) -> Mapping[str, Any]:
        value = self.get(path, source)
        if value is None or value == []:  # PHP serialises an empty object as []
            return {}
        if not isinstance(value, Mapping):
            raise self.error(path, f"must be an object, not {type(value).__name__}")
        return value

    def items(self, path: str, source: Any = None) -> list[Mapping[str, Any]]:
        value = self.get(path, source)
        if value is None:
            return []
        if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
            raise self.error(path, "must be a list of objects")
        return value

    # --- typed values --------------------------------------------------------------------------------------

    def text(self, path: str, source: Any = None, *, required: bool = False, entities: bool = False) -> str:
        """Text, stripped; numbers (an id, a postcode sent as a number) as their digits; entities decoded when
        the platform encodes them (WooCommerce)."""
        return self.text_of(self.get(path, source), path, required=required, entities=entities)

    def text_of(self, value: Any, label: str, *, required: bool = False, entities: bool = False) -> str:
        """text() of a value already found (a mapping walking a list reads its items' fields itself)."""
        if type(value) is str:  # the common case first
            text = value.strip()
        elif value is None:
            text = ""
        elif isinstance(value, bool):
            raise self.error(label, f"must be text, not {str(value).lower()}")
        elif isinstance(value, int | str | Decimal):
            text = str(value).strip()
        elif isinstance(value, float) and value.is_integer():
            text = str(int(value))
        else:
            raise self.error(label, f"must be text, not {type(value).__name__}")
        if entities:
            text = html.unescape(text)
        if required and not text:
            raise self.error(label, "is missing")
        return text

    def money(
        self, path: str, source: Any = None, *, required: bool = False, negate: bool = False
    ) -> Decimal:
        """An amount: a string ("29.35"), a whole or decimal JSON number (Magento's 165, WooCommerce's price
        3), rounded to the cent. Missing is zero unless required."""
        return self.amount(self.get(path, source), path, required=required, negate=negate)

    def amount(self, value: Any, label: str, *, required: bool = False, negate: bool = False) -> Decimal:
        kind = type(value)  # exact types: bool is not an int here, and the common cases are tested first
        try:
            if kind is str:
                text = value.strip()
                amount = Decimal(text) if text else None
            elif kind is int:
                amount = Decimal(value)
            elif kind is float:
                # repr() of a float is its shortest exact spelling: 0.1 -> "0.1", not 0.1000000000000000055...
                amount = Decimal(repr(value))
            elif isinstance(value, Decimal):
                amount = value
            elif value is None:
                amount = None
            else:
                raise self.error(label, f'must be an amount like "12.50", not {kind.__name__}')
        except InvalidOperation:
            raise self.error(label, f"{value!r} is not an amount") from None
        if amount is None:
            if required:
                raise self.error(label, "is missing")
            return ZERO
        if not amount.is_finite():
            raise self.error(label, f"{value!r} is not an amount")
        if abs(amount) >= MONEY_LIMIT:
            raise self.error(label, f"{value} is too large an amount (at most 9999999999.99)")
        amount = -amount if negate else amount
        return amount.quantize(CENT, rounding=ROUND_HALF_UP)

    def quantity(self, path: str, source: Any = None) -> int:
        """A whole quantity of at least 1 (Magento sends 1 or 1.0000; WooCommerce an int)."""
        return self.quantity_of(self.get(path, source), path)

    def quantity_of(self, value: Any, label: str) -> int:
        """quantity() of a value already found."""
        if type(value) is int and 1 <= value <= QTY_LIMIT:  # the common case, exact
            return value
        try:
            number = Decimal(repr(value) if isinstance(value, float) else str(value).strip())
        except (InvalidOperation, ValueError):
            number = None
        if value is None or isinstance(value, bool) or number is None or not number.is_finite():
            raise self.error(label, f"must be a whole number, not {value!r}")
        if number != number.to_integral_value():
            raise self.error(label, f"{value} is not a whole quantity")
        if number < 1:
            raise self.error(label, f"{value} is not a quantity of at least 1")
        if number > QTY_LIMIT:
            raise self.error(label, f"{value} is too large a quantity (at most {QTY_LIMIT})")
        return int(number)

    def time(
        self,
        path: str,
        source: Any = None,
        *,
        required: bool = False,
        naive_is_utc: bool = False,
    ) -> datetime | None:
        """An aware time in UTC. A time with an offset or Z keeps it; a zone-less time is UTC when the
        platform says so (Magento), otherwise the server's zone (TIME_ZONE), as import_orders reads one."""
        value = self.get(path, source)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise self.error(path, "is missing")
            return None
        parsed = None
        if isinstance(value, str):
            try:
                parsed = parse_datetime(value.strip())
            except ValueError:
                parsed = None
        if parsed is None:
            raise self.error(path, f"{value!r} is not a date and time")
        if timezone.is_naive(parsed):
            parsed = parsed.replace(tzinfo=UTC) if naive_is_utc else timezone.make_aware(parsed)
        return parsed.astimezone(UTC)

    def country(self, path: str, source: Any = None) -> str:
        """An ISO 3166-1 alpha-2 code, upper case; empty when the store sends none."""
        return self.country_of(self.get(path, source), path)

    def country_of(self, value: Any, label: str) -> str:
        """country() of a value already found."""
        code = self.text_of(value, label)
        if code and not COUNTRY_CODE.fullmatch(code):
            raise self.error(label, f"{code!r} is not a two-letter country code")
        return code.upper()


def person_name(*parts: str) -> str:
    """First and last name as one: "Bob Norman"; blanks skipped."""
    return " ".join(part for part in parts if part)


def street(*parts: str) -> str:
    """Address lines as one street: "Chestnut Street 92, Flat 3"; blanks skipped."""
    return ", ".join(part for part in parts if part)


def first(*values: str) -> str:
    """The first value that is not blank: the billing name, else the shipping name, else the customer's."""
    return next((value for value in values if value), "")
