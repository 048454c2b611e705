"""Behind PgBouncer in transaction pooling: consecutive transactions of one client may run on different
server connections, so nothing may rely on state left on one (`pytest --pgbouncer`, make test's PgBouncer
pass)."""

import threading
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone

from live.presence import presence_heartbeat
from operators.models import Assignment
from operators.services import order_claim_next, orders_assign
from operators.verification import order_replays
from orderops.db import commits_not_waiting_for_disk
from orders.results import Code
from tests.factories import OrderFactory

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.pgbouncer,
    pytest.mark.pgbouncer_only,
    pytest.mark.django_db(transaction=True),
]


def _in_another_client(query: str) -> str:
    """`query`'s answer on a connection of another thread: another PgBouncer client. PgBouncer hands it the
    server connection released last (LIFO), the one this thread's last transaction ran on."""
    answers: list[str] = []

    def ask() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute(query)
                answers.append(cursor.fetchone()[0])
        finally:
            connection.close()

    thread = threading.Thread(target=ask)
    thread.start()
    thread.join(timeout=30)
    assert answers, "the other client got no answer"
    return answers[0]


def test_the_connections_go_through_a_transaction_pooler():
    with connection.cursor() as cursor:
        cursor.execute("SHOW port")
        server_port = cursor.fetchone()[0]
    assert int(connection.settings_dict["PORT"]) != int(server_port)


def test_a_heartbeat_leaves_synchronous_commit_on_for_the_other_clients(operator):
    """A heartbeat's commits do not wait for the disk; another client, on whatever server connection it gets
    while the heartbeat runs or after it, still waits for its own."""
    order = OrderFactory()
    seen_meanwhile: list[str] = []

    def meanwhile(execute, sql, params, many, context):
        if "live_presence" in sql:
            seen_meanwhile.append(_in_another_client("SHOW synchronous_commit"))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(meanwhile):
        presence_heartbeat(user=operator, tab="t1", order_id=order.pk, editing=False)
    assert seen_meanwhile and set(seen_meanwhile) == {"on"}
    assert _in_another_client("SHOW synchronous_commit") == "on"


def test_commits_not_waiting_for_disk_sets_the_setting_only_inside_its_transaction():
    with commits_not_waiting_for_disk(), connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "off"
    assert _in_another_client("SHOW synchronous_commit") == "on"
    with connection.cursor() as cursor:
        cursor.execute("SHOW synchronous_commit")
        assert cursor.fetchone()[0] == "on"


def _holding_a_server_connection(started: threading.Event, done: threading.Event) -> None:
    """Another client in a transaction until `done`: it keeps the server connection it got."""
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
            started.set()
            done.wait(timeout=30)
    finally:
        connection.close()


def test_the_log_replay_streams_its_cursors_while_other_clients_take_server_connections(operator):
    """The replay reads the log and the holds through server-side cursors, a chunk at a time. Another client
    taking a server connection between two chunks must not take the cursors away."""
    orders = OrderFactory.create_batch(7)
    orders_assign(actor=operator, order_ids=[order.pk for order in orders])
    started, done = threading.Event(), threading.Event()
    other = threading.Thread(target=_holding_a_server_connection, args=(started, done))
    replays = []
    try:
        for replay in order_replays(chunk_size=2):
            replays.append(replay)
            if len(replays) == 1:
                other.start()
                assert started.wait(timeout=30)
    finally:
        done.set()
        other.join(timeout=30)
    assert [replay.order_id for replay in replays] == sorted(order.pk for order in orders)
    assert all(replay.log_holder_id == operator.pk and not replay.differs for replay in replays)


def test_expire_holds_dry_run_streams_while_other_clients_take_server_connections(operator):
    """The dry run lists the idle holds through a server-side cursor, two at a time, looking each holder's
    name up between chunks; another client taking a server connection meanwhile must not take the cursor
    away."""
    orders = OrderFactory.create_batch(5)
    orders_assign(actor=operator, order_ids=[order.pk for order in orders])
    Assignment.objects.update(last_activity_at=timezone.now() - timedelta(hours=3))
    started, done = threading.Event(), threading.Event()
    other = threading.Thread(target=_holding_a_server_connection, args=(started, done))

    def after_the_first_chunk(execute, sql, params, many, context):
        if "auth_user" in sql and not started.is_set():  # the first holder's name, after the first fetch
            other.start()
            assert started.wait(timeout=30)
        return execute(sql, params, many, context)

    out = StringIO()
    try:
        with connection.execute_wrapper(after_the_first_chunk):
            call_command("expire_holds", "--dry-run", "--idle", "2h", "--batch-size", "2", stdout=out)
    finally:
        done.set()
        if other.is_alive():
            other.join(timeout=30)
    assert started.is_set()
    listed = [line for line in out.getvalue().splitlines() if line.startswith("would expire #")]
    by_id = sorted(orders, key=lambda order: order.pk)
    assert [line.split(":")[0] for line in listed] == [f"would expire #{order.number}" for order in by_id]


def test_claims_run_on_server_connections_with_and_without_the_prepared_claim(operator):
    """A claim prepares its statement on the server connection it runs on, in the same message: the next
    claim may run on another server connection, one that never ran it (here: the first one is held by
    another client), and prepares it there."""
    OrderFactory.create_batch(3, status_id="pending")
    first = order_claim_next(actor=operator)
    started, done = threading.Event(), threading.Event()
    other = threading.Thread(target=_holding_a_server_connection, args=(started, done))
    other.start()
    try:
        assert started.wait(timeout=30)
        second = order_claim_next(actor=operator)
    finally:
        done.set()
        other.join(timeout=30)
    third = order_claim_next(actor=operator)
    assert [result.outcome for result in (first, second, third)] == [Code.DONE] * 3
    assert len({result.order.pk for result in (first, second, third)}) == 3
    assert Assignment.objects.filter(operator=operator).count() == 3
