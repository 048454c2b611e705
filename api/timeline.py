"""An order's timeline: comments, hold changes and field changes as structured entries, oldest first, from
the one read every surface uses (operators.timeline); a change a connected store made names the store."""

from typing import Any

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import ApiView
from operators.timeline import TimelineEntry, order_timeline
from orders.results import user_display_name


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
    actor = NullableUsernameField(
        allow_null=True,
        help_text="The user who made it, by username; null when no person did (a store, the system).",
    )
    store = serializers.CharField(
        source="store_name",
        allow_null=True,
        help_text="The connected store's name when the store made it (its webhook, a poll, its file, a "
        "replay); null otherwise.",
    )
    actor_name = serializers.SerializerMethodField(
        help_text="Who made it, as the console says: the store's name (\"Shopify\"), else the user's full "
        'name or username, else "the system".'
    )
    action = serializers.CharField()
    operator = NullableUsernameField(allow_null=True)
    previous_operator = NullableUsernameField(allow_null=True)
    reason = serializers.CharField()
    body = serializers.CharField()
    version = serializers.IntegerField(allow_null=True)
    changes = FieldChangeSerializer(many=True)

    def to_representation(self, instance: TimelineEntry) -> dict[str, Any]:
        data = super().to_representation(instance)
        data["store"] = instance.store_name or None
        return data

    def get_actor_name(self, entry: TimelineEntry) -> str:
        return entry.store_name or user_display_name(entry.actor)


class OrderTimelineView(ApiView):
    @extend_schema(operation_id="timeline_read", responses=TimelineEntrySerializer(many=True))
    def get(self, request: Request, number: str) -> Response:
        entries = order_timeline(self.order_id(number))
        return Response(TimelineEntrySerializer(entries, many=True).data)
