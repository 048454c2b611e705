"""Magento 2's REST order (SalesDataOrderInterface) as an IncomingOrder: the real fixture field by field
(parents and children counted once, zero-padded increment_id, zone-less UTC times, numbers as money), the
derived payment and fulfilment, and bad data refused with the order and the field named."""

import copy
import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stores.incoming import IncomingLine, PayloadError
from stores.platforms.magento import order_from_payload
from tests.stores.payload_fuzz import JSON_VALUES, json_paths, replaced

FIXTURES = Path(__file__).resolve().parent.parent.parent / "stores" / "fixtures"


@pytest.fixture
def order_json():
    return json.loads((FIXTURES / "magento-order.json").read_text(encoding="utf-8"))


def test_magento_order_maps_every_field(order_json):
    order = order_from_payload(order_json)

    assert order.external_id == "3"
    assert order.number == "000000003"
    assert order.store_status == "pending"
    assert order.created_at == datetime(2017, 8, 21, 22, 22, 19, tzinfo=UTC)
    assert order.updated_at == datetime(2017, 8, 21, 22, 22, 20, tzinfo=UTC)
    assert order.currency == "USD"
    assert order.grand_total == Decimal("165.00")
    assert order.subtotal == Decimal("160.00")
    assert order.shipping_total == Decimal("5.00")
    assert order.tax_total == Decimal("0.00")
    assert order.discount_total == Decimal("0.00")
    assert order.customer_name == "Jane Doe"
    assert order.customer_email == "jdoe@example.com"
    assert order.customer_phone == "512-555-1111"
    assert order.shipping_name == "Jane Doe"
    assert order.shipping_street == "123 Oak Ave"
    assert order.shipping_city == "Purchase"
    assert order.shipping_postcode == "10577"
    assert order.shipping_country == "US"
    assert order.payment_status == "pending"  # nothing paid: total_due 165
    assert order.fulfillment_status == "unfulfilled"
    assert order.shipping_method == "Best Way - Table Rate"
    assert order.customer_note == ""
    assert order.lines == (
        IncomingLine("WS12-M-Orange", "Radiant Tee-M-Orange", 1, Decimal("22.00"), Decimal("22.00")),
        # the downloadable line, its raw & kept
        IncomingLine("240-LV08", "Advanced Pilates & Yoga (Strength)", 1, Decimal("18.00"), Decimal("18.00")),
        # the bundle once, not its four parts (27 + 5 + 17 + 19)
        IncomingLine(
            "24-WG080-24-WG084-24-WG088-24-WG082-blue-24-WG086",
            "Sprite Yoga Companion Kit",
            1,
            Decimal("68.00"),
            Decimal("68.00"),
        ),
        # the configurable once, not its simple child of the same SKU at 0
        IncomingLine("MH01-S-Gray", "Chaz Kangeroo Hoodie", 1, Decimal("52.00"), Decimal("52.00")),
    )


def test_magento_lines_add_up_to_the_subtotal(order_json):
    order = order_from_payload(order_json)
    assert sum(line.line_total for line in order.lines) == order.subtotal == Decimal("160.00")
    assert order.subtotal + order.shipping_total == order.grand_total


def test_magento_discount_is_negative_in_magento_and_a_positive_total_here(order_json):
    payload = copy.deepcopy(order_json)
    payload.update({"discount_amount": -16, "grand_total": 149})
    payload["items"][0]["discount_amount"] = 2.2
    order = order_from_payload(payload)
    assert order.discount_total == Decimal("16.00")
    assert order.lines[0].line_total == Decimal("19.80")


@pytest.mark.parametrize(
    ("paid", "refunded", "expected"),
    [
        (None, None, "pending"),
        (100, None, "partially_paid"),
        (165, None, "paid"),
        (165, 20, "partially_refunded"),
        (165, 165, "refunded"),
    ],
)
def test_magento_payment_status_is_derived_from_paid_and_refunded(order_json, paid, refunded, expected):
    payload = {**order_json, "total_paid": paid, "total_refunded": refunded}
    assert order_from_payload(payload).payment_status == expected


def test_magento_fulfilment_counts_shipped_items_on_parents_or_on_a_bundles_children(order_json):
    payload = copy.deepcopy(order_json)
    items = payload["items"]
    items[0]["qty_shipped"] = 1  # the tee
    assert order_from_payload(payload).fulfillment_status == "partial"
    for child in items[3:7]:  # the bundle's parts shipped separately
        child["qty_shipped"] = 1
    items[7]["qty_shipped"] = 1  # the configurable hoodie (on its parent)
    # The downloadable line ships nothing and does not count.
    assert order_from_payload(payload).fulfillment_status == "fulfilled"


def test_magento_virtual_order_has_no_fulfilment(order_json):
    payload = copy.deepcopy(order_json)
    payload["items"] = [payload["items"][1]]
    assert order_from_payload(payload).fulfillment_status == ""


def test_magento_order_with_offsets_and_text_amounts_as_other_versions_send_them(order_json):
    payload = {**order_json, "updated_at": "2017-08-22T00:22:20+02:00", "grand_total": "165.0000"}
    order = order_from_payload(payload)
    assert order.updated_at == datetime(2017, 8, 21, 22, 22, 20, tzinfo=UTC)
    assert order.grand_total == Decimal("165.00")


def test_magento_guest_without_customer_names_is_named_by_the_billing_address(order_json):
    payload = {**order_json, "customer_firstname": None, "customer_lastname": None, "customer_email": None}
    payload["billing_address"] = {**order_json["billing_address"], "firstname": "Ann", "lastname": "Lee"}
    order = order_from_payload(payload)
    assert (order.customer_name, order.customer_email) == ("Ann Lee", "jdoe@example.com")


def test_magento_order_without_shipping_assignments_has_no_shipping_address(order_json):
    payload = {**order_json, "extension_attributes": {}}
    order = order_from_payload(payload)
    assert (order.shipping_name, order.shipping_street, order.shipping_country) == ("", "", "")
    assert order.customer_phone == "512-555-1111"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"increment_id": ""}, "Magento order 3: increment_id is missing"),
        ({"grand_total": "lots"}, "Magento order 000000003: grand_total 'lots' is not an amount"),
        ({"created_at": "21.08.2017"}, "Magento order 000000003: created_at '21.08.2017' is not a date"),
        ({"items": "none"}, "Magento order 000000003: items must be a list of objects"),
        ({"entity_id": None}, "Magento order: entity_id is missing"),
        ({"status": None, "state": None}, "Magento order 000000003: state is missing"),
    ],
)
def test_magento_bad_data_is_a_payload_error_naming_the_order_and_the_field(order_json, change, message):
    with pytest.raises(PayloadError) as raised:
        order_from_payload({**order_json, **change})
    assert str(raised.value).startswith(message)


def test_magento_decimal_quantity_is_refused_with_the_item(order_json):
    payload = copy.deepcopy(order_json)
    payload["items"][0]["qty_ordered"] = 1.5
    with pytest.raises(
        PayloadError, match=r"^Magento order 000000003: items\.0\.qty_ordered 1\.5 is not a whole"
    ):
        order_from_payload(payload)


# --- never a crash ----------------------------------------------------------------------------------------


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_magento_any_field_replaced_by_any_json_maps_or_is_a_payload_error(order_json, data):
    paths = sorted(json_paths(order_json), key=repr)
    path = data.draw(st.sampled_from(paths))
    payload = replaced(order_json, path, data.draw(JSON_VALUES))
    try:
        order = order_from_payload(payload)
    except PayloadError as error:
        assert str(error).startswith("Magento ")
    else:
        assert order.lines is not None
