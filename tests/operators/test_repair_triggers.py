"""repair_triggers: the triggers installed again at their current version, and what they keep refilled."""

from io import StringIO

from django.core.management import call_command
from django.db import connection

from operators.models import Assignment, FreeOrder
from operators.services import orders_assign
from operators.triggers import free_orders, hold_count
from operators.verification import (
    activity_count_differences,
    free_order_differences,
    hold_count_differences,
)
from tests.factories import OrderFactory


def triggers_dropped() -> None:
    """What a restore without triggers, or a tool rebuilding the tables, leaves: no free orders kept, no
    counters."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(free_orders.POSTGRESQL_DROP)
            cursor.execute(hold_count.POSTGRESQL_DROP)
        else:
            for statement in [*free_orders.SQLITE_DROP, *hold_count.SQLITE_DROP]:
                cursor.execute(statement)


def test_repair_triggers_reinstalls_the_triggers_and_refills_the_free_orders_and_the_counters(
    operator, other_operator
):
    held, let_go, later = OrderFactory.create_batch(3)
    orders_assign(actor=operator, order_ids=[held.pk, let_go.pk])
    triggers_dropped()
    Assignment.objects.filter(order=let_go).delete()  # nothing lists it free or counts it now
    Assignment.objects.create(
        order=later, operator=other_operator, assigned_by=other_operator
    )  # still listed free
    assert {difference.number for difference in free_order_differences()} == {let_go.number, later.number}
    assert hold_count_differences()

    out = StringIO()
    call_command("repair_triggers", stdout=out)

    assert "now agree with the holds" in out.getvalue()
    assert free_order_differences() == []
    assert hold_count_differences() == []
    assert activity_count_differences() == []
    assert set(FreeOrder.objects.values_list("order_id", flat=True)) == {let_go.pk}
    # The triggers are back: a new order is listed free, and its hold unlists it and is counted, in the same
    # statement.
    fresh = OrderFactory()
    assert FreeOrder.objects.filter(order=fresh).exists()
    orders_assign(actor=operator, order_ids=[fresh.pk])
    assert not FreeOrder.objects.filter(order=fresh).exists()
    assert hold_count_differences() == []


def test_repair_triggers_on_intact_triggers_changes_no_hold(operator):
    orders = OrderFactory.create_batch(2)
    orders_assign(actor=operator, order_ids=[order.pk for order in orders])
    before = list(Assignment.objects.order_by("pk").values_list())

    call_command("repair_triggers", stdout=StringIO())

    assert list(Assignment.objects.order_by("pk").values_list()) == before
    assert free_order_differences() == [] and hold_count_differences() == []
