"""The console as operators use it, in a real Chromium: taking, holding, releasing, taking over, completing
and claiming orders, and commenting on them, by clicking and typing. The state before each step is set up
with the services; the step under test goes through the pages only."""

import re

import pytest
from django.contrib.auth.models import AbstractBaseUser
from playwright.sync_api import Locator, Page, expect

from operators.models import Assignment, AssignmentLog
from operators.services import orders_assign
from orderops.conf import orderops_setting
from orders.models import Order, OrderComment
from orders.services import orders_status_set
from tests.browser.conftest import ARTIFACTS, save_screenshot
from tests.factories import OrderFactory

ORDER_LIST = "/admin/orders/order/"
# What the list's "Assigned to" column shows for an order nobody holds.
NOBODY = "free"
# For a check on a page that has finished loading (the checks before it waited for it): nothing more will
# change, so a failure need not wait the full timeout.
SETTLED_MS = 1_000


# --- what a person does on the pages ---------------------------------------------------------------------


def order_page_url(order: Order) -> str:
    return f"{ORDER_LIST}{order.pk}/change/"


def list_row(page: Page, order: Order) -> Locator:
    return page.locator("#result_list tbody tr").filter(
        has=page.get_by_role("link", name=f"#{order.number}", exact=True)
    )


def run_list_action(page: Page, orders: list[Order], action: str) -> None:
    """On the order list: tick the orders' checkboxes, choose the action, press Run."""
    for order in orders:
        list_row(page, order).locator("input.action-select").check()
    page.locator("select[name=action]").select_option(action)
    page.get_by_role("button", name="Run").click()


def messages(page: Page, level: str) -> Locator:
    return page.locator(f".messagelist li.{level}")


def banner(page: Page) -> Locator:
    return page.locator("#hold-banner")


def timeline(page: Page) -> Locator:
    return page.locator("#timeline")


def holder_of(order: Order) -> AbstractBaseUser | None:
    hold = Assignment.objects.filter(order=order).select_related("operator").first()
    return hold.operator if hold else None


# --- the scenarios -----------------------------------------------------------------------------------------


@pytest.mark.browser
def test_operator_bulk_assigns_three_orders_from_the_list_and_sees_them_as_hers(console, operator):
    first, second, third, untouched = OrderFactory.create_batch(4)
    page = console(operator)
    page.goto(ORDER_LIST)

    run_list_action(page, [first, second, third], "assign_to_me")

    success = messages(page, "success")
    expect(success).to_have_count(1)
    expect(success).to_contain_text("Assigned 3 orders to you:")
    for order in (first, second, third):
        expect(success).to_contain_text(f"#{order.number}")
        expect(list_row(page, order).locator("td.field-assigned_to")).to_contain_text("you")
    expect(list_row(page, untouched).locator("td.field-assigned_to")).to_have_text(NOBODY)
    save_screenshot(page, "01-bulk-assign")

    assert {order.pk: holder_of(order) for order in (first, second, third, untouched)} == {
        first.pk: operator,
        second.pk: operator,
        third.pk: operator,
        untouched.pk: None,
    }


@pytest.mark.browser
def test_another_operator_sees_the_order_read_only_can_comment_but_cannot_take_it(
    console, operator, other_operator
):
    order, other = OrderFactory.create_batch(2)
    orders_assign(actor=operator, order_ids=[order.pk, other.pk])
    page = console(other_operator)
    page.goto(order_page_url(order))

    expect(banner(page)).to_contain_text("Assigned to Anna")
    expect(banner(page)).to_contain_text(
        "Only Anna or a supervisor can change this order. You can still comment on it."
    )
    expect(page.locator("#assign-button")).to_have_count(0)
    expect(page.locator("#release-button")).to_have_count(0)
    expect(page.locator("#take-over-button")).to_have_count(0)
    # Read-only: the fields are text, not inputs, and there is nothing to save.
    expect(page.locator("#id_customer_name")).to_have_count(0)
    expect(page.locator("#id_status")).to_have_count(0)
    expect(page.locator("input[name=_save]")).to_have_count(0)
    expect(page.locator(".field-customer_name")).to_contain_text(order.customer_name)

    page.locator("#comment-body").fill("Customer called: she wants gift wrapping.")
    page.locator("#update-button").click()

    expect(messages(page, "success")).to_have_text(f"Your comment on #{order.number} was added.")
    comment = timeline(page).locator(".timeline-comment").last
    expect(comment).to_contain_text("Ivan")
    expect(comment).to_contain_text("Customer called: she wants gift wrapping.")
    expect(page.locator("#comment-body")).to_have_value("")
    save_screenshot(page, "02-read-only-with-comment")

    page.goto(ORDER_LIST)
    run_list_action(page, [order], "assign_to_me")

    expect(messages(page, "error")).to_have_text(f"#{order.number} is held by Anna.")
    expect(messages(page, "success")).to_have_count(0)
    expect(list_row(page, order).locator("td.field-assigned_to")).to_contain_text("Anna")
    save_screenshot(page, "02-assign-refused")

    assert holder_of(order) == operator
    assert list(OrderComment.objects.filter(order=order).values_list("author__username", "body")) == [
        ("ivan", "Customer called: she wants gift wrapping.")
    ]


