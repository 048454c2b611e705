"""The SQL of the triggers that keep operators_free_order, one narrow row per order nobody holds (migration
0013), in step with the holds and the orders.

Every insert, delete, truncate or order change of a hold deletes or writes its order's free row in the same
statement, whatever wrote the hold (the services, raw SQL, QuerySet.delete(), bulk_create, a cascade); every
new, changed (status, created_at) or deleted order does the same for its own row. A hold change writes only
these narrow rows: never the order's (wide, with eight indexes, one of them the search's GIN index), as the
hold marker on orders_order did before (held_marker.py, migrations 0007 to 0012).

PostgreSQL: the writes of holds and of new or deleted orders fire statement-level triggers with transition
tables (a bulk assign of 10,000 orders stays one statement for the free rows, invariant 7), finding the rows
by primary key from an array of the transition table's ids (see held_marker.py for why an array). A status
or created_at change fires a row trigger, only when one of them changed. A free row written back when its
hold ends reads its order's status without a lock; a status change first key-share-locks the order's hold row,
so a hold ending at that moment is waited for and its free row then given the new status, never lost
(version 2, migration 0016; version 1 share-locked the order row instead). Writes to operators_free_order by anyone else (a stray INSERT,
DELETE or UPDATE at trigger depth 0) are made to agree with the holds and the orders before they land, and a
TRUNCATE of it is refilled.
SQLite: row triggers (it has no other kind); the guard's conditions are the truth itself (an order, no hold,
its status and created_at), since SQLite has no trigger depth.
"""

TABLE = "operators_free_order"

# The triggers on operators_assignment that keep the free rows (the benchmark's narrow-queue reference turns
# them off for its own run, and keeps its own queue instead).
ASSIGNMENT_TRIGGERS = (
    "operators_free_order_on_hold_insert",
    "operators_free_order_on_hold_delete",
    "operators_free_order_on_hold_update",
)

# Version 1 of the two functions that migration 0016 replaced (its reverse installs them again).
_ON_HOLDS_V1 = f"""CREATE FUNCTION operators_free_order_on_holds() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        DELETE FROM {TABLE} f WHERE f.order_id = ANY (ARRAY(SELECT order_id FROM new_holds));
    END IF;
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        INSERT INTO {TABLE} (order_id, status_id, created_at)
        SELECT o.id, o.status_id, o.created_at FROM orders_order o
        WHERE o.id = ANY (ARRAY(SELECT order_id FROM old_holds))
        AND NOT EXISTS (SELECT 1 FROM operators_assignment a WHERE a.order_id = o.id)
        FOR SHARE OF o
        ON CONFLICT (order_id) DO NOTHING;
    END IF;
    RETURN NULL;
END $$;"""
_ON_ORDER_CHANGE_V1 = f"""CREATE FUNCTION operators_free_order_on_order_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.id IS DISTINCT FROM NEW.id THEN
        DELETE FROM {TABLE} WHERE order_id = OLD.id;
        INSERT INTO {TABLE} (order_id, status_id, created_at)
        SELECT NEW.id, NEW.status_id, NEW.created_at
        WHERE NOT EXISTS (SELECT 1 FROM operators_assignment a WHERE a.order_id = NEW.id)
        ON CONFLICT (order_id) DO NOTHING;
    ELSE
        UPDATE {TABLE} SET status_id = NEW.status_id, created_at = NEW.created_at WHERE order_id = NEW.id;
    END IF;
    RETURN NULL;
END $$;"""

