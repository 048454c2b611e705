"""The order page, v3: the order at a glance, its items edited in a step of their own, a comment posted
once whatever the browser restores after Back, and `r` that asks before it releases; at 1280 × 800 and
390 × 844."""

import re
from decimal import Decimal

import pytest
from playwright.sync_api import Page, expect

from operators.models import Assignment, OperatorPreference
from operators.services import orders_assign
from orders.models import OrderComment, OrderLine
from tests.browser.conftest import save_screenshot
from tests.browser.test_console import messages, order_page_url
from tests.factories import OrderFactory, OrderLineFactory, StoreFactory

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


LONG_NAME = "Green tea Gyokuro Asahi, shade-grown, loose leaf, 250 g tin with gift wrapping"


def order_from_a_store():
    order = OrderFactory(
        store=StoreFactory(),
        external_id="5550001",
        customer_name="Emma Novak",
        customer_email="emma.novak@example.com",
        customer_phone="+359 88 306 5614",
        grand_total=Decimal("57.90"),
        shipping_total=Decimal("5.90"),
        tax_total=Decimal("8.00"),
        discount_total=Decimal("4.00"),
        payment_status="paid",
        fulfillment_status="unfulfilled",
        shipping_method="DHL Express",
        customer_note="Please ring twice.",
    )
    OrderLineFactory(order=order, name=LONG_NAME, sku="TEA-GYO-250", qty=2, unit_price=12)
    OrderLineFactory(order=order, name="Mug", sku="MUG-1", qty=1, unit_price=24)
    OrderFactory.create_batch(2, customer_email="emma.novak@example.com")
    return order


@pytest.mark.parametrize("size", list(SIZES))
def test_the_order_reads_at_a_glance_in_the_first_screen(console, operator, size):
    order = order_from_a_store()
    orders_assign(actor=operator, order_ids=[order.pk])
    page = console(operator)
    open_at(page, size)
    page.goto(order_page_url(order))
    glance = page.locator("#order-glance")
    expect(glance.locator(".glance-item").first).to_contain_text(LONG_NAME)
    expect(page.locator("#glance-total")).to_have_text("€57.90")
    expect(page.locator("#glance-mismatch")).to_have_count(0)
    expect(page.locator("#glance-email")).to_have_attribute("href", "mailto:emma.novak@example.com")
    expect(page.locator("#glance-phone")).to_have_attribute("href", "tel:+359883065614")
    expect(page.locator("#glance-other-orders")).to_have_text("2 other orders")
    # The items read in full: no cell cut or scrolled, nothing wider than the screen.
    clipped = page.evaluate(
        "Array.from(document.querySelectorAll('#glance-items td, #glance-items th'))"
        ".filter(cell => cell.scrollWidth > cell.clientWidth + 1).map(cell => cell.textContent)"
    )
    assert clipped == []
    widths = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert widths[0] <= widths[1], f"the page scrolls sideways: {widths}"
    # What was bought and what was paid are in the first screen (on a phone, within a screen and a half);
    # on a wide screen the Update box stays beside them.
    total_box = page.locator("#glance-total").bounding_box()
    assert total_box is not None and total_box["y"] + total_box["height"] <= SIZES[size][1] * 1.6
    if size == "desktop":
        assert total_box["y"] + total_box["height"] <= SIZES[size][1]
        update = page.locator("#update-button").bounding_box()
        assert update is not None and update["y"] + update["height"] <= SIZES[size][1]
    save_screenshot(page, f"v3-order-glance-{size}")
    page.locator("#glance-other-orders").click()
    expect(page).to_have_url(re.compile(r"/admin/orders/order/\?q=emma.novak%40example.com$"))
    expect(page.locator("#result_list tbody tr")).to_have_count(3)


def test_the_items_are_edited_after_pressing_edit_items(console, operator):
    order = order_from_a_store()
    order.store = None
    order.save()
    orders_assign(actor=operator, order_ids=[order.pk])
    page = console(operator)
    page.goto(order_page_url(order))
    expect(page.locator("input[name$='-qty']")).to_have_count(0)
    page.locator("#edit-items").click()
    expect(page).to_have_url(re.compile(r"\?edit_items=1$"))
    page.locator("input[name='lines-1-qty']").fill("3")
    page.locator("input[name=_continue]").click()
    expect(messages(page, "success").first).to_be_visible()
    expect(page.locator("#glance-items")).to_contain_text("€72.00")  # 3 × €24.00
    page.locator("#items-done").click()
    expect(page.locator("#edit-items")).to_be_visible()
    expect(page.locator("input[name$='-qty']")).to_have_count(0)  # the items read again
    assert sorted(OrderLine.objects.filter(order=order).values_list("sku", "qty")) == [
        ("MUG-1", 3),
        ("TEA-GYO-250", 2),
    ]
    # The totals no longer add up: the page says so, with the figures.
    expect(page.locator("#glance-mismatch")).to_contain_text("add up to €105.90, not €57.90")


@pytest.mark.parametrize("size", list(SIZES))
def test_the_order_at_a_glance_in_bulgarian(console, operator, size):
    OperatorPreference.objects.create(user=operator, language="bg", time_zone="Europe/Sofia")
    order = order_from_a_store()
    orders_assign(actor=operator, order_ids=[order.pk])
    page = console(operator)
    open_at(page, size)
    page.goto(order_page_url(order))
    expect(page.locator("#glance-other-orders")).to_have_text("2 други поръчки")
    expect(page.locator("#order-glance")).to_contain_text("Междинна сума")
    expect(page.locator("#glance-payment-status")).to_have_text("Платено")
    expect(page.locator("#glance-fulfillment-status")).to_have_text("Неизпратено")
    expect(page.locator("#edit-items")).to_have_text("Редактирай артикулите")
    save_screenshot(page, f"v3-order-glance-bg-{size}")
