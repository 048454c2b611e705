"""Shopify: the REST Admin order (a webhook's body, an export's JSON) as an IncomingOrder.

Shopify has no single order status. The store status is derived, first match wins:

    cancelled_at set                        -> "cancelled"
    financial_status refunded               -> "refunded"
    financial_status voided                 -> "voided"     (the authorisation was voided, nothing charged)
    closed_at set                           -> "closed"     (archived: nothing is left to do)
    fulfillment_status fulfilled            -> "fulfilled"
    financial_status paid, partially_refunded -> "paid"
    anything else                           -> "pending"    (pending, authorized, partially_paid, expired)

A partly fulfilled order keeps its financial status ("paid"): fulfillment_status says "partial". The
store's status map (stores.models.DEFAULT_STATUS_MAPS) turns these into orderops statuses. Payment status
is financial_status as Shopify words it; fulfilment status is fulfillment_status, "unfulfilled" where
Shopify sends null.
"""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from stores.incoming import IncomingLine, IncomingOrder
from stores.platforms.common import ZERO, Reader, first, person_name, street

PLATFORM = "Shopify"
# The store statuses store_status() can give, in the order of its rules: the keys of a Shopify status map.
STORE_STATUSES = (
    "cancelled",
    "refunded",
    "voided",
    "closed",
    "fulfilled",
    "paid",
    "pending",
)


def store_status(*, cancelled: bool, closed: bool, financial_status: str, fulfillment_status: str) -> str:
    """The derivation in the module's docstring."""
    if cancelled:
        return "cancelled"
    if financial_status in ("refunded", "voided"):
        return financial_status
    if closed:
        return "closed"
    if fulfillment_status == "fulfilled":
        return "fulfilled"
    if financial_status in ("paid", "partially_refunded"):
        return "paid"
    return "pending"


def order_from_payload(payload: Mapping[str, Any]) -> IncomingOrder:
    """The REST Admin order object (unwrapped from {"order": ...}), older and newer API versions alike."""
    read = Reader(PLATFORM, payload)
    external_id = read.text("id", required=True)
    read.name_order(external_id)
    number = read.text("name") or (f"#{read.text('order_number')}" if read.text("order_number") else "")
    if not number:
        raise read.error("name", "is missing (the order's number as the store shows it, such as #1001)")
    read.name_order(number)

    for name in ("billing_address", "shipping_address", "customer"):
        read.mapping(name)  # an object, or nothing
    financial_status = read.text("financial_status")
    fulfillment_status = read.text("fulfillment_status") or "unfulfilled"
    created_at = read.time("created_at", required=True)
    updated_at = read.time("updated_at") or created_at
    assert created_at is not None and updated_at is not None

    return IncomingOrder(
        external_id=external_id,
        number=number,
        store_status=store_status(
            cancelled=bool(read.text("cancelled_at")),
            closed=bool(read.text("closed_at")),
            financial_status=financial_status,
            fulfillment_status=fulfillment_status,
        ),
        created_at=created_at,
        updated_at=updated_at,
        currency=read.text("currency", required=True).upper(),
        grand_total=_shop_money(read, "total_price", required=True),
        subtotal=_shop_money(read, "subtotal_price"),
        shipping_total=_shipping_total(read),
        tax_total=_shop_money(read, "total_tax"),
        discount_total=_shop_money(read, "total_discounts"),
        customer_name=first(
            _address_name(read, "billing_address"),
            _address_name(read, "shipping_address"),
            person_name(read.text("customer.first_name"), read.text("customer.last_name")),
        ),
        customer_email=first(read.text("email"), read.text("contact_email"), read.text("customer.email")),
        customer_phone=first(
            read.text("phone"),
            read.text("billing_address.phone"),
            read.text("shipping_address.phone"),
            read.text("customer.phone"),
        ),
        shipping_name=_address_name(read, "shipping_address"),
        shipping_street=street(
            read.text("shipping_address.address1"), read.text("shipping_address.address2")
        ),
        shipping_city=read.text("shipping_address.city"),
        shipping_postcode=read.text("shipping_address.zip"),
        shipping_country=_country(read, "shipping_address"),
        payment_status=financial_status,
        fulfillment_status=fulfillment_status,
        shipping_method="; ".join(
            title
            for title in (
                read.text(f"shipping_lines.{n}.title") for n in range(len(read.items("shipping_lines")))
            )
            if title
        ),
        customer_note=read.text("note"),
        lines=tuple(_line(read, index) for index in range(len(read.items("line_items")))),
    )


def _shop_money(read: Reader, name: str, *, required: bool = False) -> Decimal:
    """An amount in the shop's currency: the plain field ("409.94"), or the shop_money of its *_set bag,
    which newer API versions send beside it (and alone, for some totals)."""
    if read.get(name) is not None:
        return read.money(name, required=required)
    return read.money(f"{name}_set.shop_money.amount", required=required)


def _shipping_total(read: Reader) -> Decimal:
    if read.get("total_shipping_price_set") is not None:
        return read.money("total_shipping_price_set.shop_money.amount")
    return sum(
        (read.money(f"shipping_lines.{n}.price") for n in range(len(read.items("shipping_lines")))), ZERO
    )


def _address_name(read: Reader, address: str) -> str:
    return read.text(f"{address}.name") or person_name(
        read.text(f"{address}.first_name"), read.text(f"{address}.last_name")
    )


def _country(read: Reader, address: str) -> str:
    # country_code is the ISO code; "country" is the name ("United States"), used only when it is a code.
    if read.get(f"{address}.country_code") is not None:
        return read.country(f"{address}.country_code")
    country = read.text(f"{address}.country")
    return country.upper() if len(country) == 2 and country.isalpha() else ""


def _line(read: Reader, index: int) -> IncomingLine:
    item = f"line_items.{index}"
    qty = read.quantity(f"{item}.quantity")
    unit_price = read.money(f"{item}.price", required=True)
    # The line's own discounts: discount_allocations in current API versions, total_discount before them.
    allocations = read.items(f"{item}.discount_allocations")
    if allocations:
        discount = sum(
            (read.money(f"{item}.discount_allocations.{n}.amount") for n in range(len(allocations))), ZERO
        )
    else:
        discount = read.money(f"{item}.total_discount")
    return IncomingLine(
        sku=read.text(f"{item}.sku"),
        name=read.text(f"{item}.name") or read.text(f"{item}.title", required=True),
        qty=qty,
        unit_price=unit_price,
        line_total=unit_price * qty - discount,
    )
