"""PATCH /api/v1/orders/{number}/ with `lines`: the list replaces the order's lines, through the one edit path
(the console's rules, its guard, its version check), and a refused PATCH changes nothing."""

from decimal import Decimal

import pytest

from operators.services import orders_assign
from orders.models import Order, OrderChange, OrderLine
from orders.services import order_update
from tests.api.conftest import client_for
from tests.factories import OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(operator):
    """An order held by the operator, with two lines."""
    order = OrderFactory(customer_name="Mara Petrova")
    OrderLineFactory(order=order, sku="MUG-1", name="Mug", qty=1, unit_price=Decimal("9.50"))
    OrderLineFactory(order=order, sku="TEA-2", name="Tea", qty=2, unit_price=Decimal("4.00"))
    orders_assign(actor=operator, order_ids=[order.pk])
    order.refresh_from_db()
    return order


def lines_of(order) -> list[tuple]:
    return list(
        OrderLine.objects.filter(order=order).order_by("id").values_list("sku", "name", "qty", "unit_price")
    )


def line_ids(order) -> list[int]:
    return list(OrderLine.objects.filter(order=order).order_by("id").values_list("pk", flat=True))


def patch(user, order, body, version=None):
    return client_for(user).patch(
        f"/api/v1/orders/{order.number}/",
        body,
        format="json",
        HTTP_IF_MATCH=f'"{version if version is not None else order.version}"',
    )


def test_lines_replace_the_orders_lines_kept_changed_added_and_deleted(operator, held):
    mug, _tea = line_ids(held)
    response = patch(
        operator,
        held,
        {
            "customer_name": "Mara Ilieva",
            "lines": [
                {"id": mug, "sku": "MUG-1", "name": "Mug", "qty": 3, "unit_price": "9.50"},
                {"sku": "BOX-9", "name": "Gift box", "qty": 1, "unit_price": "0"},
            ],
        },
    )
    assert response.status_code == 200, response.json()
    assert response["ETag"] == '"2"'
    body = response.json()
    assert body["customer_name"] == "Mara Ilieva"
    assert [(line["sku"], line["qty"], line["unit_price"]) for line in body["lines"]] == [
        ("MUG-1", 3, "9.50"),
        ("BOX-9", 1, "0.00"),
    ]
    assert line_ids(held)[0] == mug  # the kept line is the same line
    assert lines_of(held) == [("MUG-1", "Mug", 3, Decimal("9.50")), ("BOX-9", "Gift box", 1, Decimal("0.00"))]
    # One version for the fields and the lines together, each recorded as changed by the caller.
    assert Order.objects.get(pk=held.pk).version == 2
    assert set(
        OrderChange.objects.filter(order=held, version=2, actor=operator).values_list("field", flat=True)
    ) == {"customer_name", "lines"}


def test_an_empty_list_deletes_every_line_and_no_lines_keeps_them(operator, held):
    kept = patch(operator, held, {"shipping_city": "Ruse"})
    assert kept.status_code == 200 and len(kept.json()["lines"]) == 2
    emptied = patch(operator, held, {"lines": []}, version=2)
    assert emptied.status_code == 200 and emptied.json()["lines"] == []
    assert lines_of(held) == [] and Order.objects.get(pk=held.pk).version == 3


def test_the_lines_as_they_are_are_no_change_and_no_new_version(operator, held):
    mug, tea = line_ids(held)
    same = [
        {"id": mug, "sku": "MUG-1", "name": "Mug", "qty": 1, "unit_price": "9.5"},
        {"id": tea, "sku": "TEA-2", "name": "Tea", "qty": 2, "unit_price": 4},
    ]
    response = patch(operator, held, {"lines": same})
    assert response.status_code == 200 and response["ETag"] == '"1"'
    assert not OrderChange.objects.filter(order=held, field="lines").exists()


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ({"sku": "X", "name": "X", "qty": 0, "unit_price": "1.00"}, "lines[2].qty"),
        ({"sku": "X", "name": "X", "qty": -4, "unit_price": "1.00"}, "lines[2].qty"),
        ({"sku": "X", "name": "X", "qty": 1, "unit_price": "-0.01"}, "lines[2].unit_price"),
        ({"name": "X", "qty": 1, "unit_price": "1.00"}, "lines[2].sku"),
        ({"sku": "  ", "name": "X", "qty": 1, "unit_price": "1.00"}, "lines[2].sku"),
        ({"sku": "X", "name": "X", "qty": "two", "unit_price": "1.00"}, "lines[2].qty"),
        ({"sku": "X", "name": "X", "qty": 1, "unit_price": "1.001"}, "lines[2].unit_price"),
        ({"sku": "X" * 65, "name": "X", "qty": 1, "unit_price": "1.00"}, "lines[2].sku"),
        ({"sku": "X", "name": "X", "qty": 1, "unit_price": "1.00", "colour": "red"}, "lines[2].colour"),
    ],
)
def test_an_invalid_line_is_a_422_naming_the_order_and_the_field_and_changes_nothing(
    operator, held, line, field
):
    mug, _tea = line_ids(held)
    before = (Order.objects.values().get(pk=held.pk), lines_of(held))
    response = patch(
        operator,
        held,
        {
            "customer_name": "Not saved",
            "lines": [{"id": mug, "sku": "MUG-1", "name": "Mug", "qty": 5, "unit_price": "9.50"}, line],
        },
    )
    assert response.status_code == 422, response.json()
    problem = response.json()
    assert response["Content-Type"] == "application/problem+json"
    assert problem["code"] == "invalid_input" and problem["order"] == held.number
    assert f"#{held.number}" in problem["detail"] and field in problem["detail"]
    assert [error["field"] for error in problem["errors"]] == [field]
    assert (Order.objects.values().get(pk=held.pk), lines_of(held)) == before


