"""Errors as RFC 9457 problem details (application/problem+json), each with a machine `code` and a sentence.

The codes are the refusal codes of the services (orders.results.Code) plus the few that only HTTP has
(ApiCode). A service's refusal maps to its status here, in one table; views raise `ApiProblem` or let the
service's RequestRefused through.
"""

from http import HTTPStatus
from typing import Any

from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from rest_framework import exceptions, status
from rest_framework.response import Response

from api.codes import ApiCode
from operators.models import Assignment
from orders.models import Order
from orders.results import Code, OrderLocked, OrderOutcome, RequestRefused
from orders.services import OrderStale

PROBLEM_CONTENT_TYPE = "application/problem+json"


# The HTTP status of each service code when it refuses a request (or the one order a request names), the same
# whichever endpoint and whichever rule refused it: 403 when the caller may not (their role, or the rule book
# for this order: a release by someone who is neither its holder, its assigner nor a supervisor is
# `not_allowed`), 409 when the order's state is in the way (its hold, its status, the caller's capacity), 422
# when a value is refused. A refusal of one order names it, its holder and since when, whatever its status.
CODE_STATUS: dict[str, int] = {
    Code.NOT_FOUND: 404,
    Code.NOT_ALLOWED: 403,
    Code.INACTIVE: 403,
    Code.HELD_BY: 409,
    Code.NOT_HELD: 409,
    Code.FINAL_STATUS: 409,
    Code.AT_CAPACITY: 409,
    Code.ALREADY_YOURS: 409,
    Code.NOT_CONFIGURED: 409,
    Code.INVALID_INPUT: 422,
    Code.NEEDS_REASON: 422,
    Code.TOO_LONG: 422,
    Code.TOO_MANY: 413,
    Code.STALE: 412,
}


class ApiProblem(exceptions.APIException):
    """A refused request: its status, code, sentence and any further members of the problem object."""

    def __init__(self, status_code: int, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail=detail, code=str(code))
        self.status_code = status_code
        self.problem_code = str(code)
        self.extra = extra


def refusal_problem(error: RequestRefused, **extra: Any) -> ApiProblem:
    """A service's refusal as a problem: the status of its code, its sentence, and what it knows."""
    if isinstance(error, OrderStale):
        extra.setdefault("order", error.number)
        extra["current_version"] = error.current_version
        extra["changed_by"] = error.changed_by.get_username() if error.changed_by else None
        extra["changed_at"] = error.changed_at.isoformat()
        extra["changes"] = [
            {
                "field": change.field,
                "by": change.actor.get_username() if change.actor else None,
                "at": change.at.isoformat(),
                "loaded_value": change.loaded_value,
                "current_value": change.current_value,
            }
            for change in error.changes
        ]
        return ApiProblem(412, ApiCode.PRECONDITION_FAILED, error.message, stale=True, **extra)
    if isinstance(error, OrderLocked):
        extra = {**hold_members(error.refusal.order_id), **extra}
    return ApiProblem(CODE_STATUS.get(error.code, 409), error.code, error.message, **extra)


def hold_members(order_id: int) -> dict[str, str | None]:
    """The order's holder and since when, as a refused order's problem gives them (null: nobody holds it)."""
    hold = Assignment.objects.filter(order_id=order_id).select_related("operator").first()
    return {
        "holder": hold.operator.get_username() if hold is not None else None,
        "since": hold.assigned_at.isoformat() if hold is not None else None,
    }


def order_refusal_problem(outcome: OrderOutcome, number: str) -> ApiProblem:
    """A service's refusal of the one order a request names: the status of its code, its sentence, the
    order, its holder and since when."""
    return ApiProblem(
        CODE_STATUS.get(outcome.outcome, 409),
        outcome.outcome,
        outcome.message,
        order=number,
        **hold_members(outcome.order_id),
    )


def _problem_of(exc: exceptions.APIException) -> tuple[str, str, dict[str, Any]]:
    """(code, sentence, extra members) of a DRF exception."""
    if isinstance(exc, ApiProblem):
        return exc.problem_code, str(exc.detail), exc.extra
    if isinstance(exc, exceptions.ValidationError):  # a query parameter (the list's filters)
        found = field_errors(exc.detail)
        return (
            Code.INVALID_INPUT,
            _("The request was refused and nothing was changed: %(errors)s")
            % {"errors": "; ".join(f"{field}: {message}" for field, message in found)},
            {"errors": [{"field": field, "message": message} for field, message in found]},
        )
    if isinstance(exc, exceptions.ParseError):
        return Code.INVALID_INPUT, str(exc.detail), {}
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        codes = exc.get_codes()
        suspended = (Code.INACTIVE, Code.NOT_ALLOWED)  # a known key whose user may not log in to the console
        code = codes if isinstance(codes, str) and codes in suspended else ApiCode.UNAUTHENTICATED
        return code, str(exc.detail), {}
    if isinstance(exc, exceptions.PermissionDenied):
        return Code.NOT_ALLOWED, str(exc.detail), {}
    if isinstance(exc, exceptions.NotFound):
        return Code.NOT_FOUND, str(exc.detail), {}
    if isinstance(exc, exceptions.MethodNotAllowed):
        return ApiCode.METHOD_NOT_ALLOWED, str(exc.detail), {}
    if isinstance(exc, exceptions.NotAcceptable):
        return ApiCode.NOT_ACCEPTABLE, str(exc.detail), {}
    if isinstance(exc, exceptions.UnsupportedMediaType):
        return ApiCode.UNSUPPORTED_MEDIA_TYPE, str(exc.detail), {}
    if isinstance(exc, exceptions.Throttled):
        return ApiCode.THROTTLED, str(exc.detail), {"retry_after": getattr(exc, "wait", None)}
    return str(exc.get_codes()), str(exc.detail), {}


