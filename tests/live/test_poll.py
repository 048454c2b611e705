"""The poll: nothing (304) while nothing changed, in pinned queries; the changed rows and the order page's
new banner, timeline and sentences after a take, release, take-over, edit, status change or comment."""

import re

import pytest
from django.urls import reverse

from live.changes import order_token
from live.presence import presence_heartbeat
from operators.services import orders_assign, orders_release, orders_take_over
from orders.services import order_comment_add, order_update, orders_status_set
from tests.factories import OrderFactory

POLL = reverse("live:poll")


@pytest.fixture
def orders(db):
    return OrderFactory.create_batch(3)


def change_page(client, order):
    return client.get(reverse("admin:orders_order_change", args=[order.pk])).content.decode()


def page_config(html: str) -> dict[str, str]:
    element = re.search(r'<div id="live-config"[^>]*>', html).group(0)
    return dict(re.findall(r'data-([a-z-]+)="([^"]*)"', element))


def poll_order(client, order, config):
    return client.get(POLL, {"order": order.pk, "version": config["version"], "token": config["token"]})


def poll_list(client, tokens: dict[int, str]):
    return client.get(POLL, {"orders": ",".join(f"{pk}.{token}" for pk, token in tokens.items())})


# --- the order page -----------------------------------------------------------------------------------------


def test_the_order_page_renders_the_token_the_poll_compares_with(client, operator, orders):
    order = orders[0]
    orders_assign(actor=operator, order_ids=[order.pk])
    order_comment_add(actor=operator, order_id=order.pk, body="called the customer")
    client.force_login(operator)
    config = page_config(change_page(client, order))
    assert config["token"] == order_token(order.pk) == f"{order.version}.1.1"
    assert poll_order(client, order, config).status_code == 304


def test_an_unchanged_order_page_polls_in_one_indexed_query(
    client, operator, orders, django_assert_num_queries
):
    order = orders[0]
    client.force_login(operator)
    config = page_config(change_page(client, order))
    # session, user, the user's permissions (2), the token statement
    with django_assert_num_queries(5):
        response = poll_order(client, order, config)
    assert response.status_code == 304 and response.content == b""


def test_a_take_over_shows_on_the_displaced_holders_page_with_who_and_why(
    client, operator, supervisor, orders, django_assert_max_num_queries
):
    order = orders[0]
    orders_assign(actor=operator, order_ids=[order.pk])
    client.force_login(operator)
    config = page_config(change_page(client, order))
    orders_take_over(actor=supervisor, order_ids=[order.pk], reason="customer called twice")
    with django_assert_max_num_queries(16):
        update = poll_order(client, order, config).json()
    assert update["notice"] == f"Boris took over #{order.number} from you: customer called twice"
    assert update["editable"] is False
    assert "Only Boris or a supervisor can change this order" in update["read_only_reason"]
    assert "Assigned to Boris" in update["banner"] and 'id="hold-banner"' in update["banner"]
    assert "took the order over from Anna" in update["timeline"]
    assert update["changed"] == ""
    assert update["token"] == order_token(order.pk)


def test_ones_own_edit_in_another_tab_is_said_in_the_second_person(client, operator, supervisor, orders):
    order = orders[0]
    orders_assign(actor=operator, order_ids=[order.pk])
    client.force_login(operator)
    config = page_config(change_page(client, order))
    order.refresh_from_db()
    # Anna saves the phone from another tab: this tab hears it from her, as "you".
    order_update(
        actor=operator, order_id=order.pk, version=order.version, changes={"customer_phone": "+359 2 1"}
    )
    own = poll_order(client, order, config).json()["changed"]
    assert own.startswith(f"You changed customer phone on #{order.number} just now in another tab.")
    assert "Anna" not in own
    # Then Boris changes the city too: both are named, Anna as "you".
    order.refresh_from_db()
    order_update(
        actor=supervisor, order_id=order.pk, version=order.version, changes={"shipping_city": "Plovdiv"}
    )
    both = poll_order(client, order, config).json()["changed"]
    assert both.startswith("Boris and you (in another tab) changed ")
    assert "customer phone" in both and "city" in both and "Anna" not in both


