"""The held count of each operator (OperatorHoldCount) is kept by the database with the holds: after every
kind of change, and after a rollback, it equals a full count of the holds; the workload page and the queue
counts read it, and the check reports a counter that disagrees."""

import io
import json
from collections import Counter
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.utils import timezone

from console.queues import queue_counts
from operators.models import Assignment, AssignmentLog, OperatorActivityCount, OperatorHoldCount
from operators.selectors import (
    RELEASED_ACTIONS,
    TAKEN_ACTIONS,
    activity_counts,
    held_counts,
    operators_workload,
)
from operators.services import (
    holds_expire,
    order_claim_next,
    orders_assign,
    orders_reassign,
    orders_release,
    orders_take_over,
)
from operators.triggers import hold_count as _hold_count
from operators.verification import activity_count_differences, hold_count_differences
from orders.models import Order
from orders.services import orders_status_set
from tests.factories import OrderFactory

pytestmark = pytest.mark.django_db


def full_count() -> dict[int, int]:
    return dict(Counter(Assignment.objects.values_list("operator_id", flat=True)))


def logged_since(since) -> dict[int, tuple[int, int]]:
    """{operator: (taken, released)} by a count of the log rows since `since`."""
    counts: dict[int, list[int]] = {}
    for operator_id, action in AssignmentLog.objects.filter(at__gte=since).values_list(
        "operator_id", "action"
    ):
        pair = counts.setdefault(operator_id, [0, 0])
        pair[0] += action in TAKEN_ACTIONS
        pair[1] += action in RELEASED_ACTIONS
    return {operator_id: (taken, released) for operator_id, (taken, released) in counts.items()}


