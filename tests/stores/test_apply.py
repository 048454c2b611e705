"""store_order_apply: one apply path for every way in, as the store, forward only."""

import dataclasses
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from console.timeline import order_timeline
from live.models import Notification
from operators.models import Assignment, AssignmentLog
from operators.services import orders_assign
from orders.models import Order, OrderChange, OrderLine
from orders.services import OrderStale, changes_since, order_update
from stores.incoming import PayloadError
from stores.platforms import order_mapping
from stores.services import Outcome, UnmappedStatus, store_order_apply
from tests.factories import StoreFactory

# The platforms' real payloads and signature vectors, byte-exact copies (stores/fixtures/SOURCES.md).
FIXTURES = Path(__file__).resolve().parents[2] / "stores" / "fixtures"


def fixture_order(platform: str, name: str):
    payload = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return order_mapping(platform)(payload.get("order", payload))


@pytest.fixture
def shopify(db):
    return StoreFactory(platform="shopify", name="Shopify", slug="acme")


@pytest.fixture
def incoming():
    return fixture_order("shopify", "shopify-order.json")


def later(order, **changes):
    """The same order as the store sends it after a change, an hour later."""
    return dataclasses.replace(order, updated_at=order.updated_at + timedelta(hours=1), **changes)


def test_a_new_order_is_created_with_the_stores_fields_and_lines(shopify, incoming):
    result = store_order_apply(store=shopify, incoming=incoming, via="webhook")

    assert result.outcome == Outcome.CREATED
    order = Order.objects.get(pk=result.order_id)
    assert (order.store, order.external_id, order.number) == (shopify, "450789469", "1001")
    assert order.status_id == "pending"  # Shopify "pending" (authorized) through the default map
    assert order.store_updated_at == incoming.updated_at
    assert order.grand_total == Decimal("409.94")
    assert (order.payment_status, order.fulfillment_status) == ("authorized", "unfulfilled")
    assert order.shipping_method == "Free Shipping"
    assert order.tax_total == Decimal("11.94")
    assert order.customer_email == "bob.norman@hostmail.com"
    lines = list(OrderLine.objects.filter(order=order).values_list("sku", "qty", "unit_price", "line_total"))
    assert [sku for sku, *_ in lines] == ["IPOD2008GREEN", "IPOD2008RED", "IPOD2008BLACK"]
    assert all(line_total == Decimal("199.00") for *_, line_total in lines)
    assert order.version == 1


@pytest.mark.parametrize(
    ("platform", "name", "number", "status"),
    [
        ("woocommerce", "woocommerce-order.json", "727", "processing"),
        ("magento", "magento-order.json", "000000003", "pending"),
    ],
)
def test_every_platforms_fixture_applies_through_its_default_status_map(db, platform, name, number, status):
    store = StoreFactory(platform=platform)
    result = store_order_apply(store=store, incoming=fixture_order(platform, name), via="file")
    order = Order.objects.get(pk=result.order_id)
    assert (order.number, order.status_id, order.store_id) == (number, status, store.pk)


def test_a_newer_copy_updates_the_order_as_the_store_with_a_new_version_and_history(shopify, incoming):
    created = store_order_apply(store=shopify, incoming=incoming, via="webhook")

    result = store_order_apply(
        store=shopify,
        incoming=later(incoming, store_status="cancelled", customer_phone="+359 888 123 456"),
        via="poll",
    )

    assert result.outcome == Outcome.UPDATED
    assert set(result.fields) == {"status", "customer_phone"}
    order = Order.objects.get(pk=created.order_id)
    assert (order.status_id, order.version, order.updated_by) == ("canceled", 2, None)
    rows = OrderChange.objects.filter(order=order)
    assert {(row.field, row.store_id, row.actor_id) for row in rows} == {
        ("status", shopify.pk, None),
        ("customer_phone", shopify.pk, None),
    }
    sentences = [entry.text for entry in order_timeline(order.pk)]
    assert any(
        text.startswith("Shopify changed") and "status: Pending → Canceled" in text for text in sentences
    )


def test_the_same_copy_again_changes_nothing(shopify, incoming):
    store_order_apply(store=shopify, incoming=incoming, via="webhook")
    result = store_order_apply(store=shopify, incoming=incoming, via="replay")
    assert result.outcome == Outcome.UNCHANGED
    assert Order.objects.get().version == 1


