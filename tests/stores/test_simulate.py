"""store_simulate and seed_demo_stores: what a newcomer runs to see orders arrive from the demo's stores."""

import socket
from io import StringIO
from unittest import mock

import pytest
from django.core.management import CommandError, call_command

from orders.models import Order
from stores.models import Delivery, Store


def simulate(*arguments: str) -> str:
    out = StringIO()
    call_command("store_simulate", *arguments, "--interval", "0", stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def demo_stores(db):
    call_command("seed_demo_stores", stdout=StringIO())
    return {store.platform: store for store in Store.objects.all()}


def test_seed_demo_stores_connects_one_store_per_platform_each_with_orders_and_runs_again_safely(demo_stores):
    assert set(demo_stores) == {"shopify", "woocommerce", "magento"}
    assert all(store.orders.count() == 3 for store in demo_stores.values())
    versions = dict(Order.objects.values_list("pk", "version"))
    call_command("seed_demo_stores", stdout=StringIO())
    assert Store.objects.count() == 3 and dict(Order.objects.values_list("pk", "version")) == versions


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("platform", ["shopify", "woocommerce"])
def test_store_simulate_sends_signed_deliveries_that_the_running_console_applies(live_server, platform):
    call_command("seed_demo_stores", stdout=StringIO())
    store = Store.objects.get(platform=platform)
    before = store.orders.count()
    output = simulate("--store", store.slug, "--orders", "3", "--url", live_server.url)
    assert output.count("-> 200") == 3, output
    assert store.orders.count() == before + 3
    assert Delivery.objects.filter(store=store, state="applied").count() == 3
    # New orders, with the fixture's lines and the generated customers.
    newest = store.orders.order_by("-pk").first()
    assert newest.lines.count() >= 2 and newest.customer_name


@pytest.mark.django_db(transaction=True)
def test_store_simulate_numbers_go_on_from_the_stores_highest(live_server):
    call_command("seed_demo_stores", stdout=StringIO())
    store = Store.objects.get(platform="woocommerce")
    simulate("--store", store.slug, "--orders", "2", "--url", live_server.url)
    simulate("--store", store.slug, "--orders", "2", "--url", live_server.url)
    assert store.orders.count() == 3 + 4


def test_store_simulate_applies_magento_orders_as_a_poll_would(demo_stores):
    output = simulate("--store", "demo-magento", "--orders", "2")
    assert output.count("created as a poll would apply it") == 2
    assert demo_stores["magento"].orders.count() == 5


@pytest.mark.django_db(transaction=True)
def test_store_simulate_fails_when_the_console_refuses_the_signature(live_server):
    call_command("seed_demo_stores", stdout=StringIO())
    store = Store.objects.get(platform="shopify")
    # The simulator signs with a secret the console no longer holds: the console answers 401.
    store.webhook_secret = "an-old-secret"
    with (
        mock.patch("stores.management.commands.store_simulate.Command.store", return_value=store),
        pytest.raises(CommandError, match="1 of 1 orders were not taken"),
    ):
        simulate("--store", store.slug, "--orders", "1", "--url", live_server.url)
    assert store.orders.count() == 3 and not Delivery.objects.filter(store=store).exists()


def test_store_simulate_says_where_it_looked_when_no_console_answers(demo_stores):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed once the block ends: nothing listens there
    with pytest.raises(CommandError, match=rf"127.0.0.1:{port}/hooks/demo-shopify/ did not answer.*--url"):
        simulate("--store", "demo-shopify", "--orders", "1", "--url", f"http://127.0.0.1:{port}")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--store", "nowhere"], "No store nowhere"),
        (["--store", "demo-shopify", "--orders", "0"], "--orders must be at least 1"),
    ],
)
def test_store_simulate_refuses_bad_arguments(demo_stores, arguments, message):
    with pytest.raises(CommandError, match=message):
        simulate(*arguments)


def test_store_simulate_refuses_a_store_without_a_webhook_secret(demo_stores):
    Store.objects.filter(slug="demo-woocommerce").update(webhook_secret="")
    with pytest.raises(CommandError, match="no webhook secret"):
        simulate("--store", "demo-woocommerce")