def test_an_edit_by_someone_else_disables_save_and_says_who_changed_what(
    client, operator, supervisor, orders
):
    order = orders[0]
    orders_assign(actor=operator, order_ids=[order.pk])
    client.force_login(operator)
    config = page_config(change_page(client, order))
    order.refresh_from_db()
    order_update(
        actor=supervisor, order_id=order.pk, version=order.version, changes={"shipping_city": "Plovdiv"}
    )
    update = poll_order(client, order, config).json()
    assert update["changed"].startswith(f"Boris changed city on #{order.number} just now.")
    assert update["version"] == order.version + 1
    # Still Anna's hold: she may edit once she reloaded.
    assert update["editable"] is True and update["notice"] == ""


def test_a_status_change_moves_the_token_and_the_banner(client, operator, supervisor, orders):
    order = orders[0]
    orders_assign(actor=operator, order_ids=[order.pk])
    client.force_login(operator)
    config = page_config(change_page(client, order))
    orders_status_set(actor=supervisor, order_ids=[order.pk], status_code="complete")
    update = poll_order(client, order, config).json()
    assert "Not assigned" in update["banner"]
    assert "status" in update["changed"]
    assert update["notice"] == f"Your hold on #{order.number} ended: auto-released."


def test_a_colleagues_comment_refreshes_the_timeline(client, operator, other_operator, orders):
    order = orders[0]
    client.force_login(operator)
    config = page_config(change_page(client, order))
    order_comment_add(actor=other_operator, order_id=order.pk, body="parcel is at the depot")
    update = poll_order(client, order, config).json()
    assert "parcel is at the depot" in update["timeline"]
    assert update["changed"] == "" and update["notice"] == ""


def test_my_own_release_is_no_notice(client, operator, orders):
    order = orders[0]
    orders_assign(actor=operator, order_ids=[order.pk])
    client.force_login(operator)
    config = page_config(change_page(client, order))
    orders_release(actor=operator, order_ids=[order.pk])
    update = poll_order(client, order, config).json()
    assert update["notice"] == "" and "Not assigned" in update["banner"]


def test_the_poll_of_an_order_that_is_gone_says_so(client, operator, orders):
    client.force_login(operator)
    response = client.get(POLL, {"order": 999999, "version": 1, "token": "1.0.0"})
    assert response.status_code == 404
    assert response.json()["message"] == "Order 999999 does not exist (deleted?)."


# --- the list -----------------------------------------------------------------------------------------------


def test_the_first_list_poll_fills_every_row_and_the_next_one_says_nothing(
    client, operator, other_operator, orders, django_assert_num_queries
):
    orders_assign(actor=other_operator, order_ids=[orders[0].pk])
    client.force_login(operator)
    rows = {row["id"]: row for row in poll_list(client, {order.pk: "" for order in orders}).json()["rows"]}
    assert set(rows) == {order.pk for order in orders}
    assert "Ivan" in rows[orders[0].pk]["assigned_to"] and "holder-other" in rows[orders[0].pk]["assigned_to"]
    assert "free" in rows[orders[1].pk]["assigned_to"]
    # session, user, the user's permissions (2), the rows
    with django_assert_num_queries(5):
        response = poll_list(client, {pk: row["token"] for pk, row in rows.items()})
    assert response.status_code == 304 and response.content == b""


def test_an_unchanged_list_of_100_rows_polls_in_one_query(client, operator, django_assert_num_queries):
    many = OrderFactory.create_batch(100)
    client.force_login(operator)
    rows = poll_list(client, {order.pk: "" for order in many}).json()["rows"]
    with django_assert_num_queries(5):
        assert poll_list(client, {row["id"]: row["token"] for row in rows}).status_code == 304


