"""The order as a store sends it, in one plain shape: what every platform's mapping produces and what the
apply service (stores.services.store_order_apply) takes, whichever way it came in (webhook, poll, file,
replay)."""

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal


class PayloadError(ValueError):
    """A store's payload that cannot be turned into an order; the message says which field and why."""


@dataclass(frozen=True, slots=True)
class IncomingLine:
    sku: str
    name: str
    qty: int
    unit_price: Decimal
    # What the store charges for the line (qty x unit price, less the line's own discount where the
    # platform says so).
    line_total: Decimal


@dataclass(frozen=True, slots=True)
class IncomingOrder:
    """One order as the store holds it. Times are aware (UTC); money is Decimal; text is plain (entities
    decoded); empty strings where the store sends nothing."""

    external_id: str  # the platform's own id of the order (Shopify id, WooCommerce id, Magento entity_id)
    # The number the store shows: Shopify name ("#1001"), WooCommerce number, Magento increment_id.
    number: str
    store_status: str  # the store's status code, mapped through the store's status map when applied
    created_at: datetime
    updated_at: datetime  # the store's updated_at / date_modified_gmt: an order never goes back in time
    currency: str
    grand_total: Decimal
    subtotal: Decimal
    shipping_total: Decimal
    tax_total: Decimal
    discount_total: Decimal
    customer_name: str
    customer_email: str = ""
    customer_phone: str = ""
    shipping_name: str = ""
    shipping_street: str = ""
    shipping_city: str = ""
    shipping_postcode: str = ""
    shipping_country: str = ""  # ISO 3166-1 alpha-2, upper case
    payment_status: str = ""  # as the store words it: paid, pending, partially_refunded, ...
    fulfillment_status: str = ""  # unfulfilled, partial, fulfilled, ...
    shipping_method: str = ""
    customer_note: str = ""
    lines: tuple[IncomingLine, ...] = field(default=())
    # The store deleted the order (Shopify orders/delete, WooCommerce order.deleted): kept, with the status
    # the store's map names for "deleted".
    deleted: bool = False
