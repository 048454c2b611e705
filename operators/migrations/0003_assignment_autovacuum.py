"""Keep the planner's picture of the holds table fresh.

Every assign and release inserts and deletes rows in operators_assignment, so its dead rows and statistics
drift quickly; the default autovacuum thresholds (20 % of the table) let claim next run on stale estimates.
PostgreSQL only; a no-op elsewhere.
"""

from django.db import migrations


def set_thresholds(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "ALTER TABLE operators_assignment SET (autovacuum_vacuum_scale_factor = 0.01,"
        " autovacuum_vacuum_threshold = 1000, autovacuum_analyze_scale_factor = 0.01,"
        " autovacuum_analyze_threshold = 1000)"
    )


def reset_thresholds(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        "ALTER TABLE operators_assignment RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold,"
        " autovacuum_analyze_scale_factor, autovacuum_analyze_threshold)"
    )


class Migration(migrations.Migration):
    dependencies = [("operators", "0002_log_previous_operator")]

    operations = [migrations.RunPython(set_thresholds, reset_thresholds)]
