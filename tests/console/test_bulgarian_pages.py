"""Nothing untranslated can land: every kind of page the console has, rendered for a Bulgarian user, shows
no English sentence. The text a person reads is collected as a browser shows it (text nodes outside scripts
and styles, the templates the script shows, titles, placeholders, labels read aloud, button values, the
script's texts in data attributes), and every Latin word in it must be data (a name, an email, an order
number, a time zone) or one of the few words Bulgarian writes in Latin letters too."""

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from console.queues import QUEUES
from live.models import Notification
from operators.models import OperatorPreference
from operators.services import orders_assign
from orders.models import Order
from tests.factories import OrderCommentFactory, OrderFactory, OrderLineFactory

CHANGELIST = reverse("admin:orders_order_changelist")
# Latin words that are not English sentences: the product's name, keys on a keyboard, the zone
# abbreviations of exact times, codes and formats people type (ISO, API), languages by their own names.
NOT_ENGLISH = {
    "orderops",
    "Enter",
    "Esc",
    "UTC",
    "EET",
    "EEST",
    "CET",
    "CEST",
    "GMT",
    "English",
    "EUR",
    "SKU",
    "ID",
    "id",
}
# The script fills these in: "%(count)s unread".
PLACEHOLDER = re.compile(r"%%?\(\w+\)s")
READ_ATTRIBUTES = {"title", "placeholder", "aria-label", "alt"}
SKIPPED_ELEMENTS = {"script", "style"}


class ReadText(HTMLParser):
    """The text a person reads on a page (or hears from a screen reader)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.skipping: list[str] = []
        self.in_time_zones = False

    def handle_starttag(self, tag, attrs) -> None:
        attributes = dict(attrs)
        if tag in SKIPPED_ELEMENTS:
            self.skipping.append(tag)
        if tag == "select":
            # The time zones are IANA's names (data), as every system writes them.
            self.in_time_zones = attributes.get("name") == "time_zone"
        for name, value in attrs:
            if not value:
                continue
            # A script's texts; not its settings (JSON, such as the admin's inline formset's).
            script_text = (
                name.startswith("data-") and " " in value.strip() and not value.startswith(("{", "["))
            )
            read = name in READ_ATTRIBUTES or script_text
            button = (
                name == "value"
                and tag in ("button", "input")
                and attributes.get("type") in ("submit", "button")
            )
            if read or button:
                self.texts.append(value)

    def handle_endtag(self, tag) -> None:
        if self.skipping and self.skipping[-1] == tag:
            self.skipping.pop()
        if tag == "select":
            self.in_time_zones = False

    def handle_data(self, data) -> None:
        if not self.skipping and not self.in_time_zones and data.strip():
            self.texts.append(data.strip())


def english_in(html: str, data_words: set[str]) -> list[str]:
    """The texts of a page that hold a Latin word which is neither data nor allowed."""
    reader = ReadText()
    reader.feed(html)
    allowed = NOT_ENGLISH | data_words
    return [
        text
        for text in reader.texts
        if any(word not in allowed for word in re.findall(r"[A-Za-z]{2,}", PLACEHOLDER.sub(" ", text)))
    ]


def words_of(*values) -> set[str]:
    return {word for value in values for word in re.findall(r"[A-Za-z]{2,}", str(value or ""))}


def test_the_checker_finds_english_in_text_titles_placeholders_and_buttons():
    page = (
        '<p>Поръчки</p><p title="Assigned to you">x</p><input placeholder="Search orders">'
        '<input type="submit" value="Go"><script>var hidden = "not read";</script>'
        '<template data-question="this ends the hold"></template><p>Анна Müller</p>'
    )
    assert english_in(page, words_of("Anna Müller")) == [
        "Assigned to you",
        "Search orders",
        "Go",
        "this ends the hold",
    ]
    assert english_in("<p>Поета от Anna · 5 мин</p><kbd>Enter</kbd>", words_of("Anna")) == []


@pytest.fixture
def team(operator, other_operator, supervisor):
    for person in (operator, other_operator, supervisor):
        person.email = f"{person.username}@example.com"
        person.save()
        OperatorPreference.objects.create(user=person, language="bg", time_zone="Europe/Sofia")
    return operator, other_operator, supervisor


@pytest.fixture
def shop(team):
    """Orders of every kind: held by anna (with lines, a comment, a hold's history), by ivan, free."""
    anna, ivan, _supervisor = team
    held_by_anna = OrderFactory(
        number="100427",
        customer_name="Иванова Мария",
        customer_email="maria.ivanova@example.bg",
        customer_phone="0888 123 456",
        shipping_street="ул. Граф Игнатиев 12",
        shipping_city="София",
        shipping_postcode="1000",
    )
    OrderLineFactory(order=held_by_anna, sku="BG-2001", name="Чаша")
    held_by_ivan = OrderFactory(
        number="100428",
        customer_name="Jürgen Dvořák",
        customer_email="jd@example.com",
        shipping_city="Пловдив",
    )
    free = OrderFactory.create_batch(2, customer_name="Петър Петров", shipping_city="Варна")
    orders_assign(actor=anna, order_ids=[held_by_anna.pk])
    orders_assign(actor=ivan, order_ids=[held_by_ivan.pk])
    OrderCommentFactory(order=held_by_anna, author=ivan, body="Клиентът ще се обади @anna")
    Notification.objects.create(
        recipient=anna,
        kind=Notification.Kind.MENTIONED,
        order=held_by_anna,
        actor=ivan,
        detail="Клиентът ще се обади",
    )
    return held_by_anna, held_by_ivan, free


def data_words(team) -> set[str]:
    """The Latin words that are data on these pages: people, customers, order numbers, IANA zone names. Not
    the statuses' labels: the default ones are in the catalogue (orders.models.DEFAULT_STATUS_LABELS)."""
    words = words_of(
        *(value for person in team for value in (person.username, person.first_name, person.email))
    )
    for order in Order.objects.all():
        words |= words_of(
            order.number,
            order.customer_name,
            order.customer_email,
            order.customer_phone,
            order.shipping_street,
        )
        words |= words_of(*(value for line in order.lines.all() for value in (line.sku, line.name)))
    words |= words_of("Europe/Sofia")
    return words


def bulgarian(client, user):
    client.force_login(user)
    return client


def page_of(client, url: str, status: int = 200) -> str:
    response = client.get(url, HTTP_ACCEPT_LANGUAGE="bg")
    assert response.status_code == status, (url, response.status_code)
    assert response.headers["Content-Language"] == "bg"
    return response.content.decode()


def action_page(client, action: str, orders) -> str:
    response = client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [order.pk for order in orders]},
        HTTP_ACCEPT_LANGUAGE="bg",
    )
    assert response.status_code == 200, (action, response.status_code)
    return response.content.decode()


