"""The hold marker leaves the order row: the free orders are a narrow table of their own (operators 0013,
which runs before this migration and drops the marker's triggers), so a hold change no longer writes the
order.

In SQL rather than RemoveField, both ways: the column is dropped and put back in place (ALTER TABLE ... DROP /
ADD COLUMN), never by SQLite's rebuild of orders_order, which the free orders' triggers (naming the table)
would refuse while they exist, and which would drop the table's own triggers. Reversed, the column comes back
empty (false) with its partial index; operators 0013's reversal then installs the marker's triggers and fills
it."""

from django.db import migrations

FORWARD = [
    'DROP INDEX IF EXISTS "order_free_idx"',
    'ALTER TABLE "orders_order" DROP COLUMN "held"',
]
BACKWARD = [
    'ALTER TABLE "orders_order" ADD COLUMN "held" boolean DEFAULT false NOT NULL',
    'CREATE INDEX "order_free_idx" ON "orders_order" ("status_id", "created_at", "id") WHERE NOT "held"',
]


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0008_order_number_validator"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveIndex(model_name="order", name="order_free_idx"),
                migrations.RemoveField(model_name="order", name="held"),
            ],
            database_operations=[
                migrations.RunSQL(sql=FORWARD, reverse_sql=BACKWARD),
            ],
        ),
    ]
