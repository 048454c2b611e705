"""Reads of the assignment domain that services, admin and commands share."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Count, Exists, Min, OuterRef, Q
from django.utils.translation import gettext as _

from operators.models import Assignment, AssignmentLog
from orderops.conf import OPERATORS_GROUP, SUPERVISORS_GROUP
from orderops.db import id_set
from orders.models import Order, OrderComment, OrderStatus
from orders.results import user_display_name


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


@dataclass(frozen=True)
class TimelineEntry:
    """One line of an order's timeline: a person's comment, or a change of its hold (a system entry)."""

    at: datetime
    kind: str  # "comment", or the log action (assigned, released, ...)
    text: str
    who: AbstractBaseUser | None
    reason: str = ""

    @property
    def is_comment(self) -> bool:
        return self.kind == "comment"


def _log_sentence(entry: AssignmentLog) -> str:
    names = {
        "operator": user_display_name(entry.operator),
        "previous": user_display_name(entry.previous_operator),
        "actor": user_display_name(entry.actor),
    }
    Action = AssignmentLog.Action
    if entry.action == Action.ASSIGNED:
        if entry.actor_id == entry.operator_id:
            return _("%(operator)s took the order") % names
        return _("%(actor)s assigned the order to %(operator)s") % names
    if entry.action == Action.RELEASED:
        if entry.actor_id == entry.operator_id:
            return _("%(operator)s released the order") % names
        return _("%(actor)s released %(operator)s's hold") % names
    if entry.action == Action.TAKEN_OVER:
        return _("%(actor)s took the order over from %(previous)s") % names
    if entry.action == Action.REASSIGNED:
        return _("%(actor)s moved the order from %(previous)s to %(operator)s") % names
    if entry.action == Action.AUTO_RELEASED:
        return _("%(operator)s's hold ended automatically") % names
    if entry.action == Action.EXPIRED:
        return _("%(operator)s's hold expired") % names
    return entry.get_action_display()


def order_timeline(order_id: int) -> list[TimelineEntry]:
    """Comments and hold changes of one order, merged, oldest first. Two queries, whatever the length."""
    comments = OrderComment.objects.filter(order_id=order_id).select_related("author")
    log_rows = AssignmentLog.objects.filter(order_id=order_id).select_related(
        "operator", "previous_operator", "actor"
    )
    entries = [
        (
            comment.created_at,
            1,
            comment.pk,
            TimelineEntry(comment.created_at, "comment", comment.body, comment.author),
        )
        for comment in comments
    ]
    entries += [
        (
            entry.at,
            0,
            entry.pk,
            TimelineEntry(entry.at, entry.action, _log_sentence(entry), entry.actor, entry.reason),
        )
        for entry in log_rows
    ]
    entries.sort(key=lambda item: item[:3])
    return [item[3] for item in entries]


@dataclass(frozen=True)
class OperatorLoad:
    operator: AbstractBaseUser
    held: int
    oldest_hold_at: datetime | None
    taken_today: int
    released_today: int


@dataclass(frozen=True)
class StatusBacklog:
    status: OrderStatus
    unassigned: int
    oldest_created_at: datetime | None


def operators_workload(*, since: datetime) -> list[OperatorLoad]:
    """Per operator (everyone in a role, and anyone holding orders): holds now, and changes since `since`."""
    held = {
        row["operator_id"]: row
        for row in Assignment.objects.values("operator_id").annotate(
            held=Count("id"), oldest=Min("assigned_at")
        )
    }
    taken_actions = [
        AssignmentLog.Action.ASSIGNED,
        AssignmentLog.Action.TAKEN_OVER,
        AssignmentLog.Action.REASSIGNED,
    ]
    released_actions = [
        AssignmentLog.Action.RELEASED,
        AssignmentLog.Action.AUTO_RELEASED,
        AssignmentLog.Action.EXPIRED,
    ]
    today = {
        row["operator_id"]: row
        for row in AssignmentLog.objects.filter(at__gte=since)
        .values("operator_id")
        .annotate(
            taken=Count("id", filter=Q(action__in=taken_actions)),
            released=Count("id", filter=Q(action__in=released_actions)),
        )
    }
    users = (
        get_user_model()
        .objects.filter(
            Q(pk__in=list(held)) | Q(groups__name__in=[OPERATORS_GROUP, SUPERVISORS_GROUP], is_active=True)
        )
        .distinct()
    )
    loads = [
        OperatorLoad(
            operator=user,
            held=held.get(user.pk, {}).get("held", 0),
            oldest_hold_at=held.get(user.pk, {}).get("oldest"),
            taken_today=today.get(user.pk, {}).get("taken", 0),
            released_today=today.get(user.pk, {}).get("released", 0),
        )
        for user in users
    ]
    return sorted(loads, key=lambda load: (-load.held, user_display_name(load.operator).lower()))


def unassigned_backlog() -> list[StatusBacklog]:
    """Unassigned orders per status that can still be worked (not releasing), with the oldest one's age."""
    rows = {
        row["status_id"]: row
        # NOT EXISTS: an anti-join the planner estimates well (see the console's "unassigned" filter).
        for row in Order.objects.filter(status__releases_assignment=False)
        .filter(~Exists(Assignment.objects.filter(order=OuterRef("pk"))))
        .values("status_id")
        .annotate(count=Count("id"), oldest=Min("created_at"))
    }
    return [
        StatusBacklog(
            status, rows.get(status.code, {}).get("count", 0), rows.get(status.code, {}).get("oldest")
        )
        for status in OrderStatus.objects.filter(releases_assignment=False)
    ]
