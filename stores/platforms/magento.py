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
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from typing import Any

from orders.importing import MONEY_LIMIT
from stores.incoming import IncomingLine, IncomingOrder
from stores.platforms.common import CENT, ZERO, Reader, first, person_name, street

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

# The fields order_from_payload reads, in Magento's `fields` syntax (a partial response: "Retrieve filtered
# responses for REST endpoints"). A poll asks for these alone (stores.clients.MagentoClient): an order is
# some 32 kB whole (every item repeats dozens of fields, a bundle's children embed their parent item) and a
# few kB with these. A field the mapping starts to read must be named here: the tests map every fixture both
# ways and compare.
ADDRESS_FIELDS = "firstname,lastname,email,telephone,street,city,postcode,country_id"
ITEM_FIELDS = (
    "item_id,parent_item_id,product_type,is_virtual,sku,name,"
    "qty_ordered,qty_canceled,qty_shipped,price,row_total,discount_amount"
)
ORDER_FIELDS = (
    "entity_id,increment_id,status,state,created_at,updated_at,order_currency_code,base_currency_code,"
    "grand_total,subtotal,shipping_amount,tax_amount,discount_amount,total_paid,total_refunded,"
    "customer_firstname,customer_lastname,customer_email,customer_note,shipping_description,"
    f"billing_address[{ADDRESS_FIELDS}],"
    f"extension_attributes[shipping_assignments[shipping[address[{ADDRESS_FIELDS}]]]],"
    f"items[{ITEM_FIELDS}]"
)
# What a poll asks for: each order's fields, and the page's own (total_count ends the paging).
SEARCH_FIELDS = f"items[{ORDER_FIELDS}],search_criteria,total_count"


@lru_cache(maxsize=4096)
def _whole_amount(value: int) -> Decimal:
    return Decimal(value).quantize(CENT, rounding=ROUND_HALF_UP)


def _money(read: Reader, source: Mapping[str, Any], key: str, label: str) -> Decimal:
    """read.money(label) of `source[key]`, with Magento's common cases (a whole JSON number, nothing)
    answered without the general path. `label` is the field's path in the order, for a refusal."""
    value = source.get(key)
    if type(value) is int and -MONEY_LIMIT < value < MONEY_LIMIT:
        return _whole_amount(value)
    if value is None:
        return ZERO
    return read.amount(value, label)


def _text(read: Reader, source: Mapping[str, Any], key: str, label: str, *, required: bool = False) -> str:
    return read.text_of(source.get(key), label, required=required)


def order_from_payload(payload: Mapping[str, Any]) -> IncomingOrder:
    """Each field read where it is (the order, an address, an item) rather than by its path from the top:
    a page of a backfill maps thousands of items. The fields, their order of reading (the first refusal
    wins) and every message are those of Reader's paths."""
    read = Reader(PLATFORM, payload)
    external_id = _text(read, payload, "entity_id", "entity_id", required=True)
    read.name_order(external_id)
    number = _text(read, payload, "increment_id", "increment_id", required=True)
    read.name_order(number)
    billing = read.mapping("billing_address")
    shipping = read.mapping(SHIPPING_ADDRESS)
    created_at = read.time("created_at", required=True, naive_is_utc=True)
    updated_at = read.time("updated_at", naive_is_utc=True) or created_at
    assert created_at is not None and updated_at is not None
    grand_total = read.amount(payload.get("grand_total"), "grand_total", required=True)
    items = read.items("items")
    top_level = [n for n, item in enumerate(items) if item.get("parent_item_id") in (None, "", 0)]

    def top(key: str, *, required: bool = False) -> str:
        return read.text_of(payload.get(key), key, required=required)

    def money(key: str) -> Decimal:
        return _money(read, payload, key, key)

    def billing_text(key: str) -> str:
        return read.text_of(billing.get(key), f"billing_address.{key}")

    def shipping_text(key: str) -> str:
        return read.text_of(shipping.get(key), f"{SHIPPING_ADDRESS}.{key}")

    return IncomingOrder(
        external_id=external_id,
        number=number,
        store_status=top("status") or top("state", required=True),
        created_at=created_at,
        updated_at=updated_at,
        currency=(top("order_currency_code") or top("base_currency_code", required=True)).upper(),
        grand_total=grand_total,
        subtotal=money("subtotal"),
        shipping_total=money("shipping_amount"),
        tax_total=money("tax_amount"),
        # Magento writes a discount as a negative amount.
        discount_total=abs(money("discount_amount")),
        customer_name=first(
            person_name(top("customer_firstname"), top("customer_lastname")),
            person_name(billing_text("firstname"), billing_text("lastname")),
            person_name(shipping_text("firstname"), shipping_text("lastname")),
        ),
        customer_email=first(top("customer_email"), billing_text("email"), shipping_text("email")),
        customer_phone=first(billing_text("telephone"), shipping_text("telephone")),
        shipping_name=person_name(shipping_text("firstname"), shipping_text("lastname")),
        shipping_street=_street(read, shipping.get("street"), f"{SHIPPING_ADDRESS}.street"),
        shipping_city=shipping_text("city"),
        shipping_postcode=shipping_text("postcode"),
        shipping_country=read.country_of(shipping.get("country_id"), f"{SHIPPING_ADDRESS}.country_id"),
        payment_status=_payment_status(read, grand_total),
        fulfillment_status=_fulfillment_status(read, items, top_level),
        shipping_method=top("shipping_description"),
        customer_note=top("customer_note"),
        lines=tuple(_line(read, items[n], n) for n in top_level),
    )


