"""verify_assignment_log: the log replayed against the holds; every differing order named, exit status 1."""

import json
import threading
import time
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection, connections

from operators.models import Assignment, AssignmentLog
from operators.services import orders_assign, orders_reassign, orders_release, orders_take_over
from operators.verification import assignment_log_verify
from tests.factories import AssignmentFactory, OrderFactory
from tests.replay import assert_log_replays_to_holds

Action = AssignmentLog.Action


def run(*args: str) -> str:
    out = StringIO()
    call_command("verify_assignment_log", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def refused(*args: str, returncode: int = 1) -> tuple[str, CommandError]:
    out = StringIO()
    with pytest.raises(CommandError) as error:
        call_command("verify_assignment_log", *args, stdout=out, stderr=StringIO())
    assert error.value.returncode == returncode
    return out.getvalue(), error.value


def held_by(operator, count: int) -> list:
    orders = OrderFactory.create_batch(count)
    orders_assign(actor=operator, order_ids=[order.pk for order in orders])
    return orders


def log_row_behind_the_services(order, action: str, operator, previous_operator=None) -> None:
    """A log row nobody's change wrote (bulk_create skips every check the services make)."""
    AssignmentLog.objects.bulk_create(
        [AssignmentLog(order=order, action=action, operator=operator, previous_operator=previous_operator)]
    )


@pytest.fixture
def worked_on(operator, other_operator, supervisor):
    """Three orders held after assign, release, take-over and reassignment: eight log rows, two holds."""
    orders = held_by(operator, 3)
    orders_release(actor=operator, order_ids=[orders[0].pk])
    orders_take_over(actor=supervisor, order_ids=[orders[1].pk], reason="Anna is sick")
    orders_reassign(actor=supervisor, order_ids=[orders[1].pk], operator=other_operator)
    orders_assign(actor=other_operator, order_ids=[orders[0].pk])
    orders_release(actor=other_operator, order_ids=[orders[1].pk])
    return orders


# --- agreement -------------------------------------------------------------------------------------------


def test_verify_assignment_log_agrees_after_every_kind_of_change_and_says_how_much_it_replayed(worked_on):
    out = run()

    assert out == "Assignment log agrees with the holds: 2 orders held, 8 log rows replayed.\n"


@pytest.mark.django_db
def test_verify_assignment_log_agrees_on_an_empty_database():
    assert run() == "Assignment log agrees with the holds: 0 orders held, 0 log rows replayed.\n"


# --- differences -----------------------------------------------------------------------------------------


def test_a_hold_deleted_behind_the_logs_back_is_named_and_exits_with_1(operator, worked_on):
    lost = worked_on[2]
    Assignment.objects.filter(order=lost).delete()  # QuerySet.delete() writes no log row

    out, error = refused()

    assert out == f"#{lost.number}: the log says held by anna; the holds say not held\n"
    assert str(error) == (
        "Assignment log disagrees with the holds: 1 order differs (1 order held, 8 log rows replayed)."
    )


def test_a_hold_inserted_without_a_log_row_is_named_and_exits_with_1(operator, worked_on):
    unlogged = OrderFactory()
    AssignmentFactory(order=unlogged, operator=operator)

    out, error = refused()

    assert out == f"#{unlogged.number}: the log says not held; the holds say held by anna\n"
    assert "1 order differs (3 orders held, 8 log rows replayed)" in str(error)


def test_a_hold_moved_behind_the_logs_back_names_both_holders(operator, other_operator, worked_on):
    moved = worked_on[2]
    Assignment.objects.filter(order=moved).update(operator=other_operator)

    out, _error = refused()

    assert out == f"#{moved.number}: the log says held by anna; the holds say held by ivan\n"


def test_every_differing_order_is_listed_in_order_of_id(operator, other_operator):
    orders = held_by(operator, 4)
    Assignment.objects.filter(order__in=[orders[0], orders[2]]).delete()
    AssignmentFactory(order=OrderFactory(), operator=other_operator)

    out, error = refused()

    lines = out.splitlines()
    assert [line.split(":")[0] for line in lines] == [
        f"#{orders[0].number}",
        f"#{orders[2].number}",
        f"#{Assignment.objects.get(operator=other_operator).order.number}",
    ]
    assert "3 orders differ" in str(error)


def test_an_assigned_row_for_an_order_already_held_is_a_contradiction_even_when_the_holders_agree(
    operator, worked_on
):
    order = worked_on[2]
    log_row_behind_the_services(order, Action.ASSIGNED, operator)
    row = AssignmentLog.objects.latest("id")

    out, error = refused()

    assert out == (
        f"#{order.number}: the log says held by anna; the holds say held by anna\n"
        f"    log row {row.pk}: assigned to anna while held by anna\n"
    )
    assert "1 order differs (2 orders held, 9 log rows replayed)" in str(error)


def test_an_assigned_row_for_an_order_held_by_someone_else_is_named_with_both_holders(
    operator, other_operator
):
    (order,) = held_by(operator, 1)
    log_row_behind_the_services(order, Action.ASSIGNED, other_operator)
    row = AssignmentLog.objects.latest("id")

    out, _error = refused()

    # The row is taken at its word (ivan holds it by the log): the next rows are judged from there.
    assert out == (
        f"#{order.number}: the log says held by ivan; the holds say held by anna\n"
        f"    log row {row.pk}: assigned to ivan while held by anna\n"
    )


@pytest.mark.parametrize(
    ("action", "previous", "says"),
    [
        (Action.RELEASED, None, "released from ivan while not held"),
        (Action.EXPIRED, None, "expired from ivan while not held"),
        (Action.TAKEN_OVER, "anna", "taken over from anna to ivan while not held"),
        (Action.REASSIGNED, None, "reassigned from nobody to ivan while not held"),
    ],
)
def test_a_release_or_move_of_a_hold_that_was_not_there_is_a_contradiction(
    operator, other_operator, action, previous, says
):
    order = OrderFactory()
    log_row_behind_the_services(order, action, other_operator, operator if previous else None)
    row = AssignmentLog.objects.latest("id")

    out, _error = refused()

    assert f"    log row {row.pk}: {says}\n" in out


def test_a_release_by_someone_who_did_not_hold_it_is_a_contradiction(operator, other_operator):
    (order,) = held_by(operator, 1)
    log_row_behind_the_services(order, Action.RELEASED, other_operator)
    Assignment.objects.filter(order=order).delete()
    row = AssignmentLog.objects.latest("id")

    out, _error = refused()

    assert out == (
        f"#{order.number}: the log says not held; the holds say not held\n"
        f"    log row {row.pk}: released from ivan while held by anna\n"
    )


def test_a_contradiction_inserted_with_raw_sql_is_found(operator, worked_on):
    order = worked_on[2]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {AssignmentLog._meta.db_table} (order_id, action, operator_id, at, reason)"
            " VALUES (%s, %s, %s, %s, '')",
            [
                order.pk,
                Action.ASSIGNED.value,
                operator.pk,
                connection.ops.adapt_datetimefield_value(order.created_at),
            ],
        )

    out, _error = refused()

    assert out.startswith(f"#{order.number}: the log says held by anna; the holds say held by anna\n")
    assert "assigned to anna while held by anna" in out


