"""Races through the API on PostgreSQL: each thread an API client with its own key and connection."""

import random

import pytest
from rest_framework.test import APIClient

from api.keys import api_key_create
from operators.models import Assignment
from orders.models import Order, OrderChange, OrderComment, OrderLine
from tests.factories import OperatorFactory, SupervisorFactory
from tests.operators.test_races import make_orders, run_together
from tests.replay import assert_log_replays_to_holds

pytestmark = [pytest.mark.postgres, pytest.mark.pgbouncer, pytest.mark.django_db(transaction=True)]


def api_client(user) -> APIClient:
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_create(user=user, name='race').secret}")
    return client


def test_eight_clients_batch_assigning_overlapping_sets_hold_each_order_once(roles):
    operators = [OperatorFactory(username=f"api{index}") for index in range(8)]
    orders = make_orders(200)
    numbers = [order.number for order in orders]
    clients = [api_client(user) for user in operators]
    slices = [random.Random(index).sample(numbers, 100) for index in range(8)]

    def worker(index):
        def run(barrier):
            response = clients[index].post(
                "/api/v1/holds/batch", {"action": "assign", "orders": slices[index]}, format="json"
            )
            assert response.status_code == 200, response.content
            return response.json()

        return run

    results = run_together([worker(index) for index in range(8)])
    held = dict(Assignment.objects.values_list("order__number", "operator__username"))
    done = [
        (item["order"], operators[index].username)
        for index, result in enumerate(results)
        for item in result["outcomes"]
        if item["code"] == "done"
    ]
    assert len(done) == len({number for number, _user in done}) == len(held)
    assert dict(done) == held
    for index, result in enumerate(results):
        for item in result["outcomes"]:
            if item["code"] == "held_by":
                assert held[item["order"]] == item["holder"] != operators[index].username
    assert_log_replays_to_holds()


def test_one_idempotency_key_sent_twice_at_once_has_one_effect(roles):
    user = OperatorFactory(username="twice")
    order = make_orders(1)[0]
    client = api_client(user)

    def send(barrier):
        return client.post(
            f"/api/v1/orders/{order.number}/comments/",
            {"body": "once"},
            format="json",
            HTTP_IDEMPOTENCY_KEY="same",
        ).status_code

    statuses = run_together([send, send])
    assert OrderComment.objects.filter(order_id=order.pk).count() == 1
    assert sorted(statuses) in ([201, 201], [201, 409])


def test_a_stale_patch_never_lands(roles):
    holder = OperatorFactory(username="holder")
    boss = SupervisorFactory(username="boss2")
    order = make_orders(1)[0]
    api_client(holder).put(f"/api/v1/orders/{order.number}/hold", format="json")
    clients = {"holder": api_client(holder), "boss": api_client(boss)}

    def patch(who, city):
        def run(barrier):
            return (
                clients[who]
                .patch(
                    f"/api/v1/orders/{order.number}/",
                    {"shipping_city": city},
                    format="json",
                    HTTP_IF_MATCH='"1"',
                )
                .status_code
            )

        return run

    statuses = run_together([patch("holder", "Ruse"), patch("boss", "Burgas")])
    assert sorted(statuses) == [200, 412]
    saved = Order.objects.get(pk=order.pk)
    assert saved.version == 2
    assert saved.shipping_city == ("Ruse" if statuses[0] == 200 else "Burgas")


def test_two_patches_of_the_lines_from_one_version_land_once(roles):
    """The holder's two integrations replace the lines from the same If-Match at once: one lands whole, the
    other is 412 and leaves nothing of its own (no mix of the two lists, no line lost or doubled)."""
    holder = OperatorFactory(username="liner")
    order = make_orders(1)[0]
    kept = OrderLine.objects.create(order=order, sku="OLD", name="Old", qty=1, unit_price="1.00")
    api_client(holder).put(f"/api/v1/orders/{order.number}/hold", format="json")
    bodies = [
        {"lines": [{"id": kept.pk, "sku": "OLD", "name": "Old", "qty": 5, "unit_price": "1.00"}]},
        {
            "lines": [
                {"sku": "NEW-1", "name": "New", "qty": 1, "unit_price": "2.00"},
                {"sku": "NEW-2", "name": "New", "qty": 2, "unit_price": "3.00"},
            ]
        },
    ]
    clients = [api_client(holder), api_client(holder)]

    def patch(index):
        def run(barrier):
            return (
                clients[index]
                .patch(f"/api/v1/orders/{order.number}/", bodies[index], format="json", HTTP_IF_MATCH='"1"')
                .status_code
            )

        return run

    statuses = run_together([patch(0), patch(1)])
    assert sorted(statuses) == [200, 412]
    lines = list(OrderLine.objects.filter(order=order).order_by("id").values_list("sku", "qty"))
    if statuses[0] == 200:
        assert lines == [("OLD", 5)]
    else:
        assert lines == [("NEW-1", 1), ("NEW-2", 2)]
    assert Order.objects.get(pk=order.pk).version == 2
    assert OrderChange.objects.filter(order=order, field="lines").count() == 1
