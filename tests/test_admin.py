"""The admin is usable with the demo roles: every model's pages render."""

import pytest
from django.urls import reverse

from tests.factories import AssignmentFactory, OrderCommentFactory, OrderLineFactory


@pytest.fixture
def order_with_history(operator):
    line = OrderLineFactory()
    AssignmentFactory(order=line.order, operator=operator)
    OrderCommentFactory(order=line.order, author=operator)
    return line.order


@pytest.mark.parametrize(
    "url_name",
    [
        "admin:orders_order_changelist",
        "admin:orders_orderstatus_changelist",
        "admin:orders_ordercomment_changelist",
        "admin:operators_assignment_changelist",
        "admin:operators_assignmentlog_changelist",
    ],
)
def test_console_pages_render_for_operators(client, operator, order_with_history, url_name):
    client.force_login(operator)
    response = client.get(reverse(url_name))
    assert response.status_code == 200


def test_the_home_page_takes_an_operator_to_their_working_queue(client, operator, order_with_history):
    client.force_login(operator)
    response = client.get(reverse("admin:index"), follow=True)
    assert response.redirect_chain == [(f"{reverse('admin:orders_order_changelist')}?held=mine", 302)]
    assert response.status_code == 200


def test_order_page_shows_its_lines(client, superuser, order_with_history):
    client.force_login(superuser)
    response = client.get(reverse("admin:orders_order_change", args=[order_with_history.pk]))
    assert response.status_code == 200
    assert order_with_history.lines.get().sku in response.content.decode()


def test_site_root_leads_to_the_order_list(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response.url == reverse("admin:orders_order_changelist")
