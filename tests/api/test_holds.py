"""Holds over the API: take, release, take over, the batch, claim next; a refusal has the code, the holder and
since when, and the status of its code (409 when the order's state is in the way, 403 when the caller may
not)."""

import pytest

from live.models import Notification
from operators.models import Assignment, AssignmentLog
from operators.services import orders_assign
from tests.api.conftest import client_for
from tests.factories import OrderFactory
from tests.replay import assert_log_replays_to_holds

pytestmark = pytest.mark.django_db


def hold_url(order) -> str:
    return f"/api/v1/orders/{order.number}/hold"


def holder_of(order) -> str | None:
    hold = Assignment.objects.filter(order=order).select_related("operator").first()
    return hold.operator.username if hold else None


def test_put_takes_the_order_and_again_is_already_yours(operator):
    order = OrderFactory()
    api = client_for(operator)
    response = api.put(hold_url(order), format="json")
    assert response.status_code == 200
    assert response.json()["outcome"] == "done" and response.json()["hold"]["holder"] == "anna"
    again = api.put(hold_url(order), format="json")
    assert again.status_code == 200 and again.json()["outcome"] == "already_yours"
    assert holder_of(order) == "anna"
    assert_log_replays_to_holds()


def test_taking_a_held_order_is_409_with_the_holder_and_since(operator, other_operator):
    order = OrderFactory()
    orders_assign(actor=other_operator, order_ids=[order.pk])
    response = client_for(operator).put(hold_url(order), format="json")
    assert response.status_code == 409
    body = response.json()
    assert body["code"] == "held_by" and body["holder"] == "ivan" and body["since"]
    assert order.number in body["detail"]


def test_a_supervisor_assigns_someone_else_and_an_operator_may_not(operator, other_operator, supervisor):
    first, second = OrderFactory(), OrderFactory()
    response = client_for(supervisor).put(hold_url(first), {"operator": "anna"}, format="json")
    assert response.status_code == 200 and response.json()["hold"]["assigned_by"] == "boss"
    refused = client_for(operator).put(hold_url(second), {"operator": "ivan"}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "not_allowed"
    unknown = client_for(supervisor).put(hold_url(second), {"operator": "ghost"}, format="json")
    assert unknown.status_code == 422
    assert holder_of(second) is None


def test_a_final_order_cannot_be_held(operator):
    order = OrderFactory(status_id="complete")
    response = client_for(operator).put(hold_url(order), format="json")
    assert response.status_code == 409 and response.json()["code"] == "final_status"


def test_delete_releases_and_a_stranger_may_not(operator, other_operator):
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    refused = client_for(other_operator).delete(hold_url(order))
    # not_allowed is 403 wherever it comes from; the problem still says whose hold it is and since when.
    assert refused.status_code == 403 and refused.json()["code"] == "not_allowed"
    assert refused.json()["holder"] == "anna" and refused.json()["since"]
    assert refused.json()["order"] == order.number and order.number in refused.json()["detail"]
    assert holder_of(order) == "anna"
    response = client_for(operator).delete(hold_url(order))
    assert response.status_code == 200 and response.json()["hold"] is None
    again = client_for(operator).delete(hold_url(order))
    assert again.status_code == 409 and again.json()["code"] == "not_held"
    assert_log_replays_to_holds()


def test_a_supervisors_delete_of_a_colleagues_hold_needs_a_reason_and_tells_the_holder(operator, supervisor):
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    api = client_for(supervisor)
    refused = api.delete(hold_url(order))
    assert refused.status_code == 422 and refused["Content-Type"] == "application/problem+json"
    body = refused.json()
    assert body["code"] == "needs_reason" and body["order"] == order.number
    assert f"#{order.number} (held by Anna)" in body["detail"]
    assert holder_of(order) == "anna"
    done = api.delete(hold_url(order) + "?reason=Anna%20is%20on%20leave")
    assert done.status_code == 200 and done.json()["hold"] is None
    entry = AssignmentLog.objects.filter(order=order).last()
    assert (entry.action, entry.reason) == ("released", "Anna is on leave")
    assert list(Notification.objects.values_list("recipient__username", "kind", "detail")) == [
        ("anna", "released", "Anna is on leave")
    ]
    assert_log_replays_to_holds()


def test_the_batch_release_of_a_colleagues_hold_takes_the_reason_in_its_body(operator, supervisor):
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    api = client_for(supervisor)
    refused = api.post("/api/v1/holds/batch", {"action": "release", "orders": [order.number]}, format="json")
    assert refused.status_code == 422 and refused.json()["code"] == "needs_reason"
    assert holder_of(order) == "anna"
    done = api.post(
        "/api/v1/holds/batch",
        {"action": "release", "orders": [order.number], "reason": "shift change"},
        format="json",
    )
    assert done.status_code == 200 and done.json()["counts"] == {"done": 1}
    assert Notification.objects.get().detail == "shift change"


def test_take_over_needs_a_supervisor_and_a_reason(operator, other_operator, supervisor):
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    url = f"{hold_url(order)}/take-over"
    refused = client_for(other_operator).post(url, {"reason": "mine now"}, format="json")
    assert refused.status_code == 403 and refused.json()["code"] == "not_allowed"
    no_reason = client_for(supervisor).post(url, {"reason": " "}, format="json")
    assert no_reason.status_code == 422 and no_reason.json()["code"] == "needs_reason"
    too_long = client_for(supervisor).post(url, {"reason": "x" * 100_000}, format="json")
    assert too_long.status_code == 422 and too_long.json()["code"] == "too_long"
    assert holder_of(order) == "anna"
    response = client_for(supervisor).post(url, {"reason": "customer called"}, format="json")
    assert response.status_code == 200 and response.json()["hold"]["holder"] == "boss"
    assert_log_replays_to_holds()


def test_an_unknown_order_is_404(operator):
    response = client_for(operator).put("/api/v1/orders/000/hold", format="json")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_batch_reports_every_order_outcome(operator, other_operator):
    free, theirs = OrderFactory(), OrderFactory()
    orders_assign(actor=other_operator, order_ids=[theirs.pk])
    response = client_for(operator).post(
        "/api/v1/holds/batch",
        {"action": "assign", "orders": [free.number, theirs.number, "nope", free.number]},
        format="json",
    )
    assert response.status_code == 200
    outcomes = {item["order"]: item for item in response.json()["outcomes"]}
    assert len(response.json()["outcomes"]) == 3
    assert outcomes[free.number]["code"] == "done"
    assert outcomes[theirs.number]["code"] == "held_by" and outcomes[theirs.number]["holder"] == "ivan"
    assert outcomes["nope"]["code"] == "not_found"
    assert response.json()["counts"] == {"done": 1, "held_by": 1, "not_found": 1}


def test_batch_release_take_over_and_transfer(operator, other_operator, supervisor):
    orders = OrderFactory.create_batch(3)
    numbers = [order.number for order in orders]
    orders_assign(actor=operator, order_ids=[order.pk for order in orders])
    boss = client_for(supervisor)
    moved = boss.post(
        "/api/v1/holds/batch", {"action": "transfer", "orders": numbers, "operator": "ivan"}, format="json"
    )
    assert moved.json()["counts"] == {"done": 3}
    assert {holder_of(order) for order in orders} == {"ivan"}
    taken = boss.post(
        "/api/v1/holds/batch", {"action": "take_over", "orders": numbers, "reason": "r"}, format="json"
    )
    assert taken.json()["counts"] == {"done": 3}
    released = boss.post("/api/v1/holds/batch", {"action": "release", "orders": numbers}, format="json")
    assert released.json()["counts"] == {"done": 3}
    assert_log_replays_to_holds()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"action": "assign", "orders": [str(n) for n in range(101)]}, 413, "too_many"),
        # A JSON object with a field refused (unknown, missing, of the wrong type, not a choice): 422.
        ({"action": "steal", "orders": ["1"]}, 422, "invalid_input"),
        ({"action": "assign", "orders": []}, 422, "invalid_input"),
        ({"action": "assign", "orders": "1"}, 422, "invalid_input"),
        ({"action": "assign", "orders": ["1"], "extra": 1}, 422, "invalid_input"),
        ({"action": "transfer", "orders": ["1"]}, 422, "invalid_input"),
        # No JSON object at all: 400.
        (["assign", "1"], 400, "invalid_input"),
    ],
)
def test_a_bad_batch_is_a_problem_and_changes_nothing(supervisor, body, status, code):
    OrderFactory(number="1")
    response = client_for(supervisor).post("/api/v1/holds/batch", body, format="json")
    assert response.status_code == status and response.json()["code"] == code
    assert not Assignment.objects.exists()


