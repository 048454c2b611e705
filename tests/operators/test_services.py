"""The assignment services: every outcome, for every role."""

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.utils import timezone

from operators.models import Assignment, AssignmentLog
from operators.services import (
    holds_expire,
    order_claim_next,
    orders_assign,
    orders_reassign,
    orders_release,
    orders_take_over,
)
from orders.models import OrderStatus
from orders.results import Code, Outcome, RequestRefused
from tests.factories import OperatorFactory, OrderFactory
from tests.replay import assert_log_replays_to_holds

Action = AssignmentLog.Action


def holder_of(order):
    hold = Assignment.objects.filter(order=order).first()
    return hold.operator if hold else None


def log_actions(order):
    return list(AssignmentLog.objects.filter(order=order).order_by("id").values_list("action", flat=True))


@pytest.fixture
def orders(db):
    return OrderFactory.create_batch(3)


# --- assign --------------------------------------------------------------------------------------------


def test_operator_assigns_free_orders_to_themselves(operator, orders):
    result = orders_assign(actor=operator, order_ids=[order.pk for order in orders])

    assert [item.outcome for item in result] == [Outcome.DONE] * 3
    assert all(holder_of(order) == operator for order in orders)
    entry = AssignmentLog.objects.get(order=orders[0])
    assert (entry.action, entry.operator, entry.actor) == (Action.ASSIGNED, operator, operator)
    assert_log_replays_to_holds()


def test_bulk_assign_reports_orders_held_by_others_already_yours_final_and_missing(
    operator, other_operator, orders
):
    orders_assign(actor=other_operator, order_ids=[orders[0].pk])
    orders_assign(actor=operator, order_ids=[orders[1].pk])
    complete = OrderFactory(status=OrderStatus.objects.get(code="complete"))

    result = orders_assign(
        actor=operator, order_ids=[orders[0].pk, orders[1].pk, orders[2].pk, complete.pk, 999999]
    )

    by_order = result.by_order()
    assert by_order[orders[0].pk].outcome == Outcome.HELD_BY
    assert by_order[orders[0].pk].holder == other_operator
    assert by_order[orders[0].pk].message == f"#{orders[0].number} is held by Ivan"
    assert by_order[orders[1].pk].outcome == Outcome.ALREADY_YOURS
    assert by_order[orders[2].pk].outcome == Outcome.DONE
    assert by_order[complete.pk].outcome == Outcome.FINAL_STATUS
    assert "is Complete" in by_order[complete.pk].message
    assert by_order[999999].outcome == Outcome.NOT_FOUND
    assert by_order[999999].message == "order id 999999 does not exist"
    assert holder_of(orders[0]) == other_operator
    assert holder_of(complete) is None
    assert AssignmentLog.objects.count() == 3


def test_duplicate_ids_are_reported_once_in_request_order(operator, orders):
    result = orders_assign(actor=operator, order_ids=[orders[2].pk, orders[0].pk, orders[2].pk])
    assert [item.order_id for item in result] == [orders[2].pk, orders[0].pk]
    assert AssignmentLog.objects.count() == 2


@pytest.mark.parametrize("bad_id", ["abc", None, -3, "1; DROP TABLE orders_order"])
def test_assign_refuses_ids_that_are_not_ids_and_changes_nothing(operator, orders, bad_id):
    with pytest.raises(RequestRefused, match="is not an order id"):
        orders_assign(actor=operator, order_ids=[orders[0].pk, bad_id])
    assert not Assignment.objects.exists()


def test_assign_refuses_more_orders_than_the_bulk_limit(operator, orders, settings):
    settings.ORDEROPS = {"BULK_MAX_ORDERS": 2}
    with pytest.raises(RequestRefused, match="3 orders were selected; at most 2"):
        orders_assign(actor=operator, order_ids=[order.pk for order in orders])
    assert not Assignment.objects.exists()


@pytest.mark.parametrize("actor_fixture", ["staff_without_role", "inactive_operator"])
def test_users_without_an_active_operator_role_cannot_take_orders(request, actor_fixture, orders):
    actor = request.getfixturevalue(actor_fixture)
    with pytest.raises(RequestRefused, match="Nothing was assigned"):
        orders_assign(actor=actor, order_ids=[orders[0].pk])
    assert not Assignment.objects.exists()
    assert not AssignmentLog.objects.exists()


def test_superuser_takes_orders_without_a_group(superuser, orders):
    assert orders_assign(actor=superuser, order_ids=[orders[0].pk]).done_ids == [orders[0].pk]


