"""The free orders (FreeOrder, operators_free_order: one narrow row per order nobody holds) are the shadow of
the holds table and of the orders: every path that writes holds or orders keeps them in step, in the same
transaction, a hold change never writes the order's row, and nothing can make the two disagree (the tries
below, a check that finds it when the triggers are switched off, and threads racing on PostgreSQL)."""

import io
import random
import threading
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import OperationalError, connection, connections, transaction
from django.utils import timezone

from operators.models import Assignment, FreeOrder
from operators.services import (
    holds_expire,
    order_claim_next,
    orders_assign,
    orders_reassign,
    orders_release,
    orders_take_over,
)
from operators.verification import assignment_log_verify, free_order_differences
from orders.models import Order, OrderStatus
from orders.services import orders_status_set
from tests.factories import OperatorFactory, OrderFactory

pytestmark = pytest.mark.django_db


def listed_free() -> set[int]:
    return set(FreeOrder.objects.values_list("order_id", flat=True))


def truly_free() -> set[int]:
    return set(Order.objects.filter(assignment__isnull=True).values_list("pk", flat=True))


def assert_in_step() -> None:
    assert listed_free() == truly_free()
    rows = set(FreeOrder.objects.values_list("order_id", "status_id", "created_at"))
    truth = set(Order.objects.filter(assignment__isnull=True).values_list("pk", "status_id", "created_at"))
    assert rows == truth
    assert free_order_differences() == []


def raw(sql: str, params: list) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def test_every_hold_service_keeps_the_free_orders_in_step(operator, other_operator, supervisor):
    orders = OrderFactory.create_batch(6)
    ids = [order.pk for order in orders]
    assert listed_free() == set(ids)

    orders_assign(actor=operator, order_ids=ids[:4])
    assert listed_free() == set(ids[4:])
    orders_take_over(actor=supervisor, order_ids=ids[:1], reason="urgent")
    orders_reassign(actor=supervisor, order_ids=ids[1:2], operator=other_operator)
    assert_in_step()
    orders_release(actor=operator, order_ids=ids[2:3])
    assert listed_free() == {ids[2], *ids[4:]}
    order_claim_next(actor=operator)
    assert_in_step()
    assert len(listed_free()) == 2

    Assignment.objects.filter(order_id=ids[3]).update(last_activity_at=timezone.now() - timedelta(days=2))
    holds_expire(idle=timedelta(hours=1))
    assert ids[3] in listed_free()
    orders_status_set(actor=None, order_ids=ids, status_code="complete")  # auto-release
    assert listed_free() == set(ids)
    assert set(FreeOrder.objects.values_list("status_id", flat=True)) == {"complete"}
    assert_in_step()
    assert assignment_log_verify().agrees


def test_orders_born_changed_and_deleted_keep_their_free_rows(operator):
    order = OrderFactory()
    assert FreeOrder.objects.get(order=order).status_id == order.status_id
    created = Order.objects.bulk_create(OrderFactory.build_batch(3))
    assert_in_step()

    Order.objects.filter(pk=order.pk).update(status_id="processing", created_at=timezone.now())
    raw("UPDATE orders_order SET status_id = 'on_hold' WHERE id = %s", [created[0].pk])
    assert_in_step()
    assert FreeOrder.objects.get(order=created[0]).status_id == "on_hold"

    orders_assign(actor=operator, order_ids=[created[1].pk])
    Order.objects.filter(pk=created[1].pk).update(status_id="processing")  # held: no free row to change
    assert_in_step()
    Assignment.objects.filter(order=created[1]).delete()
    assert FreeOrder.objects.get(order=created[1]).status_id == "processing"

    # SQL written by hand deletes the order's search row first, as its foreign key requires.
    raw("DELETE FROM orders_ordersearch WHERE order_id = %s", [created[2].pk])
    raw("DELETE FROM orders_order WHERE id = %s", [created[2].pk])
    assert created[2].pk not in listed_free()
    assert_in_step()


def test_raw_sql_bulk_create_and_queryset_delete_keep_the_free_orders_in_step(operator):
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
    assert listed_free() == {ids[4]}

    raw("DELETE FROM operators_assignment WHERE order_id = %s", [ids[0]])
    Assignment.objects.filter(order_id__in=ids[1:3]).delete()
    assert listed_free() == {ids[0], ids[1], ids[2], ids[4]}
    Assignment.objects.get(order_id=ids[3]).delete()
    assert_in_step()

    # A hold moved to another order (no path of the app does this, but SQL can).
    hold = Assignment.objects.create(order_id=ids[0], operator=operator, assigned_by=operator)
    Assignment.objects.filter(pk=hold.pk).update(order_id=ids[4])
    assert listed_free() == set(ids[:4])
    assert_in_step()