def test_claim_next_takes_the_oldest_free_order(operator):
    oldest, _newer = OrderFactory(), OrderFactory()
    api = client_for(operator)
    response = api.post("/api/v1/holds/claim-next")
    assert response.status_code == 200 and response.json()["number"] == oldest.number
    assert response.json()["hold"]["holder"] == "anna"
    api.post("/api/v1/holds/claim-next")
    assert Assignment.objects.filter(operator=operator).count() == 2


def test_claim_next_with_nothing_waiting_is_204_and_takes_nothing(operator, other_operator):
    held, done = OrderFactory(), OrderFactory(status_id="complete")
    orders_assign(actor=other_operator, order_ids=[held.pk])
    nothing = client_for(operator).post("/api/v1/holds/claim-next")
    assert nothing.status_code == 204 and nothing.content == b""
    assert "Content-Type" not in nothing
    assert holder_of(held) == "ivan" and holder_of(done) is None
    assert_log_replays_to_holds()


def test_claim_next_at_capacity_is_409_at_capacity(operator, settings):
    settings.ORDEROPS = {**settings.ORDEROPS, "MAX_HELD_PER_OPERATOR": 1}
    mine, _free = OrderFactory(), OrderFactory()
    orders_assign(actor=operator, order_ids=[mine.pk])
    refused = client_for(operator).post("/api/v1/holds/claim-next")
    assert refused.status_code == 409 and refused.json()["code"] == "at_capacity"
    assert Assignment.objects.filter(operator=operator).count() == 1


def test_claim_next_nothing_is_replayed_for_its_idempotency_key(operator):
    api = client_for(operator)
    first = api.post("/api/v1/holds/claim-next", HTTP_IDEMPOTENCY_KEY="poll-1")
    OrderFactory()
    again = api.post("/api/v1/holds/claim-next", HTTP_IDEMPOTENCY_KEY="poll-1")
    assert first.status_code == again.status_code == 204 and again["Idempotent-Replayed"] == "true"
    assert not Assignment.objects.exists()


def test_claim_next_refuses_someone_who_may_not_hold(staff_without_role, superuser):
    OrderFactory()
    # staff_without_role is in no role: their key does not even act (401); a superuser may hold.
    assert client_for(staff_without_role).post("/api/v1/holds/claim-next").status_code == 401
    assert client_for(superuser).post("/api/v1/holds/claim-next").status_code == 200
