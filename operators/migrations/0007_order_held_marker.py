"""Keep orders_order.held the shadow of the holds table, by triggers (see _held_marker), and fill it.

On SQLite, orders 0004 rebuilt orders_order and with it dropped the created_at copy's trigger: put it back.
"""

from django.db import migrations

from operators.triggers import created_at as _triggers
from operators.triggers import held_marker as _held_marker


def triggers_create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(_held_marker.POSTGRESQL_TRIGGERS)
    elif vendor == "sqlite":
        schema_editor.execute(_triggers.SQLITE_DROP)
        schema_editor.execute(_triggers.SQLITE_TRIGGER)
        for statement in _held_marker.SQLITE_TRIGGERS:
            schema_editor.execute(statement)
    else:
        return
    schema_editor.execute(_held_marker.BACKFILL)


def triggers_drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(_held_marker.POSTGRESQL_DROP)
    elif vendor == "sqlite":
        for statement in _held_marker.SQLITE_DROP:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("operators", "0006_hold_orders_permission"),
        ("orders", "0004_order_held"),
    ]

    operations = [migrations.RunPython(triggers_create, triggers_drop)]
