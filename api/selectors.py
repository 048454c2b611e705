"""The API's reads: orders with their hold and status in one query, an order's timeline as entries."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import QuerySet

from operators import rules
from operators.models import AssignmentLog
from operators.selectors import Hold
from orderops.types import Actor
from orders.models import Order, OrderChange, OrderComment


def orders_with_holds() -> QuerySet[Order]:
    """Orders with their status, hold, holder and assigner joined: a page of any size is one query."""
    return Order.objects.select_related("status", "assignment__operator", "assignment__assigned_by")


def order_state(order: Order) -> rules.OrderState:
    """One order (from orders_with_holds) as the rule book judges it."""
    assignment = getattr(order, "assignment", None)
    return rules.OrderState(
        number=order.number,
        hold=Hold(assignment.operator_id, assignment.assigned_by_id) if assignment else None,
        holder=assignment.operator if assignment else None,
        status_label=order.status.label,
        final=order.status.releases_assignment,
    )


def order_powers(user: Actor, order: Order) -> dict[str, dict | None]:
    return rules.order_powers(user, order_state(order)).as_dict()


@dataclass(frozen=True)
class TimelineEntry:
    """One entry of an order's timeline: a comment, a hold change, or one write's field changes."""

    at: datetime
    kind: str  # "comment", "hold" or "change"
    actor: Actor | None
    action: str = ""
    operator: Actor | None = None
    previous_operator: Actor | None = None
    reason: str = ""
    body: str = ""
    version: int | None = None
    changes: list[dict[str, Any]] = field(default_factory=list)


def order_timeline(order_id: int) -> list[TimelineEntry]:
    """Comments, hold log rows and field changes, oldest first; three queries whatever the length."""
    keyed: list[tuple[datetime, int, int, TimelineEntry]] = []
    for comment in OrderComment.objects.filter(order_id=order_id).select_related("author"):
        entry = TimelineEntry(comment.created_at, "comment", comment.author, body=comment.body)
        keyed.append((comment.created_at, 2, comment.pk, entry))
    log_rows = AssignmentLog.objects.filter(order_id=order_id).select_related(
        "operator", "previous_operator", "actor"
    )
    for row in log_rows:
        entry = TimelineEntry(
            row.at,
            "hold",
            row.actor,
            action=row.action,
            operator=row.operator,
            previous_operator=row.previous_operator,
            reason=row.reason,
        )
        keyed.append((row.at, 0, row.pk, entry))
    writes: dict[int, list[OrderChange]] = {}
    for change in (
        OrderChange.objects.filter(order_id=order_id).select_related("actor").order_by("version", "id")
    ):
        writes.setdefault(change.version, []).append(change)
    for version, rows in writes.items():
        first = rows[0]
        entry = TimelineEntry(
            first.at,
            "change",
            first.actor,
            version=version,
            changes=[{"field": row.field, "old": row.old_value, "new": row.new_value} for row in rows],
        )
        keyed.append((first.at, 1, first.pk, entry))
    keyed.sort(key=lambda item: item[:3])
    return [item[3] for item in keyed]
