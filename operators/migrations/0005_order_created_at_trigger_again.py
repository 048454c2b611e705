"""Put the created_at copy's trigger back on SQLite after orders 0003.

SQLite cannot add a foreign key column in place: Django rebuilds orders_order, and the rebuilt table has
none of the old one's triggers. Any later migration that rebuilds orders_order on SQLite needs the same
step. PostgreSQL alters the table in place and keeps its trigger.
"""

from django.db import migrations

from operators.triggers import created_at as _triggers


def trigger_restore(apps, schema_editor):
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute(_triggers.SQLITE_DROP)
        schema_editor.execute(_triggers.SQLITE_TRIGGER)


class Migration(migrations.Migration):
    dependencies = [
        ("operators", "0004_assignment_order_created_at"),
        ("orders", "0003_order_version_history"),
    ]

    operations = [migrations.RunPython(trigger_restore, migrations.RunPython.noop)]
