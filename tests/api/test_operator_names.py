"""The API's `operator` field tells nobody whether a username exists (issue 26, finding 7 / item 6)."""

import pytest

from operators.models import Assignment
from tests.api.conftest import client_for
from tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db


def problem(response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["code"], body["detail"]


@pytest.mark.parametrize("path", ["hold", "batch"])
def test_an_operator_gets_the_same_answer_for_an_unknown_and_an_existing_name(operator, other_operator, path):
    order = OrderFactory()
    api = client_for(operator)

    def name(username: str):
        if path == "hold":
            return api.put(f"/api/v1/orders/{order.number}/hold", {"operator": username}, format="json")
        return api.post(
            "/api/v1/holds/batch",
            {"action": "assign", "orders": [order.number], "operator": username},
            format="json",
        )

    unknown, existing = name("no-such-person"), name(other_operator.username)
    assert problem(unknown) == problem(existing)
    assert problem(unknown)[:2] == (403, "not_allowed")
    assert "no-such-person" not in unknown.json()["detail"]
    assert not Assignment.objects.exists()


def test_a_supervisor_gets_one_answer_for_every_name_that_cannot_hold(supervisor, operator, roles):
    order = OrderFactory()
    api = client_for(supervisor)
    inactive = UserFactory(username="gone", is_staff=True, is_active=False)
    no_role = UserFactory(username="clerk", is_staff=True)

    def name(username: str):
        return api.put(f"/api/v1/orders/{order.number}/hold", {"operator": username}, format="json")

    answers = {
        username: problem(name(username)) for username in ["ghost", inactive.username, no_role.username]
    }
    assert {status for status, _code, _detail in answers.values()} == {422}
    assert {code for _status, code, _detail in answers.values()} == {"invalid_input"}
    assert {detail.replace(repr(username), "NAME") for username, (_s, _c, detail) in answers.items()} == {
        "NAME is not an active Operator or Supervisor who may hold orders. Nothing was changed."
    }
    assert not Assignment.objects.exists()
    assert name(operator.username).status_code == 200
