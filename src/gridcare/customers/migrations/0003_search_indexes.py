"""Search indexes for the agent's one-box lookup.

PostgreSQL: trigram GIN on ``search_text`` (substring of name/address) and a pattern-ops btree on
``name`` (prefix). SQLite uses the ordinary index on name (LIKE prefix with case_sensitive_like
off is not indexable, so SQLite scans; fine for the demo county).
"""

from django.db import migrations

PG_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS customer_search_trgm ON customers_customer USING gin (search_text gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS customer_name_prefix ON customers_customer (name varchar_pattern_ops)",
]
PG_BACKWARD = [
    "DROP INDEX IF EXISTS customer_search_trgm",
    "DROP INDEX IF EXISTS customer_name_prefix",
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in PG_FORWARD:
            schema_editor.execute(statement)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for statement in PG_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [("customers", "0002_initial")]
    operations = [migrations.RunPython(forward, backward)]
