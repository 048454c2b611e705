"""The SQL of the triggers that keep the counters of migration 0008: how many orders each operator holds
(operators_hold_count, from the holds) and what each took and released per quarter of an hour
(operators_activity_count, from the log).

Every insert, delete, truncate or change of holder of a hold, and every log row, changes the counters in the
same statement, whatever wrote it (the services, raw SQL, QuerySet.delete(), bulk_create, a cascade), so a
count is never out of step, even for a moment another transaction could see; a rollback takes the counters
back with the holds.

The counters are rows of changes, only ever inserted: an operator's count is the sum of their rows. A
counter row updated in place would be locked from the change to the commit, so that two transactions
changing the holds of the same two operators in opposite orders would deadlock (the race tests found one),
and every claim of one operator would wait for the previous one's commit. Inserted rows lock nothing. Every
1,000th row (by id) folds the rows into one per operator (and quarter), taking only rows no other fold has
locked (SKIP LOCKED): a fold never waits, and the tables stay a few hundred rows however many changes there
are.

PostgreSQL: statement-level triggers with transition tables, one INSERT per statement however many rows it
wrote (a bulk assign of 10,000 orders adds one row per operator, one statement inside the database and none
for Django). An update of holds that changes no holder (the activity time, the order's created_at copy)
writes nothing. SQLite: row triggers (it has no other kind); its writers take turns, so a fold is two plain
statements.

SQLite cannot alter a table in place for most changes: a later migration that rebuilds operators_assignment,
operators_assignmentlog or these tables there loses the triggers and must install them again (see 0005).
"""

TABLE = "operators_hold_count"
ACTIVITY = "operators_activity_count"
FOLD_EVERY = 1000  # counter rows
TAKEN = ("assigned", "taken_over", "reassigned")
RELEASED = ("released", "auto_released", "expired")
_TAKEN_SQL = ", ".join(f"'{action}'" for action in TAKEN)
_RELEASED_SQL = ", ".join(f"'{action}'" for action in RELEASED)
_PG_PERIOD = "date_bin('15 minutes', {at}, TIMESTAMPTZ '2000-01-01 00:00:00+00')"
# SQLite keeps datetimes as UTC text, "YYYY-MM-DD HH:MM:SS[.ffffff]": the quarter's start, as the same text.
_SQLITE_PERIOD = "strftime('%Y-%m-%d %H:', {at}) || printf('%02d', CAST(strftime('%M', {at}) AS INTEGER) / 15 * 15) || ':00'"


def _activity_select(source: str, period: str) -> str:
    """(operator, quarter, taken, released) of the log rows of `source`."""
    return (
        f"SELECT operator_id, {period.format(at='at')},"
        f" count(*) FILTER (WHERE action IN ({_TAKEN_SQL})),"
        f" count(*) FILTER (WHERE action IN ({_RELEASED_SQL}))"
        f" FROM {source} GROUP BY 1, 2"
    )


# --- PostgreSQL --------------------------------------------------------------------------------------------

_PG_FOLD_WHEN = f"""
    GET DIAGNOSTICS added = ROW_COUNT;
    IF added > 0 AND mod(currval(pg_get_serial_sequence('{{table}}', 'id')), {FOLD_EVERY}) < added THEN
        PERFORM {{table}}_fold();
    END IF;"""

