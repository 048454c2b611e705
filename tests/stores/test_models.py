"""Stores, their settings and addresses, and orders numbered per store."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from orders.models import Order
from stores.conf import check_stores_settings, stores_setting
from stores.models import DEFAULT_STATUS_MAPS, Platform, Store, base_url_validate
from tests.factories import OrderFactory, StoreFactory


@pytest.mark.parametrize("platform", [choice.value for choice in Platform])
def test_a_new_store_starts_with_its_platforms_status_map(db, platform):
    store = Store.objects.create(
        slug=f"s-{platform}", platform=platform, name="S", base_url="https://s.example"
    )
    assert store.status_map == DEFAULT_STATUS_MAPS[platform]
    assert store.status_map["deleted"] == "canceled"


def test_every_default_status_map_names_existing_order_statuses(db):
    from stores.forms import status_map_errors

    for status_map in DEFAULT_STATUS_MAPS.values():
        assert status_map_errors(status_map) == []


@pytest.mark.parametrize(
    "url", ["https://shop.example.com", "http://localhost:8001", "http://127.0.0.1:9000", "http://[::1]:80/"]
)
def test_a_store_address_is_https_or_this_machine(url):
    base_url_validate(url)


@pytest.mark.parametrize(
    "url", ["http://shop.example.com", "ftp://shop.example.com", "shop.example.com", "https://"]
)
def test_any_other_store_address_is_refused(url):
    with pytest.raises(ValidationError):
        base_url_validate(url)


def test_a_stores_repr_never_shows_its_secrets(db):
    store = StoreFactory(webhook_secret="s3cr3t-hook", access_token="shpat_token")
    assert "s3cr3t" not in repr(store) and "shpat" not in repr(store) and "s3cr3t" not in str(store)


@pytest.mark.parametrize(
    ("platform", "url"),
    [
        ("shopify", "https://shop.example.com/admin/orders/450789469"),
        ("woocommerce", "https://shop.example.com/wp-admin/post.php?post=450789469&action=edit"),
        ("magento", "https://shop.example.com/admin/sales/order/view/order_id/450789469/"),
    ],
)
def test_the_orders_page_in_the_stores_own_admin(db, platform, url):
    store = StoreFactory(platform=platform, base_url="https://shop.example.com/")
    assert store.order_admin_url("450789469") == url


def test_the_webhook_address_is_the_slugs_under_the_configured_base(db, settings):
    store = StoreFactory(slug="acme")
    assert store.webhook_url == "/hooks/acme/"
    settings.ORDEROPS_STORES = {"WEBHOOK_BASE_URL": "https://orders.example.com/"}
    assert store.webhook_url == "https://orders.example.com/hooks/acme/"


def test_two_stores_may_both_have_1001_but_one_store_only_once(db):
    first, second = StoreFactory(), StoreFactory()
    OrderFactory(number="1001", store=first, external_id="1")
    OrderFactory(number="1001", store=second, external_id="1")
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderFactory(number="1001", store=first, external_id="2")


def test_orders_from_no_store_keep_their_number_unique(db):
    OrderFactory(number="100042")
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderFactory(number="100042")


def test_one_stores_ids_are_unique_and_orders_without_one_are_many(db):
    store = StoreFactory()
    OrderFactory(store=store, external_id="77")
    OrderFactory(store=store, external_id="")
    OrderFactory(store=store, external_id="")
    with pytest.raises(IntegrityError), transaction.atomic():
        OrderFactory(store=store, external_id="77")
    assert Order.objects.filter(store=store).count() == 3


def test_settings_have_documented_defaults(settings):
    settings.ORDEROPS_STORES = {}
    assert stores_setting("MAX_BODY_BYTES") == 2 * 1024 * 1024
    with pytest.raises(KeyError):
        stores_setting("NO_SUCH_KEY")


@pytest.mark.parametrize(
    "value",
    [
        {"MAX_BODY_BYTES": 0},
        {"MAX_BODY_BYTES": "2MB"},
        {"PAGE_SIZE": 1000},
        {"NOPE": 1},
        {"WEBHOOK_BASE_URL": "x"},
        {"RETRY_BASE": 0},
        {"MAX_ATTEMPTS": 0},
        {"LEASE": 30, "HTTP_TIMEOUT": 10},  # four calls of 10 s may outlast the lease
    ],
)
def test_the_system_check_refuses_bad_store_settings(settings, value):
    settings.ORDEROPS_STORES = value
    errors = check_stores_settings()
    assert len(errors) == 1 and "ORDEROPS_STORES" in errors[0].msg


def test_the_system_check_accepts_good_store_settings(settings):
    settings.ORDEROPS_STORES = {"MAX_BODY_BYTES": 65536, "WEBHOOK_BASE_URL": "https://orders.example.com"}
    assert check_stores_settings() == []
