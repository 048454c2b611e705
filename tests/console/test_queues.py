"""The navigation's saved queues: what each one lists, their counts, and where a person lands."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from operators.services import orders_assign
from orders.models import Order
from tests.console.test_admin import CHANGELIST
from tests.factories import OrderFactory

QUEUES = reverse("admin:orders_order_queues")


def world(operator, other_operator):
    mine = OrderFactory()
    theirs = OrderFactory()
    free_open = OrderFactory.create_batch(2)
    free_done = OrderFactory(status_id="complete")
    waiting = OrderFactory(status_id="on_hold")
    orders_assign(actor=operator, order_ids=[mine.pk])
    orders_assign(actor=other_operator, order_ids=[theirs.pk])
    return mine, theirs, free_open, free_done, waiting


def test_each_queue_lists_what_it_says_and_its_count_agrees(client, operator, other_operator):
    mine, theirs, free_open, free_done, waiting = world(operator, other_operator)
    client.force_login(operator)
    counts = client.get(QUEUES).json()["queues"]
    listed = {
        "mine": {mine.pk},
        "open": {order.pk for order in free_open} | {waiting.pk},
        "others": {theirs.pk},
        "on_hold": {waiting.pk},
        "all": set(Order.objects.values_list("pk", flat=True)),
    }
    params = {
        "mine": {"held": "mine"},
        "open": {"held": "open"},
        "others": {"held": "others"},
        "on_hold": {"status__code__exact": "on_hold"},
        "all": {},
    }
    for key, expected in listed.items():
        rows = client.get(CHANGELIST, params[key]).context["cl"].result_list
        assert {order.pk for order in rows} == expected, key
        assert counts[key] == {"count": len(expected), "estimated": False}, key
    assert free_done.pk not in listed["open"]  # finished work is not "open"


def test_the_counts_cost_five_counts_and_the_list_keeps_its_budget(
    client, operator, other_operator, django_assert_max_num_queries
):
    world(operator, other_operator)
    client.force_login(operator)
    client.get(QUEUES)
    # The session, the user, two for permissions, five counts (and on PostgreSQL the planner's row count
    # of all orders, read before counting a small table exactly).
    with django_assert_max_num_queries(10):
        client.get(QUEUES)
    # The open queue costs what the unassigned filter costs (8 at 1,000,000 orders: bench/RESULTS.md).
    client.get(CHANGELIST)
    with CaptureQueriesContext(connection) as unassigned_page:
        client.get(CHANGELIST, {"held": "unassigned"})
    with CaptureQueriesContext(connection) as open_page:
        client.get(CHANGELIST, {"held": "open"})
    assert len(open_page) == len(unassigned_page) <= 9


def test_the_navigation_offers_the_queues_and_marks_the_current_one(client, operator):
    client.force_login(operator)
    page = client.get(CHANGELIST, {"held": "open"}).content.decode()
    for label in ("My orders", "Unassigned open", "Held by others", "On hold", "All orders"):
        assert label in page
    assert 'aria-current="page" data-queue="open"' in page
    assert f'data-queue-counts="{QUEUES}"' in page


def test_after_login_an_operator_lands_on_their_working_queue(client, operator):
    client.force_login(operator)
    assert client.get("/admin/")["Location"] == f"{CHANGELIST}?held=open"
    orders_assign(actor=operator, order_ids=[OrderFactory().pk])
    assert client.get("/admin/")["Location"] == f"{CHANGELIST}?held=mine"


def test_people_without_orders_still_get_the_admin_index(client, staff_without_role):
    client.force_login(staff_without_role)
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize(
    ("query", "title"),
    [
        ({"held": "mine"}, "My orders"),
        ({"held": "open", "o": "-3", "p": "2"}, "Unassigned open"),  # sorted, page 2: still that queue
        ({"status__code__exact": "on_hold"}, "On hold"),
        ({}, "All orders"),
        ({"held": "open", "q": "ivanova"}, "Orders"),  # a search within a queue is no longer that queue
    ],
)
def test_the_list_is_titled_by_its_queue(client, operator, query, title):
    OrderFactory.create_batch(3)
    client.force_login(operator)
    page = client.get(CHANGELIST, query).content.decode()
    assert f"<title>{title} | orderops</title>" in page
    assert f"<h1>{title}</h1>" in page
    assert "Select order to change" not in page


def test_the_order_page_is_titled_by_its_number_and_its_customer(client, operator):
    order = OrderFactory(number="100427", customer_name="Anna Müller")
    client.force_login(operator)
    page = client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()
    assert "<title>Anna Müller | Order #100427 | orderops</title>" in page
    assert "<h1>Order #100427</h1>" in page and "<h2>Anna Müller</h2>" in page
    assert "Change order" not in page and "View order" not in page
