"""Status changes, comments, the timeline, statuses, workload, the schema and its docs page."""

import re

import pytest
from django.contrib.auth.models import Permission

from operators.models import Assignment
from operators.services import orders_assign
from orders.models import Order, OrderComment
from orders.services import order_update
from tests.api.conftest import client_for
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def test_the_holder_completes_an_order_and_its_hold_ends(operator):
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    response = client_for(operator).post(
        f"/api/v1/orders/{order.number}/status", {"status": "complete"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["status"] == "complete" and response.json()["hold"] is None
    assert not Assignment.objects.filter(order=order).exists()


def test_a_status_change_by_a_non_holder_is_409_and_an_unknown_status_422(operator, other_operator):
    order = OrderFactory()
    orders_assign(actor=other_operator, order_ids=[order.pk])
    api = client_for(operator)
    refused = api.post(f"/api/v1/orders/{order.number}/status", {"status": "complete"}, format="json")
    assert (
        refused.status_code == 409
        and refused.json()["code"] == "held_by"
        and refused.json()["holder"] == "ivan"
    )
    assert refused.json()["order"] == order.number and refused.json()["since"]
    unknown = client_for(other_operator).post(
        f"/api/v1/orders/{order.number}/status", {"status": "x"}, format="json"
    )
    assert unknown.status_code == 422 and unknown.json()["code"] == "invalid_input"
    assert Order.objects.get(pk=order.pk).status_id == "pending"


def test_anyone_comments_on_a_held_order_and_reads_the_comments(operator, other_operator):
    order = OrderFactory()
    orders_assign(actor=other_operator, order_ids=[order.pk])
    api = client_for(operator)
    response = api.post(
        f"/api/v1/orders/{order.number}/comments/", {"body": "Called the customer"}, format="json"
    )
    assert response.status_code == 201 and response.json()["author"] == "anna"
    listed = api.get(f"/api/v1/orders/{order.number}/comments/").json()
    assert [item["body"] for item in listed] == ["Called the customer"]


@pytest.mark.parametrize(("body", "code"), [("   ", "invalid_input"), ("x" * 100_000, "too_long")])
def test_an_empty_or_huge_comment_is_refused(operator, body, code):
    order = OrderFactory()
    response = client_for(operator).post(
        f"/api/v1/orders/{order.number}/comments/", {"body": body}, format="json"
    )
    assert response.status_code == 422 and response.json()["code"] == code
    assert not OrderComment.objects.exists()


def test_the_timeline_has_comments_hold_changes_and_field_changes_oldest_first(operator):
    order = OrderFactory(shipping_city="Sofia")
    api = client_for(operator)
    api.put(f"/api/v1/orders/{order.number}/hold", format="json")
    order_update(actor=operator, order_id=order.pk, version=1, changes={"shipping_city": "Varna"})
    api.post(f"/api/v1/orders/{order.number}/comments/", {"body": "done"}, format="json")
    entries = api.get(f"/api/v1/orders/{order.number}/timeline/").json()
    assert [entry["kind"] for entry in entries] == ["hold", "change", "comment"]
    assert entries[0]["action"] == "assigned" and entries[0]["operator"] == "anna"
    assert entries[1]["changes"] == [{"field": "shipping_city", "old": "Sofia", "new": "Varna"}]
    assert entries[1]["version"] == 2 and entries[2]["body"] == "done"


def test_statuses_and_workload(operator, other_operator):
    orders_assign(actor=other_operator, order_ids=[OrderFactory().pk])
    api = client_for(operator)
    statuses = api.get("/api/v1/statuses/").json()
    assert any(item["code"] == "complete" and item["releases_assignment"] for item in statuses)
    workload = api.get("/api/v1/workload/").json()
    loads = {item["operator"]: item for item in workload["operators"]}
    assert loads["ivan"]["held"] == 1 and loads["ivan"]["taken_today"] == 1 and loads["anna"]["held"] == 0
    assert any(item["status"] == "pending" for item in workload["unassigned"])


def test_the_schema_is_openapi_3_1_and_names_every_path(operator):
    schema = client_for(operator).get("/api/v1/schema/?format=json").json()
    assert schema["openapi"] == "3.1.0"
    for path in [
        "/api/v1/orders/",
        "/api/v1/orders/{number}/",
        "/api/v1/orders/{number}",
        "/api/v1/orders/{number}/hold",
        "/api/v1/orders/{number}/hold/take-over",
        "/api/v1/orders/{number}/status",
        "/api/v1/orders/{number}/comments/",
        "/api/v1/orders/{number}/timeline/",
        "/api/v1/holds/batch",
        "/api/v1/holds/claim-next",
        "/api/v1/statuses/",
        "/api/v1/workload/",
    ]:
        assert path in schema["paths"], path
    assert schema["components"]["securitySchemes"]["apiKey"]["scheme"] == "bearer"


def test_the_docs_page_loads_every_asset_from_our_static_files(client, operator):
    client.force_login(operator)
    page = client.get("/api/v1/docs/")
    assert page.status_code == 200
    html = page.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    # Nothing from another site: Swagger UI from our static files, its start-up script from the docs view
    # itself (drf-spectacular's split view: no inline script for the Content-Security-Policy to allow).
    ours = [asset for asset in assets if asset.startswith("/static/") or asset == "/api/v1/docs/?script="]
    assert assets and ours == assets, assets
    assert "/api/v1/docs/?script=" in assets
    assert any("favicon" in asset for asset in assets)


def test_ingest_needs_orders_add_order(operator):
    response = client_for(operator).post(
        "/api/v1/orders/", {"number": "X1", "status": "pending", "customer_name": "A"}, format="json"
    )
    assert response.status_code == 403 and response.json()["code"] == "not_allowed"
    assert not Order.objects.filter(number="X1").exists()


@pytest.fixture
def store(roles):
    from tests.factories import UserFactory

    user = UserFactory(username="store", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_order", "view_order"], content_type__app_label="orders")
    )
    return user


def test_ingest_creates_an_order_with_its_lines(store):
    body = {
        "number": "S-1",
        "status": "pending",
        "customer_name": "Mila",
        "lines": [{"sku": "A", "name": "Mug", "qty": 2, "unit_price": "4.50"}],
    }
    response = client_for(store).post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["grand_total"] == "9.00" and response.json()["lines"][0]["sku"] == "A"
    assert response["Location"] == "/api/v1/orders/S-1/"
    again = client_for(store).post("/api/v1/orders/", body, format="json")
    assert again.status_code == 409 and again.json()["code"] == "already_exists"


def test_ingest_refuses_what_the_import_refuses(store):
    response = client_for(store).post(
        "/api/v1/orders/",
        {"number": "S-2", "status": "nope", "customer_name": "x" * 100_000, "colour": "red"},
        format="json",
    )
    assert response.status_code == 422
    fields = {problem["field"] for problem in response.json()["errors"]}
    assert {"status", "customer_name", "colour"} <= fields
    assert not Order.objects.filter(number="S-2").exists()


def test_a_store_update_to_a_held_order_lands_recorded_and_sent_after_commit(
    store, operator, django_capture_on_commit_callbacks
):
    from orderops.events import domain_event

    order = OrderFactory(number="S-3", customer_name="Old")
    orders_assign(actor=operator, order_ids=[order.pk])
    events = []

    def receiver(sender, event, **kwargs):
        events.append(event)

    domain_event.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(store).put(
                "/api/v1/orders/S-3", {"status": "pending", "customer_name": "New"}, format="json"
            )
    finally:
        domain_event.disconnect(receiver)
    assert response.status_code == 200, response.json()
    saved = Order.objects.get(pk=order.pk)
    assert saved.customer_name == "New" and saved.version == 2
    assert saved.changes.filter(field="customer_name", new_value="New", actor=None).exists()
    assert any(getattr(event, "fields", ()) and "customer_name" in event.fields for event in events)
    assert Assignment.objects.filter(order=order, operator=operator).exists()
    created = client_for(store).put(
        "/api/v1/orders/S-4", {"status": "pending", "customer_name": "N"}, format="json"
    )
    assert created.status_code == 201
    mismatch = client_for(store).put(
        "/api/v1/orders/S-5", {"number": "S-6", "status": "pending", "customer_name": "N"}, format="json"
    )
    assert mismatch.status_code == 422
