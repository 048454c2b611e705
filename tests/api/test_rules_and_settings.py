"""The API asks the rule book who may ingest orders; ORDEROPS_API["SCHEMA_PUBLIC"] opens or closes the schema
and its docs page; the system check refuses bad ORDEROPS_API values."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from api.checks import check_api_settings
from operators import rules
from operators.rules import Refusal
from orders.models import Order
from orders.results import Code
from tests.api.conftest import client_for
from tests.factories import OperatorFactory, UserFactory

pytestmark = pytest.mark.django_db

NEW_ORDER = {"number": "R-1", "status": "pending", "customer_name": "Nina Ilieva"}


@pytest.fixture
def store(db):
    """The store's integration user: staff (an API key acts only while its user could log in to the
    console), no role, orders.add_order and orders.view_order given directly."""
    user = UserFactory(username="store", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_order", "view_order"], content_type__app_label="orders")
    )
    return user


# --- ingest: the rule book's ingest_refusal -----------------------------------------------------------------


def test_the_rule_book_lets_ingest_only_users_with_orders_add_order(store, operator, supervisor, superuser):
    assert rules.ingest_refusal(store) is None
    assert rules.ingest_refusal(superuser) is None
    for user in (operator, supervisor):
        refusal = rules.ingest_refusal(user)
        assert refusal is not None and refusal.code == Code.NOT_ALLOWED
        assert user.username in refusal.message and "orders.add_order" in refusal.message


def test_an_inactive_store_user_is_refused_as_inactive(store):
    store.is_active = False
    refusal = rules.ingest_refusal(store)
    assert refusal is not None and refusal.code == Code.INACTIVE


@pytest.mark.parametrize(("method", "path"), [("post", "/api/v1/orders/"), ("put", "/api/v1/orders/R-1")])
def test_ingest_answers_what_the_rule_book_says(store, operator, monkeypatch, method, path):
    refused = getattr(client_for(operator), method)(path, NEW_ORDER, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "not_allowed"
    assert refused.json()["detail"] == rules.ingest_refusal(operator).message
    assert not Order.objects.filter(number="R-1").exists()

    # The API decides nothing itself: the rule book refusing the store refuses the request.
    closed = Refusal(Code.NOT_ALLOWED, "The store's ingest is closed today.")
    monkeypatch.setattr(rules, "ingest_refusal", lambda user: closed)
    shut = getattr(client_for(store), method)(path, NEW_ORDER, format="json")
    assert shut.status_code == 403 and shut.json()["detail"] == "The store's ingest is closed today."
    assert not Order.objects.filter(number="R-1").exists()

    monkeypatch.setattr(rules, "ingest_refusal", lambda user: None)
    anyone = getattr(client_for(operator), method)(path, NEW_ORDER, format="json")
    assert anyone.status_code == 201 and Order.objects.filter(number="R-1").exists()


# --- the schema and its docs page: public unless configured -------------------------------------------------


@pytest.mark.parametrize("path", ["/api/v1/schema/", "/api/v1/docs/"])
def test_the_schema_and_docs_are_public_by_default(db, path):
    assert APIClient().get(path).status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/schema/", "/api/v1/docs/"])
def test_schema_public_off_asks_for_a_key_of_someone_who_may_view_orders(roles, settings, path):
    settings.ORDEROPS_API = {**settings.ORDEROPS_API, "SCHEMA_PUBLIC": False}
    anonymous = APIClient().get(path)
    assert anonymous.status_code == 401 and anonymous.json()["code"] == "unauthenticated"
    assert anonymous["Content-Type"] == "application/problem+json"
    no_role = client_for(UserFactory(username="sam")).get(path)
    assert no_role.status_code == 401 and no_role.json()["code"] == "not_allowed"  # the key does not act
    assert client_for(OperatorFactory(username="olga")).get(path).status_code == 200


def test_an_inactive_users_key_is_refused_even_for_the_public_schema(roles):
    user = OperatorFactory(username="ines")
    api = client_for(user)
    user.is_active = False
    user.save()
    response = api.get("/api/v1/schema/")
    assert response.status_code == 401 and response.json()["code"] == "inactive"


# --- the system check ---------------------------------------------------------------------------------------


def test_the_default_api_settings_pass_the_check(settings):
    settings.ORDEROPS_API = {}
    assert check_api_settings() == []


@pytest.mark.parametrize(
    ("configured", "message"),
    [
        ({"SCHEMA_PUBLIC": "yes"}, "ORDEROPS_API['SCHEMA_PUBLIC'] must be True or False; it is 'yes'."),
        ({"SCHEMA_PUBLIC": 1}, "ORDEROPS_API['SCHEMA_PUBLIC'] must be True or False; it is 1."),
        ({"THROTTLE_RATE": "600/week"}, "ORDEROPS_API['THROTTLE_RATE'] must be a rate such as"),
        ({"THROTTLE_RATE": "many/min"}, "ORDEROPS_API['THROTTLE_RATE'] must be a rate such as"),
        ({"THROTTLE_RATE": "0/min"}, "ORDEROPS_API['THROTTLE_RATE'] must be a rate such as"),
        ({"BATCH_MAX_ORDERS": 0}, "ORDEROPS_API['BATCH_MAX_ORDERS'] must be a whole number of at least 1"),
        ({"IDEMPOTENCY_TTL": 86400}, "ORDEROPS_API['IDEMPOTENCY_TTL'] must be a positive timedelta"),
        ({"IDEMPOTENCY_KEY_MAX_LENGTH": 500}, "ORDEROPS_API['IDEMPOTENCY_KEY_MAX_LENGTH'] must be a whole"),
        (
            {"PAGE_SIZE": 300},
            "ORDEROPS_API['PAGE_SIZE'] (300) is more than ORDEROPS_API['MAX_PAGE_SIZE'] (200)",
        ),
        ({"SCHEMA_PUBLK": False}, "ORDEROPS_API['SCHEMA_PUBLK'] is not a setting of the API."),
    ],
)
def test_the_check_names_a_bad_api_setting(settings, configured, message):
    settings.ORDEROPS_API = configured
    errors = check_api_settings()
    assert len(errors) == 1 and errors[0].msg.startswith(message), errors


def test_good_api_settings_pass_the_check(settings):
    settings.ORDEROPS_API = {
        "SCHEMA_PUBLIC": False,
        "THROTTLE_RATE": "10/s",
        "IDEMPOTENCY_TTL": timedelta(hours=48),
        "PAGE_SIZE": 20,
        "MAX_PAGE_SIZE": 20,
    }
    assert check_api_settings() == []
