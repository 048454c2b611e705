"""Notifications: every kind is written by the change it reports, in its transaction, never to the person who
acted; bulk changes write them set-based; the console's bell, list, read buttons and email settings."""

import json
from datetime import timedelta
from functools import partial
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from live.models import Notification, NotificationPreference, OutboxMessage
from live.notifications import mentioned_usernames
from live.wording import notification_sentence
from operators.models import Assignment
from operators.services import (
    holds_expire,
    holds_release,
    orders_assign,
    orders_release,
    orders_take_over,
    orders_transfer,
)
from orderops.events import domain_event_in_transaction
from orders.models import Order
from orders.services import order_comment_add, order_update, orders_status_set
from tests.factories import OperatorFactory, OrderFactory, UserFactory

Kind = Notification.Kind
NOTIFICATIONS = reverse("live:notifications")
UNREAD = reverse("live:notifications_unread")
READ_ALL = reverse("live:notifications_read_all")
SETTINGS = reverse("live:notification_settings")
NOTIFICATIONS_PAGE_QUERIES = 7


def notes(**filters) -> list[tuple]:
    """Notifications as (recipient, kind, order, actor, detail), oldest first."""
    return list(
        Notification.objects.filter(**filters)
        .order_by("id")
        .values_list("recipient__username", "kind", "order__number", "actor__username", "detail")
    )


def held_by(user, count: int = 1) -> list[Order]:
    orders = OrderFactory.create_batch(count)
    orders_assign(actor=user, order_ids=[order.pk for order in orders])
    return orders


# --- every kind -------------------------------------------------------------------------------------------


def test_a_take_over_tells_the_displaced_holder_who_took_it_and_why(operator, supervisor):
    (order,) = held_by(operator)
    orders_take_over(actor=supervisor, order_ids=[order.pk], reason="customer called twice")
    assert notes() == [("anna", Kind.TAKEN_OVER, order.number, "boss", "customer called twice")]


def test_a_transfer_tells_the_previous_holder_and_the_new_one(operator, other_operator, supervisor):
    (order,) = held_by(operator)
    orders_transfer(actor=supervisor, order_ids=[order.pk], operator=other_operator, reason="Ivan knows it")
    assert notes() == [
        ("anna", Kind.TRANSFERRED, order.number, "boss", "Ivan knows it"),
        ("ivan", Kind.ASSIGNED, order.number, "boss", "Ivan knows it"),
    ]
    assert Notification.objects.get(kind=Kind.TRANSFERRED).holder == other_operator


def test_an_order_assigned_by_someone_else_tells_the_new_holder(operator, supervisor):
    order = OrderFactory()
    orders_assign(actor=supervisor, order_ids=[order.pk], operator=operator)
    assert notes() == [("anna", Kind.ASSIGNED, order.number, "boss", "")]


def test_a_supervisors_release_tells_the_holder_who_ended_it_and_why_by_bell_and_email(operator, supervisor):
    (order,) = held_by(operator)
    orders_release(actor=supervisor, order_ids=[order.pk], reason="the customer cancelled by phone")
    assert notes() == [("anna", Kind.RELEASED, order.number, "boss", "the customer cancelled by phone")]
    note = Notification.objects.get()
    assert notification_sentence(note) == f"Boris released your hold on #{order.number}"
    # Emailed by default, as a take-over is: the hold ended without the holder's doing.
    assert list(OutboxMessage.objects.values_list("notification_id", "to_address")) == [
        (note.pk, "anna@orderops.test")
    ]


def test_whoever_assigned_a_hold_tells_its_holder_when_they_release_it(operator, supervisor):
    order = OrderFactory()
    orders_assign(actor=supervisor, order_ids=[order.pk], operator=operator)
    Notification.objects.all().delete()
    orders_release(actor=supervisor, order_ids=[order.pk], reason="I gave you the wrong one")
    assert notes() == [("anna", Kind.RELEASED, order.number, "boss", "I gave you the wrong one")]


def test_a_release_by_the_system_or_by_the_holder_notifies_nobody(operator):
    orders = held_by(operator, 2)
    holds_release(order_ids=[orders[0].pk], reason="released by release_orders")
    orders_release(actor=operator, order_ids=[orders[1].pk])
    assert notes() == []