def test_a_pair_out_of_order_leaves_the_newer_copy(shopify, incoming):
    newer = later(incoming, store_status="paid", payment_status="paid")
    store_order_apply(store=shopify, incoming=newer, via="webhook")

    result = store_order_apply(store=shopify, incoming=incoming, via="webhook")  # delivered late

    assert result.outcome == Outcome.STALE
    order = Order.objects.get()
    assert (order.status_id, order.payment_status, order.version) == ("processing", "paid", 1)
    assert order.store_updated_at == newer.updated_at


def test_lines_are_replaced_by_the_stores_lines(shopify, incoming):
    store_order_apply(store=shopify, incoming=incoming, via="webhook")
    one_line = later(incoming, lines=incoming.lines[:1])

    result = store_order_apply(store=shopify, incoming=one_line, via="webhook")

    assert result.fields == ("lines",)
    assert list(OrderLine.objects.values_list("sku", flat=True)) == ["IPOD2008GREEN"]


def test_a_held_order_is_changed_by_the_store_the_hold_stays_and_the_holder_is_notified(
    shopify, incoming, operator
):
    order_id = store_order_apply(store=shopify, incoming=incoming, via="webhook").order_id
    orders_assign(actor=operator, order_ids=[order_id])
    loaded_version = Order.objects.get(pk=order_id).version

    store_order_apply(store=shopify, incoming=later(incoming, customer_phone="+1 555 0100"), via="webhook")

    assert Assignment.objects.get(order_id=order_id).operator == operator
    notification = Notification.objects.get(recipient=operator, order_id=order_id)
    assert "Shopify" in notification.detail
    # The form the holder loaded before the store's change is refused as stale, and saves nothing.
    with pytest.raises(OrderStale, match="#1001 was changed by Shopify after you opened it"):
        order_update(
            actor=operator, order_id=order_id, version=loaded_version, changes={"customer_name": "Someone"}
        )
    assert Order.objects.get(pk=order_id).customer_name == incoming.customer_name
    # What the open page's poll says changed since it was loaded names the store.
    changes = changes_since(Order.objects.get(pk=order_id), loaded_version)
    assert [(change.field, change.store_name, change.actor) for change in changes] == [
        ("customer_phone", "Shopify", None)
    ]


def test_a_final_status_from_the_store_ends_the_hold_by_the_store(shopify, incoming, operator):
    order_id = store_order_apply(store=shopify, incoming=incoming, via="webhook").order_id
    orders_assign(actor=operator, order_ids=[order_id])

    store_order_apply(store=shopify, incoming=later(incoming, store_status="cancelled"), via="webhook")

    assert not Assignment.objects.filter(order_id=order_id).exists()
    entry = AssignmentLog.objects.get(order_id=order_id, action=AssignmentLog.Action.AUTO_RELEASED)
    assert (entry.store, entry.actor, entry.operator) == (shopify, None, operator)
    sentences = [item.text for item in order_timeline(order_id)]
    assert (
        f"{operator.get_full_name() or operator.get_username()}'s hold was auto-released by Shopify"
        in sentences
    )


def test_an_unmapped_status_is_refused_with_the_order_and_the_status_and_writes_nothing(shopify, incoming):
    with pytest.raises(UnmappedStatus, match=r"Shopify order #1001: the store's status 'on_the_moon'"):
        store_order_apply(store=shopify, incoming=later(incoming, store_status="on_the_moon"), via="webhook")
    assert not Order.objects.exists()


def test_a_deletion_keeps_the_order_with_the_status_the_map_names_for_deleted(shopify, incoming):
    order_id = store_order_apply(store=shopify, incoming=incoming, via="webhook").order_id
    shopify.status_map["deleted"] = "closed"
    shopify.save()
    deletion = later(incoming, deleted=True, number="", customer_name="", lines=())

    result = store_order_apply(store=shopify, incoming=deletion, via="webhook")

    order = Order.objects.get(pk=order_id)
    assert result.outcome == Outcome.UPDATED and result.fields == ("status",)
    assert (order.status_id, order.number, order.customer_name) == ("closed", "1001", incoming.customer_name)
    assert OrderLine.objects.filter(order=order).count() == 3


def test_two_stores_may_both_have_order_1001(db, incoming):
    first, second = StoreFactory(), StoreFactory()
    a = store_order_apply(store=first, incoming=incoming, via="webhook")
    b = store_order_apply(store=second, incoming=incoming, via="webhook")
    assert a.order_id != b.order_id
    assert set(Order.objects.values_list("number", flat=True)) == {"1001"}


