"""The order's hold marker (the shadow of the holds table) and the partial index of the free orders.

The operators app fills the column from the holds and installs the triggers that keep it in step
(operators 0007): the orders app knows nothing of holds.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0003_order_version_history"),
    ]

    operations = [
        migrations.AddField(
            model_name="order",
            name="held",
            field=models.BooleanField(db_default=False, default=False, editable=False, verbose_name="held"),
        ),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(
                condition=models.Q(("held", False)),
                fields=["status", "created_at", "id"],
                name="order_free_idx",
            ),
        ),
    ]
