"""The store's payment and fulfilment status words as operators read them: the platforms' known values
(as the mappings keep them in Order.payment_status and Order.fulfillment_status: Shopify's financial and
fulfilment statuses, WooCommerce's and Magento's derived ones) to translated labels. The order keeps the
raw value; a value not known here is shown as the store sent it."""

from django.utils.functional import Promise
from django.utils.translation import pgettext_lazy

PAYMENT_STATUS_LABELS: dict[str, Promise] = {
    "pending": pgettext_lazy("payment status", "Awaiting payment"),
    "authorized": pgettext_lazy("payment status", "Authorised"),
    "partially_paid": pgettext_lazy("payment status", "Partly paid"),
    "paid": pgettext_lazy("payment status", "Paid"),
    "partially_refunded": pgettext_lazy("payment status", "Partly refunded"),
    "refunded": pgettext_lazy("payment status", "Refunded"),
    "voided": pgettext_lazy("payment status", "Voided"),
    "expired": pgettext_lazy("payment status", "Expired"),
    "failed": pgettext_lazy("payment status", "Failed"),
}

FULFILLMENT_STATUS_LABELS: dict[str, Promise] = {
    "unfulfilled": pgettext_lazy("fulfilment status", "Not fulfilled"),
    "partial": pgettext_lazy("fulfilment status", "Partly fulfilled"),
    "partially_fulfilled": pgettext_lazy("fulfilment status", "Partly fulfilled"),
    "fulfilled": pgettext_lazy("fulfilment status", "Fulfilled"),
    "restocked": pgettext_lazy("fulfilment status", "Restocked"),
    # Shopify's GraphQL displayFulfillmentStatus, lower-cased, beyond the REST words above.
    "in_progress": pgettext_lazy("fulfilment status", "In progress"),
    "on_hold": pgettext_lazy("fulfilment status", "On hold"),
    "open": pgettext_lazy("fulfilment status", "Awaiting fulfilment"),
    "pending_fulfillment": pgettext_lazy("fulfilment status", "Awaiting fulfilment"),
    "scheduled": pgettext_lazy("fulfilment status", "Scheduled"),
    "request_declined": pgettext_lazy("fulfilment status", "Declined by the fulfilment service"),
}

LABELS = {"payment_status": PAYMENT_STATUS_LABELS, "fulfillment_status": FULFILLMENT_STATUS_LABELS}


def store_status_label(field: str, value: str) -> str:
    """The translated label of `value` of the order's `field` ("payment_status", "fulfillment_status"), or
    the value as the store sent it when it is not a known one."""
    label = LABELS.get(field, {}).get((value or "").strip().lower())
    return str(label) if label is not None else value


def payment_status_label(value: str) -> str:
    return store_status_label("payment_status", value)


def fulfillment_status_label(value: str) -> str:
    return store_status_label("fulfillment_status", value)
