"""API keys: created by a command (shown once, only the hash kept), sent as a bearer token, revoked, expired;
the session works too, with CSRF; the admin lists keys for superusers only."""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone
from rest_framework.test import APIClient

from api.keys import api_key_create, key_hash
from api.models import ApiKey
from operators.models import Assignment
from tests.factories import TEST_PASSWORD, OrderFactory

pytestmark = pytest.mark.django_db


def bearer(secret: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def test_api_key_create_prints_the_key_once_and_stores_only_its_hash(operator):
    out, err = io.StringIO(), io.StringIO()
    call_command("api_key_create", user="anna", name="shop sync", expires="90d", stdout=out, stderr=err)
    secret = out.getvalue().strip()
    api_key = ApiKey.objects.get(user=operator)
    assert secret.startswith(f"oo_{api_key.prefix}_")
    assert api_key.hashed == key_hash(secret)
    assert secret not in err.getvalue() and api_key.prefix in err.getvalue()
    assert timedelta(days=89) < api_key.expires_at - timezone.now() <= timedelta(days=90)
    assert bearer(secret).get("/api/v1/statuses/").status_code == 200


def test_api_key_create_refuses_an_unknown_user_and_a_bad_duration(operator):
    with pytest.raises(CommandError, match="no user"):
        call_command("api_key_create", user="nobody-here", name="x", stdout=io.StringIO())
    with pytest.raises(CommandError, match="duration"):
        call_command("api_key_create", user="anna", name="x", expires="soon", stdout=io.StringIO())
    assert not ApiKey.objects.exists()


def test_a_user_may_have_several_keys_and_a_revoked_one_stops_working(operator):
    first = api_key_create(user=operator, name="one").secret
    second = api_key_create(user=operator, name="two")
    call_command("api_key_revoke", second.api_key.prefix, stdout=io.StringIO())
    assert bearer(first).get("/api/v1/statuses/").status_code == 200
    response = bearer(second.secret).get("/api/v1/statuses/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "unauthenticated"
    with pytest.raises(CommandError):
        call_command("api_key_revoke", second.api_key.prefix, stdout=io.StringIO())


def test_an_expired_key_is_refused(operator):
    created = api_key_create(user=operator, name="old", expires_in=timedelta(minutes=1))
    ApiKey.objects.filter(pk=created.api_key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert bearer(created.secret).get("/api/v1/statuses/").status_code == 401


def test_a_key_of_an_inactive_user_is_refused(inactive_operator):
    response = bearer(api_key_create(user=inactive_operator, name="x").secret).get("/api/v1/statuses/")
    assert response.status_code == 401
    assert response.json()["code"] == "inactive"


@pytest.mark.parametrize("header", ["Bearer nonsense", "Bearer oo_abcdefghij_" + "x" * 43, "Bearer a b"])
def test_an_unknown_or_malformed_key_is_401_with_a_challenge(db, header):
    response = APIClient().get("/api/v1/orders/", HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_no_credentials_is_401_problem(db):
    response = APIClient().get("/api/v1/orders/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "unauthenticated"
    assert response.json()["status"] == 401


def test_last_used_is_recorded(operator):
    created = api_key_create(user=operator, name="x")
    bearer(created.secret).get("/api/v1/statuses/")
    created.api_key.refresh_from_db()
    assert created.api_key.last_used_at is not None


def test_a_staff_user_without_a_role_may_not_use_the_api(staff_without_role):
    response = bearer(api_key_create(user=staff_without_role, name="x").secret).get("/api/v1/orders/")
    assert response.status_code == 401
    assert response.json()["code"] == "not_allowed"
    assert "nobody has no role" in response.json()["detail"]


def test_a_key_stops_acting_when_its_user_loses_staff_status(operator):
    """Issue 26, finding 4: with is_staff off the console refuses the user, and so does the API, for reads and
    writes alike; nothing changes."""
    order = OrderFactory()
    client = bearer(api_key_create(user=operator, name="shop sync").secret)
    assert client.get("/api/v1/orders/").status_code == 200
    operator.is_staff = False
    operator.save(update_fields=["is_staff"])
    read = client.get("/api/v1/orders/")
    write = client.put(f"/api/v1/orders/{order.number}/hold", {}, format="json")
    assert (read.status_code, read.json()["code"]) == (401, "not_allowed")
    assert "anna" in read.json()["detail"] and "staff" in read.json()["detail"]
    assert write.status_code == 401
    assert not Assignment.objects.exists()
    operator.is_staff = True
    operator.save(update_fields=["is_staff"])
    assert client.get("/api/v1/orders/").status_code == 200  # suspended, not revoked


def test_a_key_stops_acting_when_its_user_leaves_every_role(operator):
    client = bearer(api_key_create(user=operator, name="shop sync").secret)
    operator.groups.clear()
    response = client.get("/api/v1/statuses/")
    assert (response.status_code, response.json()["code"]) == (401, "not_allowed")


def test_the_key_list_shows_keys_whose_user_may_no_longer_log_in(client, operator, other_operator, superuser):
    acting = api_key_create(user=operator, name="acting").api_key
    suspended = api_key_create(user=other_operator, name="suspended").api_key
    other_operator.is_staff = False
    other_operator.save(update_fields=["is_staff"])
    client.force_login(superuser)
    listed = client.get("/admin/api/apikey/", {"user_may_log_in": "no"}).content.decode()
    assert suspended.prefix in listed and acting.prefix not in listed
    listed = client.get("/admin/api/apikey/", {"user_may_log_in": "yes"}).content.decode()
    assert acting.prefix in listed and suspended.prefix not in listed
    page = client.get("/admin/api/apikey/").content.decode()
    assert "User may log in" in page or "user may log in" in page.lower()


def test_the_session_authenticates_and_a_post_needs_csrf(operator):
    order = OrderFactory()
    client = APIClient(enforce_csrf_checks=True)
    assert client.login(username="anna", password=TEST_PASSWORD)
    assert client.get("/api/v1/orders/").status_code == 200
    response = client.put(f"/api/v1/orders/{order.number}/hold", {}, format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
    assert not Assignment.objects.exists()


def test_the_key_admin_is_for_superusers_and_never_shows_a_secret(client, operator, superuser):
    created = api_key_create(user=operator, name="shop sync")
    client.force_login(operator)
    assert client.get("/admin/api/apikey/").status_code == 403
    client.force_login(superuser)
    page = client.get("/admin/api/apikey/")
    assert page.status_code == 200
    text = page.content.decode()
    assert (
        created.api_key.prefix in text and created.secret not in text and created.api_key.hashed not in text
    )
    response = client.post(
        "/admin/api/apikey/", {"action": "revoke_keys", "_selected_action": [created.api_key.pk]}, follow=True
    )
    assert response.status_code == 200
    created.api_key.refresh_from_db()
    assert created.api_key.revoked_at is not None
