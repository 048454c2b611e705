"""Every state-changing submit happens once: the same one-time token sent again (a double click, a re-sent
form) is answered with the first request's redirect and messages, and changes nothing more."""

import re
import threading

import pytest
from django.db import connections
from django.test import Client
from django.urls import reverse

from console.models import SubmitToken
from operators.models import Assignment
from operators.services import orders_assign
from orders.models import OrderComment
from tests.console.test_admin import change_url, messages_of
from tests.factories import OrderFactory

CLAIM = reverse("admin:orders_order_claim_next")
CHANGELIST = reverse("admin:orders_order_changelist")


def token_on(page: str) -> str:
    """The first one-time token a page's forms carry."""
    match = re.search(r'name="submit_token" value="([^"]+)"', page)
    assert match, "the page's forms carry no one-time token"
    return match.group(1)


def test_every_state_changing_form_of_the_console_carries_a_token(client, operator):
    order = OrderFactory()
    client.force_login(operator)
    page = client.get(change_url(order)).content.decode()
    # The assign button, the comment box (the form of a free order is read-only: no token there).
    assert page.count('name="submit_token"') >= 2
    listing = client.get(CHANGELIST).content.decode()
    assert listing.count('name="submit_token"') == 2  # Get next order, and the action form


def test_get_next_order_sent_twice_with_one_token_takes_one_order(client, operator):
    OrderFactory.create_batch(3)
    client.force_login(operator)
    token = token_on(client.get(CHANGELIST).content.decode())

    first = client.post(CLAIM, {"submit_token": token})
    second = client.post(CLAIM, {"submit_token": token})

    assert Assignment.objects.filter(operator=operator).count() == 1
    assert first.status_code == second.status_code == 302
    assert first["Location"] == second["Location"]  # the same order's page
    assert messages_of(second) == [f"Order #{Assignment.objects.get().order.number} is now yours."]


def test_a_comment_sent_twice_with_one_token_is_added_once(client, operator):
    order = OrderFactory()
    client.force_login(operator)
    token = token_on(client.get(change_url(order)).content.decode())
    url = reverse("admin:orders_order_comment", args=[order.pk])
    for _attempt in range(2):
        response = client.post(url, {"body": "Called the customer", "submit_token": token})
        assert response.status_code == 302
    assert OrderComment.objects.filter(order=order).count() == 1


def test_an_actions_confirmation_sent_twice_acts_once(client, supervisor, operator, other_operator):
    orders = OrderFactory.create_batch(2)
    orders_assign(actor=operator, order_ids=[orders[0].pk])
    client.force_login(supervisor)
    data = {
        "action": "take_over",
        "_selected_action": [order.pk for order in orders],
        "post": "yes",
        "reason": "Anna is ill",
        "submit_token": "one-token-for-both-clicks",
    }
    first = client.post(CHANGELIST, data)
    second = client.post(CHANGELIST, data)
    assert messages_of(first) == messages_of(second)
    assert Assignment.objects.filter(operator=supervisor).count() == 2
    assert orders[0].assignment_log.filter(action="taken_over").count() == 1


def test_a_refused_submit_is_answered_alike_and_the_page_gives_a_fresh_token(client, operator):
    order = OrderFactory()
    client.force_login(operator)
    url = reverse("admin:orders_order_comment", args=[order.pk])
    token = token_on(client.get(change_url(order)).content.decode())
    client.post(url, {"body": "   ", "submit_token": token})  # refused: empty; the page shows why
    again = client.post(url, {"body": "Now with words", "submit_token": token})  # the same submit, re-sent
    assert not OrderComment.objects.exists()
    assert again.status_code == 302
    fresh = token_on(client.get(change_url(order)).content.decode())
    assert fresh != token
    client.post(url, {"body": "Now with words", "submit_token": fresh})
    assert list(OrderComment.objects.values_list("body", flat=True)) == ["Now with words"]


def test_one_persons_token_is_not_anothers(client, operator, other_operator):
    OrderFactory.create_batch(2)
    anna, ivan = Client(), Client()
    anna.force_login(operator)
    ivan.force_login(other_operator)
    anna.post(CLAIM, {"submit_token": "shared"})
    ivan.post(CLAIM, {"submit_token": "shared"})  # not Anna's: acts for Ivan (and the token stays Anna's)
    assert Assignment.objects.filter(operator=other_operator).count() <= 1
    assert SubmitToken.objects.get(token="shared").user == operator


@pytest.mark.postgres
@pytest.mark.pgbouncer
@pytest.mark.django_db(transaction=True)
def test_one_token_sent_twice_at_the_same_moment_takes_effect_once(operator):
    """Two connections post Get next order with one token at once: one claim, both answered alike."""
    OrderFactory.create_batch(5)
    barrier = threading.Barrier(2)
    responses = [None, None]

    def post(index: int) -> None:
        try:
            client = Client(raise_request_exception=False)
            client.force_login(operator)
            barrier.wait(timeout=30)
            responses[index] = client.post(CLAIM, {"submit_token": "double-click"})
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert Assignment.objects.filter(operator=operator).count() == 1
    assert [response.status_code for response in responses] == [302, 302]
    assert responses[0]["Location"] == responses[1]["Location"]