def test_the_console_rule_messages_are_the_shared_validators(operator, held):
    """qty and unit_price are refused with the words of orders/validators.py, as the console's inline says."""
    response = patch(
        operator,
        held,
        {"lines": [{"sku": "X", "name": "X", "qty": 0, "unit_price": "-1"}]},
    )
    errors = {error["field"]: error["message"] for error in response.json()["errors"]}
    assert errors == {"lines[1].qty": "must be at least 1", "lines[1].unit_price": "cannot be negative"}


def test_a_line_id_the_order_does_not_have_is_refused_naming_it(operator, held):
    other = OrderFactory()
    stranger = OrderLineFactory(order=other)
    before = lines_of(held), lines_of(other)
    response = patch(
        operator,
        held,
        {"lines": [{"id": stranger.pk, "sku": "MUG-1", "name": "M", "qty": 1, "unit_price": 1}]},
    )
    assert response.status_code == 422
    assert response.json()["code"] == "invalid_input"
    assert held.number in response.json()["detail"] and str(stranger.pk) in response.json()["detail"]
    assert (lines_of(held), lines_of(other)) == before
    assert Order.objects.get(pk=held.pk).version == 1


def test_a_line_id_twice_is_refused(operator, held):
    mug, _tea = line_ids(held)
    line = {"id": mug, "sku": "MUG-1", "name": "Mug", "qty": 1, "unit_price": "9.50"}
    response = patch(operator, held, {"lines": [line, line]})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "lines"
    assert str(mug) in response.json()["detail"]
    assert len(lines_of(held)) == 2


@pytest.mark.parametrize("lines", ["MUG-1", {"sku": "MUG-1"}, [1, 2], None])
def test_lines_that_are_no_list_of_objects_are_refused(operator, held, lines):
    response = patch(operator, held, {"lines": lines})
    assert response.status_code == 422 and response.json()["code"] == "invalid_input"
    assert held.number in response.json()["detail"]
    assert len(lines_of(held)) == 2


def test_a_stale_patch_with_lines_is_412_with_who_changed_what_and_lands_nothing(operator, supervisor, held):
    order_update(actor=supervisor, order_id=held.pk, version=1, changes={"shipping_city": "Varna"})
    before = lines_of(held)
    response = patch(
        operator, held, {"lines": [{"sku": "NEW", "name": "New", "qty": 1, "unit_price": "1.00"}]}, version=1
    )
    assert response.status_code == 412
    problem = response.json()
    assert problem["code"] == "precondition_failed" and problem["current_version"] == 2
    assert problem["changes"][0]["field"] == "shipping_city" and problem["changes"][0]["by"] == "boss"
    assert held.number in problem["detail"]
    assert lines_of(held) == before and Order.objects.get(pk=held.pk).version == 2


def test_someone_elses_hold_refuses_the_lines_409_with_the_holder_and_since(other_operator, held):
    before = lines_of(held)
    response = patch(other_operator, held, {"lines": []})
    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == "held_by" and problem["holder"] == "anna" and problem["since"]
    assert problem["order"] == held.number
    assert lines_of(held) == before


def test_a_supervisor_changes_the_lines_of_an_order_held_by_someone_else(supervisor, held):
    response = patch(supervisor, held, {"lines": [{"sku": "S", "name": "S", "qty": 1, "unit_price": 1}]})
    assert response.status_code == 200
    assert lines_of(held) == [("S", "S", 1, Decimal("1.00"))]
    assert OrderChange.objects.filter(order=held, field="lines", actor=supervisor).exists()


def test_the_schema_says_lines_replace_the_orders_lines(operator):
    schema = client_for(operator).get("/api/v1/schema/?format=json").json()
    patch_body = schema["components"]["schemas"]["PatchedOrderPatchRequest"]
    lines = patch_body["properties"]["lines"]
    assert lines["type"] == "array" and lines["description"].startswith("Replaces the order's lines")
    line = schema["components"]["schemas"]["LineInputRequest"]
    assert set(line["required"]) == {"sku", "name", "qty", "unit_price"}
    assert line["properties"]["qty"]["minimum"] == 1
    assert line["additionalProperties"] is False
    operation = schema["paths"]["/api/v1/orders/{number}/"]["patch"]
    assert "Replaces the order's lines" in operation["description"]
