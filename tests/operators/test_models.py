"""The database itself keeps one holder per order; the log is append-only."""

import threading
from datetime import timedelta

import pytest
from django.db import IntegrityError, connections, transaction
from django.utils import timezone

from operators.models import Assignment, AssignmentLog
from orders.models import Order
from tests.factories import AssignmentFactory, AssignmentLogFactory, OrderFactory, UserFactory


@pytest.mark.django_db
def test_database_refuses_a_second_assignment_for_one_order():
    first = AssignmentFactory()
    other = UserFactory(is_staff=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        Assignment.objects.create(order=first.order, operator=other, assigned_by=other)
    assert Assignment.objects.get(order=first.order).operator == first.operator


@pytest.mark.django_db
def test_log_rows_cannot_be_edited_or_deleted():
    entry = AssignmentLogFactory(reason="first")
    entry.reason = "rewritten"
    with pytest.raises(TypeError, match="append-only"):
        entry.save()
    with pytest.raises(TypeError, match="append-only"):
        entry.delete()
    assert AssignmentLog.objects.get(pk=entry.pk).reason == "first"


@pytest.mark.postgres
@pytest.mark.pgbouncer
@pytest.mark.django_db(transaction=True)
def test_two_connections_inserting_a_hold_at_once_leave_exactly_one():
    """Two sessions insert a hold for the same order at the same moment; PostgreSQL's unique index makes
    the second wait for the first to commit, then refuses it."""
    order = OrderFactory()
    anna, ivan = UserFactory(is_staff=True), UserFactory(is_staff=True)
    both_inserting = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def take(user):
        try:
            with transaction.atomic():
                both_inserting.wait(timeout=10)
                Assignment.objects.create(order=order, operator=user, assigned_by=user)
            outcomes[user.username] = "held"
        except IntegrityError:
            outcomes[user.username] = "refused"
        finally:
            connections.close_all()

    threads = [threading.Thread(target=take, args=(user,)) for user in (anna, ivan)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes.values()) == ["held", "refused"]
    winner = next(name for name, outcome in outcomes.items() if outcome == "held")
    assert list(Assignment.objects.filter(order=order).values_list("operator__username", flat=True)) == [
        winner
    ]


# --- the hold's copy of its order's created_at (sorts "held by X" through an index) ---------------------


def test_every_way_of_writing_a_hold_copies_the_orders_created_at(operator):
    from operators.services import order_claim_next, orders_assign

    saved, bulk, assigned, claimed = (
        OrderFactory(created_at=timezone.now() - timedelta(days=days)) for days in (5, 4, 3, 2)
    )
    Assignment(order_id=saved.pk, operator=operator, assigned_by=operator).save()
    Assignment.objects.bulk_create([Assignment(order_id=bulk.pk, operator=operator, assigned_by=operator)])
    orders_assign(actor=operator, order_ids=[assigned.pk])
    assert order_claim_next(actor=operator).order == claimed  # the only free one left
    copies = dict(Assignment.objects.values_list("order_id", "order_created_at"))
    assert copies == {order.pk: order.created_at for order in (saved, bulk, assigned, claimed)}


def test_changing_an_orders_created_at_moves_its_holds_copy_by_any_path(operator):
    """A database trigger, not Python: an import, a raw UPDATE and QuerySet.update() all keep it equal."""
    held, other = OrderFactory.create_batch(2)
    hold = AssignmentFactory(order=held, operator=operator)
    moved = timezone.now() - timedelta(days=30)
    Order.objects.filter(pk=held.pk).update(created_at=moved)
    hold.refresh_from_db()
    assert hold.order_created_at == moved
    Order.objects.filter(pk=other.pk).update(created_at=moved)  # not held: nothing to keep equal
    assert Assignment.objects.count() == 1