def test_operator_cannot_assign_to_someone_else(operator, other_operator, orders):
    with pytest.raises(RequestRefused, match="may not assign orders to other operators"):
        orders_assign(actor=operator, order_ids=[orders[0].pk], operator=other_operator)
    assert not Assignment.objects.exists()


def test_supervisor_assigns_to_an_operator_and_is_recorded_as_assigner(supervisor, operator, orders):
    result = orders_assign(actor=supervisor, order_ids=[orders[0].pk], operator=operator)
    assert result.done_ids == [orders[0].pk]
    hold = Assignment.objects.get(order=orders[0])
    assert (hold.operator, hold.assigned_by) == (operator, supervisor)
    entry = AssignmentLog.objects.get(order=orders[0])
    assert (entry.operator, entry.actor) == (operator, supervisor)


@pytest.mark.parametrize("target_fixture", ["staff_without_role", "inactive_operator"])
def test_supervisor_cannot_assign_to_users_outside_the_roles(request, supervisor, orders, target_fixture):
    target = request.getfixturevalue(target_fixture)
    with pytest.raises(RequestRefused, match="Nothing was assigned"):
        orders_assign(actor=supervisor, order_ids=[orders[0].pk], operator=target)
    assert not Assignment.objects.exists()


def test_capacity_caps_how_many_orders_one_operator_holds(operator, settings):
    settings.ORDEROPS = {"MAX_HELD_PER_OPERATOR": 2}
    first, second, third = OrderFactory.create_batch(3)
    orders_assign(actor=operator, order_ids=[first.pk])

    result = orders_assign(actor=operator, order_ids=[second.pk, third.pk])

    assert [item.outcome for item in result] == [Outcome.DONE, Outcome.AT_CAPACITY]
    assert "Anna already holds 2 orders, the most allowed" in result.by_order()[third.pk].message
    assert Assignment.objects.filter(operator=operator).count() == 2


# --- release -------------------------------------------------------------------------------------------


def test_holder_releases_their_orders(operator, orders):
    orders_assign(actor=operator, order_ids=[orders[0].pk])
    result = orders_release(actor=operator, order_ids=[orders[0].pk, orders[1].pk, 999999])
    assert [item.outcome for item in result] == [Outcome.DONE, Outcome.NOT_HELD, Outcome.NOT_FOUND]
    assert holder_of(orders[0]) is None
    assert log_actions(orders[0]) == [Action.ASSIGNED, Action.RELEASED]
    assert_log_replays_to_holds()


def test_release_is_refused_to_others_naming_the_holder(operator, other_operator, staff_without_role, orders):
    orders_assign(actor=operator, order_ids=[orders[0].pk])
    for outsider in (other_operator, staff_without_role):
        result = orders_release(actor=outsider, order_ids=[orders[0].pk])
        refusal = result.outcomes[0]
        assert refusal.outcome == Outcome.NOT_ALLOWED
        assert refusal.holder == operator
        assert refusal.message.startswith(f"#{orders[0].number}: held by Anna")
    assert holder_of(orders[0]) == operator
    assert log_actions(orders[0]) == [Action.ASSIGNED]


def test_whoever_assigned_a_hold_may_release_it(roles, operator, other_operator, orders):
    lead = OperatorFactory(username="lead")
    lead.user_permissions.add(Permission.objects.get(codename="assign_others"))
    lead = get_user_model().objects.get(pk=lead.pk)  # a fresh object: permissions are cached per instance
    orders_assign(actor=lead, order_ids=[orders[0].pk], operator=operator)

    assert orders_release(actor=other_operator, order_ids=[orders[0].pk], reason="mine now").done_ids == []
    released = orders_release(actor=lead, order_ids=[orders[0].pk], reason="Anna is needed elsewhere")
    assert released.done_ids == [orders[0].pk]


@pytest.mark.parametrize("releaser_fixture", ["supervisor", "superuser"])
def test_supervisors_release_any_hold(request, operator, orders, releaser_fixture):
    releaser = request.getfixturevalue(releaser_fixture)
    orders_assign(actor=operator, order_ids=[orders[0].pk])
    released = orders_release(actor=releaser, order_ids=[orders[0].pk], reason="the customer called me")
    assert released.done_ids == [orders[0].pk]
    entry = AssignmentLog.objects.filter(order=orders[0]).last()
    assert (entry.action, entry.operator, entry.actor) == (Action.RELEASED, operator, releaser)
    assert entry.reason == "the customer called me"


