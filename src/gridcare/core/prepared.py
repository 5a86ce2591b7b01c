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

import select
from types import SimpleNamespace
from typing import Any

from django.db import connection

# A threshold no statement reaches: psycopg's automatic preparation stays off for every other
# query (Django sets None, "never"), while ``prepare=True`` may prepare the ones given here.
_NEVER_BY_ITSELF = 2**31 - 1


def fetch(sql: str, params: list[Any] | tuple[Any, ...]) -> list[tuple]:
    """The rows of ``sql`` (``%s`` placeholders; a statement that returns rows), prepared on
    PostgreSQL.

    Like ``connection.cursor()``: the connection's health check runs first (CONN_HEALTH_CHECKS:
    a connection the server dropped while idle is replaced, not used; see ``_health_check``),
    and when Django's query
    instrumentation is on (DEBUG, ``CaptureQueriesContext``, ``connection.execute_wrapper`` as
    used by tracing and APM) the statement goes through Django's cursor wrapper and is seen like
    any other query. Without instrumentation it runs on a bare psycopg cursor: no per-call cost."""
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    import psycopg

    _health_check()
    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:
        raw.prepare_threshold = _NEVER_BY_ITSELF
    with connection.wrap_database_errors, psycopg.Cursor(raw) as cursor:
        if connection.queries_logged or connection.execute_wrappers:
            wrapped = (connection.make_debug_cursor if connection.queries_logged else connection.make_cursor)(
                _Prepared(cursor)
            )
            wrapped.execute(sql, params)
            return wrapped.fetchall()
        cursor.execute(sql, params, prepare=True)
        return cursor.fetchall()


def _health_check() -> None:
    """Django's once-per-request health check (``close_if_health_check_failed``, which
    ``connection.cursor()`` runs), without its round trip.

    Django asks the server ``SELECT 1``. An idle connection in autocommit has nothing to read,
    so here the socket is polled instead: a server that restarted, failed over or closed an idle
    session has sent its notice and closed the socket, which makes it readable. Such a
    connection (or one psycopg already knows to be broken) is closed, and ``ensure_connection``
    opens a new one — the statement never runs on a dead connection."""
    raw = connection.connection
    if raw is None or not connection.health_check_enabled or connection.health_check_done:
        return
    if connection.in_atomic_block or raw.closed or raw.broken:
        # In a transaction the socket may legitimately hold an answer; let Django decide.
        connection.close_if_health_check_failed()
        return
    try:
        readable = bool(select.select([raw.fileno()], [], [], 0)[0])
    except (OSError, ValueError):
        readable = True
    if readable:
        connection.close()
    connection.health_check_done = True


class _Prepared:
    """A psycopg cursor whose ``execute`` prepares its statement, for Django's cursor wrappers
    (which call ``execute(sql, params)``)."""

    __slots__ = ("_cursor", "_query")

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor
        self._query: Any = None

    def execute(self, sql: str, params: Any = None) -> Any:
        result = self._cursor.execute(sql, params, prepare=True)
        # What Django's query log shows (``ops.last_executed_query`` reads ``cursor._query``,
        # which a prepared execution leaves empty): the statement with its values.
        try:
            shown = connection.ops.compose_sql(sql, params)
        except Exception:  # noqa: BLE001 - only the log's text; the statement already ran
            shown = sql
        self._query = SimpleNamespace(query=shown.encode())
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)
