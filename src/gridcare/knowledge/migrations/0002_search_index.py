"""The full-text index of served articles (see knowledge/search/index.py).

SQLite: an FTS5 table keyed by article id. PostgreSQL: tsvector columns with GIN indexes.
Both are created here, by vendor, so in-memory SQLite test databases have the index too.
"""

from django.db import migrations

SQLITE_FORWARD = [
    "CREATE VIRTUAL TABLE IF NOT EXISTS knowledge_article_fts USING fts5(head, body, grams, tokenize='unicode61')",
]
SQLITE_BACKWARD = ["DROP TABLE IF EXISTS knowledge_article_fts"]
PG_FORWARD = [
    "ALTER TABLE knowledge_article ADD COLUMN IF NOT EXISTS search_vector tsvector",
    "ALTER TABLE knowledge_article ADD COLUMN IF NOT EXISTS gram_vector tsvector",
    "CREATE INDEX IF NOT EXISTS knowledge_article_search_gin ON knowledge_article USING gin (search_vector)",
    "CREATE INDEX IF NOT EXISTS knowledge_article_gram_gin ON knowledge_article USING gin (gram_vector)",
]
PG_BACKWARD = [
    "DROP INDEX IF EXISTS knowledge_article_search_gin",
    "DROP INDEX IF EXISTS knowledge_article_gram_gin",
    "ALTER TABLE knowledge_article DROP COLUMN IF EXISTS search_vector",
    "ALTER TABLE knowledge_article DROP COLUMN IF EXISTS gram_vector",
]


def _run(schema_editor, sqlite, pg):
    vendor = schema_editor.connection.vendor
    for statement in sqlite if vendor == "sqlite" else pg if vendor == "postgresql" else []:
        schema_editor.execute(statement)


def forward(apps, schema_editor):
    _run(schema_editor, SQLITE_FORWARD, PG_FORWARD)


def backward(apps, schema_editor):
    _run(schema_editor, SQLITE_BACKWARD, PG_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("knowledge", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
