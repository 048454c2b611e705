"""The SQL of the trigger that keeps a search row's copy of its order's created_at equal (orders migration
0011), and of its refill; `python manage.py repair_triggers` (operators.triggers) installs it with the rest.

A search row takes created_at from its order when it is written (orders.models.order_search_write); this
trigger carries a later change of the order's created_at to it. A write of the order that does not name
created_at (a status change, an edit of the customer) never fires it, and one that names it unchanged (a
save()) fires it to do nothing.
"""

POSTGRESQL_TRIGGER = """
CREATE FUNCTION orders_ordersearch_created_at_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE orders_ordersearch SET order_created_at = NEW.created_at WHERE order_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER orders_ordersearch_created_at_sync
    AFTER UPDATE OF created_at ON orders_order
    FOR EACH ROW WHEN (OLD.created_at IS DISTINCT FROM NEW.created_at)
    EXECUTE FUNCTION orders_ordersearch_created_at_sync();
"""
POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS orders_ordersearch_created_at_sync ON orders_order;
DROP FUNCTION IF EXISTS orders_ordersearch_created_at_sync();
"""
POSTGRESQL_REFILL = """
UPDATE orders_ordersearch s SET order_created_at = o.created_at FROM orders_order o
    WHERE o.id = s.order_id AND s.order_created_at IS DISTINCT FROM o.created_at
"""
SQLITE_TRIGGER = """
CREATE TRIGGER orders_ordersearch_created_at_sync
    AFTER UPDATE OF created_at ON orders_order
    FOR EACH ROW WHEN OLD.created_at IS NOT NEW.created_at
BEGIN
    UPDATE orders_ordersearch SET order_created_at = NEW.created_at WHERE order_id = NEW.id;
END;
"""
SQLITE_DROP = "DROP TRIGGER IF EXISTS orders_ordersearch_created_at_sync;"
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
