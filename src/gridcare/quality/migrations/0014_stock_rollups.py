from django.db import migrations


def install_triggers(apps, schema_editor):
    """The stocks (customers now) are rolled up too: their tables' triggers stamp the stock bucket
    (quality/rollups.py, STOCK)."""
    from gridcare.quality import rollups

    rollups.install_triggers(schema_editor)


def drop_stock_triggers(apps, schema_editor):
    from gridcare.quality import rollups

    with schema_editor.connection.cursor() as cursor:
        for table, _columns in rollups._stock_tables():
            if schema_editor.connection.vendor == "postgresql":
                for name in (f"{rollups.TRIGGER_PREFIX}{table}", f"{rollups.TRIGGER_PREFIX}{table}_u"):
                    cursor.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            else:
                for n in "iud":
                    cursor.execute(f"DROP TRIGGER IF EXISTS {rollups.TRIGGER_PREFIX}{table}_{n}")
        cursor.execute("DELETE FROM quality_rollupbucket WHERE hours = 0")


class Migration(migrations.Migration):
    dependencies = [("quality", "0012_bucket_digest"), ("customers", "0003_search_indexes")]

    operations = [migrations.RunPython(install_triggers, drop_stock_triggers)]
