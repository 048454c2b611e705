"""Idempotency-Key (replayed for the same body, 422 for another) and throttling per key (429, Retry-After,
RateLimit-* headers)."""

import pytest
from django.test import override_settings

from orders.models import OrderComment
from tests.api.conftest import client_for
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def test_the_same_key_and_body_replays_the_first_response_with_one_effect(operator):
    order = OrderFactory()
    api = client_for(operator)
    url = f"/api/v1/orders/{order.number}/comments/"
    first = api.post(url, {"body": "once"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    second = api.post(url, {"body": "once"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == second.status_code == 201
    assert first.content == second.content and second["Idempotent-Replayed"] == "true"
    assert OrderComment.objects.count() == 1


def test_the_same_key_with_another_body_is_422_and_does_nothing(operator):
    order = OrderFactory()
    api = client_for(operator)
    url = f"/api/v1/orders/{order.number}/comments/"
    api.post(url, {"body": "once"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    response = api.post(url, {"body": "twice"}, format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert response.status_code == 422 and response.json()["code"] == "idempotency_key_reused"
    assert OrderComment.objects.count() == 1


def test_keys_belong_to_their_user(operator, other_operator):
    order = OrderFactory()
    url = f"/api/v1/orders/{order.number}/comments/"
    client_for(operator).post(url, {"body": "a"}, format="json", HTTP_IDEMPOTENCY_KEY="same")
    client_for(other_operator).post(url, {"body": "a"}, format="json", HTTP_IDEMPOTENCY_KEY="same")
    assert OrderComment.objects.count() == 2


def test_a_refusal_is_replayed_too(operator, other_operator):
    from operators.services import orders_assign

    order = OrderFactory()
    orders_assign(actor=other_operator, order_ids=[order.pk])
    api = client_for(operator)
    first = api.put(f"/api/v1/orders/{order.number}/hold", format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    second = api.put(f"/api/v1/orders/{order.number}/hold", format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert first.status_code == second.status_code == 409
    assert second["Content-Type"] == "application/problem+json"


@override_settings(ORDEROPS_API={"THROTTLE_RATE": "3/min"})
def test_a_key_past_its_rate_gets_429_with_retry_after_and_ratelimit_headers(operator, other_operator):
    api = client_for(operator)
    answers = [api.get("/api/v1/statuses/") for _ in range(4)]
    assert [answer.status_code for answer in answers] == [200, 200, 200, 429]
    assert answers[0]["RateLimit-Limit"] == "3" and answers[0]["RateLimit-Remaining"] == "2"
    assert answers[2]["RateLimit-Remaining"] == "0"
    refused = answers[3]
    assert refused.json()["code"] == "throttled" and int(refused["Retry-After"]) >= 1
    assert refused["Content-Type"] == "application/problem+json"
    # Another key has its own count.
    assert client_for(other_operator).get("/api/v1/statuses/").status_code == 200
