"""The assignment log's vocabulary: one function per kind of entry, each writing rows set-based.

Every function writes one row per current hold of the given orders, straight from operators_assignment in
one INSERT ... SELECT, so the log says exactly what the hold table holds at that moment. Call them inside
the transaction that makes the change: after inserting holds (assigned), before deleting them (released,
auto_released, expired), before moving them (taken_over, reassigned). Each returns the rows written, and
sends the HoldChanged event, with the rows written, inside the transaction and again once it commits
(orderops/events.py). logged_from_sql is the one exception, for a statement that inserts or deletes holds and
writes their log rows together (claim next, a bulk assign, a release on PostgreSQL): its rows come from the
holds that statement wrote, which is the same.
"""

from collections.abc import Iterable, Mapping
from datetime import datetime

from django.db import connection

from operators.models import Assignment, AssignmentLog
from orderops.db import db_datetime, id_set_sql
from orderops.events import HoldChanged, HoldEntry, event_send_in_transaction, event_send_on_commit
from orderops.types import Actor
from orders.models import Order

Action = AssignmentLog.Action


# The columns every log row is written with, and what each write returns (HoldChanged's entries), with the
# order's connected store: from the caller, who read it under its order lock, or else read by the same
# statement (a look-up per row), so that the write-back to the stores (stores.writeback) needs no look-up of
# its own for the orders that have none, which are most.
INSERT_SQL = (
    f"INSERT INTO {AssignmentLog._meta.db_table}"
    " (order_id, action, operator_id, previous_operator_id, actor_id, store_id, at, reason)"
)
RETURNING_SQL = " RETURNING id, order_id, operator_id, previous_operator_id"
RETURNING_WITH_STORE_SQL = (
    f"{RETURNING_SQL}, (SELECT o.store_id FROM {Order._meta.db_table} o"
    f" WHERE o.id = {AssignmentLog._meta.db_table}.order_id)"
)


def _write(
    *,
    action: str,
    order_ids: Iterable[int],
    actor: Actor | None,
    at: datetime,
    reason: str,
    new_operator: Actor | None = None,
    store_id: int | None = None,
    stores: Mapping[int, int] | None = None,
) -> int:
    """`stores`: the connected store of each order that came from one, as the caller read them under its
    lock of the orders (orders absent from it came from none); None: the statement reads them (a look-up
    per row)."""
    ids = list(order_ids)
    if not ids:
        return 0
    ids_sql, ids_params = id_set_sql(ids)
    if new_operator is None:
        operator_sql, previous_sql, operator_params = "operator_id", "NULL", []
    else:
        operator_sql, previous_sql, operator_params = "%s", "operator_id", [new_operator.pk]
    sql = (
        f"{INSERT_SQL} SELECT order_id, %s, {operator_sql}, {previous_sql}, %s, %s, %s, %s"
        f" FROM {Assignment._meta.db_table} WHERE order_id IN ({ids_sql})"
        + (RETURNING_WITH_STORE_SQL if stores is None else RETURNING_SQL)
    )
    params = [
        action,
        *operator_params,
        actor.pk if actor else None,
        store_id,
        db_datetime(at),
        reason,
        *ids_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if stores is not None:
        rows = [(*row, stores.get(row[1])) for row in rows]
    return announce(action=action, order_ids=ids, actor=actor, at=at, reason=reason, rows=rows)


def logged_from_sql(
    holds: str,
    *,
    action: str,
    actor: Actor | None,
    at: datetime,
    reason: str = "",
    store_id: int | None = None,
    stores_read: bool = False,
) -> tuple[str, list]:
    """The INSERT writing one `action` log row per row of `holds` (a statement's CTE of the hold rows it has
    just inserted or deleted, with their order_id and operator_id), and its parameters: for a caller that
    writes holds and their log rows in one statement (PostgreSQL: claim next, a bulk assign, the ends of
    holds). It returns what _write's rows return; the order's store too with `stores_read` (a look-up per
    row), else the caller, who has read it with the order, adds it to each row before announce()."""
    returning = RETURNING_WITH_STORE_SQL if stores_read else RETURNING_SQL
    sql = f"{INSERT_SQL} SELECT order_id, %s, operator_id, NULL, %s, %s, %s, %s FROM {holds}{returning}"
    return sql, [action, actor.pk if actor else None, store_id, db_datetime(at), reason]


def log_holds(
    *,
    action: str,
    order_ids: Iterable[int],
    actor: Actor | None,
    at: datetime,
    reason: str,
    store_id: int | None = None,
    stores: Mapping[int, int] | None = None,
) -> int:
    """The log rows of `action` for the current holds of `order_ids`, for a caller that names the action
    (the ends of holds, operators.services._holds.holds_delete_logged)."""
    return _write(
        action=action,
        order_ids=order_ids,
        actor=actor,
        at=at,
        reason=reason,
        store_id=store_id,
        stores=stores,
    )


def assigned_from_sql(holds: str, *, actor: Actor, at: datetime) -> tuple[str, list]:
    """logged_from_sql for the 'assigned' rows of a claim."""
    return logged_from_sql(holds, action=Action.ASSIGNED, actor=actor, at=at)


def announce(
    *, action: str, order_ids: Iterable[int], actor: Actor | None, at: datetime, reason: str, rows: Iterable
) -> int:
    """Send HoldChanged for the log rows just written (inside the transaction, and again once it commits);
    returns how many there are."""
    entries = tuple(HoldEntry(*row) for row in rows)
    if entries:
        event = HoldChanged(
            order_ids=tuple(order_ids),
            action=str(action),
            actor_id=actor.pk if actor else None,
            at=at,
            entries=entries,
            reason=reason,
        )
        event_send_in_transaction(event)
        event_send_on_commit(event)
    return len(entries)


def log_assigned(*, order_ids, actor, at, reason="", stores=None) -> int:
    return _write(
        action=Action.ASSIGNED, order_ids=order_ids, actor=actor, at=at, reason=reason, stores=stores
    )


def log_taken_over(*, order_ids, actor, at, reason, stores=None) -> int:
    return _write(
        action=Action.TAKEN_OVER,
        order_ids=order_ids,
        actor=actor,
        at=at,
        reason=reason,
        new_operator=actor,
        stores=stores,
    )


def log_reassigned(*, order_ids, new_operator, actor, at, reason="", stores=None) -> int:
    return _write(
        action=Action.REASSIGNED,
        order_ids=order_ids,
        actor=actor,
        at=at,
        reason=reason,
        new_operator=new_operator,
        stores=stores,
    )