def field_errors(errors: Any, path: str = "") -> list[tuple[str, str]]:
    """A serializer's errors as (field, message) pairs, the field named as the import names it: `lines[2].qty`
    for the second line's qty (lines counted from 1)."""
    if isinstance(errors, dict):
        return [pair for key, value in errors.items() for pair in field_errors(value, _field_path(path, key))]
    if isinstance(errors, list):
        if errors and all(isinstance(item, dict) for item in errors):  # a list serializer's, item by item
            return [
                pair
                for index, item in enumerate(errors)
                for pair in field_errors(item, _field_path(path, index))
            ]
        return [pair for item in errors for pair in field_errors(item, path)]
    return [(path or "body", str(errors))]


def fields_refused_problem(errors: Any, number: str | None = None) -> ApiProblem:
    """A body whose fields a serializer refuses, as a 422 naming the order (when the request names one) and
    every field (`lines[2].qty`, lines counted from 1) with its message. Nothing was changed."""
    found = field_errors(errors)
    listed = "; ".join(f"{field}: {message}" for field, message in found)
    detail = (
        _("#%(number)s was not saved: %(errors)s") % {"number": number, "errors": listed}
        if number is not None
        else _("The request was refused and nothing was changed: %(errors)s") % {"errors": listed}
    )
    return ApiProblem(
        422,
        Code.INVALID_INPUT,
        detail,
        **({"order": number} if number is not None else {}),
        errors=[{"field": field, "message": message} for field, message in found],
    )


def _field_path(path: str, key: Any) -> str:
    if isinstance(
        key, int
    ):  # an item of a list, by its index from 0 (DRF's list errors, as a dict or a list)
        return f"{path}[{key + 1}]"
    if key == "non_field_errors":
        return path
    return f"{path}.{key}" if path else str(key)


# The problems' titles: HTTP's own phrases, in the catalogue so that a client asking for Bulgarian
# (Accept-Language: bg) reads them in Bulgarian; English clients get the phrases unchanged.
TITLES = {
    code: phrase
    for code, phrase in [
        (400, gettext_noop("Bad Request")),
        (401, gettext_noop("Unauthorized")),
        (403, gettext_noop("Forbidden")),
        (404, gettext_noop("Not Found")),
        (405, gettext_noop("Method Not Allowed")),
        (406, gettext_noop("Not Acceptable")),
        (409, gettext_noop("Conflict")),
        (412, gettext_noop("Precondition Failed")),
        (413, gettext_noop("Content Too Large")),
        (415, gettext_noop("Unsupported Media Type")),
        (422, gettext_noop("Unprocessable Content")),
        (428, gettext_noop("Precondition Required")),
        (429, gettext_noop("Too Many Requests")),
        (500, gettext_noop("Internal Server Error")),
        (503, gettext_noop("Service Unavailable")),
    ]
}


def problem_title(status_code: int) -> str:
    return _(TITLES.get(status_code) or HTTPStatus(status_code).phrase)


def problem_response(
    status_code: int, code: str, detail: str, *, instance: str = "", **extra: Any
) -> Response:
    body = {
        "type": f"urn:orderops:problem:{code}",
        "title": problem_title(status_code),
        "status": status_code,
        "detail": detail,
        "code": str(code),
        **({"instance": instance} if instance else {}),
        **extra,
    }
    return Response(body, status=status_code, content_type=PROBLEM_CONTENT_TYPE)


def problem_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's exception handler, answering with problem details."""
    if isinstance(exc, RequestRefused):
        exc = refusal_problem(exc)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(str(exc) or _("Not found."))
    from rest_framework.views import exception_handler  # rest_framework.views reads the settings that name us

    response = exception_handler(exc, context)
    if response is None or not isinstance(exc, exceptions.APIException):
        return response
    code, detail, extra = _problem_of(exc)
    request = context.get("request")
    problem = problem_response(
        response.status_code, code, detail, instance=request.path if request is not None else "", **extra
    )
    for header in ("WWW-Authenticate", "Retry-After", "Allow"):
        if header in response:
            problem[header] = response[header]
    if response.status_code == status.HTTP_429_TOO_MANY_REQUESTS and "Retry-After" not in problem:
        problem["Retry-After"] = "1"
    return problem


def ambiguous_number_problem(number: str) -> ApiProblem:
    """A number that names orders of several connected stores (each store numbers its own orders): 409,
    with the stores' slugs, and how to say which."""
    slugs = sorted(
        slug or "" for slug in Order.objects.filter(number=number).values_list("store__slug", flat=True)
    )
    return ApiProblem(
        409,
        ApiCode.AMBIGUOUS_NUMBER,
        _(
            "#%(number)s names orders of several stores (%(stores)s): add ?store=SLUG (?store= for the order "
            "from no store)."
        )
        % {"number": number, "stores": ", ".join(slug or _("no store") for slug in slugs)},
        stores=slugs,
    )
