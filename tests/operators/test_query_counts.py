"""Invariant 7: bulk operations cost a fixed number of statements, the same for 10 orders as for 1,000."""

import os

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from operators.models import Assignment
from operators.services import orders_assign, orders_release, orders_take_over
from orders.services import orders_status_set
from tests.factories import OrderFactory

# Statements per call, all included: permission look-ups, the order row locks, the holds, the insert or
# delete, the log rows, the savepoint of the service's transaction.
# The write-back to the stores (stores.writeback) adds none for orders that came from no store, as here: the
# order lock and the log rows' insert read the orders' stores with them.
# On PostgreSQL the holds and their log rows are one statement (a data-modifying WITH), elsewhere two.
ASSIGN_STATEMENTS = {"postgresql": 9, "sqlite": 10}
# A release of one's own holds. On PostgreSQL it ends them at once (savepoint, the DELETE with its log rows
# and its lock wait, the wait set back, the holders, the savepoint released: operators.services.release);
# when the rule keeps one of them (a colleague's hold, below), it undoes that and does it under the locks
# (the orders', then the holds', then the DELETE): seven more.
RELEASE_STATEMENTS = {"postgresql": 7, "sqlite": 7}
RELEASE_REFUSED_STATEMENTS = {"postgresql": 14, "sqlite": 9}
# A take-over of orders held by others also notifies the displaced holders (live/notifications.py): their
# notifications from the log rows just written, and their emails, two statements for any number of orders.
TAKE_OVER_STATEMENTS = {"postgresql": 13, "sqlite": 14}  # the free ones among them: one statement less
# The status change writes its history rows (one INSERT ... SELECT for all orders) before its UPDATE, and
# notifies the orders' other holders (one INSERT ... SELECT from the holds, writing none here).
# On PostgreSQL the auto-release deletes the holds and writes their log rows in one statement.
STATUS_SET_STATEMENTS = {"postgresql": 11, "sqlite": 12}


def fresh(user):
    """The same user without cached permissions, as a new request would see them."""
    return get_user_model().objects.get(pk=user.pk)


def statements(call) -> int:
    with CaptureQueriesContext(connection) as queries:
        call()
    if os.environ.get("SHOW_QUERIES"):
        print(*(query["sql"][:150] for query in queries), sep="\n")
    return len(queries)


def make_orders(count: int, held_by) -> list[int]:
    ids = [order.pk for order in OrderFactory.create_batch(count)]
    # One in ten already held by someone else, so the "held by" path is part of the count.
    Assignment.objects.bulk_create(
        [Assignment(order_id=pk, operator=held_by, assigned_by=held_by) for pk in ids[::10]]
    )
    return ids


@pytest.mark.parametrize("size", [10, 1000])
def test_bulk_assign_and_release_cost_the_same_statements_for_any_size(operator, other_operator, size):
    ids = make_orders(size, held_by=other_operator)

    actor = fresh(operator)
    assign = statements(lambda: orders_assign(actor=actor, order_ids=ids))
    actor = fresh(operator)
    release = statements(lambda: orders_release(actor=actor, order_ids=ids))

    assert Assignment.objects.filter(operator=operator).count() == 0
    assert (assign, release) == (
        ASSIGN_STATEMENTS[connection.vendor],
        RELEASE_REFUSED_STATEMENTS[connection.vendor],
    )


@pytest.mark.parametrize("size", [10, 1000])
def test_a_bulk_release_of_ones_own_holds_costs_the_same_statements_for_any_size(operator, size):
    ids = [order.pk for order in OrderFactory.create_batch(size)]
    orders_assign(actor=fresh(operator), order_ids=ids)

    actor = fresh(operator)
    release = statements(lambda: orders_release(actor=actor, order_ids=[*ids, ids[0]]))

    assert not Assignment.objects.exists()
    assert release == RELEASE_STATEMENTS[connection.vendor]


@pytest.mark.parametrize("size", [10, 1000])
def test_bulk_take_over_and_status_change_cost_the_same_statements_for_any_size(
    supervisor, other_operator, size
):
    ids = make_orders(size, held_by=other_operator)

    actor = fresh(supervisor)
    take_over = statements(lambda: orders_take_over(actor=actor, order_ids=ids, reason="rush"))
    actor = fresh(supervisor)
    status_set = statements(lambda: orders_status_set(actor=actor, order_ids=ids, status_code="complete"))

    assert not Assignment.objects.exists()
    assert (take_over, status_set) == (
        TAKE_OVER_STATEMENTS[connection.vendor],
        STATUS_SET_STATEMENTS[connection.vendor],
    )
