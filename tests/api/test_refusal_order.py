"""Which refusal answers first, and 400 versus 422, as the README's REST API section says.

- The permission before the values: a caller whom the rule book refuses (their role, or the rule for this
  order: a 403) is told so whatever the body holds, malformed or not.
- 400: the request cannot be read as the operation's (no JSON, no JSON object). 422: a JSON object with a
  field refused (unknown, missing, of the wrong type, refused by its rule), each named in `errors`, with the
  order the request names.
"""

import pytest
from django.contrib.auth.models import Permission

from operators.models import Assignment
from operators.services import orders_assign
from orders.models import Order, OrderComment
from tests.api.conftest import client_for
from tests.factories import OrderFactory, UserFactory

pytestmark = pytest.mark.django_db

MALFORMED = ('{"reason": ', "application/json")
NOT_AN_OBJECT = ("[1, 2]", "application/json")
UNKNOWN_FIELD = ('{"colour": "red"}', "application/json")


@pytest.fixture
def viewer(roles):
    """Staff who may view orders (and so comment) but not work on them."""
    user = UserFactory(username="vera", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_order", content_type__app_label="orders"))
    return user


def send(user, method: str, path: str, body: tuple[str, str], **headers):
    text, content_type = body
    return client_for(user).generic(method, path, text, content_type=content_type, **headers)


def snapshot() -> tuple:
    return (
        list(Order.objects.values_list("number", "version", "status_id").order_by("pk")),
        list(Assignment.objects.values_list("order_id", "operator_id")),
        OrderComment.objects.count(),
    )


@pytest.mark.parametrize(
    "body", [MALFORMED, NOT_AN_OBJECT, UNKNOWN_FIELD], ids=["malformed", "list", "unknown"]
)
def test_a_take_over_by_an_operator_is_403_whatever_the_body(operator, other_operator, body):
    order = OrderFactory()
    orders_assign(actor=other_operator, order_ids=[order.pk])
    before = snapshot()
    response = send(operator, "POST", f"/api/v1/orders/{order.number}/hold/take-over", body)
    assert response.status_code == 403, response.json()
    problem = response.json()
    assert problem["code"] == "not_allowed" and problem["order"] == order.number
    assert problem["holder"] == other_operator.username and problem["since"]
    assert snapshot() == before


@pytest.mark.parametrize(
    "body", [MALFORMED, NOT_AN_OBJECT, UNKNOWN_FIELD], ids=["malformed", "list", "unknown"]
)
@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("PATCH", "/api/v1/orders/{number}/", {"HTTP_IF_MATCH": '"1"'}),
        ("PATCH", "/api/v1/orders/{number}/", {}),  # before the If-Match it lacks, too
        ("POST", "/api/v1/orders/{number}/status", {}),
        ("PUT", "/api/v1/orders/{number}/hold", {}),
        ("POST", "/api/v1/holds/batch", {}),
        ("POST", "/api/v1/orders/", {}),
        ("PUT", "/api/v1/orders/{number}", {}),
    ],
)
def test_a_caller_without_the_role_is_403_before_any_value_is_read(viewer, method, path, headers, body):
    order = OrderFactory()
    before = snapshot()
    response = send(viewer, method, path.replace("{number}", order.number), body, **headers)
    assert response.status_code == 403, response.json()
    assert response.json()["code"] == "not_allowed"
    assert snapshot() == before


@pytest.fixture
def supervisor_and_held_order(supervisor, operator):
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    return supervisor, order


# Every operation that reads a body, as a caller who may do it.
BODY_OPERATIONS = [
    ("PATCH", "/api/v1/orders/{number}/", {"HTTP_IF_MATCH": '"1"'}),
    ("POST", "/api/v1/orders/{number}/status", {}),
    ("PUT", "/api/v1/orders/{number}/hold", {}),
    ("POST", "/api/v1/orders/{number}/hold/take-over", {}),
    ("POST", "/api/v1/orders/{number}/comments/", {}),
    ("POST", "/api/v1/holds/batch", {}),
]


