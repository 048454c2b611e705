"""Login throttling: at most ORDEROPS["LOGIN_MAX_FAILURES"] failed logins per username and per address within
ORDEROPS["LOGIN_FAILURE_WINDOW"] seconds; past that an attempt is refused before its password is checked.

The failures are rows of operators.LoginFailure, so every worker and host counts the same ones with no Redis
(a sliding window: a refused client may try again when its oldest failure in the window leaves it).

The count is exact however many workers hear attempts at once: an attempt is counted as a failure before its
password is checked (`login_attempt_begin`: the check and the row in one short transaction that holds the
username's and the address's lock), and the row is deleted when the password turns out right
(`login_attempt_succeeded`). Checking first and counting after the password would let every attempt that
arrives while another is being checked through: 15 of 24 at once where the limit was 10. The locks are
PostgreSQL's transaction-level advisory locks (fine behind a transaction pooler); SQLite's transactions here
take the write lock when they begin (settings.py), which serialises the same way. The console's login form
and the API's key authentication (where the key is looked up first and only a miss is counted) share this.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
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


@dataclass(frozen=True)
class Attempt:
    """An attempt admitted by `login_attempt_begin`: already counted as a failure (`failure_id`) until
    `login_attempt_succeeded` takes it back."""

    failure_id: int
    username: str
    address: str
    surface: str


def _counters_lock(*, username: str, address: str) -> None:
    """Serialise the attempts on one username or one address until the transaction ends (PostgreSQL;
    SQLite's IMMEDIATE transactions already are). Taken in one order, so that two attempts never wait for
    each other's second lock."""
    if connection.vendor != "postgresql":
        return
    keys = sorted(
        {f"orderops.login:address:{address}"}
        | ({f"orderops.login:username:{username}"} if username else set())
    )
    with connection.cursor() as cursor:
        for key in keys:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])


def login_attempt_begin(*, username: str, address: str, surface: str) -> Attempt | Lockout:
    """The lockout that refuses this attempt unheard, or the attempt, admitted and counted as a failure
    already (its password is checked after). Forgets the failures older than the window."""
    with transaction.atomic():
        _counters_lock(username=username, address=address)
        now = timezone.now()
        lockout = login_lockout(username=username, address=address, now=now)
        if lockout is not None:
            return lockout
        LoginFailure.objects.filter(at__lte=now - _window()).delete()
        failure = LoginFailure.objects.create(
            username=username[:150], address=address, surface=surface, at=now
        )
    return Attempt(failure_id=failure.pk, username=username, address=address, surface=surface)


def login_attempt_succeeded(attempt: Attempt) -> None:
    """The password was right (or never checked): the attempt is no failure."""
    LoginFailure.objects.filter(pk=attempt.failure_id).delete()


def login_attempt_failed(attempt: Attempt) -> None:
    """The attempt failed: it stays counted; log it."""
    logger.warning(
        "failed login",
        extra={"surface": attempt.surface, "username": attempt.username, "address": attempt.address},
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
