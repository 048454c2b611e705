"""One history: the order page's History button shows the order's timeline, and the admin's read-only lists
(assignment log, assignments, internal comments) speak as the rest of the console does."""

import re

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from console.formatting import exact_time
from operators.services import orders_assign, orders_take_over
from orders.models import OrderComment
from orders.services import order_comment_add, order_update
from tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db

LOG = reverse("admin:operators_assignmentlog_changelist")
HOLDS = reverse("admin:operators_assignment_changelist")
COMMENTS = reverse("admin:orders_ordercomment_changelist")


def history_url(order) -> str:
    return reverse("admin:orders_order_history", args=[order.pk])


def login(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def busy_order(operator, supervisor):
    """An order with a comment, a field change and a take-over with its reason."""
    order = OrderFactory(shipping_city="Sofia")
    orders_assign(actor=operator, order_ids=[order.pk])
    order_comment_add(actor=operator, order_id=order.pk, body="Called the customer")
    order_update(actor=operator, order_id=order.pk, version=1, changes={"shipping_city": "Plovdiv"})
    orders_take_over(actor=supervisor, order_ids=[order.pk], reason="customer escalated")
    return order


def test_the_history_button_shows_the_orders_timeline_not_the_admins_log(operator, supervisor):
    order = busy_order(operator, supervisor)
    page = login(operator).get(change_url := reverse("admin:orders_order_change", args=[order.pk]))
    assert f'href="{history_url(order)}"' in page.content.decode()  # the History button, as Django draws it
    response = login(operator).get(history_url(order))
    html = response.content.decode()
    assert response.status_code == 200
    assert f"History of order #{order.number}" in html
    # The same entries as the order page's timeline, in the same words.
    for sentence in ("Called the customer", "changed city: Sofia → Plovdiv", "customer escalated"):
        assert sentence in html
    assert "took the order over from Anna" in html
    # Not Django's table of form saves.
    assert 'id="change-history"' not in html and "doesn’t have a change history" not in html
    assert f'href="{change_url}#timeline"' in html


def test_the_history_page_costs_the_same_queries_for_a_longer_history(
    operator, supervisor, django_assert_max_num_queries
):
    order = busy_order(operator, supervisor)
    client = login(operator)
    client.get(history_url(order))  # the session and permission caches warm
    with django_assert_max_num_queries(12) as first:
        client.get(history_url(order))
    for index in range(20):
        order_comment_add(actor=operator, order_id=order.pk, body=f"note {index}")
    with django_assert_max_num_queries(len(first.captured_queries)):
        client.get(history_url(order))


def test_the_history_page_needs_the_right_to_see_orders(operator, supervisor):
    order = busy_order(operator, supervisor)
    stranger = UserFactory(username="sam", is_staff=True)
    assert login(stranger).get(history_url(order)).status_code == 403
    assert login(operator).get(reverse("admin:orders_order_history", args=[10**9])).status_code == 404
    assert login(operator).get("/admin/orders/order/x1/history/").status_code == 404


def test_the_read_only_lists_are_titled_as_the_console_writes_and_never_select_to_view(
    superuser, operator, supervisor
):
    busy_order(operator, supervisor)
    client = login(superuser)
    for url, title in ((LOG, "Assignment log"), (HOLDS, "Assignments"), (COMMENTS, "Internal comments")):
        html = client.get(url).content.decode()
        assert re.search(r"<h1[^>]*>\s*" + title + r"\s*</h1>", html), url
        assert "Select assignment" not in html and "Select internal" not in html and " to view" not in html


def test_the_log_and_the_holds_filter_by_date_in_words_and_name_actions_capitalised(
    superuser, operator, supervisor
):
    busy_order(operator, supervisor)
    client = login(superuser)
    log = client.get(LOG).content.decode()
    filters = [" ".join(title.split()) for title in re.findall(r"<summary>(.*?)</summary>", log, re.S)]
    assert filters == ["By operator", "By action", "By date"]
    assert '<td class="field-action_name">Taken over</td>' in log
    assert '<td class="field-action_name">Assigned</td>' in log
    assert ">Taken over</a>" in log and ">Auto-released</a>" in log  # the action filter's choices
    assert ">taken over<" not in log and ">assigned<" not in log
    holds = client.get(HOLDS).content.decode()
    filters = [" ".join(title.split()) for title in re.findall(r"<summary>(.*?)</summary>", holds, re.S)]
    assert filters == ["By operator", "By date taken"]
    assert client.get(LOG, {"action": "taken_over"}).status_code == 200
    assert client.get(LOG, {"action": "nonsense"}).status_code == 400  # as for an unknown operator


def test_the_comments_list_names_people_and_times_as_the_console_does(superuser, operator, supervisor):
    order = busy_order(operator, supervisor)
    comment = OrderComment.objects.get()
    html = login(superuser).get(COMMENTS).content.decode()
    assert '<td class="field-author_name">Anna</td>' in html
    assert exact_time(comment.created_at) in html
    assert f'href="{reverse("admin:orders_order_change", args=[order.pk])}"' in html


def test_a_supervisor_sees_the_comments_list_read_only_and_only_a_superuser_may_delete(supervisor, superuser):
    view = Permission.objects.get(codename="view_ordercomment")
    supervisor.user_permissions.add(view)
    assert login(supervisor).get(COMMENTS).status_code == 200
    assert 'name="action"' not in login(supervisor).get(COMMENTS).content.decode()
    order = OrderFactory()
    order_comment_add(actor=supervisor, order_id=order.pk, body="x")
    assert 'value="delete_selected"' in login(superuser).get(COMMENTS).content.decode()
