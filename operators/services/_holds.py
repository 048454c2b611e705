"""What the hold services share: the lock-and-read skeleton, the capacity rule, and the hold writes."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from operators import log
from operators.models import Assignment
from operators.rules import OrderState
from operators.selectors import Hold, held_count, holds_of, users_by_id
from orderops.conf import orderops_setting
from orderops.db import db_datetime, id_set, id_set_sql
from orderops.types import Actor
from orders.locking import orders_locked
from orders.models import Order
from orders.results import Code, OrderOutcome, user_display_name
from orders.selectors import final_status_labels


@dataclass
class LockedOrders:
    """The requested orders, row-locked for this transaction: their numbers and statuses, their holds and
    holders, as every hold service reads them before it decides."""

    ids: list[int]
    numbers: dict[int, str]
    statuses: dict[int, str]
    holds: dict[int, Hold]
    holders: dict[int, Actor]
    finals: dict[str, str]
    # The connected store of each order that came from one (the log's writes take them from here).
    stores: dict[int, int]

    def found(self, pk: int) -> bool:
        return pk in self.numbers

    def holder_of(self, pk: int) -> Actor | None:
        hold = self.holds.get(pk)
        return self.holders.get(hold.operator_id) if hold is not None else None

    def is_final(self, pk: int) -> bool:
        return self.statuses[pk] in self.finals

    def state(self, pk: int) -> OrderState:
        """One order as the rules (operators.rules) judge it."""
        status = self.statuses[pk]
        return OrderState(
            number=self.numbers[pk],
            hold=self.holds.get(pk),
            holder=self.holder_of(pk),
            status_label=self.finals.get(status, status),
            final=status in self.finals,
        )


def holds_locking(order_ids: Iterable[int]) -> QuerySet[Assignment]:
    """The holds of these orders, to be locked as they are read (FOR UPDATE), in order-id order: what a
    service that holds the orders' locks reads before it changes or ends holds. A release ends holds
    without the orders' locks (holds_end_at_once): this waits for one in progress, then reads what it left."""
    return (
        Assignment.objects.filter(order_id__in=id_set(order_ids))
        .order_by("order_id")
        .select_for_update(of=("self",))
    )


def holds_locked(order_ids: Iterable[int]) -> dict[int, Hold]:
    """Lock the holds of these orders (holds_locking) and return {order id: Hold} for the held ones."""
    rows = holds_locking(order_ids).values_list("order_id", "operator_id", "assigned_by_id")
    return {order_id: Hold(operator_id, assigned_by_id) for order_id, operator_id, assigned_by_id in rows}


def lock_then_read(ids: list[int], *, finals: bool = True) -> LockedOrders:
    """Lock the orders (orders.locking), then their holds (holds_locking), and read the holders: three or
    four statements. For services that change or end the holds they read (take over, transfer, a release
    that could not end them at once): every hold is read once, under its lock."""
    locked = orders_locked(ids)
    holds = holds_locked(locked)
    return _locked_orders(
        ids,
        numbers={pk: order.number for pk, order in locked.items()},
        statuses={pk: order.status for pk, order in locked.items()},
        stores={pk: order.store_id for pk, order in locked.items() if order.store_id is not None},
        holds=holds,
        finals=finals,
    )


def lock_and_read(ids: list[int], *, finals: bool = True) -> LockedOrders:
    """Lock the orders and read their holds and holders, for assign (its orders are mostly free): on
    PostgreSQL the orders are locked and their holds read in one statement.

    That statement reads the holds as of its start: a hold given, changed or ended by a writer that committed
    while it waited for an order's lock is read as it was. So the orders read as held are read again, their
    holds locked (holds_locked: one more statement, only when some are held; it waits for a release ending
    one of them right now, which locks no order); those read as free and given a hold meanwhile are
    refused by the unique constraint when the service inserts theirs (assign_free reports who holds them).
    Elsewhere (SQLite, one writer at a time) it is lock_then_read.
    """
    if connection.vendor != "postgresql" or not ids:
        return lock_then_read(ids, finals=finals)
    ids_sql, ids_params = id_set_sql(ids)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT o.id, o.number, o.status_id, o.store_id, a.order_id IS NOT NULL"
            f" FROM {Order._meta.db_table} o LEFT JOIN {Assignment._meta.db_table} a ON a.order_id = o.id"
            f" WHERE o.id IN ({ids_sql}) ORDER BY o.id FOR NO KEY UPDATE OF o",
            ids_params,
        )
        rows = cursor.fetchall()
    held_as_read = [pk for pk, _number, _status, _store, held in rows if held]
    return _locked_orders(
        ids,
        numbers={pk: number for pk, number, _status, _store, _held in rows},
        statuses={pk: status for pk, _number, status, _store, _held in rows},
        stores={pk: store for pk, _number, _status, store, _held in rows if store is not None},
        holds=holds_locked(held_as_read),
        finals=finals,
    )


