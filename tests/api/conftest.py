"""API clients that authenticate with a key of their own user."""

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from api.keys import api_key_create


@pytest.fixture(autouse=True)
def throttle_counters_cleared():
    cache.clear()
    yield
    cache.clear()


def client_for(user) -> APIClient:
    """An API client whose requests carry a fresh key of `user`."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(user=user, name='tests').secret}")
    return client


@pytest.fixture
def api_for(db):
    return client_for
