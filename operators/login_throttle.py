"""Login throttling: at most ORDEROPS["LOGIN_MAX_FAILURES"] failed logins per username and per address within
ORDEROPS["LOGIN_FAILURE_WINDOW"] seconds; past that an attempt is refused before its password is checked.

The failures are rows of operators.LoginFailure, so every worker and host counts the same ones with no Redis
(a sliding window: a refused client may try again when its oldest failure in the window leaves it). The
console's login form and the API's key authentication both ask `login_lockout` first and call
`login_failure_record` after a failure. Two attempts racing past the limit at the same moment may both be
heard: the limit holds to within the number of workers, which is what a password guesser needs it to.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from operators.models import LoginFailure
from orderops.conf import orderops_setting

logger = logging.getLogger("orderops.login")

CONSOLE = "console"
API = "api"


@dataclass(frozen=True)
class Lockout:
    """Why an attempt is refused unheard: by its username or its address, and when the next may be heard."""

    by_username: bool
    retry_at: datetime

    @property
    def retry_after(self) -> int:
        """Seconds until the next attempt is heard (at least 1)."""
        return max(int((self.retry_at - timezone.now()).total_seconds()) + 1, 1)


def client_address(meta: dict) -> str:
    """The client's address from a request's META: the trusted proxy's header when
    ORDEROPS["CLIENT_ADDRESS_HEADER"] names one, the connection's own otherwise."""
    header = orderops_setting("CLIENT_ADDRESS_HEADER")
    if header:
        value = str(meta.get(header, "")).split(",")[-1].strip()
        if value:
            return value[:45]
    return str(meta.get("REMOTE_ADDR", ""))[:45]


def _window() -> timedelta:
    return timedelta(seconds=orderops_setting("LOGIN_FAILURE_WINDOW"))


def login_lockout(*, username: str, address: str, now: datetime | None = None) -> Lockout | None:
    """The lockout that refuses an attempt for `username` (may be "") from `address`, or None. Two indexed
    counts over the window's rows."""
    now = now or timezone.now()
    limit = orderops_setting("LOGIN_MAX_FAILURES")
    recent = LoginFailure.objects.filter(at__gt=now - _window())
    checks = [(False, Q(address=address))]
    if username:
        checks.insert(0, (True, Q(username=username)))
    for by_username, condition in checks:
        failures = recent.filter(condition)
        if failures.count() >= limit:
            # Heard again once fewer than `limit` failures are left in the window: when the limit-th newest
            # one leaves it.
            boundary = failures.order_by("-at").values_list("at", flat=True)[limit - 1]
            return Lockout(by_username=by_username, retry_at=boundary + _window())
    return None


def login_failure_record(*, username: str, address: str, surface: str) -> None:
    """Count one failed attempt (and forget the failures older than the window), and log it."""
    now = timezone.now()
    LoginFailure.objects.filter(at__lte=now - _window()).delete()
    LoginFailure.objects.create(username=username[:150], address=address, surface=surface, at=now)
    logger.warning(
        "failed login",
        extra={"surface": surface, "username": username, "address": address},
    )


def login_refused_log(*, username: str, address: str, surface: str, lockout: Lockout) -> None:
    logger.warning(
        "login refused: too many failures",
        extra={
            "surface": surface,
            "username": username,
            "address": address,
            "by": "username" if lockout.by_username else "address",
            "retry_at": lockout.retry_at.isoformat(),
        },
    )


def login_failures_forget(*, username: str = "", address: str = "") -> int:
    """Delete the recorded failures of `username` and of `address` (either may be ""): the lockout ends now.
    Returns how many were deleted."""
    condition = Q(pk__in=[])
    if username:
        condition |= Q(username=username)
    if address:
        condition |= Q(address=address)
    deleted, _by_model = LoginFailure.objects.filter(condition).delete()
    logger.warning("login failures forgotten", extra={"username": username, "address": address})
    return deleted
