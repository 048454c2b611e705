"""The SQL of the trigger that keeps a search row's copy of its order's created_at equal (orders migration
0011), and of its refill; `python manage.py repair_triggers` (operators.triggers) installs it with the rest.

A search row takes created_at from its order when it is written (orders.models.order_search_write); this
trigger carries a later change of the order's created_at to it. A write of the order that does not name
created_at (a status change, an edit of the customer) never fires it, and one that names it unchanged (a
save()) fires it to do nothing.
"""


def created_at_copy(table: str, column: str, name: str) -> dict[str, str]:
    """The SQL of a trigger, `name`, that keeps `table`.`column` (a copy of its order's created_at, its
    order in `order_id`) equal to orders_order.created_at when that changes: {"postgresql",
    "postgresql_drop", "sqlite", "sqlite_drop"}. The search rows' copy (here) and the holds'
    (operators/triggers/created_at.py)."""
    update = f"UPDATE {table} SET {column} = NEW.created_at WHERE order_id = NEW.id;"
    return {
        "postgresql": f"""
CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {update}
    RETURN NULL;
END $$;
CREATE TRIGGER {name}
    AFTER UPDATE OF created_at ON orders_order
    FOR EACH ROW WHEN (OLD.created_at IS DISTINCT FROM NEW.created_at)
    EXECUTE FUNCTION {name}();
""",
        "postgresql_drop": f"""
DROP TRIGGER IF EXISTS {name} ON orders_order;
DROP FUNCTION IF EXISTS {name}();
""",
        "sqlite": f"""
CREATE TRIGGER {name}
    AFTER UPDATE OF created_at ON orders_order
    FOR EACH ROW WHEN OLD.created_at IS NOT NEW.created_at
BEGIN
    {update}
END;
""",
        "sqlite_drop": f"DROP TRIGGER IF EXISTS {name};",
    }


_SEARCH = created_at_copy("orders_ordersearch", "order_created_at", "orders_ordersearch_created_at_sync")
POSTGRESQL_TRIGGER = _SEARCH["postgresql"]
POSTGRESQL_DROP = _SEARCH["postgresql_drop"]
POSTGRESQL_REFILL = """
UPDATE orders_ordersearch s SET order_created_at = o.created_at FROM orders_order o
    WHERE o.id = s.order_id AND s.order_created_at IS DISTINCT FROM o.created_at
"""
SQLITE_TRIGGER = _SEARCH["sqlite"]
SQLITE_DROP = _SEARCH["sqlite_drop"]
SQLITE_REFILL = """
UPDATE orders_ordersearch SET order_created_at = o.created_at FROM orders_order o
    WHERE o.id = orders_ordersearch.order_id AND orders_ordersearch.order_created_at IS NOT o.created_at
"""


def statements(vendor: str) -> tuple[str, str, str]:
    """(drop, create, refill) on this database."""
    if vendor == "postgresql":
        return POSTGRESQL_DROP, POSTGRESQL_TRIGGER, POSTGRESQL_REFILL
    if vendor == "sqlite":
        return SQLITE_DROP, SQLITE_TRIGGER, SQLITE_REFILL
    raise NotImplementedError(f"orderops keeps no triggers on {vendor}")
