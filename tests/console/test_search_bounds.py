"""Bounded searches (issue 26): every admin list's search and the API's q consider at most 8 words and 100
characters, and the page says so; a queue's search that finds nothing there points to all orders."""

import re

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from operators.services import orders_assign
from orderops.admin_search import BoundedSearchAdmin
from orderops.search import search_term_bound
from tests.api.conftest import client_for
from tests.factories import OrderCommentFactory, OrderFactory

ORDERS = reverse("admin:orders_order_changelist")
COMMENTS = reverse("admin:orders_ordercomment_changelist")
MANY_WORDS = " ".join(["a"] * 1000)  # issue 26's probe: 3.5 s of planning on PostgreSQL, uncapped
DISTINCT_WORDS = " ".join(f"w{n:02d}" for n in range(30))  # none inside another


def like_conditions(queries, column: str) -> int:
    """The most LIKE conditions on `column` that any one statement had: one per word the search considered."""
    # SQLite: "t"."c" LIKE ...; PostgreSQL: "t"."c"::text LIKE ..., UPPER("t"."c"::text) LIKE UPPER(...).
    condition = re.compile(re.escape(column) + r"(?:::text)?\)? LIKE ")
    return max((len(condition.findall(query["sql"])) for query in queries), default=0)


def test_a_term_is_cut_to_eight_words_and_a_hundred_characters():
    bounded = search_term_bound("  one two   three four five six seven eight nine ten ")
    assert bounded.words == ("one", "two", "three", "four", "five", "six", "seven", "eight")
    assert (bounded.words_dropped, bounded.cut_at_length) == (2, False)
    assert bounded.notice() == "Searched for the first 8 words only."

    long = search_term_bound("x" * 250)
    assert (len(long.text), long.cut_at_length, long.words_dropped) == (100, True, 0)
    assert long.notice() == "Searched for the first 100 characters only."

    assert not search_term_bound("Hannah Ivanova").capped


def test_every_admin_list_with_a_search_box_bounds_its_search():
    unbounded = [
        type(model_admin).__name__
        for model_admin in admin.site._registry.values()  # the test walks what the site registered
        if model_admin.search_fields and not isinstance(model_admin, BoundedSearchAdmin)
    ]
    assert unbounded == []


def test_the_comments_page_searches_eight_words_of_a_thousand_and_says_so(client, supervisor):
    OrderCommentFactory(body="a parcel to Plovdiv")
    client.force_login(supervisor)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(COMMENTS, {"q": MANY_WORDS})
    assert response.status_code == 200
    # One word repeated: one body condition (the numbers are looked up first, by their index).
    assert like_conditions(queries.captured_queries, '"orders_ordercomment"."body"') == 1
    assert "Searched for the first 8 words only." in response.content.decode()
    with CaptureQueriesContext(connection) as queries:
        response = client.get(COMMENTS, {"q": DISTINCT_WORDS})
    # One body condition per word: 8 words, not 30.
    assert like_conditions(queries.captured_queries, '"orders_ordercomment"."body"') == 8
    assert "Searched for the first 8 words only." in response.content.decode()


def test_the_order_list_searches_eight_words_and_says_so(client, operator):
    OrderFactory(customer_name="Hannah Ivanova")
    client.force_login(operator)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(ORDERS, {"q": "Hannah Ivanova " + DISTINCT_WORDS})
    assert response.status_code == 200
    assert like_conditions(queries.captured_queries, '"orders_ordersearch"."text"') == 8
    assert "Searched for the first 8 words only." in response.content.decode()
    assert len(response.context["cl"].result_list) == 0  # "w00" … "w05" are in no order


def test_a_search_within_the_caps_says_nothing_about_them(client, operator):
    client.force_login(operator)
    response = client.get(ORDERS, {"q": "Hannah Ivanova"})
    assert "Searched for the first" not in response.content.decode()


def test_the_holds_page_cuts_its_term_too(client, supervisor):
    client.force_login(supervisor)
    response = client.get(reverse("admin:operators_assignmentlog_changelist"), {"q": "#1 " * 50})
    assert response.status_code == 200
    assert "Searched for the first 8 words only." in response.content.decode()


def test_the_api_q_considers_eight_words(operator):
    OrderFactory(customer_name="Hannah Ivanova")
    api = client_for(operator)
    with CaptureQueriesContext(connection) as queries:
        response = api.get("/api/v1/orders/", {"q": DISTINCT_WORDS})
    assert response.status_code == 200
    assert like_conditions(queries.captured_queries, '"orders_ordersearch"."text"') == 8
    # Words repeated, or inside another word, add no condition.
    with CaptureQueriesContext(connection) as queries:
        response = api.get("/api/v1/orders/", {"q": "ivanova iva " * 8})
    assert [item["customer_name"] for item in response.json()["results"]] == ["Hannah Ivanova"]
    assert like_conditions(queries.captured_queries, '"orders_ordersearch"."text"') == 1


# --- "0 in My orders · 1 in all orders" ---------------------------------------------------------------------


@pytest.fixture
def held_by_a_colleague(operator, other_operator):
    order = OrderFactory(customer_name="Hannah Ivanova")
    orders_assign(actor=other_operator, order_ids=[order.pk])
    return order


def test_a_queue_search_with_no_match_there_links_the_matches_elsewhere(
    client, operator, held_by_a_colleague
):
    client.force_login(operator)
    response = client.get(ORDERS, {"held": "mine", "q": "Hannah Ivanova"})
    page = response.content.decode()
    assert list(response.context["cl"].result_list) == []
    assert response.context["search_elsewhere"] == {
        "queue": "My orders",
        "url": f"{ORDERS}?q=Hannah+Ivanova",
        "count": "1",
    }
    assert "0 in My orders" in page
    assert f'<a href="{ORDERS}?q=Hannah+Ivanova">1 in all orders</a>' in page
    followed = client.get(f"{ORDERS}?q=Hannah+Ivanova")
    assert [order.pk for order in followed.context["cl"].result_list] == [held_by_a_colleague.pk]


def test_no_hint_when_the_queue_finds_the_order_or_nothing_anywhere(
    client, other_operator, held_by_a_colleague
):
    client.force_login(other_operator)
    found_here = client.get(ORDERS, {"held": "mine", "q": "Hannah Ivanova"})
    assert found_here.context["search_elsewhere"] is None
    nowhere = client.get(ORDERS, {"held": "mine", "q": "Nobody Anywhere"})
    assert nowhere.context["search_elsewhere"] is None
    assert "in all orders" not in nowhere.content.decode()