POSTGRESQL_TRIGGERS = f"""
{_ON_HOLDS_V1}
CREATE TRIGGER operators_free_order_on_hold_insert AFTER INSERT ON operators_assignment
    REFERENCING NEW TABLE AS new_holds
    FOR EACH STATEMENT EXECUTE FUNCTION operators_free_order_on_holds();
CREATE TRIGGER operators_free_order_on_hold_delete AFTER DELETE ON operators_assignment
    REFERENCING OLD TABLE AS old_holds
    FOR EACH STATEMENT EXECUTE FUNCTION operators_free_order_on_holds();
CREATE TRIGGER operators_free_order_on_hold_update AFTER UPDATE ON operators_assignment
    REFERENCING OLD TABLE AS old_holds NEW TABLE AS new_holds
    FOR EACH STATEMENT EXECUTE FUNCTION operators_free_order_on_holds();

CREATE FUNCTION operators_free_order_on_holds_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {TABLE} (order_id, status_id, created_at)
    SELECT o.id, o.status_id, o.created_at FROM orders_order o
    ON CONFLICT (order_id) DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER operators_free_order_on_hold_truncate AFTER TRUNCATE ON operators_assignment
    FOR EACH STATEMENT EXECUTE FUNCTION operators_free_order_on_holds_truncate();

CREATE FUNCTION operators_free_order_on_orders() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO {TABLE} (order_id, status_id, created_at)
        SELECT n.id, n.status_id, n.created_at FROM new_orders n
        WHERE NOT EXISTS (SELECT 1 FROM operators_assignment a WHERE a.order_id = n.id)
        ON CONFLICT (order_id) DO NOTHING;
    ELSE
        DELETE FROM {TABLE} f WHERE f.order_id = ANY (ARRAY(SELECT id FROM old_orders));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER operators_free_order_on_order_insert AFTER INSERT ON orders_order
    REFERENCING NEW TABLE AS new_orders
    FOR EACH STATEMENT EXECUTE FUNCTION operators_free_order_on_orders();
CREATE TRIGGER operators_free_order_on_order_delete AFTER DELETE ON orders_order
    REFERENCING OLD TABLE AS old_orders
    FOR EACH STATEMENT EXECUTE FUNCTION operators_free_order_on_orders();

{_ON_ORDER_CHANGE_V1}
CREATE TRIGGER operators_free_order_on_order_change AFTER UPDATE OF id, status_id, created_at ON orders_order
    FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id OR OLD.status_id IS DISTINCT FROM NEW.status_id
        OR OLD.created_at IS DISTINCT FROM NEW.created_at)
    EXECUTE FUNCTION operators_free_order_on_order_change();

CREATE FUNCTION operators_free_order_on_orders_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {TABLE};
    RETURN NULL;
END $$;
CREATE TRIGGER operators_free_order_on_order_truncate AFTER TRUNCATE ON orders_order
    FOR EACH STATEMENT EXECUTE FUNCTION operators_free_order_on_orders_truncate();

CREATE FUNCTION operators_free_order_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    truth record;
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF EXISTS (SELECT 1 FROM orders_order o WHERE o.id = OLD.order_id)
            AND NOT EXISTS (SELECT 1 FROM operators_assignment a WHERE a.order_id = OLD.order_id) THEN
            RETURN NULL;  -- the order is free: its row stays
        END IF;
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.order_id IS DISTINCT FROM OLD.order_id THEN
        RETURN NULL;  -- a free row belongs to its order
    END IF;
    SELECT o.status_id, o.created_at INTO truth FROM orders_order o
    WHERE o.id = NEW.order_id AND NOT EXISTS (SELECT 1 FROM operators_assignment a WHERE a.order_id = o.id);
    IF NOT FOUND THEN
        RETURN NULL;  -- no such order, or it is held: no free row
    END IF;
    NEW.status_id := truth.status_id;
    NEW.created_at := truth.created_at;
    RETURN NEW;
END $$;
CREATE TRIGGER operators_free_order_guard BEFORE INSERT OR UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW WHEN (pg_trigger_depth() = 0) EXECUTE FUNCTION operators_free_order_guard();

CREATE FUNCTION operators_free_order_refill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {TABLE} (order_id, status_id, created_at)
    SELECT o.id, o.status_id, o.created_at FROM orders_order o
    WHERE NOT EXISTS (SELECT 1 FROM operators_assignment a WHERE a.order_id = o.id)
    ON CONFLICT (order_id) DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER operators_free_order_refill AFTER TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION operators_free_order_refill();
"""
# Version 2 (migration 0016): a hold's end no longer share-locks its order's row (a bulk release of 10,000
# locked 10,000 wide order rows here: about 80 ms, as long as the release's own reads); the order's side takes
# the conflict instead. A change of an order's status or created_at first key-share-locks the order's hold
# row: a release that has ended the hold (and written the free row, with the status it read) is waited for,
# and the free row it wrote is then seen by the UPDATE below (a new snapshot: each statement of a PL/pgSQL
# function takes one) and given the new status; a release that comes second waits for the status change and
# reads the new status. A release locks nothing else (operators.services.release), so nothing waits in a
# circle.
POSTGRESQL_ON_HOLDS_V1 = _ON_HOLDS_V1.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
POSTGRESQL_ON_HOLDS_V2 = POSTGRESQL_ON_HOLDS_V1.replace("        FOR SHARE OF o\n", "")
POSTGRESQL_ON_ORDER_CHANGE_V1 = _ON_ORDER_CHANGE_V1.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION")
POSTGRESQL_ON_ORDER_CHANGE_V2 = POSTGRESQL_ON_ORDER_CHANGE_V1.replace(
    "BEGIN\n    IF OLD.id",
    "BEGIN\n    PERFORM 1 FROM operators_assignment a WHERE a.order_id IN (OLD.id, NEW.id) FOR KEY SHARE;\n"
    "    IF OLD.id",
)
# Version 2 over version 1 (POSTGRESQL_TRIGGERS installs version 1, as migration 0013 did).
POSTGRESQL_V2 = POSTGRESQL_ON_HOLDS_V2 + POSTGRESQL_ON_ORDER_CHANGE_V2
POSTGRESQL_V1 = POSTGRESQL_ON_HOLDS_V1 + POSTGRESQL_ON_ORDER_CHANGE_V1

