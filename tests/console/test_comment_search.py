"""The Internal comments list's search (issue 26, finding 1): capped (tests/console/test_search_bounds.py),
and index-backed at scale: a word is in the comment (its trigram index on PostgreSQL) or is its order's
number (looked up first, so the condition is a list of ids), newest first by an index, a large count
estimated."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from console import paginator
from console.admin_log import OrderCommentAdmin
from orders.models import OrderComment
from tests.console.test_search_bounds import like_conditions
from tests.factories import OrderCommentFactory, OrderFactory

pytestmark = pytest.mark.django_db

COMMENTS = reverse("admin:orders_ordercomment_changelist")
BODY = '"orders_ordercomment"."body"'


def found(client, term: str) -> list[str]:
    response = client.get(COMMENTS, {"q": term})
    assert response.status_code == 200
    return sorted(comment.body for comment in response.context["cl"].result_list)


def test_a_comment_is_found_by_its_words_in_any_case_or_by_its_order_number(client, supervisor):
    plovdiv = OrderFactory(number="100042")
    OrderCommentFactory(order=plovdiv, body="Parcel to Plovdiv, call first")
    OrderCommentFactory(order=plovdiv, body="Paid by card")
    OrderCommentFactory(body="Parcel to Sofia")
    client.force_login(supervisor)
    assert found(client, "parcel") == ["Parcel to Plovdiv, call first", "Parcel to Sofia"]
    assert found(client, "PARCEL plovdiv") == ["Parcel to Plovdiv, call first"]
    assert found(client, "#100042") == ["Paid by card", "Parcel to Plovdiv, call first"]
    assert found(client, "100042 parcel") == ["Parcel to Plovdiv, call first"]
    assert found(client, "parcel varna") == []


def test_a_word_repeated_or_inside_another_adds_no_condition(client, supervisor):
    OrderCommentFactory(body="a parcel to Plovdiv")
    client.force_login(supervisor)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(COMMENTS, {"q": "a Parcel par parcel PARCEL a"})
    assert [comment.body for comment in response.context["cl"].result_list] == ["a parcel to Plovdiv"]
    assert like_conditions(queries.captured_queries, BODY) == 1


def test_a_large_count_is_the_planners_estimate_and_says_about(client, supervisor, monkeypatch):
    OrderCommentFactory(body="Parcel to Plovdiv")
    monkeypatch.setattr(paginator, "planner_estimate", lambda queryset: 250_000)
    client.force_login(supervisor)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(COMMENTS)
    assert "about 250000 internal comments" in " ".join(response.content.decode().split())
    assert not [query for query in queries.captured_queries if "COUNT(" in query["sql"]]
    # A search counts a short table exactly; past the newest rows' window, a full page of matches among them
    # is the page and the count the estimate.
    OrderCommentFactory(body="Parcel to Sofia")
    monkeypatch.setattr(paginator.NewestFirstSearchPaginator, "recent_rows", 2)
    monkeypatch.setattr(OrderCommentAdmin, "list_per_page", 2)
    searched = client.get(COMMENTS, {"q": "parcel"})
    assert "about 250000 internal comments" in " ".join(searched.content.decode().split())
    assert [comment.body for comment in searched.context["cl"].result_list] == [
        "Parcel to Sofia",
        "Parcel to Plovdiv",
    ]


def test_a_small_count_is_exact(client, supervisor):
    OrderCommentFactory(body="Parcel to Plovdiv")
    client.force_login(supervisor)
    page = " ".join(client.get(COMMENTS, {"q": "parcel"}).content.decode().split())
    assert "1 internal comment" in page and "about" not in page.split("1 internal comment")[0][-10:]


def plan(queryset) -> str:
    """The plan of `queryset` with sequential scans made the last resort: what an index can serve shows."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        return queryset.explain()