@pytest.mark.browser
def test_holder_releases_an_order_from_its_page_and_the_button_turns_back_into_assign(console, operator):
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    page = console(operator)
    page.goto(order_page_url(order))
    expect(banner(page)).to_contain_text("Assigned to you")
    expect(page.locator("#assign-button")).to_have_count(0)

    page.locator("#release-button").click()

    # Done with it: back to the order list, where the order is free again.
    expect(messages(page, "success")).to_have_text(f"Released #{order.number}.")
    expect(page).to_have_url(re.compile(r"/admin/orders/order/$"))
    expect(list_row(page, order).locator("td.field-assigned_to")).to_have_text(NOBODY)
    page.goto(order_page_url(order))
    expect(page.locator("#release-button")).to_have_count(0)
    expect(page.locator("#assign-button")).to_have_text("Assign to me")
    expect(banner(page)).to_contain_text("Not assigned")
    expect(timeline(page)).to_contain_text("Anna released the order")
    save_screenshot(page, "03-released")

    assert holder_of(order) is None


@pytest.mark.browser
def test_supervisor_takes_an_order_over_with_a_reason_and_the_former_holder_sees_it(
    console, operator, supervisor
):
    order, kept = OrderFactory.create_batch(2)
    orders_assign(actor=operator, order_ids=[order.pk, kept.pk])
    reason = "Anna is on leave today; the customer is waiting"
    boss = console(supervisor)
    boss.goto(order_page_url(order))
    expect(banner(boss)).to_contain_text("Assigned to Anna")

    boss.locator("#hold-reason").fill(reason)
    boss.locator("#take-over-button").click()

    expect(messages(boss, "success")).to_have_text(f"You took over #{order.number}.")
    expect(banner(boss)).to_contain_text("Assigned to you")
    expect(timeline(boss)).to_contain_text(f"Boris took the order over from Anna: {reason}")
    save_screenshot(boss, "04-taken-over")

    anna = console(operator)
    anna.goto(ORDER_LIST)
    expect(list_row(anna, order).locator("td.field-assigned_to")).to_contain_text("Boris")
    expect(list_row(anna, kept).locator("td.field-assigned_to")).to_contain_text("you")
    anna.goto(order_page_url(order))
    expect(banner(anna)).to_contain_text("Assigned to Boris")
    expect(banner(anna)).to_contain_text("Only Boris or a supervisor can change this order.")
    expect(anna.locator("input[name=_save]")).to_have_count(0)
    save_screenshot(anna, "04-former-holder-view")

    assert holder_of(order) == supervisor
    assert holder_of(kept) == operator
    assert AssignmentLog.objects.filter(order=order, action=AssignmentLog.Action.TAKEN_OVER).get().reason == (
        reason
    )


@pytest.mark.browser
def test_setting_an_order_complete_from_the_list_ends_the_hold_and_the_timeline_says_why(console, operator):
    order, other = OrderFactory.create_batch(2)
    orders_assign(actor=operator, order_ids=[order.pk, other.pk])
    page = console(operator)
    page.goto(ORDER_LIST)

    run_list_action(page, [order], "set_status")
    expect(page.get_by_role("heading", name="Set the status of orders")).to_be_visible()
    expect(page.locator("ul.selected-orders")).to_contain_text(f"#{order.number}")
    page.locator("#id_status").select_option("complete")
    save_screenshot(page, "05-set-status-page")
    page.get_by_role("button", name="Set status").click()

    expect(messages(page, "success")).to_have_text(f"Set 1 order to Complete: #{order.number}.")
    expect(list_row(page, order).locator("td.field-status_badge")).to_have_text("Complete")
    expect(list_row(page, order).locator("td.field-assigned_to")).to_have_text(NOBODY)
    expect(list_row(page, other).locator("td.field-assigned_to")).to_contain_text("you")

    page.get_by_role("link", name=f"#{order.number}", exact=True).click()
    expect(banner(page)).to_contain_text("Not assigned")
    expect(banner(page)).to_contain_text("Complete is a final status.")
    expect(page.locator("#assign-button")).to_have_count(0)
    expect(timeline(page).locator(".timeline-auto_released")).to_contain_text(
        "Anna's hold ended automatically: status set to Complete"
    )
    save_screenshot(page, "05-completed-order-page")

    order.refresh_from_db()
    assert order.status_id == "complete"
    assert holder_of(order) is None
    assert holder_of(other) == operator


