"""Reads of the assignment domain that services, admin and commands share."""

from collections.abc import Iterable
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser

from operators.models import Assignment
from orderops.db import id_set


class Hold(NamedTuple):
    operator_id: int
    assigned_by_id: int


def holds_of(order_ids: Iterable[int]) -> dict[int, Hold]:
    """{order id: Hold} for those of the orders that are held."""
    ids = list(order_ids)
    if not ids:
        return {}
    rows = Assignment.objects.filter(order_id__in=id_set(ids)).values_list(
        "order_id", "operator_id", "assigned_by_id"
    )
    return {order_id: Hold(operator_id, assigned_by_id) for order_id, operator_id, assigned_by_id in rows}


def users_by_id(user_ids: Iterable[int]) -> dict[int, AbstractBaseUser]:
    ids = set(user_ids)
    if not ids:
        return {}
    return {user.pk: user for user in get_user_model().objects.filter(pk__in=ids)}


def held_count(operator: AbstractBaseUser) -> int:
    return Assignment.objects.filter(operator=operator).count()