# The activity fold of migration 0008 rewrote every row, every quarter since the first log row: its cost grew
# with the history (164 ms at 6,000 rows, seen in the HTTP benchmark, and a year of 20 operators is 700,000).
POSTGRESQL_ACTIVITY_FOLD_ALL = f"""CREATE OR REPLACE FUNCTION {ACTIVITY}_fold() RETURNS void LANGUAGE sql AS $$
    WITH folded AS (
        DELETE FROM {ACTIVITY} WHERE id IN (SELECT id FROM {ACTIVITY} FOR UPDATE SKIP LOCKED)
        RETURNING operator_id, period_start, taken, released
    )
    INSERT INTO {ACTIVITY} (operator_id, period_start, taken, released)
    SELECT operator_id, period_start, sum(taken), sum(released) FROM folded GROUP BY 1, 2
    HAVING sum(taken) <> 0 OR sum(released) <> 0;
$$;
"""
# Migration 0009: a fold folds only the quarters (of an operator) that the latest rows counted in, the
# rows since the fold before (FOLD_EVERY) and as many again for a statement that wrote several: a fold
# costs the same whatever the history. A quarter none of those rows touched keeps its rows; they stay exact
# (its counts are their sum), and there are few (what a skipped fold left).
RECENT_ROWS = 2 * FOLD_EVERY
POSTGRESQL_ACTIVITY_FOLD_RECENT = f"""CREATE OR REPLACE FUNCTION {ACTIVITY}_fold() RETURNS void LANGUAGE sql AS $$
    WITH recent AS (
        SELECT DISTINCT operator_id, period_start FROM {ACTIVITY}
        WHERE id > currval(pg_get_serial_sequence('{ACTIVITY}', 'id')) - {RECENT_ROWS}
    ), folded AS (
        DELETE FROM {ACTIVITY} WHERE id IN (
            SELECT c.id FROM {ACTIVITY} c
            JOIN recent r ON r.operator_id = c.operator_id AND r.period_start = c.period_start
            FOR UPDATE OF c SKIP LOCKED
        )
        RETURNING operator_id, period_start, taken, released
    )
    INSERT INTO {ACTIVITY} (operator_id, period_start, taken, released)
    SELECT operator_id, period_start, sum(taken), sum(released) FROM folded GROUP BY 1, 2
    HAVING sum(taken) <> 0 OR sum(released) <> 0;
$$;
"""