def test_another_order_of_the_store_with_the_same_number_is_refused_naming_it(shopify, incoming):
    store_order_apply(store=shopify, incoming=incoming, via="webhook")
    other = dataclasses.replace(incoming, external_id="999")
    with pytest.raises(PayloadError, match="#1001"):
        store_order_apply(store=shopify, incoming=other, via="webhook")
    assert Order.objects.count() == 1


def test_an_invalid_value_from_the_store_is_refused_naming_the_order(shopify, incoming):
    from orders.results import RequestRefused

    with pytest.raises(RequestRefused, match=r"Shopify order #1001 was not saved: customer email"):
        store_order_apply(
            store=shopify, incoming=later(incoming, customer_email="not an email"), via="webhook"
        )
    assert not Order.objects.exists()


def test_an_order_without_a_customer_is_kept_as_the_store_sends_it(shopify, incoming):
    draft = dataclasses.replace(incoming, customer_name="", customer_email="", shipping_name="")
    result = store_order_apply(store=shopify, incoming=draft, via="file")
    assert Order.objects.get(pk=result.order_id).customer_name == ""


def test_the_search_finds_a_store_order_by_the_phone_as_dictated_after_create_and_update(shopify, incoming):
    from orders.search_text import search_text_of
    from orders.selectors import orders_search

    phoned = dataclasses.replace(incoming, customer_phone="+359 88 306 5614")
    created = store_order_apply(store=shopify, incoming=phoned, via="webhook")
    order = Order.objects.get(pk=created.order_id)
    assert list(orders_search(Order.objects.all(), "0883065614")) == [order]

    store_order_apply(store=shopify, incoming=later(incoming, customer_phone="0888 123 456"), via="poll")

    order.refresh_from_db()
    assert order.search.text == search_text_of(order)
    assert list(orders_search(Order.objects.all(), "00359888123456")) == [order]
    assert not orders_search(Order.objects.all(), "0883065614").exists()


# --- many orders at once (a poll's page): store_orders_apply ---


def one_by_one_and_together(store_a, store_b, incomings):
    """The same orders applied one by one (store_order_apply) to store_a and together to store_b."""
    from stores.services import store_orders_apply

    alone = []
    for order in incomings:
        try:
            alone.append(store_order_apply(store=store_a, incoming=order, via="poll"))
        except Exception as error:
            alone.append(error)
    together = store_orders_apply(store=store_b, incomings=incomings, via="poll").results
    return alone, together


def orders_as_kept(store):
    return [
        (
            order.external_id,
            order.number,
            order.status_id,
            order.version,
            order.store_updated_at,
            order.grand_total,
            [(line.sku, line.qty, line.unit_price, line.line_total) for line in order.lines.order_by("id")],
            sorted(order.changes.values_list("version", "field", "old_value", "new_value")),
        )
        for order in Order.objects.filter(store=store).order_by("external_id")
    ]


def test_a_page_applied_together_ends_as_one_by_one(db, incoming):
    store_a = StoreFactory(platform="shopify", name="Shopify", slug="one-by-one")
    store_b = StoreFactory(platform="shopify", name="Shopify", slug="together")
    store_order_apply(store=store_a, incoming=incoming, via="poll")
    store_order_apply(store=store_b, incoming=incoming, via="poll")
    second = dataclasses.replace(incoming, external_id="2", number="#1002")
    page = [
        later(incoming, store_status="paid"),  # known: updated
        dataclasses.replace(incoming, updated_at=incoming.updated_at - timedelta(hours=1)),  # known: stale
        second,  # new
        later(second, store_status="cancelled"),  # the same new order again, changed: created, then updated
        dataclasses.replace(incoming, external_id="3", number="#1003", store_status="no-such-status"),
        dataclasses.replace(incoming, external_id="4", number="#1004", customer_email="not an email"),
        dataclasses.replace(incoming, external_id="5", number="#1005"),  # new
    ]
    alone, together = one_by_one_and_together(store_a, store_b, page)
    assert [getattr(result, "outcome", type(result).__name__) for result in together] == [
        Outcome.UPDATED,
        Outcome.STALE,
        Outcome.CREATED,
        Outcome.UPDATED,
        "UnmappedStatus",
        "RequestRefused",
        Outcome.CREATED,
    ]
    assert [getattr(r, "outcome", str(r)) for r in alone] == [getattr(r, "outcome", str(r)) for r in together]
    assert orders_as_kept(store_a) == orders_as_kept(store_b)
