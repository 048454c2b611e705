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
