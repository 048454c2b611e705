"""The SQL of the triggers that kept orders_order.held the shadow of operators_assignment (migration 0007),
until operators 0013 replaced the marker by the free orders' own table (free_orders.py) and orders 0009 dropped
the column: kept for those migrations (0007 installs these, 0013 drops them and its reversal installs them).

Every insert, delete, truncate or order change of a hold sets its order's marker in the same statement,
whatever wrote the hold (the services, raw SQL, QuerySet.delete(), bulk_create, a cascade): the marker is
never out of step, even for a moment another transaction could see. A write of the marker itself by anyone
else (a stale Order.save(), QuerySet.update(held=...)) is put back to what the holds say.

PostgreSQL: statement-level triggers with transition tables, one UPDATE per statement however many holds
it wrote (a bulk assign of 10,000 orders stays one statement, invariant 7). The orders are found by primary
key from an array of the transition table's ids: PL/pgSQL plans the statement once per session and keeps the
plan, and a join planned for a bulk of 10,000 (a scan of every order) would then serve every one-row claim.
The guard on orders_order skips the triggers' own updates (pg_trigger_depth() > 0), so keeping the marker
costs no per-row function call.
SQLite: row triggers (it has no other kind); recursive_triggers is off, so the guard's correction does not
fire itself again.

SQLite cannot alter a table in place for most changes: a later migration that rebuilds orders_order or
operators_assignment there loses these triggers and must install them again (see 0005 for the same step).
"""

POSTGRESQL_TRIGGERS = """
CREATE FUNCTION operators_order_held_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE orders_order o SET held = false
        WHERE o.id = ANY (ARRAY(SELECT order_id FROM old_holds)) AND o.held
        AND NOT EXISTS (SELECT 1 FROM operators_assignment a WHERE a.order_id = o.id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        UPDATE orders_order o SET held = true
        WHERE o.id = ANY (ARRAY(SELECT order_id FROM new_holds)) AND NOT o.held;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER operators_order_held_on_insert AFTER INSERT ON operators_assignment
    REFERENCING NEW TABLE AS new_holds
    FOR EACH STATEMENT EXECUTE FUNCTION operators_order_held_sync();
CREATE TRIGGER operators_order_held_on_delete AFTER DELETE ON operators_assignment
    REFERENCING OLD TABLE AS old_holds
    FOR EACH STATEMENT EXECUTE FUNCTION operators_order_held_sync();
CREATE TRIGGER operators_order_held_on_update AFTER UPDATE ON operators_assignment
    REFERENCING OLD TABLE AS old_holds NEW TABLE AS new_holds
    FOR EACH STATEMENT EXECUTE FUNCTION operators_order_held_sync();

CREATE FUNCTION operators_order_held_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE orders_order SET held = false WHERE held;
    RETURN NULL;
END $$;
CREATE TRIGGER operators_order_held_on_truncate AFTER TRUNCATE ON operators_assignment
    FOR EACH STATEMENT EXECUTE FUNCTION operators_order_held_clear();

CREATE FUNCTION operators_order_held_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.held := EXISTS (SELECT 1 FROM operators_assignment a WHERE a.order_id = NEW.id);
    RETURN NEW;
END $$;
CREATE TRIGGER operators_order_held_guard BEFORE UPDATE OF held ON orders_order
    FOR EACH ROW WHEN (OLD.held IS DISTINCT FROM NEW.held AND pg_trigger_depth() = 0)
    EXECUTE FUNCTION operators_order_held_guard();
CREATE TRIGGER operators_order_held_guard_insert BEFORE INSERT ON orders_order
    FOR EACH ROW WHEN (NEW.held) EXECUTE FUNCTION operators_order_held_guard();
"""
POSTGRESQL_DROP = """
DROP TRIGGER IF EXISTS operators_order_held_on_insert ON operators_assignment;
DROP TRIGGER IF EXISTS operators_order_held_on_delete ON operators_assignment;
DROP TRIGGER IF EXISTS operators_order_held_on_update ON operators_assignment;
DROP TRIGGER IF EXISTS operators_order_held_on_truncate ON operators_assignment;
DROP TRIGGER IF EXISTS operators_order_held_guard ON orders_order;
DROP TRIGGER IF EXISTS operators_order_held_guard_insert ON orders_order;
DROP FUNCTION IF EXISTS operators_order_held_sync();
DROP FUNCTION IF EXISTS operators_order_held_clear();
DROP FUNCTION IF EXISTS operators_order_held_guard();
"""

_SQLITE_HELD = "EXISTS (SELECT 1 FROM operators_assignment a WHERE a.order_id = {id})"
SQLITE_TRIGGERS = [
    """CREATE TRIGGER operators_order_held_on_insert AFTER INSERT ON operators_assignment FOR EACH ROW
    BEGIN UPDATE orders_order SET held = 1 WHERE id = NEW.order_id; END;""",
    f"""CREATE TRIGGER operators_order_held_on_delete AFTER DELETE ON operators_assignment FOR EACH ROW
    BEGIN
        UPDATE orders_order SET held = 0 WHERE id = OLD.order_id AND NOT {_SQLITE_HELD.format(id="OLD.order_id")};
    END;""",
    f"""CREATE TRIGGER operators_order_held_on_update AFTER UPDATE OF order_id ON operators_assignment
    FOR EACH ROW WHEN OLD.order_id IS NOT NEW.order_id
    BEGIN
        UPDATE orders_order SET held = 0 WHERE id = OLD.order_id AND NOT {_SQLITE_HELD.format(id="OLD.order_id")};
        UPDATE orders_order SET held = 1 WHERE id = NEW.order_id;
    END;""",
    f"""CREATE TRIGGER operators_order_held_guard AFTER UPDATE OF held ON orders_order FOR EACH ROW
    WHEN NEW.held IS NOT {_SQLITE_HELD.format(id="NEW.id")}
    BEGIN UPDATE orders_order SET held = {_SQLITE_HELD.format(id="NEW.id")} WHERE id = NEW.id; END;""",
    f"""CREATE TRIGGER operators_order_held_guard_insert AFTER INSERT ON orders_order FOR EACH ROW
    WHEN NEW.held
    BEGIN UPDATE orders_order SET held = {_SQLITE_HELD.format(id="NEW.id")} WHERE id = NEW.id; END;""",
]
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS {name};"
    for name in (
        "operators_order_held_on_insert",
        "operators_order_held_on_delete",
        "operators_order_held_on_update",
        "operators_order_held_guard",
        "operators_order_held_guard_insert",
    )
]

# The marker of every order from the holds, in one statement (the migration's backfill, and repairs).
BACKFILL = (
    "UPDATE orders_order SET held = NOT held"
    " WHERE held <> EXISTS (SELECT 1 FROM operators_assignment a WHERE a.order_id = orders_order.id)"
)
