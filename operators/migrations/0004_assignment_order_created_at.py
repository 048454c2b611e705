"""Copy each held order's created_at onto its hold, indexed with the operator (see OrderCreatedAtCopy).

A trigger on orders keeps the copy equal when an order's created_at changes, whatever path changed it.
"""

from django.db import migrations, models

import operators.models

BACKFILL = (
    "UPDATE operators_assignment SET order_created_at ="
    " (SELECT o.created_at FROM orders_order o WHERE o.id = operators_assignment.order_id)"
)

from operators.triggers.created_at import (  # noqa: E402
    POSTGRESQL_DROP,
    POSTGRESQL_TRIGGER,
    SQLITE_DROP,
    SQLITE_TRIGGER,
)


def trigger_create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_TRIGGER)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_TRIGGER)


def trigger_drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_DROP)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_DROP)


class Migration(migrations.Migration):
    dependencies = [
        ("operators", "0003_assignment_autovacuum"),
        ("orders", "0002_default_statuses"),
    ]

    operations = [
        migrations.AddField(
            model_name="assignment",
            name="order_created_at",
            field=models.DateTimeField(null=True, editable=False, verbose_name="order created at"),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.AlterField(
            model_name="assignment",
            name="order_created_at",
            field=operators.models.OrderCreatedAtCopy(editable=False, verbose_name="order created at"),
        ),
        migrations.AddIndex(
            model_name="assignment",
            index=models.Index(
                fields=["operator", "order_created_at", "order"], name="assignment_operator_order_idx"
            ),
        ),
        migrations.RunPython(trigger_create, trigger_drop),
    ]
