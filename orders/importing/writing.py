"""The import's write service: a batch of valid orders compared with the database, then upserted by number.

Every write to an existing order's row takes it to its next version and records each changed field in the
order's history (orders/history.py), in the batch's transaction and set-based; status changes go through
the status service, which does the same for the status and ends the holds of orders entering a releasing
status, logged. Once the batch commits, one OrderChanged event names the orders whose fields or lines it
changed.
"""

import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from django.db import connection, transaction
from django.db.models import F, Field
from django.utils import timezone

from orderops.db import db_datetime, id_set
from orderops.events import OrderChanged, event_send_in_transaction, event_send_on_commit
from orders import history
from orders.history import OrderFieldChange
from orders.importing.reading import ORDER_FIELDS
from orders.importing.validation import ImportedOrder
from orders.locking import orders_locked
from orders.models import Order, OrderLine, order_search_write
from orders.results import Outcome
from orders.search_text import SEARCH_SOURCE_FIELDS, order_search_text
from orders.services import orders_status_set

# The fields an import writes directly: everything but the status, which only the status service changes.
UPDATED_FIELDS = tuple(name for name in ORDER_FIELDS if name != "status")


@dataclass
class ImportCounts:
    """What an import did (or would do) to the orders."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    lines_replaced: int = 0  # orders whose lines were replaced
    status_changes: Counter = field(default_factory=Counter)  # new status code -> orders

    def add(self, other: "ImportCounts") -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.lines_replaced += other.lines_replaced
        self.status_changes.update(other.status_changes)


@dataclass
class ImportPlan:
    """One batch, compared with the database: which orders are new, which change and how."""

    new: list[ImportedOrder] = field(default_factory=list)
    # (order id, imported order, the values to write: every updated field, created_at kept when not given)
    changed: list[tuple[int, ImportedOrder, dict[str, Any]]] = field(default_factory=list)
    lines_changed: list[tuple[int, ImportedOrder]] = field(default_factory=list)
    status_moves: dict[str, list[int]] = field(default_factory=dict)
    unchanged: int = 0
    # The rows as they are (version and updated fields) of the orders whose fields or lines change, and the
    # lines of those whose lines change: the old values of the history rows.
    current: dict[int, dict[str, Any]] = field(default_factory=dict)
    current_lines: dict[int, list[tuple]] = field(default_factory=dict)

    @property
    def counts(self) -> ImportCounts:
        touched = {pk for pk, _order, _values in self.changed}
        touched |= {pk for pk, _order in self.lines_changed}
        for ids in self.status_moves.values():
            touched |= set(ids)
        return ImportCounts(
            created=len(self.new),
            updated=len(touched),
            unchanged=self.unchanged,
            lines_replaced=len(self.lines_changed),
            status_changes=Counter({code: len(ids) for code, ids in self.status_moves.items()}),
        )

    def field_changes(self) -> list[OrderFieldChange]:
        """The history rows of the writes: each changed field, and the lines as one field, with the version
        the write produces (the current one + 1: fields and lines of one order are one write)."""
        changes = []
        for pk, _order, values in self.changed:
            row = self.current[pk]
            changes += [
                OrderFieldChange(pk, row["version"] + 1, name, _text(row[name]), _text(values[name]))
                for name in UPDATED_FIELDS
                if values[name] != row[name]
            ]
        for pk, order in self.lines_changed:
            changes.append(
                OrderFieldChange(
                    pk,
                    self.current[pk]["version"] + 1,
                    history.LINES,
                    history.lines_text(self.current_lines[pk]),
                    history.lines_text(order.lines),
                )
            )
        return changes


def _text(value: Any) -> str:
    """A value as the history writes it, moments in UTC: as the database gives them back, so that the
    history's newest value is the order's (orders.history.history_replays)."""
    if isinstance(value, datetime):
        value = value.astimezone(UTC)
    return history.value_text(value)


def orders_import_plan(*, orders: list[ImportedOrder], lock: bool = False) -> ImportPlan:
    """Compare a batch with the database. With `lock`, the existing orders are locked first (in the services'
    lock order), so that the comparison stays true until the transaction writes it."""
    numbers = [order.number for order in orders]
    # Our own format names no store: it upserts the orders that came from no store (a connected store's orders
    # come in through its own formats and the stores app, by the store's id).
    existing_ids = list(
        Order.objects.filter(number__in=numbers, store__isnull=True).values_list("pk", flat=True)
    )
    if lock and existing_ids:
        orders_locked(existing_ids)
    current = {
        row["number"]: row
        for row in Order.objects.filter(pk__in=id_set(existing_ids)).values(
            "pk", "number", "status_id", "version", *UPDATED_FIELDS
        )
    }
    current_lines: dict[int, list[tuple]] = {}
    for order_id, sku, name, qty, unit_price in (
        OrderLine.objects.filter(order_id__in=id_set(existing_ids))
        .order_by("order_id", "id")
        .values_list("order_id", "sku", "name", "qty", "unit_price")
    ):
        current_lines.setdefault(order_id, []).append((sku, name, qty, unit_price))

    plan = ImportPlan()
    for order in orders:
        row = current.get(order.number)
        if row is None:
            plan.new.append(order)
            continue
        pk = row["pk"]
        values = {name: order.values[name] for name in UPDATED_FIELDS}
        if values["created_at"] is None:
            values["created_at"] = row["created_at"]
        fields_differ = any(values[name] != row[name] for name in UPDATED_FIELDS)
        lines_differ = list(order.lines) != current_lines.get(pk, [])
        if fields_differ:
            plan.changed.append((pk, order, values))
        if lines_differ:
            plan.lines_changed.append((pk, order))
            plan.current_lines[pk] = current_lines.get(pk, [])
        if fields_differ or lines_differ:
            plan.current[pk] = row
        if order.values["status_id"] != row["status_id"]:
            plan.status_moves.setdefault(order.values["status_id"], []).append(pk)
        if not (fields_differ or lines_differ or order.values["status_id"] != row["status_id"]):
            plan.unchanged += 1
    return plan


def _orders_fields_set(*, changed: list[tuple[int, dict[str, Any]]], updated_at: datetime) -> None:
    """Write the new field values of many orders in one UPDATE ... FROM (a set of rows), never the status:
    each order's next version, changed by the system (updated_by empty).

    bulk_update would do the same with one CASE per field listing every order: on 1,000 orders that is
    quadratic work for the database and seconds of expression building in Python.
    """
    if not changed:
        return
    fields = UPDATED_FIELDS
    table = Order._meta.db_table
    quote = connection.ops.quote_name
    assignments = ", ".join(f"{quote(name)} = v.{quote(name)}" for name in fields)
    written = "updated_at = %s, version = version + 1, updated_by_id = NULL"
    if connection.vendor == "postgresql":
        types = {"grand_total": "numeric[]", "created_at": "timestamptz[]"}
        arrays = ", ".join(f"%s::{types.get(name, 'text[]')}" for name in fields)
        columns = ", ".join(quote(name) for name in fields)
        sql = (
            f"UPDATE {table} SET {assignments}, {written}"
            f" FROM unnest(%s::bigint[], {arrays}) AS v(id, {columns}) WHERE {table}.id = v.id"
        )
        params: list[Any] = [
            updated_at,
            [pk for pk, _values in changed],
            *([values[name] for _pk, values in changed] for name in fields),
        ]
    else:
        # SQLite: the rows as one JSON parameter, whatever their number (no limit on bound variables).
        picks = ", ".join(
            f"json_extract(value, '$[{index}]') AS {quote(name)}"
            for index, name in enumerate(fields, start=1)
        )
        sql = (
            f"UPDATE {table} SET {assignments}, {written}"
            f" FROM (SELECT json_extract(value, '$[0]') AS id, {picks} FROM json_each(%s)) AS v"
            f" WHERE {table}.id = v.id"
        )
        rows = [[pk, *(_sqlite_value(name, values[name]) for name in fields)] for pk, values in changed]
        params = [db_datetime(updated_at), json.dumps(rows)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        if cursor.rowcount != len(changed):
            raise RuntimeError(f"import: {cursor.rowcount} orders updated of {len(changed)}")


def _sqlite_value(name: str, value: Any) -> Any:
    """Amounts and moments as the text Django itself writes to SQLite; other values as they are."""
    if value is None or name not in ("grand_total", "created_at"):
        return value
    return str(cast(Field, Order._meta.get_field(name)).get_db_prep_save(value, connection))


def _orders_version_next(*, order_ids: list[int], updated_at: datetime) -> None:
    """Orders whose lines the import replaces and whose fields stay: that is a write too, so each takes its
    next version (one UPDATE for all of them)."""
    if not order_ids:
        return
    updated = Order.objects.filter(pk__in=id_set(order_ids)).update(
        version=F("version") + 1, updated_at=updated_at, updated_by=None
    )
    if updated != len(order_ids):
        raise RuntimeError(f"import: {updated} orders took a new version of {len(order_ids)}")


@transaction.atomic
def orders_import(*, orders: list[ImportedOrder], reason: str) -> ImportCounts:
    """Upsert one batch of valid orders by number, in one transaction: new orders are created with their
    lines, at version 1 and without history; existing ones get the imported fields and lines, one new
    version and a history row per changed field (the lines as one field), written by the system; a changed
    status goes through the status service as the system (actor None) with `reason`, so entering a
    releasing status ends the hold, logged.
    """
    plan = orders_import_plan(orders=orders, lock=True)
    now = timezone.now()

    created = Order.objects.bulk_create(
        [
            Order(
                number=order.number,
                status_id=order.values["status_id"],
                **{name: order.values[name] for name in UPDATED_FIELDS if name != "created_at"},
                created_at=order.values["created_at"] or now,
                updated_at=now,
            )
            for order in plan.new
        ]
    )
    new_lines = [
        OrderLine(order_id=new_order.pk, sku=sku, name=name, qty=qty, unit_price=unit_price)
        for new_order, order in zip(created, plan.new, strict=True)
        for sku, name, qty, unit_price in order.lines
    ]

    _orders_fields_set(changed=[(pk, values) for pk, _order, values in plan.changed], updated_at=now)
    # The search rows of the changed orders whose name, email, phone or city changed, in one upsert
    # (orders.models.OrderSearch): an order whose searched columns stay keeps its row untouched.
    order_search_write(
        {
            pk: order_search_text(**{name: values[name] or "" for name in SEARCH_SOURCE_FIELDS})
            for pk, _order, values in plan.changed
            if any(values[name] != plan.current[pk][name] for name in SEARCH_SOURCE_FIELDS)
        }
    )
    fields_written = {pk for pk, _order, _values in plan.changed}
    _orders_version_next(
        order_ids=[pk for pk, _order in plan.lines_changed if pk not in fields_written], updated_at=now
    )
    if plan.lines_changed:
        OrderLine.objects.filter(order_id__in=id_set(pk for pk, _order in plan.lines_changed)).delete()
        new_lines += [
            OrderLine(order_id=pk, sku=sku, name=name, qty=qty, unit_price=unit_price)
            for pk, order in plan.lines_changed
            for sku, name, qty, unit_price in order.lines
        ]
    OrderLine.objects.bulk_create(new_lines)
    changes = plan.field_changes()
    history.changes_record_many(changes=changes, actor=None, at=now)
    event = None
    if changes:
        event = OrderChanged(
            order_ids=tuple(sorted({change.order_id for change in changes})),
            fields=tuple(sorted({change.field for change in changes})),
            actor_id=None,
            at=now,
            source="import",
        )
        # Before the status moves: in-transaction receivers still see who held the orders.
        event_send_in_transaction(event)

    for status_code, order_ids in plan.status_moves.items():
        result = orders_status_set(actor=None, order_ids=order_ids, status_code=status_code, reason=reason)
        refused = [outcome for outcome in result if outcome.outcome != Outcome.DONE]
        if refused:
            # The orders are locked and the system passes the guard: anything else is a bug. Undo the batch.
            raise RuntimeError(f"status change refused during import: {refused[0].message}")
    if event is not None:
        event_send_on_commit(event)
    return plan.counts
