"""setup_roles gives each role exactly its permissions, and is safe to run again."""

from io import StringIO

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command

from orderops.conf import OPERATORS_GROUP, SUPERVISORS_GROUP


def group_permissions(name: str) -> set[str]:
    return {
        f"{app_label}.{codename}"
        for app_label, codename in Group.objects.get(name=name).permissions.values_list(
            "content_type__app_label", "codename"
        )
    }


@pytest.mark.django_db
def test_setup_roles_gives_each_group_exactly_its_permissions():
    call_command("setup_roles", stdout=StringIO())
    assert group_permissions(OPERATORS_GROUP) == {
        "orders.view_order",
        "orders.change_order",
        "orders.view_orderline",
        "orders.add_orderline",
        "orders.change_orderline",
        "orders.delete_orderline",
        "orders.view_orderstatus",
        "orders.view_ordercomment",
        "orders.add_ordercomment",
        "operators.view_assignment",
        "operators.view_assignmentlog",
        "operators.hold_orders",
    }
    assert group_permissions(SUPERVISORS_GROUP) == group_permissions(OPERATORS_GROUP) | {
        "operators.override_hold",
        "operators.assign_others",
    }


@pytest.mark.django_db
def test_setup_roles_twice_changes_nothing_and_removes_permissions_granted_by_hand():
    call_command("setup_roles", stdout=StringIO())
    operators = Group.objects.get(name=OPERATORS_GROUP)
    before = group_permissions(OPERATORS_GROUP)
    operators.permissions.add(Permission.objects.get(codename="delete_order"))

    out = StringIO()
    call_command("setup_roles", stdout=out)

    assert group_permissions(OPERATORS_GROUP) == before
    assert Group.objects.filter(name__in=[OPERATORS_GROUP, SUPERVISORS_GROUP]).count() == 2
    assert "Roles are set up." in out.getvalue()
