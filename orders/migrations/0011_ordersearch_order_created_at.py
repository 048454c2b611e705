"""Each search row carries its order's created_at (orders.models.OrderSearch.order_created_at), indexed with
the order, so that a search's page is sorted, cut and counted from the search rows alone and only the page's
orders are read; a trigger carries a later change of the order's created_at (orders/triggers.py).

The fill rewrites every search row: on PostgreSQL the trigram index is dropped before it and built again
after, in one pass, rather than taking every row's trigrams again one by one. Reversed, the trigger, the
index and the column go.
"""

from importlib import import_module

from django.db import migrations, models

from orders import triggers

ROW = import_module("orders.migrations.0010_order_search_row")


def created_at_fill(apps, schema_editor) -> None:
    vendor = schema_editor.connection.vendor
    _drop, _create, refill = triggers.statements(vendor)
    if vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS ordersearch_text_trgm_idx")
        schema_editor.execute(refill)
        schema_editor.execute(ROW.INDEX)
    else:
        schema_editor.execute(refill)


def trigger_create(apps, schema_editor) -> None:
    _drop, create, _refill = triggers.statements(schema_editor.connection.vendor)
    schema_editor.execute(create)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ANALYZE orders_ordersearch")


def trigger_drop(apps, schema_editor) -> None:
    drop, _create, _refill = triggers.statements(schema_editor.connection.vendor)
    schema_editor.execute(drop)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0010_order_search_row"),
    ]

    operations = [
        migrations.AddField(
            model_name="ordersearch",
            name="order_created_at",
            field=models.DateTimeField(null=True, verbose_name="created"),
        ),
        migrations.RunPython(created_at_fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="ordersearch",
            name="order_created_at",
            field=models.DateTimeField(verbose_name="created"),
        ),
        migrations.AddIndex(
            model_name="ordersearch",
            index=models.Index(fields=["order_created_at", "order"], name="ordersearch_created_idx"),
        ),
        migrations.RunPython(trigger_create, trigger_drop),
    ]
