"""The API's routes under /api/v1/ (the paths are a contract: trailing slashes as listed)."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.views import APIView

from api.comments import OrderCommentsView
from api.conf import api_setting
from api.holds import ClaimNextView, HoldsBatchView, OrderHoldView, OrderTakeOverView
from api.orders import OrderDetailView, OrderListView, OrderUpsertView
from api.permissions import MayViewOrders
from api.problems import PROBLEM_CONTENT_TYPE
from api.statuses import OrderStatusView, StatusListView
from api.timeline import OrderTimelineView
from api.workload import WorkloadView

app_name = "api"


class ProblemsInJson(APIView):
    """For a view that renders something else (the schema's YAML, the docs page's HTML): its refusals are
    problem details in JSON all the same, not a problem rendered as YAML or HTML."""

    def handle_exception(self, exc):
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = PROBLEM_CONTENT_TYPE
        return super().handle_exception(exc)


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


urlpatterns = [
    path("orders/", OrderListView.as_view(), name="orders"),
    path("orders/<str:number>/", OrderDetailView.as_view(), name="order"),
    path("orders/<str:number>", OrderUpsertView.as_view(), name="order-upsert"),
    path("orders/<str:number>/hold", OrderHoldView.as_view(), name="order-hold"),
    path("orders/<str:number>/hold/take-over", OrderTakeOverView.as_view(), name="order-take-over"),
    path("orders/<str:number>/status", OrderStatusView.as_view(), name="order-status"),
    path("orders/<str:number>/comments/", OrderCommentsView.as_view(), name="order-comments"),
    path("orders/<str:number>/timeline/", OrderTimelineView.as_view(), name="order-timeline"),
    path("holds/batch", HoldsBatchView.as_view(), name="holds-batch"),
    path("holds/claim-next", ClaimNextView.as_view(), name="holds-claim-next"),
    path("statuses/", StatusListView.as_view(), name="statuses"),
    path("workload/", WorkloadView.as_view(), name="workload"),
    path("schema/", SchemaView.as_view(), name="schema"),
    path("docs/", DocsView.as_view(url_name="api:schema"), name="docs"),
]
