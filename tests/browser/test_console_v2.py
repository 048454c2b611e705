"""The console's screens at common sizes and under two people's hands, in a real Chromium: the holder is in
view without sideways scrolling, a double click acts once, a supervisor moves an order in one step."""

import re

import pytest
from playwright.sync_api import Page, expect

from operators.models import Assignment, AssignmentLog
from operators.services import orders_assign
from orders.models import Order, OrderComment
from tests.browser.conftest import save_screenshot
from tests.browser.test_console import ORDER_LIST, banner, holder_of, list_row, messages, order_page_url
from tests.factories import OperatorFactory, OrderFactory, OrderLineFactory

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
    expect(page).to_have_url(re.compile(r"/change/\?via=next$"))
    page.wait_for_timeout(300)  # a second request, had one gone out, would have finished by now
    assert Assignment.objects.filter(operator=operator).count() == 1


def test_a_double_click_on_add_comment_posts_one_comment(console, operator):
    order = OrderFactory()
    page = console(operator)
    page.goto(order_page_url(order))
    page.locator("#comment-body").fill("Customer asked for a call back")
    double_click(page, "#update-button")
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
    expect(page).to_have_url(re.compile(r"/change/\?via=next$"))
    expect(page.locator("#release-button")).to_be_visible()
    page.wait_for_load_state("load")
    page.evaluate("document.activeElement && document.activeElement.blur()")  # typing in no field
    page.keyboard.press("c")
    expect(page.locator("#comment-body")).to_be_focused()
    assert Assignment.objects.filter(operator=operator).count() == 1


# --- the order page's flow, its Update box and unsaved input ------------------------------------------------


def open_at(page: Page, size: str) -> None:
    width, height = SIZES[size]
    page.set_viewport_size({"width": width, "height": height})


def dialogs_answered(page: Page, answer: bool) -> list[str]:
    """Every dialog the page opens from now on, answered `answer`: [type: message, ...]."""
    seen: list[str] = []

    def on_dialog(dialog) -> None:
        seen.append(f"{dialog.type}: {dialog.message}")
        dialog.accept() if answer else dialog.dismiss()

    page.on("dialog", on_dialog)
    return seen


@pytest.mark.parametrize("size", list(SIZES))
def test_get_next_then_a_final_update_returns_to_the_queue_and_offers_the_next_order(console, operator, size):
    OrderFactory.create_batch(3)
    page = console(operator)
    open_at(page, size)
    page.goto(ORDER_LIST + "?held=open")
    expect(page.locator("#claim-next")).to_have_class(re.compile("primary-action"))
    page.locator("#claim-next").click()
    expect(page).to_have_url(re.compile(r"/change/\?_changelist_filters=held%3Dopen&via=next$"))
    first = Assignment.objects.get(operator=operator).order
    page.locator("#comment-body").fill("Shipped with DHL")
    page.locator("#update-status").select_option("complete")
    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#update-button").click()

    expect(page).to_have_url(re.compile(r"/admin/orders/order/\?held=open$"))
    expect(messages(page, "info").first).to_have_text(
        f"Your hold on #{first.number} ended: Complete is a final status."
    )
    offer = messages(page, "info").filter(has_text="Ready for the next order?")
    expect(offer.get_by_role("button", name="Get next order")).to_be_visible()
    save_screenshot(page, f"v2-offer-next-{size}")
    offer.get_by_role("button", name="Get next order").click()
    expect(page).to_have_url(re.compile(r"via=next$"))
    expect(banner(page)).to_contain_text("Assigned to you")
    assert Assignment.objects.filter(operator=operator).count() == 1
    assert Assignment.objects.get(operator=operator).order != first


@pytest.mark.parametrize("size", list(SIZES))
def test_a_comment_and_a_status_go_in_one_update(console, operator, size):
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    page = console(operator)
    open_at(page, size)
    page.goto(order_page_url(order) + "?_changelist_filters=held%3Dmine")
    page.locator("#comment-body").fill("Paid by bank transfer")
    page.locator("#update-status").select_option("processing")
    questions = dialogs_answered(page, True)
    page.locator("#update-button").click()

    expect(messages(page, "success")).to_have_text(
        [f"#{order.number} is now Processing.", f"Your comment on #{order.number} was added."]
    )
    expect(page.locator("#timeline")).to_contain_text("Paid by bank transfer")
    expect(page.locator("#timeline")).to_contain_text("Anna changed status: Pending → Processing")
    expect(page.locator(".field-status_badge .status-badge")).to_have_text("Processing")
    expect(page.locator("#comment-body")).to_have_value("")
    assert questions == []  # neither a final status nor unsaved input: nothing to ask
    assert OrderComment.objects.filter(order=order).count() == 1
    save_screenshot(page, f"v2-update-{size}")


