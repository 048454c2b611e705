"""An order's timeline: comments, hold changes and field changes as structured entries, oldest first."""

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import ApiView
from operators.timeline import order_timeline


class UsernameField(serializers.Field):
    def to_representation(self, user) -> str:
        return user.get_username()


@extend_schema_field({"type": ["string", "null"]})
class NullableUsernameField(UsernameField):
    pass


class FieldChangeSerializer(serializers.Serializer):
    field = serializers.CharField()
    old = serializers.CharField()
    new = serializers.CharField()


class TimelineEntrySerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    kind = serializers.ChoiceField(choices=["comment", "hold", "change"])
    actor = NullableUsernameField(allow_null=True)
    action = serializers.CharField()
    operator = NullableUsernameField(allow_null=True)
    previous_operator = NullableUsernameField(allow_null=True)
    reason = serializers.CharField()
    body = serializers.CharField()
    version = serializers.IntegerField(allow_null=True)
    changes = FieldChangeSerializer(many=True)


class OrderTimelineView(ApiView):
    @extend_schema(operation_id="timeline_read", responses=TimelineEntrySerializer(many=True))
    def get(self, request: Request, number: str) -> Response:
        entries = order_timeline(self.order_id(number))
        return Response(TimelineEntrySerializer(entries, many=True).data)
