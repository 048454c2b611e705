"""Magento 2 (Adobe Commerce): the REST order (SalesDataOrderInterface, GET /V1/orders/{id} and each item
of GET /V1/orders) as an IncomingOrder.

Magento's times are zone-less UTC ("2017-08-21 22:22:19"); money is JSON numbers; the number is the
increment_id as the store shows it, zero-padded ("000000003"); a discount is negative. An order's items
hold parents and children: a configurable's chosen simple product and a bundle's parts come as items of
their own with parent_item_id set. The parent carries the price (the configurable's child has 0; a bundle's
children repeat its price split up), so only top-level items are lines, and the lines add up to the
subtotal.

The store status is Magento's `status` (pending, processing, holded, complete, closed, canceled, fraud,
payment_review, pending_payment, or a store's own). Payment and fulfilment are derived:

    payment:    refunded (total_refunded covers the grand total), partially_refunded (some refunded), paid
                (total_paid covers it), partially_paid (some paid), else pending
    fulfilment: fulfilled (every shippable item shipped), partial (some shipped), unfulfilled (none), and
                empty for a virtual order (nothing to ship)
"""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from stores.incoming import IncomingLine, IncomingOrder
from stores.platforms.common import ZERO, Reader, first, person_name, street

PLATFORM = "Magento"
STORE_STATUSES = (
    "pending",
    "pending_payment",
    "payment_review",
    "processing",
    "holded",
    "complete",
    "closed",
    "canceled",
    "fraud",
)
SHIPPING_ADDRESS = "extension_attributes.shipping_assignments.0.shipping.address"


def order_from_payload(payload: Mapping[str, Any]) -> IncomingOrder:
    read = Reader(PLATFORM, payload)
    external_id = read.text("entity_id", required=True)
    read.name_order(external_id)
    number = read.text("increment_id", required=True)
    read.name_order(number)
    for name in ("billing_address", SHIPPING_ADDRESS):
        read.mapping(name)
    created_at = read.time("created_at", required=True, naive_is_utc=True)
    updated_at = read.time("updated_at", naive_is_utc=True) or created_at
    assert created_at is not None and updated_at is not None
    grand_total = read.money("grand_total", required=True)
    items = read.items("items")
    top_level = [n for n, item in enumerate(items) if item.get("parent_item_id") in (None, "", 0)]

    return IncomingOrder(
        external_id=external_id,
        number=number,
        store_status=read.text("status") or read.text("state", required=True),
        created_at=created_at,
        updated_at=updated_at,
        currency=(read.text("order_currency_code") or read.text("base_currency_code", required=True)).upper(),
        grand_total=grand_total,
        subtotal=read.money("subtotal"),
        shipping_total=read.money("shipping_amount"),
        tax_total=read.money("tax_amount"),
        # Magento writes a discount as a negative amount.
        discount_total=abs(read.money("discount_amount")),
        customer_name=first(
            person_name(read.text("customer_firstname"), read.text("customer_lastname")),
            _name(read, "billing_address"),
            _name(read, SHIPPING_ADDRESS),
        ),
        customer_email=first(
            read.text("customer_email"),
            read.text("billing_address.email"),
            read.text(f"{SHIPPING_ADDRESS}.email"),
        ),
        customer_phone=first(
            read.text("billing_address.telephone"), read.text(f"{SHIPPING_ADDRESS}.telephone")
        ),
        shipping_name=_name(read, SHIPPING_ADDRESS),
        shipping_street=_street(read, f"{SHIPPING_ADDRESS}.street"),
        shipping_city=read.text(f"{SHIPPING_ADDRESS}.city"),
        shipping_postcode=read.text(f"{SHIPPING_ADDRESS}.postcode"),
        shipping_country=read.country(f"{SHIPPING_ADDRESS}.country_id"),
        payment_status=_payment_status(read, grand_total),
        fulfillment_status=_fulfillment_status(read, items, top_level),
        shipping_method=read.text("shipping_description"),
        customer_note=read.text("customer_note"),
        lines=tuple(_line(read, n) for n in top_level),
    )


def _name(read: Reader, address: str) -> str:
    return person_name(read.text(f"{address}.firstname"), read.text(f"{address}.lastname"))


def _street(read: Reader, path: str) -> str:
    value = read.get(path)
    if isinstance(value, list):
        return street(*(read.text(f"{path}.{n}") for n in range(len(value))))
    return read.text(path)


def _payment_status(read: Reader, grand_total: Decimal) -> str:
    paid = read.money("total_paid")
    refunded = read.money("total_refunded")
    if refunded > 0:
        return "refunded" if refunded >= grand_total else "partially_refunded"
    if paid > 0:
        return "paid" if paid >= grand_total else "partially_paid"
    return "paid" if grand_total == 0 and read.text("state") in ("processing", "complete") else "pending"


def _fulfillment_status(read: Reader, items: list[Mapping[str, Any]], top_level: list[int]) -> str:
    """Shipped quantities are kept on the item that was shipped: the parent, or a bundle's children when
    they ship separately; a parent counts as shipped as far as it or its children are."""
    children: dict[str, list[int]] = {}
    for n in range(len(items)):
        parent = read.text(f"items.{n}.parent_item_id")
        if parent not in ("", "0"):
            children.setdefault(parent, []).append(n)
    ordered = shipped = ZERO
    for n in top_level:
        item = items[n]
        if item.get("is_virtual") in (1, True, "1") or item.get("product_type") in (
            "virtual",
            "downloadable",
        ):
            continue
        qty = read.money(f"items.{n}.qty_ordered") - read.money(f"items.{n}.qty_canceled")
        if qty <= 0:
            continue
        done = read.money(f"items.{n}.qty_shipped")
        parts = children.get(read.text(f"items.{n}.item_id"), [])
        if parts and done == 0:
            fractions = [
                read.money(f"items.{c}.qty_shipped") / max(read.money(f"items.{c}.qty_ordered"), Decimal(1))
                for c in parts
            ]
            done = min(fractions) * qty
        ordered += qty
        shipped += min(done, qty)
    if ordered == 0:
        return ""
    if shipped >= ordered:
        return "fulfilled"
    return "partial" if shipped > 0 else "unfulfilled"


def _line(read: Reader, index: int) -> IncomingLine:
    item = f"items.{index}"
    qty = read.quantity(f"{item}.qty_ordered")
    unit_price = read.money(f"{item}.price")
    row_total = (
        read.money(f"{item}.row_total") if read.get(f"{item}.row_total") is not None else unit_price * qty
    )
    return IncomingLine(
        sku=read.text(f"{item}.sku"),
        name=read.text(f"{item}.name", required=True),
        qty=qty,
        unit_price=unit_price,
        # Magento's item discount_amount is positive (the order's is negative).
        line_total=row_total - abs(read.money(f"{item}.discount_amount")),
    )
