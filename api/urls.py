"""The API's routes under /api/v1/ (the paths are a contract: trailing slashes as listed)."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from api.comments import OrderCommentsView
from api.holds import ClaimNextView, HoldsBatchView, OrderHoldView, OrderTakeOverView
from api.orders import OrderDetailView, OrderListView, OrderUpsertView
from api.statuses import OrderStatusView, StatusListView
from api.timeline import OrderTimelineView
from api.workload import WorkloadView

app_name = "api"

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
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
]
