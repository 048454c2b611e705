"""The order services: guarded status changes with auto-release, guarded edits, open comments."""

import pytest

from operators.models import Assignment, AssignmentLog
from operators.services import orders_assign
from orders.models import Order, OrderComment, OrderStatus
from orders.results import OrderLocked, Outcome, RequestRefused
from orders.services import order_comment_add, order_update, orders_status_set
from orders.signals import order_status_changed
from tests.factories import OrderFactory
from tests.replay import assert_log_replays_to_holds

Action = AssignmentLog.Action


@pytest.fixture
def orders(db):
    return OrderFactory.create_batch(3)


def status_of(order) -> str:
    return Order.objects.values_list("status_id", flat=True).get(pk=order.pk)


# --- status changes ------------------------------------------------------------------------------------


def test_holder_completes_orders_and_their_holds_are_released(operator, orders):
    orders_assign(actor=operator, order_ids=[orders[0].pk, orders[1].pk])

    result = orders_status_set(actor=operator, order_ids=[orders[0].pk, orders[1].pk], status_code="complete")

    assert result.done_ids == [orders[0].pk, orders[1].pk]
    assert status_of(orders[0]) == "complete"
    assert not Assignment.objects.exists()
    entry = AssignmentLog.objects.filter(order=orders[0]).last()
    assert (entry.action, entry.operator, entry.actor) == (Action.AUTO_RELEASED, operator, operator)
    assert entry.reason == "status set to Complete"
    assert_log_replays_to_holds()


def test_status_change_is_refused_per_order_to_non_holders(operator, other_operator, orders):
    orders_assign(actor=operator, order_ids=[orders[0].pk])
    orders_assign(actor=other_operator, order_ids=[orders[1].pk])

    result = orders_status_set(
        actor=other_operator,
        order_ids=[orders[0].pk, orders[1].pk, orders[2].pk, 999999],
        status_code="on_hold",
    )

    by_order = result.by_order()
    assert by_order[orders[0].pk].outcome == Outcome.HELD_BY
    assert by_order[orders[0].pk].message == f"#{orders[0].number} is held by Anna"
    assert by_order[orders[1].pk].outcome == Outcome.DONE
    assert by_order[orders[2].pk].outcome == Outcome.NOT_HELD
    assert "assign it to yourself first" in by_order[orders[2].pk].message
    assert by_order[999999].outcome == Outcome.NOT_FOUND
    assert [status_of(order) for order in orders] == ["pending", "on_hold", "pending"]


def test_without_edit_requires_hold_anyone_changes_unheld_orders(operator, other_operator, orders, settings):
    settings.ORDEROPS = {"EDIT_REQUIRES_HOLD": False}
    orders_assign(actor=operator, order_ids=[orders[0].pk])
    result = orders_status_set(actor=other_operator, order_ids=[o.pk for o in orders], status_code="on_hold")
    assert [item.outcome for item in result] == [Outcome.HELD_BY, Outcome.DONE, Outcome.DONE]


@pytest.mark.parametrize("actor_fixture", ["supervisor", "superuser"])
def test_supervisors_change_any_order_and_release_its_hold(request, operator, orders, actor_fixture):
    actor = request.getfixturevalue(actor_fixture)
    orders_assign(actor=operator, order_ids=[orders[0].pk])
    assert orders_status_set(actor=actor, order_ids=[orders[0].pk], status_code="canceled").done_ids == [
        orders[0].pk
    ]
    entry = AssignmentLog.objects.filter(order=orders[0]).last()
    assert (entry.action, entry.operator, entry.actor) == (Action.AUTO_RELEASED, operator, actor)


@pytest.mark.parametrize(
    ("actor_fixture", "code"),
    [("staff_without_role", Outcome.NOT_ALLOWED), ("inactive_operator", Outcome.INACTIVE)],
)
def test_users_without_an_active_role_change_no_status(request, orders, actor_fixture, code):
    actor = request.getfixturevalue(actor_fixture)
    result = orders_status_set(actor=actor, order_ids=[orders[0].pk], status_code="complete")
    assert result.outcomes[0].outcome == code
    assert status_of(orders[0]) == "pending"


def test_unknown_status_is_refused_and_changes_nothing(supervisor, orders):
    with pytest.raises(RequestRefused, match="There is no order status 'shipped'"):
        orders_status_set(actor=supervisor, order_ids=[orders[0].pk], status_code="shipped")
    assert status_of(orders[0]) == "pending"


def test_setting_the_same_status_is_reported_unchanged(supervisor, orders):
    result = orders_status_set(actor=supervisor, order_ids=[orders[0].pk], status_code="pending")
    assert result.outcomes[0].outcome == Outcome.UNCHANGED
    assert result.outcomes[0].message == f"#{orders[0].number} is already Pending"


def test_a_status_flagged_releases_assignment_in_the_admin_releases_too(supervisor, operator, orders):
    OrderStatus.objects.filter(code="on_hold").update(releases_assignment=True)
    orders_assign(actor=operator, order_ids=[orders[0].pk])
    orders_status_set(actor=operator, order_ids=[orders[0].pk], status_code="on_hold")
    assert not Assignment.objects.exists()


def test_bulk_status_change_sends_one_signal_with_old_and_new_status(supervisor, orders):
    received = []

    def record(sender, **kwargs):
        received.append(kwargs)

    order_status_changed.connect(record)
    try:
        orders_status_set(actor=supervisor, order_ids=[o.pk for o in orders], status_code="processing")
    finally:
        order_status_changed.disconnect(record)
    assert len(received) == 1
    assert received[0]["order_ids"] == [o.pk for o in orders]
    assert received[0]["old_status_codes"] == {o.pk: "pending" for o in orders}
    assert received[0]["new_status"].code == "processing"
    assert received[0]["actor"] == supervisor