def test_a_rolled_back_hold_leaves_the_free_row(operator):
    order = OrderFactory()
    with pytest.raises(RuntimeError), transaction.atomic():
        orders_assign(actor=operator, order_ids=[order.pk])
        assert listed_free() == set()  # the same transaction sees its own change
        raise RuntimeError("undo")
    assert_in_step()
    assert listed_free() == {order.pk}


def test_writing_the_free_orders_directly_cannot_make_them_disagree(operator):
    held, free, other = OrderFactory.create_batch(3)
    orders_assign(actor=operator, order_ids=[held.pk])
    now = timezone.now()

    # A free row for a held order, one for an order that does not exist, one with a made-up status.
    raw(
        "INSERT INTO operators_free_order (order_id, status_id, created_at) VALUES (%s, %s, %s)",
        [held.pk, "pending", held.created_at],
    )
    raw(
        "INSERT INTO operators_free_order (order_id, status_id, created_at) VALUES (%s, %s, %s)",
        [other.pk + 1000, "pending", now],
    )
    # Deleting a free order's row, changing its status or moving it to another order.
    FreeOrder.objects.filter(order=free).delete()
    raw("DELETE FROM operators_free_order WHERE order_id = %s", [other.pk])
    FreeOrder.objects.filter(order=free).update(status_id="complete", created_at=now)
    raw("UPDATE operators_free_order SET order_id = %s WHERE order_id = %s", [held.pk, other.pk])
    assert_in_step()
    assert FreeOrder.objects.get(order=free).status_id == free.status_id

    # And the ORM's own writes of a row.
    FreeOrder(order=held, status_id="pending", created_at=held.created_at).save(force_insert=True)
    assert_in_step()


def test_a_hold_change_writes_no_order_row(operator):
    """Taking, releasing and claiming an order leave its row as it was: no new version (PostgreSQL: the same
    tuple, ctid and xmin), no version or update time bumped, no history."""
    order, other = OrderFactory.create_batch(2)
    before = Order.objects.get(pk=order.pk)

    def row_version() -> tuple | None:
        if connection.vendor != "postgresql":
            return None
        with connection.cursor() as cursor:
            cursor.execute("SELECT ctid::text, xmin::text FROM orders_order WHERE id = %s", [order.pk])
            return cursor.fetchone()

    tuple_before = row_version()
    orders_assign(actor=operator, order_ids=[order.pk])
    orders_release(actor=operator, order_ids=[order.pk])
    orders_assign(actor=operator, order_ids=[other.pk])  # claim next takes `order`, the only free one
    assert order_claim_next(actor=operator).order == order
    orders_release(actor=operator, order_ids=[order.pk, other.pk])
    after = Order.objects.get(pk=order.pk)
    assert (after.version, after.updated_at) == (before.version, before.updated_at)
    assert row_version() == tuple_before
    assert not after.changes.exists()
    assert_in_step()


