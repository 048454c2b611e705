"""Orders from a connected store through the API: the fields the store sends (issue 22), the store named as
the actor in the timeline (operators.timeline, the console's read), and the queries the list and one order
cost with them."""

import dataclasses
import json
from datetime import timedelta
from pathlib import Path

import pytest

from operators.services import orders_assign
from orders.services import order_update
from stores.platforms import order_mapping
from stores.services import store_order_apply
from tests.api.conftest import client_for
from tests.factories import OrderFactory, OrderLineFactory, StoreFactory

pytestmark = pytest.mark.django_db

FIXTURES = Path(__file__).resolve().parents[2] / "stores" / "fixtures"


def fixture_order(platform: str, name: str):
    payload = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return order_mapping(platform)(payload.get("order", payload))


@pytest.fixture
def shopify(db):
    return StoreFactory(
        platform="shopify", name="Shopify", slug="acme", base_url="https://acme.myshopify.com"
    )


@pytest.fixture
def from_shopify(shopify):
    """Shopify's documented order (#1001), applied as its webhook would."""
    return store_order_apply(
        store=shopify, incoming=fixture_order("shopify", "shopify-order.json"), via="webhook"
    )


def test_an_order_from_a_store_carries_the_stores_fields_and_line_totals(operator, from_shopify):
    order = client_for(operator).get("/api/v1/orders/1001/").json()
    assert order["store"] == {"slug": "acme", "name": "Shopify", "platform": "shopify"}
    assert order["external_id"] == "450789469" and order["store_updated_at"]
    assert order["store_order_url"] == "https://acme.myshopify.com/admin/orders/450789469"
    assert (order["payment_status"], order["fulfillment_status"]) == ("authorized", "unfulfilled")
    assert order["shipping_method"] == "Free Shipping"
    assert (order["grand_total"], order["tax_total"]) == ("409.94", "11.94")
    assert {"shipping_total", "discount_total", "customer_note"} <= set(order)
    assert [(line["sku"], line["line_total"], line["total"]) for line in order["lines"]] == [
        ("IPOD2008GREEN", "199.00", "199.00"),
        ("IPOD2008RED", "199.00", "199.00"),
        ("IPOD2008BLACK", "199.00", "199.00"),
    ]
    listed = client_for(operator).get("/api/v1/orders/").json()["results"]
    assert [(item["number"], item["store"]["slug"], item["payment_status"]) for item in listed] == [
        ("1001", "acme", "authorized")
    ]


def test_an_order_from_no_store_has_none_and_its_line_total_is_qty_times_price(operator):
    order = OrderFactory(number="500100", shipping_total="4.90", customer_note="Ring twice")
    OrderLineFactory(order=order, qty=3, unit_price="2.50")
    data = client_for(operator).get("/api/v1/orders/500100/").json()
    assert (data["store"], data["external_id"], data["store_updated_at"], data["store_order_url"]) == (
        None,
        "",
        None,
        "",
    )
    assert (data["shipping_total"], data["customer_note"]) == ("4.90", "Ring twice")
    assert [(line["line_total"], line["total"]) for line in data["lines"]] == [(None, "7.50")]


def test_the_timeline_names_the_store_where_the_store_changed_the_order(operator, shopify, from_shopify):
    incoming = fixture_order("shopify", "shopify-order.json")
    store_order_apply(
        store=shopify,
        incoming=dataclasses.replace(
            incoming, updated_at=incoming.updated_at + timedelta(hours=1), shipping_method="Express"
        ),
        via="poll",
    )
    orders_assign(actor=operator, order_ids=[from_shopify.order_id])
    order_update(actor=operator, order_id=from_shopify.order_id, version=2, changes={"shipping_city": "Ruse"})
    entries = client_for(operator).get("/api/v1/orders/1001/timeline/").json()
    changes = [entry for entry in entries if entry["kind"] == "change"]
    by_store, by_anna = changes[0], changes[-1]
    assert (by_store["actor"], by_store["store"], by_store["actor_name"]) == (None, "Shopify", "Shopify")
    assert {"field": "shipping_method", "old": "Free Shipping", "new": "Express"} in by_store["changes"]
    assert (by_anna["actor"], by_anna["store"], by_anna["actor_name"]) == ("anna", None, "Anna")
    hold = next(entry for entry in entries if entry["kind"] == "hold")
    assert (hold["actor"], hold["store"], hold["actor_name"]) == ("anna", None, "Anna")


def test_a_final_status_from_the_store_ends_the_hold_by_the_store_in_the_timeline(
    operator, shopify, from_shopify
):
    orders_assign(actor=operator, order_ids=[from_shopify.order_id])
    incoming = fixture_order("shopify", "shopify-order.json")
    store_order_apply(
        store=shopify,
        incoming=dataclasses.replace(
            incoming,
            updated_at=incoming.updated_at + timedelta(hours=1),
            store_status="cancelled",
            deleted=True,
        ),
        via="webhook",
    )
    entries = client_for(operator).get("/api/v1/orders/1001/timeline/").json()
    released = [entry for entry in entries if entry["kind"] == "hold" and entry["action"] != "assigned"]
    assert released and released[-1]["store"] == "Shopify" and released[-1]["actor_name"] == "Shopify"


@pytest.mark.parametrize("size", [4, 40])
def test_the_list_with_store_orders_costs_the_same_queries_whatever_the_page_size(
    operator, other_operator, size, django_assert_num_queries
):
    stores = [StoreFactory(platform=platform) for platform in ("shopify", "woocommerce")]
    orders = [OrderFactory(store=stores[index % 3] if index % 3 < 2 else None) for index in range(size)]
    orders_assign(actor=other_operator, order_ids=[order.pk for order in orders[::2]])
    api = client_for(operator)
    # The key with its user, its last-used time (a new key), the user's permissions (two), the throttle's
    # count and (its first request in this window) the purge of the windows that are over, the page (its
    # orders with their status, store and hold joined).
    with django_assert_num_queries(7):
        response = api.get(f"/api/v1/orders/?page_size={size}")
    results = response.json()["results"]
    assert len(results) == size and {item["store"]["slug"] for item in results if item["store"]} == {
        store.slug for store in stores
    }


@pytest.mark.parametrize("lines", [1, 12])
def test_one_order_from_a_store_costs_the_same_queries_whatever_its_lines(
    operator, shopify, lines, django_assert_num_queries
):
    order = OrderFactory(number="500200", store=shopify, external_id="77")
    OrderLineFactory.create_batch(lines, order=order)
    api = client_for(operator)
    # The key, its last-used time, the permissions (two), the throttle (two), the order with its status,
    # store and hold joined, its lines.
    with django_assert_num_queries(8):
        response = api.get("/api/v1/orders/500200/")
    assert len(response.json()["lines"]) == lines and response.json()["store"]["slug"] == "acme"


def test_the_schema_describes_the_stores_fields(operator):
    schema = client_for(operator).get("/api/v1/schema/?format=json").json()
    components = schema["components"]["schemas"]
    order = components["OrderDetail"]["properties"]
    for name in (
        "store",
        "external_id",
        "store_updated_at",
        "store_order_url",
        "payment_status",
        "fulfillment_status",
        "shipping_method",
        "shipping_total",
        "tax_total",
        "discount_total",
        "customer_note",
    ):
        assert name in order, name
    assert {"line_total", "total"} <= set(components["Line"]["properties"])
    assert {"store", "actor_name"} <= set(components["TimelineEntry"]["properties"])