@pytest.mark.parametrize("change", ["take", "release", "edit", "status", "viewer"])
def test_the_list_poll_answers_only_the_row_that_changed(
    client, operator, other_operator, supervisor, orders, change
):
    orders_assign(actor=other_operator, order_ids=[orders[1].pk])
    client.force_login(operator)
    tokens = {row["id"]: row["token"] for row in poll_list(client, {o.pk: "" for o in orders}).json()["rows"]}
    target = orders[1]
    if change == "take":
        orders_take_over(actor=supervisor, order_ids=[target.pk], reason="urgent")
    elif change == "release":
        orders_release(actor=other_operator, order_ids=[target.pk])
    elif change == "edit":
        target.refresh_from_db()
        order_update(
            actor=other_operator, order_id=target.pk, version=target.version, changes={"customer_name": "X"}
        )
    elif change == "status":
        orders_status_set(actor=other_operator, order_ids=[target.pk], status_code="processing")
    else:
        presence_heartbeat(user=supervisor, tab="t", order_id=target.pk, editing=False)
    response = poll_list(client, tokens)
    assert response.status_code == 200
    rows = response.json()["rows"]
    assert [row["id"] for row in rows] == [target.pk]
    row = rows[0]
    expected = {
        "take": ("Boris", "holder-other"),
        "release": ("free", "holder-none"),
        "edit": ("Ivan", "holder-other"),
        "status": ("Processing", "status-processing"),
        "viewer": ("Ivan", "holder-other"),
    }[change]
    assert expected[0] in row["assigned_to"] + row["status"]
    assert expected[1] in row["assigned_to"] + row["status"]
    if change == "viewer":
        assert row["viewers"] == ["Boris"] and row["viewers_text"] == "Boris viewing"


def test_my_own_presence_shows_no_eye_on_my_list(client, operator, orders):
    presence_heartbeat(user=operator, tab="t", order_id=orders[0].pk, editing=False)
    client.force_login(operator)
    rows = poll_list(client, {orders[0].pk: ""}).json()["rows"]
    assert rows[0]["viewers"] == []


def test_the_live_part_adds_no_query_to_the_list_page(
    client, operator, other_operator, orders, django_assert_max_num_queries
):
    presence_heartbeat(user=other_operator, tab="t", order_id=orders[0].pk, editing=False)
    client.force_login(operator)
    client.get(reverse("admin:orders_order_changelist"))
    # As tests/console/test_admin.py pins the list (8 on SQLite; PostgreSQL asks the planner for the count).
    with django_assert_max_num_queries(9) as captured:
        html = client.get(reverse("admin:orders_order_changelist")).content.decode()
    assert page_config(html)["mode"] == "list" and "console/live.js" in html
    assert not [query for query in captured.captured_queries if "live_" in query["sql"]]


@pytest.mark.parametrize(
    ("params", "status", "says"),
    [
        ({}, 400, "names no order"),
        ({"orders": "1.a,x.b"}, 400, "Order x: not an order id."),
        ({"orders": ",".join(f"{n}." for n in range(1, 502))}, 400, "at most 500 orders"),
        ({"order": "1"}, 400, "the version the page loaded"),
    ],
)
def test_the_poll_refuses_bad_parameters_and_says_why(client, operator, orders, params, status, says):
    client.force_login(operator)
    response = client.get(POLL, params)
    assert response.status_code == status
    assert says in response.json()["message"]


def test_the_poll_needs_a_staff_session(client, orders):
    assert client.get(POLL, {"orders": f"{orders[0].pk}."}).status_code == 403
    assert client.post(POLL, {"orders": f"{orders[0].pk}."}).status_code == 405


def test_an_import_that_changes_an_order_moves_its_row_and_its_page(client, operator, tmp_path):
    import json
    from io import StringIO

    from django.core.management import call_command

    order = OrderFactory(number="IMP-1", customer_name="Elena Petrova")
    client.force_login(operator)
    config = page_config(change_page(client, order))
    tokens = {row["id"]: row["token"] for row in poll_list(client, {order.pk: ""}).json()["rows"]}
    record = {
        "number": "IMP-1",
        "status": "processing",
        "customer_name": "Elena Petrova-Ivanova",
        "lines": [{"sku": "TEA-1", "name": "Tea", "qty": 2, "unit_price": "6.90"}],
    }
    path = tmp_path / "orders.jsonl"
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    call_command("import_orders", str(path), stdout=StringIO(), stderr=StringIO())
    rows = poll_list(client, tokens).json()["rows"]
    assert [row["id"] for row in rows] == [order.pk] and "Processing" in rows[0]["status"]
    update = poll_order(client, order, config).json()
    assert "customer name" in update["changed"] and "the system" in update["changed"]