POSTGRESQL_TRIGGERS = f"""
CREATE FUNCTION {TABLE}_fold() RETURNS void LANGUAGE sql AS $$
    WITH folded AS (
        DELETE FROM {TABLE} WHERE id IN (SELECT id FROM {TABLE} FOR UPDATE SKIP LOCKED)
        RETURNING operator_id, held
    )
    INSERT INTO {TABLE} (operator_id, held)
    SELECT operator_id, sum(held) FROM folded GROUP BY operator_id HAVING sum(held) <> 0;
$$;
CREATE FUNCTION operators_hold_count_sync() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    added bigint;
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO {TABLE} (operator_id, held)
        SELECT operator_id, count(*) FROM new_holds GROUP BY operator_id;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO {TABLE} (operator_id, held)
        SELECT operator_id, -count(*) FROM old_holds GROUP BY operator_id;
    ELSE
        INSERT INTO {TABLE} (operator_id, held)
        SELECT operator_id, sum(change) FROM (
            SELECT operator_id, 1 AS change FROM new_holds
            UNION ALL SELECT operator_id, -1 FROM old_holds
        ) changes
        GROUP BY operator_id HAVING sum(change) <> 0;
    END IF;{_PG_FOLD_WHEN.format(table=TABLE)}
    RETURN NULL;
END $$;
CREATE TRIGGER operators_hold_count_on_insert AFTER INSERT ON operators_assignment
    REFERENCING NEW TABLE AS new_holds
    FOR EACH STATEMENT EXECUTE FUNCTION operators_hold_count_sync();
CREATE TRIGGER operators_hold_count_on_delete AFTER DELETE ON operators_assignment
    REFERENCING OLD TABLE AS old_holds
    FOR EACH STATEMENT EXECUTE FUNCTION operators_hold_count_sync();
CREATE TRIGGER operators_hold_count_on_update AFTER UPDATE ON operators_assignment
    REFERENCING OLD TABLE AS old_holds NEW TABLE AS new_holds
    FOR EACH STATEMENT EXECUTE FUNCTION operators_hold_count_sync();

CREATE FUNCTION operators_hold_count_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {TABLE};
    RETURN NULL;
END $$;
CREATE TRIGGER operators_hold_count_on_truncate AFTER TRUNCATE ON operators_assignment
    FOR EACH STATEMENT EXECUTE FUNCTION operators_hold_count_clear();

{POSTGRESQL_ACTIVITY_FOLD_ALL}CREATE FUNCTION operators_activity_count_sync() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    added bigint;
BEGIN
    INSERT INTO {ACTIVITY} (operator_id, period_start, taken, released)
    {_activity_select("new_rows", _PG_PERIOD)};{_PG_FOLD_WHEN.format(table=ACTIVITY)}
    RETURN NULL;
END $$;
CREATE TRIGGER operators_activity_count_on_insert AFTER INSERT ON operators_assignmentlog
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION operators_activity_count_sync();

CREATE FUNCTION operators_activity_count_clear() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM {ACTIVITY};
    RETURN NULL;
END $$;
CREATE TRIGGER operators_activity_count_on_truncate AFTER TRUNCATE ON operators_assignmentlog
    FOR EACH STATEMENT EXECUTE FUNCTION operators_activity_count_clear();
"""
POSTGRESQL_DROP = f"""
DROP TRIGGER IF EXISTS operators_hold_count_on_insert ON operators_assignment;
DROP TRIGGER IF EXISTS operators_hold_count_on_delete ON operators_assignment;
DROP TRIGGER IF EXISTS operators_hold_count_on_update ON operators_assignment;
DROP TRIGGER IF EXISTS operators_hold_count_on_truncate ON operators_assignment;
DROP TRIGGER IF EXISTS operators_activity_count_on_insert ON operators_assignmentlog;
DROP TRIGGER IF EXISTS operators_activity_count_on_truncate ON operators_assignmentlog;
DROP FUNCTION IF EXISTS operators_hold_count_sync();
DROP FUNCTION IF EXISTS operators_hold_count_clear();
DROP FUNCTION IF EXISTS {TABLE}_fold();
DROP FUNCTION IF EXISTS operators_activity_count_sync();
DROP FUNCTION IF EXISTS operators_activity_count_clear();
DROP FUNCTION IF EXISTS {ACTIVITY}_fold();
"""

# --- SQLite ------------------------------------------------------------------------------------------------

SQLITE_ACTIVITY_FOLD_ALL = f"""CREATE TRIGGER operators_activity_count_fold AFTER INSERT ON {ACTIVITY} FOR EACH ROW
    WHEN NEW.id % {FOLD_EVERY} = 0
    BEGIN
        INSERT INTO {ACTIVITY} (operator_id, period_start, taken, released)
        SELECT operator_id, period_start, sum(taken), sum(released) FROM {ACTIVITY} WHERE id <= NEW.id
        GROUP BY 1, 2 HAVING sum(taken) <> 0 OR sum(released) <> 0;
        DELETE FROM {ACTIVITY} WHERE id <= NEW.id;
    END;"""
# Migration 0009, as POSTGRESQL_ACTIVITY_FOLD_RECENT: the quarters the latest rows counted in.
_SQLITE_RECENT = (
    f"(operator_id, period_start) IN (SELECT operator_id, period_start FROM {ACTIVITY}"
    f" WHERE id > NEW.id - {RECENT_ROWS} AND id <= NEW.id)"
)
SQLITE_ACTIVITY_FOLD_RECENT = f"""CREATE TRIGGER operators_activity_count_fold AFTER INSERT ON {ACTIVITY} FOR EACH ROW
    WHEN NEW.id % {FOLD_EVERY} = 0
    BEGIN
        INSERT INTO {ACTIVITY} (operator_id, period_start, taken, released)
        SELECT operator_id, period_start, sum(taken), sum(released) FROM {ACTIVITY}
        WHERE id <= NEW.id AND {_SQLITE_RECENT}
        GROUP BY 1, 2 HAVING sum(taken) <> 0 OR sum(released) <> 0;
        DELETE FROM {ACTIVITY} WHERE id <= NEW.id AND {_SQLITE_RECENT};
    END;"""
