"""WooCommerce: the REST v3 order (wc/v3, what the REST API and current webhooks send) and the legacy v3
order (the "Legacy API v3" webhook body, unwrapped from {"order": ...}) as an IncomingOrder.

WooCommerce encodes HTML entities in names ("Ship Your Idea &ndash; Color: Black"): they are decoded. Its
zone-less times are the site's local time; the *_gmt twin beside each is UTC and is used where it is sent (a
zone-less time without its twin is read in the server's zone). Money is text, except a line's `price`,
which is a JSON number.

The store status is WooCommerce's `status` (pending, processing, on-hold, completed, cancelled, refunded,
failed, checkout-draft, trash). WooCommerce keeps no payment or fulfilment status; they are derived:

    payment:    refunded (status refunded), partially_refunded (refunds listed), paid (date_paid set, or
                status processing or completed), failed (status failed), else pending
    fulfilment: fulfilled (status completed), else unfulfilled
"""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from stores.incoming import IncomingLine, IncomingOrder
from stores.platforms.common import ZERO, Reader, first, person_name, street

PLATFORM = "WooCommerce"
STORE_STATUSES = (
    "pending",
    "processing",
    "on-hold",
    "completed",
    "cancelled",
    "refunded",
    "failed",
    "checkout-draft",
    "trash",
)
PAID_STATUSES = ("processing", "completed")


def order_from_payload(payload: Mapping[str, Any]) -> IncomingOrder:
    read = Reader(PLATFORM, payload)
    if "billing" in payload or "date_created" in payload or "date_modified_gmt" in payload:
        return _rest_order(read)
    return _legacy_order(read)


def _rest_order(read: Reader) -> IncomingOrder:
    external_id = read.text("id", required=True)
    read.name_order(external_id)
    number = read.text("number") or external_id
    read.name_order(number)
    status = read.text("status", required=True)
    for name in ("billing", "shipping"):
        read.mapping(name)
    created_at = _time(read, "date_created", required=True)
    updated_at = _time(read, "date_modified") or created_at
    assert created_at is not None and updated_at is not None
    lines = tuple(_line(read, n) for n in range(len(read.items("line_items"))))

    refunded = bool(read.items("refunds"))
    if status == "refunded":
        payment_status = "refunded"
    elif refunded:
        payment_status = "partially_refunded"
    elif _time(read, "date_paid") is not None or status in PAID_STATUSES:
        payment_status = "paid"
    elif status == "failed":
        payment_status = "failed"
    else:
        payment_status = "pending"

    return IncomingOrder(
        external_id=external_id,
        number=number,
        store_status=status,
        created_at=created_at,
        updated_at=updated_at,
        currency=read.text("currency", required=True).upper(),
        grand_total=read.money("total", required=True),
        # The REST order has no subtotal: its lines' subtotals (before coupons) add up to it.
        subtotal=sum((read.money(f"line_items.{n}.subtotal") for n in range(len(lines))), ZERO),
        shipping_total=read.money("shipping_total"),
        tax_total=read.money("total_tax"),
        discount_total=read.money("discount_total"),
        customer_name=first(
            _name(read, "billing"),
            _name(read, "shipping"),
        ),
        customer_email=read.text("billing.email"),
        customer_phone=first(read.text("billing.phone"), read.text("shipping.phone")),
        shipping_name=_name(read, "shipping"),
        shipping_street=street(
            read.text("shipping.address_1", entities=True), read.text("shipping.address_2", entities=True)
        ),
        shipping_city=read.text("shipping.city", entities=True),
        shipping_postcode=read.text("shipping.postcode"),
        shipping_country=read.country("shipping.country"),
        payment_status=payment_status,
        fulfillment_status="fulfilled" if status == "completed" else "unfulfilled",
        shipping_method=_shipping_method(read),
        customer_note=read.text("customer_note", entities=True),
        lines=lines,
    )


