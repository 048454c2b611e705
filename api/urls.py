"""The API's routes under /api/v1/. The paths are a contract, documented with their trailing slashes as
listed; each answers the same in the other form (slash added or dropped), and any other path is a 404
problem."""

import json
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, path, re_path
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from api.comments import OrderCommentsView
from api.conf import api_setting
from api.holds import ClaimNextView, HoldsBatchView, OrderHoldView, OrderTakeOverView
from api.orders import OrderListView, OrderView
from api.permissions import MayViewOrders
from api.problems import PROBLEM_CONTENT_TYPE, problem_title
from api.statuses import OrderStatusView, StatusListView
from api.timeline import OrderTimelineView
from api.workload import WorkloadView
from orderops import errors

app_name = "api"


class ProblemsInJson(APIView):
    """For a view that renders something else (the schema's YAML, the docs page's HTML): its refusals are
    problem details in JSON all the same, not a problem rendered as YAML or HTML; and its OPTIONS answer is
    the JSON every other path's is."""

    def handle_exception(self, exc):
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = PROBLEM_CONTENT_TYPE
        return super().handle_exception(exc)

    def options(self, request, *args, **kwargs):
        response = super().options(request, *args, **kwargs)
        request.accepted_renderer = JSONRenderer()
        request.accepted_media_type = "application/json"
        return response


class PublicUnlessConfigured:
    """The schema and its docs page answer anyone while ORDEROPS_API["SCHEMA_PUBLIC"] is on (the default: the
    document holds no secret and no data); off, only someone who may view orders. A key that is presented is
    checked either way (an inactive user's key is refused)."""

    def get_permissions(self):
        if api_setting("SCHEMA_PUBLIC"):
            return [AllowAny()]
        return [MayViewOrders()]


class SchemaView(PublicUnlessConfigured, ProblemsInJson, SpectacularAPIView):
    pass


class DocsView(PublicUnlessConfigured, ProblemsInJson, SpectacularSwaggerSplitView):
    """The Swagger UI page, its start script served apart (`?script`) and no inline style: the
    Content-Security-Policy allows no inline script or style."""

    template_name = "api/swagger_ui.html"


def _other_form(route: str) -> str:
    """The route with its trailing slash dropped, or added."""
    return route.removesuffix("/") if route.endswith("/") else f"{route}/"


def _undocumented(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The same view, left out of the OpenAPI document (which lists each path once, in its own form): the
    document's generator reads only REST framework views, and this wrapper is none."""

    @csrf_exempt
    def other_form(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return view(request, *args, **kwargs)

    return other_form


def both_forms(route: str, view: Callable[..., HttpResponse], name: str) -> list[URLPattern]:
    """The route as documented, and the same view at the other form (with or without the trailing slash):
    a client that adds or drops the slash gets the same answer, never a redirect that would lose a POST's
    body (Django's APPEND_SLASH) nor a 404."""
    return [path(route, view, name=name), path(_other_form(route), _undocumented(view))]


def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Any other path under /api/v1/: the site's 404 problem naming the path and where the paths are listed
    (orderops.errors), also with DEBUG on (Django's debug 404 page is HTML); its title in the client's
    language, as every other problem's of the API."""
    problem = json.loads(errors.page_not_found(request, Http404()).content)
    problem["title"] = problem_title(404)
    return JsonResponse(problem, status=404, content_type=PROBLEM_CONTENT_TYPE)


# One view for an order: GET and PATCH documented at orders/{number}/, PUT at orders/{number}.
_order_read_edit = OrderView.as_view(schema_methods=("GET", "PATCH"))
_order_upsert = OrderView.as_view(schema_methods=("PUT",))

urlpatterns = [
    *both_forms("orders/", OrderListView.as_view(), "orders"),
    path("orders/<str:number>/", _order_read_edit, name="order"),
    path("orders/<str:number>", _order_upsert, name="order-upsert"),
    *both_forms("orders/<str:number>/hold", OrderHoldView.as_view(), "order-hold"),
    *both_forms("orders/<str:number>/hold/take-over", OrderTakeOverView.as_view(), "order-take-over"),
    *both_forms("orders/<str:number>/status", OrderStatusView.as_view(), "order-status"),
    *both_forms("orders/<str:number>/comments/", OrderCommentsView.as_view(), "order-comments"),
    *both_forms("orders/<str:number>/timeline/", OrderTimelineView.as_view(), "order-timeline"),
    *both_forms("holds/batch", HoldsBatchView.as_view(), "holds-batch"),
    *both_forms("holds/claim-next", ClaimNextView.as_view(), "holds-claim-next"),
    *both_forms("statuses/", StatusListView.as_view(), "statuses"),
    *both_forms("workload/", WorkloadView.as_view(), "workload"),
    *both_forms("schema/", SchemaView.as_view(), "schema"),
    *both_forms("docs/", DocsView.as_view(url_name="api:schema"), "docs"),
    re_path(r"^.*$", api_not_found),
]