def assert_bulgarian(page: str, team, what: str) -> None:
    english = english_in(page, data_words(team))
    assert not english, f"{what}: English on a Bulgarian user's page: {english[:10]}"


@pytest.mark.parametrize("queue", [queue.key for queue in QUEUES])
def test_each_queue_of_the_list_is_bulgarian(client, team, shop, queue):
    url = next(item.url for item in QUEUES if item.key == queue)
    assert_bulgarian(page_of(bulgarian(client, team[0]), url), team, f"the list, queue {queue}")


def test_the_list_with_a_search_and_a_filter_is_bulgarian(client, team, shop):
    page = page_of(bulgarian(client, team[2]), CHANGELIST + "?q=Иванова&status__code__exact=pending")
    assert_bulgarian(page, team, "the searched list")


@pytest.mark.parametrize("viewer", ["holder", "colleague", "supervisor"])
def test_the_order_page_is_bulgarian_for_holder_colleague_and_supervisor(client, team, shop, viewer):
    person = dict(zip(("holder", "colleague", "supervisor"), team, strict=True))[viewer]
    page = page_of(bulgarian(client, person), reverse("admin:orders_order_change", args=[shop[0].pk]))
    assert "Иванова Мария" in page
    assert_bulgarian(page, team, f"the order page for its {viewer}")


def test_a_free_order_page_is_bulgarian(client, team, shop):
    page = page_of(bulgarian(client, team[0]), reverse("admin:orders_order_change", args=[shop[2][0].pk]))
    assert_bulgarian(page, team, "a free order's page")


@pytest.mark.parametrize("action", ["assign_to_operator", "take_over", "set_status"])
def test_the_actions_intermediate_pages_are_bulgarian(client, team, shop, action):
    page = action_page(bulgarian(client, team[2]), action, [shop[0], shop[1]])
    assert 'name="post"' in page
    assert_bulgarian(page, team, f"the intermediate page of {action}")


def test_a_buttons_page_opened_by_get_is_bulgarian(client, team, shop):
    page = page_of(bulgarian(client, team[0]), reverse("admin:orders_order_release", args=[shop[0].pk]), 405)
    assert_bulgarian(page, team, "a button's URL opened with GET")


@pytest.mark.parametrize(
    "url_name",
    ["admin:orders_order_workload", "live:notifications", "live:notification_settings", "console_landing"],
)
def test_workload_notifications_and_home_are_bulgarian(client, team, shop, url_name):
    client = bulgarian(client, team[2] if url_name == "admin:orders_order_workload" else team[0])
    response = client.get(reverse(url_name), HTTP_ACCEPT_LANGUAGE="bg", follow=True)
    assert response.status_code == 200
    assert_bulgarian(response.content.decode(), team, url_name)


def test_the_login_page_is_bulgarian_for_a_bulgarian_browser(client, team):
    page = page_of(client, reverse("admin:login"))
    assert_bulgarian(page, team, "the login page")


def test_a_failed_login_is_bulgarian(client, team):
    response = client.post(
        reverse("admin:login"), {"username": "anna", "password": "wrong"}, HTTP_ACCEPT_LANGUAGE="bg"
    )
    assert_bulgarian(response.content.decode(), team, "a failed login")


@pytest.mark.parametrize("status", [403, 404])
def test_the_error_pages_are_bulgarian(client, team, staff_without_role, status):
    team = (*team, staff_without_role)
    if status == 403:
        client.force_login(staff_without_role)
        response = client.get(reverse("admin:orders_order_workload"), HTTP_ACCEPT_LANGUAGE="bg")
    else:
        bulgarian(client, team[0])
        response = client.get("/admin/no-such-page/", HTTP_ACCEPT_LANGUAGE="bg")
    assert response.status_code == status
    assert_bulgarian(response.content.decode(), team, f"the {status} page")


def test_the_400_page_is_bulgarian(client, team, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    bulgarian(client, team[0])
    response = client.post(
        CHANGELIST, {"action": "assign_to_me", "_selected_action": list(range(10))}, HTTP_ACCEPT_LANGUAGE="bg"
    )
    assert response.status_code == 400
    assert_bulgarian(response.content.decode(), team, "the 400 page")


def test_a_person_who_chose_bulgarian_gets_it_whatever_the_browser_says(client, team, shop):
    response = bulgarian(client, team[0]).get(CHANGELIST, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert response.headers["Content-Language"] == "bg"
    assert_bulgarian(response.content.decode(), team, "the list with an English browser")
