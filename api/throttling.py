"""Throttling per API key (per user for the session): a fixed window counted in the default cache, which is
Redis when REDIS_URL is set (shared by every process) and local memory otherwise (per process). Every
response says where the client stands: RateLimit-Limit, RateLimit-Remaining, RateLimit-Reset."""

import time

from django.core.cache import cache
from rest_framework.throttling import BaseThrottle

from api.conf import api_setting

PERIODS = {"s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600, "hour": 3600, "d": 86400, "day": 86400}


def rate_parse(rate: str) -> tuple[int, int]:
    """ "600/min" as (600 requests, 60 seconds)."""
    count, _slash, period = rate.partition("/")
    return int(count), PERIODS[period.strip()]


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
        cache_key = f"orderops:api:throttle:{ident}:{period}:{window}"
        cache.add(cache_key, 0, timeout=period + 1)
        try:
            count = cache.incr(cache_key)
        except ValueError:  # the entry expired between add and incr
            cache.add(cache_key, 1, timeout=period + 1)
            count = 1
        self.reset = max(int((window + 1) * period - now), 1)
        request.ratelimit = (limit, max(limit - count, 0), self.reset)
        return count <= limit

    def wait(self) -> float:
        return self.reset
