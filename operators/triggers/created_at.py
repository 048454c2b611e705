"""The SQL of the trigger that keeps a hold's copy of its order's created_at equal (migrations 0004, 0005)."""

POSTGRESQL_TRIGGER = """
CREATE FUNCTION operators_assignment_order_created_at_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE operators_assignment SET order_created_at = NEW.created_at WHERE order_id = NEW.id;
    RETURN NULL;
END $$;
CREATE TRIGGER operators_assignment_order_created_at_sync
    AFTER UPDATE OF created_at ON orders_order
    FOR EACH ROW WHEN (OLD.created_at IS DISTINCT FROM NEW.created_at)
    EXECUTE FUNCTION operators_assignment_order_created_at_sync();
"""
POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS operators_assignment_order_created_at_sync ON orders_order;
DROP FUNCTION IF EXISTS operators_assignment_order_created_at_sync();
"""
SQLITE_TRIGGER = """
CREATE TRIGGER operators_assignment_order_created_at_sync
    AFTER UPDATE OF created_at ON orders_order
    FOR EACH ROW WHEN OLD.created_at IS NOT NEW.created_at
BEGIN
    UPDATE operators_assignment SET order_created_at = NEW.created_at WHERE order_id = NEW.id;
END;
"""
SQLITE_DROP = "DROP TRIGGER IF EXISTS operators_assignment_order_created_at_sync;"