def test_the_check_reports_free_rows_that_disagree(operator):
    held, free, stale = OrderFactory.create_batch(3)
    orders_assign(actor=operator, order_ids=[held.pk])
    # Only with the triggers off can they disagree: switch them off inside this test's transaction.
    if connection.vendor == "postgresql":
        raw("SET LOCAL session_replication_role = replica", [])
    else:
        for name in ("insert", "update", "delete"):
            raw(f"DROP TRIGGER operators_free_order_guard_{name}", [])
    raw(
        "INSERT INTO operators_free_order (order_id, status_id, created_at) VALUES (%s, %s, %s)",
        [held.pk, held.status_id, held.created_at],
    )
    raw("DELETE FROM operators_free_order WHERE order_id = %s", [free.pk])
    raw("UPDATE operators_free_order SET status_id = 'complete' WHERE order_id = %s", [stale.pk])
    raw(
        "INSERT INTO operators_free_order (order_id, status_id, created_at) VALUES (%s, %s, %s)",
        [stale.pk + 1000, "pending", stale.created_at],
    )

    differences = free_order_differences()

    assert [(d.order_id, d.marked_held, d.stale) for d in differences] == [
        (held.pk, False, False),
        (free.pk, True, False),
        (stale.pk, False, True),
        (stale.pk + 1000, False, False),
    ]
    assert differences[0].message == f"#{held.number}: the free orders say free; the holds say held"
    assert differences[1].message == f"#{free.number}: the free orders say not free; the holds say not held"
    assert "status or created date" in differences[2].message
    assert "does not exist" in differences[3].message
    assert free_order_differences(max_listed=1) == differences[:1]

    # The ops tool says so too, and exits 1 although the log agrees with the holds.
    out = io.StringIO()
    with pytest.raises(CommandError, match="free row") as failed:
        call_command("verify_assignment_log", stdout=out)
    assert failed.value.returncode == 1
    assert f"#{free.number}: the free orders say not free; the holds say not held" in out.getvalue()

    # repair_triggers puts them back.
    if connection.vendor == "postgresql":
        raw("SET LOCAL session_replication_role = origin", [])
    call_command("repair_triggers", stdout=io.StringIO())
    assert_in_step()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # TRUNCATE refuses a table with deferred foreign-key checks pending
def test_truncating_the_holds_or_the_free_orders_refills_them(operator):
    orders = OrderFactory.create_batch(4)
    orders_assign(actor=operator, order_ids=[order.pk for order in orders[:3]])
    raw("TRUNCATE operators_free_order", [])
    assert_in_step()
    assert listed_free() == {orders[3].pk}
    raw("TRUNCATE operators_assignment", [])
    assert_in_step()
    assert listed_free() == {order.pk for order in orders}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("with_bypassing_writers", [False, True], ids=["services", "with-raw-sql"])
def test_racing_writers_cannot_make_the_free_orders_disagree(roles, with_bypassing_writers):
    """Eight threads, each on its own connection, hammer 30 orders at once: claims, bulk assigns and
    releases, status changes through the service (complete releases); with `with_bypassing_writers`, also
    status changes by raw SQL without the order's lock and holds deleted by raw SQL without it. Afterwards the
    free rows are exactly the unheld orders, each with its order's status.

    The services lock the order rows first and never deadlock: nothing is tolerated from them alone. A raw
    write that bypasses the order's lock takes a hold's or a free row's lock before the order's, the reverse
    of the services' order; PostgreSQL may then break a deadlock by rolling one transaction back whole (the
    raw write or the service it met), which is counted, and must leave nothing out of step."""
    operators = [OperatorFactory(username=f"racer{index}") for index in range(8)]
    status = OrderStatus.objects.get(code="pending")
    orders = Order.objects.bulk_create(OrderFactory.build_batch(30, status=status))
    ids = [order.pk for order in orders]
    statuses = ["pending", "processing", "on_hold", "complete", "pending", "processing"]
    errors: list[BaseException] = []
    deadlocks: list[int] = []
    barrier = threading.Barrier(len(operators))
    moves = 6 if with_bypassing_writers else 4

    def raw_write(sql: str, params: list) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)

    def work(index: int) -> None:
        rng = random.Random(index)
        actor = type(operators[index]).objects.get(pk=operators[index].pk)
        try:
            barrier.wait(timeout=30)
            for _round in range(40):
                move = rng.randrange(moves)
                picked = rng.sample(ids, 3)
                try:
                    if move == 0:
                        order_claim_next(actor=actor)
                    elif move == 1:
                        orders_assign(actor=actor, order_ids=picked)
                    elif move == 2:
                        orders_release(actor=actor, order_ids=list(ids))
                    elif move == 3:
                        orders_status_set(actor=None, order_ids=picked, status_code=rng.choice(statuses))
                    elif move == 4:
                        raw_write(
                            "UPDATE orders_order SET status_id = %s WHERE id = %s",
                            [rng.choice(statuses[:3]), picked[0]],
                        )
                    else:
                        raw_write("DELETE FROM operators_assignment WHERE order_id = %s", [picked[0]])
                except OperationalError as error:
                    if not with_bypassing_writers or "deadlock detected" not in str(error):
                        raise
                    deadlocks.append(move)
        except BaseException as error:
            errors.append(error)
            barrier.abort()
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(index,), daemon=True) for index in range(len(operators))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert not errors, errors
    assert len(deadlocks) < 40, deadlocks  # a few victims among 320 moves, not a way of life
    assert_in_step()
