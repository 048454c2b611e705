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


class FieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(
        help_text="The field refused, as the body names it: `customer_email`, `lines[2].qty` for the second "
        "line's qty (lines counted from 1, in the order the body lists them)."
    )
    message = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """A refused request (RFC 9457), with the `code` of the refusal; some carry further members (the
    order, its holder, since when, the invalid fields)."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField()
    instance = serializers.CharField(required=False)
    order = serializers.CharField(required=False, help_text="The order refused, by its number.")
    holder = serializers.CharField(
        required=False, allow_null=True, help_text="Who holds the refused order (null: nobody)."
    )
    since = serializers.DateTimeField(
        required=False, allow_null=True, help_text="Since when the holder holds it (null: nobody holds it)."
    )

    def get_fields(self):
        # `errors` is a Serializer's own property: the member is added here, not declared as a field.
        fields = super().get_fields()
        fields["errors"] = FieldErrorSerializer(
            many=True,
            required=False,
            help_text="Each field refused and why (a 422 of a body, a 400 of a filter); lines counted "
            "from 1.",
        )
        return fields


# Which problems an operation may answer with, by what it is (api.problems.CODE_STATUS has each code's).
PROBLEMS_OF_EVERY_OPERATION = {
    400: "The request cannot be read as this operation's (`invalid_input`): a body that is not JSON, not a "
    "JSON object, or nests too deep; a filter, cursor or page size this operation does not take (`errors` "
    "names each); a NUL in the address. Nothing was changed.",
    401: "No key, or an unknown, revoked or expired one (`unauthenticated`); an inactive account "
    "(`inactive`).",
    403: "The caller may not do this (`not_allowed`, `inactive`): their role does not allow it, or the rule "
    "book refuses it for this order (a release by someone who is neither its holder, its assigner nor a "
    "supervisor: with the order, its `holder` and `since`).",
    406: "The client accepts no JSON.",
    429: "Too many requests for this key (`throttled`); see Retry-After.",
}
PROBLEMS_OF_AN_ORDER = {404: "There is no such order (`not_found`)."}
PROBLEMS_OF_A_BODY = {
    409: "The order's state is in the way (`held_by`, `not_held`, `final_status`, `already_yours`, "
    "`at_capacity`, ...: with the order, its `holder` and `since`), or the Idempotency-Key's first request "
    "is still running (`idempotency_in_progress`).",
    413: "The body is larger than the server accepts (`too_large`; DATA_UPLOAD_MAX_MEMORY_SIZE).",
    415: "The body is not `application/json`.",
    422: "The body is a JSON object, but a value is refused (`invalid_input`, `needs_reason`, `too_long`, "
    "`idempotency_key_reused`, ...): a field unknown, missing, of the wrong type, too long or out of range, "
    "or refused by the rules (an unknown status, an operator who may not hold orders). `errors` names each "
    "field as the body names it (`lines[2].qty`: lines counted from 1), and the problem the order. Nothing "
    "was changed.",
}
PROBLEMS_OF_A_RELEASE = {
    409: "The order is not held (`not_held`), with the order.",
    422: "A colleague's hold is released without a `reason` (`needs_reason`), or a reason longer than "
    "REASON_MAX_LENGTH (`too_long`): nothing was released.",
}
PROBLEMS_OF_AN_EDIT = {
    412: "If-Match is not the order's current version (`precondition_failed`): nothing was saved.",
    428: "If-Match is missing (`precondition_required`).",
}
PROBLEMS_OF_A_BATCH = {
    413: "The batch names more orders than BATCH_MAX_ORDERS (`too_many`), or the body is larger than the "
    "server accepts (`too_large`)."
}


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
        return problems

    def is_excluded(self) -> bool:
        methods = getattr(self.view, "schema_methods", None)
        return methods is not None and self.method not in methods

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