def _locked_orders(
    ids: list[int],
    *,
    numbers: dict[int, str],
    statuses: dict[int, str],
    stores: dict[int, int],
    holds: dict[int, Hold],
    finals: bool,
) -> LockedOrders:
    return LockedOrders(
        ids=ids,
        numbers=numbers,
        statuses=statuses,
        holds=holds,
        holders=users_by_id(hold.operator_id for hold in holds.values()),
        finals=final_status_labels() if finals else {},
        stores=stores,
    )


@dataclass
class EndedAtOnce:
    """What holds_end_at_once ended: the orders as a LockedOrders (the ended holds with their orders'
    numbers, statuses and stores; the other requested orders' numbers and statuses), and the log rows it
    wrote, as log.announce takes them."""

    orders: LockedOrders
    rows: list[tuple]


def holds_end_at_once(
    ids: list[int], *, action: str, actor: Actor | None, at: datetime, reason: str, lock_wait_ms: int
) -> EndedAtOnce:
    """PostgreSQL: end the holds of these orders and write their log rows in one statement, without locking
    or reading anything first, and return what ended; the caller decides afterwards, on exactly the holds
    that ended, and undoes it all (a savepoint) if its rule refuses one. For a bulk release, whose orders are
    held: it skips the lock of 10,000 order rows and the read of their holds (figure 2).

    The DELETE locks each hold as it ends it; it waits at most `lock_wait_ms` for a hold another transaction
    has locked (lock_timeout, for this statement only), then fails with LockNotAvailable, so it never waits
    in a circle with a service that holds order locks and waits for this hold: the caller undoes and takes the
    locks in the usual order instead. Then the holders in one statement, and the numbers of the orders it
    found unheld in one more (none when all were held)."""
    ids_sql, ids_params = id_set_sql(ids)
    log_sql, log_params = log.logged_from_sql("ended", action=action, actor=actor, at=at, reason=reason)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SET LOCAL lock_timeout = '{int(lock_wait_ms)}ms';"
            f" WITH written AS (DELETE FROM {Assignment._meta.db_table} WHERE order_id IN ({ids_sql})"
            "   RETURNING order_id, operator_id, assigned_by_id),"
            " ended AS (SELECT w.order_id, w.operator_id, w.assigned_by_id, o.number, o.status_id, o.store_id"
            f"   FROM written w JOIN {Order._meta.db_table} o ON o.id = w.order_id),"
            f" logged AS ({log_sql})"
            " SELECT logged.id, ended.order_id, ended.operator_id, ended.assigned_by_id, ended.number,"
            " ended.status_id, ended.store_id FROM logged JOIN ended ON ended.order_id = logged.order_id",
            [*ids_params, *log_params],
        )
        ended = cursor.fetchall()
        cursor.execute("SET LOCAL lock_timeout TO DEFAULT")
    numbers: dict[int, str] = {}
    statuses: dict[int, str] = {}
    stores: dict[int, int] = {}
    holds: dict[int, Hold] = {}
    for _log_id, order_id, operator_id, assigned_by_id, number, status, store_id in ended:
        numbers[order_id], statuses[order_id] = number, status
        holds[order_id] = Hold(operator_id, assigned_by_id)
        if store_id is not None:
            stores[order_id] = store_id
    unheld = [pk for pk in ids if pk not in holds]
    if unheld:
        for pk, number, status in Order.objects.filter(pk__in=id_set(unheld)).values_list(
            "pk", "number", "status_id"
        ):
            numbers[pk], statuses[pk] = number, status
    orders = _locked_orders(ids, numbers=numbers, statuses=statuses, stores=stores, holds=holds, finals=False)
    rows = [
        (log_id, order_id, operator_id, None, store_id)
        for log_id, order_id, operator_id, _by, _number, _status, store_id in ended
    ]
    return EndedAtOnce(orders, rows)


