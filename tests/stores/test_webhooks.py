"""POST /hooks/<slug>/: signatures on the raw body, refusals that change nothing, the inbox, duplicates."""

import json
import logging
from pathlib import Path

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import Order
from stores import inbox
from stores.models import Delivery, Store
from stores.signatures import signature_for, signature_valid, woocommerce_key
from tests.factories import StoreFactory

# The platforms' real payloads and signature vectors, byte-exact copies (stores/fixtures/SOURCES.md).
FIXTURES = Path(__file__).resolve().parents[2] / "stores" / "fixtures"
SECRET = "hush-webhook-secret"


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def shopify_body(**changes) -> bytes:
    order = json.loads(fixture_bytes("shopify-order.json"))["order"]
    order.update(changes)
    return json.dumps(order).encode()


def woo_body(**changes) -> bytes:
    order = json.loads(fixture_bytes("woocommerce-order.json"))
    order.update(changes)
    return json.dumps(order).encode()


@pytest.fixture
def shopify(db):
    return StoreFactory(slug="acme", platform="shopify", name="Shopify", webhook_secret=SECRET)


@pytest.fixture
def woo(db):
    return StoreFactory(slug="woo", platform="woocommerce", name="WooCommerce", webhook_secret=SECRET)


def post_shopify(
    client, body: bytes, *, event_id="evt-1", topic="orders/updated", signature=None, slug="acme"
):
    headers = {
        "HTTP_X_SHOPIFY_TOPIC": topic,
        "HTTP_X_SHOPIFY_EVENT_ID": event_id,
        "HTTP_X_SHOPIFY_WEBHOOK_ID": f"wh-{event_id}",
        "HTTP_X_SHOPIFY_HMAC_SHA256": signature if signature is not None else signature_for(SECRET, body),
    }
    return client.post(f"/hooks/{slug}/", body, content_type="application/json", **headers)


def post_woo(client, body: bytes, *, topic="order.updated", delivery_id="54", signature=None):
    headers = {
        "HTTP_X_WC_WEBHOOK_TOPIC": topic,
        "HTTP_X_WC_WEBHOOK_ID": "142",
        "HTTP_X_WC_WEBHOOK_DELIVERY_ID": delivery_id,
        "HTTP_X_WC_WEBHOOK_SIGNATURE": signature if signature is not None else signature_for(SECRET, body),
    }
    return client.post("/hooks/woo/", body, content_type="application/json", **headers)


def nothing_stored() -> bool:
    return not Delivery.objects.exists() and not Order.objects.exists()


# --- the signature vectors ---


def test_shopify_hmac_vector():
    vector = json.loads(fixture_bytes("shopify-webhook-hmac-vector.json"))
    body = vector["body"].encode()
    assert signature_for(vector["secret"], body) == vector["expected"]
    assert signature_valid(vector["secret"], body, vector["expected"])
    assert not signature_valid(vector["secret"], body + b" ", vector["expected"])


def test_woocommerce_signature_vector_signs_the_payload_with_the_empty_default_secret():
    vector = json.loads(fixture_bytes("woocommerce-webhook-signature-vector.json"))
    assert signature_for(woocommerce_key(vector["secret"]), vector["body"].encode()) == vector["expected"]
    # An empty secret is never accepted on our side, whatever the header.
    assert not signature_valid("", vector["body"].encode(), vector["expected"])


def test_woocommerce_signs_with_its_secrets_special_characters_decoded():
    assert woocommerce_key("a&amp;b&lt;c&#039;") == "a&b<c'"


@pytest.mark.parametrize("header", [None, "", "not base64", signature_for("another secret", b"{}")])
def test_a_missing_or_wrong_signature_is_never_valid(header):
    assert not signature_valid(SECRET, b"{}", header)


# --- refusals change nothing ---


@pytest.mark.parametrize("signature", ["", "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g="])
def test_a_missing_or_wrong_signature_is_401_with_a_log_line_and_a_counter(
    client, shopify, signature, caplog
):
    with caplog.at_level(logging.WARNING, logger="orderops.stores"):
        response = post_shopify(client, shopify_body(), signature=signature)
    assert response.status_code == 401
    assert nothing_stored()
    store = Store.objects.get(pk=shopify.pk)
    assert store.signature_failures == 1 and store.last_signature_failure_at is not None
    assert store.last_delivery_at is None
    assert "acme" in caplog.text and "signature" in caplog.text
    assert SECRET not in caplog.text


