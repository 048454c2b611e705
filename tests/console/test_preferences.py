"""Each person's language and time zone: the browser's language and the site's zone until they choose, their
choice from the header after that, every time in their own zone and format, emails in the recipient's, the
API's problems in the client's language."""

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import translation

from console.formatting import exact_time, money
from console.preferences import SESSION_KEY
from live.models import Notification
from operators.models import Assignment, OperatorPreference
from operators.services import orders_assign, orders_take_over
from orders.models import Order
from tests.api.conftest import client_for
from tests.factories import OrderFactory

CHANGELIST = reverse("admin:orders_order_changelist")
SAVE = reverse("console_preferences")
# 2026-12-06 12:05 UTC: 14:05 in Sofia (EET, UTC+2), 07:05 in New York (EST, UTC-5).
MOMENT = datetime(2026, 12, 6, 12, 5, tzinfo=UTC)


def change_url(order) -> str:
    return reverse("admin:orders_order_change", args=[order.pk])


def choose(person, language: str = "", time_zone: str = "") -> None:
    OperatorPreference.objects.update_or_create(
        user=person, defaults={"language": language, "time_zone": time_zone}
    )


@pytest.fixture
def held_order(operator):
    order = OrderFactory(number="100427", grand_total=Decimal("1132.40"), currency="EUR", created_at=MOMENT)
    orders_assign(actor=operator, order_ids=[order.pk])
    Assignment.objects.filter(order=order).update(assigned_at=MOMENT)
    return order


# --- formats --------------------------------------------------------------------------------------------


def test_bulgarian_writes_day_month_year_24_hour_and_money_with_a_decimal_comma(settings):
    settings.TIME_ZONE = "Europe/Sofia"
    with translation.override("bg"):
        assert exact_time(MOMENT) == "06.12.2026 14:05 EET"
        assert money(Decimal("132.40"), "EUR") == "132,40\xa0€"
        assert money(Decimal("1250"), "BGN") == "1\xa0250,00\xa0лв."
        assert money(Decimal("9.5"), "CHF") == "9,50\xa0CHF"
    with translation.override("en"):
        assert exact_time(MOMENT) == "2026-12-06 14:05 EET"
        assert money(Decimal("1132.40"), "EUR") == "€1,132.40"


# --- defaults: the browser's language, the site's zone ----------------------------------------------------