def _legacy_order(read: Reader) -> IncomingOrder:
    """The legacy v3 order: order_number, created_at/updated_at in UTC with Z, billing_address and
    shipping_address, total_shipping and total_discount, note, payment_details.paid."""
    external_id = read.text("id", required=True)
    read.name_order(external_id)
    number = read.text("order_number") or external_id
    read.name_order(number)
    status = read.text("status", required=True)
    for name in ("billing_address", "shipping_address", "customer", "payment_details"):
        read.mapping(name)
    created_at = read.time("created_at", required=True)
    updated_at = read.time("updated_at") or created_at
    assert created_at is not None and updated_at is not None
    lines = tuple(_line(read, n) for n in range(len(read.items("line_items"))))
    if status == "refunded":
        payment_status = "refunded"
    elif read.get("payment_details.paid") is True or status in PAID_STATUSES:
        payment_status = "paid"
    elif status == "failed":
        payment_status = "failed"
    else:
        payment_status = "pending"
    return IncomingOrder(
        external_id=external_id,
        number=number,
        store_status=status,
        created_at=created_at,
        updated_at=updated_at,
        currency=read.text("currency", required=True).upper(),
        grand_total=read.money("total", required=True),
        subtotal=read.money("subtotal"),
        shipping_total=read.money("total_shipping"),
        tax_total=read.money("total_tax"),
        discount_total=read.money("total_discount"),
        customer_name=first(
            _name(read, "billing_address"),
            _name(read, "shipping_address"),
            _name(read, "customer"),
        ),
        customer_email=first(read.text("billing_address.email"), read.text("customer.email")),
        customer_phone=first(read.text("billing_address.phone"), read.text("shipping_address.phone")),
        shipping_name=_name(read, "shipping_address"),
        shipping_street=street(
            read.text("shipping_address.address_1", entities=True),
            read.text("shipping_address.address_2", entities=True),
        ),
        shipping_city=read.text("shipping_address.city", entities=True),
        shipping_postcode=read.text("shipping_address.postcode"),
        shipping_country=read.country("shipping_address.country"),
        payment_status=payment_status,
        fulfillment_status="fulfilled" if status == "completed" else "unfulfilled",
        shipping_method=read.text("shipping_methods", entities=True) or _shipping_method(read),
        customer_note=read.text("note", entities=True),
        lines=lines,
    )


def _time(read: Reader, name: str, *, required: bool = False):
    """The UTC twin (date_created_gmt) where WooCommerce sends it, else the site-local time."""
    if read.text(f"{name}_gmt"):
        return read.time(f"{name}_gmt", naive_is_utc=True)
    return read.time(name, required=required)


def _name(read: Reader, address: str) -> str:
    return person_name(
        read.text(f"{address}.first_name", entities=True), read.text(f"{address}.last_name", entities=True)
    )


def _shipping_method(read: Reader) -> str:
    titles = (
        read.text(f"shipping_lines.{n}.method_title", entities=True)
        for n in range(len(read.items("shipping_lines")))
    )
    return "; ".join(title for title in titles if title)


def _line(read: Reader, index: int) -> IncomingLine:
    item = f"line_items.{index}"
    qty = read.quantity(f"{item}.quantity")
    # `price` is what one unit was sold at (a JSON number in REST v3, text in the legacy API); `total` is
    # the line after its coupons, before tax.
    unit_price: Decimal
    if read.get(f"{item}.price") is not None:
        unit_price = read.money(f"{item}.price")
    else:
        unit_price = (read.money(f"{item}.subtotal") / qty).quantize(ZERO)
    line_total = read.money(f"{item}.total") if read.get(f"{item}.total") is not None else unit_price * qty
    return IncomingLine(
        sku=read.text(f"{item}.sku"),
        name=read.text(f"{item}.name", required=True, entities=True),
        qty=qty,
        unit_price=unit_price,
        line_total=line_total,
    )
