"""The hold marker (Order.held) is the shadow of the holds table: every path that writes holds keeps it in
step, in the same transaction, and nothing can make the two disagree."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from operators.models import Assignment
from operators.services import (
    holds_expire,
    order_claim_next,
    orders_assign,
    orders_reassign,
    orders_release,
    orders_take_over,
)
from operators.verification import assignment_log_verify, held_marker_differences
from orders.models import Order
from orders.services import orders_status_set
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def marked_held() -> set[int]:
    return set(Order.objects.filter(held=True).values_list("pk", flat=True))


def holds() -> set[int]:
    return set(Assignment.objects.values_list("order_id", flat=True))


def assert_in_step() -> None:
    assert marked_held() == holds()
    assert held_marker_differences() == []


def raw(sql: str, params: list) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def test_every_hold_service_keeps_the_marker_in_step(operator, other_operator, supervisor, settings):
    orders = OrderFactory.create_batch(6)
    ids = [order.pk for order in orders]

    orders_assign(actor=operator, order_ids=ids[:4])
    assert marked_held() == set(ids[:4])
    orders_take_over(actor=supervisor, order_ids=ids[:1], reason="urgent")
    orders_reassign(actor=supervisor, order_ids=ids[1:2], operator=other_operator)
    assert_in_step()
    orders_release(actor=operator, order_ids=ids[2:3])
    assert marked_held() == {ids[0], ids[1], ids[3]}
    order_claim_next(actor=operator)
    assert_in_step()
    assert len(marked_held()) == 4

    Assignment.objects.filter(order_id=ids[3]).update(last_activity_at=timezone.now() - timedelta(days=2))
    holds_expire(idle=timedelta(hours=1))
    assert ids[3] not in marked_held()
    orders_status_set(actor=None, order_ids=ids, status_code="complete")  # auto-release
    assert marked_held() == set()
    assert_in_step()
    assert assignment_log_verify().agrees


def test_raw_sql_bulk_create_and_queryset_delete_keep_the_marker_in_step(operator):
    orders = OrderFactory.create_batch(5)
    ids = [order.pk for order in orders]
    now = timezone.now()
    raw(
        "INSERT INTO operators_assignment"
        " (order_id, operator_id, assigned_by_id, assigned_at, last_activity_at, order_created_at)"
        " VALUES (%s, %s, %s, %s, %s, %s)",
        [ids[0], operator.pk, operator.pk, now, now, now],
    )
    Assignment.objects.bulk_create(
        [Assignment(order_id=pk, operator=operator, assigned_by=operator) for pk in ids[1:4]]
    )
    assert marked_held() == set(ids[:4])

    raw("DELETE FROM operators_assignment WHERE order_id = %s", [ids[0]])
    Assignment.objects.filter(order_id__in=ids[1:3]).delete()
    assert marked_held() == {ids[3]}
    Assignment.objects.get(order_id=ids[3]).delete()
    assert_in_step()

    # A hold moved to another order (no path of the app does this, but SQL can).
    hold = Assignment.objects.create(order_id=ids[0], operator=operator, assigned_by=operator)
    Assignment.objects.filter(pk=hold.pk).update(order_id=ids[4])
    assert marked_held() == {ids[4]}
    assert_in_step()


def test_a_rolled_back_hold_leaves_no_marker(operator):
    order = OrderFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        orders_assign(actor=operator, order_ids=[order.pk])
        assert marked_held() == {order.pk}  # the same transaction sees its own marker
        raise RuntimeError("undo")
    assert_in_step()
    assert marked_held() == set()


def test_writing_the_marker_directly_is_put_back_to_what_the_holds_say(operator):
    held, free = OrderFactory.create_batch(2)
    orders_assign(actor=operator, order_ids=[held.pk])

    Order.objects.filter(pk=held.pk).update(held=False)
    Order.objects.filter(pk=free.pk).update(held=True)
    assert_in_step()

    # A stale object saved after the order was taken writes held=False: the guard keeps it held.
    stale = Order.objects.get(pk=free.pk)
    orders_assign(actor=operator, order_ids=[free.pk])
    stale.customer_name = "Someone Else"
    stale.save()
    assert_in_step()
    assert marked_held() == {held.pk, free.pk}
    # And a new order cannot be born held.
    born = OrderFactory(held=True)
    assert not Order.objects.get(pk=born.pk).held


def test_the_marker_bumps_neither_the_version_nor_the_update_time(operator):
    order = OrderFactory()
    before = Order.objects.get(pk=order.pk)
    orders_assign(actor=operator, order_ids=[order.pk])
    orders_release(actor=operator, order_ids=[order.pk])
    orders_assign(actor=operator, order_ids=[order.pk])
    after = Order.objects.get(pk=order.pk)
    assert (after.version, after.updated_at, after.held) == (before.version, before.updated_at, True)
    assert not after.changes.exists()


def test_deleting_a_held_order_deletes_its_hold_without_error(operator):
    order = OrderFactory()
    orders_assign(actor=operator, order_ids=[order.pk])
    Assignment.objects.filter(order=order).delete()  # the log protects the order itself; holds go
    assert_in_step()


def test_the_check_reports_an_order_whose_marker_disagrees(operator):
    held, free = OrderFactory.create_batch(2)
    orders_assign(actor=operator, order_ids=[held.pk])
    # Only with the triggers off can they disagree: switch them off inside this test's transaction.
    if connection.vendor == "postgresql":
        raw("SET LOCAL session_replication_role = replica", [])
    else:
        raw("DROP TRIGGER operators_order_held_guard", [])
    Order.objects.filter(pk=held.pk).update(held=False)
    Order.objects.filter(pk=free.pk).update(held=True)

    differences = held_marker_differences()

    assert [(d.order_id, d.marked_held) for d in differences] == [(held.pk, False), (free.pk, True)]
    assert differences[0].message == f"#{held.number}: the hold marker says not held; the holds say held"
    assert held_marker_differences(max_listed=1) == differences[:1]

    # The ops tool says so too, and exits 1 although the log agrees with the holds.
    out = io.StringIO()
    with pytest.raises(CommandError, match="hold marker") as failed:
        call_command("verify_assignment_log", stdout=out)
    assert failed.value.returncode == 1
    assert f"#{free.number}: the hold marker says held; the holds say not held" in out.getvalue()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # TRUNCATE refuses a table with deferred foreign-key checks pending
def test_truncating_the_holds_clears_every_marker(operator):
    orders_assign(actor=operator, order_ids=[order.pk for order in OrderFactory.create_batch(3)])
    raw("TRUNCATE operators_assignment", [])
    assert_in_step()
    assert marked_held() == set()
