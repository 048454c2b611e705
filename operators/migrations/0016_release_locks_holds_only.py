"""The lock protocol's second version: a release locks the holds it ends and no order row (operators.services
.release), so the end of a hold no longer share-locks its order's row to write the free row, and a change of
an order's status or created_at key-share-locks the order's hold row instead (operators/triggers/free_orders.py,
POSTGRESQL_V2). PostgreSQL only: SQLite runs one writer at a time and keeps its row triggers."""

from django.db import migrations

from operators.triggers import free_orders as _free_orders


def install(sql: str):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("operators", "0015_holds_list_index")]

    operations = [
        migrations.RunPython(
            install(_free_orders.POSTGRESQL_V2), install(_free_orders.POSTGRESQL_V1), elidable=False
        )
    ]
