"""System checks: ORDEROPS_API is validated at start-up, and a bad value stops `manage.py check`."""

from datetime import timedelta

from django.conf import settings
from django.core.checks import Error, register

from api.conf import DEFAULTS
from api.models import IdempotencyRecord
from api.throttling import rate_parse


def _positive_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _rate(value) -> bool:
    if not isinstance(value, str):
        return False
    try:
        count, _period = rate_parse(value)
    except (KeyError, ValueError):
        return False
    return count >= 1


def _positive_duration(value) -> bool:
    return isinstance(value, timedelta) and value > timedelta(0)


def _duration(value) -> bool:
    return isinstance(value, timedelta) and value >= timedelta(0)


def _key_length(value) -> bool:
    return _positive_int(value) and value <= IdempotencyRecord._meta.get_field("key").max_length


VALIDATORS = {
    "THROTTLE_RATE": (_rate, 'a rate such as "600/min" (per sec, min, hour or day: s, m, h, d)'),
    "THROTTLE_STORE": (lambda value: value in ("database", "cache"), '"database" or "cache"'),
    "BATCH_MAX_ORDERS": (_positive_int, "a whole number of at least 1"),
    "PAGE_SIZE": (_positive_int, "a whole number of at least 1"),
    "MAX_PAGE_SIZE": (_positive_int, "a whole number of at least 1"),
    "IDEMPOTENCY_TTL": (_positive_duration, "a positive timedelta"),
    "IDEMPOTENCY_KEY_MAX_LENGTH": (
        _key_length,
        f"a whole number from 1 to {IdempotencyRecord._meta.get_field('key').max_length} (the column's size)",
    ),
    "KEY_LAST_USED_PRECISION": (_duration, "a timedelta of zero or more"),
    "SCHEMA_PUBLIC": (lambda value: isinstance(value, bool), "True or False"),
}


@register("orderops")
def check_api_settings(app_configs=None, **kwargs) -> list:
    configured = getattr(settings, "ORDEROPS_API", {})
    if not isinstance(configured, dict):
        return [Error("ORDEROPS_API must be a dict.", hint="See api/conf.py.", id="api.E001")]
    problems = [
        Error(
            f"ORDEROPS_API[{key!r}] is not a setting of the API.",
            hint=f"Known keys: {', '.join(sorted(DEFAULTS))}.",
            id="api.E002",
        )
        for key in sorted(set(configured) - set(DEFAULTS))
    ]
    for key, (valid, expected) in VALIDATORS.items():
        if key in configured and not valid(configured[key]):
            problems.append(
                Error(f"ORDEROPS_API[{key!r}] must be {expected}; it is {configured[key]!r}.", id="api.E003")
            )
    page, most = (configured.get(key, DEFAULTS[key]) for key in ("PAGE_SIZE", "MAX_PAGE_SIZE"))
    if _positive_int(page) and _positive_int(most) and page > most:
        problems.append(
            Error(
                f"ORDEROPS_API['PAGE_SIZE'] ({page}) is more than ORDEROPS_API['MAX_PAGE_SIZE'] ({most}).",
                id="api.E004",
            )
        )
    return problems
