"""Schemathesis against the schema the app serves (/api/v1/schema/), through Django's WSGI application.

Every operation of the document, for a key of each role (operator, supervisor, superuser), on a seeded world
(orders held and free, one complete, comments): valid and invalid requests generated from the schema, a
fixed seed, a few examples per operation. Each response must be no server error and must conform to the
document: its status code listed, its content type, its body, its headers.

The path's order number is drawn mostly from the world's orders (so that holds, edits and comments reach
real orders), sometimes as schemathesis generates it (an unknown order: 404).
"""

import importlib
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import hypothesis
import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections, transaction
from django.test import override_settings
from hypothesis import strategies as st
from rest_framework.test import APIClient
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from api.keys import api_key_create
from operators.services import orders_assign, orders_release, roles_setup
from orderops.wsgi import application
from orders.models import OrderStatus
from orders.services import orders_status_set
from tests.factories import (
    OperatorFactory,
    OrderCommentFactory,
    OrderFactory,
    SupervisorFactory,
    UserFactory,
)

DEFAULT_STATUSES = importlib.import_module("orders.migrations.0002_default_statuses").DEFAULT_STATUSES

ROLES = ("operator", "supervisor", "superuser")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]
MAX_EXAMPLES = 12  # per operation and role
CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {"deterministic": True, "database": "none", "allow-x00": True},
        # A request the schema does not allow is refused (README, REST API: 400 or 422), or refused before
        # its values are read: no key (401), no permission (403), no order (404), If-Match (412, 428), the
        # body's size or type (413, 415).
        "checks": {
            "negative_data_rejection": {
                "expected-statuses": [400, 401, 403, 404, 406, 412, 413, 415, 422, 428]
            }
        },
    }
)
# Every operation of the document (a test checks that the served schema has exactly these).
OPERATIONS = [
    "GET /api/v1/orders/",
    "POST /api/v1/orders/",
    "GET /api/v1/orders/{number}/",
    "PATCH /api/v1/orders/{number}/",
    "PUT /api/v1/orders/{number}",
    "PUT /api/v1/orders/{number}/hold",
    "DELETE /api/v1/orders/{number}/hold",
    "POST /api/v1/orders/{number}/hold/take-over",
    "POST /api/v1/orders/{number}/status",
    "GET /api/v1/orders/{number}/comments/",
    "POST /api/v1/orders/{number}/comments/",
    "GET /api/v1/orders/{number}/timeline/",
    "POST /api/v1/holds/batch",
    "POST /api/v1/holds/claim-next",
    "GET /api/v1/statuses/",
    "GET /api/v1/workload/",
]


@dataclass
class World:
    numbers: list[str]  # the orders of the world
    keys: dict[str, str]  # role -> its API key


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker) -> Iterator[World]:
    """Built once, inside a transaction rolled back at the end; each role's test runs in a savepoint."""
    with django_db_blocker.unblock(), transaction.atomic():
        yield build_world()
        transaction.set_rollback(True)


def build_world() -> World:
    for code, label, position, releases in DEFAULT_STATUSES:
        OrderStatus.objects.get_or_create(
            code=code, defaults={"label": label, "position": position, "releases_assignment": releases}
        )
    roles_setup()
    users = {
        "operator": OperatorFactory(username="st-anna", first_name="Anna"),
        "supervisor": SupervisorFactory(username="st-boris", first_name="Boris"),
        "superuser": UserFactory(username="st-root", is_staff=True, is_superuser=True),
    }
    colleague = OperatorFactory(username="st-ivan", first_name="Ivan")
    mine, theirs, free, processing, complete, released = (
        OrderFactory(number=number) for number in ("700001", "700002", "700003", "700004", "700005", "700006")
    )
    orders_assign(actor=users["operator"], order_ids=[mine.pk])
    orders_assign(actor=colleague, order_ids=[theirs.pk, processing.pk, complete.pk, released.pk])
    orders_status_set(actor=colleague, order_ids=[processing.pk], status_code="processing")
    orders_status_set(actor=colleague, order_ids=[complete.pk], status_code="complete")
    orders_release(actor=colleague, order_ids=[released.pk])
    for order in (mine, theirs, complete):
        OrderCommentFactory(order=order, author=colleague, body="Called the customer")
    keys = {role: api_key_create(user=user, name="schemathesis").secret for role, user in users.items()}
    numbers = [order.number for order in (mine, theirs, free, processing, complete, released)]
    return World(numbers, keys)


