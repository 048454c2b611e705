"""WooCommerce's REST v3 order and its legacy v3 webhook body as an IncomingOrder: the real fixtures field by
field (entities decoded, numbers and strings, zone-less times with their _gmt twins), and bad data refused
with the order and the field named."""

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stores.incoming import IncomingLine, PayloadError
from stores.platforms.woocommerce import order_from_payload
from tests.stores.payload_fuzz import JSON_VALUES, json_paths, replaced

FIXTURES = Path(__file__).resolve().parent.parent.parent / "stores" / "fixtures"


def fixture(name: str):
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture
def order_json():
    return fixture("woocommerce-order.json")


def test_woocommerce_order_727_maps_every_field(order_json):
    order = order_from_payload(order_json)

    assert order.external_id == "727"
    assert order.number == "727"
    assert order.store_status == "processing"
    # The _gmt twins, not the site-local "2017-03-22T16:28:02".
    assert order.created_at == datetime(2017, 3, 22, 19, 28, 2, tzinfo=UTC)
    assert order.updated_at == datetime(2017, 3, 22, 19, 28, 8, tzinfo=UTC)
    assert order.currency == "USD"
    assert order.grand_total == Decimal("29.35")
    assert order.subtotal == Decimal("18.00")  # the lines' subtotals: 6.00 + 12.00
    assert order.shipping_total == Decimal("10.00")
    assert order.tax_total == Decimal("1.35")
    assert order.discount_total == Decimal("0.00")
    assert order.subtotal + order.shipping_total + order.tax_total == order.grand_total
    assert order.customer_name == "John Doe"
    assert order.customer_email == "john.doe@example.com"
    assert order.customer_phone == "(555) 555-5555"
    assert order.shipping_name == "John Doe"
    assert order.shipping_street == "969 Market"
    assert order.shipping_city == "San Francisco"
    assert order.shipping_postcode == "94103"
    assert order.shipping_country == "US"
    assert order.payment_status == "paid"  # date_paid set
    assert order.fulfillment_status == "unfulfilled"
    assert order.shipping_method == "Flat Rate"
    assert order.customer_note == ""
    assert order.lines == (
        # price is a JSON number (3, 12); the empty SKU stays empty; &ndash; is decoded.
        IncomingLine("", "Woo Single #1", 2, Decimal("3.00"), Decimal("6.00")),
        IncomingLine(
            "Bar3", "Ship Your Idea \u2013 Color: Black, Size: M Test", 1, Decimal("12.00"), Decimal("12.00")
        ),
    )


def test_woocommerce_order_list_maps_both_orders_and_the_first_is_the_single_order():
    first, second = (order_from_payload(item) for item in fixture("woocommerce-orders.json"))

    assert first == order_from_payload(fixture("woocommerce-order.json"))

    assert second.external_id == "723"
    assert second.number == "723"
    assert second.store_status == "completed"
    assert second.created_at == datetime(2017, 3, 21, 19, 16, tzinfo=UTC)
    assert second.updated_at == datetime(2017, 3, 21, 19, 54, 51, tzinfo=UTC)
    # total stays gross although two refunds are listed; date_paid is null on a completed order.
    assert second.grand_total == Decimal("39.00")
    assert second.subtotal == Decimal("29.00")
    assert second.shipping_total == Decimal("10.00")
    assert second.tax_total == Decimal("0.00")
    assert second.payment_status == "partially_refunded"
    assert second.fulfillment_status == "fulfilled"
    assert second.customer_name == "Jo\u00e3o Silva"
    assert second.customer_email == "joao.silva@example.com"
    assert second.customer_phone == "(11) 1111-1111"
    assert (
        second.shipping_street,
        second.shipping_city,
        second.shipping_postcode,
        second.shipping_country,
    ) == (
        "Av. Brasil, 432",
        "Rio de Janeiro",
        "12345-000",
        "BR",
    )
    assert second.shipping_method == "Flat rate"
    assert second.lines == (
        IncomingLine("", "Woo Album #2", 1, Decimal("9.00"), Decimal("9.00")),
        IncomingLine("", "Woo Ninja", 1, Decimal("20.00"), Decimal("20.00")),
    )


def test_woocommerce_legacy_v3_webhook_body_maps_every_field():
    delivery = fixture("woocommerce-webhook-delivery.json")
    order = order_from_payload(json.loads(delivery["request_body"])["order"])

    assert order.external_id == "118"
    assert order.number == "118"
    assert order.store_status == "completed"
    assert order.created_at == datetime(2016, 5, 3, 18, 10, tzinfo=UTC)
    assert order.updated_at == datetime(2016, 5, 16, 3, 30, 30, tzinfo=UTC)
    assert order.currency == "BRL"
    assert order.grand_total == Decimal("14.00")
    assert order.subtotal == Decimal("4.00")
    assert order.shipping_total == Decimal("10.00")
    assert order.tax_total == Decimal("0.00")
    assert order.discount_total == Decimal("0.00")
    assert order.customer_name == "John Doe"
    assert order.customer_email == "john.doe@claudiosmweb.com"
    assert order.customer_phone == "(555) 555-5555"
    assert (order.shipping_name, order.shipping_street, order.shipping_country) == (
        "John Doe",
        "969 Market",
        "US",
    )
    assert order.payment_status == "paid"
    assert order.fulfillment_status == "fulfilled"
    assert order.shipping_method == "Flat Rate"
    assert order.lines == (IncomingLine("12345", "Woo Single #2", 2, Decimal("2.00"), Decimal("4.00")),)


