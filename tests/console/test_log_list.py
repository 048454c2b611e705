"""The assignment log's list at any size (issue 26, bounded work per request): newest first by the primary key
(the log only grows, and its ids grow with time), sortable by that column only, a large count estimated."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from console import paginator
from operators.services import orders_assign, orders_release
from tests.console.test_comment_search import plan
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db

LOG = reverse("admin:operators_assignmentlog_changelist")
HOLDS = reverse("admin:operators_assignment_changelist")


def test_the_log_lists_the_newest_entry_first(client, operator, supervisor):
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    orders_release(actor=operator, order_ids=[order.pk])
    client.force_login(supervisor)
    response = client.get(LOG)
    assert [entry.action for entry in response.context["cl"].result_list] == ["released", "assigned"]
    assert response.context["cl"].sortable_by == ["when"]


def test_a_large_log_or_hold_count_is_the_planners_estimate_and_says_about(client, supervisor, monkeypatch):
    monkeypatch.setattr(paginator, "planner_estimate", lambda queryset: 600_000)
    client.force_login(supervisor)
    for url, name in ((LOG, "log entries"), (HOLDS, "assignments")):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url)
        page = " ".join(response.content.decode().split())
        assert f"about 600000 {name}" in page
        assert not [query for query in queries.captured_queries if "COUNT(" in query["sql"]]


@pytest.mark.postgres
def test_the_log_page_reads_the_primary_key_newest_first(client, supervisor):
    client.force_login(supervisor)
    changelist = client.get(LOG).context["cl"]
    assert "operators_assignmentlog_pkey" in plan(changelist.queryset[:100])