def test_a_final_status_in_the_update_box_asks_first_and_ends_the_hold(console, operator):
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    page = console(operator)
    page.goto(order_page_url(order) + "?_changelist_filters=held%3Dmine")
    expect(page.locator("#update-status option[data-final]").first).to_contain_text("(ends the hold)")
    page.locator("#comment-body").fill("Delivered, signed by the customer")
    page.locator("#update-status").select_option("complete")

    questions = []
    page.once("dialog", lambda dialog: (questions.append(dialog.message), dialog.dismiss()))
    page.locator("#update-button").click()
    page.wait_for_timeout(300)
    assert questions == [
        "Complete (ends the hold): this ends the hold, and only a supervisor can reopen the order. Go ahead?"
    ]
    assert holder_of(order) == operator and not OrderComment.objects.exists()  # a no sends nothing
    expect(page.locator("#comment-body")).to_have_value("Delivered, signed by the customer")

    page.once("dialog", lambda dialog: dialog.accept())
    page.locator("#update-button").click()
    expect(page).to_have_url(re.compile(r"/admin/orders/order/\?held=mine$"))
    expect(messages(page, "info")).to_contain_text(
        f"Your hold on #{order.number} ended: Complete is a final status."
    )
    assert holder_of(order) is None
    assert Order.objects.get(pk=order.pk).status_id == "complete"
    assert OrderComment.objects.filter(order=order).count() == 1


def test_release_after_update_comments_then_releases(console, operator):
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    page = console(operator)
    page.goto(order_page_url(order))
    page.locator("#comment-body").fill("Waiting for the customer's answer")
    page.locator("#release-after").check()
    page.locator("#update-button").click()
    expect(messages(page, "success")).to_have_text(
        [f"Your comment on #{order.number} was added.", f"Released #{order.number}."]
    )
    expect(page).to_have_url(re.compile(r"/admin/orders/order/$"))
    assert holder_of(order) is None
    assert list(AssignmentLog.objects.filter(order=order).values_list("action", flat=True)) == [
        "assigned",
        "released",
    ]


def test_the_update_box_with_edited_fields_saves_everything_in_one_submit(console, operator):
    order = OrderFactory(customer_phone="+49 30 1")
    orders_assign(actor=operator, order_ids=[order.pk])
    page = console(operator)
    page.goto(order_page_url(order))
    page.locator("#id_customer_phone").fill("+359 2 555")
    page.locator("#comment-body").fill("New phone number, confirmed by email")
    page.locator("#update-status").select_option("on_hold")
    questions = dialogs_answered(page, True)
    page.locator("#update-button").click()
    expect(messages(page, "success").first).to_be_visible()
    expect(page.locator("#timeline")).to_contain_text("New phone number, confirmed by email")
    current = Order.objects.get(pk=order.pk)
    assert (current.customer_phone, current.status_id, current.version) == ("+359 2 555", "on_hold", 2)
    assert OrderComment.objects.filter(order=order).count() == 1
    assert questions == []  # the page's own submit: no "leave the page?"


def test_leaving_with_unsaved_input_asks_first_and_a_submit_does_not(console, operator):
    order = OrderFactory()
    OrderLineFactory(order=order)
    orders_assign(actor=operator, order_ids=[order.pk])
    page = console(operator)
    page.goto(order_page_url(order))
    questions = dialogs_answered(page, False)

    # Nothing typed: the link just leaves.
    page.get_by_role("link", name="My orders").click()
    expect(page).to_have_url(re.compile(r"held=mine"))
    assert questions == []

    # A comment typed in the Update box: leaving asks, and "stay" keeps it.
    page.goto(order_page_url(order))
    page.locator("#comment-body").fill("Half a thought")
    page.get_by_role("link", name="My orders").click()
    page.wait_for_timeout(300)
    assert [text.split(":")[0] for text in questions] == ["beforeunload"]
    expect(page).to_have_url(re.compile(r"/change/$"))
    expect(page.locator("#comment-body")).to_have_value("Half a thought")

    # An edited field of the order form (the comment box empty): asks too.
    page.locator("#comment-body").fill("")
    page.locator("#id_customer_name").fill("Someone Else")
    page.get_by_role("link", name="All orders").click()
    page.wait_for_timeout(300)
    assert len(questions) == 2
    expect(page).to_have_url(re.compile(r"/change/$"))

    # The page's own submit leaves without asking.
    page.locator("input[name=_continue]").click()
    expect(messages(page, "success").first).to_be_visible()
    assert len(questions) == 2
    assert Order.objects.get(pk=order.pk).customer_name == "Someone Else"


