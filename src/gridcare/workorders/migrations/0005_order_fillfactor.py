"""Room on each page of the work-order table for updates in place (PostgreSQL).

An order is updated many times over its life. An update that changes no indexed column (a warning
level raised by the sweep, an urge count, a version) can stay on its page as a heap-only tuple
(HOT) and touch none of the table's eleven indexes, but only if the page has room. At the default
fillfactor (100) pages filled by intake are full, so every such update moved the row and wrote an
entry in every index: raising 25,000 orders' warning levels took 1.5 s (bench/deadlines).

Applies to pages written from now on; an existing table gets it at its next rewrite
(``VACUUM FULL`` or ``pg_repack``, see docs/deployment.md).
"""

from django.db import migrations

FILLFACTOR = 85


def set_fillfactor(apps, schema_editor, value=FILLFACTOR):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("workorders", "WorkOrder")._meta.db_table)
    schema_editor.execute(f"ALTER TABLE {table} SET (fillfactor = {int(value)})")


def reset_fillfactor(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = schema_editor.quote_name(apps.get_model("workorders", "WorkOrder")._meta.db_table)
    schema_editor.execute(f"ALTER TABLE {table} RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("workorders", "0004_fewer_history_and_deadline_indexes")]

    operations = [migrations.RunPython(set_fillfactor, reset_fillfactor)]
