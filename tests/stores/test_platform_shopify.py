"""Shopify's REST Admin order as an IncomingOrder: the real fixtures field by field, the status derivation,
the API's variants, and bad data refused with the order and the field named."""

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stores.incoming import IncomingLine, PayloadError
from stores.models import DEFAULT_STATUS_MAPS
from stores.platforms import STORE_STATUSES
from stores.platforms.shopify import order_from_payload, store_status
from tests.stores.payload_fuzz import JSON_VALUES, json_paths, replaced

FIXTURES = Path(__file__).resolve().parent.parent.parent / "stores" / "fixtures"


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture
def order_json():
    return fixture("shopify-order.json")["order"]


def test_shopify_order_fixture_maps_every_field(order_json):
    order = order_from_payload(order_json)

    assert order.external_id == "450789469"
    assert order.number == "#1001"
    # financial_status authorized, nothing fulfilled, not cancelled or closed
    assert order.store_status == "pending"
    assert order.created_at == datetime(2008, 1, 10, 16, 0, tzinfo=UTC)  # 11:00 at -05:00
    assert order.updated_at == datetime(2008, 1, 10, 16, 0, tzinfo=UTC)
    assert order.currency == "USD"
    assert order.grand_total == Decimal("409.94")
    # The fixture's own figures, inconsistent as they are: the three lines add up to 597.00.
    assert order.subtotal == Decimal("398.00")
    assert order.shipping_total == Decimal("0.00")
    assert order.tax_total == Decimal("11.94")
    # total_discounts says 0.00 although discount_codes lists TENOFF 10.00: the store's total is taken.
    assert order.discount_total == Decimal("0.00")
    assert order.customer_name == "Bob Norman"
    assert order.customer_email == "bob.norman@hostmail.com"
    assert order.customer_phone == "555-625-1199"
    assert order.shipping_name == "Bob Norman"
    assert order.shipping_street == "Chestnut Street 92"
    assert order.shipping_city == "Louisville"
    assert order.shipping_postcode == "40202"
    assert order.shipping_country == "US"
    assert order.payment_status == "authorized"
    assert order.fulfillment_status == "unfulfilled"
    assert order.shipping_method == "Free Shipping"
    assert order.customer_note == ""
    assert order.deleted is False
    assert order.lines == (
        IncomingLine("IPOD2008GREEN", "IPod Nano - 8gb - green", 1, Decimal("199.00"), Decimal("199.00")),
        IncomingLine("IPOD2008RED", "IPod Nano - 8gb - red", 1, Decimal("199.00"), Decimal("199.00")),
        IncomingLine("IPOD2008BLACK", "IPod Nano - 8gb - black", 1, Decimal("199.00"), Decimal("199.00")),
    )


def test_shopify_orders_fixture_newer_api_shape_without_line_items_is_an_order_without_lines():
    (payload,) = fixture("shopify-orders.json")["orders"]
    order = order_from_payload(payload)

    assert order.external_id == "450789469"
    assert order.number == "#1001"
    assert order.store_status == "paid"  # partially_refunded, unfulfilled
    assert order.payment_status == "partially_refunded"
    assert order.fulfillment_status == "unfulfilled"
    assert order.created_at == order.updated_at == datetime(2008, 1, 10, 16, 0, tzinfo=UTC)
    assert order.currency == "USD"
    assert order.grand_total == Decimal("598.94")
    assert order.subtotal == Decimal("597.00")
    assert order.shipping_total == Decimal("0.00")  # only in total_shipping_price_set
    assert order.tax_total == Decimal("11.94")
    assert order.discount_total == Decimal("10.00")
    assert order.customer_name == "Bob Norman"
    assert order.customer_email == "bob.norman@hostmail.com"
    # The order's own phone comes before the addresses' and the customer's.
    assert order.customer_phone == "+557734881234"
    assert (order.shipping_street, order.shipping_city, order.shipping_postcode, order.shipping_country) == (
        "Chestnut Street 92",
        "Louisville",
        "40202",
        "US",
    )
    assert order.shipping_method == ""
    assert order.lines == ()


@pytest.mark.parametrize(
    ("cancelled", "closed", "financial", "fulfillment", "expected"),
    [
        (True, True, "refunded", "fulfilled", "cancelled"),
        (False, True, "refunded", "fulfilled", "refunded"),
        (False, False, "voided", "unfulfilled", "voided"),
        (False, True, "paid", "fulfilled", "closed"),
        (False, False, "paid", "fulfilled", "fulfilled"),
        (False, False, "paid", "partial", "paid"),
        (False, False, "partially_refunded", "unfulfilled", "paid"),
        (False, False, "authorized", "unfulfilled", "pending"),
        (False, False, "partially_paid", "unfulfilled", "pending"),
        (False, False, "pending", "unfulfilled", "pending"),
        (False, False, "expired", "unfulfilled", "pending"),
    ],
)
def test_shopify_store_status_is_derived_first_rule_first(
    cancelled, closed, financial, fulfillment, expected
):
    status = store_status(
        cancelled=cancelled, closed=closed, financial_status=financial, fulfillment_status=fulfillment
    )
    assert status == expected


