"""What the OpenAPI document says of our own classes: the bearer API key, and the problem responses every
operation may answer with (so that a client, and schemathesis, know each refusal's status and body)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers

from api.problems import PROBLEM_CONTENT_TYPE


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key from `manage.py api_key_create`: `Authorization: Bearer oo_...`.",
        }


class ProblemSerializer(serializers.Serializer):
    """A refused request (RFC 9457), with the `code` of the refusal; some carry further members (the
    order, its holder, since when, the invalid fields)."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField()
    instance = serializers.CharField(required=False)


# Which problems an operation may answer with, by what it is (api.problems.CODE_STATUS has each code's).
PROBLEMS_OF_EVERY_OPERATION = {
    400: "The request is malformed: a filter, a header, or a body that is not the JSON object this operation "
    "reads (`invalid_input`).",
    401: "No key, or an unknown, revoked or expired one (`unauthenticated`); an inactive account "
    "(`inactive`).",
    403: "The user may not do this (`not_allowed`, `inactive`).",
    406: "The client accepts no JSON.",
    429: "Too many requests for this key (`throttled`); see Retry-After.",
}
PROBLEMS_OF_AN_ORDER = {404: "There is no such order (`not_found`)."}
PROBLEMS_OF_A_BODY = {
    409: "The order's state refuses the request (`held_by`, `not_held`, `final_status`, ...), or the "
    "Idempotency-Key's first request is still running.",
    415: "The body is not `application/json`.",
    422: "The request is well formed but refused as it stands (`invalid_input`, `needs_reason`, `too_long`, "
    "`idempotency_key_reused`, ...).",
}
PROBLEMS_OF_A_RELEASE = {409: "The order's hold refuses the release (`held_by`, `not_held`)."}
PROBLEMS_OF_AN_EDIT = {
    412: "If-Match is not the order's current version (`precondition_failed`): nothing was saved.",
    428: "If-Match is missing (`precondition_required`).",
}
PROBLEMS_OF_A_BATCH = {413: "The batch names more orders than BATCH_MAX_ORDERS (`too_many`)."}
PROBLEMS_OF_A_CLAIM = {404: "No unassigned order is there to take right now (`not_found`)."}


class ApiAutoSchema(AutoSchema):
    """drf-spectacular's schema, with the problem responses of each operation."""

    def problems(self) -> dict[int, str]:
        problems = dict(PROBLEMS_OF_EVERY_OPERATION)
        if "{number}" in self.path:
            problems |= PROBLEMS_OF_AN_ORDER
        if self.method in ("POST", "PUT", "PATCH"):
            problems |= PROBLEMS_OF_A_BODY
        if self.method == "DELETE":
            problems |= PROBLEMS_OF_A_RELEASE
        if self.method == "PATCH":
            problems |= PROBLEMS_OF_AN_EDIT
        if self.path.endswith("/holds/batch"):
            problems |= PROBLEMS_OF_A_BATCH
        if self.path.endswith("/holds/claim-next"):
            problems |= PROBLEMS_OF_A_CLAIM
        return problems

    def _map_serializer(self, serializer, direction, bypass_extensions=False):
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        if direction == "request" and getattr(serializer, "refuses_unknown_fields", False):
            # api.base.StrictSerializer refuses a field it does not name: say so, or clients send them.
            schema["additionalProperties"] = False
        if direction == "request":
            for name, field in getattr(serializer, "fields", {}).items():
                if isinstance(field, serializers.ListField) and not field.allow_empty:
                    schema.get("properties", {}).get(name, {}).setdefault("minItems", 1)
        return schema

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for status, description in sorted(self.problems().items()):
            if str(status) not in responses:
                response = self._get_response_for_code(
                    ProblemSerializer, str(status), [PROBLEM_CONTENT_TYPE], direction
                )
                responses[str(status)] = {**response, "description": description}
        return responses
