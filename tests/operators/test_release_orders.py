"""release_orders: bulk release by operator, status, age or number; its errors, dry run, JSON and batches."""

import json
import os
import random
import subprocess
import sys
import threading
import time
import traceback
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connections
from django.utils import timezone

from operators.models import Assignment, AssignmentLog
from operators.services import orders_assign, orders_release, orders_take_over
from operators.services import selection as hold_selection
from orders.models import Order, OrderStatus
from orders.services import orders_status_set
from tests.factories import OperatorFactory, OrderFactory, SupervisorFactory
from tests.replay import assert_log_replays_to_holds

Action = AssignmentLog.Action
REPO = Path(__file__).resolve().parents[2]


class Terminal(StringIO):
    def isatty(self) -> bool:
        return True


def run(*args: str, stderr=None) -> str:
    out = StringIO()
    call_command("release_orders", *args, stdout=out, stderr=stderr or StringIO())
    return out.getvalue()


def held_by(operator, count: int, *, status: str = "pending") -> list[Order]:
    """`count` new orders, each taken by `operator` through the assign service (hold and log row)."""
    orders = OrderFactory.create_batch(count, status=OrderStatus.objects.get(code=status))
    result = orders_assign(actor=operator, order_ids=[order.pk for order in orders])
    assert len(result.done) == count
    return orders


def holds() -> dict[int, int]:
    return dict(Assignment.objects.values_list("order_id", "operator_id"))


def state() -> tuple:
    """What a command must leave alone when it refuses: the holds and the whole log."""
    return holds(), list(AssignmentLog.objects.values_list("id", flat=True))


def command_releases() -> list[AssignmentLog]:
    return list(AssignmentLog.objects.filter(action=Action.RELEASED, actor__isnull=True).order_by("order_id"))


@pytest.fixture
def maria(roles):
    return OperatorFactory(username="maria", first_name="Maria")


# --- what gets released -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_release_orders_by_operator_releases_only_their_holds_logged_as_the_system(operator, other_operator):
    annas = held_by(operator, 3)
    ivans = held_by(other_operator, 2)

    output = run("--operator", "anna")

    assert set(holds()) == {order.pk for order in ivans}
    released = command_releases()
    assert [entry.order_id for entry in released] == sorted(order.pk for order in annas)
    assert {(entry.operator_id, entry.actor_id, entry.reason) for entry in released} == {
        (operator.pk, None, "released by release_orders")
    }
    assert "Released 3 holds in 1 batch" in output
    assert "anna (Anna): released 3, oldest held since" in output
    assert_log_replays_to_holds()


@pytest.mark.django_db
def test_release_orders_reason_goes_into_every_log_row(operator):
    held_by(operator, 2)
    run("--operator", "anna", "--reason", "Anna is sick")
    assert {entry.reason for entry in command_releases()} == {"release_orders: Anna is sick"}


@pytest.mark.django_db
def test_release_orders_repeated_operator_releases_holds_of_each(operator, other_operator, maria):
    held_by(operator, 2)
    held_by(other_operator, 2)
    marias = held_by(maria, 1)
    run("--operator", "anna", "--operator", "ivan")
    assert set(holds()) == {marias[0].pk}


@pytest.mark.django_db
def test_release_orders_by_status_releases_holds_on_orders_in_that_status(operator):
    pending = held_by(operator, 2, status="pending")
    on_hold = held_by(operator, 2, status="on_hold")
    run("--status", "on_hold")
    assert set(holds()) == {order.pk for order in pending}
    assert {entry.order_id for entry in command_releases()} == {order.pk for order in on_hold}


@pytest.mark.django_db
def test_release_orders_older_than_releases_holds_taken_before_the_cutoff(operator):
    old, recent = held_by(operator, 1)[0], held_by(operator, 1)[0]
    Assignment.objects.filter(order=old).update(assigned_at=timezone.now() - timedelta(hours=9))
    Assignment.objects.filter(order=recent).update(assigned_at=timezone.now() - timedelta(hours=7))
    run("--older-than", "8h")
    assert set(holds()) == {recent.pk}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("older_than", "released_age", "kept_age", "shown"),
    [
        ("90m", timedelta(minutes=100), timedelta(minutes=80), "1h30m"),
        ("1d12h", timedelta(hours=37), timedelta(hours=35), "1d12h"),
    ],
)
def test_release_orders_older_than_reads_minutes_and_combined_units(
    operator, older_than, released_age, kept_age, shown
):
    old, recent = held_by(operator, 2)
    Assignment.objects.filter(order=old).update(assigned_at=timezone.now() - released_age)
    Assignment.objects.filter(order=recent).update(assigned_at=timezone.now() - kept_age)
    summary = json.loads(run("--older-than", older_than, "--json"))
    assert set(holds()) == {recent.pk}
    assert summary["selection"]["older_than"] == shown