def quarter_start(moment):
    return moment.replace(minute=moment.minute // 15 * 15, second=0, microsecond=0)


def assert_exact(expected: dict[int, int] | None = None) -> None:
    """The counters equal a full count of the holds (and `expected`, when given); the activity counters
    equal a count of the log."""
    counted = held_counts()
    assert counted == full_count()
    assert hold_count_differences() == []
    assert activity_count_differences() == []
    since = quarter_start(timezone.now() - timedelta(hours=1))
    assert activity_counts(since=since) == logged_since(since)
    if expected is not None:
        assert counted == {pk: n for pk, n in expected.items() if n}


def raw(sql: str, params: list | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def test_every_kind_of_change_keeps_the_counts_exact(operator, other_operator, supervisor, tmp_path):
    orders = OrderFactory.create_batch(12)
    ids = [order.pk for order in orders]
    me, other = operator.pk, other_operator.pk

    orders_assign(actor=operator, order_ids=ids[:1])  # assign, one order
    assert_exact({me: 1})
    orders_assign(actor=supervisor, order_ids=ids[1:8], operator=other_operator)  # bulk, to another
    assert_exact({me: 1, other: 7})
    orders_release(actor=other_operator, order_ids=ids[1:2])  # release
    assert_exact({me: 1, other: 6})
    orders_take_over(actor=supervisor, order_ids=ids[2:4], reason="urgent")  # take over
    assert_exact({me: 1, other: 4, supervisor.pk: 2})
    orders_reassign(actor=supervisor, order_ids=ids[4:6], operator=operator)  # transfer
    assert_exact({me: 3, other: 2, supervisor.pk: 2})
    assert order_claim_next(actor=operator).order.pk == ids[1]  # claim next: the oldest free order
    assert_exact({me: 4, other: 2, supervisor.pk: 2})

    Assignment.objects.filter(order_id=ids[6]).update(last_activity_at=timezone.now() - timedelta(days=2))
    holds_expire(idle=timedelta(hours=1))  # expiry
    assert_exact({me: 4, other: 1, supervisor.pk: 2})
    Assignment.objects.update(last_activity_at=timezone.now())  # activity: no holder changes
    assert_exact({me: 4, other: 1, supervisor.pk: 2})

    orders_status_set(actor=None, order_ids=ids[2:4], status_code="processing")  # status, holds stay
    assert_exact({me: 4, other: 1, supervisor.pk: 2})
    orders_status_set(actor=None, order_ids=ids[:4], status_code="complete")  # auto-release
    assert_exact({me: 2, other: 1})

    # An import that moves a held order into a releasing status ends its hold through the status service.
    held_number = Order.objects.values_list("number", flat=True).get(pk=ids[4])
    path = tmp_path / "nightly.jsonl"
    record = {
        "number": held_number,
        "status": "canceled",
        "customer_name": "Elena Petrova",
        "lines": [{"sku": "TEA-1", "name": "Tea", "qty": 2, "unit_price": "6.90"}],
    }
    path.write_text(json.dumps(record) + "\n", encoding="utf-8")
    call_command("import_orders", str(path), stdout=io.StringIO(), stderr=io.StringIO())
    assert_exact({me: 1, other: 1})

    orders_release(actor=operator, order_ids=ids)
    orders_release(actor=other_operator, order_ids=ids)
    assert_exact({})


def test_a_rolled_back_change_leaves_the_counts_as_they_were(operator, other_operator, supervisor):
    ids = [order.pk for order in OrderFactory.create_batch(4)]
    orders_assign(actor=operator, order_ids=ids[:2])
    with pytest.raises(RuntimeError), transaction.atomic():
        orders_assign(actor=operator, order_ids=ids[2:])
        orders_take_over(actor=supervisor, order_ids=ids[:1], reason="urgent")
        assert held_counts() == {operator.pk: 3, supervisor.pk: 1}  # the transaction sees its own counts
        raise RuntimeError("undo")
    assert_exact({operator.pk: 2})
    assert AssignmentLog.objects.count() == 2


def test_raw_sql_bulk_create_queryset_delete_and_a_moved_hold_keep_the_counts(operator, other_operator):
    ids = [order.pk for order in OrderFactory.create_batch(5)]
    now = timezone.now()
    raw(
        "INSERT INTO operators_assignment"
        " (order_id, operator_id, assigned_by_id, assigned_at, last_activity_at, order_created_at)"
        " VALUES (%s, %s, %s, %s, %s, %s), (%s, %s, %s, %s, %s, %s)",
        [
            ids[0],
            operator.pk,
            operator.pk,
            now,
            now,
            now,
            ids[1],
            other_operator.pk,
            operator.pk,
            now,
            now,
            now,
        ],
    )
    Assignment.objects.bulk_create(
        [Assignment(order_id=pk, operator=operator, assigned_by=operator) for pk in ids[2:5]]
    )
    assert_exact({operator.pk: 4, other_operator.pk: 1})
    # A change of holder written directly, both ways in one statement.
    raw(
        "UPDATE operators_assignment SET operator_id = CASE operator_id WHEN %s THEN %s ELSE %s END",
        [operator.pk, other_operator.pk, operator.pk],
    )
    assert_exact({operator.pk: 1, other_operator.pk: 4})
    raw("DELETE FROM operators_assignment WHERE order_id = %s", [ids[0]])
    Assignment.objects.filter(order_id__in=ids[2:4]).delete()
    assert_exact({operator.pk: 1, other_operator.pk: 1})
    # A held order deleted (no log row protects it here): its hold goes by the cascade.
    Order.objects.filter(pk=ids[4]).delete()
    assert_exact({operator.pk: 1})


def test_the_workload_and_the_queue_counts_read_the_counters(operator, other_operator, supervisor):
    ids = [order.pk for order in OrderFactory.create_batch(5)]
    orders_assign(actor=operator, order_ids=ids[:3])
    orders_assign(actor=supervisor, order_ids=ids[3:4], operator=other_operator)
    since = timezone.now() - timedelta(hours=1)

    loads = {load.operator.pk: load for load in operators_workload(since=since)}
    assert (loads[operator.pk].held, loads[operator.pk].taken_today) == (3, 3)
    assert loads[other_operator.pk].held == 1
    first = Assignment.objects.filter(operator=operator).order_by("assigned_at").first()
    assert loads[operator.pk].oldest_hold_at == first.assigned_at
    assert (loads[supervisor.pk].held, loads[supervisor.pk].oldest_hold_at) == (0, None)
    counts = queue_counts(operator)
    assert (counts["mine"]["count"], counts["others"]["count"], counts["open"]["count"]) == (3, 1, 1)

    # The counters are what the page shows: a counter set wrong (triggers off) shows wrong, which the check
    # reports (next test); the page does not count the holds behind it.
    OperatorHoldCount.objects.create(operator_id=operator.pk, held=4)
    assert queue_counts(operator, fresh=True)["mine"]["count"] == 7  # counted now, not the shared counts
    assert {load.operator.pk: load.held for load in operators_workload(since=since)}[operator.pk] == 7


def test_the_check_reports_a_counter_that_disagrees(operator, other_operator):
    ids = [order.pk for order in OrderFactory.create_batch(3)]
    orders_assign(actor=operator, order_ids=ids[:2])
    orders_assign(actor=other_operator, order_ids=ids[2:])
    # Nothing of the application writes the counters; a repair by hand can get them wrong.
    OperatorHoldCount.objects.create(operator_id=operator.pk, held=3)
    OperatorHoldCount.objects.create(operator_id=other_operator.pk, held=-1)

    differences = hold_count_differences()

    assert [(d.operator_id, d.counted, d.held) for d in differences] == [
        (operator.pk, 5, 2),
        (other_operator.pk, 0, 1),
    ]
    assert differences[0].message == f"{operator.username}: the held count says 5; the holds say 2"

    # The ops tool says so too, and exits 1 although the log agrees with the holds.
    out = io.StringIO()
    with pytest.raises(CommandError, match="held count") as failed:
        call_command("verify_assignment_log", stdout=out)
    assert failed.value.returncode == 1
    assert f"{other_operator.username}: the held count says 0; the holds say 1" in out.getvalue()
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("verify_assignment_log", "--json", stdout=out)
    assert json.loads(out.getvalue())["count_differences"][0]["counted"] == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # TRUNCATE refuses a table with deferred foreign-key checks pending
def test_truncating_the_holds_sets_every_count_to_zero(operator):
    orders_assign(actor=operator, order_ids=[order.pk for order in OrderFactory.create_batch(3)])
    raw("TRUNCATE operators_assignment")
    assert_exact({})
    assert not OperatorHoldCount.objects.exists()


def test_activity_counts_per_quarter_of_an_hour_and_their_check(operator, other_operator, supervisor):
    ids = [order.pk for order in OrderFactory.create_batch(4)]
    now = timezone.now()
    # Log rows in three quarters: two hours ago, 20 minutes ago (its own quarter or the one before), now.
    for minutes_ago, order_id in ((120, ids[0]), (20, ids[1])):
        orders_assign(actor=operator, order_ids=[order_id])
        AssignmentLog.objects.filter(order_id=order_id).update(at=now - timedelta(minutes=minutes_ago))
    orders_assign(actor=operator, order_ids=ids[2:])
    orders_release(actor=operator, order_ids=ids[3:])
    # Moving log rows in time (no path of the application does) leaves the counters where the rows were.
    assert activity_count_differences() != []
    for statement in _hold_count.activity_rebuild(connection.vendor):
        raw(statement)
    assert activity_count_differences() == []

    since = quarter_start(timezone.localtime(now - timedelta(minutes=30)))
    assert activity_counts(since=since) == logged_since(since) == {operator.pk: (3, 1)}
    loads = {load.operator.pk: load for load in operators_workload(since=since)}
    assert (loads[operator.pk].taken_today, loads[operator.pk].released_today) == (3, 1)
    # A `since` inside a quarter counts the log itself (exact, and as before).
    odd = now - timedelta(minutes=21)
    assert activity_counts(since=odd) == logged_since(odd) == {operator.pk: (3, 1)}
    assert activity_counts(since=now - timedelta(hours=3)) == {operator.pk: (4, 1)}

    period = OperatorActivityCount.objects.filter(operator_id=operator.pk).latest("period_start").period_start
    OperatorActivityCount.objects.create(operator_id=operator.pk, period_start=period, taken=6, released=0)
    differences = activity_count_differences()
    assert [(d.operator_id, d.counted[0] - d.logged[0]) for d in differences] == [(operator.pk, 6)]
    assert f"{operator.username}, the quarter from" in differences[0].message
    out = io.StringIO()
    with pytest.raises(CommandError, match="activity"):
        call_command("verify_assignment_log", stdout=out)
    assert f"the activity counts say taken {differences[0].counted[0]}" in out.getvalue()


def test_the_counter_rows_are_folded_every_thousand_and_stay_exact(operator, other_operator, settings):
    """Counter rows are only inserted, and every 1,000th folds them into one per operator (and quarter)."""
    ids = [order.pk for order in OrderFactory.create_batch(30)]
    for round_number in range(20):  # 20 x (assign 30 one by one, release them at once): 620+ counter rows
        actor = operator if round_number % 2 else other_operator
        for order_id in ids:
            orders_assign(actor=actor, order_ids=[order_id])
        orders_release(actor=actor, order_ids=ids[: 15 + round_number % 5])
        orders_release(actor=actor, order_ids=ids)
        assert_exact({})
    orders_assign(actor=operator, order_ids=ids[:7])
    assert_exact({operator.pk: 7})
    assert OperatorHoldCount.objects.count() < 1000  # folded at least once (over 1,200 rows were written)
    assert OperatorActivityCount.objects.count() < 1000


def test_a_fold_folds_the_latest_quarters_and_leaves_older_ones_alone(operator):
    """A fold's cost does not grow with the history: it folds the quarters its latest rows counted in
    (_hold_count.RECENT_ROWS), and rewrites no row of an older quarter."""
    history_start = quarter_start(timezone.now() - timedelta(days=60))
    # 900 quarters of an older history, as earlier folds leave it (one row each; their ids cross no multiple
    # of FOLD_EVERY, which would fold them now); then the sequence is moved to ten rows before a fold, far
    # past the history's ids.
    every = _hold_count.FOLD_EVERY
    last = OperatorActivityCount.objects.order_by("-id").values_list("id", flat=True).first() or 0
    first = (last // every + 1) * every + 1
    OperatorActivityCount.objects.bulk_create(
        OperatorActivityCount(
            id=first + i,
            operator=operator,
            period_start=history_start + timedelta(minutes=15 * i),
            taken=2,
            released=1,
        )
        for i in range(900)
    )
    before_fold = ((first + 900 + _hold_count.RECENT_ROWS) // every + 1) * every - 10
    OperatorActivityCount.objects.create(  # a zero row (a count that came and went), in a quarter of its own
        id=before_fold, operator=operator, period_start=history_start - timedelta(days=1), taken=0, released=0
    )
    if connection.vendor == "postgresql":
        table = OperatorActivityCount._meta.db_table
        raw("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, before_fold])
    older = OperatorActivityCount.objects.filter(id__lt=before_fold)
    history = dict(older.values_list("id", "period_start"))
    orders = OrderFactory.create_batch(10)
    for order in orders:  # ten log rows, ten counter rows: the tenth ends on the fold's multiple
        orders_assign(actor=operator, order_ids=[order.pk])

    assert OperatorActivityCount.objects.filter(id__gt=before_fold).count() == 1  # the ten folded into one
    assert dict(older.values_list("id", "period_start")) == history  # none rewritten
    assert not OperatorActivityCount.objects.filter(id=before_fold).exists()  # recent, zero: folded away
    since = quarter_start(timezone.now() - timedelta(hours=1))
    assert activity_counts(since=since) == logged_since(since) == {operator.pk: (10, 0)}
