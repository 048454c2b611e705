"""The throttles with Redis as the cache (REDIS_URL set: settings.py then counts the API throttle there),
against a real Redis: TEST_REDIS_URL, redis://127.0.0.1:6379/5 unless set. Skipped where no Redis answers,
except in CI (CI=true), which has one: there a Redis that does not answer fails these tests."""

import os
import uuid

import pytest
import redis
from django.core.cache import caches
from django.test import Client

from api.models import ThrottleCount
from operators.models import LoginFailure
from tests.api.test_shared_throttle import key_client
from tests.factories import TEST_PASSWORD, OperatorFactory
from tests.operators.test_races import run_together

TEST_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/5")


@pytest.fixture
def redis_cache(settings):
    """The default cache in Redis, under a key prefix of this test's own (deleted after it), and the API
    throttle counting there as a default install with REDIS_URL does. Yields the prefix."""
    client = redis.Redis.from_url(TEST_REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.RedisError as error:
        message = f"Redis at {TEST_REDIS_URL} (TEST_REDIS_URL) does not answer ({error})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{message}. CI has Redis: the throttle's Redis tests must run there.")
        pytest.skip(message)
    prefix = f"orderops-tests-{uuid.uuid4().hex[:12]}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": TEST_REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    settings.ORDEROPS_API = {"THROTTLE_RATE": "3/min", "THROTTLE_STORE": "cache"}
    yield prefix
    for key in client.scan_iter(match=f"{prefix}:*"):
        client.delete(key)
    client.close()


def redis_counts(prefix: str) -> dict[str, int]:
    """The throttle's counters as Redis holds them, read through a connection of another worker's."""
    other_worker = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        return {
            key.decode(): int(other_worker.get(key))
            for key in other_worker.scan_iter(match=f"{prefix}:*orderops:api:throttle:*")
        }
    finally:
        other_worker.close()


@pytest.mark.django_db
def test_the_api_rate_is_counted_in_redis(operator, redis_cache):
    api = key_client(operator)
    assert [api.get("/api/v1/statuses/").status_code for _ in range(4)] == [200, 200, 200, 429]
    assert list(redis_counts(redis_cache).values()) == [4]
    assert not ThrottleCount.objects.exists()


@pytest.mark.django_db
def test_a_worker_with_a_new_redis_connection_counts_on(operator, redis_cache):
    """Another worker has its own connection to Redis: the key's allowance is not renewed by it."""
    api = key_client(operator)
    assert [api.get("/api/v1/statuses/").status_code for _ in range(3)] == [200, 200, 200]
    caches.close_all()
    del caches["default"]  # this thread's next request opens a new client, as another process would
    assert api.get("/api/v1/statuses/").status_code == 429


@pytest.mark.django_db
def test_the_counter_ends_with_its_window(operator, redis_cache):
    key_client(operator).get("/api/v1/statuses/")
    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        (key,) = redis_counts(redis_cache)
        assert 0 < client.ttl(key) <= 61  # the window (a minute) and a second
    finally:
        client.close()


@pytest.mark.django_db
def test_a_counter_that_expires_during_its_increment_still_ends(operator, redis_cache, monkeypatch):
    """Django's incr checks that the key exists, then INCRs; a key expiring in between is made again by INCR,
    with no expiry unless the throttle sets one."""
    from django.core.cache.backends.redis import RedisCacheClient

    def incr_across_the_expiry(self, key, delta):
        client = self.get_client(key, write=True)
        if not client.exists(key):
            raise ValueError(f"Key {key!r} not found.")
        client.delete(key)  # the window's key expires right here
        return client.incr(key, delta)

    monkeypatch.setattr(RedisCacheClient, "incr", incr_across_the_expiry)
    key_client(operator).get("/api/v1/statuses/")
    client = redis.Redis.from_url(TEST_REDIS_URL)
    try:
        (key,) = redis_counts(redis_cache)
        assert 0 < client.ttl(key) <= 61
    finally:
        client.close()


@pytest.mark.django_db
def test_failed_logins_stay_in_the_database_with_redis(operator, redis_cache):
    """The login throttle never counts in the cache: emptying Redis does not lift a lockout."""
    client = Client()
    for _ in range(10):
        client.post("/admin/login/", {"username": "anna", "password": "wrong"}, REMOTE_ADDR="198.51.100.7")
    caches["default"].clear()
    response = client.post("/admin/login/", {"username": "anna", "password": TEST_PASSWORD})
    assert "Too many failed logins for anna" in response.content.decode()
    assert LoginFailure.objects.filter(username="anna").count() == 10


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_workers_counting_in_redis_at_once_let_exactly_the_rate_through(roles, redis_cache, settings):
    """Eight connections to Redis, two requests each, at once: INCR counts every one, so exactly five pass."""
    settings.ORDEROPS_API = {"THROTTLE_RATE": "5/min", "THROTTLE_STORE": "cache"}
    api = key_client(OperatorFactory(username="burst"), raise_request_exception=False)

    def worker(barrier):
        first = api.get("/api/v1/statuses/").status_code
        barrier.wait(timeout=30)
        return [first, api.get("/api/v1/statuses/").status_code]

    results = run_together([worker] * 8)
    codes = [code for pair in results for code in pair]  # type: ignore[attr-defined]
    assert (codes.count(200), codes.count(429)) == (5, 11)
    assert list(redis_counts(redis_cache).values()) == [16]