def test_releasing_a_colleagues_hold_without_a_reason_releases_nothing_and_names_them(
    operator, other_operator, supervisor, orders
):
    orders_assign(actor=operator, order_ids=[orders[0].pk])
    orders_assign(actor=other_operator, order_ids=[orders[1].pk])
    orders_assign(actor=supervisor, order_ids=[orders[2].pk])
    logged = AssignmentLog.objects.count()
    for blank in ("", "   "):
        with pytest.raises(RequestRefused) as refused:
            orders_release(actor=supervisor, order_ids=[o.pk for o in orders[:3]], reason=blank)
        assert refused.value.code == Code.NEEDS_REASON
        message = refused.value.message
        assert f"#{orders[0].number}" in message and f"#{orders[1].number}" in message
        assert f"#{orders[2].number}" not in message  # the supervisor's own hold needs none
        assert operator.get_full_name() in message and other_operator.get_full_name() in message
    # Nothing partial: the supervisor's own hold was not released either.
    assert [holder_of(o) for o in orders[:3]] == [operator, other_operator, supervisor]
    assert AssignmentLog.objects.count() == logged


def test_a_person_releases_their_own_hold_without_a_reason(operator, orders):
    orders_assign(actor=operator, order_ids=[orders[0].pk])
    assert orders_release(actor=operator, order_ids=[orders[0].pk]).done_ids == [orders[0].pk]
    assert AssignmentLog.objects.filter(order=orders[0]).last().reason == ""


def test_a_stranger_is_refused_as_not_allowed_before_any_reason_is_asked(operator, other_operator, orders):
    orders_assign(actor=operator, order_ids=[orders[0].pk])
    result = orders_release(actor=other_operator, order_ids=[orders[0].pk])
    assert [item.outcome for item in result] == [Code.NOT_ALLOWED]
    assert holder_of(orders[0]) == operator


def test_inactive_user_releases_nothing(operator, inactive_operator, orders):
    orders_assign(actor=operator, order_ids=[orders[0].pk])
    with pytest.raises(RequestRefused, match="inactive"):
        orders_release(actor=inactive_operator, order_ids=[orders[0].pk])
    assert holder_of(orders[0]) == operator


# --- take over and reassign ----------------------------------------------------------------------------


def test_supervisor_takes_over_with_a_reason_in_one_step(supervisor, operator, orders):
    orders_assign(actor=operator, order_ids=[orders[0].pk])
    result = orders_take_over(
        actor=supervisor, order_ids=[orders[0].pk, orders[1].pk], reason=" Anna is ill "
    )

    assert [item.outcome for item in result] == [Outcome.DONE, Outcome.DONE]
    assert result.outcomes[0].holder == operator
    assert holder_of(orders[0]) == supervisor and holder_of(orders[1]) == supervisor
    entry = AssignmentLog.objects.filter(order=orders[0]).last()
    assert (entry.action, entry.operator, entry.previous_operator, entry.actor, entry.reason) == (
        Action.TAKEN_OVER,
        supervisor,
        operator,
        supervisor,
        "Anna is ill",
    )
    assert log_actions(orders[1]) == [Action.ASSIGNED]
    assert_log_replays_to_holds()


def test_take_over_needs_a_reason(supervisor, operator, orders):
    orders_assign(actor=operator, order_ids=[orders[0].pk])
    with pytest.raises(RequestRefused, match="needs a reason"):
        orders_take_over(actor=supervisor, order_ids=[orders[0].pk], reason="  ")
    assert holder_of(orders[0]) == operator


@pytest.mark.parametrize("actor_fixture", ["other_operator", "staff_without_role", "inactive_operator"])
def test_only_supervisors_take_over(request, operator, orders, actor_fixture):
    orders_assign(actor=operator, order_ids=[orders[0].pk])
    with pytest.raises(RequestRefused, match="not a supervisor"):
        orders_take_over(
            actor=request.getfixturevalue(actor_fixture), order_ids=[orders[0].pk], reason="mine"
        )
    assert holder_of(orders[0]) == operator
    assert log_actions(orders[0]) == [Action.ASSIGNED]


def test_taking_over_your_own_order_is_already_yours(supervisor, orders):
    orders_assign(actor=supervisor, order_ids=[orders[0].pk])
    result = orders_take_over(actor=supervisor, order_ids=[orders[0].pk], reason="again")
    assert result.outcomes[0].outcome == Outcome.ALREADY_YOURS


