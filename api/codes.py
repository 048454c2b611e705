"""The problem codes that only the HTTP surface has (the rest are orders.results.Code)."""

from enum import StrEnum


class ApiCode(StrEnum):
    """Problem codes that only the HTTP surface has."""

    UNAUTHENTICATED = "unauthenticated"
    PRECONDITION_REQUIRED = "precondition_required"
    PRECONDITION_FAILED = "precondition_failed"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    NOT_ACCEPTABLE = "not_acceptable"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    THROTTLED = "throttled"
    ALREADY_EXISTS = "already_exists"
    # The number names orders of several connected stores: ?store=SLUG says which.
    AMBIGUOUS_NUMBER = "ambiguous_number"
    IDEMPOTENCY_KEY_REUSED = "idempotency_key_reused"
    IDEMPOTENCY_IN_PROGRESS = "idempotency_in_progress"
