"""The API throttle is shared by every worker of a default install (issue 26, finding 9): counted in the
database, not in each process's memory, and atomically, so that workers counting at once both count."""

import pytest
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from api.keys import api_key_create
from api.models import ThrottleCount
from tests.factories import OperatorFactory
from tests.operators.test_races import run_together


def key_client(user, **kwargs) -> APIClient:
    client = APIClient(**kwargs)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(user=user, name='sync').secret}")
    return client


@pytest.mark.django_db
@override_settings(ORDEROPS_API={"THROTTLE_RATE": "3/min"})
def test_the_count_is_not_in_one_process_memory(operator):
    """Another worker has another memory: emptying this one's cache must not give the key a new allowance."""
    api = key_client(operator)
    assert [api.get("/api/v1/statuses/").status_code for _ in range(3)] == [200, 200, 200]
    cache.clear()  # what a second worker process sees of the first one's local cache
    assert api.get("/api/v1/statuses/").status_code == 429
    assert ThrottleCount.objects.get().count == 4


@pytest.mark.django_db
@override_settings(ORDEROPS_API={"THROTTLE_RATE": "3/min"})
def test_the_windows_that_are_over_are_deleted(operator):
    ThrottleCount.objects.create(
        key="orderops:api:throttle:key:0:60:1", count=9, expires_at="2000-01-01T00:00Z"
    )
    key_client(operator).get("/api/v1/statuses/")
    assert list(ThrottleCount.objects.values_list("count", flat=True)) == [1]


@pytest.mark.django_db
@override_settings(ORDEROPS_API={"THROTTLE_RATE": "3/min", "THROTTLE_STORE": "cache"})
def test_the_cache_store_counts_in_the_cache(operator):
    api = key_client(operator)
    assert [api.get("/api/v1/statuses/").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert not ThrottleCount.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@override_settings(ORDEROPS_API={"THROTTLE_RATE": "5/min"})
def test_workers_counting_at_once_let_exactly_the_rate_through(roles):
    """Eight connections, two requests each, at once: the upsert counts every one, so exactly five pass."""
    api = key_client(OperatorFactory(username="burst"), raise_request_exception=False)

    def worker(barrier):
        first = api.get("/api/v1/statuses/").status_code
        barrier.wait(timeout=30)
        return [first, api.get("/api/v1/statuses/").status_code]

    results = run_together([worker] * 8)
    codes = [code for pair in results for code in pair]  # type: ignore[attr-defined]
    assert sorted(codes).count(200) == 5 and codes.count(429) == 11
