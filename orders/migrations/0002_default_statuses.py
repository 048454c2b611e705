"""Create the default order statuses; complete, closed and canceled release the order's hold."""

from django.db import migrations

DEFAULT_STATUSES = [
    # code, label, position, releases_assignment
    ("pending", "Pending", 10, False),
    ("processing", "Processing", 20, False),
    ("on_hold", "On hold", 30, False),
    ("complete", "Complete", 40, True),
    ("closed", "Closed", 50, True),
    ("canceled", "Canceled", 60, True),
]


def create_statuses(apps, schema_editor):
    OrderStatus = apps.get_model("orders", "OrderStatus")
    for code, label, position, releases in DEFAULT_STATUSES:
        OrderStatus.objects.get_or_create(
            code=code, defaults={"label": label, "position": position, "releases_assignment": releases}
        )


class Migration(migrations.Migration):
    dependencies = [("orders", "0001_initial")]

    operations = [migrations.RunPython(create_statuses, migrations.RunPython.noop)]
