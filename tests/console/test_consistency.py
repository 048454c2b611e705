"""The console says things one way everywhere: people by name, orders as links, times as an age with the
exact time on hover, and pages of its own for a wrong URL, a refused page, and a button opened as a link."""

import re
from datetime import timedelta

import pytest
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from console.formatting import exact_time, short_ago, time_ago
from operators.models import Assignment, AssignmentLog
from operators.services import orders_assign, orders_release, orders_take_over
from orderops.formatting import elapsed
from orders.models import OrderComment
from orders.services import order_comment_add
from tests.factories import OrderFactory

CHANGELIST = reverse("admin:orders_order_changelist")
LOG_LIST = reverse("admin:operators_assignmentlog_changelist")
HOLDS_LIST = reverse("admin:operators_assignment_changelist")


def change_url(order) -> str:
    return reverse("admin:orders_order_change", args=[order.pk])


def order_link(order) -> str:
    return f'<a href="{change_url(order)}">#{order.number}</a>'


def rows(html: str) -> list[str]:
    body = html.split('id="result_list"')[1].split("<tbody>")[1].split("</tbody>")[0]
    return re.findall(r"<tr>.*?</tr>", body, flags=re.S)


def today_link(html: str, field: str) -> str:
    """The date filter's own "Today" link."""
    found = re.search(rf'href="(\?{field}__gte=[^"]+)"[^>]*>Today</a>', html)
    assert found is not None, f"no Today filter on {field}"
    return found.group(1).replace("&amp;", "&")


@pytest.fixture
def orders(db):
    return OrderFactory.create_batch(3)


# --- the holds and the assignment log ---------------------------------------------------------------------


def test_the_log_names_people_and_links_each_order(client, operator, supervisor, orders):
    orders_assign(actor=operator, order_ids=[orders[0].pk])
    orders_take_over(actor=supervisor, order_ids=[orders[0].pk], reason="Customer escalated")
    client.force_login(operator)
    html = client.get(LOG_LIST).content.decode()
    newest, oldest = rows(html)
    assert order_link(orders[0]) in newest and order_link(orders[0]) in oldest
    assert ">Boris</td>" in newest and ">Customer escalated</td>" in newest
    assert ">Anna</td>" in oldest
    # No username where a name is known, and the log's times as the console writes them.
    assert ">boss<" not in html and ">anna<" not in html
    entry = AssignmentLog.objects.get(action=AssignmentLog.Action.ASSIGNED)
    assert exact_time(entry.at) in oldest


def test_a_change_nobody_made_is_the_systems(client, operator, orders):
    from operators.services import holds_release

    orders_assign(actor=operator, order_ids=[orders[0].pk])
    holds_release(order_ids=[orders[0].pk], reason="released by release_orders")
    client.force_login(operator)
    newest = rows(client.get(LOG_LIST).content.decode())[0]
    assert ">the system</td>" in newest


def test_the_log_filters_by_operator_action_and_date(client, operator, other_operator, orders):
    orders_assign(actor=operator, order_ids=[orders[0].pk])
    orders_assign(actor=other_operator, order_ids=[orders[1].pk])
    orders_release(actor=operator, order_ids=[orders[0].pk])
    client.force_login(operator)

    by_operator = client.get(LOG_LIST, {"operator": other_operator.pk}).content.decode()
    assert len(rows(by_operator)) == 1 and order_link(orders[1]) in by_operator
    released = client.get(LOG_LIST, {"action__exact": "released"}).content.decode()
    assert len(rows(released)) == 1 and order_link(orders[0]) in released
    # The filters offer names, not usernames, and dates.
    page = client.get(LOG_LIST).content.decode()
    assert len(rows(client.get(LOG_LIST + today_link(page, "at")).content.decode())) == 3
    assert f'href="?operator={other_operator.pk}"' in page and ">Ivan</a>" in page


def test_the_log_finds_an_order_by_its_number_written_either_way(client, operator, orders):
    orders_assign(actor=operator, order_ids=[orders[0].pk, orders[1].pk])
    client.force_login(operator)
    for term in (orders[1].number, f"#{orders[1].number}"):
        found = rows(client.get(LOG_LIST, {"q": term}).content.decode())
        assert len(found) == 1 and order_link(orders[1]) in found[0]