def test_supervisor_reassigns_a_hold_from_one_operator_to_another(
    supervisor, operator, other_operator, orders
):
    orders_assign(actor=operator, order_ids=[orders[0].pk])
    result = orders_reassign(
        actor=supervisor, order_ids=[orders[0].pk], operator=other_operator, reason="load"
    )
    assert result.done_ids == [orders[0].pk]
    hold = Assignment.objects.get(order=orders[0])
    assert (hold.operator, hold.assigned_by) == (other_operator, supervisor)
    entry = AssignmentLog.objects.filter(order=orders[0]).last()
    assert (entry.action, entry.operator, entry.previous_operator, entry.actor) == (
        Action.REASSIGNED,
        other_operator,
        operator,
        supervisor,
    )
    assert_log_replays_to_holds()


def test_operators_cannot_reassign(operator, other_operator, orders):
    orders_assign(actor=operator, order_ids=[orders[0].pk])
    with pytest.raises(RequestRefused, match="may not assign orders to other operators"):
        orders_reassign(actor=operator, order_ids=[orders[0].pk], operator=other_operator)
    assert holder_of(orders[0]) == operator


# --- claim next ----------------------------------------------------------------------------------------


def test_claim_next_takes_the_oldest_free_order_in_a_claimable_status(operator, other_operator):
    on_hold = OrderStatus.objects.get(code="on_hold")
    oldest_on_hold = OrderFactory(status=on_hold, created_at=timezone.now() - timedelta(days=90))
    held, free, newer = OrderFactory.create_batch(3)
    orders_assign(actor=other_operator, order_ids=[held.pk])

    first = order_claim_next(actor=operator)
    second = order_claim_next(actor=operator)

    assert (first.outcome, first.order) == (Outcome.DONE, free)
    assert first.message == f"Order #{free.number} is now yours."
    assert second.order == newer
    assert holder_of(oldest_on_hold) is None
    assert log_actions(free) == [Action.ASSIGNED]


def test_claim_next_says_when_there_is_nothing_to_take(operator):
    OrderFactory(status=OrderStatus.objects.get(code="complete"))
    result = order_claim_next(actor=operator)
    assert (result.outcome, result.order) == (Outcome.NOT_FOUND, None)
    assert result.message == "There is no unassigned order to take right now."


def test_claim_next_respects_capacity(operator, settings):
    settings.ORDEROPS = {"MAX_HELD_PER_OPERATOR": 1}
    OrderFactory.create_batch(2)
    assert order_claim_next(actor=operator).outcome == Outcome.DONE
    refused = order_claim_next(actor=operator)
    assert refused.outcome == Outcome.AT_CAPACITY
    assert "you already hold 1 orders, the most allowed" in refused.message
    assert Assignment.objects.count() == 1


def test_claim_next_uses_the_configured_statuses(operator, settings):
    settings.ORDEROPS = {"CLAIMABLE_STATUSES": ["on_hold"]}
    OrderFactory()
    waiting = OrderFactory(status=OrderStatus.objects.get(code="on_hold"))
    assert order_claim_next(actor=operator).order == waiting


@pytest.mark.parametrize("actor_fixture", ["staff_without_role", "inactive_operator"])
def test_claim_next_refuses_users_without_an_operator_role(request, actor_fixture, orders):
    result = order_claim_next(actor=request.getfixturevalue(actor_fixture))
    assert result.outcome == Outcome.NOT_ALLOWED
    assert not Assignment.objects.exists()


# --- expiry --------------------------------------------------------------------------------------------


def test_idle_holds_expire_and_active_ones_stay(operator, other_operator, orders, settings):
    settings.ORDEROPS = {"HOLD_IDLE_TIMEOUT": 3600}
    orders_assign(actor=operator, order_ids=[orders[0].pk])
    orders_assign(actor=other_operator, order_ids=[orders[1].pk])
    Assignment.objects.filter(order=orders[0]).update(last_activity_at=timezone.now() - timedelta(hours=2))

    result = holds_expire()

    assert result.done_ids == [orders[0].pk]
    assert result.outcomes[0].holder == operator
    assert holder_of(orders[0]) is None and holder_of(orders[1]) == other_operator
    entry = AssignmentLog.objects.filter(order=orders[0]).last()
    assert (entry.action, entry.operator, entry.actor) == (Action.EXPIRED, operator, None)
    assert "idle for more than 1h" in entry.reason
    assert_log_replays_to_holds()


def test_expiry_without_a_timeout_is_refused(orders):
    with pytest.raises(RequestRefused, match="no idle timeout is configured"):
        holds_expire()


def test_activity_on_a_held_order_postpones_its_expiry(operator, orders):
    from orders.services import order_comment_add

    orders_assign(actor=operator, order_ids=[orders[0].pk])
    Assignment.objects.filter(order=orders[0]).update(last_activity_at=timezone.now() - timedelta(hours=2))
    order_comment_add(actor=operator, order_id=orders[0].pk, body="Called the customer.")

    assert holds_expire(idle=timedelta(hours=1)).done_ids == []
    assert holder_of(orders[0]) == operator


