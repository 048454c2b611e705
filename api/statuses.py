"""Statuses: the list, and setting one order's status (guarded; entering a releasing status ends the hold,
as on every path: orders.services.orders_status_set)."""

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import ApiView, StrictSerializer
from api.orders import OrderDetailSerializer, order_read, order_response
from api.problems import order_refusal_problem, refusal_problem
from operators import rules
from orders.models import OrderStatus
from orders.results import Code, RequestRefused
from orders.services import orders_status_set


class StatusSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderStatus
        fields = ("code", "label", "position", "releases_assignment")


class StatusListView(ApiView):
    @extend_schema(operation_id="statuses_list", responses=StatusSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(StatusSerializer(OrderStatus.objects.all(), many=True).data)


class StatusSetSerializer(StrictSerializer):
    status = serializers.CharField(max_length=32)


class OrderStatusView(ApiView):
    idempotent = True

    @extend_schema(
        operation_id="order_status_set", request=StatusSetSerializer, responses=OrderDetailSerializer
    )
    def post(self, request: Request, number: str) -> Response:
        order_id = self.order_id(number, permission=rules.edit_refusal)
        body = self.body(StatusSetSerializer, number=number)
        try:
            result = orders_status_set(actor=request.user, order_ids=[order_id], status_code=body["status"])
        except RequestRefused as refused:
            raise refusal_problem(refused, order=number) from None
        outcome = result.outcomes[0]
        if outcome.outcome not in (Code.DONE, Code.UNCHANGED):
            raise order_refusal_problem(outcome, number)
        return order_response(request, order_read(number, order_id=order_id))
