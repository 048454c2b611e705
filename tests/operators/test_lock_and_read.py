"""lock_and_read on PostgreSQL: the orders are locked and their holds read in one statement, which reads the
holds as of its start. A hold given or ended by a writer that committed while the statement waited for an
order's lock must not be decided on as it was: these tests make the statement wait, deterministically, for a
colleague's transaction that changes the hold, and check what the service decided and wrote.
"""

import threading
import time

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from operators.models import Assignment, AssignmentLog
from operators.services import _holds, orders_assign, orders_release, orders_take_over
from orders.results import Outcome
from tests.operators.test_races import fresh, make_orders
from tests.replay import assert_log_replays_to_holds

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

# How long the colleague's transaction keeps the order locked after the service has started waiting for it.
HELD_OPEN = 0.5


def while_a_colleague_commits(change, then):
    """Run change() in a transaction on another connection; once it has run (and so holds its order locks),
    start then() here, which has to wait for those locks; commit the change HELD_OPEN seconds later. Returns
    then()'s result and the time it waited."""
    changed, errors = threading.Event(), []

    def colleague() -> None:
        try:
            with transaction.atomic():
                change()
                changed.set()
                time.sleep(HELD_OPEN)
        except BaseException as error:  # reported by the test below
            errors.append(error)
            changed.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=colleague, daemon=True)
    thread.start()
    assert changed.wait(10), "the colleague's change did not run"
    started = time.monotonic()
    result = then()
    waited = time.monotonic() - started
    thread.join(10)
    assert not errors, errors
    return result, waited


def test_an_order_given_to_a_colleague_while_the_lock_waited_is_reported_held_by_them(
    operator, other_operator
):
    taken_meanwhile, free = (order.pk for order in make_orders(2))
    colleague = fresh(other_operator)

    result, waited = while_a_colleague_commits(
        lambda: orders_assign(actor=colleague, order_ids=[taken_meanwhile]),
        lambda: orders_assign(actor=fresh(operator), order_ids=[taken_meanwhile, free]),
    )

    assert waited >= HELD_OPEN * 0.8  # the lock statement really waited for the colleague's commit
    held_by = result.of(Outcome.HELD_BY)
    assert [item.order_id for item in held_by] == [taken_meanwhile]
    assert held_by[0].holder.pk == other_operator.pk
    assert result.done_ids == [free]
    assert dict(Assignment.objects.values_list("order_id", "operator_id")) == {
        taken_meanwhile: other_operator.pk,
        free: operator.pk,
    }
    assert AssignmentLog.objects.filter(order_id=taken_meanwhile).count() == 1  # the colleague's only
    assert_log_replays_to_holds()


def test_an_order_taken_in_another_tab_while_the_lock_waited_is_already_yours(operator):
    (pk,) = (order.pk for order in make_orders(1))
    other_tab = fresh(operator)

    result, _waited = while_a_colleague_commits(
        lambda: orders_assign(actor=other_tab, order_ids=[pk]),
        lambda: orders_assign(actor=fresh(operator), order_ids=[pk]),
    )

    assert result.counts() == {Outcome.ALREADY_YOURS: 1}
    assert AssignmentLog.objects.filter(order_id=pk).count() == 1


def test_an_order_released_while_the_lock_waited_is_assigned(operator, other_operator):
    (pk,) = (order.pk for order in make_orders(1))
    colleague = fresh(other_operator)
    orders_assign(actor=colleague, order_ids=[pk])

    result, waited = while_a_colleague_commits(
        lambda: orders_release(actor=colleague, order_ids=[pk]),
        lambda: orders_assign(actor=fresh(operator), order_ids=[pk]),
    )

    assert waited >= HELD_OPEN * 0.8
    # Read as held by the colleague when the statement began; read again under the lock: free, so taken.
    assert result.counts() == {Outcome.DONE: 1}
    assert Assignment.objects.get(order_id=pk).operator_id == operator.pk
    log = AssignmentLog.objects.filter(order_id=pk).order_by("id").values_list("action", "operator_id")
    assert list(log) == [
        (AssignmentLog.Action.ASSIGNED, other_operator.pk),
        (AssignmentLog.Action.RELEASED, other_operator.pk),
        (AssignmentLog.Action.ASSIGNED, operator.pk),
    ]
    assert_log_replays_to_holds()


def test_a_take_over_meets_the_holds_as_they_are_after_the_wait(operator, other_operator, supervisor):
    first, second = (order.pk for order in make_orders(2))
    colleague = fresh(other_operator)
    orders_assign(actor=fresh(operator), order_ids=[first])

    # Meanwhile Anna's hold on the first order ends and Ivan takes the second, which was free.
    def change() -> None:
        orders_release(actor=fresh(operator), order_ids=[first])
        orders_assign(actor=colleague, order_ids=[second])

    result, _waited = while_a_colleague_commits(
        change, lambda: orders_take_over(actor=fresh(supervisor), order_ids=[first, second], reason="cover")
    )

    # A take over reads the holds after its lock (lock_then_read): the first is free now, so assigned (logged
    # as assigned); the second is Ivan's now, and taken over from him.
    outcomes = {item.order_id: item for item in result}
    assert outcomes[first].outcome == outcomes[second].outcome == Outcome.DONE
    assert outcomes[second].holder.pk == other_operator.pk
    assert dict(Assignment.objects.values_list("order_id", "operator_id")) == {
        first: supervisor.pk,
        second: supervisor.pk,
    }
    last = {
        order_id: action
        for order_id, action in AssignmentLog.objects.order_by("id").values_list("order_id", "action")
    }
    assert last == {first: AssignmentLog.Action.ASSIGNED, second: AssignmentLog.Action.TAKEN_OVER}
    assert_log_replays_to_holds()


def test_lock_and_read_reads_the_holds_in_the_lock_statement(operator):
    """The cost this is for: one statement locks 10 orders and reads their holds; the held ones (here 4) are
    read once more, under the lock."""
    ids = [order.pk for order in make_orders(10)]
    orders_assign(actor=fresh(operator), order_ids=ids[:4])
    with transaction.atomic(), CaptureQueriesContext(connection) as captured:
        locked = _holds.lock_and_read(ids, finals=False)
    statements = [query["sql"] for query in captured.captured_queries if "SAVEPOINT" not in query["sql"]]
    assert set(locked.holds) == set(ids[:4])
    assert len(statements) == 3  # lock and read; the held ones again; their holder
    assert "FOR NO KEY UPDATE" in statements[0] and "LEFT JOIN" in statements[0]