def test_a_plain_save_that_completes_an_order_releases_its_hold(operator, orders):
    orders_assign(actor=operator, order_ids=[orders[0].pk])
    order = Order.objects.get(pk=orders[0].pk)
    order.status = OrderStatus.objects.get(code="complete")
    order.save()

    assert not Assignment.objects.exists()
    entry = AssignmentLog.objects.filter(order=order).last()
    assert (entry.action, entry.actor) == (Action.AUTO_RELEASED, None)
    assert_log_replays_to_holds()


def test_a_save_that_leaves_the_status_alone_keeps_the_hold(operator, orders):
    orders_assign(actor=operator, order_ids=[orders[0].pk])
    order = Order.objects.get(pk=orders[0].pk)
    order.customer_phone = "+359 2 123"
    order.save()
    assert Assignment.objects.get().operator == operator


# --- edits ---------------------------------------------------------------------------------------------


def test_holder_edits_their_order_and_a_status_change_in_the_edit_auto_releases(operator, orders):
    orders_assign(actor=operator, order_ids=[orders[0].pk])
    order = Order.objects.get(pk=orders[0].pk)
    order_update(
        actor=operator,
        order_id=order.pk,
        version=order.version,
        changes={"customer_name": "Petra Novak", "status": "closed"},
    )

    assert Order.objects.get(pk=order.pk).customer_name == "Petra Novak"
    entry = AssignmentLog.objects.filter(order=order).last()
    assert (entry.action, entry.actor, entry.reason) == (
        Action.AUTO_RELEASED,
        operator,
        "status set to Closed",
    )


def test_a_stale_form_from_a_non_holder_is_refused_and_nothing_is_saved(operator, other_operator, orders):
    stale = Order.objects.get(pk=orders[0].pk)  # loaded while the order was free
    orders_assign(actor=operator, order_ids=[orders[0].pk])

    with pytest.raises(OrderLocked, match=f"#{orders[0].number} is held by Anna"):
        order_update(
            actor=other_operator,
            order_id=stale.pk,
            version=stale.version,
            changes={"customer_name": "Overwritten"},
        )
    assert Order.objects.get(pk=orders[0].pk).customer_name != "Overwritten"


def test_edit_of_an_unheld_order_needs_a_hold_first(operator, orders):
    order = Order.objects.get(pk=orders[0].pk)
    with pytest.raises(OrderLocked, match="assign it to yourself first"):
        order_update(
            actor=operator,
            order_id=order.pk,
            version=order.version,
            changes={"customer_name": "Nobody holds me"},
        )


# --- comments ------------------------------------------------------------------------------------------


def test_anyone_comments_on_an_order_held_by_someone_else(operator, other_operator, orders):
    orders_assign(actor=operator, order_ids=[orders[0].pk])
    comment = order_comment_add(actor=other_operator, order_id=orders[0].pk, body="  Customer called.  ")
    assert (comment.author, comment.body, comment.order_id) == (
        other_operator,
        "Customer called.",
        orders[0].pk,
    )
    assert Assignment.objects.get().operator == operator


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("", "a comment cannot be empty"),
        ("   \n ", "a comment cannot be empty"),
        ("x" * 5001, "a comment can have at most 5000 characters; this one has 5001"),
    ],
)
def test_empty_or_overlong_comments_are_refused(operator, orders, body, message):
    with pytest.raises(RequestRefused, match=f"#{orders[0].number}: {message}"):
        order_comment_add(actor=operator, order_id=orders[0].pk, body=body)
    assert not OrderComment.objects.exists()


@pytest.mark.parametrize("actor_fixture", ["staff_without_role", "inactive_operator"])
def test_users_who_cannot_view_orders_cannot_comment(request, orders, actor_fixture):
    with pytest.raises(RequestRefused, match="you may not view this order"):
        order_comment_add(actor=request.getfixturevalue(actor_fixture), order_id=orders[0].pk, body="hi")
    assert not OrderComment.objects.exists()


def test_comment_on_a_missing_order_is_refused(operator):
    with pytest.raises(RequestRefused, match="Order id 424242 does not exist"):
        order_comment_add(actor=operator, order_id=424242, body="hi")


def test_the_system_sets_any_status_and_releases_holds_without_naming_a_person(operator, orders):
    orders_assign(actor=operator, order_ids=[orders[0].pk])
    result = orders_status_set(
        actor=None, order_ids=[orders[0].pk], status_code="closed", reason="nightly import"
    )
    assert result.done_ids == [orders[0].pk]
    entry = AssignmentLog.objects.filter(order=orders[0]).last()
    assert (entry.action, entry.actor, entry.reason) == (
        Action.AUTO_RELEASED,
        None,
        "status set to Closed: nightly import",
    )


def test_saving_a_rebuilt_order_into_a_releasing_status_releases_its_hold(operator, orders):
    orders_assign(actor=operator, order_ids=[orders[0].pk])
    values = (
        Order.objects.filter(pk=orders[0].pk).values(*[f.attname for f in Order._meta.concrete_fields]).get()
    )
    rebuilt = Order(**values)  # a new instance (state "adding") for an existing row: saved as an UPDATE
    rebuilt.status_id = "complete"
    rebuilt.save()
    assert not Assignment.objects.exists()
    assert AssignmentLog.objects.filter(order=orders[0]).last().action == Action.AUTO_RELEASED
    assert_log_replays_to_holds()
