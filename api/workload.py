"""Workload: holds per operator (and what they took and released today), unassigned orders per status."""

from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import ApiView
from operators.selectors import operators_workload, unassigned_backlog


class OperatorLoadSerializer(serializers.Serializer):
    operator = serializers.CharField(source="operator.username")
    held = serializers.IntegerField()
    oldest_hold_at = serializers.DateTimeField(allow_null=True)
    taken_today = serializers.IntegerField()
    released_today = serializers.IntegerField()


class BacklogSerializer(serializers.Serializer):
    status = serializers.CharField(source="status.code")
    unassigned = serializers.IntegerField()
    oldest_created_at = serializers.DateTimeField(allow_null=True)


class WorkloadSerializer(serializers.Serializer):
    operators = OperatorLoadSerializer(many=True)
    unassigned = BacklogSerializer(many=True)


class WorkloadView(ApiView):
    @extend_schema(operation_id="workload_read", responses=WorkloadSerializer)
    def get(self, request: Request) -> Response:
        since = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        data = {"operators": operators_workload(since=since), "unassigned": unassigned_backlog()}
        return Response(WorkloadSerializer(data).data)
