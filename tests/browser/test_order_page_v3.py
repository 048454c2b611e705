"""The order page, v3: a comment posted once whatever the browser restores after Back, and `r` that asks
before it releases; at 1280 × 800 and 390 × 844."""

import re

import pytest
from playwright.sync_api import Page, expect

from operators.models import Assignment
from operators.services import orders_assign
from orders.models import OrderComment
from tests.browser.test_console import messages, order_page_url
from tests.factories import OrderFactory

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1280, 800), "phone": (390, 844)}


def open_at(page: Page, size: str) -> None:
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})


@pytest.mark.parametrize("size", list(SIZES))
def test_back_then_update_posts_the_comment_once(console, operator, size):
    order = OrderFactory()
    page = console(operator)
    open_at(page, size)
    page.goto(order_page_url(order))
    page.locator("#comment-body").fill("Customer asked for a call back")
    page.locator("#update-button").click()
    expect(messages(page, "success")).to_have_text(f"Your comment on #{order.number} was added.")
    page.go_back()
    page.wait_for_load_state("load")
    # Chromium puts the comment back in the box: the page came again, with a new token.
    expect(page.locator("#comment-body")).to_have_value("Customer asked for a call back")
    page.locator("#update-button").click()
    # Answered with the first submit's result, on a page that shows the comment once.
    expect(page).to_have_url(re.compile(r"/change/#timeline-end$"))
    expect(messages(page, "success")).to_have_text(f"Your comment on #{order.number} was added.")
    expect(page.locator("#timeline .timeline-entries li")).to_have_count(1)
    assert list(OrderComment.objects.filter(order=order).values_list("body", flat=True)) == [
        "Customer asked for a call back"
    ]


def test_a_new_comment_typed_after_back_posts(console, operator):
    order = OrderFactory()
    page = console(operator)
    page.goto(order_page_url(order))
    page.locator("#comment-body").fill("Customer asked for a call back")
    page.locator("#update-button").click()
    expect(messages(page, "success")).to_have_text(f"Your comment on #{order.number} was added.")
    page.go_back()
    page.wait_for_load_state("load")
    expect(page.locator("#comment-body")).to_have_value("Customer asked for a call back")
    page.locator("#comment-body").fill("Called back: no answer")
    page.locator("#update-button").click()
    expect(page.locator("#timeline")).to_contain_text("Called back: no answer")
    # Back twice more, to the first page and to the second: neither sends its comment again.
    for _ in range(2):
        page.go_back()
        page.wait_for_load_state("load")
        page.locator("#update-button").click()
        expect(messages(page, "success")).to_have_count(1)
    assert sorted(OrderComment.objects.filter(order=order).values_list("body", flat=True)) == [
        "Called back: no answer",
        "Customer asked for a call back",
    ]


@pytest.mark.parametrize("size", list(SIZES))
def test_r_releases_only_after_a_confirmation(console, operator, size):
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    page = console(operator)
    open_at(page, size)
    page.goto(order_page_url(order))
    page.wait_for_load_state("load")
    page.evaluate("document.activeElement && document.activeElement.blur()")  # typing in no field
    questions: list[str] = []

    def answer(dialog, accept: bool) -> None:
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, False))
    page.keyboard.press("r")
    expect(page.locator("#release-button")).to_be_visible()
    page.wait_for_timeout(300)  # a release, had one been sent, would have been answered by now
    assert questions == [f"Release #{order.number}? Anyone may take it then."]
    assert Assignment.objects.filter(order=order, operator=operator).exists()

    page.once("dialog", lambda dialog: answer(dialog, True))
    page.keyboard.press("r")
    expect(page).to_have_url(re.compile(r"/admin/orders/order/$"))
    assert len(questions) == 2
    assert not Assignment.objects.filter(order=order).exists()