@pytest.mark.parametrize(("method", "path", "headers"), BODY_OPERATIONS)
@pytest.mark.parametrize("body", [MALFORMED, NOT_AN_OBJECT], ids=["malformed", "list"])
def test_a_body_that_is_no_json_object_is_400(supervisor_and_held_order, method, path, headers, body):
    supervisor, order = supervisor_and_held_order
    before = snapshot()
    response = send(supervisor, method, path.replace("{number}", order.number), body, **headers)
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid_input"
    assert snapshot() == before


@pytest.mark.parametrize(("method", "path", "headers"), BODY_OPERATIONS)
def test_a_json_object_with_a_refused_field_is_422_naming_the_order_and_the_field(
    supervisor_and_held_order, method, path, headers
):
    supervisor, order = supervisor_and_held_order
    before = snapshot()
    response = send(supervisor, method, path.replace("{number}", order.number), UNKNOWN_FIELD, **headers)
    assert response.status_code == 422, response.json()
    problem = response.json()
    assert problem["code"] == "invalid_input"
    assert {"field": "colour", "message": "This field is not accepted here."} in problem["errors"]
    if "{number}" in path:
        assert problem["order"] == order.number and f"#{order.number}" in problem["detail"]
    assert snapshot() == before


@pytest.mark.parametrize(
    "query",
    [
        {"status": "nope"},
        {"created_after": "yesterday"},
        {"updated_after": ""},
        {"held": "all"},
        {"page_size": "ten"},
        {"page_size": "0"},
    ],
)
def test_a_filter_the_list_does_not_take_is_400_naming_it(operator, query):
    response = client_for(operator).get("/api/v1/orders/", query)
    assert response.status_code == 400 and response.json()["code"] == "invalid_input"
    assert [error["field"] for error in response.json()["errors"]] == list(query)


@pytest.fixture
def store(roles):
    """The store's integration user: it may ingest orders."""
    user = UserFactory(username="store", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_order", "view_order"], content_type__app_label="orders")
    )
    return user


@pytest.mark.parametrize(("method", "path"), [("POST", "/api/v1/orders/"), ("PUT", "/api/v1/orders/S-8")])
@pytest.mark.parametrize(
    ("body", "status"),
    [(MALFORMED, 400), (NOT_AN_OBJECT, 400), (UNKNOWN_FIELD, 422)],
    ids=["malformed", "list", "unknown"],
)
def test_the_ingest_tells_no_json_object_400_from_a_refused_field_422(store, method, path, body, status):
    before = snapshot()
    response = send(store, method, path, body)
    assert response.status_code == status, response.json()
    assert response.json()["code"] == "invalid_input"
    assert snapshot() == before


def test_ingest_names_a_line_with_a_nul_as_the_import_does_counted_from_1(store):
    body = {
        "status": "pending",
        "customer_name": "Mila",
        "lines": [
            {"sku": "A", "name": "Mug", "qty": 1, "unit_price": "1.00"},
            {"sku": "B\x00", "name": "Tea", "qty": 1, "unit_price": "1.00"},
        ],
    }
    response = client_for(store).put("/api/v1/orders/S-9", body, format="json")
    assert response.status_code == 422
    assert [error["field"] for error in response.json()["errors"]] == ["lines[2].sku"]
    assert not Order.objects.filter(number="S-9").exists()


def test_the_schema_says_lines_are_counted_from_1_and_which_status_is_which(operator):
    schema = client_for(operator).get("/api/v1/schema/?format=json").json()
    field = schema["components"]["schemas"]["FieldError"]["properties"]["field"]["description"]
    assert "lines[2].qty" in field and "counted from 1" in field
    patch = schema["paths"]["/api/v1/orders/{number}/"]["patch"]["responses"]
    assert "not a JSON object" in patch["400"]["description"]
    assert "counted from 1" in patch["422"]["description"]
    assert patch["422"]["content"]["application/problem+json"]["schema"]["$ref"].endswith("/Problem")
