"""The console's "Get next order" and the API's claim-next are one service: in the same state they take the
same order (the orders a colleague has open and the ones the operator just let go of passed over alike)."""

from django.db import transaction
from django.urls import reverse

from live.presence import presence_heartbeat
from operators.models import Assignment
from operators.services import orders_assign, orders_release
from tests.api.conftest import client_for
from tests.factories import OrderFactory

CLAIM = reverse("admin:orders_order_claim_next")


class _Undone(Exception):
    pass


def claimed_by_console(client, operator) -> int | None:
    """The order the console's button takes, the state then put back as it was."""
    try:
        with transaction.atomic():
            client.post(CLAIM)
            held = Assignment.objects.filter(operator=operator).values_list("order_id", flat=True)
            taken = held.first()
            raise _Undone
    except _Undone:
        pass
    assert not Assignment.objects.filter(operator=operator).exists()
    return taken


def claimed_by_api(operator) -> int | None:
    response = client_for(operator).post("/api/v1/holds/claim-next")
    if response.status_code == 204:
        return None
    assert response.status_code == 200, response.content
    return Assignment.objects.get(operator=operator).order_id


def test_the_api_and_the_console_claim_the_same_order_in_the_same_state(client, operator, other_operator):
    let_go, in_view, next_free, _newer = OrderFactory.create_batch(4)  # oldest first
    orders_assign(actor=operator, order_ids=[let_go.pk])
    orders_release(actor=operator, order_ids=[let_go.pk])  # Anna let it go a moment ago
    presence_heartbeat(user=other_operator, tab="t1", order_id=in_view.pk, editing=False)  # Ivan has it open
    client.force_login(operator)

    by_console = claimed_by_console(client, operator)

    assert by_console == next_free.pk
    assert claimed_by_api(operator) == by_console


def test_the_api_hands_back_an_order_just_let_go_of_only_when_nothing_else_is_free(operator):
    only = OrderFactory()
    orders_assign(actor=operator, order_ids=[only.pk])
    orders_release(actor=operator, order_ids=[only.pk])

    assert claimed_by_api(operator) == only.pk


def test_the_api_does_not_hand_back_an_order_just_let_go_of(operator):
    first, second = OrderFactory.create_batch(2)
    api = client_for(operator)
    assert api.post("/api/v1/holds/claim-next").json()["number"] == first.number
    orders_release(actor=operator, order_ids=[first.pk])

    assert api.post("/api/v1/holds/claim-next").json()["number"] == second.number
