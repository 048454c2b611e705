"""Reads of the assignment domain that services, the console and commands share."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any, NamedTuple

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, Min, OuterRef, Q, QuerySet, Subquery, Sum

from operators.models import Assignment, AssignmentLog, FreeOrder, OperatorActivityCount, OperatorHoldCount
from orderops.db import db_datetime, id_set
from orderops.types import Actor
from orders.models import Order, OrderStatus
from orders.results import user_display_name

HOLD_ORDERS = "hold_orders"


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


def users_by_id(user_ids: Iterable[int]) -> dict[int, Actor]:
    ids = set(user_ids)
    if not ids:
        return {}
    return {user.pk: user for user in get_user_model().objects.filter(pk__in=ids)}


def holders_eligible():
    """Who may hold orders: active users with operators.hold_orders (the Operators and Supervisors roles give
    it), and active superusers. The one answer to that question; the rules, the operator pickers and the
    workload page read it."""
    may_hold = Q(
        groups__permissions__codename=HOLD_ORDERS, groups__permissions__content_type__app_label="operators"
    )
    granted = Q(user_permissions__codename=HOLD_ORDERS, user_permissions__content_type__app_label="operators")
    return (
        get_user_model()
        .objects.filter(may_hold | granted | Q(is_superuser=True), is_active=True)
        .distinct()
        .order_by("first_name", "username")
    )


def held_count(operator: Actor) -> int:
    return Assignment.objects.filter(operator=operator).count()


@dataclass(frozen=True)
class OperatorLoad:
    operator: Actor
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
    """Per operator (everyone in a role, and anyone holding orders): holds now, and changes since `since`.

    No count of the holds or of the day's log: how many each operator holds is a sum of their counter rows
    (OperatorHoldCount, kept by the database in the same statement as the holds), what they took and ended
    a sum of their quarter-hour counters (see activity_counts), and their oldest hold is one look-up at the
    start of their range of the (operator, assigned_at) index. Three queries, whatever the numbers."""
    held = held_counts()
    today = activity_counts(since=since)
    oldest = Subquery(
        Assignment.objects.filter(operator_id=OuterRef("pk"))
        .order_by("assigned_at")
        .values("assigned_at")[:1]
    )
    users = (
        get_user_model()
        .objects.filter(Q(pk__in=list(held)) | Q(pk__in=holders_eligible().order_by().values("pk")))
        .distinct()
        .annotate(oldest_hold_at=oldest)
    )
    loads = [
        OperatorLoad(
            operator=user,
            held=held.get(user.pk, 0),
            oldest_hold_at=user.oldest_hold_at,
            taken_today=today.get(user.pk, (0, 0))[0],
            released_today=today.get(user.pk, (0, 0))[1],
        )
        for user in users
    ]
    return sorted(loads, key=lambda load: (-load.held, user_display_name(load.operator).lower()))


TAKEN_ACTIONS = (
    AssignmentLog.Action.ASSIGNED,
    AssignmentLog.Action.TAKEN_OVER,
    AssignmentLog.Action.REASSIGNED,
)
RELEASED_ACTIONS = (
    AssignmentLog.Action.RELEASED,
    AssignmentLog.Action.AUTO_RELEASED,
    AssignmentLog.Action.EXPIRED,
)


def activity_counts(*, since: datetime) -> dict[int, tuple[int, int]]:
    """{operator id: (holds taken, holds ended)} by the log rows since `since`, for operators with any.

    When `since` starts a quarter of an hour (any time zone's midnight does), a sum of the quarter-hour
    counters the database keeps with the log (OperatorActivityCount, migration 0008): at most 96 rows per
    operator a day, however busy the day. Otherwise a count of the log rows since then."""
    rows: Iterable[tuple[int, int, int]]
    if since.timestamp() % OperatorActivityCount.PERIOD == 0:
        rows = (
            OperatorActivityCount.objects.filter(period_start__gte=since)
            .values("operator_id")
            .annotate(taken_sum=Sum("taken"), released_sum=Sum("released"))
            .values_list("operator_id", "taken_sum", "released_sum")
        )
    else:
        rows = (
            AssignmentLog.objects.filter(at__gte=since)
            .values("operator_id")
            .annotate(
                taken_sum=Count("id", filter=Q(action__in=TAKEN_ACTIONS)),
                released_sum=Count("id", filter=Q(action__in=RELEASED_ACTIONS)),
            )
            .values_list("operator_id", "taken_sum", "released_sum")
        )
    return {operator_id: (taken, released) for operator_id, taken, released in rows if taken or released}


def held_counts() -> dict[int, int]:
    """{operator id: orders held} of everyone who holds any: a sum of the counter rows (a few hundred at
    most, see OperatorHoldCount), no count of the holds."""
    rows = (
        OperatorHoldCount.objects.values("operator_id")
        .annotate(total=Sum("held"))
        .filter(total__gt=0)
        .values_list("operator_id", "total")
    )
    return dict(rows)


class HoldQueue(StrEnum):
    """The orders by their hold, as every surface filters them (the console's list and navigation, the API's
    `held`): the query parameter's values."""

    MINE = "mine"  # held by the user
    OPEN = "open"  # nobody holds it and its status is not a final one: what is left to take
    UNASSIGNED = "unassigned"  # nobody holds it
    OTHERS = "others"  # held by someone else


def orders_in_queue(queryset: QuerySet[Order], queue: HoldQueue | str, *, user: Actor | AnonymousUser):
    """`queryset` narrowed to one HoldQueue for `user`. "Nobody holds it" is the order's free row (FreeOrder,
    kept equal to the holds by triggers in the same statement, verify_assignment_log checks it): a join with
    a narrow table indexed by order; the claim, the queue counts and the backlog read the same rows."""
    if queue == HoldQueue.MINE:
        return queryset.filter(assignment__operator_id=user.pk) if user.pk is not None else queryset.none()
    if queue == HoldQueue.OPEN:
        return queryset.filter(free_entry__isnull=False, status__releases_assignment=False)
    if queue == HoldQueue.UNASSIGNED:
        return queryset.filter(free_entry__isnull=False)
    if queue == HoldQueue.OTHERS:
        return queryset.filter(assignment__isnull=False).exclude(assignment__operator_id=user.pk)
    raise ValueError(f"no such queue: {queue!r}")


def open_unassigned_count() -> int:
    """How many orders HoldQueue.OPEN holds (nobody holds them, their status is not a final one), counted
    over the free orders' own narrow table: an index-only count, not a join of the orders with it."""
    return FreeOrder.objects.filter(status__releases_assignment=False).count()


def unassigned_backlog() -> list[StatusBacklog]:
    """Unassigned orders per status that can still be worked (not releasing), with the oldest one's age."""
    rows: dict[str, Mapping[str, Any]] = {
        row["status_id"]: row
        # The free orders' own table: one index range per status (free_order_front_idx, index-only), instead
        # of an anti-join of the orders against every hold.
        for row in FreeOrder.objects.filter(status__releases_assignment=False)
        .values("status_id")
        .annotate(count=Count("order_id"), oldest=Min("created_at"))
        .order_by()
    }
    return [
        StatusBacklog(
            status, rows.get(status.code, {}).get("count", 0), rows.get(status.code, {}).get("oldest")
        )
        for status in OrderStatus.objects.filter(releases_assignment=False)
    ]


# How long "Get next order" passes over an order its operator released themselves (while another is free).
LET_GO_PASSED_OVER_FOR = timedelta(minutes=15)
# At most this many of them: an operator releasing more in a quarter of an hour is not picking orders by hand.
LET_GO_PASSED_OVER_MAX = 100


def orders_let_go_recently_sql(user: Actor, *, now: datetime) -> tuple[str, list]:
    """SQL for the orders `user` released themselves in the last LET_GO_PASSED_OVER_FOR, newest first (at
    most LET_GO_PASSED_OVER_MAX), as a subquery of one column: claim next passes over them while others are
    free, so that letting an order go and asking for the next one does not hand the same order back. A
    subquery, not a list, so that a claim stays one statement. One range of assignmentlog_released_idx, whose
    condition the action written in the text (not a parameter) lets a prepared claim's generic plan use."""
    table = AssignmentLog._meta.db_table
    released = AssignmentLog.Action.RELEASED.value
    assert released.isidentifier()  # written into the SQL as a literal
    sql = (
        f"SELECT let_go.order_id FROM (SELECT order_id FROM {table}"
        f" WHERE operator_id = %s AND actor_id = %s AND action = '{released}' AND at >= %s"
        " ORDER BY at DESC LIMIT %s) AS let_go"
    )
    cutoff = db_datetime(now - LET_GO_PASSED_OVER_FOR)
    return sql, [user.pk, user.pk, cutoff, LET_GO_PASSED_OVER_MAX]


def users_with_console_access():
    """The users operators.rules.console_refusal lets in: active, staff, and a superuser or given
    orders.view_order or orders.add_order (by a role or directly). The API keys' list flags the keys whose
    user is not among them."""
    codenames = ["view_order", "add_order"]
    by_role = Q(
        groups__permissions__codename__in=codenames, groups__permissions__content_type__app_label="orders"
    )
    granted = Q(user_permissions__codename__in=codenames, user_permissions__content_type__app_label="orders")
    return get_user_model().objects.filter(
        by_role | granted | Q(is_superuser=True), is_active=True, is_staff=True
    )
