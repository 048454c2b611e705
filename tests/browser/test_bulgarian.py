"""A Bulgarian operator's morning at 1280 × 800, in a real Chromium with a Bulgarian browser: the login, the
queue, the next order, a comment and a status, the language menu, the notifications. Each page is read for
English (tests/console/test_bulgarian_pages.py's checker) and for clipped labels (Bulgarian runs longer than
English); screenshots go to test-artifacts/ (docs/screenshots/ with UPDATE_SCREENSHOTS=1). And two people in
two zones looking at the same order each read its times in their own."""

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from operators.models import Assignment, OperatorPreference
from operators.services import orders_assign
from orders.models import Order
from tests.browser.conftest import TIMEOUT_MS, save_screenshot
from tests.console.test_bulgarian_pages import english_in, words_of
from tests.factories import TEST_PASSWORD, OrderFactory, OrderLineFactory

ORDER_LIST = "/admin/orders/order/"
VIEWPORT = {"width": 1280, "height": 800}
# Labels and buttons whose text the box cuts off (a wider text than the box, overflow hidden or ellipsis).
CLIPPED = """() => Array.from(document.querySelectorAll(
    'button, input[type=submit], a.button, .button, label, th, summary, .queues a, .status-badge,'
    + ' #hold-banner *'
  )).filter((element) => {
    const style = getComputedStyle(element);
    const visible = element.offsetParent !== null && style.visibility !== 'hidden';
    const cuts = style.overflow !== 'visible' || style.textOverflow === 'ellipsis';
    return visible && cuts && element.scrollWidth > element.clientWidth + 1;
  }).map((element) => (element.innerText || element.value || '').trim()).filter(Boolean)"""


@pytest.fixture
def open_in(browser: Browser, live_server) -> Iterator:
    """`open_in(user, locale, time_zone)`: a browser of its own, in that language and zone, logged in
    through the login page as its language shows it."""
    contexts = []

    def open_as(user, *, locale: str, button: str) -> Page:
        context = browser.new_context(base_url=live_server.url, viewport=VIEWPORT, locale=locale)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        page.goto("/admin/login/?next=/admin/")
        page.locator("#id_username").fill(user.get_username())
        page.locator("#id_password").fill(TEST_PASSWORD)
        page.get_by_role("button", name=button).click()
        expect(page).to_have_url(re.compile(r"/admin/(orders/order/\?held=(mine|open))?$"))
        return page

    yield open_as
    for context in contexts:
        for page in context.pages:
            page.goto("about:blank")
        context.close()


@pytest.fixture
def maria(roles):
    from tests.factories import OperatorFactory

    person = OperatorFactory(username="maria", first_name="Мария", email="maria@example.bg")
    OperatorPreference.objects.create(user=person, language="bg", time_zone="Europe/Sofia")
    return person


@pytest.fixture
def morning(maria, operator):
    """A few orders from Bulgarian customers, free, and one that Anna holds."""
    orders = [
        OrderFactory(
            customer_name="Иванова Мария",
            customer_phone="0888 123 456",
            customer_email="maria.ivanova@example.bg",
            shipping_street="ул. Граф Игнатиев 12",
            shipping_city="София",
            grand_total="132.40",
        ),
        OrderFactory(
            customer_name="Георги Петров",
            customer_phone="+359 88 306 5614",
            customer_email="georgi@example.bg",
            shipping_street="бул. Шипка 3",
            shipping_city="Пловдив",
        ),
        OrderFactory(
            customer_name="Jürgen Dvořák",
            customer_email="jd@example.com",
            shipping_street="Hauptstraße 1",
            shipping_city="Berlin",
        ),
    ]
    for order in orders:
        OrderLineFactory(order=order, sku="TEA-GRN-100", name="Зелен чай, 100 г")
    orders_assign(actor=operator, order_ids=[orders[2].pk])
    return orders


def data_words() -> set[str]:
    words = words_of("Anna anna Мария maria", "Europe/Sofia", "Europe/London", "America/New_York")
    for order in Order.objects.all():
        words |= words_of(order.number, order.customer_name, order.customer_email, order.shipping_street)
        words |= words_of(order.shipping_city, *(line.sku for line in order.lines.all()))
        words |= words_of(order.shipping_country)  # an ISO code, in the glance's address line
    return words


