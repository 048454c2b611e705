"""The activity counters' fold folds only the quarters the latest counter rows counted in, instead of every
row since the first log row: its cost no longer grows with the history (see _hold_count,
POSTGRESQL_ACTIVITY_FOLD_RECENT). The counts do not change: a fold only replaces rows by their sum."""

from django.db import migrations

from operators.migrations import _hold_count


def fold_recent(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(_hold_count.POSTGRESQL_ACTIVITY_FOLD_RECENT)
    elif vendor == "sqlite":
        schema_editor.execute(_hold_count.SQLITE_ACTIVITY_FOLD_DROP)
        schema_editor.execute(_hold_count.SQLITE_ACTIVITY_FOLD_RECENT)


def fold_all(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(_hold_count.POSTGRESQL_ACTIVITY_FOLD_ALL)
    elif vendor == "sqlite":
        schema_editor.execute(_hold_count.SQLITE_ACTIVITY_FOLD_DROP)
        schema_editor.execute(_hold_count.SQLITE_ACTIVITY_FOLD_ALL)


class Migration(migrations.Migration):
    dependencies = [("operators", "0008_operator_hold_count")]

    operations = [migrations.RunPython(fold_recent, fold_all, elidable=False)]
