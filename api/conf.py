"""The API's settings: the ORDEROPS_API dict, its documented defaults, and one accessor (api/checks.py
validates the dict at start-up)."""

from datetime import timedelta
from typing import Any

from django.conf import settings

DEFAULTS: dict[str, Any] = {
    # Requests per API key (or per signed-in user), "N/sec", "N/min", "N/hour" or "N/day".
    "THROTTLE_RATE": "600/min",
    # Where the throttle counts: "database" (a table every worker and host shares; the default) or "cache"
    # (the default cache: only right when it is shared, i.e. Redis; settings.py picks it when REDIS_URL is
    # set). A per-process cache would give each worker its own count.
    "THROTTLE_STORE": "database",
    # The most orders one POST /api/v1/holds/batch may name; more is refused whole with 413.
    "BATCH_MAX_ORDERS": 100,
    # Orders per page of GET /api/v1/orders/ by default, and the most a client may ask for (page_size=).
    "PAGE_SIZE": 50,
    "MAX_PAGE_SIZE": 200,
    # How long the first response to an Idempotency-Key is kept and replayed.
    "IDEMPOTENCY_TTL": timedelta(hours=24),
    # The longest Idempotency-Key accepted.
    "IDEMPOTENCY_KEY_MAX_LENGTH": 200,
    # A key's last-used time is written at most this often (one UPDATE, not one per request).
    "KEY_LAST_USED_PRECISION": timedelta(minutes=1),
    # Whether the OpenAPI document (/api/v1/schema/) and its docs page (/api/v1/docs/) answer without a key.
    # It holds no secret and no data, only what the API accepts; False asks for a key (or a console login) of
    # someone who may view orders.
    "SCHEMA_PUBLIC": True,
}


def api_setting(key: str) -> Any:
    """Return settings.ORDEROPS_API[key], or its documented default."""
    if key not in DEFAULTS:
        raise KeyError(f"ORDEROPS_API has no setting {key!r}")
    return getattr(settings, "ORDEROPS_API", {}).get(key, DEFAULTS[key])