def test_a_bulk_release_of_colleagues_holds_notifies_each_holder_with_the_same_statements_for_any_size(
    operator, other_operator, supervisor
):
    counts = []
    for size in (4, 40):
        orders = OrderFactory.create_batch(size)
        ids = [order.pk for order in orders]
        orders_assign(actor=operator, order_ids=ids[: size // 2])
        orders_assign(actor=other_operator, order_ids=ids[size // 2 :])
        actor = type(supervisor).objects.get(pk=supervisor.pk)  # no cached permissions
        counts.append(statements(partial(orders_release, actor=actor, order_ids=ids, reason="end of shift")))
        released = Notification.objects.filter(kind=Kind.RELEASED, order_id__in=ids)
        assert sorted(released.values_list("recipient__username", flat=True)) == sorted(
            ["anna"] * (size // 2) + ["ivan"] * (size - size // 2)
        )
    assert counts[0] == counts[1]


def test_an_expired_hold_tells_its_holder(operator):
    (order,) = held_by(operator)
    Assignment.objects.update(last_activity_at=timezone.now() - timedelta(hours=3))
    holds_expire(idle=timedelta(hours=1))
    ((recipient, kind, number, actor, detail),) = notes()
    assert (recipient, kind, number, actor) == ("anna", Kind.EXPIRED, order.number, None)
    assert "idle for more than" in detail


def test_a_supervisor_edit_of_a_held_order_tells_the_holder_what_changed(operator, supervisor):
    (order,) = held_by(operator)
    order_update(actor=supervisor, order_id=order.pk, version=1, changes={"customer_name": "Elena Petrova"})
    order_update(
        actor=supervisor,
        order_id=order.pk,
        version=2,
        changes={"shipping_city": "Varna", "status": "on_hold"},
    )
    assert notes() == [
        ("anna", Kind.CHANGED, order.number, "boss", "customer name"),
        ("anna", Kind.CHANGED, order.number, "boss", "city; status now: On hold"),
    ]


def test_a_status_change_that_ends_the_hold_still_tells_the_holder_the_new_status(operator, supervisor):
    (order,) = held_by(operator)
    orders_status_set(actor=supervisor, order_ids=[order.pk], status_code="complete")
    assert not Assignment.objects.exists()  # auto-released
    ((recipient, kind, number, actor, detail),) = notes()
    assert (recipient, kind, number, actor) == ("anna", Kind.CHANGED, order.number, "boss")
    assert detail == "status now: Complete"


def test_an_import_that_changes_a_held_order_tells_the_holder(operator, tmp_path):
    (order,) = held_by(operator)
    path = tmp_path / "orders.jsonl"
    record = {
        "number": order.number,
        "status": "pending",
        "customer_name": "Imported Name",
        "lines": [{"sku": "TEA-1", "name": "Tea", "qty": 2, "unit_price": "6.90"}],
    }
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    call_command("import_orders", str(path), stdout=StringIO(), stderr=StringIO())
    ((recipient, kind, number, actor, detail),) = notes()
    assert (recipient, kind, number, actor) == ("anna", Kind.CHANGED, order.number, None)
    assert "customer name" in detail and "by an import" in detail


def test_a_mention_tells_the_named_colleague(operator, other_operator):
    order = OrderFactory()
    order_comment_add(actor=operator, order_id=order.pk, body="@ivan can you call the customer?")
    assert notes() == [("ivan", Kind.MENTIONED, order.number, "anna", "@ivan can you call the customer?")]


def test_mentions_skip_unknown_names_addresses_people_who_may_not_see_orders_and_the_author(
    operator, other_operator, staff_without_role, inactive_operator
):
    order = OrderFactory()
    order_comment_add(
        actor=operator,
        order_id=order.pk,
        body="@anna @nobody @gone @ghost mail ivan@example.com, then @ivan.",
    )
    assert [row[0] for row in notes()] == ["ivan"]


def test_mentioned_usernames_are_found_once_in_order_without_trailing_punctuation():
    assert mentioned_usernames("@ivan, @maria.k and @ivan again; a@b.c is mail. (@x_y)") == [
        "ivan",
        "maria.k",
        "x_y",
    ]


# --- never one's own action -------------------------------------------------------------------------------


def test_nobody_is_notified_of_their_own_actions(operator, supervisor):
    orders = held_by(operator, 2)  # taken by herself
    order_update(actor=operator, order_id=orders[0].pk, version=1, changes={"customer_name": "Own edit"})
    orders_status_set(actor=operator, order_ids=[orders[0].pk], status_code="processing")
    order_comment_add(actor=operator, order_id=orders[0].pk, body="@anna note to self")
    orders_release(actor=operator, order_ids=[orders[1].pk])
    orders_take_over(actor=supervisor, order_ids=[orders[1].pk], reason="free one")  # free: simply taken
    orders_transfer(actor=supervisor, order_ids=[orders[1].pk], operator=supervisor)  # already his
    assert notes() == []


# --- in the change's transaction --------------------------------------------------------------------------


def test_a_rolled_back_change_notifies_nobody(operator, supervisor):
    (order,) = held_by(operator)
    with pytest.raises(RuntimeError), transaction.atomic():
        orders_take_over(actor=supervisor, order_ids=[order.pk], reason="rush")
        assert Notification.objects.count() == 1  # written with the change...
        raise RuntimeError("the request failed after the take-over")
    assert notes() == []  # ...and gone with it
    assert not OutboxMessage.objects.exists()


def test_a_failing_notification_undoes_the_change_it_reports(operator, supervisor):
    (order,) = held_by(operator)

    def broken(sender, event, **kwargs):
        raise ValueError("notification bug")

    domain_event_in_transaction.connect(broken, dispatch_uid="tests.broken")
    try:
        with pytest.raises(ValueError):
            orders_take_over(actor=supervisor, order_ids=[order.pk], reason="rush")
    finally:
        domain_event_in_transaction.disconnect(dispatch_uid="tests.broken")
    assert Assignment.objects.get(order=order).operator == operator


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_rolled_back_take_over_leaves_no_notification_or_email(roles):
    holder = OperatorFactory(username="anna", first_name="Anna")
    supervisor = UserFactory(username="boss", is_staff=True, is_superuser=True)
    (order,) = held_by(holder)
    with pytest.raises(RuntimeError), transaction.atomic():
        orders_take_over(actor=supervisor, order_ids=[order.pk], reason="rush")
        raise RuntimeError("rolled back")
    assert not Notification.objects.exists() and not OutboxMessage.objects.exists()
    orders_take_over(actor=supervisor, order_ids=[order.pk], reason="rush")  # committed this time
    assert notes() == [("anna", Kind.TAKEN_OVER, order.number, "boss", "rush")]
    assert OutboxMessage.objects.filter(to_address="anna@orderops.test").count() == 1


# --- set-based ------------------------------------------------------------------------------------------


def statements(call) -> int:
    with CaptureQueriesContext(connection) as queries:
        call()
    return len(queries)


# A hold change that notifies someone adds two statements (the notifications from the log rows just written,
# their emails); an order change adds one (the holders' notifications) and a second only when it wrote any.
# The write-back to the stores (stores.writeback) adds none for orders from no store: the log rows' insert
# read their stores. On PostgreSQL the free orders' holds and their log rows are one statement.
NOTIFYING_TAKE_OVER_STATEMENTS = {"postgresql": 13, "sqlite": 14}


@pytest.mark.parametrize("size", [10, 500])
def test_a_bulk_take_over_notifies_every_displaced_holder_with_the_same_statements_for_any_size(
    operator, other_operator, supervisor, size
):
    orders = OrderFactory.create_batch(size)
    ids = [order.pk for order in orders]
    # Two holders, and one order in ten free (simply taken), as in the pinned take-over count.
    anna, ivan, free = ids[: size * 9 // 20], ids[size * 9 // 20 : size * 9 // 10], ids[size * 9 // 10 :]
    orders_assign(actor=operator, order_ids=anna)
    orders_assign(actor=other_operator, order_ids=ivan)
    NotificationPreference.objects.create(user=other_operator, kind=Kind.TAKEN_OVER, email=False)
    actor = type(supervisor).objects.get(pk=supervisor.pk)  # no cached permissions

    count = statements(lambda: orders_take_over(actor=actor, order_ids=ids, reason="end of shift"))

    assert count == NOTIFYING_TAKE_OVER_STATEMENTS[connection.vendor]
    assert Assignment.objects.filter(operator=supervisor).count() == size
    assert Notification.objects.filter(kind=Kind.TAKEN_OVER, actor=supervisor).count() == len(anna + ivan)
    assert set(Notification.objects.values_list("recipient__username", flat=True)) == {"anna", "ivan"}
    assert not Notification.objects.filter(order_id__in=free).exists()
    # Anna keeps the default (email for take-overs); Ivan said no.
    assert OutboxMessage.objects.count() == len(anna)
    assert set(OutboxMessage.objects.values_list("to_address", flat=True)) == {"anna@orderops.test"}


# --- emails queued by preference --------------------------------------------------------------------------


def test_emails_are_queued_by_preference_else_by_the_default_and_only_to_an_address(
    operator, other_operator, supervisor, settings
):
    settings.ORDEROPS = {"NOTIFICATION_EMAIL_KINDS": ["taken_over"]}
    NotificationPreference.objects.create(user=operator, kind=Kind.MENTIONED, email=True)
    no_address = OperatorFactory(username="maria", email="")
    NotificationPreference.objects.create(user=no_address, kind=Kind.MENTIONED, email=True)
    order = OrderFactory()
    order_comment_add(actor=supervisor, order_id=order.pk, body="@anna @ivan @maria look")
    assert Notification.objects.count() == 3
    assert list(OutboxMessage.objects.values_list("to_address", "status", "attempts")) == [
        ("anna@orderops.test", "pending", 0)
    ]


# --- the console --------------------------------------------------------------------------------------


def test_the_bell_count_is_one_query_after_the_session_and_user(
    client, operator, supervisor, django_assert_num_queries
):
    orders = held_by(operator, 3)
    orders_take_over(actor=supervisor, order_ids=[order.pk for order in orders], reason="rush")
    client.force_login(operator)
    with django_assert_num_queries(3):  # the session, the user, the count
        response = client.get(UNREAD)
    assert response.json() == {"unread": 3}
    assert "no-store" in response["Cache-Control"]


def test_the_console_header_has_the_bell_linking_to_the_notifications(client, operator):
    client.force_login(operator)
    page = client.get(reverse("admin:orders_order_changelist")).content.decode()
    assert 'id="notification-bell"' in page
    assert f'href="{NOTIFICATIONS}"' in page and f'data-unread-url="{UNREAD}"' in page
    assert "console/live.js" in page and f'data-url="{reverse("live:sync")}"' in page


def test_the_notifications_page_lists_mine_newest_first_with_links_to_the_orders(
    client, operator, other_operator, supervisor
):
    first, second = held_by(operator, 2)
    orders_take_over(actor=supervisor, order_ids=[first.pk], reason="first reason")
    orders_take_over(actor=supervisor, order_ids=[second.pk], reason="second <b>reason</b>")
    order_comment_add(actor=supervisor, order_id=first.pk, body="@ivan not for Anna")
    client.force_login(operator)
    page = client.get(NOTIFICATIONS).content.decode()
    assert page.index("second &lt;b&gt;reason&lt;/b&gt;") < page.index("first reason")
    change = reverse("admin:orders_order_change", args=[second.pk])
    assert f'<a href="{change}">#{second.number}</a>' in page
    assert "Boris took over" in page and "2 unread" in page and "just now" in page
    assert "not for Anna" not in page


def test_the_notifications_page_is_paginated(client, operator, supervisor):
    orders = held_by(operator, 55)
    orders_take_over(actor=supervisor, order_ids=[order.pk for order in orders], reason="rush")
    client.force_login(operator)
    first = client.get(NOTIFICATIONS).content.decode()
    second = client.get(NOTIFICATIONS + "?page=2").content.decode()
    assert first.count('data-testid="notification"') == 50
    assert second.count('data-testid="notification"') == 5
    assert "Page 2 of 2" in second


def test_mark_one_and_all_as_read(client, operator, supervisor):
    orders = held_by(operator, 3)
    orders_take_over(actor=supervisor, order_ids=[order.pk for order in orders], reason="rush")
    client.force_login(operator)
    one = Notification.objects.order_by("id").first()
    response = client.post(reverse("live:notification_read", args=[one.pk]))
    assert response.status_code == 302 and response["Location"] == NOTIFICATIONS
    assert client.get(UNREAD).json() == {"unread": 2}
    client.post(READ_ALL, {"next": NOTIFICATIONS + "?page=1"})
    assert client.get(UNREAD).json() == {"unread": 0}
    assert not Notification.objects.filter(read_at__isnull=True).exists()


def test_nobody_marks_anothers_notification_as_read(client, operator, other_operator, supervisor):
    (order,) = held_by(operator)
    orders_take_over(actor=supervisor, order_ids=[order.pk], reason="rush")
    client.force_login(other_operator)
    notification = Notification.objects.get()
    assert client.post(reverse("live:notification_read", args=[notification.pk])).status_code == 404
    client.post(READ_ALL)
    assert Notification.objects.get().read_at is None


def test_a_get_on_a_read_button_changes_nothing_and_explains(client, operator, supervisor):
    (order,) = held_by(operator)
    orders_take_over(actor=supervisor, order_ids=[order.pk], reason="rush")
    client.force_login(operator)
    for url in (READ_ALL, reverse("live:notification_read", args=[Notification.objects.get().pk])):
        response = client.get(url)
        assert response.status_code == 405 and response["Allow"] == "POST"
        assert "only works from the notifications page" in response.content.decode()
    assert Notification.objects.get().read_at is None


def test_the_read_buttons_need_the_csrf_token(operator, supervisor):
    from django.test import Client

    (order,) = held_by(operator)
    orders_take_over(actor=supervisor, order_ids=[order.pk], reason="rush")
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator)
    assert client.post(READ_ALL).status_code == 403
    assert Notification.objects.get().read_at is None


def test_email_settings_save_a_choice_per_kind_and_say_the_take_over_always_shows(client, operator):
    client.force_login(operator)
    page = client.get(SETTINGS).content.decode()
    assert 'value="taken_over" checked' in page  # the default
    assert "Always shown in the console" in page
    client.post(SETTINGS, {"email": ["mentioned", "expired"]})
    assert dict(NotificationPreference.objects.filter(user=operator).values_list("kind", "email")) == {
        kind: kind in {"mentioned", "expired"} for kind in Kind.values
    }
    assert client.post(SETTINGS, {"email": ["bogus"]}).status_code == 302
    assert NotificationPreference.objects.get(user=operator, kind="mentioned").email is True


def test_the_notifications_page_links_to_the_email_settings(client, operator):
    client.force_login(operator)
    assert f'href="{SETTINGS}"' in client.get(NOTIFICATIONS).content.decode()


# --- settings -------------------------------------------------------------------------------------------


def test_the_system_check_rejects_unknown_kinds_and_bad_outbox_values(db, settings):
    from django.core.checks import run_checks

    settings.ORDEROPS = {
        "NOTIFICATION_EMAIL_KINDS": ["taken_over", "birthday"],
        "OUTBOX_MAX_ATTEMPTS": 0,
        "NOTIFICATION_SITE_URL": "orders.example.com",
    }
    messages = [str(error.msg) for error in run_checks(tags=["orderops"])]
    assert any("birthday" in message for message in messages)
    assert any("OUTBOX_MAX_ATTEMPTS" in message for message in messages)
    assert any("NOTIFICATION_SITE_URL" in message for message in messages)


def test_the_docs_describe_notifications_and_the_command():
    repo = Path(__file__).resolve().parents[2]
    assert "## Notifications" in (repo / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert "send_notifications" in (repo / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("count", [3, 50])
def test_the_notifications_page_costs_the_same_queries_for_any_number_of_rows(
    client, operator, supervisor, count, django_assert_max_num_queries
):
    orders = held_by(operator, count)
    orders_take_over(actor=supervisor, order_ids=[order.pk for order in orders], reason="rush")
    client.force_login(operator)
    client.get(NOTIFICATIONS)
    # The session, the user, the page's count, its rows (with their orders and people), the unread count,
    # the navigation's permissions (two).
    with django_assert_max_num_queries(NOTIFICATIONS_PAGE_QUERIES):
        response = client.get(NOTIFICATIONS)
    assert response.content.decode().count('data-testid="notification"') == count