@pytest.mark.django_db
def test_release_orders_by_number_releases_those_and_names_orders_nobody_holds(operator):
    first, second, third = held_by(operator, 3)
    free = OrderFactory()
    output = run("--order", first.number, "--order", f"#{second.number}", "--order", free.number)
    assert set(holds()) == {third.pk}
    assert f"Not held by anyone: #{free.number}." in output


@pytest.mark.django_db
def test_release_orders_selectors_combine_so_a_hold_must_match_each(operator, other_operator):
    annas_on_hold = held_by(operator, 1, status="on_hold")
    held_by(operator, 1, status="pending")
    held_by(other_operator, 1, status="on_hold")
    run("--operator", "anna", "--status", "on_hold")
    assert [entry.order_id for entry in command_releases()] == [annas_on_hold[0].pk]


@pytest.mark.django_db
def test_release_orders_all_releases_every_hold(operator, other_operator):
    held_by(operator, 2)
    held_by(other_operator, 3)
    output = run("--all")
    assert holds() == {}
    assert len(command_releases()) == 5
    assert "Released 5 holds" in output
    assert_log_replays_to_holds()


@pytest.mark.django_db
def test_release_orders_says_so_when_nothing_matches(operator, other_operator):
    held_by(other_operator, 1)
    output = run("--operator", "anna")
    assert "No hold matches the selection; nothing was released." in output
    assert len(holds()) == 1


# --- refusals: a clear error, a non-zero exit, nothing changed ------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "Say which holds to release"),
        (("--all", "--operator", "anna"), "cannot be combined"),
        (("--operator", "anna", "--operator", "anan"), "Unknown operator 'anan'"),
        (("--status", "shipped"), "Unknown status 'shipped'; the statuses are pending"),
        (("--order", "999999"), "Unknown order '#999999'"),
        (("--older-than", "8 hours"), "'8 hours' is not a duration"),
        (("--older-than", "0h"), "not a duration longer than zero"),
        (("--all", "--batch-size", "0"), "--batch-size must be between 1 and"),
        (("--all", "--reason", "  "), "--reason cannot be empty"),
    ],
)
def test_release_orders_refuses_bad_input_naming_it_and_changes_nothing(operator, args, message):
    held_by(operator, 2)
    before = state()
    with pytest.raises(CommandError, match=message) as refused:
        run(*args)
    assert refused.value.returncode == 1
    assert state() == before


@pytest.mark.django_db
def test_release_orders_batch_size_above_bulk_max_orders_is_refused(operator, settings):
    settings.ORDEROPS = {"BULK_MAX_ORDERS": 5}
    held_by(operator, 1)
    with pytest.raises(CommandError, match="between 1 and 5"):
        run("--all", "--batch-size", "6")
    assert len(holds()) == 1


