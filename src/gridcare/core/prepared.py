"""Statements the busiest paths run over and over, prepared once per database connection.

Django's psycopg backend binds parameters on the client: each value is written into the text of
the statement, so PostgreSQL parses and plans every execution anew. For a few statements that
run on every intake (and are long, like the intake's chain of inserts) that is a good part of
their database time. ``fetch`` runs such a statement as a server-side prepared statement: parsed
once per connection and, after a few executions, run with a generic plan (every value is a
parameter). Other databases run it as usual.

Deployments behind PgBouncer in transaction mode need PgBouncer ≥ 1.21 with
``max_prepared_statements`` set (see docs/deployment.md).
"""

from __future__ import annotations

from typing import Any

from django.db import connection

# A threshold no statement reaches: psycopg's automatic preparation stays off for every other
# query (Django sets None, "never"), while ``prepare=True`` may prepare the ones given here.
_NEVER_BY_ITSELF = 2**31 - 1


def fetch(sql: str, params: list[Any] | tuple[Any, ...]) -> list[tuple]:
    """The rows of ``sql`` (``%s`` placeholders; a statement that returns rows), prepared on
    PostgreSQL."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    import psycopg

    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        raw.prepare_threshold = _NEVER_BY_ITSELF
    with connection.wrap_database_errors, psycopg.Cursor(raw) as cursor:
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchall()