def test_woocommerce_coupon_note_and_entities_everywhere(order_json):
    payload = copy.deepcopy(order_json)
    payload["customer_note"] = "Ring twice &amp; wait"
    payload["discount_total"] = "1.20"
    payload["line_items"][1].update({"total": "10.80", "price": 10.8})
    payload["shipping"]["address_1"] = "Rue d&#039;Alsace 5"
    payload["billing"]["first_name"] = "Zo&euml;"

    order = order_from_payload(payload)

    assert order.customer_note == "Ring twice & wait"
    assert order.discount_total == Decimal("1.20")
    assert order.lines[1].unit_price == Decimal("10.80")
    assert order.lines[1].line_total == Decimal("10.80")
    assert order.shipping_street == "Rue d'Alsace 5"
    assert order.customer_name == "Zo\u00eb Doe"


def test_woocommerce_float_price_is_read_exactly_and_rounded_to_the_cent(order_json):
    payload = copy.deepcopy(order_json)
    payload["line_items"][0].update({"quantity": 3, "price": 3.3333333333, "total": "10.00"})
    line = order_from_payload(payload).lines[0]
    assert (line.qty, line.unit_price, line.line_total) == (3, Decimal("3.33"), Decimal("10.00"))


def test_woocommerce_zone_less_time_without_its_gmt_twin_is_the_servers_zone(order_json, settings):
    settings.TIME_ZONE = "Europe/Sofia"
    payload = {**order_json, "date_modified_gmt": None}
    # 16:28:08 in Sofia in March is UTC+2
    assert order_from_payload(payload).updated_at == datetime(2017, 3, 22, 14, 28, 8, tzinfo=UTC)


def test_woocommerce_guest_with_an_empty_billing_name_is_named_by_the_shipping_address(order_json):
    payload = copy.deepcopy(order_json)
    payload["billing"].update({"first_name": "", "last_name": ""})
    payload["shipping"].update({"first_name": "Jane", "last_name": "Roe"})
    assert order_from_payload(payload).customer_name == "Jane Roe"


@pytest.mark.parametrize(
    ("status", "date_paid", "refunds", "payment", "fulfilment"),
    [
        ("pending", None, [], "pending", "unfulfilled"),
        ("on-hold", None, [], "pending", "unfulfilled"),
        ("failed", None, [], "failed", "unfulfilled"),
        ("processing", None, [], "paid", "unfulfilled"),
        ("cancelled", "2017-03-22T19:28:08", [], "paid", "unfulfilled"),
        ("refunded", "2017-03-22T19:28:08", [{"id": 1, "total": "-29.35"}], "refunded", "unfulfilled"),
        ("completed", None, [{"id": 1, "total": "-1.00"}], "partially_refunded", "fulfilled"),
    ],
)
def test_woocommerce_payment_and_fulfilment_are_derived(
    order_json, status, date_paid, refunds, payment, fulfilment
):
    payload = {
        **order_json,
        "status": status,
        "date_paid_gmt": date_paid,
        "date_paid": date_paid,
        "refunds": refunds,
    }
    order = order_from_payload(payload)
    assert (order.store_status, order.payment_status, order.fulfillment_status) == (
        status,
        payment,
        fulfilment,
    )


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"total": "29,35"}, "WooCommerce order 727: total '29,35' is not an amount"),
        ({"status": ""}, "WooCommerce order 727: status is missing"),
        (
            {"date_created_gmt": "22/03/2017"},
            "WooCommerce order 727: date_created_gmt '22/03/2017' is not a date",
        ),
        (
            {"shipping": {"country": "USA"}},
            "WooCommerce order 727: shipping.country 'USA' is not a two-letter",
        ),
        ({"id": None}, "WooCommerce order: id is missing"),
        ({"currency": None}, "WooCommerce order 727: currency is missing"),
    ],
)
def test_woocommerce_bad_data_is_a_payload_error_naming_the_order_and_the_field(order_json, change, message):
    with pytest.raises(PayloadError) as raised:
        order_from_payload({**order_json, **change})
    assert str(raised.value).startswith(message)


def test_woocommerce_bad_line_names_the_line(order_json):
    payload = copy.deepcopy(order_json)
    payload["line_items"][1]["name"] = ""
    with pytest.raises(PayloadError, match=r"^WooCommerce order 727: line_items\.1\.name is missing$"):
        order_from_payload(payload)
    payload["line_items"][1].update({"name": "X", "quantity": 0})
    with pytest.raises(
        PayloadError, match=r"^WooCommerce order 727: line_items\.1\.quantity 0 is not a quantity"
    ):
        order_from_payload(payload)


def test_woocommerce_empty_object_sent_by_php_as_a_list_is_no_address(order_json):
    payload = {**order_json, "shipping": []}
    order = order_from_payload(payload)
    assert (order.shipping_name, order.shipping_street, order.shipping_country) == ("", "", "")


# --- never a crash ----------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_woocommerce_any_field_replaced_by_any_json_maps_or_is_a_payload_error(order_json, data):
    paths = sorted(json_paths(order_json), key=repr)
    path = data.draw(st.sampled_from(paths))
    payload = replaced(order_json, path, data.draw(JSON_VALUES))
    try:
        order = order_from_payload(payload)
    except PayloadError as error:
        assert str(error).startswith("WooCommerce ")
    else:
        assert order.lines is not None
