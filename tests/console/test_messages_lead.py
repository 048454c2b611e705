"""Messages lead somewhere: they never send an operator to an action that is impossible."""

from operators.services import orders_assign
from orders.models import Order
from tests.console.test_admin import CHANGELIST, change_url, messages_of, run_action
from tests.console.test_stale_form import form_data, login
from tests.factories import OrderFactory


def test_setting_the_status_of_a_finished_order_says_only_a_supervisor_can_reopen_it(client, operator, roles):
    done = OrderFactory(status_id="complete")
    client.force_login(operator)
    response = run_action(client, "set_status", [done], post="yes", status="processing")
    assert messages_of(response) == [
        f"#{done.number} is Complete: only a supervisor can change or reopen a finished order."
    ]
    assert Order.objects.get(pk=done.pk).status_id == "complete"


def test_set_status_on_free_orders_tells_an_operator_to_take_them_first_in_agreeing_plurals(client, operator):
    free = OrderFactory.create_batch(2)
    client.force_login(operator)
    response = run_action(client, "set_status", free, post="yes", status="on_hold")
    assert messages_of(response) == [
        f"#{free[0].number} and #{free[1].number}: nobody holds them; assign them to yourself first."
    ]


def test_a_save_that_ends_your_hold_says_so_and_does_not_offer_to_edit_again(operator):
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    client = login(operator)
    response = client.post(
        change_url(order), {**form_data(client, order), "update_status": "complete", "_continue": "1"}
    )
    assert response.status_code == 302
    said = messages_of(response)
    assert f"Your hold on #{order.number} ended: Complete is a final status." in said
    assert f"#{order.number} was saved. You can no longer change it." in said
    assert not [text for text in said if "edit it again below" in text]


def test_the_list_marks_rows_held_by_colleagues_as_locked_and_your_own(client, operator, other_operator):
    mine, theirs = OrderFactory.create_batch(2)
    orders_assign(actor=operator, order_ids=[mine.pk])
    orders_assign(actor=other_operator, order_ids=[theirs.pk])
    client.force_login(operator)
    page = client.get(CHANGELIST).content.decode()
    assert page.count('class="holder holder-you"') == 1
    assert page.count('class="holder holder-other"') == 1 and 'class="lock-icon"' in page
    assert "locked, held by</span>Ivan" in page


def test_the_list_sorts_by_holder(client, operator, other_operator):
    first, second = OrderFactory.create_batch(2)
    orders_assign(actor=other_operator, order_ids=[first.pk])
    orders_assign(actor=operator, order_ids=[second.pk])
    client.force_login(operator)
    index = next(
        i
        for i, name in enumerate(
            ["order_number", "assigned_to", "status_badge", "customer", "total", "created"]
        )
        if name == "assigned_to"
    )
    rows = client.get(CHANGELIST, {"o": str(index + 1)}).context["cl"].result_list
    held = [order.pk for order in rows if order.pk in (first.pk, second.pk)]
    assert held == [second.pk, first.pk]  # Anna before Ivan
