"""The order search (orders.selectors.orders_search), the console list's and the API's `q`."""

import pytest
from django.db import connection
from django.urls import reverse

from orders.models import Order
from orders.selectors import orders_search
from tests.factories import OrderFactory

CHANGELIST = reverse("admin:orders_order_changelist")


@pytest.fixture
def customers(db) -> dict[str, Order]:
    def order(key: str, **fields) -> tuple[str, Order]:
        blank = {"customer_email": f"{key}@example.test", "customer_phone": "", "shipping_city": ""}
        return key, OrderFactory(**{**blank, **fields})

    return dict(
        [
            order("muller", customer_name="Anna Müller", customer_email="anna.mueller@shop.test"),
            order("ivanova", customer_name="Maria Ivanova", customer_email="m.ivanova@post.test"),
            order("phone", customer_name="Petar Petrov", customer_phone="+359 88 622 3958"),
            order("city", customer_name="Jan Nowak", shipping_city="Kraków"),
            order("lettered", number="L1999", customer_name="Lea Lettered"),
            order("store", number="WC-1001", customer_name="Wendy Commerce"),
            # A name that contains another order's number: the number wins.
            order("named_like_a_number", customer_name="Mr L1999"),
        ]
    )


def found(term: str) -> set[str]:
    return set(orders_search(Order.objects.all(), term).values_list("customer_name", flat=True))


@pytest.mark.parametrize("term", ["L1999", "#L1999", " #L1999 ", "WC-1001", "#WC-1001"])
def test_an_order_number_of_any_characters_finds_that_order_alone(customers, term):
    wanted = customers["lettered"] if "L1999" in term else customers["store"]
    assert list(orders_search(Order.objects.all(), term)) == [wanted]


def test_a_number_outside_the_filtered_orders_finds_nothing_by_number(customers):
    others = Order.objects.exclude(pk=customers["store"].pk)
    assert list(orders_search(others, "WC-1001")) == []


def test_part_of_an_email_without_the_at_sign_finds_it(customers):
    assert found("m.ivanova") == {"Maria Ivanova"}
    assert found("mueller@shop") == {"Anna Müller"}
    assert found("POST.TEST") == {"Maria Ivanova"}


def test_names_phones_and_cities_are_found_by_any_part(customers):
    assert found("ivanov") == {"Maria Ivanova"}
    assert found("622 3958") == {"Petar Petrov"}
    # Digits alone are an order number (one index look-up, and the page counts one row): a part of a phone
    # is found with its space or its "+".
    assert found("3958") == set()
    assert found("+359") == {"Petar Petrov"}
    assert found("Krak") == {"Jan Nowak"}
    assert found("no such customer") == set()


def test_a_blank_search_keeps_every_order(customers):
    assert orders_search(Order.objects.all(), "  ").count() == len(customers)


def test_wildcards_in_the_term_are_plain_characters(customers):
    assert found("%") == set()
    assert found("m_ivanova") == set()


@pytest.mark.postgres
def test_accents_do_not_matter_on_postgresql(customers):
    assert found("muller") == {"Anna Müller"}
    assert found("MÜLLER") == {"Anna Müller"}
    assert found("krakow") == {"Jan Nowak"}


@pytest.mark.postgres
def test_the_search_reads_the_trigram_index(customers):
    sql, params = orders_search(Order.objects.all(), "muller").values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        # Only a bitmap scan is left, and a bitmap scan needs an index condition: without a nested loop (which
        # probes the search rows by their primary key, one order at a time, when the tables' statistics are
        # those of a new test database) only the text's can give one.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute("SET LOCAL enable_nestloop = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "ordersearch_text_trgm_idx" in plan


def test_the_console_list_searches_phones_and_lettered_numbers(
    client, operator, customers, django_assert_max_num_queries
):
    client.force_login(operator)
    client.get(CHANGELIST)  # warm the session
    # A number: one index look-up, counted as its one row (8). Text: on PostgreSQL the paginator asks the
    # planner first and counts a small result exactly (9), as before this search.
    for term, key, budget in [
        ("#L1999", "lettered", 8),
        ("622 3958", "phone", 9),
        ("m.ivanova", "ivanova", 9),
    ]:
        with django_assert_max_num_queries(budget):
            response = client.get(CHANGELIST, {"q": term})
        assert [order.pk for order in response.context["cl"].result_list] == [customers[key].pk]


def test_the_api_q_searches_the_same_way(operator, customers):
    from tests.api.test_orders import client_for, numbers

    api = client_for(operator)
    assert numbers(api.get("/api/v1/orders/", {"q": "#WC-1001"})) == ["WC-1001"]
    assert numbers(api.get("/api/v1/orders/", {"q": "Krak"})) == [customers["city"].number]
