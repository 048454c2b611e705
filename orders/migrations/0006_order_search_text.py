"""The order's search column (orders/search_text.py), filled for every existing order, and its trigram index on
PostgreSQL in place of 0005's index over an expression of the four columns.

The column is computed in Python (phonenumbers, the Bulgarian transliteration), so the existing rows are filled
here in batches of 2,000 by primary key; `manage.py search_text` checks them afterwards. One GIN index over the
one column, as 0005's was over one expression: every write of an order row updates every index on it.
"""

from importlib import import_module

from django.db import migrations, models

from orders.search_text import SEARCH_SOURCE_FIELDS, order_search_text

BATCH = 2000

INDEX = "CREATE INDEX order_search_text_trgm_idx ON orders_order USING gin (search_text gin_trgm_ops)"


def search_column_add(apps, schema_editor) -> None:
    """The column, added in place. Django's SQLite backend would rebuild the table for a NOT NULL column,
    and a rebuild breaks the operators app's triggers that name the table; SQLite's own ADD COLUMN takes a
    NOT NULL column with a constant default (and PostgreSQL adds one without rewriting the table)."""
    schema_editor.execute("ALTER TABLE orders_order ADD COLUMN search_text text NOT NULL DEFAULT ''")


def search_column_drop(apps, schema_editor) -> None:
    schema_editor.execute("ALTER TABLE orders_order DROP COLUMN search_text")


def search_text_fill(apps, schema_editor) -> None:
    Order = apps.get_model("orders", "Order")
    db = schema_editor.connection.alias
    last = 0
    while True:
        batch = list(
            Order._base_manager.using(db)
            .filter(pk__gt=last)
            .order_by("pk")
            .only("pk", *SEARCH_SOURCE_FIELDS)[:BATCH]
        )
        if not batch:
            break
        for order in batch:
            order.search_text = order_search_text(
                **{name: getattr(order, name) or "" for name in SEARCH_SOURCE_FIELDS}
            )
        if schema_editor.connection.vendor == "postgresql":
            # One UPDATE ... FROM a set of rows per batch: bulk_update's CASE lists every row in every batch.
            with schema_editor.connection.cursor() as cursor:
                cursor.execute(
                    "UPDATE orders_order SET search_text = v.search_text"
                    " FROM unnest(%s::bigint[], %s::text[]) AS v(id, search_text) WHERE orders_order.id = v.id",
                    [[order.pk for order in batch], [order.search_text for order in batch]],
                )
        else:
            Order._base_manager.using(db).bulk_update(batch, ["search_text"])
        last = batch[-1].pk


def search_index_swap(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS order_search_trgm_idx")
    schema_editor.execute(INDEX)
    # A finer sample of the column: the planner estimates how many rows a LIKE keeps from it, and chooses by
    # that between walking the newest orders (a common word) and the trigram index (a rare one).
    schema_editor.execute("ALTER TABLE orders_order ALTER COLUMN search_text SET STATISTICS 1000")


def search_index_unswap(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    previous = import_module("orders.migrations.0005_order_search")  # the index as 0005 built it
    schema_editor.execute("DROP INDEX IF EXISTS order_search_text_trgm_idx")
    schema_editor.execute(previous.INDEX)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0005_order_search"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="order",
            options={
                "base_manager_name": "objects",
                "ordering": ["-created_at", "-id"],
                "verbose_name": "order",
                "verbose_name_plural": "orders",
            },
        ),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddField(
                    model_name="order",
                    name="search_text",
                    field=models.TextField(
                        db_default="", default="", editable=False, verbose_name="search text"
                    ),
                ),
            ],
            database_operations=[migrations.RunPython(search_column_add, search_column_drop)],
        ),
        migrations.RunPython(search_text_fill, migrations.RunPython.noop, elidable=False),
        migrations.RunPython(search_index_swap, search_index_unswap, elidable=False),
    ]
