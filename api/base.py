"""What every API view shares: problem responses, rate-limit headers, Idempotency-Key, order lookup."""

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from api import idempotency
from api.problems import ApiProblem, ambiguous_number_problem
from api.schema import ApiAutoSchema
from orders.models import Order
from orders.results import Code
from orders.selectors import orders_by_number


class StrictSerializer(serializers.Serializer):
    """An input: a JSON object with only the fields it names (an unknown field is an error, not ignored)."""

    refuses_unknown_fields = True  # the schema says so (api.schema)

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: [_("This field is not accepted here.")] for name in unknown}
                )
        return super().to_internal_value(data)


# A thin view: parse, call one service, render its outcome. (No docstring: the schema would show it on
# every operation.)
class ApiView(APIView):
    idempotent = False  # POST and PUT accept an Idempotency-Key
    schema = ApiAutoSchema()  # its problem responses too
    # The methods the OpenAPI document lists at this route (None: all the view has); api.urls gives each
    # route its own when one view answers at two documented paths.
    schema_methods: tuple[str, ...] | None = None

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.idempotency_claim = None
        super().initial(request, *args, **kwargs)
        if self.idempotent:
            self.idempotency_claim = idempotency.idempotency_begin(request)

    def handle_exception(self, exc: Exception):
        if isinstance(exc, idempotency.Replay):
            return exc.response
        try:
            return super().handle_exception(exc)
        except Exception:
            claim = getattr(self, "idempotency_claim", None)
            if claim is not None:  # a server error: the key may be used again
                self.idempotency_claim = None
                idempotency.idempotency_abandon(claim)
            raise

    def finalize_response(self, request: Request, response, *args: Any, **kwargs: Any):
        response = super().finalize_response(request, response, *args, **kwargs)
        # Orders carry customers' names, addresses and phones: no cache on the way (a proxy, the client's
        # disk) may keep a copy. The ETag still serves a client's own If-None-Match.
        response.setdefault("Cache-Control", "no-store")
        limits = getattr(request, "ratelimit", None)
        if limits is not None:
            limit, remaining, reset = limits
            response["RateLimit-Limit"] = str(limit)
            response["RateLimit-Remaining"] = str(remaining)
            response["RateLimit-Reset"] = str(reset)
        claim = getattr(self, "idempotency_claim", None)
        if claim is not None:
            self.idempotency_claim = None
            idempotency.idempotency_finish(claim, response)
        return response

    def order_id(self, number: str) -> int:
        """The order's id, or a 404 naming it."""
        found: list[int] = []
        if "\x00" not in number:  # no order has one, and PostgreSQL refuses it in a query
            store = self.request.query_params.get("store")
            found = list(
                orders_by_number(Order.objects.all(), number, store).values_list("pk", flat=True)[:2]
            )
        if not found:
            raise ApiProblem(404, Code.NOT_FOUND, _("There is no order #%(number)s.") % {"number": number})
        if len(found) > 1:
            raise ambiguous_number_problem(number)
        return found[0]
