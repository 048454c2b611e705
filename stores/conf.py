"""The connected stores' settings: the ORDEROPS_STORES dict, its documented defaults, one accessor and the
system check that rejects bad values at start-up."""

from typing import Any

from django.conf import settings
from django.core.checks import Error, register

# Every key of settings.ORDEROPS_STORES, with its default.
DEFAULTS: dict[str, Any] = {
    # The largest webhook body accepted, in bytes; a larger one is answered 413 and not read.
    "MAX_BODY_BYTES": 2 * 1024 * 1024,
    # Seconds before a call to a store's API gives up (connect and read, each).
    "HTTP_TIMEOUT": 10,
    # Orders asked for per page when polling (the platforms allow up to 100, Shopify GraphQL 250).
    "PAGE_SIZE": 100,
    # How often a call refused with 429 or a time-out is tried again before the poll stops (resumable).
    "MAX_RETRIES": 5,
    # The longest wait for Retry-After or a throttle, in seconds; a longer one stops the poll instead.
    "MAX_RETRY_WAIT": 60,
    # The Shopify Admin API version used by polling (GraphQL).
    "SHOPIFY_API_VERSION": "2025-07",
    # The console's address as stores reach it, e.g. "https://orders.example.com": store_connect and the
    # admin print the webhook address with it. Empty: the address is printed as a path only.
    "WEBHOOK_BASE_URL": "",
    # The write-back outbox (send_to_stores): the wait after a change's first failed send, in seconds,
    # doubled after each further failure, and the attempts before the change is given up (dead).
    "RETRY_BASE": 30,
    "MAX_ATTEMPTS": 10,
    # Seconds a worker holds the changes it claimed; a change still claimed after that (its worker died) is
    # claimed again. Longer than the calls of one change (each bounded by HTTP_TIMEOUT).
    "LEASE": 300,
}


# The most calls one change of the write-back makes (stores/writeback.py).
CALLS_PER_CHANGE = 4


def _positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _positive_seconds(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _base_url(value: Any) -> bool:
    return isinstance(value, str) and (value == "" or value.startswith(("http://", "https://")))


VALIDATORS = {
    "MAX_BODY_BYTES": (_positive_int, "a whole number of bytes, at least 1"),
    "HTTP_TIMEOUT": (_positive_seconds, "a positive number of seconds"),
    "PAGE_SIZE": (lambda value: _positive_int(value) and value <= 250, "a whole number from 1 to 250"),
    "MAX_RETRIES": (lambda value: _positive_int(value) or value == 0, "a whole number, 0 or more"),
    "MAX_RETRY_WAIT": (_positive_seconds, "a positive number of seconds"),
    "SHOPIFY_API_VERSION": (
        lambda value: isinstance(value, str) and len(value) == 7 and value[4] == "-",
        'a Shopify API version such as "2025-07"',
    ),
    "WEBHOOK_BASE_URL": (_base_url, 'an address starting with http:// or https://, or ""'),
    "RETRY_BASE": (_positive_seconds, "a positive number of seconds"),
    "MAX_ATTEMPTS": (_positive_int, "a whole number, at least 1"),
    "LEASE": (_positive_seconds, "a positive number of seconds"),
}


def stores_setting(key: str) -> Any:
    """Return settings.ORDEROPS_STORES[key], or its documented default."""
    if key not in DEFAULTS:
        raise KeyError(f"ORDEROPS_STORES has no setting {key!r}")
    return getattr(settings, "ORDEROPS_STORES", {}).get(key, DEFAULTS[key])


@register()
def check_stores_settings(app_configs=None, **kwargs) -> list[Error]:
    configured = getattr(settings, "ORDEROPS_STORES", {})
    if not isinstance(configured, dict):
        return [Error("ORDEROPS_STORES must be a dict.", id="stores.E001")]
    errors = [
        Error(
            f"ORDEROPS_STORES has no setting {key!r}.",
            hint=f"Known settings: {', '.join(sorted(DEFAULTS))}.",
            id="stores.E002",
        )
        for key in sorted(set(configured) - set(DEFAULTS))
    ]
    for key, (valid, expected) in VALIDATORS.items():
        if key in configured and not valid(configured[key]):
            errors.append(
                Error(
                    f"ORDEROPS_STORES[{key!r}] is {configured[key]!r}: it must be {expected}.",
                    id="stores.E003",
                )
            )
    if not errors:
        # A change makes up to four calls (Shopify: two tags, the fulfillment orders read, the fulfillment),
        # each bounded by HTTP_TIMEOUT: a lease shorter than that lets another worker claim it mid-send.
        lease, timeout = (
            configured.get("LEASE", DEFAULTS["LEASE"]),
            configured.get("HTTP_TIMEOUT", DEFAULTS["HTTP_TIMEOUT"]),
        )
        if lease <= CALLS_PER_CHANGE * timeout:
            errors.append(
                Error(
                    f"ORDEROPS_STORES['LEASE'] ({lease} s) must exceed {CALLS_PER_CHANGE} x HTTP_TIMEOUT"
                    f" ({CALLS_PER_CHANGE * timeout} s): a change's calls must end within its lease.",
                    id="stores.E004",
                )
            )
    return errors
