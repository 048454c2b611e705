"""Sessions end (issue 26, row 10): after ORDEROPS["SESSION_IDLE_TIMEOUT"] (an hour) without a page opened or
a form sent, and SESSION_COOKIE_AGE (12 hours, not Django's two weeks) after the login, with a message on the
login page; a tab's background polls keep nobody logged in."""

import pytest
from django.conf import settings
from django.test import Client

from console.sessions import LOGIN_AT, SEEN_AT
from tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

LIST = "/admin/orders/order/"


def logged_in(operator) -> Client:
    client = Client()
    assert (
        client.post("/admin/login/", {"username": operator.username, "password": TEST_PASSWORD}).status_code
        == 302
    )
    return client


def shift(client: Client, key: str, seconds: int) -> None:
    session = client.session
    session[key] = session[key] - seconds
    session.save()


def test_a_session_ends_after_an_hour_without_activity(operator):
    client = logged_in(operator)
    assert client.get(LIST).status_code == 200
    shift(client, SEEN_AT, 60 * 60 + 1)
    response = client.get(LIST, follow=True)
    assert response.redirect_chain[-1][0].startswith("/admin/login/")
    assert "logged out after 60 minutes without activity" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_activity_keeps_the_session(operator):
    client = logged_in(operator)
    shift(client, SEEN_AT, 50 * 60)
    assert client.get(LIST).status_code == 200  # a page opened: seen now
    shift(client, SEEN_AT, 50 * 60)
    assert client.get(LIST).status_code == 200


def test_background_polls_do_not_count_as_activity(operator):
    client = logged_in(operator)
    shift(client, SEEN_AT, 59 * 60)
    before = client.session[SEEN_AT]
    client.get("/admin/live/notifications/unread", HTTP_ACCEPT="application/json")
    assert client.session[SEEN_AT] == before
    shift(client, SEEN_AT, 2 * 60)
    assert client.get(LIST).status_code == 302


def test_a_session_ends_twelve_hours_after_the_login_however_active(operator):
    assert settings.SESSION_COOKIE_AGE == 12 * 60 * 60
    client = logged_in(operator)
    shift(client, LOGIN_AT, 12 * 60 * 60 + 1)
    response = client.get(LIST, follow=True)
    assert "logged out 12 hours after your login" in response.content.decode()


def test_the_idle_timeout_is_a_setting(operator, settings):
    settings.ORDEROPS = {"SESSION_IDLE_TIMEOUT": 120}
    client = logged_in(operator)
    shift(client, SEEN_AT, 121)
    assert client.get(LIST).status_code == 302
