"""The orders' field-change history: what counts as a field, how a value is written down, and the writers.

Every path that writes an order row (the edit service, the status service, imports, a plain save) records
each changed field here in the same transaction, with the version the write produced. Bulk writers record
N orders in one statement. Values are kept as text: the status by its code, amounts as written, moments in
ISO 8601, nothing as "".
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection

from orderops.db import db_datetime, id_set_sql
from orderops.types import Actor
from orders.models import Order, OrderChange, OrderStatus

# The order's own fields that people, stores and scripts change; each is recorded when it changes.
FIELDS = (
    "number",
    "status",
    "customer_name",
    "customer_email",
    "customer_phone",
    "grand_total",
    "currency",
    "shipping_name",
    "shipping_street",
    "shipping_city",
    "shipping_postcode",
    "shipping_country",
    "payment_status",
    "fulfillment_status",
    "shipping_method",
    "shipping_total",
    "tax_total",
    "discount_total",
    "customer_note",
    "created_at",
)
# Amounts, written with two decimals whatever form they were given in.
MONEY = frozenset({"grand_total", "shipping_total", "tax_total", "discount_total"})
# The lines are recorded as one field: their whole text before and after.
LINES = "lines"


def fields_among(names: Iterable[str]) -> tuple[str, ...]:
    """The recorded fields among `names` (which may say "status_id" for "status")."""
    wanted = {"status" if name == "status_id" else name for name in names}
    return tuple(name for name in FIELDS if name in wanted)


def value_text(value: Any) -> str:
    """How a field's value is written in the history."""
    if value is None:
        return ""
    if isinstance(value, OrderStatus):
        return value.code
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


def field_text(order: Order, name: str) -> str:
    return value_text(order.status_id if name == "status" else getattr(order, name))


def field_changes(before: Order, after: Mapping[str, Any]) -> dict[str, tuple[str, str]]:
    """{field: (old text, new text)} for the fields in `after` whose value differs from `before`'s."""
    changes = {}
    for name, value in after.items():
        old = field_text(before, name)
        new = value_text(value.code if isinstance(value, OrderStatus) else value)
        if name in MONEY and value is not None and not isinstance(value, Decimal):
            new = value_text(Decimal(str(value)))
        if old != new:
            changes[name] = (old, new)
    return changes


def lines_text(lines: Iterable[tuple[str, str, int, Decimal]]) -> str:
    """The lines as one text, one per line: "2 x SKU-1 Name @ 9.99"."""
    return "\n".join(
        f"{qty} x {sku} {name} @ {value_text(Decimal(str(price)))}" for sku, name, qty, price in lines
    )


def changes_record(
    *,
    order_id: int,
    version: int,
    actor: Actor | None,
    at: datetime,
    changes: Mapping[str, tuple[str, str]],
    store_id: int | None = None,
) -> int:
    """Write one order's field changes (one statement). Returns the rows written. `store_id`: the connected
    store that made them (`actor` is then None)."""
    rows = [
        OrderChange(
            order_id=order_id,
            version=version,
            actor=actor,
            store_id=store_id,
            at=at,
            field=name,
            old_value=old,
            new_value=new,
        )
        for name, (old, new) in changes.items()
    ]
    OrderChange.objects.bulk_create(rows)
    return len(rows)


@dataclass(frozen=True)
class OrderFieldChange:
    """One order's change of one field, for changes_record_many."""

    order_id: int
    version: int
    field: str
    old: str
    new: str


def changes_record_many(
    *,
    changes: Iterable[OrderFieldChange],
    actor: Actor | None,
    at: datetime,
    store_id: int | None = None,
) -> int:
    """Write many orders' field changes in one statement (bulk_create in batches on SQLite). `store_id`: the
    connected store that made them (`actor` is then None)."""
    rows = [
        OrderChange(
            order_id=item.order_id,
            version=item.version,
            actor=actor,
            store_id=store_id,
            at=at,
            field=item.field,
            old_value=item.old,
            new_value=item.new,
        )
        for item in changes
    ]
    OrderChange.objects.bulk_create(rows, batch_size=5000)
    return len(rows)


def status_changes_record(
    *, order_ids: list[int], status_code: str, actor: Actor | None, at: datetime
) -> int:
    """Record a bulk status change of these orders in one INSERT ... SELECT, before their UPDATE: each row
    takes the order's current status as the old value and its next version. Returns the rows written."""
    if not order_ids:
        return 0
    ids_sql, ids_params = id_set_sql(order_ids)
    table, history = Order._meta.db_table, OrderChange._meta.db_table
    sql = (
        f"INSERT INTO {history} (order_id, version, actor_id, at, field, old_value, new_value)"
        f" SELECT id, version + 1, %s, %s, 'status', status_id, %s FROM {table}"
        f" WHERE id IN ({ids_sql}) AND status_id <> %s"
    )
    params = [actor.pk if actor else None, db_datetime(at), status_code, *ids_params, status_code]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def history_replays(order: Order) -> list[str]:
    """Check one order's history against its current values, newest change first: each change's new value
    must be what the field held until the next change of it. Returns the contradictions (empty: it agrees)."""
    current = {name: field_text(order, name) for name in FIELDS}
    current[LINES] = lines_text(order.lines.values_list("sku", "name", "qty", "unit_price"))
    problems = []
    for change in OrderChange.objects.filter(order=order).order_by("-version", "-id"):
        if change.field in current and current[change.field] != change.new_value:
            problems.append(
                f"#{order.number} v{change.version} {change.field}: history says {change.new_value!r},"
                f" the order had {current[change.field]!r}"
            )
        current[change.field] = change.old_value
    versions = set(OrderChange.objects.filter(order=order).values_list("version", flat=True))
    if versions and max(versions) > order.version:
        problems.append(
            f"#{order.number}: history reaches v{max(versions)}, the order is at v{order.version}"
        )
    return problems
