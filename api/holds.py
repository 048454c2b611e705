"""Holds: take, release and take over one order; the batch over many; claim next. Each answer is the hold
service's outcome; a refusal is a problem with the code, the holder and since when, its status the code's
(api.problems.CODE_STATUS: 409 when the order's hold or status is in the way, 403 when the caller may not)."""

from typing import cast

from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from api.base import ApiView, StrictSerializer
from api.conf import api_setting
from api.orders import HoldSerializer, OrderDetailSerializer, order_read, order_response
from api.problems import CODE_STATUS, ApiProblem, refusal_problem
from live.presence import orders_in_view
from operators import rules
from operators.models import Assignment
from operators.selectors import holders_eligible
from operators.services import (
    order_claim_next,
    orders_assign,
    orders_release,
    orders_take_over,
    orders_transfer,
)
from orderops.types import Actor
from orders.models import Order
from orders.results import BulkResult, Code, OrderOutcome, RequestRefused


class HoldStateSerializer(serializers.Serializer):
    order = serializers.CharField()
    outcome = serializers.CharField()
    message = serializers.CharField()
    hold = HoldSerializer(allow_null=True)


def _current_hold(order_id: int) -> Assignment | None:
    return Assignment.objects.filter(order_id=order_id).select_related("operator", "assigned_by").first()


def hold_answer(number: str, order_id: int, outcome: OrderOutcome, *, accepted: tuple[Code, ...]) -> Response:
    """The outcome for one order: its hold now when the service did it (or it was already so), otherwise
    a problem naming the order, the reason, the holder and since when."""
    assignment = _current_hold(order_id)
    if outcome.outcome in accepted:
        hold = HoldSerializer(assignment).data if assignment is not None else None
        return Response(
            {"order": number, "outcome": str(outcome.outcome), "message": outcome.message, "hold": hold}
        )
    # Refused: the status of the refusal's code, as for every other refusal.
    raise ApiProblem(
        CODE_STATUS.get(outcome.outcome, 409),
        outcome.outcome,
        outcome.message,
        order=number,
        holder=assignment.operator.get_username() if assignment is not None else None,
        since=assignment.assigned_at.isoformat() if assignment is not None else None,
    )


def operator_named(actor: Actor, username: str) -> Actor:
    """The operator a request names to hold orders. Whether a name exists is nobody's business who may not
    give holds to others: they are refused as for any other operator, before the name is looked up. Who may
    (a supervisor) gets one answer for every name that cannot hold orders, unknown, inactive or in no role
    alike."""
    if username == actor.get_username():
        return actor
    refusal = rules.actor_refusal(actor)
    if refusal is None and not rules.may_assign_others(actor):
        refusal = rules.no_assigning_others_refusal(actor)
    if refusal is not None:
        raise ApiProblem(
            CODE_STATUS[refusal.code], refusal.code, f"{refusal.message}. " + _("Nothing was changed.")
        )
    user = holders_eligible().filter(username=username).first()
    if user is None:
        raise ApiProblem(
            422,
            Code.INVALID_INPUT,
            _("%(user)r is not an active Operator or Supervisor who may hold orders. Nothing was changed.")
            % {"user": username},
        )
    return user


def _one(result: BulkResult) -> OrderOutcome:
    return result.outcomes[0]


class HoldTakeSerializer(StrictSerializer):
    operator = serializers.CharField(max_length=150, required=False)


class ReasonSerializer(StrictSerializer):
    reason = serializers.CharField(allow_blank=True, trim_whitespace=False)


class OrderHoldView(ApiView):
    idempotent = True

    @extend_schema(operation_id="hold_take", request=HoldTakeSerializer, responses=HoldStateSerializer)
    def put(self, request: Request, number: str) -> Response:
        order_id = self.order_id(number)
        self.permission_first(rules.actor_refusal(self.actor), order=number)  # may they hold any order
        username = self.body(HoldTakeSerializer, number=number).get("operator")
        operator = operator_named(cast(Actor, request.user), username) if username else None
        try:
            result = orders_assign(actor=request.user, order_ids=[order_id], operator=operator)
        except RequestRefused as refused:
            raise refusal_problem(refused, order=number) from None
        return hold_answer(number, order_id, _one(result), accepted=(Code.DONE, Code.ALREADY_YOURS))

    @extend_schema(
        operation_id="hold_release",
        request=None,
        parameters=[
            OpenApiParameter(
                "reason",
                str,
                description=(
                    "Why a colleague's hold ends (a supervisor's release, or the assigner's): required then "
                    "(422 `needs_reason` without it), logged, and told to the holder by a notification. Your "
                    "own hold needs none. The batch (`POST /api/v1/holds/batch`, action `release`) takes it "
                    "in its body."
                ),
            )
        ],
        responses={200: HoldStateSerializer},
    )
    def delete(self, request: Request, number: str) -> Response:
        order_id = self.order_id(number)
        # A query parameter, not a body: a DELETE's content has no defined meaning (RFC 9110), and proxies
        # may drop it.
        reason = request.query_params.get("reason", "")
        try:
            result = orders_release(actor=request.user, order_ids=[order_id], reason=reason)
        except RequestRefused as refused:
            raise refusal_problem(refused, order=number) from None
        return hold_answer(number, order_id, _one(result), accepted=(Code.DONE,))


