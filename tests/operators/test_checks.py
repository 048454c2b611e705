"""ORDEROPS is validated at start-up: a bad value fails `manage.py check` naming the key."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from operators.checks import check_orderops_settings


def messages(settings_value, settings) -> list[str]:
    settings.ORDEROPS = settings_value
    return [problem.msg for problem in check_orderops_settings()]


@pytest.mark.django_db
def test_default_settings_pass(settings):
    assert messages({}, settings) == []
    assert (
        messages(
            {
                "MAX_HELD_PER_OPERATOR": 20,
                "HOLD_IDLE_TIMEOUT": timedelta(hours=8),
                "EDIT_REQUIRES_HOLD": False,
                "PHONE_REGION": "DE",
                "SEARCH_MAX_WORDS": 12,
                "QUEUE_COUNTS_SHARED_FOR": 0,
            },
            settings,
        )
        == []
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ({"MAX_HELD": 3}, "ORDEROPS['MAX_HELD'] is not a setting orderops knows."),
        ({"MAX_HELD_PER_OPERATOR": 0}, "ORDEROPS['MAX_HELD_PER_OPERATOR'] must be None or a whole number"),
        ({"MAX_HELD_PER_OPERATOR": "5"}, "ORDEROPS['MAX_HELD_PER_OPERATOR'] must be None or a whole number"),
        ({"HOLD_IDLE_TIMEOUT": "8h"}, "ORDEROPS['HOLD_IDLE_TIMEOUT'] must be None, a positive timedelta"),
        (
            {"HOLD_IDLE_TIMEOUT": timedelta(0)},
            "ORDEROPS['HOLD_IDLE_TIMEOUT'] must be None, a positive timedelta",
        ),
        ({"EDIT_REQUIRES_HOLD": "yes"}, "ORDEROPS['EDIT_REQUIRES_HOLD'] must be True or False"),
        ({"CLAIMABLE_STATUSES": "pending"}, "ORDEROPS['CLAIMABLE_STATUSES'] must be a non-empty list"),
        ({"CLAIMABLE_STATUSES": []}, "ORDEROPS['CLAIMABLE_STATUSES'] must be a non-empty list"),
        (
            {"CLAIMABLE_STATUSES": ["pending", "shipped"]},
            "ORDEROPS['CLAIMABLE_STATUSES'] names order statuses that do not exist: shipped.",
        ),
        ({"COMMENT_MAX_LENGTH": None}, "ORDEROPS['COMMENT_MAX_LENGTH'] must be a whole number"),
        (
            {"PHONE_REGION": "Bulgaria"},
            "ORDEROPS['PHONE_REGION'] must be a region code that phonenumbers knows",
        ),
        ({"PHONE_REGION": "bg"}, "ORDEROPS['PHONE_REGION'] must be a region code that phonenumbers knows"),
        ({"SEARCH_MAX_WORDS": 0}, "ORDEROPS['SEARCH_MAX_WORDS'] must be a whole number of at least 1"),
        ({"SEARCH_MAX_LENGTH": "100"}, "ORDEROPS['SEARCH_MAX_LENGTH'] must be a whole number of at least 1"),
        ({"QUEUE_COUNTS_SHARED_FOR": -1}, "ORDEROPS['QUEUE_COUNTS_SHARED_FOR'] must be 0 or a positive"),
        ({"QUEUE_COUNTS_SHARED_FOR": None}, "ORDEROPS['QUEUE_COUNTS_SHARED_FOR'] must be 0 or a positive"),
    ],
)
def test_bad_values_are_errors_naming_the_key(settings, value, expected):
    found = messages(value, settings)
    assert len(found) == 1
    assert found[0].startswith(expected)


@pytest.mark.django_db
def test_manage_py_check_fails_on_a_bad_value(settings):
    settings.ORDEROPS = {"MAX_HELD_PER_OPERATOR": -1}
    with pytest.raises(SystemCheckError, match="MAX_HELD_PER_OPERATOR"):
        call_command("check")


@pytest.mark.django_db
def test_statuses_are_skipped_quietly_before_the_first_migrate(settings, monkeypatch):
    from django.db import connection

    from orders.models import OrderStatus

    def never_asked(*args, **kwargs):
        raise AssertionError("the statuses were queried although their table does not exist")

    before_migrate = ["django_migrations"]
    monkeypatch.setattr(connection.introspection, "table_names", lambda *args, **kwargs: before_migrate)
    monkeypatch.setattr(OrderStatus.objects, "filter", never_asked)
    settings.ORDEROPS = {}
    assert check_orderops_settings() == []


@pytest.mark.django_db
def test_a_real_database_error_is_still_a_warning(settings, monkeypatch):
    from django.db import OperationalError

    from orders.models import OrderStatus

    def broken_disk(*args, **kwargs):
        raise OperationalError("disk I/O error")

    monkeypatch.setattr(OrderStatus.objects, "filter", broken_disk)
    settings.ORDEROPS = {}
    problems = check_orderops_settings()
    assert [problem.id for problem in problems] == ["orderops.W001"]
    assert problems[0].msg.endswith("could not be checked against the order statuses: disk I/O error")


def test_the_first_migrate_of_a_fresh_database_prints_no_warning(tmp_path):
    """What a person sees on the first `manage.py migrate`: no alarming W001 about a missing table."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    project = Path(__file__).resolve().parents[2]
    environment = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "orderops.settings",
    }
    run = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "W001" not in run.stdout + run.stderr
    assert "WARNINGS" not in run.stdout + run.stderr
