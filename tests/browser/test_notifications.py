"""Notifications in a real Chromium, two people at once: a supervisor's take-over raises the displaced
holder's bell without a reload and her notifications page says who and why; an @mention notifies."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from operators.models import Assignment
from operators.services import holds_expire, orders_assign
from orders.services import order_comment_add
from tests.browser.conftest import save_screenshot
from tests.browser.test_console import ORDER_LIST, messages, order_page_url
from tests.factories import OrderFactory

pytestmark = pytest.mark.browser

# The bell refreshes every second in these tests (15 s in the product): one refresh is the wait.
BELL_INTERVAL = 1


@pytest.fixture(autouse=True)
def quick_bell(settings):
    settings.ORDEROPS = {"NOTIFICATION_BELL_INTERVAL": BELL_INTERVAL}


def leave(*pages: Page) -> None:
    """Stop the pages' scripts (the bell, the live console's polls) and let their last requests end before
    the test's database is emptied: a request still running then would hold a table lock on SQLite."""
    for page in pages:
        page.goto("about:blank")
    pages[0].wait_for_timeout(500)


def bell_count(page: Page):
    return page.locator("#notification-bell [data-testid=notification-count]")


def test_a_take_over_raises_the_displaced_holders_bell_and_her_page_says_who_and_why(
    console, operator, other_operator, supervisor
):
    order, given, mentioned, idle = OrderFactory.create_batch(4)
    # Earlier today: an order given to Anna, a mention, a hold of hers that expired.
    orders_assign(actor=supervisor, order_ids=[given.pk], operator=operator)
    order_comment_add(actor=other_operator, order_id=mentioned.pk, body="@anna the customer asked for you")
    orders_assign(actor=operator, order_ids=[idle.pk])
    Assignment.objects.filter(order=idle).update(last_activity_at=timezone.now() - timedelta(hours=9))
    holds_expire(idle=timedelta(hours=8))
    orders_assign(actor=operator, order_ids=[order.pk])

    anna = console(operator)
    anna.set_viewport_size({"width": 1280, "height": 800})
    anna.goto(ORDER_LIST)
    expect(bell_count(anna)).to_have_text("3")

    boss = console(supervisor)
    reason = "Anna is at lunch; the customer is on the phone"
    boss.goto(order_page_url(order))
    boss.locator("#hold-reason").fill(reason)
    boss.locator("#take-over-button").click()
    expect(messages(boss, "success")).to_have_text(f"You took over #{order.number}.")

    # Within one refresh, without a reload.
    expect(bell_count(anna)).to_have_text("4", timeout=(BELL_INTERVAL + 3) * 1000)
    anna.locator("#notification-bell").click()
    first = anna.locator("[data-testid=notification]").first
    expect(first).to_contain_text(f"Boris took over #{order.number} from you")
    expect(first).to_contain_text(f"Reason: {reason}")
    expect(first.get_by_role("link", name=f"#{order.number}")).to_have_attribute(
        "href", order_page_url(order)
    )
    expect(anna.locator("[data-testid=notification]")).to_have_count(4)
    expect(anna.locator("[data-testid=notifications-unread]")).to_have_text("4 unread")
    save_screenshot(anna, "live-notifications", docs_name="notifications")
    anna.emulate_media(color_scheme="dark")
    save_screenshot(anna, "live-notifications-dark")
    anna.emulate_media(color_scheme="light")

    anna.get_by_role("button", name="Mark all as read").click()
    expect(messages(anna, "success")).to_have_text("4 notifications marked as read.")
    expect(bell_count(anna)).to_be_hidden()
    expect(anna.locator(".notification-unread")).to_have_count(0)
    leave(anna, boss)


def test_an_at_mention_in_a_comment_notifies_the_named_colleague(console, operator, other_operator):
    order = OrderFactory()
    anna = console(operator)
    anna.goto(ORDER_LIST)
    expect(bell_count(anna)).to_be_hidden()

    ivan = console(other_operator)
    ivan.goto(order_page_url(order))
    ivan.locator("#comment-body").fill("@anna could you call this customer back?")
    ivan.locator("#update-button").click()
    expect(messages(ivan, "success")).to_have_text(f"Your comment on #{order.number} was added.")
    expect(bell_count(ivan)).to_be_hidden()  # nobody hears of their own comment

    expect(bell_count(anna)).to_have_text("1", timeout=(BELL_INTERVAL + 3) * 1000)
    anna.set_viewport_size({"width": 390, "height": 844})  # on a phone too, the bell is in reach
    expect(anna.locator("#notification-bell")).to_be_in_viewport()
    save_screenshot(anna, "live-notifications-bell-phone")
    anna.locator("#notification-bell").click()
    note = anna.locator("[data-testid=notification]")
    expect(note).to_have_count(1)
    expect(note).to_contain_text(f"Ivan mentioned you in a comment on #{order.number}")
    expect(note).to_contain_text("@anna could you call this customer back?")
    note.get_by_role("button", name="Mark as read").click()
    expect(bell_count(anna)).to_be_hidden()
    note.get_by_role("link", name=f"#{order.number}").click()
    expect(anna.locator(".timeline-comment").last).to_contain_text("could you call this customer back?")
    leave(anna, ivan)