def test_an_unsigned_delivery_is_401(client, shopify):
    body = shopify_body()
    response = client.post(
        "/hooks/acme/", body, content_type="application/json", HTTP_X_SHOPIFY_TOPIC="orders/create"
    )
    assert response.status_code == 401
    assert nothing_stored()


def test_an_unknown_store_is_404(client, shopify):
    assert post_shopify(client, shopify_body(), slug="nobody").status_code == 404
    assert nothing_stored()


def test_an_inactive_store_is_404(client, shopify):
    Store.objects.filter(pk=shopify.pk).update(active=False)
    assert post_shopify(client, shopify_body()).status_code == 404
    assert nothing_stored()


def test_a_magento_store_has_no_webhook_address(client, db):
    StoreFactory(slug="mage", platform="magento", webhook_secret=SECRET)
    body = json.dumps({"entity_id": 3}).encode()
    response = client.post(
        "/hooks/mage/",
        body,
        content_type="application/json",
        HTTP_X_SHOPIFY_HMAC_SHA256=signature_for(SECRET, body),
    )
    assert response.status_code == 404
    assert nothing_stored()


@pytest.mark.parametrize("method", ["get", "put", "delete", "patch"])
def test_not_post_is_405(client, shopify, method):
    response = getattr(client, method)("/hooks/acme/")
    assert response.status_code == 405
    assert response["Allow"] == "POST"
    assert nothing_stored()


def test_a_body_over_the_limit_is_413_and_not_read(client, shopify, settings):
    settings.ORDEROPS_STORES = {"MAX_BODY_BYTES": 1024}
    body = shopify_body(note="x" * 2000)
    response = post_shopify(client, body)
    assert response.status_code == 413
    assert nothing_stored()
    assert Store.objects.get(pk=shopify.pk).signature_failures == 0


def test_the_default_limit_is_two_mebibytes(client, shopify):
    body = b"{" + b" " * (2 * 1024 * 1024) + b"}"
    assert post_shopify(client, body).status_code == 413


