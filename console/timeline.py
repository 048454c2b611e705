"""An order's timeline: comments, hold changes and field changes merged, oldest first, each said in a
sentence."""

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _

from console.formatting import display_name
from operators.models import AssignmentLog
from orderops.types import Actor
from orders import history
from orders.models import OrderChange, OrderComment, OrderStatus
from orders.services import field_label


@dataclass(frozen=True)
class TimelineEntry:
    """One line of an order's timeline: a person's comment, or a change of its hold (a system entry)."""

    at: datetime
    kind: str  # "comment", "changed" (the order's fields), or the log action (assigned, released, ...)
    text: str
    who: Actor | None
    reason: str = ""

    @property
    def is_comment(self) -> bool:
        return self.kind == "comment"


def _log_sentence(entry: AssignmentLog) -> str:
    names = {
        "operator": display_name(entry.operator),
        "previous": display_name(entry.previous_operator),
        "actor": display_name(entry.actor),
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
        if entry.store is not None:
            return _("%(operator)s's hold was auto-released by %(store)s") % {
                **names,
                "store": entry.store.name,
            }
        return _("%(operator)s's hold ended automatically") % names
    if entry.action == Action.EXPIRED:
        return _("%(operator)s's hold expired") % names
    return entry.get_action_display()


def _shown(name: str, value: str, status_labels: dict[str, str]) -> str:
    if name == "status":
        return status_labels.get(value, value)
    if name == history.LINES:
        return "; ".join(value.splitlines()) or _("no lines")
    return value or _("(empty)")


def _change_sentences(rows: list[OrderChange]) -> list[tuple[datetime, int, TimelineEntry]]:
    """One entry per write (a version): "Boris changed street: Hauptstraße 36 → Vitosha Blvd 1"."""
    status_labels: dict[str, str] = {}
    if any(row.field == "status" for row in rows):
        status_labels = dict(OrderStatus.objects.values_list("code", "label"))
    by_version: dict[int, list[OrderChange]] = {}
    for row in rows:
        by_version.setdefault(row.version, []).append(row)
    entries = []
    for version_rows in by_version.values():
        first = version_rows[0]
        changes = "; ".join(
            f"{field_label(row.field)}: {_shown(row.field, row.old_value, status_labels)} → "
            f"{_shown(row.field, row.new_value, status_labels)}"
            for row in version_rows
        )
        who = first.store.name if first.store is not None else display_name(first.actor)
        text = _("%(who)s changed %(changes)s") % {"who": who, "changes": changes}
        entries.append((first.at, first.pk, TimelineEntry(first.at, "changed", text, first.actor)))
    return entries


def order_timeline(order_id: int) -> list[TimelineEntry]:
    """Comments, hold changes and field changes of one order, merged, oldest first. Three queries (four
    when a status changed), whatever the length."""
    comments = OrderComment.objects.filter(order_id=order_id).select_related("author")
    log_rows = AssignmentLog.objects.filter(order_id=order_id).select_related(
        "operator", "previous_operator", "actor", "store"
    )
    change_rows = list(
        OrderChange.objects.filter(order_id=order_id)
        .select_related("actor", "store")
        .order_by("version", "id")
    )
    entries = [
        (
            comment.created_at,
            2,
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
    entries += [(at, 1, pk, entry) for at, pk, entry in _change_sentences(change_rows)]
    entries.sort(key=lambda item: item[:3])
    return [item[3] for item in entries]
