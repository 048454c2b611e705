"""On SQLite, Django rebuilds orders_order for most changes of its columns (a new table, a copy, a rename),
and a rebuild fails while other tables' triggers name orders_order (the operators app's hold marker), and
loses the triggers on the table itself. A migration that rebuilds it runs `stash` first and `restore` last:
every trigger that names orders_order is dropped before and created again, as it was, after. PostgreSQL
alters the table in place: both do nothing there.
"""

_stashed: list[tuple[str, str]] = []


def stash(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND sql LIKE '%orders_order%'"
            " ORDER BY name"
        )
        _stashed[:] = cursor.fetchall()
    for name, _sql in _stashed:
        schema_editor.execute(f'DROP TRIGGER IF EXISTS "{name}"')


def restore(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "sqlite":
        return
    for name, sql in _stashed:
        schema_editor.execute(f'DROP TRIGGER IF EXISTS "{name}"')
        schema_editor.execute(sql)
    _stashed.clear()