def test_woocommerces_unsigned_ping_on_creation_is_200(client, woo):
    response = client.post("/hooks/woo/", "webhook_id=142", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 200
    assert nothing_stored()
    assert Store.objects.get(pk=woo.pk).signature_failures == 0


# --- signed deliveries ---


def test_a_signed_shopify_delivery_is_kept_and_applied_before_the_answer(
    client, shopify, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = post_shopify(client, shopify_body(), topic="orders/create")

    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert (delivery.key, delivery.topic, delivery.state) == ("event:evt-1", "orders/create", "applied")
    assert delivery.headers["webhook_id"] == "wh-evt-1"
    order = Order.objects.get()
    assert (delivery.order, delivery.order_number) == (order, "1001")
    assert (order.store, order.status_id) == (shopify, "pending")
    assert Store.objects.get(pk=shopify.pk).last_delivery_at is not None
    assert response.json()["state"] == "applied"


def test_a_signed_woocommerce_delivery_is_applied(client, woo):
    response = post_woo(client, woo_body())
    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert delivery.key == "order:727:2017-03-22T19:28:08"
    assert Order.objects.get().number == "727"


def test_shopify_repeats_one_event_and_it_is_applied_once(client, shopify):
    body = shopify_body()
    post_shopify(client, body)
    Order.objects.update(customer_name="Changed here meanwhile")

    second = post_shopify(client, body)

    assert second.status_code == 200 and second.json()["duplicate"] is True
    assert Delivery.objects.count() == 1
    assert Order.objects.get().customer_name == "Changed here meanwhile"


def test_woocommerce_deliveries_are_duplicates_by_order_and_modified_time_not_delivery_id(client, woo):
    body = woo_body()
    post_woo(client, body, delivery_id="54")
    same_change_another_id = post_woo(client, body, delivery_id="55", topic="order.created")
    assert same_change_another_id.json()["duplicate"] is True

    later = woo_body(date_modified_gmt="2017-03-22T19:30:00", status="completed")
    same_second_delivery_id = post_woo(client, later, delivery_id="54")

    assert same_second_delivery_id.json()["state"] == "applied"
    assert Delivery.objects.count() == 2
    assert Order.objects.get().status_id == "complete"


def test_an_older_delivery_is_kept_as_stale_and_changes_nothing(client, shopify):
    post_shopify(
        client, shopify_body(updated_at="2008-01-10T12:00:00-05:00", financial_status="paid"), event_id="2"
    )
    response = post_shopify(client, shopify_body(), event_id="1")  # updated 11:00, delivered late

    assert response.json()["state"] == "stale"
    assert Delivery.objects.get(key="event:1").state == "stale"
    order = Order.objects.get()
    assert (order.status_id, order.version) == ("processing", 1)


def test_an_unmapped_status_is_kept_failed_with_the_reason_and_answered_200(client, woo):
    response = post_woo(client, woo_body(status="wc-custom-packed"))

    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert delivery.state == "failed"
    assert "WooCommerce order #727" in delivery.error and "'wc-custom-packed'" in delivery.error
    assert delivery.body == woo_body(status="wc-custom-packed").decode()
    assert not Order.objects.exists()


@pytest.mark.parametrize("body", [b"not json", b"[1, 2]", json.dumps({"id": 5}).encode()])
def test_a_malformed_signed_body_is_kept_failed_and_answered_200(client, shopify, body):
    response = post_shopify(client, body)
    assert response.status_code == 200
    assert Delivery.objects.get().state == "failed"
    assert Delivery.objects.get().error
    assert not Order.objects.exists()


def test_a_bug_in_the_apply_rolls_back_its_effect_and_keeps_the_delivery_failed(client, shopify, monkeypatch):
    def broken(**kwargs):
        Order.objects.create(number="ghost", status_id="pending", customer_name="half-written")
        raise RuntimeError("a bug")

    monkeypatch.setattr(inbox, "store_order_apply_in_transaction", broken)
    response = post_shopify(client, shopify_body())

    assert response.status_code == 200
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.error) == ("failed", "RuntimeError: a bug")
    assert not Order.objects.exists()  # nothing partial


def test_a_failed_delivery_sent_again_by_the_store_is_tried_again(client, woo):
    post_woo(client, woo_body(status="wc-custom-packed"))
    Store.objects.filter(pk=woo.pk).update(status_map={**woo.status_map, "wc-custom-packed": "processing"})

    response = post_woo(client, woo_body(status="wc-custom-packed"))

    assert response.json()["state"] == "applied"
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.attempts, delivery.error) == ("applied", 2, "")


def test_a_topic_without_an_order_is_kept_and_ignored(client, shopify):
    response = post_shopify(client, b'{"id": 1, "title": "Snowboard"}', topic="products/update")
    assert response.json()["state"] == "ignored"
    assert Delivery.objects.get().state == "ignored"
    assert not Order.objects.exists()


def test_shopifys_orders_edited_names_only_the_edit_and_is_kept_ignored(client, shopify):
    body = json.dumps({"order_edit": {"id": 78912328, "order_id": 450789469, "line_items": {}}}).encode()
    response = post_shopify(client, body, topic="orders/edited")
    assert response.json()["state"] == "ignored"
    assert not Order.objects.exists()


def test_shopify_orders_delete_keeps_the_order_canceled(client, shopify):
    post_shopify(client, shopify_body(), event_id="1")
    response = post_shopify(client, b'{"id": 450789469}', event_id="2", topic="orders/delete")

    assert response.json()["state"] == "applied"
    order = Order.objects.get()
    assert (order.status_id, order.number, order.lines.count()) == ("canceled", "1001", 3)


def test_the_deletion_of_an_order_that_never_came_here_is_kept_ignored(client, shopify):
    response = post_shopify(client, b'{"id": 123}', topic="orders/delete")
    assert response.json()["state"] == "ignored"
    assert not Order.objects.exists()