def test_every_store_status_a_mapping_gives_is_in_its_platforms_default_status_map():
    for platform, statuses in STORE_STATUSES.items():
        missing = set(statuses) - set(DEFAULT_STATUS_MAPS[platform])
        assert not missing, f"{platform}: {sorted(missing)}"


def test_shopify_cancelled_order_with_a_note_and_line_discounts(order_json):
    payload = copy.deepcopy(order_json)
    payload["cancelled_at"] = "2008-01-11T09:30:00+02:00"
    payload["updated_at"] = "2008-01-11T09:30:00+02:00"
    payload["note"] = "  Leave it at the door  "
    payload["line_items"][0]["quantity"] = 2
    payload["line_items"][0]["discount_allocations"] = [{"amount": "15.00"}, {"amount": "4.50"}]
    payload["line_items"][1]["total_discount"] = "9.00"

    order = order_from_payload(payload)

    assert order.store_status == "cancelled"
    assert order.updated_at == datetime(2008, 1, 11, 7, 30, tzinfo=UTC)
    assert order.customer_note == "Leave it at the door"
    assert order.lines[0].qty == 2
    assert order.lines[0].line_total == Decimal("378.50")  # 2 x 199.00 - 15.00 - 4.50
    assert order.lines[1].line_total == Decimal("190.00")


def test_shopify_order_without_addresses_takes_the_customer_and_contact_email(order_json):
    payload = copy.deepcopy(order_json)
    payload["billing_address"] = None
    del payload["shipping_address"]
    payload["email"] = ""
    payload["contact_email"] = "bob@example.com"
    payload["customer"]["phone"] = "+1 613 555 0100"

    order = order_from_payload(payload)

    assert order.customer_name == "Bob Norman"
    assert order.customer_email == "bob@example.com"
    assert order.customer_phone == "+1 613 555 0100"
    assert (order.shipping_name, order.shipping_street, order.shipping_country) == ("", "", "")


def test_shopify_money_as_json_numbers_and_shipping_from_the_shipping_lines(order_json):
    payload = copy.deepcopy(order_json)
    payload["total_price"] = 409.94
    payload["total_tax"] = 11
    payload["shipping_lines"] = [
        {"title": "Express", "price": "12.50"},
        {"title": "Insurance", "price": "2.5"},
    ]

    order = order_from_payload(payload)

    assert order.grand_total == Decimal("409.94")
    assert order.tax_total == Decimal("11.00")
    assert order.shipping_total == Decimal("15.00")
    assert order.shipping_method == "Express; Insurance"


def test_shopify_totals_only_in_the_set_bags_are_read_in_shop_money(order_json):
    payload = copy.deepcopy(order_json)
    del payload["total_price"]
    payload["total_price_set"] = {
        "shop_money": {"amount": "409.94", "currency_code": "USD"},
        "presentment_money": {"amount": "375.10", "currency_code": "EUR"},
    }
    assert order_from_payload(payload).grand_total == Decimal("409.94")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"total_price": "12,50"}, "Shopify order #1001: total_price '12,50' is not an amount"),
        ({"total_price": None}, "Shopify order #1001: total_price_set.shop_money.amount is missing"),
        ({"created_at": "yesterday"}, "Shopify order #1001: created_at 'yesterday' is not a date and time"),
        ({"name": "", "order_number": None}, "Shopify order 450789469: name is missing"),
        ({"id": None}, "Shopify order: id is missing"),
        ({"currency": ""}, "Shopify order #1001: currency is missing"),
        ({"billing_address": "Chestnut Street"}, "Shopify order #1001: billing_address must be an object"),
        ({"line_items": {"sku": "X"}}, "Shopify order #1001: line_items must be a list of objects"),
    ],
)
def test_shopify_bad_data_is_a_payload_error_naming_the_order_and_the_field(order_json, change, message):
    payload = {**order_json, **change}
    with pytest.raises(PayloadError) as raised:
        order_from_payload(payload)
    assert str(raised.value).startswith(message)


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        (0, "0 is not a quantity of at least 1"),
        (1.5, "1.5 is not a whole quantity"),
        ("two", "must be a whole"),
    ],
)
def test_shopify_bad_line_quantity_names_the_line(order_json, quantity, message):
    payload = copy.deepcopy(order_json)
    payload["line_items"][2]["quantity"] = quantity
    with pytest.raises(PayloadError, match=r"Shopify order #1001: line_items\.2\.quantity ") as raised:
        order_from_payload(payload)
    assert message in str(raised.value)


def test_shopify_order_that_is_not_an_object_is_a_payload_error():
    with pytest.raises(PayloadError, match="Shopify: an order must be a JSON object, not list"):
        order_from_payload([])  # type: ignore[arg-type]


def test_shopify_number_falls_back_to_the_order_number(order_json):
    payload = {**order_json, "name": None}
    assert order_from_payload(payload).number == "#1001"


# --- never a crash ----------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_shopify_any_field_replaced_by_any_json_maps_or_is_a_payload_error(order_json, data):
    paths = sorted(json_paths(order_json), key=repr)
    path = data.draw(st.sampled_from(paths))
    payload = replaced(order_json, path, data.draw(JSON_VALUES))
    try:
        order = order_from_payload(payload)
    except PayloadError as error:
        assert str(error).startswith("Shopify ")
    else:
        assert order.lines is not None
