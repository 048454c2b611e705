"""Fixtures of the stores' tests: the local fake store (tests/stores/fake_store.py), one per test."""

import pytest

from tests.stores.fake_store import FakeStore


@pytest.fixture
def fake_store():
    """A fake Shopify, WooCommerce and Magento store on 127.0.0.1 (an unused port), empty until a test adds
    orders (`add_many`), stopped after the test."""
    store = FakeStore().start()
    yield store
    store.stop()


@pytest.fixture
def polled_store(fake_store, db):
    """polled_store("woocommerce", slug=...): a connected store whose API is the fake store's."""
    from stores.models import Store
    from tests.stores import fake_store as fake

    def connect(platform: str, **fields):
        credentials = {
            "woocommerce": {"api_key": fake.WOO_KEY, "api_secret": fake.WOO_SECRET},
            "magento": {"access_token": fake.MAGENTO_TOKEN},
            "shopify": {"access_token": fake.SHOPIFY_TOKEN},
        }[platform]
        values = {
            "slug": f"fake-{platform}",
            "name": {"woocommerce": "WooCommerce", "magento": "Magento", "shopify": "Shopify"}[platform],
            "platform": platform,
            "base_url": fake_store.url,
            "webhook_secret": "fake-webhook-secret",
            **credentials,
            **fields,
        }
        return Store.objects.create(**values)

    return connect
