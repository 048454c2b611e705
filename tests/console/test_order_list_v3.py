"""The order list's compact frame as the server renders it: the filters as one bar of closed menus, the queues
again above the list for phones, the "N results" line marked for the live sync, and the favicon."""

import re

from django.contrib.staticfiles import finders
from django.urls import reverse

from console.queues import QUEUES
from tests.factories import OrderFactory

ORDER_LIST = reverse("admin:orders_order_changelist")


def test_the_filters_are_one_bar_of_closed_menus_that_say_what_is_in_use(client, operator):
    OrderFactory()
    client.force_login(operator)
    page = client.get(f"{ORDER_LIST}?held=open").content.decode()
    assert 'id="changelist-filter"' not in page  # Django's block of every choice of every filter
    bar = re.search(r'<search id="order-filter-bar".*?</search>', page, re.S).group(0)
    menus = re.findall(r'<details class="filter-menu( filter-active)?" data-filter-title="([^"]+)">', bar)
    assert [title for _active, title in menus] == ["assignment", "operator", "status", "created"]
    assert [title for active, title in menus if active] == ["assignment"]
    assert not re.search(r"<details[^>]* open", bar)  # closed: the list starts right under them
    assert '<span class="filter-chosen">Unassigned open</span>' in bar
    assert bar.count('class="filter-chosen"') == 1  # the filters not in use show their title only
    assert 'aria-current="true">Unassigned open</a>' in bar
    assert "Clear all filters" in bar
    assert "Clear all filters" not in client.get(ORDER_LIST).content.decode()


def test_the_queues_stand_above_the_list_for_phones_with_the_current_one_marked(client, operator):
    client.force_login(operator)
    page = client.get(f"{ORDER_LIST}?held=mine&o=2").content.decode()
    bar = re.search(r'<nav class="queue-bar".*?</nav>', page, re.S).group(0)
    assert re.findall(r'data-queue="([a-z_]+)"', bar) == [queue.key for queue in QUEUES]
    assert re.findall(r'data-queue-count="([a-z_]+)"', bar) == [queue.key for queue in QUEUES]
    assert 'aria-current="page" data-queue="mine"' in bar
    # Before the title: in a phone's first screen.
    assert page.index('class="queue-bar"') < page.index("<h1>")


def test_the_results_line_and_the_footers_count_are_marked_for_the_live_sync(client, operator):
    OrderFactory.create_batch(3)
    client.force_login(operator)
    page = client.get(f"{ORDER_LIST}?held=open").content.decode()
    assert '<span data-result-count="results">3 results</span>' in page
    assert re.search(r'<span data-result-count="orders">\s*3 orders</span>', page)


def test_every_console_page_links_the_favicon_a_static_svg(client, operator):
    login = client.get(reverse("admin:login")).content.decode()
    client.force_login(operator)
    for page in (login, client.get(ORDER_LIST).content.decode()):
        assert re.search(r'<link rel="icon" href="/static/console/favicon\.svg" type="image/svg\+xml">', page)
    svg = finders.find("console/favicon.svg")
    assert svg is not None
    with open(svg) as found:
        drawing = found.read()
    assert drawing.startswith("<svg") and "<script" not in drawing and "style=" not in drawing
