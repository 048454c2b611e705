"""The assignment log's vocabulary: one function per kind of entry, each writing rows set-based.

Every function writes one row per current hold of the given orders, straight from operators_assignment in
one INSERT ... SELECT, so the log says exactly what the hold table holds at that moment. Call them inside
the transaction that makes the change: after inserting holds (assigned), before deleting them (released,
auto_released, expired), before moving them (taken_over, reassigned). Each returns the rows written, and
sends the HoldChanged event, with the rows written, inside the transaction and again once it commits
(orderops/events.py).
"""

from collections.abc import Iterable
from datetime import datetime

from django.db import connection

from operators.models import Assignment, AssignmentLog
from orderops.db import db_datetime, id_set_sql
from orderops.events import HoldChanged, HoldEntry, event_send_in_transaction, event_send_on_commit
from orderops.types import Actor

Action = AssignmentLog.Action


def _write(
    *,
    action: str,
    order_ids: Iterable[int],
    actor: Actor | None,
    at: datetime,
    reason: str,
    new_operator: Actor | None = None,
) -> int:
    ids = list(order_ids)
    if not ids:
        return 0
    ids_sql, ids_params = id_set_sql(ids)
    if new_operator is None:
        operator_sql, previous_sql, operator_params = "operator_id", "NULL", []
    else:
        operator_sql, previous_sql, operator_params = "%s", "operator_id", [new_operator.pk]
    sql = (
        f"INSERT INTO {AssignmentLog._meta.db_table}"
        " (order_id, action, operator_id, previous_operator_id, actor_id, at, reason)"
        f" SELECT order_id, %s, {operator_sql}, {previous_sql}, %s, %s, %s"
        f" FROM {Assignment._meta.db_table} WHERE order_id IN ({ids_sql})"
        " RETURNING id, order_id, operator_id, previous_operator_id"
    )
    params = [action, *operator_params, actor.pk if actor else None, db_datetime(at), reason, *ids_params]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        entries = tuple(HoldEntry(*row) for row in cursor.fetchall())
    if entries:
        event = HoldChanged(
            order_ids=tuple(ids),
            action=str(action),
            actor_id=actor.pk if actor else None,
            at=at,
            entries=entries,
            reason=reason,
        )
        event_send_in_transaction(event)
        event_send_on_commit(event)
    return len(entries)


def log_assigned(*, order_ids, actor, at, reason="") -> int:
    return _write(action=Action.ASSIGNED, order_ids=order_ids, actor=actor, at=at, reason=reason)


def log_released(*, order_ids, actor, at, reason="") -> int:
    return _write(action=Action.RELEASED, order_ids=order_ids, actor=actor, at=at, reason=reason)


def log_auto_released(*, order_ids, actor, at, reason) -> int:
    return _write(action=Action.AUTO_RELEASED, order_ids=order_ids, actor=actor, at=at, reason=reason)


def log_expired(*, order_ids, at, reason) -> int:
    return _write(action=Action.EXPIRED, order_ids=order_ids, actor=None, at=at, reason=reason)


def log_taken_over(*, order_ids, actor, at, reason) -> int:
    return _write(
        action=Action.TAKEN_OVER, order_ids=order_ids, actor=actor, at=at, reason=reason, new_operator=actor
    )


def log_reassigned(*, order_ids, new_operator, actor, at, reason="") -> int:
    return _write(
        action=Action.REASSIGNED,
        order_ids=order_ids,
        actor=actor,
        at=at,
        reason=reason,
        new_operator=new_operator,
    )