def capacity_left(holder: Actor) -> int | None:
    """How many more orders `holder` may take under MAX_HELD_PER_OPERATOR (None: no cap).

    Locks the holder's user row until the transaction ends, so that concurrent assigns to one operator
    count one after the other and the cap holds under concurrency.
    """
    cap = orderops_setting("MAX_HELD_PER_OPERATOR")
    if cap is None:
        return None
    list(get_user_model().objects.filter(pk=holder.pk).select_for_update(no_key=True).values_list("pk"))
    return max(cap - held_count(holder), 0)


def at_capacity(pk: int, number: str, holder: Actor) -> OrderOutcome:
    cap = orderops_setting("MAX_HELD_PER_OPERATOR")
    return OrderOutcome(
        pk,
        Code.AT_CAPACITY,
        number,
        holder=holder,
        detail=_("%(holder)s already holds %(cap)s orders, the most allowed")
        % {"holder": user_display_name(holder), "cap": cap},
    )


def _holds_insert_sql(ids_sql: str) -> str:
    """The INSERT of holds on the orders of `ids_sql` (parameters: holder, assigned by, at, at, the ids); the
    unique constraint refuses orders someone else holds. Returns each inserted hold's order and holder."""
    return (
        f"INSERT INTO {Assignment._meta.db_table}"
        " (order_id, operator_id, assigned_by_id, assigned_at, last_activity_at, order_created_at)"
        f" SELECT id, %s, %s, %s, %s, created_at FROM {Order._meta.db_table} WHERE id IN ({ids_sql})"
        " ON CONFLICT (order_id) DO NOTHING RETURNING order_id, operator_id"
    )


def holds_insert(*, order_ids: Iterable[int], holder: Actor, assigned_by: Actor, at: datetime) -> set[int]:
    """Insert holds; the unique constraint refuses orders someone else holds. Returns the ids inserted."""
    ids = list(order_ids)
    if not ids:
        return set()
    ids_sql, ids_params = id_set_sql(ids)
    when = db_datetime(at)
    with connection.cursor() as cursor:
        cursor.execute(_holds_insert_sql(ids_sql), [holder.pk, assigned_by.pk, when, when, *ids_params])
        return {row[0] for row in cursor.fetchall()}


def holds_delete(order_ids: list[int]) -> int:
    if not order_ids:
        return 0
    deleted, _by_model = Assignment.objects.filter(order_id__in=id_set(order_ids)).delete()
    return deleted


def _holds_written_logged(
    write: str,
    params: list,
    *,
    action: str,
    order_ids: list[int],
    actor: Actor | None,
    at: datetime,
    reason: str,
    stores: Mapping[int, int] | None,
    store_id: int | None = None,
) -> set[int]:
    """PostgreSQL: `write` (an INSERT or DELETE of holds returning their order_id and operator_id) and the
    log rows of the holds it wrote, in one statement; announced as log._write announces them. `stores`: as
    LockedOrders.stores (None: the statement reads each order's store). Returns the orders whose holds it
    wrote."""
    log_sql, log_params = log.logged_from_sql(
        "written",
        action=action,
        actor=actor,
        at=at,
        reason=reason,
        store_id=store_id,
        stores_read=stores is None,
    )
    with connection.cursor() as cursor:
        cursor.execute(f"WITH written AS ({write}) {log_sql}", [*params, *log_params])
        rows = cursor.fetchall()
    if stores is not None:
        rows = [(*row, stores.get(row[1])) for row in rows]
    log.announce(action=action, order_ids=order_ids, actor=actor, at=at, reason=reason, rows=rows)
    return {row[1] for row in rows}