def test_a_stale_update_is_refused_once_and_keeps_the_comment_and_the_choice(console, operator, supervisor):
    order = OrderFactory(customer_phone="+49 30 1")
    orders_assign(actor=operator, order_ids=[order.pk])
    anna, boss = console(operator), console(supervisor)
    anna.set_viewport_size({"width": 1280, "height": 800})
    anna.goto(order_page_url(order))
    boss.goto(order_page_url(order))

    boss.locator("#id_customer_phone").fill("+359 88 123")
    boss.locator("input[name=_continue]").click()
    expect(messages(boss, "success").first).to_be_visible()

    anna.locator("#comment-body").fill("Customer cancels by phone")
    anna.locator("#update-status").select_option("canceled")
    anna.once("dialog", lambda dialog: dialog.accept())
    anna.locator("#update-button").click()

    refusal = anna.locator(".messagelist li.error")
    expect(refusal).to_have_count(1)
    expect(refusal).to_contain_text(f"Boris changed customer phone on #{order.number}")
    expect(refusal).to_be_in_viewport()
    expect(anna.locator("#comment-body")).to_have_value("Customer cancels by phone")
    expect(anna.locator("#update-status")).to_have_value("canceled")
    expect(anna.locator(".field-customer_phone input")).to_have_value("+359 88 123")  # the page is current
    save_screenshot(anna, "v2-stale-update")
    assert Order.objects.get(pk=order.pk).status_id == "pending" and not OrderComment.objects.exists()

    # Sent again from the current page, it lands.
    anna.once("dialog", lambda dialog: dialog.accept())
    anna.locator("#update-button").click()
    expect(anna).to_have_url(re.compile(r"/admin/orders/order/$"))
    assert Order.objects.get(pk=order.pk).status_id == "canceled"
    assert OrderComment.objects.filter(order=order).count() == 1


def test_a_stale_save_says_so_once_and_keeps_the_input(console, operator, supervisor):
    order = OrderFactory(shipping_street="Hauptstraße 36")
    orders_assign(actor=operator, order_ids=[order.pk])
    anna, boss = console(operator), console(supervisor)
    anna.goto(order_page_url(order))
    boss.goto(order_page_url(order))
    boss.locator("#id_shipping_street").fill("Vitosha Blvd 1")
    boss.locator("input[name=_continue]").click()
    expect(messages(boss, "success").first).to_be_visible()

    anna.locator("#id_customer_phone").fill("+359 2 555")
    anna.locator("input[name=_continue]").click()
    sentence = f"Boris changed street on #{order.number}"
    expect(anna.get_by_text(sentence)).to_have_count(1)
    expect(anna.locator(".errornote")).to_have_count(0)
    expect(anna.locator("#id_customer_phone")).to_have_value("+359 2 555")
    expect(anna.locator("#id_shipping_street")).to_have_value("Vitosha Blvd 1")
    save_screenshot(anna, "v2-stale-save")
    # The kept input is unsaved: leaving asks.
    questions = dialogs_answered(anna, False)
    anna.get_by_role("link", name="My orders").click()
    anna.wait_for_timeout(300)
    assert [text.split(":")[0] for text in questions] == ["beforeunload"]


def test_a_double_click_on_update_adds_one_comment_and_one_status_change(console, operator):
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    page = console(operator)
    page.goto(order_page_url(order))
    page.locator("#comment-body").fill("Called: no answer")
    page.locator("#update-status").select_option("on_hold")
    double_click(page, "#update-button")
    expect(messages(page, "success")).to_have_count(2)
    page.wait_for_timeout(300)
    assert OrderComment.objects.filter(order=order).count() == 1
    assert Order.objects.get(pk=order.pk).version == 2
    page.goto("about:blank")  # the page's polling stops before the database is emptied


def test_the_order_page_screenshots_for_the_readme(console, operator, other_operator):
    order = OrderFactory(customer_phone="+49 30 1")
    OrderLineFactory(order=order)
    OrderFactory.create_batch(2)
    orders_assign(actor=operator, order_ids=[order.pk])
    anna = console(operator)
    anna.set_viewport_size({"width": 1280, "height": 800})
    anna.goto(order_page_url(order) + "?_changelist_filters=held%3Dmine")
    anna.locator("#comment-body").fill("Customer moved: new phone")
    anna.locator("#id_customer_phone").fill("+359 2 555")
    anna.locator("input[name=_continue]").click()
    expect(messages(anna, "success").first).to_be_visible()
    anna.locator("#comment-body").fill("Parcel to be sent on Monday")
    anna.locator("#update-status").select_option("processing")
    anna.locator("#update-button").click()
    expect(messages(anna, "success").first).to_be_visible()
    anna.locator("#comment-body").fill("Ask the warehouse about the gift wrapping")
    save_screenshot(anna, "v2-order-page", docs_name="order-page-holder")
    anna.emulate_media(color_scheme="dark")
    save_screenshot(anna, "v2-order-page-dark", docs_name="order-page-holder-dark")

    ivan = console(other_operator)
    ivan.set_viewport_size({"width": 1280, "height": 800})
    ivan.goto(order_page_url(order))
    expect(ivan.locator("#update-status")).to_have_count(0)
    expect(ivan.locator("#release-after")).to_have_count(0)
    save_screenshot(ivan, "v2-order-page-colleague", docs_name="order-page")
