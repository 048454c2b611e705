"""The live console in a real Chromium, with two and three people: presence on the order page (and its going
when a tab closes or stops), a take-over shown on the displaced holder's open page, a list row that changes
holder without a reload. The intervals are short here (settings); tests/live pins the defaults."""

import re

import pytest
from playwright.sync_api import Page, expect

from operators.services import orders_assign, orders_take_over
from orders.models import Order
from tests.browser.conftest import save_screenshot
from tests.factories import OrderFactory

ORDER_LIST = "/admin/orders/order/"
# Seconds: a heartbeat and a poll every second, gone five seconds after the last heartbeat (room for a
# heartbeat held up on a busy machine).
FAST = {"LIVE_HEARTBEAT_INTERVAL": 1, "LIVE_POLL_INTERVAL": 1, "LIVE_PRESENCE_TIMEOUT": 5}
# The bounds, in milliseconds: presence shows within 25 s, and is gone 70 s after a tab closed.
APPEARS_MS = 25_000
GOES_MS = 70_000


@pytest.fixture(autouse=True)
def fast_intervals(settings):
    settings.ORDEROPS = {**getattr(settings, "ORDEROPS", {}), **FAST}


def open_order(page: Page, order: Order) -> Page:
    page.goto(f"{ORDER_LIST}{order.pk}/change/")
    expect(page.get_by_test_id("presence")).to_be_visible()
    return page


def presence(page: Page):
    return page.get_by_test_id("presence")


def test_presence_shows_who_views_and_edits_and_goes_when_their_tab_does(
    console, operator, other_operator, supervisor
):
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    anna = open_order(console(operator), order)
    expect(presence(anna)).to_contain_text("Nobody else has this order open.")

    ivan = open_order(console(other_operator), order)
    expect(presence(anna)).to_contain_text("Ivan is viewing", timeout=APPEARS_MS)
    expect(presence(ivan)).to_contain_text("Anna is viewing", timeout=APPEARS_MS)

    # Boris types a comment: editing, once he typed.
    boris = open_order(console(supervisor), order)
    boris.locator("#comment-body").fill("checking the address")
    expect(presence(anna)).to_contain_text("Ivan is viewing · Boris is editing", timeout=APPEARS_MS)

    # Anna opens the order in a second tab of her browser.
    second = open_order(anna.context.new_page(), order)
    expect(presence(second)).to_contain_text("You have this order open in 2 tabs.", timeout=APPEARS_MS)
    expect(presence(anna)).to_contain_text("You have this order open in 2 tabs.", timeout=APPEARS_MS)
    save_screenshot(anna, "live-presence-desktop")

    # Ivan's tab dies without a word (no beacon, no more heartbeats): the time-out alone removes him.
    ivan.route("**/admin/live/**", lambda route: route.abort())
    expect(presence(anna)).not_to_contain_text("Ivan", timeout=GOES_MS)
    expect(presence(anna)).to_contain_text("Boris is editing")

    # Boris closes his tab: gone as well.
    boris.close()
    expect(presence(anna)).to_contain_text("Nobody else has this order open.", timeout=GOES_MS)


def test_presence_is_on_the_page_at_first_load(console, operator, other_operator):
    order = OrderFactory()
    from live.presence import presence_heartbeat

    page = console(operator)
    # Heartbeats held back: what shows is the server's first render.
    page.route("**/admin/live/**", lambda route: route.abort())
    presence_heartbeat(user=other_operator, tab="elsewhere", order_id=order.pk, editing=True)
    page.goto(f"{ORDER_LIST}{order.pk}/change/")
    expect(presence(page)).to_contain_text("Ivan is editing")


def test_a_take_over_shows_on_the_displaced_holders_page_and_the_form_turns_read_only(
    console, operator, supervisor
):
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    anna = open_order(console(operator), order)
    name = anna.locator("#id_customer_name")
    expect(name).to_be_editable()
    expect(anna.locator("#edit-items")).to_be_visible()
    name.fill("Typed by Anna")  # editing
    boris = open_order(console(supervisor), order)
    expect(presence(boris)).to_contain_text("Anna is editing", timeout=APPEARS_MS)

    orders_take_over(actor=supervisor, order_ids=[order.pk], reason="the customer called twice")

    notice = anna.locator("#live-notice")
    expect(notice).to_contain_text(
        f"Boris took over #{order.number} from you: the customer called twice", timeout=APPEARS_MS
    )
    expect(anna.locator("#hold-banner")).to_contain_text("Assigned to Boris")
    expect(name).not_to_be_editable()  # read-only: what was typed there can still be copied
    expect(anna.locator('#order_form input[name="_save"]')).to_be_disabled()
    expect(anna.locator('#order_form input[name="_continue"]')).to_be_disabled()
    expect(notice).to_contain_text("This page is read-only now.")
    # The timeline says it too, and commenting stays open.
    expect(anna.locator("#timeline")).to_contain_text("Boris took the order over from Anna")
    expect(anna.locator("#comment-body")).to_be_editable()
    # The Update box no longer offers what only the holder may do: it adds a comment.
    expect(anna.locator("#update-status")).to_be_hidden()
    expect(anna.locator("#release-after")).to_be_hidden()
    expect(anna.locator("#update-button")).to_have_text("Add comment")
    # Nor the order's items: the Edit items step is gone with the form.
    expect(anna.locator("#edit-items")).to_be_hidden()
    # The bell counts the take-over with the notice, not at its own next refresh (15 s here).
    expect(anna.locator("#notification-bell .notification-count")).to_have_text("1")
    # Her typing can no longer be saved: to colleagues she is viewing again.
    expect(presence(boris)).to_contain_text("Anna is viewing", timeout=APPEARS_MS)
    save_screenshot(anna, "live-take-over-page", docs_name="live-take-over")


