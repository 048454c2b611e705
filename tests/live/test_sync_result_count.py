"""The order list's "N results" line follows live changes through the same sync as its rows: the list sends
its filters and search, and the answer counts them again whenever it carries the queue counts (asked for, or
a row the page had seen moved)."""

import html
import re

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import translation

from operators.models import OperatorPreference
from operators.services import orders_assign
from tests.factories import OrderFactory

SYNC = reverse("live:sync")
ORDER_LIST = reverse("admin:orders_order_changelist")
# A list's first tick: session, user, permissions (2), the rows' tokens, the rows (all new to the page), the
# bell, the queue counts (the holds' counters, unassigned open, on hold, all). A list that is a queue takes
# its queue's count; any other counts again: the ChangeList's filter choices (several stores, operators,
# statuses) and its count.
# PostgreSQL asks the planner first: all orders' estimate (then counted, a small table), and the search's
# bound and estimate, as the list page does.
QUEUE_TICK_QUERIES = {"sqlite": 11, "postgresql": 12}
SEARCH_TICK_QUERIES = {"sqlite": 15, "postgresql": 17}


def list_query(client: Client, query: str = "") -> str:
    page = client.get(f"{ORDER_LIST}?{query}").content.decode()
    return html.unescape(re.search(r'data-list-query="([^"]*)"', page).group(1))


def known(answer: dict) -> str:
    return ",".join(f"{row['id']}.{row['token']}" for row in answer["rows"])


def test_the_list_sends_its_filters_and_search_without_its_sort_and_page(client, operator):
    client.force_login(operator)
    assert list_query(client, "held=open&q=Anna&o=2&p=1") == "held=open&q=Anna"
    assert list_query(client) == ""


def test_the_results_count_follows_a_colleagues_take_with_the_rows(client, operator, other_operator):
    orders = OrderFactory.create_batch(3)
    client.force_login(operator)
    query = list_query(client, "held=open")
    ids = ",".join(f"{order.pk}." for order in orders)
    first = client.get(SYNC, {"orders": ids, "list": query, "queues": "1"}).json()
    assert first["result_count"] == {
        "count": 3,
        "estimated": False,
        "results": "3 results",
        "orders": "3 orders",
    }

    # Nothing moved and the counts are not due: no count either.
    quiet = client.get(SYNC, {"orders": known(first), "list": query}).json()
    assert "result_count" not in quiet and "queues" not in quiet

    orders_assign(actor=other_operator, order_ids=[orders[0].pk])
    moved = client.get(SYNC, {"orders": known(first), "list": query}).json()
    assert [row["id"] for row in moved["rows"]] == [orders[0].pk]
    assert moved["result_count"]["count"] == 2
    assert moved["result_count"]["results"] == "2 results"
    assert moved["queues"]["open"]["count"] == 2


def test_the_count_is_the_lists_own_search_and_filters(client, operator):
    OrderFactory(customer_name="Zofia Wiśniewska")
    OrderFactory.create_batch(2, customer_name="Petar Petrov")
    client.force_login(operator)
    answer = client.get(SYNC, {"queues": "1", "list": "held=open&q=Wiśniewska"}).json()
    assert answer["result_count"]["results"] == "1 result"
    assert answer["result_count"]["orders"] == "1 order"
    everything = client.get(SYNC, {"queues": "1", "list": ""}).json()
    assert everything["result_count"]["count"] == 3


def test_the_count_speaks_the_viewers_language(client, operator):
    OperatorPreference.objects.create(user=operator, language="bg", time_zone="Europe/Sofia")
    OrderFactory.create_batch(2)
    client.force_login(operator)
    client.get(ORDER_LIST)  # the session takes the person's language
    answer = client.get(SYNC, {"queues": "1", "list": "held=open"}).json()
    with translation.override("bg"):
        assert answer["result_count"]["results"] == "2 резултата"
        assert answer["result_count"]["orders"] == "2 поръчки"


@pytest.mark.parametrize("query", ["operator=someone", "created_at__gte=not-a-date"])
def test_a_list_query_the_list_would_refuse_is_a_400_that_says_so(client, operator, query):
    client.force_login(operator)
    response = client.get(SYNC, {"queues": "1", "list": query})
    assert response.status_code == 400
    assert response.json()["message"] == (f"The list's filters {query} are not ones the order list takes.")


@pytest.mark.parametrize(
    ("query", "pinned"), [("held=open", QUEUE_TICK_QUERIES), ("held=open&q=Petrov", SEARCH_TICK_QUERIES)]
)
def test_a_list_tick_with_the_counts_costs_pinned_queries(
    client, operator, django_assert_num_queries, query, pinned
):
    orders = OrderFactory.create_batch(5, customer_name="Petar Petrov")
    client.force_login(operator)
    ids = ",".join(f"{order.pk}." for order in orders)
    with django_assert_num_queries(pinned[connection.vendor]):
        answer = client.get(SYNC, {"orders": ids, "list": query, "queues": "1", "bell": "1"}).json()
    assert answer["result_count"]["count"] == 5