def test_without_a_choice_the_browser_language_decides(client, operator, held_order):
    client.force_login(operator)
    bulgarian = client.get(CHANGELIST, HTTP_ACCEPT_LANGUAGE="bg-BG,bg;q=0.9,en;q=0.5")
    english = client.get(CHANGELIST, HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    assert bulgarian.headers["Content-Language"] == "bg"
    assert "Моите поръчки" in bulgarian.content.decode()
    assert english.headers["Content-Language"] == "en"
    assert "My orders" in english.content.decode()


def test_without_a_choice_times_are_in_the_sites_zone(client, operator, held_order, settings):
    settings.TIME_ZONE = "Europe/Sofia"
    client.force_login(operator)
    page = client.get(change_url(held_order), HTTP_ACCEPT_LANGUAGE="bg").content.decode()
    assert "06.12.2026 14:05 EET" in page


# --- the choice ---------------------------------------------------------------------------------------------


def test_a_choice_from_the_header_applies_to_the_next_page_whatever_the_browser_says(
    client, operator, held_order
):
    client.force_login(operator)
    page = client.get(CHANGELIST, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'action="/admin/preferences/"' in page and 'name="time_zone"' in page

    response = client.post(
        SAVE,
        {"language": "bg", "time_zone": "America/New_York", "next": CHANGELIST},
        HTTP_ACCEPT_LANGUAGE="en",
    )

    assert response.status_code == 302 and response["Location"] == CHANGELIST
    assert OperatorPreference.objects.filter(user=operator).values_list("language", "time_zone").get() == (
        "bg",
        "America/New_York",
    )
    after = client.get(CHANGELIST, HTTP_ACCEPT_LANGUAGE="en")
    text = after.content.decode()
    assert after.headers["Content-Language"] == "bg"
    assert "Език: български. Часове в America/New York." in text
    assert "06.12.2026 07:05 EST" in client.get(change_url(held_order)).content.decode()


def test_back_to_the_browsers_language_and_the_sites_zone(client, operator, held_order, settings):
    settings.TIME_ZONE = "Europe/Sofia"
    choose(operator, "bg", "America/New_York")
    client.force_login(operator)
    client.post(SAVE, {"language": "", "time_zone": "", "next": CHANGELIST})
    page = client.get(change_url(held_order), HTTP_ACCEPT_LANGUAGE="en")
    assert page.headers["Content-Language"] == "en"
    assert "2026-12-06 14:05 EET" in page.content.decode()


@pytest.mark.parametrize(
    ("language", "time_zone"), [("de", ""), ("", "Mars/Olympus_Mons"), ("bg", "Europe/Sofia'; DROP")]
)
def test_an_unknown_language_or_zone_is_refused_and_changes_nothing(
    client, operator, held_order, language, time_zone
):
    choose(operator, "en", "Europe/Sofia")
    client.force_login(operator)
    response = client.post(
        SAVE, {"language": language, "time_zone": time_zone, "next": CHANGELIST}, follow=True
    )
    assert "Your language and time zone were not changed" in response.content.decode()
    assert OperatorPreference.objects.filter(user=operator).values_list("language", "time_zone").get() == (
        "en",
        "Europe/Sofia",
    )
    assert client.session[SESSION_KEY] == ["en", "Europe/Sofia"]


def test_the_choice_goes_back_only_to_a_page_of_this_site(client, operator):
    client.force_login(operator)
    response = client.post(SAVE, {"language": "bg", "time_zone": "", "next": "https://evil.example/"})
    assert response["Location"] == reverse("console_landing")


def test_a_get_on_the_preferences_address_changes_nothing(client, operator):
    client.force_login(operator)
    assert client.get(SAVE, {"language": "bg"}).status_code == 405
    assert not OperatorPreference.objects.filter(user=operator).exists()


def test_a_choice_is_read_once_at_login_and_costs_the_pages_no_query(
    client, operator, held_order, django_assert_num_queries
):
    choose(operator, "bg", "Asia/Tokyo")
    client.force_login(operator)
    assert client.session[SESSION_KEY] == ["bg", "Asia/Tokyo"]
    client.get(CHANGELIST)  # warm: the statuses' and the queues' first reads
    OperatorPreference.objects.filter(user=operator).delete()  # not read again: the session has it
    page = client.get(change_url(held_order))
    assert page.headers["Content-Language"] == "bg"
    assert "06.12.2026 21:05 JST" in page.content.decode()


# --- two people, two zones, one order ----------------------------------------------------------------------


def test_two_people_see_the_same_order_in_their_own_zone_and_format(
    client, operator, other_operator, held_order
):
    choose(operator, "bg", "Europe/Sofia")
    choose(other_operator, "en", "America/New_York")
    client.force_login(operator)
    sofia = client.get(change_url(held_order)).content.decode()
    listed = client.get(CHANGELIST).content.decode()
    client.force_login(other_operator)
    new_york = client.get(change_url(held_order)).content.decode()

    assert "06.12.2026 14:05 EET" in sofia and "07:05" not in sofia
    assert "2026-12-06 07:05 EST" in new_york and "14:05" not in new_york
    assert "1\xa0132,40\xa0€" in listed


# --- emails in the recipient's language and zone -----------------------------------------------------------


def test_a_notification_email_is_in_the_recipients_language_and_zone(operator, supervisor, mailoutbox):
    choose(operator, "bg", "Europe/Sofia")
    order = OrderFactory(number="100500")
    orders_assign(actor=operator, order_ids=[order.pk])
    orders_take_over(actor=supervisor, order_ids=[order.pk], reason="клиентът звънна")
    Notification.objects.update(created_at=MOMENT)

    call_command("send_notifications", "--once", stdout=StringIO(), stderr=StringIO())

    (email,) = mailoutbox
    assert email.subject == "[orderops] Boris прехвана #100500 от вас"
    assert "Кога: 06.12.2026 14:05 EET" in email.body
    assert "Получавате този имейл" in email.body


def test_a_recipient_without_a_choice_gets_the_sites_language_and_zone(
    operator, supervisor, mailoutbox, settings
):
    settings.TIME_ZONE = "UTC"
    order = OrderFactory(number="100501")
    orders_assign(actor=operator, order_ids=[order.pk])
    orders_take_over(actor=supervisor, order_ids=[order.pk], reason="customer called")
    Notification.objects.update(created_at=MOMENT)

    with translation.override("bg"):  # whatever the worker's own language
        call_command("send_notifications", "--once", stdout=StringIO(), stderr=StringIO())

    (email,) = mailoutbox
    assert email.subject == "[orderops] Boris took over #100501 from you"
    assert "When: 2026-12-06 12:05 UTC" in email.body


# --- the API: problems in the client's language -------------------------------------------------------------


def test_the_apis_problems_speak_the_clients_language(operator):
    api = client_for(operator)
    bulgarian = api.get("/api/v1/orders/999999/", HTTP_ACCEPT_LANGUAGE="bg")
    english = api.get("/api/v1/orders/999999/", HTTP_ACCEPT_LANGUAGE="en")
    assert bulgarian.status_code == english.status_code == 404
    assert bulgarian.json()["title"] == "Не е намерено"
    assert english.json()["title"] == "Not Found"
    assert re.search("[а-я]", bulgarian.json()["detail"]), bulgarian.json()
    assert bulgarian.json()["code"] == english.json()["code"]


def test_a_refused_api_request_names_the_order_and_the_reason_in_bulgarian(operator, other_operator):
    order = OrderFactory(number="100600")
    orders_assign(actor=other_operator, order_ids=[order.pk])
    response = client_for(operator).delete(f"/api/v1/orders/{order.number}/hold", HTTP_ACCEPT_LANGUAGE="bg")
    assert response.status_code in (403, 409), response.json()
    problem = response.json()
    assert "#100600" in problem["detail"] and "поета от Ivan" in problem["detail"], problem
    assert Order.objects.get(pk=order.pk).assignment.operator_id == other_operator.pk


# --- the scripts' catalogue ---------------------------------------------------------------------------------


def test_the_pages_load_djangos_javascript_catalog_and_it_speaks_bulgarian(client, operator):
    client.force_login(operator)
    page = client.get(CHANGELIST, HTTP_ACCEPT_LANGUAGE="bg").content.decode()
    assert f'<script src="{reverse("javascript_catalog")}?language=bg" defer></script>' in page
    catalog_response = client.get(reverse("javascript_catalog"), HTTP_ACCEPT_LANGUAGE="bg")
    catalog = catalog_response.content.decode()
    english = client.get(reverse("javascript_catalog"), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    sentence = "this ends the hold, and only a supervisor can reopen the order. Go ahead?"
    translated = json.dumps("само супервайзър може да я отвори отново")[1:-1]  # written as \u escapes
    assert translated in catalog
    assert sentence in catalog  # the msgid, mapped to its translation
    assert translated not in english
    again = client.get(
        reverse("javascript_catalog"),
        HTTP_ACCEPT_LANGUAGE="bg",
        HTTP_IF_MODIFIED_SINCE=catalog_response["Last-Modified"],
    )
    assert again.status_code == 304


def test_the_workloads_hover_times_are_exact_in_the_viewers_zone(client, supervisor, operator, held_order):
    choose(supervisor, "bg", "Europe/Sofia")
    client.force_login(supervisor)
    page = client.get(reverse("admin:orders_order_workload")).content.decode()
    assert 'title="06.12.2026 14:05 EET"' in page
