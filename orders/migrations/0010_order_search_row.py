"""The search column leaves the order row: one narrow row per order (OrderSearch) under the trigram index, so a
write of the order that changes no searched column (a status change, whose status_id is indexed, so never a
HOT update) no longer rewrites the search text nor inserts its trigrams again.

The table is filled from the column in one INSERT ... SELECT, and its trigram index (PostgreSQL) built after
the fill, in one pass; then the column's index and the column go. The column is dropped in SQL (ALTER TABLE
... DROP COLUMN), never by SQLite's rebuild of orders_order, which the free orders' triggers (naming the
table) would refuse, and which would drop the table's own triggers. Reversed, the column comes back, is filled
from the narrow rows in one UPDATE ... FROM, gets 0006's index, and the table goes.
"""

from importlib import import_module

from django.db import migrations, models

COLUMN = import_module("orders.migrations.0006_order_search_text")

INDEX = "CREATE INDEX ordersearch_text_trgm_idx ON orders_ordersearch USING gin (text gin_trgm_ops)"


def search_rows_fill(apps, schema_editor) -> None:
    schema_editor.execute(
        "INSERT INTO orders_ordersearch (order_id, text) SELECT id, search_text FROM orders_order"
    )


def search_column_fill(apps, schema_editor) -> None:
    """Reversed: the column from the narrow rows (an order without one keeps the column's default, '')."""
    schema_editor.execute(
        "UPDATE orders_order SET search_text = s.text FROM orders_ordersearch s WHERE s.order_id = orders_order.id"
    )
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(COLUMN.INDEX)
        schema_editor.execute("ALTER TABLE orders_order ALTER COLUMN search_text SET STATISTICS 1000")


def search_index_move(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS order_search_text_trgm_idx")
    schema_editor.execute(INDEX)
    # A finer sample of the text, as 0006 kept for the column: orders.selectors chooses by it between walking
    # the newest orders (a common word) and the trigram index (a rare one).
    schema_editor.execute("ALTER TABLE orders_ordersearch ALTER COLUMN text SET STATISTICS 1000")
    # Its statistics now, not at autovacuum's next visit: the search reads its sample from them.
    schema_editor.execute("ANALYZE orders_ordersearch")


def search_index_unmove(apps, schema_editor) -> None:
    """Reversed: the narrow table's index goes; 0006's comes back with the column's fill."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP INDEX IF EXISTS ordersearch_text_trgm_idx")


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0009_order_held_drop"),
    ]

    operations = [
        migrations.CreateModel(
            name="OrderSearch",
            fields=[
                (
                    "order",
                    models.OneToOneField(
                        on_delete=models.deletion.CASCADE,
                        primary_key=True,
                        related_name="search",
                        serialize=False,
                        to="orders.order",
                        verbose_name="order",
                    ),
                ),
                ("text", models.TextField(verbose_name="search text")),
            ],
            options={
                "verbose_name": "order search text",
                "verbose_name_plural": "order search texts",
            },
        ),
        migrations.RunPython(search_rows_fill, search_column_fill, elidable=False),
        migrations.RunPython(search_index_move, search_index_unmove, elidable=False),
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.RemoveField(model_name="order", name="search_text")],
            database_operations=[
                migrations.RunPython(COLUMN.search_column_drop, COLUMN.search_column_add, elidable=False)
            ],
        ),
    ]
