from django.db import migrations, models


def drop_unit_trigger(apps, schema_editor):
    """SQLite rebuilds a table to add a column; its trigger naming the table must go first."""
    if schema_editor.connection.vendor == "sqlite":
        schema_editor.execute("DROP TRIGGER IF EXISTS gc_rollup_unit_moved")


def install_triggers(apps, schema_editor):
    from gridcare.quality import rollups

    rollups.install_triggers(schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("quality", "0011_calibration"),
    ]

    operations = [
        migrations.RunPython(drop_unit_trigger, install_triggers),
        migrations.AddField(
            model_name="rollupbucket",
            name="digest",
            field=models.CharField(blank=True, default="", max_length=16, verbose_name="口径摘要"),
        ),
        migrations.AddField(
            model_name="rollupbucket",
            name="until_min",
            field=models.BigIntegerField(blank=True, null=True, verbose_name="最早失效时间"),
        ),
        migrations.RunPython(install_triggers, drop_unit_trigger),
    ]
