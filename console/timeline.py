"""An order's timeline as the order page says it: the structured timeline (operators.timeline) with each
entry in a sentence."""

from dataclasses import dataclass
from datetime import datetime

from django.utils.translation import gettext as _

from console.formatting import display_name
from operators import timeline
from operators.models import AssignmentLog
from orderops.types import Actor
from orders import history
from orders.models import OrderStatus
from orders.services import field_label
from stores.labels import LABELS, store_status_label


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


def _pk(user: Actor | None) -> int | None:
    return user.pk if user is not None else None


def _hold_sentence(entry: timeline.TimelineEntry) -> str:
    names = {
        "operator": display_name(entry.operator),
        "previous": display_name(entry.previous_operator),
        "actor": display_name(entry.actor),
    }
    Action = AssignmentLog.Action
    by_themselves = _pk(entry.actor) == _pk(entry.operator)
    if entry.action == Action.ASSIGNED:
        if by_themselves:
            return _("%(operator)s took the order") % names
        return _("%(actor)s assigned the order to %(operator)s") % names
    if entry.action == Action.RELEASED:
        if by_themselves:
            return _("%(operator)s released the order") % names
        return _("%(actor)s released %(operator)s's hold") % names
    if entry.action == Action.TAKEN_OVER:
        return _("%(actor)s took the order over from %(previous)s") % names
    if entry.action == Action.REASSIGNED:
        return _("%(actor)s moved the order from %(previous)s to %(operator)s") % names
    if entry.action == Action.AUTO_RELEASED:
        if entry.store_name:
            return _("%(operator)s's hold was auto-released by %(store)s") % {
                **names,
                "store": entry.store_name,
            }
        return _("%(operator)s's hold ended automatically") % names
    if entry.action == Action.EXPIRED:
        return _("%(operator)s's hold expired") % names
    return str(AssignmentLog.Action(entry.action).label)


def _shown(name: str, value: str, status_labels: dict[str, str]) -> str:
    if name == "status":
        return status_labels.get(value, value)
    if name in LABELS and value:
        return store_status_label(name, value)
    if name == history.LINES:
        return "; ".join(value.splitlines()) or _("no lines")
    return value or _("(empty)")


def _change_sentence(entry: timeline.TimelineEntry, status_labels: dict[str, str]) -> str:
    """One write (a version): "Boris changed street: Hauptstraße 36 → Vitosha Blvd 1"."""
    changes = "; ".join(
        f"{field_label(change['field'])}: {_shown(change['field'], change['old'], status_labels)} → "
        f"{_shown(change['field'], change['new'], status_labels)}"
        for change in entry.changes
    )
    who = entry.store_name or display_name(entry.actor)
    return _("%(who)s changed %(changes)s") % {"who": who, "changes": changes}


def order_timeline(order_id: int) -> list[TimelineEntry]:
    """The order's timeline (operators.timeline, the one read) worded for the order page, oldest first.
    Three queries (four when a status changed), whatever the length."""
    entries = timeline.order_timeline(order_id)
    status_labels: dict[str, str] = {}
    if any(change["field"] == "status" for entry in entries for change in entry.changes):
        status_labels = dict(OrderStatus.objects.values_list("code", "label"))
    worded = []
    for entry in entries:
        if entry.kind == "comment":
            worded.append(TimelineEntry(entry.at, "comment", entry.body, entry.actor))
        elif entry.kind == "change":
            worded.append(
                TimelineEntry(entry.at, "changed", _change_sentence(entry, status_labels), entry.actor)
            )
        else:
            worded.append(
                TimelineEntry(entry.at, entry.action, _hold_sentence(entry), entry.actor, entry.reason)
            )
    return worded