SQLITE_ACTIVITY_FOLD_DROP = "DROP TRIGGER IF EXISTS operators_activity_count_fold;"

_SQLITE_HELD = f"INSERT INTO {TABLE} (operator_id, held) VALUES ({{operator}}, {{change}});"
SQLITE_TRIGGERS = [
    f"""CREATE TRIGGER operators_hold_count_on_insert AFTER INSERT ON operators_assignment FOR EACH ROW
    BEGIN {_SQLITE_HELD.format(operator="NEW.operator_id", change=1)} END;""",
    f"""CREATE TRIGGER operators_hold_count_on_delete AFTER DELETE ON operators_assignment FOR EACH ROW
    BEGIN {_SQLITE_HELD.format(operator="OLD.operator_id", change=-1)} END;""",
    f"""CREATE TRIGGER operators_hold_count_on_update AFTER UPDATE OF operator_id ON operators_assignment
    FOR EACH ROW WHEN OLD.operator_id IS NOT NEW.operator_id
    BEGIN
        {_SQLITE_HELD.format(operator="OLD.operator_id", change=-1)}
        {_SQLITE_HELD.format(operator="NEW.operator_id", change=1)}
    END;""",
    # The fold (recursive_triggers is off: its own inserts do not fire it again).
    f"""CREATE TRIGGER operators_hold_count_fold AFTER INSERT ON {TABLE} FOR EACH ROW
    WHEN NEW.id % {FOLD_EVERY} = 0
    BEGIN
        INSERT INTO {TABLE} (operator_id, held)
        SELECT operator_id, sum(held) FROM {TABLE} WHERE id <= NEW.id GROUP BY operator_id HAVING sum(held) <> 0;
        DELETE FROM {TABLE} WHERE id <= NEW.id;
    END;""",
    f"""CREATE TRIGGER operators_activity_count_on_insert AFTER INSERT ON operators_assignmentlog
    FOR EACH ROW WHEN NEW.action IN ({_TAKEN_SQL}, {_RELEASED_SQL})
    BEGIN
        INSERT INTO {ACTIVITY} (operator_id, period_start, taken, released) VALUES (
            NEW.operator_id,
            {_SQLITE_PERIOD.format(at="NEW.at")},
            NEW.action IN ({_TAKEN_SQL}),
            NEW.action IN ({_RELEASED_SQL})
        );
    END;""",
    SQLITE_ACTIVITY_FOLD_ALL,
]
SQLITE_DROP = [
    f"DROP TRIGGER IF EXISTS {name};"
    for name in (
        "operators_hold_count_on_insert",
        "operators_hold_count_on_delete",
        "operators_hold_count_on_update",
        "operators_hold_count_fold",
        "operators_activity_count_on_insert",
        "operators_activity_count_fold",
    )
]

# --- filling and repairs -----------------------------------------------------------------------------------

# Every held count from the holds, one row per operator (the migration's backfill, and repairs after holds
# were written with the triggers off, as the benchmark's bulk load does).
REBUILD = [
    f"DELETE FROM {TABLE}",
    f"INSERT INTO {TABLE} (operator_id, held)"
    " SELECT operator_id, count(*) FROM operators_assignment GROUP BY operator_id",
]


def activity_select(vendor: str) -> str:
    """(operator, quarter, taken, released) by a count of the whole log."""
    return _activity_select(
        "operators_assignmentlog", _PG_PERIOD if vendor == "postgresql" else _SQLITE_PERIOD
    )


def activity_rebuild(vendor: str) -> list[str]:
    """Every quarter's counts from the log, one row per operator and quarter (the backfill, and repairs)."""
    return [
        f"DELETE FROM {ACTIVITY}",
        f"INSERT INTO {ACTIVITY} (operator_id, period_start, taken, released) {activity_select(vendor)}",
    ]
