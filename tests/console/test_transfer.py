"""A supervisor moves orders from one operator to another in one step: from the list (Assign to an
operator…) and from the order page (Transfer), logged as reassigned; refused per order only where the rules
refuse."""

import pytest
from django.test import Client
from django.urls import reverse

from operators.models import Assignment, AssignmentLog
from operators.services import orders_assign
from tests.console.test_admin import change_url, holder_of, messages_of, run_action
from tests.factories import OperatorFactory, OrderFactory


def test_assign_to_an_operator_moves_orders_held_by_a_colleague_in_one_step(
    client, supervisor, operator, roles
):
    maria = OperatorFactory(username="maria", first_name="Maria")
    held, free = OrderFactory.create_batch(2)
    orders_assign(actor=maria, order_ids=[held.pk])
    client.force_login(supervisor)

    done = run_action(client, "assign_to_operator", [held, free], post="yes", operator=operator.pk)

    assert messages_of(done) == [f"Assigned 2 orders to Anna: #{held.number} and #{free.number}."]
    assert (holder_of(held), holder_of(free)) == (operator, operator)
    move = AssignmentLog.objects.filter(order=held).last()
    assert (move.action, move.previous_operator, move.operator, move.actor) == (
        "reassigned",
        maria,
        operator,
        supervisor,
    )


def test_the_operator_picker_shows_each_operators_load(client, supervisor, operator, orders_held_by_anna):
    client.force_login(supervisor)
    page = run_action(client, "assign_to_operator", orders_held_by_anna[:1]).content.decode()
    assert "Anna (anna) — holds 2 orders" in page


def test_a_supervisor_transfers_an_order_from_its_page(supervisor, operator, roles):
    maria = OperatorFactory(username="maria", first_name="Maria")
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    boss = Client()
    boss.force_login(supervisor)
    page = boss.get(change_url(order)).content.decode()
    assert 'id="transfer-button"' in page and "Maria — 0 orders" in page

    response = boss.post(reverse("admin:orders_order_transfer", args=[order.pk]), {"operator": maria.pk})

    assert response.status_code == 302
    assert messages_of(response) == [f"#{order.number} is now Maria's."]
    assert holder_of(order) == maria
    assert AssignmentLog.objects.filter(order=order).last().action == "reassigned"


def test_operators_are_not_offered_a_transfer_and_cannot_post_one(client, operator, other_operator):
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    client.force_login(operator)
    assert 'id="transfer-button"' not in client.get(change_url(order)).content.decode()
    response = client.post(
        reverse("admin:orders_order_transfer", args=[order.pk]), {"operator": other_operator.pk}
    )
    assert messages_of(response) == ["Nothing was reassigned: Anna may not assign orders to other operators."]
    assert holder_of(order) == operator


def test_a_transfer_to_nobody_in_the_list_changes_nothing(client, supervisor, operator):
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    client.force_login(supervisor)
    response = client.post(reverse("admin:orders_order_transfer", args=[order.pk]), {"operator": "999999"})
    assert messages_of(response) == ["Choose an operator from the list."]
    assert Assignment.objects.get().operator == operator


@pytest.fixture
def orders_held_by_anna(operator):
    orders = OrderFactory.create_batch(2)
    orders_assign(actor=operator, order_ids=[order.pk for order in orders])
    return orders