def test_a_read_only_page_says_when_the_order_became_the_viewers_to_edit(console, operator, supervisor):
    order = OrderFactory()
    ivan = open_order(console(operator), order)  # nobody holds it: read-only until he takes it
    expect(ivan.locator("#id_customer_name")).to_have_count(0)

    orders_assign(actor=supervisor, order_ids=[order.pk], operator=operator)

    expect(ivan.locator("#live-notice")).to_contain_text(
        "You may change this order now: reload the page to edit it.", timeout=APPEARS_MS
    )
    ivan.locator("#live-notice").get_by_role("link", name="Reload").click()
    expect(ivan.locator("#id_customer_name")).to_be_editable()


def test_an_edit_by_someone_else_disables_save_and_says_who_changed_what(console, operator, supervisor):
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    anna = open_order(console(operator), order)
    boris = open_order(console(supervisor), order)
    boris.locator("#id_shipping_city").fill("Plovdiv")
    boris.locator('#order_form input[name="_continue"]').click()
    expect(boris.locator(".messagelist")).to_be_visible()

    expect(anna.locator("#live-notice")).to_contain_text(
        f"Boris changed city on #{order.number}", timeout=APPEARS_MS
    )
    expect(anna.locator('#order_form input[name="_save"]')).to_be_disabled()


def test_a_list_row_changes_holder_and_shows_who_views_it_without_a_reload(
    console, operator, other_operator, supervisor
):
    orders = [OrderFactory(), OrderFactory()]
    anna = console(operator)
    anna.goto(ORDER_LIST)
    row = anna.locator("#result_list tbody tr").filter(
        has=anna.get_by_role("link", name=f"#{orders[0].number}", exact=True)
    )
    expect(row.locator("td.field-assigned_to")).to_contain_text("free")
    anna.evaluate("window.liveMarker = 'same page'")

    orders_assign(actor=other_operator, order_ids=[orders[0].pk])
    expect(row.locator("td.field-assigned_to")).to_contain_text("Ivan", timeout=APPEARS_MS)
    expect(row.locator(".holder-other")).to_be_visible()
    # The navigation's counts follow the row at once (their own refresh is every 30 s).
    expect(anna.locator('#nav-sidebar [data-queue-count="others"]')).to_have_text("1")

    boris = open_order(console(supervisor), orders[0])
    eye = row.get_by_test_id("viewers")
    expect(eye).to_be_visible(timeout=APPEARS_MS)
    expect(eye).to_have_attribute("title", re.compile("Boris"))
    save_screenshot(anna, "live-list-viewers")
    assert anna.evaluate("window.liveMarker") == "same page"  # no reload happened
    boris.close()
    expect(eye).to_have_count(0, timeout=GOES_MS)


@pytest.mark.parametrize(
    ("size", "docs_name"),
    [
        ({"width": 1280, "height": 800}, "live-presence"),
        ({"width": 390, "height": 844}, "live-presence-phone"),
    ],
)
def test_screenshots_of_the_order_page_with_presence(
    console, operator, other_operator, supervisor, size, docs_name
):
    order = OrderFactory(customer_name="Elena Petrova")
    orders_assign(actor=operator, order_ids=[order.pk])
    ivan = open_order(console(other_operator), order)
    boris = open_order(console(supervisor), order)
    boris.locator("#comment-body").fill("refund approved")
    anna = console(operator)
    anna.set_viewport_size(size)
    open_order(anna, order)
    expect(presence(anna)).to_contain_text("Ivan is viewing · Boris is editing", timeout=APPEARS_MS)
    anna.evaluate("window.scrollTo(0, 0)")
    save_screenshot(anna, f"{docs_name}-page", docs_name=docs_name)
    ivan.close()


def test_a_hidden_tab_stops_polling_and_polls_at_once_when_it_is_seen_again(console, operator, settings):
    settings.ORDEROPS = {**settings.ORDEROPS, "LIVE_POLL_INTERVAL": 2}
    OrderFactory()
    page = console(operator)
    polls: list[str] = []
    page.on("request", lambda request: "/admin/live/sync" in request.url and polls.append(request.url))
    page.goto(ORDER_LIST)
    expect(page.locator("#result_list td.field-assigned_to").first).to_be_visible()
    page.wait_for_timeout(500)

    def seen(state: str) -> None:
        page.evaluate(
            """state => {
                Object.defineProperty(document, "visibilityState", { value: state, configurable: true });
                document.dispatchEvent(new Event("visibilitychange"));
            }""",
            state,
        )

    seen("hidden")
    page.wait_for_timeout(300)  # a poll sent just before is counted before the tab counts as hidden
    hidden_at = len(polls)
    page.wait_for_timeout(5_000)  # two and a half intervals
    assert len(polls) == hidden_at, "a hidden tab polled"
    seen("visible")
    # At once: the interval starts again when the tab is seen, so its next tick is 2 s away.
    for _tick in range(15):
        if len(polls) > hidden_at:
            break
        page.wait_for_timeout(100)
    assert len(polls) == hidden_at + 1, "the tab did not poll at once when seen again"