POSTGRESQL_DROP = f"""
DROP TRIGGER IF EXISTS operators_free_order_on_hold_insert ON operators_assignment;
DROP TRIGGER IF EXISTS operators_free_order_on_hold_delete ON operators_assignment;
DROP TRIGGER IF EXISTS operators_free_order_on_hold_update ON operators_assignment;
DROP TRIGGER IF EXISTS operators_free_order_on_hold_truncate ON operators_assignment;
DROP TRIGGER IF EXISTS operators_free_order_on_order_insert ON orders_order;
DROP TRIGGER IF EXISTS operators_free_order_on_order_delete ON orders_order;
DROP TRIGGER IF EXISTS operators_free_order_on_order_change ON orders_order;
DROP TRIGGER IF EXISTS operators_free_order_on_order_truncate ON orders_order;
DROP TRIGGER IF EXISTS operators_free_order_guard ON {TABLE};
DROP TRIGGER IF EXISTS operators_free_order_refill ON {TABLE};
DROP FUNCTION IF EXISTS operators_free_order_on_holds();
DROP FUNCTION IF EXISTS operators_free_order_on_holds_truncate();
DROP FUNCTION IF EXISTS operators_free_order_on_orders();
DROP FUNCTION IF EXISTS operators_free_order_on_order_change();
DROP FUNCTION IF EXISTS operators_free_order_on_orders_truncate();
DROP FUNCTION IF EXISTS operators_free_order_guard();
DROP FUNCTION IF EXISTS operators_free_order_refill();
"""