@pytest.mark.postgres
def test_the_search_and_the_order_read_the_lists_indexes(client, supervisor):
    from console.admin_log import OrderCommentAdmin

    OrderCommentFactory(body="Parcel to Plovdiv")
    client.force_login(supervisor)
    response = client.get(COMMENTS, {"q": "plovdiv"})
    changelist = response.context["cl"]
    assert isinstance(changelist.model_admin, OrderCommentAdmin)
    searched = plan(changelist.queryset[:100])
    assert "comment_body_trgm_idx" in searched
    newest = plan(OrderComment.objects.order_by("-created_at", "-id")[:100])
    assert "comment_created_idx" in newest


def test_words_that_never_meet_among_the_newest_comments_are_sorted_from_their_matches_and_counted(
    client, supervisor, monkeypatch
):
    """Two common words that meet only in old comments: PostgreSQL would walk the whole list from the newest
    row (it expects the words to be independent: 641 ms at 1,000,000 orders, bench figure 13). The newest
    rows are walked only as far as the window; then the matches are sorted, and counted exactly."""
    monkeypatch.setattr(paginator.NewestFirstSearchPaginator, "recent_rows", 3)
    monkeypatch.setattr(OrderCommentAdmin, "list_per_page", 2)
    for body in ["Parcel to Sofia, old 1", "Parcel to Sofia, old 2", "Parcel to Sofia, old 3"]:
        OrderCommentFactory(body=body)
    for number in range(5):
        OrderCommentFactory(body=f"Parcel to Varna {number}")
    client.force_login(supervisor)
    with CaptureQueriesContext(connection) as queries:
        first = client.get(COMMENTS, {"q": "parcel sofia"})
    assert [comment.body for comment in first.context["cl"].result_list] == [
        "Parcel to Sofia, old 3",
        "Parcel to Sofia, old 2",
    ]
    assert first.context["cl"].result_count == 3
    assert not first.context["cl"].paginator.approximate
    assert "3 internal comments" in " ".join(first.content.decode().split())
    assert len([query for query in queries.captured_queries if "COALESCE" in query["sql"]]) == 1
    second = client.get(COMMENTS, {"q": "parcel sofia", "p": "2"})
    assert [comment.body for comment in second.context["cl"].result_list] == ["Parcel to Sofia, old 1"]
    with CaptureQueriesContext(connection) as queries:
        nothing = client.get(COMMENTS, {"q": "parcel bank"})
    assert nothing.context["cl"].result_count == 0
    assert "0 internal comments" in " ".join(nothing.content.decode().split())
    # No match: the page is known empty, and the comments are not read again without a limit (the whole
    # search, which Django's ChangeList reads when every match fits one page).
    assert not [
        query
        for query in queries.captured_queries
        if 'FROM "orders_ordercomment"' in query["sql"] and "LIMIT" not in query["sql"]
    ]


def test_a_search_sorted_by_another_column_is_paginated_as_a_plain_search(client, supervisor, monkeypatch):
    monkeypatch.setattr(paginator.NewestFirstSearchPaginator, "recent_rows", 1)
    for body in ["Parcel b", "Parcel a", "Parcel c"]:
        OrderCommentFactory(body=body)
    client.force_login(supervisor)
    by_author = client.get(COMMENTS, {"q": "parcel", "o": "1"})  # the "when" column, oldest first
    assert [comment.body for comment in by_author.context["cl"].result_list] == [
        "Parcel b",
        "Parcel a",
        "Parcel c",
    ]
    assert by_author.context["cl"].result_count == 3


def test_a_cyrillic_word_is_found_in_any_case_on_every_database(client, supervisor):
    """SQLite's LIKE folds ASCII letters only: "еконт" did not find "Еконт" there (PostgreSQL's UPPER did)."""
    OrderCommentFactory(body="Клиентът иска доставка до офис на Еконт.")
    OrderCommentFactory(body="Straße gesperrt, Kunde informiert")
    client.force_login(supervisor)
    assert found(client, "еконт") == ["Клиентът иска доставка до офис на Еконт."]
    assert found(client, "КЛИЕНТЪТ ЕКОНТ") == ["Клиентът иска доставка до офис на Еконт."]
    assert found(client, "KUNDE informiert") == ["Straße gesperrt, Kunde informiert"]
    assert found(client, "кунде") == []
