"""A small partial index on the task table's RUNNING rows: every worker looks for rows a dead
worker left RUNNING every 15 s (core.periodic.release_abandoned_tasks); without it that is a scan
of every task result ever kept. Only RUNNING rows are in it (a handful), so the intake's task
inserts do not grow it."""

from django.db import migrations

INDEX = "gridcare_tasks_running_idx"
TABLE = "django_tasks_database_dbtaskresult"


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0005_worker_heartbeat"),
        ("django_tasks_database", "0021_conditional_partial_index_ordering"),
    ]

    operations = [
        migrations.RunSQL(
            f"CREATE INDEX IF NOT EXISTS {INDEX} ON {TABLE} (started_at) WHERE status = 'RUNNING'",
            f"DROP INDEX IF EXISTS {INDEX}",
        )
    ]