def test_woocommerce_order_deleted_keeps_the_order_with_the_mapped_status(client, woo):
    Store.objects.filter(pk=woo.pk).update(status_map={**woo.status_map, "deleted": "closed"})
    post_woo(client, woo_body())
    post_woo(client, b'{"id": 727}', topic="order.deleted")
    assert Order.objects.get().status_id == "closed"


def test_one_delivery_of_a_known_order_costs_a_pinned_number_of_statements(
    client, shopify, django_assert_max_num_queries
):
    post_shopify(client, shopify_body(), event_id="1")
    changed = shopify_body(
        updated_at="2008-01-10T12:00:00-05:00", financial_status="paid", phone="+1 555 0100"
    )

    # The store; the transaction; the key claimed; the order locked, its status, its lines; the order
    # written, its search row (the phone changed), its history, the holder's notification; the delivery's
    # state. (After commit, at most once a second per store: the store's last delivery.)
    with CaptureQueriesContext(connection) as captured, django_assert_max_num_queries(12):
        response = post_shopify(client, changed, event_id="2")

    assert response.json()["state"] == "applied"
    assert any(query["sql"].startswith('INSERT INTO "orders_orderchange"') for query in captured)


def test_one_new_order_delivery_costs_a_pinned_number_of_statements(
    client, shopify, django_assert_max_num_queries
):
    # The store; the transaction; the key claimed; the order looked for; a savepoint (two deliveries creating
    # one order at once); its status; the order, its search row and its lines; the delivery's state.
    with django_assert_max_num_queries(12):
        response = post_shopify(client, shopify_body(), event_id="1")
    assert response.json()["state"] == "applied"


# --- a body without a Content-Length (Transfer-Encoding: chunked) ---


def post_without_length(body: bytes, headers: dict[str, str], *, slug="acme") -> tuple[int, bytes]:
    """POST through Django's WSGI handler as gunicorn passes a chunked request: no CONTENT_LENGTH, the
    Transfer-Encoding header, and the de-chunked body on wsgi.input (read in pieces, as a socket gives it)."""
    import io

    from django.core.handlers.wsgi import WSGIHandler
    from django.test import RequestFactory

    class Trickle(io.BytesIO):
        def read(self, size=-1):
            return super().read(min(size, 1000) if size and size > 0 else 1000)

    environ = RequestFactory()._base_environ(
        PATH_INFO=f"/hooks/{slug}/",
        REQUEST_METHOD="POST",
        CONTENT_TYPE="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
        **{"wsgi.input": Trickle(body)},
        **headers,
    )
    environ.pop("CONTENT_LENGTH", None)
    answered = {}

    def start_response(status, response_headers, exc_info=None):
        answered["status"] = int(status.split()[0])

    content = b"".join(WSGIHandler()(environ, start_response))
    return answered["status"], content


def shopify_headers(body: bytes, *, event_id="evt-chunked") -> dict[str, str]:
    return {
        "HTTP_X_SHOPIFY_TOPIC": "orders/create",
        "HTTP_X_SHOPIFY_EVENT_ID": event_id,
        "HTTP_X_SHOPIFY_HMAC_SHA256": signature_for(SECRET, body),
    }


@pytest.mark.django_db(transaction=True)
def test_a_chunked_delivery_without_content_length_is_verified_on_its_body_and_applied(shopify):
    body = shopify_body()
    status, content = post_without_length(body, shopify_headers(body))
    assert status == 200, content
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.APPLIED
    assert delivery.body.encode() == body
    assert Order.objects.filter(store=shopify).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_chunked_delivery_with_a_wrong_signature_is_401(shopify):
    body = shopify_body()
    status, _content = post_without_length(body, shopify_headers(shopify_body(note="other")))
    assert status == 401
    assert nothing_stored()
    assert Store.objects.get(pk=shopify.pk).signature_failures == 1


@pytest.mark.django_db(transaction=True)
def test_a_chunked_body_over_the_limit_is_413_and_read_no_further(shopify, settings):
    settings.ORDEROPS_STORES = {"MAX_BODY_BYTES": 4096}
    body = shopify_body(note="x" * 20000)
    status, _content = post_without_length(body, shopify_headers(body))
    assert status == 413
    assert nothing_stored()
    assert Store.objects.get(pk=shopify.pk).signature_failures == 0
