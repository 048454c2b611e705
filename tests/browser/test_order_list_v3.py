"""The order list as a busy operator reads it, in a real Chromium: a full screen of orders in every queue at
1280 x 800 with the navigation open, the queues with their counts in a phone's first screen, `a` taking the
highlighted order, and the "N results" line following a colleague's change."""

import pytest
from playwright.sync_api import Page, expect

from console.queues import queue_counts
from operators.models import Assignment, AssignmentLog, OperatorPreference
from operators.services import orders_assign
from orders.models import Order, OrderStatus
from tests.browser.conftest import save_screenshot
from tests.browser.test_console import ORDER_LIST, list_row, messages
from tests.factories import OrderFactory, StoreFactory

pytestmark = pytest.mark.browser

DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# The goal: at least this many orders fully visible at 1280 x 800, in every queue.
ROWS_AT_LEAST = 15
# The navigation's queues (console/queues.py) as the list's query strings.
QUEUES = {
    "mine": "?held=mine",
    "open": "?held=open",
    "others": "?held=others",
    "on_hold": "?status__code__exact=on_hold",
    "all": "",
}
# Seconds between the live page's ticks here (tests/live pins the defaults).
FAST = {"LIVE_POLL_INTERVAL": 1, "LIVE_HEARTBEAT_INTERVAL": 1, "QUEUE_COUNTS_INTERVAL": 1}

FULLY_VISIBLE_ROWS = """() => Array.from(document.querySelectorAll('#result_list tbody tr')).filter((row) => {
  const box = row.getBoundingClientRect();
  return box.height > 0 && box.top >= 0 && box.bottom <= window.innerHeight
    && box.left >= 0 && box.right <= window.innerWidth;
}).length"""


@pytest.fixture(autouse=True)
def fast_intervals(settings):
    settings.ORDEROPS = {**getattr(settings, "ORDEROPS", {}), **FAST}


@pytest.fixture
def busy_day(operator, other_operator):
    """Twenty orders in each queue, from two connected stores (the list then has its widest row: the store
    column and what the store says of the payment and the fulfilment), with long customer names and emails."""
    shop, magento = StoreFactory(name="Demo Shopify"), StoreFactory(platform="magento", name="Demo Magento")
    on_hold = OrderStatus.objects.get(code="on_hold")

    def batch(count: int, **fields) -> list[Order]:
        return [
            OrderFactory(
                store=(shop, magento)[index % 2],
                external_id=f"ext-{fields.get('number_from', 0) + index}",
                number=str(fields.get("number_from", 0) + index),
                customer_name="Konstantina Papadopoulou-Hadjiyianni",
                customer_email=f"konstantina.papadopoulou.{index}@a-very-long-mail-domain.example.com",
                # What the store says beside the status (the "In the store" column), at its longest words.
                payment_status="partially_refunded",
                fulfillment_status="pending_fulfillment",
                **{key: value for key, value in fields.items() if key != "number_from"},
            )
            for index in range(count)
        ]

    free = batch(20, number_from=100000)
    batch(20, number_from=200000, status=on_hold)
    mine, others = batch(20, number_from=300000), batch(20, number_from=400000)
    orders_assign(actor=operator, order_ids=[order.pk for order in mine])
    orders_assign(actor=other_operator, order_ids=[order.pk for order in others])
    return free


def speaks(user, language: str) -> None:
    OperatorPreference.objects.update_or_create(user=user, defaults={"language": language})


@pytest.mark.parametrize("language", ["en", "bg"])
def test_every_queue_shows_at_least_15_orders_at_1280_by_800_with_the_navigation_open(
    console, operator, busy_day, language
):
    speaks(operator, language)
    page = console(operator)
    page.set_viewport_size(DESKTOP)
    seen = {}
    for key, query in QUEUES.items():
        page.goto(ORDER_LIST + query)
        expect(page.locator("#nav-sidebar")).to_be_visible()
        expect(page.locator("#nav-sidebar .queues")).to_be_in_viewport()
        seen[key] = page.evaluate(FULLY_VISIBLE_ROWS)
        if key == "open":
            save_screenshot(page, f"v3-list-desktop-{language}")
    assert all(count >= ROWS_AT_LEAST for count in seen.values()), seen
    # With an action's message above the list too (the page after a take).
    run_take = list_row(page, busy_day[0]).locator("input.action-select")
    page.goto(ORDER_LIST + QUEUES["open"])
    run_take.check()
    page.locator('select[name="action"]').select_option("assign_to_me")
    page.locator('.actions button[name="index"]').click()
    expect(messages(page, "success")).to_be_visible()
    assert page.evaluate(FULLY_VISIBLE_ROWS) >= ROWS_AT_LEAST