# --- JSON ------------------------------------------------------------------------------------------------


def test_verify_assignment_log_json_on_agreement(worked_on):
    summary = json.loads(run("--json"))

    assert summary == {
        "differences": [],
        "marker_differences": [],
        "count_differences": [],
        "agrees": True,
        "orders_requested": None,
        "orders_replayed": 3,
        "orders_held": 2,
        "log_rows": 8,
        "orders_differing": 0,
        "summary": "Assignment log agrees with the holds: 2 orders held, 8 log rows replayed.",
    }


def test_verify_assignment_log_json_lists_the_differences_with_their_contradictions(
    operator, other_operator, worked_on
):
    lost, doubled = worked_on[0], worked_on[2]
    Assignment.objects.filter(order=lost).delete()
    log_row_behind_the_services(doubled, Action.ASSIGNED, other_operator)
    row = AssignmentLog.objects.latest("id")

    out, _error = refused("--json")
    summary = json.loads(out)

    assert summary["agrees"] is False
    assert (summary["orders_differing"], summary["orders_held"], summary["log_rows"]) == (2, 1, 9)
    assert summary["differences"] == [
        {
            "order": lost.number,
            "order_id": lost.pk,
            "log_holder": "ivan",
            "holder": None,
            "contradictions": [],
        },
        {
            "order": doubled.number,
            "order_id": doubled.pk,
            "log_holder": "ivan",
            "holder": "anna",
            "contradictions": [
                {
                    "log_row": row.pk,
                    "action": "assigned",
                    "operator": "ivan",
                    "previous_operator": None,
                    "held_by": "anna",
                    "message": f"log row {row.pk}: assigned to ivan while held by anna",
                }
            ],
        },
    ]


# --- --order ---------------------------------------------------------------------------------------------


def test_verify_assignment_log_order_verifies_only_the_orders_named(operator, worked_on):
    lost, other_lost = worked_on[2], held_by(operator, 1)[0]
    Assignment.objects.filter(order__in=[lost, other_lost]).delete()

    out, error = refused("--order", lost.number, "--order", f"#{lost.number}")

    assert out == f"#{lost.number}: the log says held by anna; the holds say not held\n"
    assert str(error) == (
        "Assignment log disagrees with the holds for 1 order: 1 order differs"
        " (0 orders held, 1 log row replayed)."
    )


