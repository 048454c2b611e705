"""Idempotency-Key on POST and PUT: the first response is kept (ORDEROPS_API["IDEMPOTENCY_TTL"]) and replayed
for the same key and body; the same key with another body is refused (422); of two requests with one key at
once, one acts and the other is told it is in progress (409).

Insert first: the row is written, and committed, before the request acts; the unique constraint on
(owner, key) lets exactly one request through.
"""

import hashlib
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.http import HttpResponse
from django.utils import timezone
from django.utils.translation import gettext as _

from api.conf import api_setting
from api.models import IdempotencyRecord
from api.problems import ApiCode, ApiProblem

HEADER = "Idempotency-Key"
METHODS = frozenset({"POST", "PUT"})
REPLAYED_HEADERS = ("ETag", "Location", "Content-Type")


class Replay(Exception):
    """The request was answered before: send `response` again."""

    def __init__(self, response: HttpResponse) -> None:
        self.response = response


@dataclass
class Claim:
    record_id: int


def fingerprint(request) -> str:
    digest = hashlib.sha256()
    digest.update(request.method.encode() + b" " + request.path.encode() + b"\n")
    digest.update(request.body)
    return digest.hexdigest()


def _replayed(record: IdempotencyRecord) -> HttpResponse:
    response = HttpResponse(bytes(record.body), status=record.status_code, content_type=record.content_type)
    if not record.content_type:  # a response without a body (204) had no content type: none again
        del response["Content-Type"]
    for name, value in record.headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


def idempotency_begin(request) -> Claim | None:
    """Claim the request's key, or raise Replay / ApiProblem. None: the request carries no key."""
    key = request.headers.get(HEADER)
    if key is None or request.method not in METHODS or not request.user.is_authenticated:
        return None
    key = key.strip()
    if not key or len(key) > api_setting("IDEMPOTENCY_KEY_MAX_LENGTH") or not key.isascii():
        raise ApiProblem(
            400,
            "invalid_input",
            _("The Idempotency-Key must be 1 to %(limit)s ASCII characters.")
            % {"limit": api_setting("IDEMPOTENCY_KEY_MAX_LENGTH")},
        )
    print_ = fingerprint(request)
    oldest = timezone.now() - api_setting("IDEMPOTENCY_TTL")
    for _attempt in range(2):
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(owner=request.user, key=key, fingerprint=print_)
            return Claim(record.pk)
        except IntegrityError:
            pass
        existing = IdempotencyRecord.objects.filter(owner=request.user, key=key).first()
        if existing is None:
            continue  # expired and deleted meanwhile: claim again
        if existing.created_at < oldest:
            IdempotencyRecord.objects.filter(pk=existing.pk).delete()
            continue
        if existing.fingerprint != print_:
            raise ApiProblem(
                422,
                ApiCode.IDEMPOTENCY_KEY_REUSED,
                _("The Idempotency-Key %(key)r was used for another request; nothing was done.")
                % {"key": key},
            )
        if not existing.completed:
            raise ApiProblem(
                409,
                ApiCode.IDEMPOTENCY_IN_PROGRESS,
                _("A request with the Idempotency-Key %(key)r is still being handled; retry later.")
                % {"key": key},
            )
        raise Replay(_replayed(existing))
    raise ApiProblem(409, ApiCode.IDEMPOTENCY_IN_PROGRESS, _("Retry the request."))


def idempotency_finish(claim: Claim, response: HttpResponse) -> None:
    """Keep the response for replays; a server error frees the key for a retry."""
    if response.status_code >= 500:
        IdempotencyRecord.objects.filter(pk=claim.record_id).delete()
        return
    if hasattr(response, "render") and not getattr(response, "is_rendered", True):
        response.render()
    headers = {
        name: response[name] for name in REPLAYED_HEADERS if name in response and name != "Content-Type"
    }
    IdempotencyRecord.objects.filter(pk=claim.record_id).update(
        completed=True,
        status_code=response.status_code,
        content_type=response.get("Content-Type", ""),
        headers=headers,
        body=response.content,
    )


def idempotency_abandon(claim: Claim) -> None:
    IdempotencyRecord.objects.filter(pk=claim.record_id).delete()
