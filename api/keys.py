"""API keys: create one (the secret is shown once), find the key a request presents, revoke by prefix."""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from api.conf import api_setting
from api.models import ApiKey
from orderops.types import Actor

# oo_<prefix>_<secret>: the prefix finds the row, the whole key's SHA-256 must match its hash.
KEY_PATTERN = re.compile(r"oo_([a-z0-9]{10})_([A-Za-z0-9_-]{43})")
PREFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
DURATION = re.compile(r"(\d+)([dhm])")


def key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class CreatedKey:
    api_key: ApiKey
    secret: str  # the whole key: shown once, never stored


def duration_parse(text: str) -> timedelta:
    """ "90d", "12h", "30m" as a duration; ValueError otherwise."""
    match = DURATION.fullmatch(text.strip())
    if match is None or int(match[1]) == 0:
        raise ValueError(f"{text!r} is not a duration like 90d, 12h or 30m")
    unit = {"d": "days", "h": "hours", "m": "minutes"}[match[2]]
    return timedelta(**{unit: int(match[1])})


@transaction.atomic
def api_key_create(*, user: Actor, name: str, expires_in: timedelta | None = None) -> CreatedKey:
    prefix = "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(10))
    secret = f"oo_{prefix}_{secrets.token_urlsafe(32)}"
    expires_at = timezone.now() + expires_in if expires_in else None
    api_key = ApiKey.objects.create(
        user=user, name=name, prefix=prefix, hashed=key_hash(secret), expires_at=expires_at
    )
    return CreatedKey(api_key, secret)


def api_key_revoke(*, prefix: str) -> bool:
    """Revoke the key with this prefix; False when there is no such unrevoked key."""
    return bool(ApiKey.objects.filter(prefix=prefix, revoked_at=None).update(revoked_at=timezone.now()))


def api_key_find(presented: str, *, now: datetime | None = None) -> ApiKey | None:
    """The usable key (with its user) that `presented` is, or None. One query; a last-used write at most
    once per KEY_LAST_USED_PRECISION."""
    match = KEY_PATTERN.fullmatch(presented)
    if match is None:
        return None
    api_key = ApiKey.objects.select_related("user").filter(prefix=match[1]).first()
    if api_key is None or not hmac.compare_digest(api_key.hashed, key_hash(presented)):
        return None
    now = now or timezone.now()
    if not api_key.usable(now):
        return None
    precision = api_setting("KEY_LAST_USED_PRECISION")
    if api_key.last_used_at is None or now - api_key.last_used_at >= precision:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key