def assert_bulgarian_and_unclipped(page: Page, what: str) -> None:
    english = english_in(page.content(), data_words())
    assert not english, f"{what}: English on a Bulgarian operator's page: {english[:10]}"
    clipped = page.evaluate(CLIPPED)
    assert not clipped, f"{what}: labels cut off at 1280 px: {clipped}"


def test_a_bulgarian_operators_morning(open_in, maria, morning):
    page = open_in(maria, locale="bg-BG", button="Вход")
    expect(page.locator("html")).to_have_attribute("lang", "bg")

    page.goto(ORDER_LIST + "?held=open")
    expect(page.locator(".queues caption")).to_have_text("Опашки")
    expect(page.locator("#claim-next")).to_have_text(re.compile("Следваща поръчка"))
    expect(page.locator("#result_list")).to_contain_text("132,40 €")
    expect(page.locator("#result_list")).to_contain_text("свободна")
    assert_bulgarian_and_unclipped(page, "the unassigned queue")
    save_screenshot(page, "bg-order-list", docs_name="order-list-bg")

    page.locator("#claim-next").click()
    expect(page).to_have_url(re.compile(r"via=next$"))
    expect(page.locator("#hold-banner")).to_contain_text("Поета от вас")
    taken = Assignment.objects.get(operator=maria).order
    assert_bulgarian_and_unclipped(page, "the order page, held")

    page.locator("#comment-body").fill("Клиентката потвърди адреса по телефона.")
    page.locator("#update-status").select_option("processing")
    page.locator("#update-button").click()
    expect(page.locator(".messagelist li.success")).to_have_text(
        [f"#{taken.number} вече е със статус В обработка.", f"Коментарът ви към #{taken.number} е добавен."]
    )
    expect(page.locator("#timeline")).to_contain_text("Мария пое поръчката")
    expect(page.locator("#timeline")).to_contain_text("Клиентката потвърди адреса по телефона.")
    stamp = page.locator("#timeline time").first.get_attribute("title") or ""
    assert re.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d EE[S]?T", stamp), stamp
    assert_bulgarian_and_unclipped(page, "the order page after an update")
    save_screenshot(page, "bg-order-page-holder", docs_name="order-page-holder-bg")

    page.locator(".preference-menu summary").click()
    expect(page.locator(".preference-form")).to_be_visible()
    expect(page.locator(".preference-form label").first).to_have_text("Език")
    assert_bulgarian_and_unclipped(page, "the language and time zone menu")
    save_screenshot(page, "bg-preference-menu")

    page.locator("#id_preference_time_zone").select_option("Europe/London")
    page.locator(".preference-form button").click()
    expect(page.locator(".messagelist li.success")).to_have_text("Език: български. Часове в Europe/London.")
    expect(page.locator(".preference-menu summary")).to_contain_text("Europe/London")
    assert OperatorPreference.objects.get(user=maria).time_zone == "Europe/London"

    page.goto("/admin/live/notifications/")
    assert_bulgarian_and_unclipped(page, "the notifications")


def test_two_people_in_two_zones_read_the_same_orders_times_in_their_own(open_in, maria, operator, morning):
    OperatorPreference.objects.create(user=operator, language="en", time_zone="America/New_York")
    held = morning[2]
    sofia = open_in(maria, locale="bg-BG", button="Вход")
    new_york = open_in(operator, locale="en-US", button="Log in")
    url = f"{ORDER_LIST}{held.pk}/change/"
    sofia.goto(url)
    new_york.goto(url)

    sofia_time = sofia.locator("#timeline time").first.get_attribute("title") or ""
    new_york_time = new_york.locator("#timeline time").first.get_attribute("title") or ""
    assert re.fullmatch(r"\d\d\.\d\d\.\d{4} \d\d:\d\d EE[S]?T", sofia_time), sofia_time
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d E[SD]T", new_york_time), new_york_time
    sofia_hour = int(sofia_time.split()[1][:2])
    new_york_hour = int(new_york_time.split()[1][:2])
    assert (sofia_hour - new_york_hour) % 24 == 7  # Sofia is 7 hours ahead of New York, all year
    expect(sofia.locator("#hold-banner")).to_contain_text("Поета от Anna")
    expect(new_york.locator("#hold-banner")).to_contain_text("Assigned to you")
    expect(sofia.locator(".preference-menu summary")).to_contain_text("Europe/Sofia")
    expect(new_york.locator(".preference-menu summary")).to_contain_text("America/New York")