@pytest.fixture(scope="module")
def served_schema(world, django_db_blocker):
    """The document /api/v1/schema/ serves (to the superuser's key), loaded once."""
    with (
        django_db_blocker.unblock(),
        wsgi_requests_in_the_test_transaction(),
        override_settings(ALLOWED_HOSTS=["localhost"]),
    ):
        return schemathesis.openapi.from_wsgi(
            "/api/v1/schema/?format=json", application, config=CONFIG, headers=bearer(world, "superuser")
        )


@contextmanager
def wsgi_requests_in_the_test_transaction() -> Iterator[None]:
    """Requests through the WSGI application (not Django's test client) would close the test's connection
    when each ends: keep it open, as the test client does."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def bearer(world: World, role: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {world.keys[role]}"}


def cases(operation, numbers: list[str]):
    """Valid and invalid requests of the operation; the path's order mostly one of the world's, and the
    edit's If-Match mostly a version the orders have."""
    modes = st.sampled_from([GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
    number = st.one_of(st.sampled_from(numbers), st.none()) if "{number}" in operation.path else st.none()
    if_match = (
        st.one_of(st.sampled_from(['"1"', '"2"', '"3"']), st.none())
        if operation.method.upper() == "PATCH"
        else st.none()
    )

    def strategy(drawn):
        mode, number, version = drawn
        return operation.as_strategy(
            generation_mode=mode,
            path_parameters={"number": number} if number else None,  # None: as schemathesis generates it
            headers={"If-Match": version} if version else None,
        )

    return st.tuples(modes, number, if_match).flatmap(strategy)


def test_the_served_schema_has_exactly_these_operations(served_schema):
    served = [result.ok().label for result in served_schema.get_all_operations()]
    assert sorted(served) == sorted(OPERATIONS)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("label", OPERATIONS)
def test_every_answer_is_no_server_error_and_conforms_to_the_served_schema(
    db, world, served_schema, settings, label, role
):
    settings.ALLOWED_HOSTS = ["localhost"]
    settings.ORDEROPS_API = {**settings.ORDEROPS_API, "THROTTLE_RATE": "100000/min"}
    operation = served_schema.find_operation_by_label(label)
    headers = bearer(world, role)

    @hypothesis.settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=list(hypothesis.HealthCheck),
        phases=[hypothesis.Phase.generate],  # no shrinking: a failure is reported as found
    )
    @hypothesis.given(case=cases(operation, world.numbers))
    def answers_as_documented(case):
        with wsgi_requests_in_the_test_transaction():
            case.call_and_validate(headers=headers, checks=CHECKS)

    answers_as_documented()


@pytest.mark.parametrize("label", [label for label in OPERATIONS if "{number}" in label])
def test_a_nul_in_the_order_number_or_an_ingested_field_is_refused_not_a_server_error(db, world, label):
    """PostgreSQL refuses a NUL in a query (a ValueError, a 500): no order has one, nothing may store one."""
    method, path = label.split(" ")
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=bearer(world, "superuser")["Authorization"])
    body = {"status": "pending", "customer_name": "Mila"} if method in ("PUT", "POST") else None
    response = client.generic(
        method, path.replace("{number}", "7000%0001"), json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 400, response.content[:300]  # orderops.errors.RefuseNulMiddleware
    assert response["Content-Type"] == "application/problem+json" and "NUL" in response.json()["detail"]
    nul_in_body = client.put(
        "/api/v1/orders/S-NUL", {"status": "pending", "customer_name": "Mi\x00la"}, format="json"
    )
    assert nul_in_body.status_code == 422
    assert nul_in_body.json()["errors"] == [
        {"field": "customer_name", "message": "NUL characters are not allowed."}
    ]


@pytest.mark.parametrize("moment", ["7259-04-02T11:55:51+22:00", "9999-12-31T23:59:59-23:59"])
def test_a_time_filter_with_any_offset_python_reads_is_answered_not_a_server_error(db, world, moment):
    """PostgreSQL refuses an offset beyond ±15:59 (a DataError, a 500): the filter compares in UTC."""
    client = APIClient(raise_request_exception=False)
    client.credentials(HTTP_AUTHORIZATION=bearer(world, "operator")["Authorization"])
    response = client.get("/api/v1/orders/", {"updated_after": moment})
    assert response.status_code in (200, 400), response.content[:300]
