"""Shopify: the GraphQL Admin API's `Order` node (what polling reads, stores.clients.SHOPIFY_ORDERS_QUERY) as
an IncomingOrder, with the same store status and vocabulary as the REST mapping (stores.platforms.shopify).

The node differs from the REST order: the id is `legacyResourceId` (the REST id; `id` is a gid://), money
comes in `*Set { shopMoney { amount currencyCode } }`, the statuses are enums (`displayFinancialStatus` PAID,
`displayFulfillmentStatus` PARTIALLY_FULFILLED), times are UTC with Z, and lines are `lineItems { nodes }`.
"""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from stores.incoming import IncomingLine, IncomingOrder
from stores.platforms.common import Reader, first
from stores.platforms.shopify import store_status

PLATFORM = "Shopify"
# displayFulfillmentStatus in the REST API's words (fulfillment_status), which the payment and fulfilment
# fields and the status derivation use; the enum's other values lower-cased (in_progress, on_hold, ...).
FULFILLMENT_WORDS = {
    "FULFILLED": "fulfilled",
    "PARTIALLY_FULFILLED": "partial",
    "UNFULFILLED": "unfulfilled",
    "OPEN": "unfulfilled",
    "RESTOCKED": "restocked",
}


def order_from_graphql(node: Mapping[str, Any]) -> IncomingOrder:
    """One `Order` node of the GraphQL Admin API; raises PayloadError naming the order and the field."""
    read = Reader(PLATFORM, node)
    external_id = read.text("legacyResourceId") or read.text("id").rpartition("/")[2]
    if not external_id:
        raise read.error("legacyResourceId", "is missing")
    read.name_order(external_id)
    number = read.text("name", required=True)
    read.name_order(number)
    for name in ("customer", "shippingAddress", "shippingLine", "lineItems"):
        read.mapping(name)  # an object, or nothing
    if read.get("lineItems.pageInfo.hasNextPage"):
        # Never a partial order: the client reads every page of an order's lines (stores.clients).
        raise read.error("lineItems", "says it has more lines than were read")

    financial_status = read.text("displayFinancialStatus").lower()
    fulfillment_enum = read.text("displayFulfillmentStatus").upper()
    fulfillment_status = FULFILLMENT_WORDS.get(fulfillment_enum, fulfillment_enum.lower()) or "unfulfilled"
    created_at = read.time("createdAt", required=True)
    updated_at = read.time("updatedAt") or created_at
    assert created_at is not None and updated_at is not None
    currency = read.text("currencyCode") or read.text("totalPriceSet.shopMoney.currencyCode", required=True)

    return IncomingOrder(
        external_id=external_id,
        number=number,
        store_status=store_status(
            cancelled=bool(read.text("cancelledAt")),
            closed=bool(read.text("closedAt")),
            financial_status=financial_status,
            fulfillment_status=fulfillment_status,
        ),
        created_at=created_at,
        updated_at=updated_at,
        currency=currency.upper(),
        grand_total=_shop_money(read, "totalPriceSet", required=True),
        subtotal=_shop_money(read, "subtotalPriceSet"),
        shipping_total=_shop_money(read, "totalShippingPriceSet"),
        tax_total=_shop_money(read, "totalTaxSet"),
        discount_total=_shop_money(read, "totalDiscountsSet"),
        customer_name=first(read.text("customer.displayName"), read.text("shippingAddress.name")),
        customer_email=first(read.text("email"), read.text("customer.email")),
        customer_phone=first(
            read.text("phone"), read.text("shippingAddress.phone"), read.text("customer.phone")
        ),
        shipping_name=read.text("shippingAddress.name"),
        shipping_street=", ".join(
            part
            for part in (read.text("shippingAddress.address1"), read.text("shippingAddress.address2"))
            if part
        ),
        shipping_city=read.text("shippingAddress.city"),
        shipping_postcode=read.text("shippingAddress.zip"),
        shipping_country=read.country("shippingAddress.countryCodeV2"),
        payment_status=financial_status,
        fulfillment_status=fulfillment_status,
        shipping_method=read.text("shippingLine.title"),
        customer_note=read.text("note"),
        lines=tuple(_line(read, index) for index in range(len(read.items("lineItems.nodes")))),
    )


def _shop_money(read: Reader, name: str, *, required: bool = False) -> Decimal:
    return read.money(f"{name}.shopMoney.amount", required=required)


def _line(read: Reader, index: int) -> IncomingLine:
    item = f"lineItems.nodes.{index}"
    qty = read.quantity(f"{item}.quantity")
    unit_price = _shop_money(read, f"{item}.originalUnitPriceSet", required=True)
    # discountedTotalSet: the line's total after its own discounts (quantity x discounted unit price).
    total = (
        _shop_money(read, f"{item}.discountedTotalSet")
        if read.get(f"{item}.discountedTotalSet") is not None
        else unit_price * qty
    )
    return IncomingLine(
        sku=read.text(f"{item}.sku"),
        name=read.text(f"{item}.name", required=True),
        qty=qty,
        unit_price=unit_price,
        line_total=total,
    )
