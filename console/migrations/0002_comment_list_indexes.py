"""The internal comments' admin list (console/admin_log.py, OrderCommentAdmin) reads indexes only, at any size:
newest first through comment_created_idx (the comments' own index starts with the order), and its search's
words through a trigram index over the comment, the very expression Django's icontains compares
(UPPER(body) LIKE UPPER('%word%')). The trigram index is PostgreSQL's (pg_trgm, orders migration 0005);
SQLite searches by reading the rows.

They serve the console's list, not the order domain, so they are the console's migration, after the last of
the orders' (an SQLite table rebuild there would drop an index its migration does not know).
"""

from django.db import migrations

CREATED_INDEX = "CREATE INDEX comment_created_idx ON orders_ordercomment (created_at, id)"
TRIGRAM_INDEX = "CREATE INDEX comment_body_trgm_idx ON orders_ordercomment USING gin (UPPER(body) gin_trgm_ops)"


def indexes_create(apps, schema_editor) -> None:
    schema_editor.execute(CREATED_INDEX)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(TRIGRAM_INDEX)


def indexes_drop(apps, schema_editor) -> None:
    schema_editor.execute("DROP INDEX IF EXISTS comment_body_trgm_idx")
    schema_editor.execute("DROP INDEX IF EXISTS comment_created_idx")


class Migration(migrations.Migration):
    dependencies = [
        ("console", "0001_initial"),
        ("orders", "0009_order_held_drop"),
    ]

    operations = [migrations.RunPython(indexes_create, indexes_drop, elidable=False)]