class OrderTakeOverView(ApiView):
    idempotent = True

    @extend_schema(operation_id="hold_take_over", request=ReasonSerializer, responses=HoldStateSerializer)
    def post(self, request: Request, number: str) -> Response:
        order_id = self.order_id(number, permission=rules.take_over_refusal)
        reason = self.body(ReasonSerializer, number=number)["reason"]
        try:
            result = orders_take_over(actor=request.user, order_ids=[order_id], reason=reason)
        except RequestRefused as refused:
            raise refusal_problem(refused, order=number) from None
        return hold_answer(number, order_id, _one(result), accepted=(Code.DONE, Code.ALREADY_YOURS))


# --- many orders at once ------------------------------------------------------------------------------------

ACTIONS = ("assign", "release", "take_over", "transfer")


class BatchSerializer(StrictSerializer):
    action = serializers.ChoiceField(choices=ACTIONS)
    orders = serializers.ListField(child=serializers.CharField(max_length=32), allow_empty=False)
    operator = serializers.CharField(max_length=150, required=False)
    reason = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)


class BatchOutcomeSerializer(serializers.Serializer):
    order = serializers.CharField()
    code = serializers.CharField()
    holder = serializers.CharField(allow_null=True)
    detail = serializers.CharField()


class BatchResultSerializer(serializers.Serializer):
    action = serializers.CharField()
    counts = serializers.DictField(child=serializers.IntegerField())
    outcomes = BatchOutcomeSerializer(many=True)


def _batch_run(actor: Actor, action: str, ids: list[int], operator: Actor | None, reason: str) -> BulkResult:
    if action == "assign":
        return orders_assign(actor=actor, order_ids=ids, operator=operator, reason=reason)
    if action == "release":
        return orders_release(actor=actor, order_ids=ids, reason=reason)
    if action == "take_over":
        return orders_take_over(actor=actor, order_ids=ids, reason=reason)
    if operator is None:
        raise ApiProblem(422, Code.INVALID_INPUT, _("A transfer needs an operator. Nothing was changed."))
    return orders_transfer(actor=actor, order_ids=ids, operator=operator, reason=reason)


class HoldsBatchView(ApiView):
    idempotent = True

    @extend_schema(operation_id="holds_batch", request=BatchSerializer, responses=BatchResultSerializer)
    def post(self, request: Request) -> Response:
        self.permission_first(rules.actor_refusal(self.actor))  # whatever the action, they may not
        limit = api_setting("BATCH_MAX_ORDERS")
        raw = request.data.get("orders") if isinstance(request.data, dict) else None
        if isinstance(raw, list) and len(raw) > limit:
            raise ApiProblem(
                413,
                Code.TOO_MANY,
                _("%(count)s orders were sent; a batch can name at most %(limit)s. Nothing was changed.")
                % {"count": len(raw), "limit": limit},
            )
        data = self.body(BatchSerializer)
        numbers = list(dict.fromkeys(data["orders"]))
        ids = dict(Order.objects.filter(number__in=numbers).values_list("number", "pk"))
        operator = (
            operator_named(cast(Actor, request.user), data["operator"]) if data.get("operator") else None
        )
        try:
            result = _batch_run(
                cast(Actor, request.user),
                data["action"],
                [ids[n] for n in numbers if n in ids],
                operator,
                data.get("reason", ""),
            )
        except RequestRefused as refused:
            raise refusal_problem(refused) from None
        by_id = result.by_order()
        outcomes = []
        for number in numbers:
            outcome = by_id.get(ids[number]) if number in ids else None
            if outcome is None:
                outcome = OrderOutcome(0, Code.NOT_FOUND, number)
            outcomes.append(
                {
                    "order": number,
                    "code": str(outcome.outcome),
                    "holder": outcome.holder.get_username() if outcome.holder is not None else None,
                    "detail": outcome.message,
                }
            )
        counts: dict[str, int] = {}
        for item in outcomes:
            counts[item["code"]] = counts.get(item["code"], 0) + 1
        return Response({"action": data["action"], "counts": counts, "outcomes": outcomes})


class ClaimNextView(ApiView):
    idempotent = True

    @extend_schema(
        operation_id="holds_claim_next",
        description=(
            'Take the oldest unassigned order in a claimable status (ORDEROPS["CLAIMABLE_STATUSES"]), as the '
            'console\'s "Get next order" does: 200 with the order, now yours. 204, no body, when no order is '
            "waiting: nothing was taken, and that is no error (the console says so as information); ask "
            "again later. A caller who may not hold orders is refused with 403, one at the most orders they "
            "may hold with 409 `at_capacity`."
        ),
        request=None,
        responses={
            200: OrderDetailSerializer,
            204: OpenApiResponse(description="No order is waiting to be taken: nothing was taken."),
        },
    )
    def post(self, request: Request) -> Response:
        # Orders a colleague has open right now are passed over while others are free (live presence).
        claimed = order_claim_next(actor=request.user, avoid_order_ids=orders_in_view(excluding=request.user))
        if claimed.outcome == Code.NOT_FOUND:
            # No order to take is the queue's state, not a refusal (nor a missing resource): no content.
            return Response(status=204)
        if claimed.outcome != Code.DONE or claimed.order is None:
            raise ApiProblem(CODE_STATUS.get(claimed.outcome, 409), claimed.outcome, claimed.message)
        return order_response(request, order_read(claimed.order.number, order_id=claimed.order.pk))