# --- system releases (commands) ------------------------------------------------------------------------


def test_system_release_frees_any_hold_and_logs_no_person(operator, other_operator, orders):
    from operators.services import holds_release

    orders_assign(actor=operator, order_ids=[orders[0].pk])
    orders_assign(actor=other_operator, order_ids=[orders[1].pk])

    result = holds_release(order_ids=[orders[0].pk, orders[1].pk, orders[2].pk, 999999], reason="Anna is ill")

    assert [item.outcome for item in result] == [
        Outcome.DONE,
        Outcome.DONE,
        Outcome.NOT_HELD,
        Outcome.NOT_FOUND,
    ]
    assert [item.holder for item in result.done] == [operator, other_operator]
    assert not Assignment.objects.exists()
    entry = AssignmentLog.objects.filter(order=orders[0]).last()
    assert (entry.action, entry.operator, entry.actor, entry.reason) == (
        Action.RELEASED,
        operator,
        None,
        "Anna is ill",
    )
    assert_log_replays_to_holds()


# --- input limits live in the services ----------------------------------------------------------------


@pytest.mark.parametrize("service", ["take over", "transfer", "release", "system release"])
def test_a_reason_longer_than_the_limit_is_refused_by_the_service_and_changes_nothing(
    operator, other_operator, supervisor, orders, service, settings
):
    from operators.services import holds_release
    from orders.results import Code

    settings.ORDEROPS = {"REASON_MAX_LENGTH": 20}
    orders_assign(actor=operator, order_ids=[orders[0].pk])
    before = list(AssignmentLog.objects.values_list("id", flat=True))
    calls = {
        "take over": lambda reason: orders_take_over(
            actor=supervisor, order_ids=[orders[0].pk], reason=reason
        ),
        "transfer": lambda reason: orders_reassign(
            actor=supervisor, order_ids=[orders[0].pk], operator=other_operator, reason=reason
        ),
        "release": lambda reason: orders_release(actor=operator, order_ids=[orders[0].pk], reason=reason),
        "system release": lambda reason: holds_release(order_ids=[orders[0].pk], reason=reason),
    }
    with pytest.raises(RequestRefused, match="at most 20 characters; this one has 21") as refused:
        calls[service]("x" * 21)
    assert refused.value.code == Code.TOO_LONG
    assert holder_of(orders[0]) == operator
    assert list(AssignmentLog.objects.values_list("id", flat=True)) == before
    assert calls[service]("x" * 20).done_ids == [orders[0].pk]  # the limit itself is allowed


def test_a_take_over_without_a_reason_says_so_with_its_code(supervisor, operator, orders):
    from orders.results import Code

    orders_assign(actor=operator, order_ids=[orders[0].pk])
    with pytest.raises(RequestRefused, match="a take-over needs a reason") as refused:
        orders_take_over(actor=supervisor, order_ids=[orders[0].pk], reason="   ")
    assert refused.value.code == Code.NEEDS_REASON


def test_refused_requests_carry_a_code(operator, staff_without_role, inactive_operator, orders, settings):
    from orders.results import Code

    codes = {}
    for name, call in {
        "inactive": lambda: orders_release(actor=inactive_operator, order_ids=[orders[0].pk]),
        "no role": lambda: orders_assign(actor=staff_without_role, order_ids=[orders[0].pk]),
        "not an id": lambda: orders_assign(actor=operator, order_ids=["x"]),
        "too many": lambda: orders_assign(actor=operator, order_ids=range(1, 10_002)),
        "no timeout": lambda: holds_expire(),
    }.items():
        with pytest.raises(RequestRefused) as refused:
            call()
        codes[name] = refused.value.code
    assert codes == {
        "inactive": Code.INACTIVE,
        "no role": Code.NOT_ALLOWED,
        "not an id": Code.INVALID_INPUT,
        "too many": Code.TOO_MANY,
        "no timeout": Code.NOT_CONFIGURED,
    }


def test_each_service_call_writes_one_structured_log_line(operator, other_operator, orders, caplog):
    orders_assign(actor=other_operator, order_ids=[orders[0].pk])
    caplog.clear()
    with caplog.at_level("INFO", logger="orderops"):
        orders_assign(actor=operator, order_ids=[order.pk for order in orders])
    (record,) = [record for record in caplog.records if record.name == "orderops"]
    assert (record.action, record.actor, record.outcomes) == (
        "orders_assign",
        "anna",
        {"done": 2, "held_by": 1},
    )
