"""The stores admin (superusers only, secrets write-only, the status map validated, replay) and what the
console shows of an order's store."""

import json
from pathlib import Path

import pytest
from django.core.cache import cache
from django.urls import reverse

from orders.models import Order
from stores.models import Delivery, Store
from stores.platforms import order_mapping
from stores.services import store_order_apply
from tests.api.conftest import client_for
from tests.factories import StoreFactory

# The platforms' real payloads, byte-exact copies (stores/fixtures/SOURCES.md).
FIXTURES = Path(__file__).resolve().parents[2] / "stores" / "fixtures"

CHANGELIST = reverse("admin:stores_store_changelist")


@pytest.fixture(autouse=True)
def forget_cached_store_count():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def bulgarian():
    """Pages asked for in Bulgarian; the language the requests activated is undone afterwards, so that the
    next tests read English."""
    from django.utils import translation

    yield
    translation.deactivate()


def form_data(store: Store, **changes) -> dict:
    data = {
        "name": store.name,
        "slug": store.slug,
        "platform": store.platform,
        "base_url": store.base_url,
        "active": "on",
        "webhook_secret": "",
        "api_key": "",
        "api_secret": "",
        "access_token": "",
        "status_map": json.dumps(store.status_map),
    }
    data.update(changes)
    return data


def test_only_superusers_see_stores(client, supervisor):
    client.force_login(supervisor)
    assert client.get(CHANGELIST).status_code == 403
    assert client.get(reverse("admin:stores_delivery_changelist")).status_code == 403


def test_the_store_page_shows_the_webhook_address_and_never_a_secret(client, superuser):
    store = StoreFactory(slug="acme", webhook_secret="whsec-visible?", access_token="shpat-visible?")
    client.force_login(superuser)
    page = client.get(reverse("admin:stores_store_change", args=[store.pk])).content.decode()
    assert "/hooks/acme/" in page
    assert "whsec-visible" not in page and "shpat-visible" not in page


def test_a_secret_left_empty_keeps_its_value_and_a_new_one_replaces_it(client, superuser):
    store = StoreFactory(slug="acme", webhook_secret="old-secret", access_token="old-token")
    client.force_login(superuser)
    url = reverse("admin:stores_store_change", args=[store.pk])

    response = client.post(url, form_data(store, name="Renamed", access_token="new-token"))

    assert response.status_code == 302
    store.refresh_from_db()
    assert (store.name, store.webhook_secret, store.access_token) == ("Renamed", "old-secret", "new-token")


def test_a_status_map_naming_no_order_status_is_refused_and_nothing_saved(client, superuser):
    store = StoreFactory(slug="acme")
    client.force_login(superuser)
    bad_map = {**store.status_map, "paid": "shipped_to_moon"}

    response = client.post(
        reverse("admin:stores_store_change", args=[store.pk]),
        form_data(store, status_map=json.dumps(bad_map)),
    )

    assert response.status_code == 200
    assert "shipped_to_moon" in response.content.decode()
    assert Store.objects.get(pk=store.pk).status_map["paid"] == "processing"


def test_a_plain_http_store_address_is_refused(client, superuser):
    store = StoreFactory(slug="acme")
    client.force_login(superuser)
    response = client.post(
        reverse("admin:stores_store_change", args=[store.pk]),
        form_data(store, base_url="http://acme.example"),
    )
    assert response.status_code == 200
    assert Store.objects.get(pk=store.pk).base_url == store.base_url


def test_the_replay_button_replays_the_stores_failed_deliveries(client, superuser):
    store = StoreFactory(slug="woo", platform="woocommerce")
    body = json.loads((FIXTURES / "woocommerce-order.json").read_text())
    body["status"] = "wc-packed"
    Delivery.objects.create(
        store=store,
        key="order:727:x",
        topic="order.updated",
        state="failed",
        body=json.dumps(body),
        error="unmapped",
    )
    store.status_map["wc-packed"] = "on_hold"
    store.save()
    client.force_login(superuser)
    replay = reverse("admin:stores_store_replay", args=[store.pk])
    page = client.get(reverse("admin:stores_store_change", args=[store.pk])).content.decode()
    assert replay in page and "Replay 1 failed delivery" in page

    assert client.get(replay).status_code == 405
    assert Delivery.objects.get().state == "failed"  # a GET changes nothing

    response = client.post(replay)

    assert response.status_code == 302
    assert Delivery.objects.get().state == "applied"
    assert Order.objects.get().status_id == "on_hold"


def store_order(store: Store) -> Order:
    payload = json.loads((FIXTURES / "shopify-order.json").read_text())["order"]
    result = store_order_apply(store=store, incoming=order_mapping("shopify")(payload), via="file")
    return Order.objects.get(pk=result.order_id)


def test_the_order_page_links_to_the_order_in_the_store(client, superuser):
    order = store_order(
        StoreFactory(platform="shopify", name="Acme Shopify", base_url="https://acme.myshopify.com")
    )
    client.force_login(superuser)
    page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert 'href="https://acme.myshopify.com/admin/orders/450789469"' in page
    assert "Open in Shopify" in page
    assert "Free Shipping" in page  # what the store sent beside the order's own fields


def test_the_list_shows_the_store_once_orders_come_from_two_stores(client, superuser):
    store_order(StoreFactory(name="Acme Shopify"))
    client.force_login(superuser)
    assert "Acme Shopify" not in client.get(reverse("admin:orders_order_changelist")).content.decode()

    second = StoreFactory(name="Second Shopify")
    store_order(second)
    page = client.get(reverse("admin:orders_order_changelist")).content.decode()

    assert "Acme Shopify" in page and "Second Shopify" in page
    filtered = client.get(reverse("admin:orders_order_changelist"), {"store__id__exact": second.pk})
    assert [order.store for order in filtered.context["cl"].result_list] == [second]


