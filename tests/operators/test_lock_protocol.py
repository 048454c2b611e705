"""The lock protocol's second version (operators migration 0016; docs/architecture.md, "The lock protocol"):
a release locks no order row, the free orders' trigger no longer share-locks the order when a hold ends, and
a status change key-share-locks the order's hold row instead. PostgreSQL only (SQLite: one writer at a time).
"""

import threading
import time

import pytest
from django.core.management import call_command
from django.db import connection, connections, transaction
from django.db.migrations.executor import MigrationExecutor

from operators.models import Assignment, AssignmentLog, FreeOrder
from operators.services import orders_assign, orders_release
from operators.verification import free_order_differences
from orders.models import Order
from orders.services import orders_status_set
from tests.operators.test_races import fresh, make_orders
from tests.replay import assert_log_replays_to_holds

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def function_text(name: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_functiondef(%s::regproc)", [name])
        return cursor.fetchone()[0]


def installed_version() -> int:
    on_holds = function_text("operators_free_order_on_holds")
    on_change = function_text("operators_free_order_on_order_change")
    if "FOR SHARE OF o" in on_holds and "FOR KEY SHARE" not in on_change:
        return 1
    assert "FOR SHARE" not in on_holds and "FOR KEY SHARE" in on_change, (on_holds, on_change)
    return 2


def test_the_migrations_and_repair_triggers_install_version_2_and_0016_goes_back_to_version_1():
    assert installed_version() == 2
    executor = MigrationExecutor(connection)
    try:
        executor.migrate([("operators", "0015_holds_list_index")])
        assert installed_version() == 1
        call_command("repair_triggers", verbosity=0)  # the current version, whatever the migrations say
        assert installed_version() == 2
        executor.loader.build_graph()
        executor.migrate([("operators", "0016_release_locks_holds_only")])
        assert installed_version() == 2
        executor.loader.build_graph()
        executor.migrate([("operators", "0015_holds_list_index")])
        assert installed_version() == 1
    finally:
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    assert installed_version() == 2


def test_a_release_locks_no_order_row(operator):
    """An edit holds the order's lock for a while; the holder's release of that order does not wait for it."""
    (pk,) = (order.pk for order in make_orders(1))
    orders_assign(actor=fresh(operator), order_ids=[pk])
    locked, done = threading.Event(), threading.Event()

    def editor() -> None:
        try:
            with transaction.atomic():
                list(Order.objects.filter(pk=pk).select_for_update(no_key=True))
                locked.set()
                done.wait(5)
        finally:
            connections.close_all()

    thread = threading.Thread(target=editor, daemon=True)
    thread.start()
    assert locked.wait(5)
    started = time.monotonic()
    result = orders_release(actor=fresh(operator), order_ids=[pk])
    waited = time.monotonic() - started
    done.set()
    thread.join(5)
    assert result.done_ids == [pk] and waited < 1
    assert not Assignment.objects.exists()


def test_a_status_change_waits_for_a_release_in_progress_and_gives_its_free_row_the_new_status(operator):
    """The release ends the hold (and writes the free row, with the status it read) and keeps its transaction
    open; the status change of the same order, meanwhile, waits for it, then gives the free row its status."""
    (pk,) = (order.pk for order in make_orders(1))
    orders_assign(actor=fresh(operator), order_ids=[pk])
    released = threading.Event()
    errors = []

    def releaser() -> None:
        try:
            with transaction.atomic():
                orders_release(actor=fresh(operator), order_ids=[pk])
                released.set()
                time.sleep(0.5)
        except BaseException as error:
            errors.append(error)
            released.set()
        finally:
            connections.close_all()

    thread = threading.Thread(target=releaser, daemon=True)
    thread.start()
    assert released.wait(5)
    started = time.monotonic()
    result = orders_status_set(actor=None, order_ids=[pk], status_code="processing")
    waited = time.monotonic() - started
    thread.join(5)
    assert not errors, errors
    assert result.done_ids == [pk]
    assert waited >= 0.3  # the status change waited for the release's commit
    assert FreeOrder.objects.get(order_id=pk).status_id == "processing"
    assert free_order_differences() == []
    assert list(
        AssignmentLog.objects.filter(order_id=pk).values_list("action", flat=True).order_by("id")
    ) == [
        AssignmentLog.Action.ASSIGNED,
        AssignmentLog.Action.RELEASED,
    ]
    assert_log_replays_to_holds()


def test_a_release_that_meets_a_locked_hold_waits_no_more_than_its_limit_then_takes_the_locks(operator):
    """A take-over-like writer holds the order's lock and the hold's lock for a second; the release gives up
    its at-once DELETE after LOCK_WAIT_MS, takes the order locks in the usual order (waiting for the writer),
    and then ends the hold: no deadlock, one log row."""
    (pk,) = (order.pk for order in make_orders(1))
    orders_assign(actor=fresh(operator), order_ids=[pk])
    locked = threading.Event()

    def writer() -> None:
        try:
            with transaction.atomic():
                list(Order.objects.filter(pk=pk).select_for_update(no_key=True))
                list(Assignment.objects.filter(order_id=pk).select_for_update())
                locked.set()
                time.sleep(1)
        finally:
            connections.close_all()

    thread = threading.Thread(target=writer, daemon=True)
    thread.start()
    assert locked.wait(5)
    result = orders_release(actor=fresh(operator), order_ids=[pk])
    thread.join(5)
    assert result.done_ids == [pk]
    assert not Assignment.objects.exists()
    assert AssignmentLog.objects.filter(order_id=pk, action=AssignmentLog.Action.RELEASED).count() == 1
    assert free_order_differences() == []
