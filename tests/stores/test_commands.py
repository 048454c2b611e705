"""store_connect, store_disconnect and replay_deliveries."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from orders.models import Order
from stores.models import Delivery, Store
from stores.signatures import signature_for
from tests.factories import StoreFactory

# The platforms' real payloads, byte-exact copies (stores/fixtures/SOURCES.md).
FIXTURES = Path(__file__).resolve().parents[2] / "stores" / "fixtures"

SECRET = "hush-webhook-secret"


def run(*args) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_store_connect_creates_a_store_and_prints_its_webhook_address_never_its_secrets(db):
    out, err = run(
        "store_connect",
        "--platform",
        "shopify",
        "--slug",
        "acme",
        "--name",
        "Acme Shopify",
        "--url",
        "https://acme.myshopify.com",
        "--webhook-secret",
        "whsec-123",
        "--access-token",
        "shpat_456",
    )
    store = Store.objects.get(slug="acme")
    assert (store.platform, store.name, store.webhook_secret, store.access_token) == (
        "shopify",
        "Acme Shopify",
        "whsec-123",
        "shpat_456",
    )
    assert "/hooks/acme/" in out and "orders/create" in out
    assert "whsec-123" not in out + err and "shpat_456" not in out + err
    assert "webhook_secret, access_token" in out


def test_store_connect_updates_a_store_keeping_secrets_not_given(db):
    StoreFactory(slug="acme", platform="shopify", webhook_secret="old-secret", active=False)
    run(
        "store_connect",
        "--platform",
        "shopify",
        "--slug",
        "acme",
        "--name",
        "Renamed",
        "--url",
        "https://new.example",
    )
    store = Store.objects.get(slug="acme")
    assert (store.name, store.base_url, store.webhook_secret, store.active) == (
        "Renamed",
        "https://new.example",
        "old-secret",
        True,
    )


def test_store_connect_refuses_a_plain_http_address_and_saves_nothing(db):
    with pytest.raises(CommandError, match="must use https://"):
        run(
            "store_connect",
            "--platform",
            "woocommerce",
            "--slug",
            "woo",
            "--name",
            "W",
            "--url",
            "http://shop.example",
        )
    assert not Store.objects.exists()


def test_store_connect_for_magento_says_it_is_polled(db):
    out, _ = run(
        "store_connect",
        "--platform",
        "magento",
        "--slug",
        "mage",
        "--name",
        "M",
        "--url",
        "http://127.0.0.1:8080",
    )
    assert "sync_orders --store mage" in out and "/hooks/" not in out


def test_store_connect_warns_when_no_webhook_secret_is_set(db):
    _, err = run(
        "store_connect",
        "--platform",
        "woocommerce",
        "--slug",
        "woo",
        "--name",
        "W",
        "--url",
        "https://w.example",
    )
    assert "401" in err


def test_store_disconnect_sets_the_store_inactive_and_its_webhooks_are_refused(db, client):
    StoreFactory(slug="acme")
    out, _ = run("store_disconnect", "acme")
    assert "Disconnected" in out
    assert not Store.objects.get(slug="acme").active
    assert client.post("/hooks/acme/", b"{}", content_type="application/json").status_code == 404


def test_store_disconnect_of_an_unknown_store_is_an_error(db):
    with pytest.raises(CommandError, match="'nobody'"):
        run("store_disconnect", "nobody")


def post_woo(client, order: dict) -> None:
    body = json.dumps(order).encode()
    client.post(
        "/hooks/woo/",
        body,
        content_type="application/json",
        HTTP_X_WC_WEBHOOK_TOPIC="order.updated",
        HTTP_X_WC_WEBHOOK_SIGNATURE=signature_for(SECRET, body),
    )


def test_a_failed_delivery_is_replayed_after_its_cause_is_fixed(db, client):
    store = StoreFactory(slug="woo", platform="woocommerce", webhook_secret=SECRET)
    order = json.loads((FIXTURES / "woocommerce-order.json").read_text())
    post_woo(client, {**order, "status": "wc-packed"})
    assert Delivery.objects.get().state == "failed"

    with pytest.raises(CommandError, match="1 deliveries failed again"):
        run("replay_deliveries", "--failed")
    assert Delivery.objects.get().attempts == 2

    store.status_map["wc-packed"] = "processing"
    store.save()
    out, _ = run("replay_deliveries", "--store", "woo", "--failed")

    assert "1 applied" in out
    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.error, delivery.attempts) == ("applied", "", 3)
    assert Order.objects.get().status_id == "processing"
    assert "1 applied" not in run("replay_deliveries", "--failed")[0]  # nothing failed is left


def test_replaying_an_applied_delivery_changes_nothing_and_keeps_its_state(db, client):
    StoreFactory(slug="woo", platform="woocommerce", webhook_secret=SECRET)
    post_woo(client, json.loads((FIXTURES / "woocommerce-order.json").read_text()))
    out, _ = run("replay_deliveries", "--json")
    assert json.loads(out)["states"] == {"unchanged": 1}
    assert Delivery.objects.get().state == "applied"
    assert Order.objects.get().version == 1


def test_replay_deliveries_of_an_unknown_store_is_an_error(db):
    with pytest.raises(CommandError, match="'nobody'"):
        run("replay_deliveries", "--store", "nobody")


def test_purge_deliveries_deletes_old_ones_and_keeps_failed_and_recent_ones(db):
    from datetime import timedelta

    from django.utils import timezone

    store = StoreFactory()
    old = timezone.now() - timedelta(days=40)
    for index, state in enumerate(["applied", "stale", "failed", "ignored"]):
        Delivery.objects.create(store=store, key=f"old-{index}", state=state, body="{}", received_at=old)
    Delivery.objects.create(store=store, key="recent", state="applied", body="{}")

    dry, _ = run("purge_deliveries", "--dry-run")
    assert "Dry run: 3 deliveries" in dry and Delivery.objects.count() == 5

    out, _ = run("purge_deliveries", "--batch-size", "2")

    assert "Deleted 3 deliveries" in out and "2 batches" in out
    assert set(Delivery.objects.values_list("key", flat=True)) == {"old-2", "recent"}


def test_purge_deliveries_refuses_to_forget_deliveries_a_store_may_still_repeat(db):
    with pytest.raises(CommandError, match="shorter than 3d"):
        run("purge_deliveries", "--older-than", "1d")