def _street(read: Reader, value: Any, label: str) -> str:
    if isinstance(value, list):
        return street(*(read.text_of(part, f"{label}.{n}") for n, part in enumerate(value)))
    return read.text_of(value, label)


def _payment_status(read: Reader, grand_total: Decimal) -> str:
    payload = read.payload
    paid = _money(read, payload, "total_paid", "total_paid")
    refunded = _money(read, payload, "total_refunded", "total_refunded")
    if refunded > 0:
        return "refunded" if refunded >= grand_total else "partially_refunded"
    if paid > 0:
        return "paid" if paid >= grand_total else "partially_paid"
    return "paid" if grand_total == 0 and read.text("state") in ("processing", "complete") else "pending"


def _fulfillment_status(read: Reader, items: list[Mapping[str, Any]], top_level: list[int]) -> str:
    """Shipped quantities are kept on the item that was shipped: the parent, or a bundle's children when
    they ship separately; a parent counts as shipped as far as it or its children are."""
    children: dict[str, list[int]] = {}
    for n, item in enumerate(items):
        value = item.get("parent_item_id")
        if value is None:
            continue
        parent = str(value) if type(value) is int else read.text_of(value, f"items.{n}.parent_item_id")
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
        qty = _money(read, item, "qty_ordered", f"items.{n}.qty_ordered") - _money(
            read, item, "qty_canceled", f"items.{n}.qty_canceled"
        )
        if qty <= 0:
            continue
        done = _money(read, item, "qty_shipped", f"items.{n}.qty_shipped")
        parts = children.get(_text(read, item, "item_id", f"items.{n}.item_id"), [])
        if parts and done == 0:
            fractions = [
                _money(read, items[c], "qty_shipped", f"items.{c}.qty_shipped")
                / max(_money(read, items[c], "qty_ordered", f"items.{c}.qty_ordered"), Decimal(1))
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


def _line(read: Reader, item: Mapping[str, Any], index: int) -> IncomingLine:
    label = f"items.{index}"
    qty = read.quantity_of(item.get("qty_ordered"), f"{label}.qty_ordered")
    unit_price = _money(read, item, "price", f"{label}.price")
    row_total = (
        _money(read, item, "row_total", f"{label}.row_total")
        if item.get("row_total") is not None
        else unit_price * qty
    )
    return IncomingLine(
        sku=_text(read, item, "sku", f"{label}.sku"),
        name=_text(read, item, "name", f"{label}.name", required=True),
        qty=qty,
        unit_price=unit_price,
        # Magento's item discount_amount is positive (the order's is negative).
        line_total=row_total - abs(_money(read, item, "discount_amount", f"{label}.discount_amount")),
    )