def test_an_order_link_by_a_number_two_stores_share_lists_both(client, superuser):
    first, second = StoreFactory(slug="one"), StoreFactory(slug="two")
    store_order(first)
    store_order(second)
    client.force_login(superuser)
    url = reverse("admin:orders_order_by_number", args=["1001"])

    response = client.get(url)
    assert response.status_code == 302 and "?q=1001" in response["Location"]

    response = client.get(url, {"store": "two"})
    assert response["Location"] == reverse(
        "admin:orders_order_change", args=[Order.objects.get(store=second).pk]
    )


def test_the_api_asks_which_store_when_two_share_a_number(supervisor):
    first, second = StoreFactory(slug="one"), StoreFactory(slug="two")
    store_order(first)
    store_order(second)
    api = client_for(supervisor)

    ambiguous = api.get("/api/v1/orders/1001/")
    assert ambiguous.status_code == 409
    assert ambiguous.json()["code"] == "ambiguous_number"
    assert ambiguous.json()["stores"] == ["one", "two"]

    chosen = api.get("/api/v1/orders/1001/", {"store": "two"})
    assert chosen.status_code == 200
    assert chosen.json()["number"] == "1001"
    assert api.get("/api/v1/orders/1001/", {"store": ""}).status_code == 404  # no order from no store


def test_the_holders_form_opened_before_the_stores_change_is_refused_naming_the_store(client, operator):
    import dataclasses
    from datetime import timedelta

    from operators.services import orders_assign
    from tests.console.test_admin import change_url, messages_of
    from tests.console.test_stale_form import form_data

    store = StoreFactory(name="Acme Shopify")
    order = store_order(store)
    orders_assign(actor=operator, order_ids=[order.pk])
    client.force_login(operator)
    loaded = form_data(client, order)
    payload = json.loads((FIXTURES / "shopify-order.json").read_text())["order"]
    incoming = order_mapping("shopify")(payload)
    newer = dataclasses.replace(
        incoming, updated_at=incoming.updated_at + timedelta(hours=1), customer_phone="+1 555 0100"
    )
    store_order_apply(store=store, incoming=newer, via="webhook")

    refused = client.post(change_url(order), {**loaded, "customer_name": "Typed by the holder"})

    assert refused.status_code == 200
    assert [text for text in messages_of(refused) if "were not saved" in text] == [
        "Acme Shopify changed customer phone on #1001 just now. Your changes were not saved: check them and "
        "save again."
    ]
    current = Order.objects.get(pk=order.pk)
    assert (current.customer_name, current.customer_phone) == (incoming.customer_name, "+1 555 0100")


# --- the store's payment and fulfilment words, translated ---


def test_the_known_payment_and_fulfilment_words_have_labels_and_an_unknown_one_is_shown_as_sent():
    from django.utils import translation

    from stores.labels import fulfillment_status_label, payment_status_label

    with translation.override("bg"):
        assert payment_status_label("paid") == "Платено"
        assert payment_status_label("partially_refunded") == "Частично възстановено"
        assert fulfillment_status_label("partial") == "Частично изпратено"
        assert fulfillment_status_label("in_progress") == "Подготвя се за изпращане"
        assert payment_status_label("store_credit") == "store_credit"
        assert fulfillment_status_label("") == ""
    with translation.override("en"):
        assert payment_status_label("authorized") == "Authorised"


def test_the_order_page_and_the_list_show_the_stores_words_in_the_operators_language(
    client, superuser, bulgarian
):
    order = store_order(StoreFactory(platform="shopify", name="Acme Shopify"))
    assert (order.payment_status, order.fulfillment_status) == ("authorized", "unfulfilled")  # kept raw
    client.force_login(superuser)
    page = client.get(
        reverse("admin:orders_order_change", args=[order.pk]), HTTP_ACCEPT_LANGUAGE="bg"
    ).content.decode()
    assert "Авторизирано" in page and "Неизпратено" in page
    assert "authorized" not in page and ">unfulfilled<" not in page
    listed = client.get(reverse("admin:orders_order_changelist"), HTTP_ACCEPT_LANGUAGE="bg")
    assert "В магазина" in listed.content.decode()
    assert "Авторизирано · Неизпратено" in listed.content.decode()


def test_the_list_has_no_store_column_while_no_store_is_connected(client, superuser):
    from tests.factories import OrderFactory

    OrderFactory()
    client.force_login(superuser)
    page = client.get(reverse("admin:orders_order_changelist")).content.decode()
    assert "field-store_state" not in page and "In the store" not in page


def test_the_timeline_says_the_stores_payment_change_in_the_operators_words(client, superuser, bulgarian):
    import dataclasses
    from datetime import timedelta

    store = StoreFactory(platform="shopify", name="Acme Shopify")
    payload = json.loads((FIXTURES / "shopify-order.json").read_text())["order"]
    incoming = order_mapping("shopify")(payload)
    store_order_apply(store=store, incoming=incoming, via="poll")
    paid = dataclasses.replace(
        incoming, updated_at=incoming.updated_at + timedelta(hours=1), payment_status="paid"
    )
    result = store_order_apply(store=store, incoming=paid, via="poll")
    client.force_login(superuser)
    page = client.get(
        reverse("admin:orders_order_change", args=[result.order_id]), HTTP_ACCEPT_LANGUAGE="bg"
    ).content.decode()
    assert "Авторизирано → Платено" in page