_HELD = "EXISTS (SELECT 1 FROM operators_assignment a WHERE a.order_id = {id})"
_FREE_INSERT = (
    f"INSERT OR IGNORE INTO {TABLE} (order_id, status_id, created_at)"
    " SELECT o.id, o.status_id, o.created_at FROM orders_order o WHERE o.id = {id} AND NOT "
    + _HELD.format(id="o.id")
    + ";"
)
_TRUE_ROW = (
    "EXISTS (SELECT 1 FROM orders_order o WHERE o.id = NEW.order_id AND o.status_id = NEW.status_id"
    " AND o.created_at = NEW.created_at)"
)
SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER operators_free_order_on_hold_insert AFTER INSERT ON operators_assignment FOR EACH ROW
    BEGIN DELETE FROM {TABLE} WHERE order_id = NEW.order_id; END;""",
    f"""CREATE TRIGGER operators_free_order_on_hold_delete AFTER DELETE ON operators_assignment FOR EACH ROW
    BEGIN {_FREE_INSERT.format(id="OLD.order_id")} END;""",
    f"""CREATE TRIGGER operators_free_order_on_hold_update AFTER UPDATE OF order_id ON operators_assignment
    FOR EACH ROW WHEN OLD.order_id IS NOT NEW.order_id
    BEGIN
        DELETE FROM {TABLE} WHERE order_id = NEW.order_id;
        {_FREE_INSERT.format(id="OLD.order_id")}
    END;""",
    f"""CREATE TRIGGER operators_free_order_on_order_insert AFTER INSERT ON orders_order FOR EACH ROW
    BEGIN {_FREE_INSERT.format(id="NEW.id")} END;""",
    f"""CREATE TRIGGER operators_free_order_on_order_delete AFTER DELETE ON orders_order FOR EACH ROW
    BEGIN DELETE FROM {TABLE} WHERE order_id = OLD.id; END;""",
    f"""CREATE TRIGGER operators_free_order_on_order_change AFTER UPDATE OF id, status_id, created_at
    ON orders_order FOR EACH ROW
    WHEN OLD.id IS NOT NEW.id OR OLD.status_id IS NOT NEW.status_id OR OLD.created_at IS NOT NEW.created_at
    BEGIN
        DELETE FROM {TABLE} WHERE order_id = OLD.id AND OLD.id IS NOT NEW.id;
        UPDATE {TABLE} SET status_id = NEW.status_id, created_at = NEW.created_at WHERE order_id = NEW.id;
        {_FREE_INSERT.format(id="NEW.id")}
    END;""",
    f"""CREATE TRIGGER operators_free_order_guard_insert BEFORE INSERT ON {TABLE} FOR EACH ROW
    WHEN NOT {_TRUE_ROW} OR {_HELD.format(id="NEW.order_id")}
    BEGIN SELECT RAISE(IGNORE); END;""",
    f"""CREATE TRIGGER operators_free_order_guard_update BEFORE UPDATE ON {TABLE} FOR EACH ROW
    WHEN NEW.order_id IS NOT OLD.order_id OR NOT {_TRUE_ROW}
    BEGIN SELECT RAISE(IGNORE); END;""",
    f"""CREATE TRIGGER operators_free_order_guard_delete BEFORE DELETE ON {TABLE} FOR EACH ROW
    WHEN EXISTS (SELECT 1 FROM orders_order o WHERE o.id = OLD.order_id)
    AND NOT {_HELD.format(id="OLD.order_id")}
    BEGIN SELECT RAISE(IGNORE); END;""",
]
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS {name};"
    for name in (
        "operators_free_order_on_hold_insert",
        "operators_free_order_on_hold_delete",
        "operators_free_order_on_hold_update",
        "operators_free_order_on_order_insert",
        "operators_free_order_on_order_delete",
        "operators_free_order_on_order_change",
        "operators_free_order_guard_insert",
        "operators_free_order_guard_update",
        "operators_free_order_guard_delete",
    )
]

# The free rows from the holds and the orders, in three statements that touch only the rows that disagree
# (the migration's fill, and repairs): rows that should not be there, rows whose copy is stale, rows missing.
BACKFILL = [
    f"DELETE FROM {TABLE} WHERE NOT EXISTS (SELECT 1 FROM orders_order o WHERE o.id = {TABLE}.order_id)"
    f" OR {_HELD.format(id=f'{TABLE}.order_id')}",
    f"UPDATE {TABLE} SET"
    f" status_id = (SELECT o.status_id FROM orders_order o WHERE o.id = {TABLE}.order_id),"
    f" created_at = (SELECT o.created_at FROM orders_order o WHERE o.id = {TABLE}.order_id)"
    f" WHERE EXISTS (SELECT 1 FROM orders_order o WHERE o.id = {TABLE}.order_id"
    f" AND (o.status_id <> {TABLE}.status_id OR o.created_at <> {TABLE}.created_at))",
    f"INSERT INTO {TABLE} (order_id, status_id, created_at)"
    " SELECT o.id, o.status_id, o.created_at FROM orders_order o"
    f" WHERE NOT {_HELD.format(id='o.id')}"
    f" AND NOT EXISTS (SELECT 1 FROM {TABLE} f WHERE f.order_id = o.id)",
]