def test_verify_assignment_log_order_agrees_for_orders_that_agree_while_others_differ(operator, worked_on):
    Assignment.objects.filter(order=worked_on[2]).delete()

    out = run("--order", worked_on[0].number, "--order", worked_on[1].number, "--json")

    summary = json.loads(out)
    assert (summary["agrees"], summary["orders_requested"], summary["orders_held"]) == (True, 2, 1)
    assert summary["log_rows"] == 7


def test_verify_assignment_log_order_refuses_an_unknown_number_with_exit_status_2(worked_on):
    out, error = refused("--order", worked_on[0].number, "--order", "999999", returncode=2)

    assert out == ""
    assert "Unknown order '#999999'" in str(error)


# --- streaming and the tests' wrapper --------------------------------------------------------------------


def test_the_replay_merges_log_and_holds_across_chunk_boundaries(operator, other_operator):
    """Holds without log rows before, between and after the logged orders, read two rows at a time."""
    before = OrderFactory()
    held_by(operator, 3)
    between = OrderFactory()
    released = held_by(other_operator, 2)
    after = OrderFactory()
    orders_release(actor=other_operator, order_ids=[order.pk for order in released])
    for order in (before, between, after):
        AssignmentFactory(order=order, operator=other_operator)

    verification = assignment_log_verify(chunk_size=2)

    assert [(d.order_id, d.log_holder, d.holder) for d in verification.differences] == [
        (before.pk, None, "ivan"),
        (between.pk, None, "ivan"),
        (after.pk, None, "ivan"),
    ]
    assert (verification.orders_replayed, verification.orders_held, verification.log_rows) == (8, 6, 7)


def test_verification_reads_a_bounded_number_of_queries(operator, django_assert_max_num_queries):
    orders = held_by(operator, 30)
    Assignment.objects.filter(order__in=orders[::2]).delete()

    with django_assert_max_num_queries(4):  # log rows, holds, the differing orders' numbers, usernames
        verification = assignment_log_verify(chunk_size=7)

    assert verification.orders_differing == 15


def test_verification_lists_at_most_max_listed_and_counts_them_all(operator):
    orders = held_by(operator, 5)
    Assignment.objects.filter(order__in=orders).delete()

    verification = assignment_log_verify(max_listed=2)

    assert [d.order_id for d in verification.differences] == [orders[0].pk, orders[1].pk]
    assert verification.orders_differing == 5


def test_assert_log_replays_to_holds_fails_with_a_message_naming_the_order(operator):
    orders = held_by(operator, 2)
    Assignment.objects.filter(order=orders[1]).delete()

    assert_log_replays_to_holds(order_ids=[orders[0].pk])
    with pytest.raises(AssertionError) as failure:
        assert_log_replays_to_holds()

    assert str(failure.value) == (
        "Assignment log disagrees with the holds: 1 order differs (1 order held, 2 log rows replayed).\n"
        f"#{orders[1].number}: the log says held by anna; the holds say not held"
    )


# --- outside a transaction, while operators work ---------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_verify_assignment_log_outside_a_transaction_reads_its_own_snapshot(operator):
    """What cron runs: no caller's transaction (PostgreSQL: one REPEATABLE READ snapshot; SQLite: none)."""
    orders = held_by(operator, 3)
    assert run() == "Assignment log agrees with the holds: 3 orders held, 3 log rows replayed.\n"

    Assignment.objects.filter(order=orders[1]).delete()
    out, _error = refused()
    assert out == f"#{orders[1].number}: the log says held by anna; the holds say not held\n"


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_verification_agrees_while_operators_assign_and_release(operator, other_operator):
    """The log and the holds are read in one snapshot: a change committed while a replay runs is in both
    streams or in neither, never reported as a difference."""
    ids = [order.pk for order in OrderFactory.create_batch(40)]
    stop = threading.Event()
    errors: list[str] = []
    changes = [0, 0]

    def work(index: int, user, order_ids: list[int]) -> None:
        try:
            me = get_user_model().objects.get(pk=user.pk)
            while not stop.is_set():
                orders_assign(actor=me, order_ids=order_ids)
                orders_release(actor=me, order_ids=order_ids)
                changes[index] += 1
        except BaseException as error:
            errors.append(repr(error))
        finally:
            connections.close_all()

    workers = [
        threading.Thread(target=work, args=(0, operator, ids[:25]), daemon=True),
        threading.Thread(target=work, args=(1, other_operator, ids[15:]), daemon=True),
    ]
    for worker in workers:
        worker.start()
    verifications = []
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        verifications.append(assignment_log_verify())
    stop.set()
    for worker in workers:
        worker.join(timeout=30)

    assert not errors
    assert min(changes) > 0
    disagreements = [verification.summary() for verification in verifications if not verification.agrees]
    assert not disagreements, f"{len(disagreements)} of {len(verifications)} replays: {disagreements[:3]}"
    assert_log_replays_to_holds()
