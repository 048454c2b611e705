"""The product tables before and after: a snapshot of every row, and what changed between two (for "bad
input changes nothing")."""

from django.contrib.auth import get_user_model

from operators.models import Assignment, AssignmentLog
from orders.models import Order, OrderComment, OrderLine, OrderStatus


def tables_snapshot() -> dict[str, list[tuple]]:
    """Every row of every product table (all columns), in primary-key order: equal snapshots mean that
    nothing changed. Sessions are left out: a refused request may still touch its own session."""
    models = {
        "orders": Order,
        "order lines": OrderLine,
        "order statuses": OrderStatus,
        "holds": Assignment,
        "assignment log": AssignmentLog,
        "comments": OrderComment,
        "users": get_user_model(),
    }
    return {name: list(model.objects.order_by("pk").values_list()) for name, model in models.items()}


def snapshot_diff(before: dict[str, list[tuple]], after: dict[str, list[tuple]]) -> str:
    """Which tables changed and how (for assertion messages); empty when nothing did."""
    lines = []
    for name in before:
        old, new = set(before[name]), set(after[name])
        if old != new:
            lines.append(f"{name}: -{sorted(old - new)[:3]} +{sorted(new - old)[:3]}")
    return "; ".join(lines)
