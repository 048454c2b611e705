"""What every API view shares: problem responses, rate-limit headers, Idempotency-Key, order lookup, the
caller's permission before the body, and the body read as 400 (no JSON object) or 422 (a field refused)."""

from collections.abc import Callable
from typing import Any, cast

from django.utils.translation import gettext as _
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.views import APIView

from api import idempotency
from api.problems import CODE_STATUS, ApiProblem, ambiguous_number_problem, fields_refused_problem
from api.schema import ApiAutoSchema
from api.selectors import orders_with_holds
from operators import rules
from orderops.types import Actor
from orders.models import Order
from orders.results import Code
from orders.selectors import orders_by_number

# A rule of the rule book for one order (operators.rules.edit_refusal, take_over_refusal, ...).
OrderRule = Callable[[Actor, rules.OrderState], rules.Refusal | None]


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

    def order_id(
        self,
        number: str,
        *,
        permission: Callable[[Actor, rules.OrderState], rules.Refusal | None] | None = None,
    ) -> int:
        """The order's id, or a 404 naming it. With `permission` (a rule of operators.rules for this order),
        a refusal by the caller's permission is answered here, before the body is read (permission_first)."""
        found: list[Order] = []
        if "\x00" not in number:  # no order has one, and PostgreSQL refuses it in a query
            store = self.request.query_params.get("store")
            orders = orders_with_holds() if permission is not None else Order.objects.only("pk")
            found = list(orders_by_number(orders, number, store)[:2])
        if not found:
            raise ApiProblem(404, Code.NOT_FOUND, _("There is no order #%(number)s.") % {"number": number})
        if len(found) > 1:
            raise ambiguous_number_problem(number)
        order = found[0]
        if permission is not None:
            hold = getattr(order, "assignment", None)
            refusal = permission(self.actor, rules.order_state(order, hold))
            self.permission_first(
                refusal,
                order=number,
                holder=hold.operator.get_username() if hold is not None else None,
                since=hold.assigned_at.isoformat() if hold is not None else None,
            )
        return order.pk

    @property
    def actor(self) -> Actor:
        return cast(Actor, self.request.user)

    def permission_first(self, refusal: rules.Refusal | None, **extra: Any) -> None:
        """The permission before the values: a refusal of the caller's role, or of the rule for this order
        (a 403), answers whatever the body holds, before it is read. The order's state (its hold, its
        status: a 409) is the service's to answer, after the body."""
        if refusal is not None and CODE_STATUS.get(refusal.code) == 403:
            raise ApiProblem(403, refusal.code, refusal.message, **extra)

    def body(self, serializer_class: type[serializers.Serializer], *, number: str | None = None) -> Any:
        """The request's body as `serializer_class` reads it: a 400 when it is no JSON object (the request
        cannot be read as this operation's), a 422 naming the order and each refused field (unknown,
        missing, of the wrong type or refused by its rule) when it is one."""
        data = self.request.data
        if not isinstance(data, dict):
            raise ApiProblem(
                400,
                Code.INVALID_INPUT,
                _("The body must be a JSON object; nothing was changed."),
                **({"order": number} if number is not None else {}),
            )
        body = serializer_class(data=data)
        if not body.is_valid():
            raise fields_refused_problem(body.errors, number)
        return body.validated_data
