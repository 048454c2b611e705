"""What an open console tab costs the server: one request per interval (live:sync), counted in a real
Chromium over 65 seconds with the default intervals. The issue's goal: an open order page makes at most 5
requests in 65 s (it made 13 with four timers)."""

import time

from playwright.sync_api import Page, expect

from operators.services import orders_assign
from tests.factories import OrderFactory

WINDOW_S = 65
# The live part's requests; the page's own document, scripts, stylesheets and images are not counted.
LIVE_TYPES = {"fetch", "xhr", "ping", "eventsource", "websocket"}
INTERVALS = (
    "LIVE_POLL_INTERVAL",
    "LIVE_HEARTBEAT_INTERVAL",
    "NOTIFICATION_BELL_INTERVAL",
    "QUEUE_COUNTS_INTERVAL",
)


def recorded(page: Page) -> list[tuple[float, str, str]]:
    """(when, resource type, the URL with the POST body after it) of every request the page makes."""
    seen: list[tuple[float, str, str]] = []
    page.on(
        "request",
        lambda request: seen.append(
            (time.monotonic(), request.resource_type, f"{request.url} {request.post_data or ''}")
        ),
    )
    return seen


def test_an_open_order_page_and_an_open_list_make_at_most_five_requests_in_65_seconds(
    console, operator, settings
):
    # The product's defaults: 15 s changes, 20 s heartbeat, 15 s bell, 30 s queue counts.
    settings.ORDEROPS = {k: v for k, v in getattr(settings, "ORDEROPS", {}).items() if k not in INTERVALS}
    order = OrderFactory()
    OrderFactory.create_batch(3)
    orders_assign(actor=operator, order_ids=[order.pk])
    order_page = console(operator)
    order_page.goto("about:blank")  # the console's landing page (a list) stops making requests
    list_page = order_page.context.new_page()
    order_seen, list_seen = recorded(order_page), recorded(list_page)

    order_start = time.monotonic()
    order_page.goto(f"/admin/orders/order/{order.pk}/change/")
    list_start = time.monotonic()
    list_page.goto("/admin/orders/order/")
    # The first request filled the bell, the counts, the presence and the rows.
    expect(order_page.get_by_test_id("presence")).to_contain_text("Nobody else has this order open.")
    expect(list_page.locator('#nav-sidebar [data-queue-count="mine"]')).to_have_text("1")
    expect(order_page.locator('[data-queue-count="mine"]')).to_have_text("1")
    list_page.wait_for_timeout((list_start + WINDOW_S - time.monotonic()) * 1000)

    sent = {}
    for start, seen, name in ((order_start, order_seen, "order page"), (list_start, list_seen, "list")):
        live = [url for at, kind, url in seen if kind in LIVE_TYPES and at - start < WINDOW_S]
        assert all("/admin/live/sync" in url for url in live), (name, live)
        # One at load, then one every 15 s: 0, 15, 30, 45, 60.
        assert 4 <= len(live) <= 5, (name, len(live), live)
        sent[name] = live
    # Each request carried what was due: on the order page the heartbeat and the page's token every time,
    # on the list its rows every time; the bell every time, the queue counts on the first and every other.
    assert all(
        "state=viewing" in body and "token=" in body and "bell=1" in body for body in sent["order page"]
    )
    assert all("orders=" in url and "bell=1" in url for url in sent["list"])
    for bodies in sent.values():
        assert "queues=1" in bodies[0] and 2 <= sum("queues=1" in body for body in bodies) <= 3