def test_the_holds_list_names_people_links_orders_and_filters(
    client, operator, other_operator, supervisor, orders
):
    orders_assign(actor=operator, order_ids=[orders[0].pk])
    orders_assign(actor=supervisor, order_ids=[orders[1].pk], operator=other_operator)
    client.force_login(operator)
    html = client.get(HOLDS_LIST).content.decode()
    assert order_link(orders[0]) in html and order_link(orders[1]) in html
    assert ">Ivan</td>" in html and ">Boris</td>" in html and ">Anna</td>" in html
    filtered = client.get(HOLDS_LIST, {"operator": other_operator.pk}).content.decode()
    assert len(rows(filtered)) == 1 and order_link(orders[1]) in filtered
    assert len(rows(client.get(HOLDS_LIST + today_link(html, "assigned_at")).content.decode())) == 2


def test_the_holds_and_the_log_stay_read_only(client, supervisor, orders):
    orders_assign(actor=supervisor, order_ids=[orders[0].pk])
    client.force_login(supervisor)
    entry = AssignmentLog.objects.get()
    assert client.get(reverse("admin:operators_assignmentlog_add")).status_code == 403
    assert client.post(reverse("admin:operators_assignmentlog_delete", args=[entry.pk])).status_code == 403
    hold = Assignment.objects.get()
    page = client.post(reverse("admin:operators_assignment_change", args=[hold.pk]), {"operator": ""})
    assert page.status_code == 403
    assert Assignment.objects.filter(operator=supervisor).exists()


# --- an order's URL by its number ---------------------------------------------------------------------------


def test_an_order_number_url_opens_the_order(client, operator, orders):
    client.force_login(operator)
    url = reverse("admin:orders_order_by_number", args=[orders[1].number])
    assert url == f"/admin/orders/order/number/{orders[1].number}/"
    response = client.get(url)
    assert response.status_code == 302 and response["Location"] == change_url(orders[1])
    # "#100042" as people write it (%23 in a URL).
    assert client.get(f"/admin/orders/order/number/%23{orders[1].number}/")["Location"] == change_url(
        orders[1]
    )


@override_settings(DEBUG=False)
def test_an_unknown_order_number_is_a_404_page_with_a_way_back(client, operator, orders):
    client.force_login(operator)
    response = client.get(reverse("admin:orders_order_by_number", args=["999999"]))
    assert response.status_code == 404
    html = response.content.decode()
    assert "There is no order #999999." in html
    assert f'href="{CHANGELIST}"' in html and 'href="/admin/"' in html


def test_an_order_number_url_needs_a_login_and_the_right_to_see_orders(client, staff_without_role, orders):
    url = reverse("admin:orders_order_by_number", args=[orders[0].number])
    response = client.get(url)
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    client.force_login(staff_without_role)
    assert client.get(url).status_code == 403


# --- a button's URL opened with GET -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("button", "offered"),
    [("assign", True), ("release", True), ("take_over", False), ("transfer", False), ("comment", False)],
)
def test_a_buttons_url_opened_with_get_explains_and_changes_nothing(
    client, operator, other_operator, orders, button, offered
):
    orders_assign(actor=other_operator, order_ids=[orders[1].pk])
    client.force_login(operator)
    url = reverse(f"admin:orders_order_{button}", args=[orders[1].pk])
    response = client.get(url)
    assert response.status_code == 405 and response["Allow"] == "POST"
    html = response.content.decode()
    assert "This button changes the order, so it only works from the order page." in html
    assert f'href="{change_url(orders[1])}"' in html
    form = re.search(r'<form method="post"[^>]*id="post-only-form".*?</form>', html, flags=re.S)
    assert (form is not None) == offered
    if form:
        assert f'action="{url}"' in form.group(0)
        assert 'name="csrfmiddlewaretoken"' in form.group(0) and 'name="submit_token"' in form.group(0)
    assert Assignment.objects.get().operator == other_operator
    assert AssignmentLog.objects.count() == 1 and not OrderComment.objects.exists()


def test_the_offered_button_does_what_the_order_pages_does(client, operator, orders):
    client.force_login(operator)
    url = reverse("admin:orders_order_assign", args=[orders[0].pk])
    html = client.get(url).content.decode()
    token = re.search(r'name="submit_token" value="([^"]+)"', html).group(1)
    response = client.post(url, {"submit_token": token})
    assert response.status_code == 302 and response["Location"] == change_url(orders[0])
    assert Assignment.objects.get().operator == operator


def test_claim_next_opened_with_get_offers_the_button(client, operator, orders):
    client.force_login(operator)
    response = client.get(reverse("admin:orders_order_claim_next"))
    assert response.status_code == 405
    html = response.content.decode()
    assert "This button takes an order for you, so it only works from the order list." in html
    assert 'id="post-only-button"' in html and f'href="{CHANGELIST}"' in html
    assert not Assignment.objects.exists()


@override_settings(DEBUG=False)
def test_a_buttons_url_for_an_order_that_does_not_exist_is_a_404(client, operator):
    client.force_login(operator)
    response = client.get(reverse("admin:orders_order_assign", args=[999999]))
    assert response.status_code == 404
    assert "This page does not exist" in response.content.decode()


