"""expire_holds: releases holds idle past the timeout (setting or --idle); dry run, JSON, batches, cron."""

import json
import os
import subprocess
import sys
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from operators.management.commands import expire_holds
from operators.models import Assignment, AssignmentLog
from operators.services import orders_assign
from orders.models import Order
from tests.factories import OrderFactory
from tests.replay import assert_log_replays_to_holds

Action = AssignmentLog.Action
REPO = Path(__file__).resolve().parents[2]


def run(*args: str) -> str:
    out = StringIO()
    call_command("expire_holds", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def held_by(operator, count: int, *, idle: timedelta) -> list[Order]:
    """`count` orders taken by `operator` (hold and log row), last worked on `idle` ago."""
    orders = OrderFactory.create_batch(count)
    orders_assign(actor=operator, order_ids=[order.pk for order in orders])
    Assignment.objects.filter(order__in=orders).update(last_activity_at=timezone.now() - idle)
    return orders


def holds() -> set[int]:
    return set(Assignment.objects.values_list("order_id", flat=True))


def expired() -> list[AssignmentLog]:
    return list(AssignmentLog.objects.filter(action=Action.EXPIRED).order_by("order_id"))


@pytest.fixture
def eight_hours(settings):
    settings.ORDEROPS = {"HOLD_IDLE_TIMEOUT": timedelta(hours=8)}


@pytest.mark.django_db
def test_expire_holds_releases_holds_idle_past_the_configured_timeout_logged_as_expired(
    eight_hours, operator, other_operator
):
    stale = held_by(operator, 2, idle=timedelta(hours=9)) + held_by(
        other_operator, 1, idle=timedelta(hours=10)
    )
    fresh = held_by(operator, 1, idle=timedelta(hours=7))

    output = run()

    assert holds() == {fresh[0].pk}
    assert [entry.order_id for entry in expired()] == sorted(order.pk for order in stale)
    assert {entry.actor_id for entry in expired()} == {None}
    assert "Expired 3 holds idle for more than 8h." in output
    assert "anna (Anna): expired 2" in output
    assert "ivan (Ivan): expired 1" in output
    assert_log_replays_to_holds()


@pytest.mark.django_db
def test_expire_holds_idle_option_overrides_the_setting(eight_hours, operator):
    held_by(operator, 1, idle=timedelta(hours=3))
    recent = held_by(operator, 1, idle=timedelta(minutes=30))
    run("--idle", "2h")
    assert holds() == {recent[0].pk}


@pytest.mark.django_db
def test_expire_holds_works_with_a_timeout_given_in_seconds(settings, operator):
    settings.ORDEROPS = {"HOLD_IDLE_TIMEOUT": 3600}
    held_by(operator, 1, idle=timedelta(hours=2))
    assert "Expired 1 hold idle for more than 1h." in run()
    assert holds() == set()


@pytest.mark.django_db
def test_expire_holds_without_a_timeout_says_so_and_changes_nothing(operator):
    held_by(operator, 2, idle=timedelta(days=30))
    output = run()
    assert "No idle timeout is configured (ORDEROPS HOLD_IDLE_TIMEOUT) and no --idle was given" in output
    assert len(holds()) == 2
    assert json.loads(run("--json")) == {
        "idle": None,
        "expired": 0,
        "message": expire_holds.NO_TIMEOUT_MESSAGE,
    }


@pytest.mark.django_db
def test_expire_holds_says_so_when_no_hold_is_idle_enough(eight_hours, operator):
    held_by(operator, 1, idle=timedelta(hours=1))
    assert "No hold has been idle for more than 8h; nothing expired." in run()
    assert len(holds()) == 1


@pytest.mark.django_db
def test_expire_holds_dry_run_lists_exactly_what_the_real_run_expires(eight_hours, operator, other_operator):
    held_by(operator, 3, idle=timedelta(hours=9))
    held_by(other_operator, 2, idle=timedelta(days=2))
    held_by(operator, 2, idle=timedelta(hours=1))
    log_before = AssignmentLog.objects.count()

    dry = run("--dry-run")
    assert AssignmentLog.objects.count() == log_before and len(holds()) == 7
    would = {line.split()[2].rstrip(":") for line in dry.splitlines() if line.startswith("would expire #")}

    real = run("--batch-size", "2", "-v", "2")
    done = {line.split()[1].rstrip(":") for line in real.splitlines() if line.startswith("expired #")}
    logged = {"#" + entry.order.number for entry in expired()}
    assert len(would) == 5
    assert would == done == logged
    assert "Dry run: would expire 5 holds idle for more than 8h; nothing was changed." in dry


@pytest.mark.django_db
def test_expire_holds_expires_everything_in_batches(eight_hours, operator):
    held_by(operator, 5, idle=timedelta(hours=9))
    summary = json.loads(run("--batch-size", "2", "--json"))
    assert summary["expired"] == 5
    assert summary["batches"] == 3
    assert summary["completed"] is True
    assert summary["idle"] == "8h"
    assert summary["by_operator"] == [{"operator": "anna", "name": "Anna", "holds": 5}]
    assert holds() == set()


@pytest.mark.django_db
def test_expire_holds_json_dry_run_counts_without_changing_anything(eight_hours, operator):
    held_by(operator, 2, idle=timedelta(hours=9))
    summary = json.loads(run("--dry-run", "--json"))
    assert summary["dry_run"] is True
    assert summary["would_expire"] == 2
    assert len(holds()) == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--idle", "soon"), "'soon' is not a duration"),
        (("--idle", "0m"), "not a duration longer than zero"),
        (("--batch-size", "0"), "--batch-size must be between 1 and"),
    ],
)
def test_expire_holds_refuses_bad_options_and_changes_nothing(eight_hours, operator, args, message):
    held_by(operator, 2, idle=timedelta(days=1))
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert len(holds()) == 2
    assert not expired()


@pytest.mark.django_db
def test_expire_holds_stopped_by_an_error_keeps_earlier_batches_and_says_how_far(
    eight_hours, operator, monkeypatch
):
    held_by(operator, 4, idle=timedelta(hours=9))
    real_expire = expire_holds.holds_expire
    calls = []

    def failing_second_batch(**kwargs):
        calls.append(kwargs)
        if len(calls) == 2:
            raise RuntimeError("lost the connection")
        return real_expire(**kwargs)

    monkeypatch.setattr(expire_holds, "holds_expire", failing_second_batch)
    with pytest.raises(CommandError) as stopped:
        run("--batch-size", "2")
    assert "Stopped in batch 2 (RuntimeError: lost the connection). 2 holds expired" in str(stopped.value)
    assert len(expired()) == 2
    assert len(holds()) == 2
    assert_log_replays_to_holds()


def test_expire_holds_from_cron_without_a_timeout_exits_zero_with_the_message(tmp_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
    }
    finished = subprocess.run(
        [sys.executable, "manage.py", "expire_holds", "--skip-checks"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 0, finished.stderr
    assert "No idle timeout is configured" in finished.stdout
