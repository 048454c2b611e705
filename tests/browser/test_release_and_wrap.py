"""In a real Chromium: a supervisor's release of a colleague's hold asks why, and the released holder's bell
(her own browser) shows who and why; an unbroken 5,000-character comment wraps in the comments list and on
the order page instead of widening them, at 1280 × 800 and 390 × 844."""

import pytest
from playwright.sync_api import Page, expect

from operators.models import Assignment, AssignmentLog
from operators.services import orders_assign
from orders.services import order_comment_add
from tests.browser.conftest import save_screenshot
from tests.browser.test_console import messages, order_page_url
from tests.browser.test_notifications import BELL_INTERVAL, bell_count, leave, quick_bell  # noqa: F401
from tests.factories import OrderFactory

pytestmark = pytest.mark.browser

SCREENS = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}


def test_a_supervisors_release_asks_why_and_the_holders_bell_says_who_and_why(console, operator, supervisor):
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])

    anna = console(operator)
    anna.set_viewport_size(SCREENS["desktop"])
    anna.goto("/admin/orders/order/")
    expect(bell_count(anna)).to_be_hidden()

    boss = console(supervisor)
    boss.set_viewport_size(SCREENS["desktop"])
    boss.goto(order_page_url(order))
    buttons = boss.locator(".hold-buttons")
    reason_box = buttons.locator("#hold-reason")
    # The reason box stands before both buttons that need it, not between them.
    boxes = [buttons.locator(selector).bounding_box() for selector in ("#hold-reason", "#release-button")]
    take_over = buttons.locator("#take-over-button").bounding_box()
    assert boxes[0] and boxes[1] and take_over
    assert boxes[0]["x"] < boxes[1]["x"] < take_over["x"]
    # Release without a reason: the browser asks for it, nothing is sent.
    boss.locator("#release-button").click()
    assert reason_box.evaluate("box => box.validity.valueMissing") is True
    assert Assignment.objects.filter(order=order).exists()
    reason = "Anna is off sick; the customer is waiting"
    reason_box.fill(reason)
    boss.locator("#release-button").click()
    expect(messages(boss, "success")).to_have_text(f"Released #{order.number}.")
    entry = AssignmentLog.objects.filter(order=order).latest("id")
    assert (entry.action, entry.actor_id, entry.reason) == ("released", supervisor.pk, reason)

    # Anna's bell, in her own browser, within one refresh and without a reload.
    expect(bell_count(anna)).to_have_text("1", timeout=(BELL_INTERVAL + 3) * 1000)
    anna.locator("#notification-bell").click()
    first = anna.locator("[data-testid=notification]").first
    expect(first).to_contain_text(f"Boris released your hold on #{order.number}")
    expect(first).to_contain_text(f"Reason: {reason}")
    save_screenshot(anna, "release-notification")
    leave(anna, boss)


def test_a_reason_being_typed_survives_the_banners_live_redraw(
    console, operator, other_operator, supervisor, settings
):
    settings.ORDEROPS = {**settings.ORDEROPS, "LIVE_POLL_INTERVAL": 1, "LIVE_HEARTBEAT_INTERVAL": 1}
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    boss = console(supervisor)
    boss.goto(order_page_url(order))
    boss.locator("#hold-reason").fill("Anna is off")
    # A colleague comments meanwhile: the open page redraws its banner and its timeline.
    order_comment_add(actor=other_operator, order_id=order.pk, body="The customer called again")
    expect(boss.locator("#timeline")).to_contain_text("The customer called again", timeout=5000)
    expect(boss.locator("#hold-reason")).to_have_value("Anna is off")
    leave(boss)


def test_the_holders_own_release_is_one_click(console, operator):
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    anna = console(operator)
    anna.goto(order_page_url(order))
    expect(anna.locator("#hold-reason")).to_have_count(0)
    anna.locator("#release-button").click()
    expect(messages(anna, "success")).to_have_text(f"Released #{order.number}.")
    assert not Assignment.objects.filter(order=order).exists()
    leave(anna)


def no_wider_than_the_screen(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= page.viewport_size["width"], f"the page is {width} px wide"


@pytest.mark.parametrize("screen", SCREENS)
def test_an_unbroken_5000_character_comment_wraps_instead_of_overflowing(
    console, operator, superuser, screen
):
    order = OrderFactory()
    body = "x" * 5000
    order_comment_add(actor=operator, order_id=order.pk, body=body)

    admin = console(superuser)
    admin.set_viewport_size(SCREENS[screen])
    admin.goto("/admin/orders/ordercomment/")
    cell = admin.locator("#result_list td.field-body").first
    expect(cell).to_contain_text("xxxx")
    table = admin.locator("#result_list").bounding_box()
    results = admin.locator("#changelist .results").bounding_box()
    box = cell.bounding_box()
    assert table and results and box
    # The cell wraps its text onto many lines within the table, the table within its box.
    assert box["height"] > 100, box
    assert table["x"] + table["width"] <= results["x"] + results["width"] + 1, (table, results)
    no_wider_than_the_screen(admin)
    save_screenshot(admin, f"long-comment-list-{screen}")

    admin.goto(order_page_url(order))
    timeline_body = admin.locator("#timeline .timeline-body").first
    expect(timeline_body).to_contain_text("xxxx")
    timeline = admin.locator("#timeline").bounding_box()
    body_box = timeline_body.bounding_box()
    assert timeline and body_box
    assert body_box["x"] + body_box["width"] <= timeline["x"] + timeline["width"] + 1
    no_wider_than_the_screen(admin)
    leave(admin)