@pytest.mark.browser
def test_the_page_of_a_completed_order_does_not_tell_an_operator_to_assign_it(console, operator):
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    orders_status_set(actor=operator, order_ids=[order.pk], status_code="complete")
    page = console(operator)
    page.goto(ORDER_LIST)

    run_list_action(page, [order], "assign_to_me")

    expect(messages(page, "error")).to_have_text(
        f"#{order.number} is Complete: an order in a final status cannot be held."
    )
    page.goto(order_page_url(order))
    expect(banner(page)).to_contain_text("Complete is a final status.")
    expect(page.locator("#assign-button")).to_have_count(0)
    save_screenshot(page, "05-completed-order-advice")
    # The order cannot be held (the list just said so, and there is no button): the page must not send
    # her looking for a way to assign it.
    expect(banner(page)).not_to_contain_text("Assign it to yourself", timeout=SETTLED_MS)

    assert holder_of(order) is None


@pytest.mark.browser
def test_get_next_order_opens_the_oldest_free_order_held_by_the_clicker(console, operator, other_operator):
    oldest, next_free, newer = OrderFactory.create_batch(3)
    orders_assign(actor=other_operator, order_ids=[oldest.pk])
    page = console(operator)
    page.goto(ORDER_LIST)

    page.locator("#claim-next").click()

    expect(page).to_have_url(re.compile(rf"{ORDER_LIST}{next_free.pk}/change/\?via=next$"))
    expect(messages(page, "success")).to_have_text(f"Order #{next_free.number} is now yours.")
    expect(banner(page)).to_contain_text("Assigned to you")
    expect(page.locator("#release-button")).to_be_visible()
    expect(page.locator("input[name=_save]").first).to_be_visible()
    save_screenshot(page, "06-get-next-order")

    assert holder_of(next_free) == operator
    assert holder_of(oldest) == other_operator
    assert holder_of(newer) is None


@pytest.mark.browser
def test_opening_a_state_changing_url_with_get_changes_nothing(console, operator, other_operator):
    free, held = OrderFactory.create_batch(2)
    orders_assign(actor=other_operator, order_ids=[held.pk])
    page = console(operator)

    for url, explained in (
        (f"{ORDER_LIST}{free.pk}/assign/", "it only works from the order page"),
        (f"{ORDER_LIST}{held.pk}/release/", "it only works from the order page"),
        (f"{ORDER_LIST}{held.pk}/take-over/", "it only works from the order page"),
        (f"{ORDER_LIST}{held.pk}/comment/", "it only works from the order page"),
        (f"{ORDER_LIST}claim-next/", "it only works from the order list"),
    ):
        # Still 405 for every client; a person opening the link reads why, with the way to the button.
        response = page.request.get(url, max_redirects=0)
        assert response.status == 405, url
        assert explained in response.text(), url

    # In the page itself: the explanation, and the button offered as a form that only a press submits.
    page.goto(f"{ORDER_LIST}{free.pk}/assign/")
    expect(page.locator("#post-only-explanation")).to_contain_text(
        "This button changes the order, so it only works from the order page."
    )
    expect(page.locator("#post-only-button")).to_have_text("Assign to me")
    expect(page.locator("#post-only-back")).to_have_text(f"Open order #{free.number}")

    assert holder_of(free) is None
    assert holder_of(held) == other_operator
    assert not OrderComment.objects.exists()
    assert AssignmentLog.objects.count() == 1


@pytest.mark.browser
def test_a_refused_comment_shows_the_error_and_keeps_what_was_typed(console, operator):
    order = OrderFactory()
    page = console(operator)
    page.goto(order_page_url(order))

    page.locator("#comment-body").fill("   ")
    page.locator("#update-button").click()

    expect(messages(page, "error")).to_have_text(f"#{order.number}: a comment cannot be empty.")
    expect(timeline(page).locator(".timeline-comment")).to_have_count(0)

    limit = orderops_setting("COMMENT_MAX_LENGTH")
    too_long = "The parcel came back. " * (limit // 20)  # a little over the limit
    assert len(too_long.strip()) > limit
    page.locator("#comment-body").fill(too_long)
    page.locator("#update-button").click()

    length = len(too_long.strip())
    expect(messages(page, "error")).to_have_text(
        f"#{order.number}: a comment can have at most {limit} characters; this one has {length}."
    )
    expect(page.locator("#comment-body")).to_have_value(too_long)
    expect(timeline(page).locator(".timeline-comment")).to_have_count(0)
    save_screenshot(page, "07-comment-refused")

    assert not OrderComment.objects.exists()


@pytest.mark.browser
def test_a_refused_comments_error_is_in_view_when_the_page_comes_back(console, operator):
    order = OrderFactory()
    page = console(operator)
    page.goto(order_page_url(order))

    page.locator("#comment-body").fill("   ")
    page.locator("#update-button").click()

    error = messages(page, "error")
    expect(error).to_have_text(f"#{order.number}: a comment cannot be empty.")
    expect(page.locator("#comment-body")).to_be_in_viewport()
    page.screenshot(path=ARTIFACTS / "07-comment-refused-as-seen.png")  # the viewport: what she sees
    # She pressed "Add comment" and the page came back scrolled to the box: the reason must be there too.
    expect(error).to_be_in_viewport(timeout=SETTLED_MS)
