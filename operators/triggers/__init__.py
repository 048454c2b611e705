"""The database triggers of the assignment domain, their SQL in modules that ruff and mypy read, and their
repair: `triggers_install` drops and creates every one at its current version and refills what they keep.

- created_at.py: the hold's copy of its order's created_at (operators migrations 0004, 0005);
- held_marker.py: orders_order.held, the shadow of the holds (0007), replaced by free_orders.py (0013);
- free_orders.py: operators_free_order, one narrow row per order nobody holds (0013; 0016: a hold's end
  locks no order row, an order's status change locks its hold row);
- hold_count.py: the counters of holds per operator and of activity per quarter (0008, 0009);
- orders/triggers.py (the orders app's): the search rows' copy of their order's created_at (orders 0011).

The migrations install each version as it came; `python manage.py repair_triggers` installs the current
ones over whatever is there (a trigger dropped by hand, a table rebuilt by a tool that does not know them,
a restore without them), in one transaction on PostgreSQL.
"""

from dataclasses import dataclass

from django.db import connection, transaction

from operators.triggers import created_at, free_orders, held_marker, hold_count
from orders import triggers as orders_triggers


@dataclass(frozen=True)
class TriggersInstalled:
    vendor: str
    statements: int


def _current_statements(vendor: str) -> list[str]:
    """Drop, create and refill, in that order, for every trigger at its current version."""
    search_drop, search_create, search_refill = orders_triggers.statements(vendor)
    if vendor == "postgresql":
        return [
            search_drop,
            created_at.POSTGRESQL_DROP,
            held_marker.POSTGRESQL_DROP,
            free_orders.POSTGRESQL_DROP,
            hold_count.POSTGRESQL_DROP,
            search_create,
            created_at.POSTGRESQL_TRIGGER,
            free_orders.POSTGRESQL_TRIGGERS,
            free_orders.POSTGRESQL_V2,  # migration 0016 over 0013's
            hold_count.POSTGRESQL_TRIGGERS,
            hold_count.POSTGRESQL_ACTIVITY_FOLD_RECENT,
            search_refill,
            *free_orders.BACKFILL,
            *hold_count.REBUILD,
            *hold_count.activity_rebuild(vendor),
        ]
    if vendor == "sqlite":
        return [
            search_drop,
            created_at.SQLITE_DROP,
            *held_marker.SQLITE_DROP,
            *free_orders.SQLITE_DROP,
            *hold_count.SQLITE_DROP,
            hold_count.SQLITE_ACTIVITY_FOLD_DROP,
            search_create,
            created_at.SQLITE_TRIGGER,
            *free_orders.SQLITE_TRIGGERS,
            # The activity fold at its current version (migration 0009) instead of the first one.
            *[sql for sql in hold_count.SQLITE_TRIGGERS if sql != hold_count.SQLITE_ACTIVITY_FOLD_ALL],
            hold_count.SQLITE_ACTIVITY_FOLD_RECENT,
            search_refill,
            *free_orders.BACKFILL,
            *hold_count.REBUILD,
            *hold_count.activity_rebuild(vendor),
        ]
    raise NotImplementedError(f"orderops keeps no triggers on {vendor}")


def triggers_install() -> TriggersInstalled:
    """Install every trigger at its current version over whatever is there, and refill the free orders and
    the counters from the holds and the log. One transaction: on PostgreSQL a hold written meanwhile waits
    for it (DDL locks the tables) and is then kept by the new triggers; nobody ever sees the tables without
    them."""
    vendor = connection.vendor
    statements = _current_statements(vendor)
    with transaction.atomic(), connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
    return TriggersInstalled(vendor, len(statements))
