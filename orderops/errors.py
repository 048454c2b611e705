"""The site's error answers: problem details (application/problem+json) under /api/, the console's own pages
elsewhere; and the middleware that refuses a NUL character in an address, a query string or a console form
before any view (PostgreSQL refuses a NUL in a query: a 500 otherwise), with a 400 that says so."""

import logging
from collections.abc import Callable
from http import HTTPStatus

from django.core.exceptions import BadRequest, RequestDataTooBig
from django.db import DataError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views import defaults

logger = logging.getLogger("orderops")

API_PREFIX = "/api/"
PROBLEM_CONTENT_TYPE = "application/problem+json"  # api.problems answers its own with the same


class RefusedInput(BadRequest):
    """A request refused before any view, for a reason the person is told (the 400 page shows it)."""


def is_api(request: HttpRequest) -> bool:
    return request.path.startswith(API_PREFIX)


def problem(request: HttpRequest, status: int, code: str, detail: str) -> JsonResponse:
    """A problem object as api.problems.problem_response writes it, for answers no API view gives."""
    return JsonResponse(
        {
            "type": f"urn:orderops:problem:{code}",
            "title": HTTPStatus(status).phrase,
            "status": status,
            "detail": detail,
            "code": code,
            "instance": request.path.replace("\x00", "\\0"),
        },
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
    )


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler400: a refused request (a NUL, a body or a form over the limits). The console's page explains
    a body or a form over the limits itself (too many orders ticked, a comment far too long)."""
    if is_api(request):
        if isinstance(exception, RequestDataTooBig):
            detail = _("The request's body is larger than the server accepts; nothing was changed.")
            return problem(request, 413, "too_large", detail)
        if isinstance(exception, RefusedInput):
            return problem(request, 400, "invalid_input", str(exception))
        return problem(request, 400, "invalid_input", _("The request was refused; nothing was changed."))
    reason = str(exception) if isinstance(exception, RefusedInput) else ""
    return render(request, "400.html", {"reason": reason}, status=400)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: under /api/ a problem (an unknown path answers as an unknown order does), else the
    console's page."""
    if is_api(request):
        return problem(
            request,
            404,
            "not_found",
            _("There is no such path in the API: %(path)s. The paths are listed at %(docs)s.")
            % {"path": request.path.replace("\x00", "\\0"), "docs": reverse("api:docs")},
        )
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    if is_api(request):
        return problem(
            request, 500, "server_error", _("The server failed; the request may not have taken effect.")
        )
    return defaults.server_error(request)


NUL = "\x00"


def _has_nul(query) -> bool:
    return any(NUL in key or any(NUL in value for value in values) for key, values in query.lists())


class RefuseNulMiddleware:
    """A NUL character in the address, in the query string or in a field of a console form is refused with
    a 400 (the API's problem, or the console's page saying why) before any view or query sees it: no order
    number, filter or text may hold one. JSON bodies are the API parser's to check (api/parsers.py)."""

    FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if NUL in request.path:
            raise RefusedInput(
                _("The address contains a NUL character (\\0), which no page or order number has.")
            )
        if _has_nul(request.GET):
            raise RefusedInput(
                _("A search or filter contains a NUL character (\\0), which no value may contain.")
            )
        if (
            request.method == "POST"
            and request.path.startswith(reverse("admin:index"))
            and request.content_type in self.FORM_TYPES
            and _has_nul(request.POST)
        ):
            raise RefusedInput(
                _("The form contains a NUL character (\\0), which no field accepts. Nothing was changed.")
            )
        return self.get_response(request)


# What a filter value only the database refuses raises when the list is rendered.
FILTER_ERRORS = (OverflowError, ValueError, DataError)
# The admin's own parameters of a list, which are not filters.
LIST_PARAMETERS = {"q", "o", "p", "e", "all", "_to_field", "_popup", "_changelist_filters"}


class RefuseBadFiltersMiddleware:
    """A console list asked for a filter value it cannot take. Django's admin redirects
    `?status__id__exact=abc` to `?e=1` and then shows a page titled "Database error"; a value that only the
    database refuses (a date beyond the year 9999, an offset PostgreSQL does not know) fails when the list is
    rendered, a 500. Answer each with a 400 naming the filters instead. A number too large for any column in
    a console form (an id of a choice, on SQLite) is a 400 too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not self._is_list_request(request):
            return response
        redirected_to_error = response.status_code == 302 and response.get("Location", "").endswith(
            f"{request.path}?e=1"
        )
        error_page = getattr(response, "template_name", None) == "admin/invalid_setup.html"
        if redirected_to_error or error_page:
            return self._refusal(request)
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if self._is_list_request(request) and self._filters(request) and isinstance(exception, FILTER_ERRORS):
            logger.warning(
                "filter refused by the database", extra={"path": request.path, "error": repr(exception)}
            )
            return self._refusal(request)
        if (
            request.method == "POST"
            and request.path.startswith(reverse("admin:index"))
            and isinstance(exception, OverflowError)
        ):
            logger.warning("form value out of range", extra={"path": request.path, "error": repr(exception)})
            reason = _(
                "A number in the form is larger than any record's id or any amount. Nothing was changed."
            )
            return render(request, "400.html", {"reason": reason}, status=400)
        return None

    @staticmethod
    def _is_list_request(request: HttpRequest) -> bool:
        return request.method == "GET" and request.path.startswith(reverse("admin:index"))

    @staticmethod
    def _filters(request: HttpRequest) -> str:
        return "&".join(
            f"{key}={value}"
            for key, values in request.GET.lists()
            if key not in LIST_PARAMETERS
            for value in values
        )

    def _refusal(self, request: HttpRequest) -> HttpResponse:
        filters = self._filters(request)
        reason = (
            _("The list cannot be filtered by %(filters)s: a filter has a value it cannot take.")
            % {"filters": filters}
            if filters
            else _("The list's filters were not valid.")
        )
        return render(request, "400.html", {"reason": reason}, status=400)
