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


def test_statuses_are_a_warning_while_the_table_is_missing(settings, monkeypatch):
    from django.db import OperationalError

    from orders.models import OrderStatus

    def missing_table(*args, **kwargs):
        raise OperationalError("no such table: orders_orderstatus")

    monkeypatch.setattr(OrderStatus.objects, "filter", missing_table)
    settings.ORDEROPS = {}
    problems = check_orderops_settings()
    assert [problem.id for problem in problems] == ["orderops.W001"]
    assert "could not be checked" in problems[0].msg