@pytest.mark.parametrize("language", ["en", "bg"])
def test_on_a_phone_the_queues_and_their_counts_are_in_the_first_screen(
    console, operator, busy_day, language
):
    speaks(operator, language)
    page = console(operator)
    page.set_viewport_size(PHONE)
    counts = {key: str(value["count"]) for key, value in queue_counts(operator).items()}
    for query in QUEUES.values():
        page.goto(ORDER_LIST + query)
        bar = page.locator(".queue-bar")
        expect(bar).to_be_visible()
        for key in QUEUES:
            link = bar.locator(f'a[data-queue="{key}"]')
            expect(link.locator(".queue-count")).to_have_text(counts[key])
            box = link.bounding_box()
            assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], (
                key,
                box,
            )
            assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], (key, box)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    # The cards line up: the numbers start at one x, the holders end at one x.
    edges = page.evaluate(
        """() => Array.from(document.querySelectorAll('#result_list tbody tr')).slice(0, 6).map((row) => [
          row.querySelector('th.field-order_number').getBoundingClientRect().left,
          row.querySelector('td.field-assigned_to').getBoundingClientRect().right,
          row.querySelector('td.field-customer').getBoundingClientRect().left,
        ])"""
    )
    assert len(edges) == 6
    for column in range(3):
        assert len({round(row[column]) for row in edges}) == 1, edges
    save_screenshot(page, f"v3-list-phone-{language}")


def highlight(page: Page, row_number: int) -> None:
    """j as many times as it takes to highlight the row_number-th row (1 is the first)."""
    page.locator("body").click(position={"x": 5, "y": 5})  # the page has the keyboard, no box does
    for _step in range(row_number):
        page.keyboard.press("j")
    expect(page.locator("#result_list tbody tr.keyboard-current")).to_have_count(1)


def test_a_takes_the_highlighted_order_once_and_says_so(console, operator):
    orders = OrderFactory.create_batch(4)  # the newest first: orders[2] is the second row
    page = console(operator)
    page.goto(ORDER_LIST + QUEUES["open"])
    highlight(page, 2)
    expect(page.locator("#result_list tbody tr.keyboard-current")).to_contain_text(f"#{orders[2].number}")
    # A double a: two key presses 30 ms apart, as a quick double press sends them.
    with page.expect_navigation():
        page.keyboard.press("a")
        page.wait_for_timeout(30)
        page.keyboard.press("a")
    page.wait_for_load_state("load")
    expect(messages(page, "success")).to_contain_text(f"#{orders[2].number}")
    page.wait_for_timeout(300)  # a second request, had one gone out, would have finished by now
    assert list(Assignment.objects.values_list("order_id", "operator_id")) == [(orders[2].pk, operator.pk)]
    assert AssignmentLog.objects.filter(order=orders[2]).count() == 1


def test_a_on_an_order_held_by_a_colleague_is_refused_with_the_holders_name(
    console, operator, other_operator
):
    orders = OrderFactory.create_batch(3)
    orders_assign(actor=other_operator, order_ids=[orders[2].pk])  # the first row
    page = console(operator)
    page.goto(ORDER_LIST)
    highlight(page, 1)
    with page.expect_navigation():
        page.keyboard.press("a")
    expect(messages(page, "error").or_(messages(page, "warning"))).to_contain_text("Ivan")
    assert Assignment.objects.get(order=orders[2]).operator == other_operator


def test_the_results_line_follows_a_take_by_a_colleague(console, operator, other_operator):
    orders = OrderFactory.create_batch(5)
    anna = console(operator)
    anna.goto(ORDER_LIST + QUEUES["open"])
    results = anna.locator("#toolbar [data-result-count]")
    expect(results).to_have_text("5 results")
    expect(anna.locator('.changelist-footer [data-result-count="orders"]')).to_have_text("5 orders")

    # Ivan takes the newest order from his own list, with the same key.
    ivan = console(other_operator)
    ivan.goto(ORDER_LIST + QUEUES["open"])
    highlight(ivan, 1)
    with ivan.expect_navigation():
        ivan.keyboard.press("a")
    expect(messages(ivan, "success")).to_contain_text(f"#{orders[-1].number}")

    # Anna's page, not reloaded: the row shows Ivan, the counts follow.
    expect(list_row(anna, orders[-1]).locator("td.field-assigned_to")).to_contain_text("Ivan")
    expect(results).to_have_text("4 results")
    expect(anna.locator('.changelist-footer [data-result-count="orders"]')).to_have_text("4 orders")
    expect(anna.locator('#nav-sidebar [data-queue-count="open"]')).to_have_text("4")