def holds_insert_logged(
    *,
    order_ids: list[int],
    holder: Actor,
    assigned_by: Actor,
    at: datetime,
    reason: str,
    stores: dict[int, int],
) -> set[int]:
    """Insert holds (the unique constraint refuses orders someone else holds) and their 'assigned' log rows,
    logged as done by `assigned_by`. Returns the ids inserted. One statement on PostgreSQL (the log rows come
    from the inserted holds: no second look-up of 10,000 holds), two elsewhere."""
    if not order_ids:
        return set()
    if connection.vendor != "postgresql":
        inserted = holds_insert(order_ids=order_ids, holder=holder, assigned_by=assigned_by, at=at)
        check_logged(
            log.log_assigned(order_ids=inserted, actor=assigned_by, at=at, reason=reason, stores=stores),
            len(inserted),
        )
        return inserted
    ids_sql, ids_params = id_set_sql(order_ids)
    when = db_datetime(at)
    params = [holder.pk, assigned_by.pk, when, when, *ids_params]
    return _holds_written_logged(
        _holds_insert_sql(ids_sql),
        params,
        action=log.Action.ASSIGNED,
        order_ids=order_ids,
        actor=assigned_by,
        at=at,
        reason=reason,
        stores=stores,
    )


def holds_delete_logged(
    *,
    order_ids: list[int],
    action: str,
    actor: Actor | None,
    at: datetime,
    reason: str,
    stores: Mapping[int, int] | None,
    store_id: int | None = None,
) -> int:
    """End the holds of `order_ids` and write their log rows of `action` (released, expired, auto-released);
    returns how many ended. One statement on PostgreSQL (the log rows come from the deleted holds), two
    elsewhere (the log first). `stores`: as LockedOrders.stores (None: read with the log rows); `store_id`:
    the connected store that ended them (auto-released)."""
    if not order_ids:
        return 0
    if connection.vendor != "postgresql":
        check_logged(
            log.log_holds(
                action=action,
                order_ids=order_ids,
                actor=actor,
                at=at,
                reason=reason,
                store_id=store_id,
                stores=stores,
            ),
            len(order_ids),
        )
        return holds_delete(order_ids)
    ids_sql, ids_params = id_set_sql(order_ids)
    table = Assignment._meta.db_table
    ended = _holds_written_logged(
        f"DELETE FROM {table} WHERE order_id IN ({ids_sql}) RETURNING order_id, operator_id",
        ids_params,
        action=action,
        order_ids=order_ids,
        actor=actor,
        at=at,
        reason=reason,
        stores=stores,
        store_id=store_id,
    )
    return len(ended)


def check_logged(written: int, changed: int) -> None:
    # Invariant 2: exactly one log row per change, in the same transaction. A mismatch rolls it all back.
    if written != changed:
        raise RuntimeError(f"assignment log out of step: {written} log rows for {changed} changes")


def assign_free(
    *,
    order_ids: list[int],
    holder: Actor,
    actor: Actor,
    numbers: dict[int, str],
    at: datetime,
    reason: str,
    stores: dict[int, int],
) -> dict[int, OrderOutcome]:
    """Insert and log holds on orders believed free; any that someone holds after all report the holder.
    `stores`: as LockedOrders.stores."""
    inserted = holds_insert_logged(
        order_ids=order_ids, holder=holder, assigned_by=actor, at=at, reason=reason, stores=stores
    )
    outcomes = {pk: OrderOutcome(pk, Code.DONE, numbers[pk]) for pk in inserted}
    lost = [pk for pk in order_ids if pk not in inserted]
    if lost:
        # Given a hold by a writer that committed while lock_and_read's statement waited (or one that
        # bypassed the order lock): report who holds them now.
        holds = holds_of(lost)
        holders = users_by_id(hold.operator_id for hold in holds.values())
        for pk in lost:
            holder_now = holders.get(holds[pk].operator_id) if pk in holds else None
            mine = holder_now is not None and holder_now.pk == holder.pk
            code = Code.ALREADY_YOURS if mine else Code.HELD_BY
            outcomes[pk] = OrderOutcome(pk, code, numbers[pk], holder=holder_now)
    return outcomes
