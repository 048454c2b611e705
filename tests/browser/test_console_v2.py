"""The console's screens at common sizes and under two people's hands, in a real Chromium: the holder is in
view without sideways scrolling, a double click acts once, a supervisor moves an order in one step."""

import re

import pytest
from playwright.sync_api import Page, expect

from operators.models import Assignment
from operators.services import orders_assign
from orders.models import OrderComment
from tests.browser.conftest import save_screenshot
from tests.browser.test_console import ORDER_LIST, holder_of, list_row, messages, order_page_url
from tests.factories import OperatorFactory, OrderFactory

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


def no_sideways_scroll(page: Page) -> None:
    document = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert document[0] <= document[1], f"the page scrolls sideways: {document}"
    table = page.evaluate(
        "(() => { const box = document.querySelector('#changelist-form .results');"
        " return [box.scrollWidth, box.clientWidth]; })()"
    )
    assert table[0] <= table[1], f"the table scrolls sideways: {table}"


@pytest.mark.parametrize("size", list(SIZES))
def test_the_holder_is_in_view_without_scrolling_sideways(console, operator, other_operator, size):
    orders = OrderFactory.create_batch(12)
    orders_assign(actor=other_operator, order_ids=[orders[-1].pk])  # the newest: the first row
    orders_assign(actor=operator, order_ids=[orders[-2].pk])
    page = console(operator)
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})
    page.goto(ORDER_LIST)

    cell = list_row(page, orders[-1]).locator("td.field-assigned_to")
    expect(cell).to_contain_text("Ivan")
    box = cell.bounding_box()
    assert box is not None
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, box
    assert box["y"] >= 0 and box["y"] + box["height"] <= height, box
    no_sideways_scroll(page)
    # Held by a colleague: locked for Anna; her own stands out.
    expect(list_row(page, orders[-1]).locator(".lock-icon")).to_be_visible()
    expect(list_row(page, orders[-2]).locator(".holder-you")).to_have_text("you")
    if size == "desktop":
        save_screenshot(page, "v2-list-desktop", docs_name="order-list")
        page.emulate_media(color_scheme="dark")
        save_screenshot(page, "v2-list-desktop-dark", docs_name="order-list-dark")
    else:
        save_screenshot(page, "v2-list-phone", docs_name="order-list-phone")


def double_click(page: Page, selector: str) -> None:
    """Two click events 30 ms apart on the same button, as a quick double click sends them (dispatched in
    the page, so that the second one lands on the button that was clicked, not on the next page's)."""
    with page.expect_navigation():
        page.evaluate(
            "(selector) => { const button = document.querySelector(selector);"
            " button.click(); setTimeout(() => button.click(), 30); }",
            selector,
        )
    page.wait_for_load_state("load")


def test_a_double_click_on_get_next_order_takes_one_order(console, operator):
    OrderFactory.create_batch(4)
    page = console(operator)
    page.goto(ORDER_LIST)
    double_click(page, "#claim-next")
    expect(page).to_have_url(re.compile(r"/change/$"))
    page.wait_for_timeout(300)  # a second request, had one gone out, would have finished by now
    assert Assignment.objects.filter(operator=operator).count() == 1


def test_a_double_click_on_add_comment_posts_one_comment(console, operator):
    order = OrderFactory()
    page = console(operator)
    page.goto(order_page_url(order))
    page.locator("#comment-body").fill("Customer asked for a call back")
    double_click(page, "#comment-button")
    expect(messages(page, "success")).to_have_text(f"Your comment on #{order.number} was added.")
    page.wait_for_timeout(300)
    assert OrderComment.objects.filter(order=order).count() == 1


def test_a_double_click_on_an_actions_confirmation_acts_once(console, supervisor, operator):
    orders = OrderFactory.create_batch(2)
    orders_assign(actor=operator, order_ids=[orders[0].pk])
    page = console(supervisor)
    page.goto(ORDER_LIST)
    for order in orders:
        list_row(page, order).locator("input.action-select").check()
    page.locator("select[name=action]").select_option("take_over")
    page.get_by_role("button", name="Run").click()
    page.locator("textarea[name=reason]").fill("Anna is ill")
    double_click(page, "form[data-once] input[type=submit]")
    expect(messages(page, "success")).to_contain_text("Took over 2 orders")
    page.wait_for_timeout(300)
    assert orders[0].assignment_log.filter(action="taken_over").count() == 1


def test_a_supervisor_transfers_an_order_and_the_former_holder_sees_it(console, supervisor, operator, roles):
    maria = OperatorFactory(username="maria", first_name="Maria")
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    anna, boss = console(operator), console(supervisor)
    anna.goto(order_page_url(order))
    expect(anna.locator("#release-button")).to_be_visible()

    boss.goto(order_page_url(order))
    boss.locator("#transfer-operator").select_option(label="Maria — 0 orders")
    boss.locator("#transfer-button").click()
    expect(messages(boss, "success")).to_have_text(f"#{order.number} is now Maria's.")
    save_screenshot(boss, "v2-transfer")

    anna.reload()
    expect(anna.locator("#hold-banner")).to_contain_text("Assigned to Maria by Boris")
    expect(anna.locator("#timeline")).to_contain_text("Boris moved the order from Anna to Maria")
    assert holder_of(order) == maria


def test_a_typed_comment_survives_the_orders_save(console, operator):
    order = OrderFactory(customer_phone="+49 30 1")
    orders_assign(actor=operator, order_ids=[order.pk])
    page = console(operator)
    page.goto(order_page_url(order))
    page.locator("#comment-body").fill("Customer moved: new phone")
    page.locator("#id_customer_phone").fill("+359 2 555")
    page.locator("input[name=_continue]").click()
    expect(messages(page, "success").first).to_be_visible()
    expect(page.locator("#timeline")).to_contain_text("Customer moved: new phone")
    expect(page.locator("#timeline")).to_contain_text("Anna changed customer phone: +49 30 1 → +359 2 555")
    save_screenshot(page, "v2-order-page", docs_name="order-page-holder")


def test_choosing_a_final_status_asks_first_and_a_no_saves_nothing(console, operator):
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    page = console(operator)
    page.goto(order_page_url(order))
    expect(page.locator("#id_status option[data-final]").first).to_contain_text("(ends the hold)")
    page.locator("#id_status").select_option("complete")
    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.locator("input[name=_save]").click()
    page.wait_for_timeout(300)
    assert questions and "ends the hold" in questions[0]
    assert holder_of(order) == operator  # nothing was saved

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("input[name=_save]").click()
    expect(messages(page, "info")).to_contain_text(f"Your hold on #{order.number} ended")
    assert holder_of(order) is None


def test_keyboard_shortcuts_take_the_next_order_and_list_themselves(console, operator):
    OrderFactory.create_batch(3)
    page = console(operator)
    page.goto(ORDER_LIST)
    page.keyboard.press("?")
    expect(page.locator("#shortcut-overlay")).to_contain_text("Get next order")
    page.keyboard.press("Escape")
    expect(page.locator("#shortcut-overlay")).to_be_hidden()
    page.keyboard.press("j")
    expect(page.locator("#result_list tbody tr.keyboard-current")).to_have_count(1)
    page.keyboard.press("n")
    expect(page).to_have_url(re.compile(r"/change/$"))
    expect(page.locator("#release-button")).to_be_visible()
    page.wait_for_load_state("load")
    page.evaluate("document.activeElement && document.activeElement.blur()")  # typing in no field
    page.keyboard.press("c")
    expect(page.locator("#comment-body")).to_be_focused()
    assert Assignment.objects.filter(operator=operator).count() == 1
