"""An order's timeline, the one read every surface shows it from: comments, hold changes and field changes as
structured entries, merged, oldest first. The console words them (console/timeline.py), the API serializes
them (api/timeline.py)."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from operators.models import AssignmentLog
from orderops.types import Actor
from orders.models import OrderChange, OrderComment

# At one moment: hold changes first, then field changes, then comments (as the order's page has always said
# them: "Anna took the order", "Anna changed status", "Anna: called the customer").
_HOLD, _CHANGE, _COMMENT = 0, 1, 2


@dataclass(frozen=True)
class TimelineEntry:
    """One entry of an order's timeline: a comment, a hold change, or one write's field changes."""

    at: datetime
    kind: str  # "comment", "hold" or "change"
    actor: Actor | None
    action: str = ""  # a hold change's: AssignmentLog.Action
    operator: Actor | None = None
    previous_operator: Actor | None = None
    reason: str = ""
    body: str = ""
    version: int | None = None
    changes: list[dict[str, Any]] = field(default_factory=list)  # {"field", "old", "new"} per field
    store_name: str = ""  # a connected store's name when the store made the change (not a person)

    @property
    def is_comment(self) -> bool:
        return self.kind == "comment"


def order_timeline(order_id: int) -> list[TimelineEntry]:
    """Comments, hold log rows and field changes (one entry per write, a version), oldest first. Three
    queries whatever the length."""
    keyed: list[tuple[datetime, int, int, TimelineEntry]] = []
    for comment in OrderComment.objects.filter(order_id=order_id).select_related("author"):
        entry = TimelineEntry(comment.created_at, "comment", comment.author, body=comment.body)
        keyed.append((comment.created_at, _COMMENT, comment.pk, entry))
    log_rows = AssignmentLog.objects.filter(order_id=order_id).select_related(
        "operator", "previous_operator", "actor", "store"
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
            store_name=row.store.name if row.store is not None else "",
        )
        keyed.append((row.at, _HOLD, row.pk, entry))
    writes: dict[int, list[OrderChange]] = {}
    for change in (
        OrderChange.objects.filter(order_id=order_id)
        .select_related("actor", "store")
        .order_by("version", "id")
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
            store_name=first.store.name if first.store is not None else "",
        )
        keyed.append((first.at, _CHANGE, first.pk, entry))
    keyed.sort(key=lambda item: item[:3])
    return [item[3] for item in keyed]
