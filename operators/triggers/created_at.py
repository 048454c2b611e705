"""The SQL of the trigger that keeps a hold's copy of its order's created_at equal (migrations 0004, 0005),
written by the orders app's one shape for such copies (orders.triggers.created_at_copy)."""

from orders.triggers import created_at_copy

_HOLDS = created_at_copy(
    "operators_assignment", "order_created_at", "operators_assignment_order_created_at_sync"
)
POSTGRESQL_TRIGGER = _HOLDS["postgresql"]
POSTGRESQL_DROP = _HOLDS["postgresql_drop"]
SQLITE_TRIGGER = _HOLDS["sqlite"]
SQLITE_DROP = _HOLDS["sqlite_drop"]