def test_a_buttons_url_still_refuses_other_methods(client, operator, orders):
    client.force_login(operator)
    response = client.put(reverse("admin:orders_order_assign", args=[orders[0].pk]))
    assert response.status_code == 405 and not Assignment.objects.exists()


# --- the console's own 403 and 404 pages --------------------------------------------------------------------


@override_settings(DEBUG=False)
def test_an_operator_opening_the_users_gets_a_403_that_says_what_they_can_do(client, operator):
    client.force_login(operator)
    response = client.get("/admin/auth/user/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "You cannot open this page" in html
    assert "You are logged in as anna, and your role does not include this page." in html
    assert "What you can do: work on orders." in html
    assert f'href="{CHANGELIST}"' in html and 'href="/admin/"' in html
    assert 'id="logout-form"' in html and "console/console.css" in html


@override_settings(DEBUG=False)
def test_staff_without_a_role_are_told_they_cannot_see_orders_yet(client, staff_without_role):
    client.force_login(staff_without_role)
    html = client.get("/admin/auth/user/").content.decode()
    assert "Your account cannot see orders yet." in html
    assert f'href="{CHANGELIST}"' not in html


@override_settings(DEBUG=False)
@pytest.mark.parametrize("url", ["/admin/no-such-page/", "/no-such-page/"])
def test_a_url_that_leads_nowhere_gets_the_consoles_404(client, operator, url):
    client.force_login(operator)
    response = client.get(url)
    assert response.status_code == 404
    html = response.content.decode()
    assert "This page does not exist" in html
    assert f'href="{CHANGELIST}"' in html and 'href="/admin/"' in html and "console/console.css" in html


# --- one way to write a time ------------------------------------------------------------------------------


def test_the_timeline_writes_times_as_the_list_does(client, operator, orders):
    order = orders[0]
    orders_assign(actor=operator, order_ids=[order.pk])
    order_comment_add(actor=operator, order_id=order.pk, body="Called the customer")
    client.force_login(operator)
    html = client.get(change_url(order)).content.decode()
    timeline = html.split('id="timeline"')[1].split("</ol>")[0]
    comment = OrderComment.objects.get()
    stamp = re.search(r'<li class="timeline-entry timeline-comment">\s*(<time [^>]*>[^<]*</time>)', timeline)
    assert stamp is not None
    iso = timezone.localtime(comment.created_at).isoformat()
    assert (
        stamp.group(1) == f'<time datetime="{iso}" title="{exact_time(comment.created_at)}">just now</time>'
    )
    assert "a.m." not in timeline and "p.m." not in timeline


@pytest.mark.parametrize(
    ("seconds", "short", "long"),
    [
        (0, "just now", "just now"),
        (59, "just now", "just now"),
        (60, "1 min ago", "a minute ago"),
        (119, "1 min ago", "a minute ago"),
        (120, "2 min ago", "2 minutes ago"),
        (3599, "59 min ago", "59 minutes ago"),
        (3600, "1 h ago", "an hour ago"),
        (2 * 86400, "2 d ago", "2 days ago"),
    ],
)
def test_the_list_the_timeline_and_the_banner_round_a_moment_alike(seconds, short, long, monkeypatch):
    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now)
    moment = now - timedelta(seconds=seconds)
    assert (short_ago(moment), time_ago(moment).replace("\xa0", " ")) == (short, long)
    # Never "just now" on one surface and "1 min ago" on another for the same moment.
    assert (short == "just now") == (long == "just now") == (elapsed(moment)[0] == "now")


def test_the_banner_and_the_timeline_say_just_now_of_a_hold_taken_a_moment_ago(client, operator, orders):
    order = orders[0]
    orders_assign(actor=operator, order_ids=[order.pk])
    client.force_login(operator)
    html = client.get(change_url(order)).content.decode()
    banner = html.split('id="hold-banner"')[1].split("</strong>")[0]
    timeline = html.split('id="timeline"')[1].split("</ol>")[0]
    assert "just now" in banner and ">just now</time>" in timeline
    assert "1 min" not in html


@override_settings(TIME_ZONE="Europe/Sofia")
def test_the_timelines_exact_time_is_in_the_viewers_time_zone(client, operator, orders):
    orders_assign(actor=operator, order_ids=[orders[0].pk])
    client.force_login(operator)
    html = client.get(change_url(orders[0])).content.decode()
    assert re.search(r'<time datetime="[^"]+\+0[23]:00" title="\d{4}-\d\d-\d\d \d\d:\d\d EE[SD]?T">', html)
