"""System checks: ORDEROPS is validated at start-up, and a bad value stops `manage.py check`."""

import re
from datetime import timedelta

import phonenumbers
from django.conf import settings
from django.core.checks import Error, Warning, register
from django.db import DatabaseError, connections, router
from django.utils.module_loading import import_string

from orderops.conf import DEFAULTS


def _positive_int_or_none(value) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool) and value >= 1)


def _positive_int(value) -> bool:
    return value is not None and _positive_int_or_none(value)


def _duration_or_none(value) -> bool:
    if value is None:
        return True
    if isinstance(value, timedelta):
        return value > timedelta(0)
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _positive_seconds(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and value > 0


def _seconds_or_zero(value) -> bool:
    return value == 0 or _positive_seconds(value)


def _string_list(value) -> bool:
    return isinstance(value, list | tuple) and all(isinstance(item, str) and item for item in value)


def _site_url(value) -> bool:
    return isinstance(value, str) and (value == "" or value.startswith(("http://", "https://")))


def _status_codes(value) -> bool:
    return (
        isinstance(value, list | tuple)
        and len(value) > 0
        and all(isinstance(code, str) and code for code in value)
    )


def _callable_path(value) -> bool:
    if not isinstance(value, str) or not value:
        return False
    try:
        return callable(import_string(value))
    except ImportError:
        return False


def _phone_region(value) -> bool:
    return value == "" or (isinstance(value, str) and value in phonenumbers.SUPPORTED_REGIONS)


def _import_formats(value) -> bool:
    """Format names (lower case, digits, dashes; not csv or jsonl, import_orders' own) -> dotted paths of
    importable objects with open(), target() and notes() (orders.importing.formats.FileFormat)."""
    if not isinstance(value, dict):
        return False
    for name, path in value.items():
        if not (isinstance(name, str) and re.fullmatch(r"[a-z0-9][a-z0-9-]*", name)) or name in (
            "csv",
            "jsonl",
        ):
            return False
        if not isinstance(path, str) or not path:
            return False
        try:
            implementation = import_string(path)
        except ImportError:
            return False
        if not all(callable(getattr(implementation, method, None)) for method in ("open", "target", "notes")):
            return False
    return True


VALIDATORS = {
    "CLAIMABLE_STATUSES": (_status_codes, "a non-empty list of order status codes"),
    "MAX_HELD_PER_OPERATOR": (_positive_int_or_none, "None or a whole number of at least 1"),
    "HOLD_IDLE_TIMEOUT": (_duration_or_none, "None, a positive timedelta, or a positive number of seconds"),
    "EDIT_REQUIRES_HOLD": (lambda value: isinstance(value, bool), "True or False"),
    "EDIT_GUARD": (_callable_path, "the dotted path of an importable callable"),
    "IMPORT_FORMATS": (
        _import_formats,
        "a dict of format names (lower case, not csv or jsonl) to dotted paths of file formats"
        " (orders/importing/formats.py)",
    ),
    "COMMENT_MAX_LENGTH": (_positive_int, "a whole number of at least 1"),
    "REASON_MAX_LENGTH": (_positive_int, "a whole number of at least 1"),
    "BULK_MAX_ORDERS": (_positive_int, "a whole number of at least 1"),
    "LIVE_HEARTBEAT_INTERVAL": (_positive_seconds, "a positive number of seconds"),
    "LIVE_PRESENCE_TIMEOUT": (_positive_seconds, "a positive number of seconds"),
    "LIVE_POLL_INTERVAL": (_positive_seconds, "a positive number of seconds"),
    "LIVE_TABS_PER_PERSON": (_positive_int, "a whole number of at least 1"),
    "QUEUE_COUNTS_INTERVAL": (_positive_seconds, "a positive number of seconds"),
    "QUEUE_COUNTS_SHARED_FOR": (_seconds_or_zero, "0 or a positive number of seconds"),
    "NOTIFICATION_BELL_INTERVAL": (_positive_seconds, "a positive number of seconds"),
    # Which kinds exist is the live app's to say: live/checks.py checks the names.
    "NOTIFICATION_EMAIL_KINDS": (_string_list, "a list of notification kinds (it may be empty)"),
    "NOTIFICATION_SITE_URL": (_site_url, 'an address starting with http:// or https://, or ""'),
    "OUTBOX_MAX_ATTEMPTS": (_positive_int, "a whole number of at least 1"),
    "OUTBOX_RETRY_DELAY": (_positive_seconds, "a positive number of seconds"),
    "OUTBOX_RETRY_DELAY_MAX": (_positive_seconds, "a positive number of seconds"),
    "OUTBOX_LEASE": (_positive_seconds, "a positive number of seconds"),
    "OUTBOX_IDLE_SLEEP": (_positive_seconds, "a positive number of seconds"),
    "PHONE_REGION": (_phone_region, 'a region code that phonenumbers knows ("BG", "DE"), or ""'),
    "SEARCH_MAX_WORDS": (_positive_int, "a whole number of at least 1"),
    "SEARCH_MAX_LENGTH": (_positive_int, "a whole number of at least 1"),
    "LOGIN_MAX_FAILURES": (_positive_int, "a whole number of at least 1"),
    "LOGIN_FAILURE_WINDOW": (_positive_seconds, "a positive number of seconds"),
    "CLIENT_ADDRESS_HEADER": (
        lambda value: isinstance(value, str) and (value == "" or value.startswith("HTTP_")),
        '"" or a request header as Django names it, e.g. "HTTP_X_REAL_IP"',
    ),
    "SESSION_IDLE_TIMEOUT": (_positive_seconds, "a positive number of seconds"),
}


@register("orderops")
def check_orderops_settings(app_configs=None, **kwargs) -> list:
    configured = getattr(settings, "ORDEROPS", {})
    if not isinstance(configured, dict):
        return [Error("ORDEROPS must be a dict.", hint="See orderops/conf.py.", id="orderops.E001")]
    problems = []
    for key in sorted(set(configured) - set(DEFAULTS)):
        problems.append(
            Error(
                f"ORDEROPS[{key!r}] is not a setting orderops knows.",
                hint=f"Known keys: {', '.join(sorted(DEFAULTS))}.",
                id="orderops.E002",
            )
        )
    for key, (valid, expected) in VALIDATORS.items():
        if key in configured and not valid(configured[key]):
            problems.append(
                Error(
                    f"ORDEROPS[{key!r}] must be {expected}; it is {configured[key]!r}.",
                    id="orderops.E003",
                )
            )
    problems.extend(_check_presence_timeout(configured))
    statuses = configured.get("CLAIMABLE_STATUSES", DEFAULTS["CLAIMABLE_STATUSES"])
    if _status_codes(statuses):
        problems.extend(_check_status_codes_exist("CLAIMABLE_STATUSES", statuses))
    return problems


def _check_presence_timeout(configured: dict) -> list:
    """A presence time-out no longer than the heartbeat interval would show open tabs as gone between two
    heartbeats."""
    interval = configured.get("LIVE_HEARTBEAT_INTERVAL", DEFAULTS["LIVE_HEARTBEAT_INTERVAL"])
    timeout = configured.get("LIVE_PRESENCE_TIMEOUT", DEFAULTS["LIVE_PRESENCE_TIMEOUT"])
    if not (_positive_seconds(interval) and _positive_seconds(timeout)) or timeout > interval:
        return []
    return [
        Error(
            f"ORDEROPS['LIVE_PRESENCE_TIMEOUT'] ({timeout!r} s) must be longer than "
            f"ORDEROPS['LIVE_HEARTBEAT_INTERVAL'] ({interval!r} s).",
            hint="Open tabs would count as gone between two heartbeats; the defaults are 60 s and 20 s.",
            id="orderops.E005",
        )
    ]


def _statuses_table_exists() -> bool:
    from orders.models import OrderStatus

    connection = connections[router.db_for_read(OrderStatus)]
    with connection.cursor() as cursor:
        return OrderStatus._meta.db_table in connection.introspection.table_names(cursor)


def _check_status_codes_exist(key: str, codes) -> list:
    from orders.models import OrderStatus

    try:
        # Before the first migrate there are no statuses to check against, and that is no problem: the check
        # runs again at the next start. Any other database error is worth a warning.
        if not _statuses_table_exists():
            return []
        known = set(OrderStatus.objects.filter(code__in=codes).values_list("code", flat=True))
    except DatabaseError as error:
        return [
            Warning(
                f"ORDEROPS[{key!r}] could not be checked against the order statuses: {error}".strip(),
                hint=(
                    "Check that the database is reachable and migrated (`python manage.py migrate`); the "
                    "check runs again at the next start."
                ),
                id="orderops.W001",
            )
        ]
    unknown = [code for code in codes if code not in known]
    if unknown:
        return [
            Error(
                f"ORDEROPS[{key!r}] names order statuses that do not exist: {', '.join(unknown)}.",
                hint="Use codes from the order statuses in the admin (Order statuses).",
                id="orderops.E004",
            )
        ]
    return []
