"""order_from_graphql: the GraphQL Admin API's Order node (what polling reads), field by field, on the
shopify-order.json fixture shaped as the GraphQL schema has it (stores.simulation.shopify_graphql_node)."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from stores.incoming import PayloadError
from stores.platforms.shopify_graphql import order_from_graphql
from stores.simulation import fixture, shopify_graphql_node


@pytest.fixture
def node():
    return shopify_graphql_node(fixture("shopify-order.json")["order"])


def test_the_fixtures_order_node_maps_field_by_field(node):
    order = order_from_graphql(node)
    assert (order.external_id, order.number) == ("450789469", "#1001")
    assert order.created_at == order.updated_at == datetime(2008, 1, 10, 16, 0, tzinfo=UTC)
    assert order.store_status == "pending" and order.payment_status == "authorized"
    assert order.fulfillment_status == "unfulfilled"
    assert (order.currency, order.grand_total, order.subtotal) == (
        "USD",
        Decimal("409.94"),
        Decimal("398.00"),
    )
    assert (order.shipping_total, order.tax_total, order.discount_total) == (
        Decimal("0.00"),
        Decimal("11.94"),
        Decimal("0.00"),
    )
    assert order.customer_name == "Bob Norman" and order.customer_email == "bob.norman@hostmail.com"
    assert (order.shipping_street, order.shipping_city, order.shipping_postcode, order.shipping_country) == (
        "Chestnut Street 92",
        "Louisville",
        "40202",
        "US",
    )
    assert order.shipping_method == "Free Shipping"
    assert [(line.sku, line.qty, line.unit_price, line.line_total) for line in order.lines] == [
        ("IPOD2008GREEN", 1, Decimal("199.00"), Decimal("199.00")),
        ("IPOD2008RED", 1, Decimal("199.00"), Decimal("199.00")),
        ("IPOD2008BLACK", 1, Decimal("199.00"), Decimal("199.00")),
    ]


@pytest.mark.parametrize(
    ("changes", "store_status", "fulfillment"),
    [
        ({"cancelledAt": "2026-11-02T10:00:00Z"}, "cancelled", "unfulfilled"),
        ({"closedAt": "2026-11-02T10:00:00Z", "displayFinancialStatus": "PAID"}, "closed", "unfulfilled"),
        ({"displayFinancialStatus": "REFUNDED"}, "refunded", "unfulfilled"),
        (
            {"displayFulfillmentStatus": "FULFILLED", "displayFinancialStatus": "PAID"},
            "fulfilled",
            "fulfilled",
        ),
        (
            {"displayFulfillmentStatus": "PARTIALLY_FULFILLED", "displayFinancialStatus": "PAID"},
            "paid",
            "partial",
        ),
        (
            {"displayFulfillmentStatus": "IN_PROGRESS", "displayFinancialStatus": "PENDING"},
            "pending",
            "in_progress",
        ),
    ],
)
def test_the_store_status_is_derived_as_for_the_rest_order(node, changes, store_status, fulfillment):
    order = order_from_graphql({**node, **changes})
    assert (order.store_status, order.fulfillment_status) == (store_status, fulfillment)


def test_the_id_falls_back_to_the_gid_when_the_legacy_id_is_missing(node):
    node.pop("legacyResourceId")
    assert order_from_graphql(node).external_id == "450789469"


def test_an_order_whose_lines_say_there_are_more_is_refused_not_cut_short(node):
    node["lineItems"]["pageInfo"]["hasNextPage"] = True
    with pytest.raises(
        PayloadError, match=r"Shopify order #1001: lineItems says it has more lines than were read"
    ):
        order_from_graphql(node)


def test_a_bad_amount_names_the_order_and_the_field(node):
    node["totalPriceSet"]["shopMoney"]["amount"] = "n/a"
    with pytest.raises(
        PayloadError, match=r"Shopify order #1001: totalPriceSet.shopMoney.amount 'n/a' is not"
    ):
        order_from_graphql(node)
