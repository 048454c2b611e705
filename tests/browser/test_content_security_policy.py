"""The Content-Security-Policy in a real browser (issue 26, finding 5): every page the console and the API
serve works under it with no violation (the console fixture fails a test on any), and markup smuggled into
the page cannot run a script."""

import pytest
from playwright.sync_api import expect

from api.keys import api_key_create
from operators.services import orders_assign
from orders.models import OrderStatus
from tests.factories import OrderCommentFactory, OrderFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world(operator, other_operator):
    held = OrderFactory(number="100042", customer_name="Anna Müller")
    OrderFactory(number="100043")
    orders_assign(actor=other_operator, order_ids=[held.pk])
    OrderCommentFactory(order=held, author=other_operator, body="Called the customer")
    api_key_create(user=operator, name="shop sync")
    return held


def test_every_console_page_works_under_the_policy(console, superuser, world):
    """The superuser opens every kind of page: the console's own (list, order page with its live parts,
    queues, workload, notifications) and the admin's that the console uses (comments, the log, holds,
    statuses, users with their permission pickers, groups, API keys), and the login page."""
    page = console(superuser)
    status = OrderStatus.objects.get(code="pending")
    paths = [
        "/admin/orders/order/",
        f"/admin/orders/order/{world.pk}/change/",
        "/admin/orders/order/?held=mine",
        "/admin/orders/order/workload/",
        "/admin/orders/order/queues/",
        "/admin/live/notifications/",
        "/admin/live/notifications/settings",
        "/admin/orders/ordercomment/",
        "/admin/operators/assignmentlog/",
        "/admin/operators/assignment/",
        "/admin/orders/orderstatus/",
        f"/admin/orders/orderstatus/{status.pk}/change/",
        "/admin/orders/orderstatus/add/",
        "/admin/auth/user/",
        f"/admin/auth/user/{superuser.pk}/change/",
        "/admin/auth/group/add/",
        "/admin/api/apikey/",
        "/admin/password_change/",
        "/admin/orders/order/number/999999/",
    ]
    for path in paths:
        response = page.goto(path)
        assert (response is not None and response.ok) or path.endswith("999999/"), path
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")
    # The order page's own scripts ran: its presence box is filled in by live.js.
    page.goto(f"/admin/orders/order/{world.pk}/change/")
    expect(page.get_by_test_id("presence")).to_be_visible()
    # The date-hierarchy and filter pickers: the admin's JS runs.
    page.goto("/admin/auth/group/add/")
    expect(page.locator("#id_permissions_filter")).to_be_visible()


def test_the_login_page_and_the_api_docs_work_under_the_policy(console, browser, live_server, operator):
    context = browser.new_context(base_url=live_server.url)
    violations: list[str] = []
    from tests.browser.conftest import watch_the_policy

    watch_the_policy(context, violations)
    page = context.new_page()
    page.goto("/admin/login/")
    expect(page.locator("#id_username")).to_be_visible()
    page.goto("/api/v1/docs/")
    # Swagger UI started (its start script is a file now) and read the schema.
    expect(page.get_by_text("/api/v1/orders/", exact=True).first).to_be_visible()
    page.wait_for_load_state("networkidle")
    context.close()
    assert violations == []


def test_markup_smuggled_into_the_page_runs_no_script(console, operator, world):
    """What the console's innerHTML would do with server HTML that escaped its escaping: the inline handler
    and the inline script are refused (and reported), nothing runs."""
    page = console(operator)
    page.goto("/admin/orders/order/")
    page.evaluate(
        """() => {
        document.body.insertAdjacentHTML("beforeend", '<img src="/nothing.png" onerror="window.pwned = 1">');
        const script = document.createElement("div");
        script.innerHTML = '<svg><script>window.pwned = 2</script></svg>';
        document.body.appendChild(script);
        const inline = document.createElement("script");
        inline.textContent = "window.pwned = 3";
        document.body.appendChild(inline);
    }"""
    )
    page.wait_for_timeout(500)
    assert page.evaluate("window.pwned") is None
    assert any("script-src" in violation for violation in console.violations)
    console.violations.clear()  # provoked on purpose
