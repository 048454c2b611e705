"""The free orders' narrow table (FreeOrder) replaces the hold marker on orders_order (0007): a hold change
writes one narrow row, never the order's. Drops the marker's triggers, creates the table and the triggers that
keep it (operators/triggers/free_orders.py), and fills it from the holds; orders 0009 then drops the marker
column and its partial index (this migration runs before it: the marker's triggers name the column)."""

import django.db.models.deletion
from django.db import migrations, models

from operators.triggers import free_orders as _free_orders
from operators.triggers import held_marker as _held_marker


def triggers_create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(_held_marker.POSTGRESQL_DROP)
        schema_editor.execute(_free_orders.POSTGRESQL_TRIGGERS)
    elif vendor == "sqlite":
        for statement in [*_held_marker.SQLITE_DROP, *_free_orders.SQLITE_TRIGGERS]:
            schema_editor.execute(statement)
    else:
        return
    for statement in _free_orders.BACKFILL:
        schema_editor.execute(statement)


def triggers_drop(apps, schema_editor):
    """Back to the marker (orders 0009's reversal has put the column back, empty): its triggers, filled."""
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(_free_orders.POSTGRESQL_DROP)
        schema_editor.execute(_held_marker.POSTGRESQL_TRIGGERS)
    elif vendor == "sqlite":
        for statement in [*_free_orders.SQLITE_DROP, *_held_marker.SQLITE_TRIGGERS]:
            schema_editor.execute(statement)
    else:
        return
    schema_editor.execute(_held_marker.BACKFILL)


class Migration(migrations.Migration):
    dependencies = [
        ("operators", "0012_log_store_actor"),
        ("orders", "0008_order_number_validator"),
    ]
    run_before = [("orders", "0009_order_held_drop")]

    operations = [
        migrations.CreateModel(
            name="FreeOrder",
            fields=[
                (
                    "order",
                    models.OneToOneField(
                        db_constraint=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        primary_key=True,
                        related_name="free_entry",
                        serialize=False,
                        to="orders.order",
                        verbose_name="order",
                    ),
                ),
                ("created_at", models.DateTimeField(verbose_name="created at")),
                (
                    "status",
                    models.ForeignKey(
                        db_constraint=False,
                        db_index=False,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="orders.orderstatus",
                        verbose_name="status",
                    ),
                ),
            ],
            options={
                "verbose_name": "free order",
                "verbose_name_plural": "free orders",
                "db_table": "operators_free_order",
                "default_permissions": (),
                "indexes": [
                    models.Index(fields=["status", "created_at", "order"], name="free_order_front_idx")
                ],
            },
        ),
        migrations.RunPython(triggers_create, triggers_drop),
    ]
