"""The counters of the workload page and the queue counts, kept by triggers (see _hold_count), and filled:
how many orders each operator holds, and what each took and released per quarter of an hour.

The triggers are created before the counters are filled, in the same transaction on PostgreSQL: a hold or
log row written meanwhile waits for the migration's lock on its table, and is then counted by the triggers.
"""

from django.conf import settings
from django.db import migrations, models

from operators.triggers import hold_count as _hold_count


def triggers_create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(_hold_count.POSTGRESQL_TRIGGERS)
    elif vendor == "sqlite":
        for statement in _hold_count.SQLITE_TRIGGERS:
            schema_editor.execute(statement)
    else:
        return
    for statement in _hold_count.REBUILD + _hold_count.activity_rebuild(vendor):
        schema_editor.execute(statement)


def triggers_drop(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(_hold_count.POSTGRESQL_DROP)
    elif vendor == "sqlite":
        for statement in _hold_count.SQLITE_DROP:
            schema_editor.execute(statement)


def counter_user():
    return models.ForeignKey(
        db_constraint=False,
        db_index=False,
        on_delete=models.DO_NOTHING,
        related_name="+",
        to=settings.AUTH_USER_MODEL,
        verbose_name="operator",
    )


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("operators", "0007_order_held_marker"),
    ]

    operations = [
        migrations.CreateModel(
            name="OperatorHoldCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("held", models.IntegerField(verbose_name="change of orders held")),
                ("operator", counter_user()),
            ],
            options={
                "verbose_name": "operator hold count",
                "verbose_name_plural": "operator hold counts",
                "db_table": "operators_hold_count",
            },
        ),
        migrations.CreateModel(
            name="OperatorActivityCount",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("period_start", models.DateTimeField(db_index=True, verbose_name="from")),
                ("taken", models.IntegerField(verbose_name="taken")),
                ("released", models.IntegerField(verbose_name="released")),
                ("operator", counter_user()),
            ],
            options={
                "verbose_name": "operator activity count",
                "verbose_name_plural": "operator activity counts",
                "db_table": "operators_activity_count",
            },
        ),
        migrations.RunPython(triggers_create, triggers_drop),
    ]