def test_release_orders_on_the_command_line_exits_non_zero_with_the_reason(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
    }
    finished = subprocess.run(
        [sys.executable, "manage.py", "release_orders", "--skip-checks"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 1
    assert "Say which holds to release" in finished.stderr
    assert finished.stdout == ""


# --- dry run, listing, JSON, progress --------------------------------------------------------------------


@pytest.mark.django_db
def test_release_orders_dry_run_lists_exactly_what_the_real_run_releases(operator, other_operator):
    held_by(operator, 4, status="pending")
    held_by(operator, 2, status="processing")
    held_by(other_operator, 3, status="pending")
    selection = ("--operator", "anna", "--status", "pending", "--batch-size", "3")
    before = state()

    dry = run(*selection, "--dry-run")
    assert state() == before
    would = {line.split()[2].rstrip(":") for line in dry.splitlines() if line.startswith("would release #")}

    real = run(*selection, "-v", "2")
    released = {line.split()[1].rstrip(":") for line in real.splitlines() if line.startswith("released #")}
    logged = {"#" + entry.order.number for entry in command_releases()}
    assert len(would) == 4
    assert would == released == logged
    assert "Dry run: would release 4 holds; nothing was changed." in dry
    assert "anna (Anna): would release 4, oldest held since" in dry


@pytest.mark.django_db
def test_release_orders_json_summary_counts_holds_per_operator(operator, other_operator):
    held_by(operator, 3)
    held_by(other_operator, 1)
    summary = json.loads(run("--all", "--json", "--batch-size", "2"))
    assert summary["released"] == 4
    assert summary["batches"] == 2
    assert summary["completed"] is True
    assert summary["error"] is None
    assert summary["reason"] == "released by release_orders"
    assert summary["selection"]["all"] is True
    assert [(entry["operator"], entry["holds"]) for entry in summary["by_operator"]] == [
        ("anna", 3),
        ("ivan", 1),
    ]
    assert all(entry["oldest_held_since"] for entry in summary["by_operator"])


@pytest.mark.django_db
def test_release_orders_json_dry_run_reports_what_would_be_released(operator):
    held_by(operator, 2)
    summary = json.loads(run("--operator", "anna", "--json", "--dry-run"))
    assert summary["dry_run"] is True
    assert summary["would_release"] == 2
    assert len(holds()) == 2


@pytest.mark.django_db
def test_release_orders_draws_a_progress_bar_only_on_a_terminal(operator):
    held_by(operator, 3)
    piped = StringIO()
    run("--operator", "anna", "--batch-size", "1", stderr=piped)
    assert piped.getvalue() == ""

    held_by(operator, 3)
    terminal = Terminal()
    output = run("--operator", "anna", "--batch-size", "1", stderr=terminal)
    assert "releasing [" in terminal.getvalue()
    assert "\n" not in terminal.getvalue()  # one line, redrawn in place and cleared at the end
    assert "releasing" not in output  # the summary on stdout stays clean


# --- batches, failures, holds that change meanwhile -----------------------------------------------------


@pytest.mark.django_db
def test_release_orders_stopped_by_an_error_keeps_earlier_batches_and_says_how_far(operator, monkeypatch):
    orders = held_by(operator, 5)
    real_release = hold_selection.holds_release
    calls = []

    def failing_second_batch(**kwargs):
        calls.append(kwargs["order_ids"])
        if len(calls) == 2:
            raise RuntimeError("database went away")
        return real_release(**kwargs)

    monkeypatch.setattr(hold_selection, "holds_release", failing_second_batch)
    out = StringIO()
    with pytest.raises(CommandError) as stopped:
        call_command("release_orders", "--all", "--batch-size", "2", stdout=out, stderr=StringIO())

    message = str(stopped.value)
    assert "Stopped in batch 2 (RuntimeError: database went away)" in message
    assert "Batches 1 to 1 are done (2 holds released" in message
    assert "batch 2 changed nothing" in message
    assert stopped.value.returncode == 1
    assert set(holds()) == {order.pk for order in orders[2:]}
    assert "Released 2 holds before the error" in out.getvalue()
    assert_log_replays_to_holds()


@pytest.mark.django_db
def test_release_orders_stopped_in_the_first_batch_released_nothing(operator, monkeypatch):
    held_by(operator, 2)
    before = state()

    def failing(**kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(hold_selection, "holds_release", failing)
    with pytest.raises(CommandError, match=r"first batch \(RuntimeError: boom\)\. Nothing was released"):
        run("--all", "--json")
    assert state() == before


@pytest.mark.django_db
def test_release_orders_leaves_a_hold_taken_over_after_it_was_selected(operator, supervisor, monkeypatch):
    """A batch is read without locks; a take-over between the read and the release must win."""
    first, second = held_by(operator, 2)
    real_lock = hold_selection.orders_locked

    def take_over_first_then_lock(order_ids):
        if Assignment.objects.filter(order=first, operator=operator).exists():
            orders_take_over(actor=supervisor, order_ids=[first.pk], reason="customer called")
        return real_lock(order_ids)

    monkeypatch.setattr(hold_selection, "orders_locked", take_over_first_then_lock)
    summary = json.loads(run("--operator", "anna", "--json"))

    assert holds() == {first.pk: supervisor.pk}
    assert summary["released"] == 1
    assert summary["changed_meanwhile"] == 1
    assert [entry.order_id for entry in command_releases()] == [second.pk]
    assert_log_replays_to_holds()


@pytest.mark.django_db
def test_release_orders_counts_a_hold_released_by_someone_else_meanwhile(operator, monkeypatch):
    first, _second = held_by(operator, 2)
    real_lock = hold_selection.orders_locked

    def release_first_then_lock(order_ids):
        orders_release(actor=operator, order_ids=[first.pk])
        return real_lock(order_ids)

    monkeypatch.setattr(hold_selection, "orders_locked", release_first_then_lock)
    output = run("--operator", "anna")
    assert "Released 1 hold in 1 batch" in output
    assert "1 hold ended while the command ran" in output
    assert holds() == {}
    assert_log_replays_to_holds()


@pytest.mark.django_db
def test_release_orders_by_status_leaves_an_order_whose_status_changed_meanwhile(
    supervisor, operator, monkeypatch
):
    first, second = held_by(operator, 2, status="on_hold")
    real_lock = hold_selection.orders_locked

    def move_first_then_lock(order_ids):
        orders_status_set(actor=supervisor, order_ids=[first.pk], status_code="processing")
        return real_lock(order_ids)

    monkeypatch.setattr(hold_selection, "orders_locked", move_first_then_lock)
    run("--status", "on_hold")
    assert holds() == {first.pk: operator.pk}
    assert [entry.order_id for entry in command_releases()] == [second.pk]


# --- concurrency (PostgreSQL) ---------------------------------------------------------------------------


def _in_threads(workers) -> list:
    """Each worker on its own thread and connection, started together; fails on any error or hang."""
    barrier = threading.Barrier(len(workers))
    results, errors = [None] * len(workers), []

    def run_worker(index, worker):
        try:
            barrier.wait(timeout=30)
            results[index] = worker()
        except BaseException as error:
            errors.append(f"worker {index}: {error!r}\n{traceback.format_exc()}")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run_worker, args=(i, w), daemon=True) for i, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a worker did not finish"
    assert not errors, "\n".join(errors)
    return results


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_release_orders_while_operators_assign_and_a_supervisor_takes_over_keeps_holds_and_log_consistent(
    roles,
):
    anna = OperatorFactory(username="anna")
    ivan = OperatorFactory(username="ivan")
    maria = OperatorFactory(username="maria")
    boss = SupervisorFactory(username="boss")
    annas = [order.pk for order in held_by(anna, 60)]
    free = [order.pk for order in OrderFactory.create_batch(60)]
    taken_by_boss = random.Random(7).sample(annas, 15)

    def command():
        out = StringIO()
        call_command("release_orders", "--operator", "anna", "--json", "--batch-size", "7", stdout=out)
        return json.loads(out.getvalue())

    def operator_works(user, seed):
        rng = random.Random(seed)
        for _round in range(15):
            orders_assign(actor=type(user).objects.get(pk=user.pk), order_ids=rng.sample(free, 4))
            mine = list(Assignment.objects.filter(operator=user).values_list("order_id", flat=True)[:2])
            orders_release(actor=type(user).objects.get(pk=user.pk), order_ids=mine)
            time.sleep(0.002)

    def supervisor_takes_over():
        for order_id in taken_by_boss:
            orders_take_over(
                actor=type(boss).objects.get(pk=boss.pk), order_ids=[order_id], reason="escalated"
            )
            time.sleep(0.002)

    summary, *_rest = _in_threads(
        [command, lambda: operator_works(ivan, 1), lambda: operator_works(maria, 2), supervisor_takes_over]
    )

    assert_log_replays_to_holds()
    # Nobody gives Anna holds while it runs, so none of hers survives it...
    assert not Assignment.objects.filter(operator=anna).exists()
    # ...and it releases Anna's holds only: never a hold that moved to someone else meanwhile.
    by_command = AssignmentLog.objects.filter(action=Action.RELEASED, reason="released by release_orders")
    assert set(by_command.values_list("operator_id", flat=True)) == {anna.pk}
    assert by_command.count() == summary["released"]
    # Each of Anna's holds ended exactly once: released by the command, or taken over by the supervisor.
    taken_from_anna = AssignmentLog.objects.filter(action=Action.TAKEN_OVER, previous_operator=anna)
    assert by_command.count() + taken_from_anna.count() == len(annas)
    # Whatever the interleaving, every order the supervisor went for is his at the end.
    assert all(holds().get(order_id) == boss.pk for order_id in taken_by_boss)
    assert summary["completed"] is True
