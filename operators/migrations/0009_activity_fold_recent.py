"""The activity counters' fold folds only the quarters the latest counter rows counted in, instead of every
row since the first log row: its cost no longer grows with the history (see _hold_count,
POSTGRESQL_ACTIVITY_FOLD_RECENT). The counts do not change: a fold only replaces rows by their sum."""

from django.db import migrations

from operators.triggers import hold_count as _hold_count


def fold_install(postgresql: str, sqlite: str):
    """A migration step installing one version of the fold (the function on PostgreSQL, the trigger on
    SQLite)."""

    def install(apps, schema_editor):
        vendor = schema_editor.connection.vendor
        if vendor == "postgresql":
            schema_editor.execute(postgresql)
        elif vendor == "sqlite":
            schema_editor.execute(_hold_count.SQLITE_ACTIVITY_FOLD_DROP)
            schema_editor.execute(sqlite)

    return install


fold_recent = fold_install(
    _hold_count.POSTGRESQL_ACTIVITY_FOLD_RECENT, _hold_count.SQLITE_ACTIVITY_FOLD_RECENT
)
fold_all = fold_install(_hold_count.POSTGRESQL_ACTIVITY_FOLD_ALL, _hold_count.SQLITE_ACTIVITY_FOLD_ALL)


class Migration(migrations.Migration):
    dependencies = [("operators", "0008_operator_hold_count")]

    operations = [migrations.RunPython(fold_recent, fold_all, elidable=False)]
