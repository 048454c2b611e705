"""Throttling per API key (per user for the session): a fixed window counted where every worker sees the same
count. By default that is the database (api.ThrottleCount, one upsert per request), so a default install needs
no Redis; ORDEROPS_API["THROTTLE_STORE"] = "cache" counts in the default cache instead, which is right only
when that cache is shared (Redis: settings.py chooses it when REDIS_URL is set). Every response says where the
client stands: RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset."""

import time
from datetime import UTC, datetime

from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from rest_framework.throttling import BaseThrottle

from api.conf import api_setting
from api.models import ThrottleCount

PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def rate_parse(rate: str) -> tuple[int, int]:
    """ "600/min" as (600 requests, 60 seconds)."""
    count, _slash, period = rate.partition("/")
    return int(count), PERIODS[period.strip()]


def count_in_database(key: str, expires_at: float) -> int:
    """Count one request under `key` and return the count so far: one INSERT … ON CONFLICT DO UPDATE …
    RETURNING (PostgreSQL, and SQLite from 3.35), so two workers counting at once both count."""
    table = connection.ops.quote_name(ThrottleCount._meta.db_table)
    key_column, count_column, expires_column = (
        connection.ops.quote_name(name) for name in ("key", "count", "expires_at")
    )
    expires = datetime.fromtimestamp(expires_at, tz=UTC)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({key_column}, {count_column}, {expires_column}) VALUES (%s, 1, %s) "
            f"ON CONFLICT ({key_column}) DO UPDATE SET {count_column} = {table}.{count_column} + 1 "
            f"RETURNING {count_column}",
            [key, connection.ops.adapt_datetimefield_value(expires)],
        )
        (count,) = cursor.fetchone()
    if count == 1:  # a key's first request of a window deletes the windows that are over, all keys'
        ThrottleCount.objects.filter(expires_at__lt=timezone.now()).delete()
    return int(count)


def count_in_cache(key: str, timeout: int) -> int:
    cache.add(key, 0, timeout=timeout)
    try:
        count = cache.incr(key)
    except ValueError:  # the entry expired between add and incr
        cache.add(key, 1, timeout=timeout)
        return 1
    if count == 1:
        # Django's Redis incr checks that the key exists, then INCRs: a key that expired in between is made
        # again by INCR with no expiry, and would stay in Redis for good. A window's first count sets it.
        cache.touch(key, timeout)
    return count


class ApiKeyRateThrottle(BaseThrottle):
    def allow_request(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return True  # refused as unauthenticated anyway
        api_key = request.auth if getattr(request.auth, "prefix", None) else None
        ident = f"key:{api_key.pk}" if api_key is not None else f"user:{user.pk}"
        limit, period = rate_parse(api_setting("THROTTLE_RATE"))
        now = time.time()
        window = int(now // period)
        key = f"orderops:api:throttle:{ident}:{period}:{window}"
        if api_setting("THROTTLE_STORE") == "cache":
            count = count_in_cache(key, period + 1)
        else:
            count = count_in_database(key, (window + 1) * period)
        self.reset = max(int((window + 1) * period - now), 1)
        request.ratelimit = (limit, max(limit - count, 0), self.reset)
        return count <= limit

    def wait(self) -> float:
        return self.reset
