"""API answers with customers' data are never stored by a cache on the way (issue 26, row 10)."""

import pytest

from tests.api.conftest import client_for
from tests.factories import OrderCommentFactory, OrderFactory

pytestmark = pytest.mark.django_db


def test_every_answer_with_customers_data_says_no_store(operator, other_operator):
    order = OrderFactory(number="100042", customer_name="Anna Müller")
    OrderCommentFactory(order=order, author=other_operator, body="Called her")
    api = client_for(operator)
    answers = {
        "list": api.get("/api/v1/orders/"),
        "order": api.get("/api/v1/orders/100042/"),
        "comments": api.get("/api/v1/orders/100042/comments/"),
        "timeline": api.get("/api/v1/orders/100042/timeline/"),
        "hold": api.put("/api/v1/orders/100042/hold", {}, format="json"),
        "refusal": client_for(other_operator).put("/api/v1/orders/100042/hold", {}, format="json"),
        "unchanged": api.get(
            "/api/v1/orders/100042/", HTTP_IF_NONE_MATCH=api.get("/api/v1/orders/100042/")["ETag"]
        ),
    }
    assert "Anna Müller" in answers["list"].content.decode()
    assert answers["unchanged"].status_code == 304
    assert {name: answer["Cache-Control"] for name, answer in answers.items()} == dict.fromkeys(
        answers, "no-store"
    )
