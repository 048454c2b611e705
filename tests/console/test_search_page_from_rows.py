"""A search of all orders reads its page from the search rows alone (issue 24, bench figure 7): the rows
carry their order's created_at, so the sort, the cut and the count join no order; only the page's orders are
read. The page is the one the list would show sorted by the orders' own created_at."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from orders.models import Order
from orders.selectors import orders_search
from tests.factories import OrderFactory

ORDERS = reverse("admin:orders_order_changelist")
ORDER_TABLE = f'"{Order._meta.db_table}"'


def shown(response) -> list[str]:
    return [order.number for order in response.context["cl"].result_list]


@pytest.fixture
def ivanovas(db):
    """Five Ivanovas created in an order that is not their ids' (and two at the same moment), and others."""
    now = timezone.now()
    ages = [3, 1, 5, 1, 4]  # hours ago
    orders = [
        OrderFactory(
            number=f"IV-{n}",
            customer_name=f"Мария Иванова {n}",
            created_at=now - timedelta(hours=age),
            status_id="pending" if n % 2 else "processing",
        )
        for n, age in enumerate(ages)
    ]
    OrderFactory.create_batch(3, customer_name="Emma Novak")
    return orders


def test_the_search_of_all_orders_is_newest_first_as_the_orders_say(client, operator, ivanovas):
    client.force_login(operator)
    response = client.get(ORDERS, {"q": "ivanova"})
    expected = list(orders_search(Order.objects.all(), "ivanova").order_by("-created_at", "-id"))
    assert shown(response) == [order.number for order in expected]
    assert shown(response) == ["IV-3", "IV-1", "IV-0", "IV-4", "IV-2"]  # the tie by the higher id first
    assert response.context["cl"].result_count == 5


def test_the_count_and_the_page_are_read_from_the_search_rows_without_the_orders(client, operator, ivanovas):
    client.force_login(operator)
    with CaptureQueriesContext(connection) as queries:
        client.get(ORDERS, {"q": "иванова"})
    counted = [query["sql"] for query in queries.captured_queries if "OVER" in query["sql"]]
    assert len(counted) == 1, counted
    assert "orders_ordersearch" in counted[0]
    assert ORDER_TABLE not in counted[0]


def test_a_changed_created_at_moves_the_order_in_the_search(client, operator, ivanovas):
    oldest = ivanovas[2]
    Order.objects.filter(pk=oldest.pk).update(created_at=timezone.now())  # a trigger carries it
    client.force_login(operator)
    assert shown(client.get(ORDERS, {"q": "ivanova"}))[0] == "IV-2"
    fetched = Order.objects.get(pk=ivanovas[0].pk)
    fetched.created_at = timezone.now() + timedelta(minutes=1)
    fetched.save()
    assert shown(client.get(ORDERS, {"q": "ivanova"}))[:2] == ["IV-0", "IV-2"]


def test_a_queue_or_a_sort_reads_the_search_through_the_orders_and_agrees(client, operator, ivanovas):
    client.force_login(operator)
    everything = shown(client.get(ORDERS, {"q": "ivanova"}))
    with CaptureQueriesContext(connection) as queries:
        pending = client.get(ORDERS, {"q": "ivanova", "status__code__exact": "pending"})
    counted = [query["sql"] for query in queries.captured_queries if "OVER" in query["sql"]]
    assert counted and ORDER_TABLE in counted[0]  # a filter on the order: through the orders
    in_status = set(Order.objects.filter(status_id="pending").values_list("number", flat=True))
    assert shown(pending) == [number for number in everything if number in in_status]


def test_the_second_page_of_a_search_continues_the_first(client, operator, db):
    now = timezone.now()
    for n in range(130):
        OrderFactory(
            number=f"PD-{n:03d}", customer_name="Petya Dimitrova", created_at=now - timedelta(minutes=n % 7)
        )
    client.force_login(operator)
    first = shown(client.get(ORDERS, {"q": "dimitrova"}))
    second = shown(client.get(ORDERS, {"q": "dimitrova", "p": "2"}))
    expected = [
        order.number
        for order in Order.objects.filter(number__startswith="PD-").order_by("-created_at", "-id")
    ]
    assert (len(first), len(second)) == (100, 30)
    assert first + second == expected
