"""The hold marker leaves the order row: the free orders are a narrow table of their own (operators 0013,
which runs before this migration and drops the marker's triggers), so a hold change no longer writes the
order. On SQLite the column is dropped in place (ALTER TABLE DROP COLUMN): the table is not rebuilt, its
triggers stay."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0008_order_number_validator"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="order", name="order_free_idx"),
        migrations.RemoveField(model_name="order", name="held"),
    ]
