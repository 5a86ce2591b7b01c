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

from . import numbering

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


def fetch_together(statements: list[tuple[str, list[Any]]]) -> list[list[tuple]]:
    """The rows of each of ``statements`` (as ``fetch``), sent together: on PostgreSQL in one
    round trip (psycopg's pipeline mode). The server still runs them one after the other, each
    as a statement of its own — in a transaction at READ COMMITTED each takes its snapshot when
    it starts, so a statement sees what the previous one waited for (a lock it was granted, and
    what the transaction that held it committed). Where a statement fails, the ones after it are
    not run and the error is raised, as it would have been one by one."""
    if connection.vendor != "postgresql" or len(statements) < 2:
        return [fetch(sql, params) for sql, params in statements]
    import psycopg

    _health_check()
    connection.ensure_connection()
    raw = connection.connection
    if connection.queries_logged or connection.execute_wrappers or not psycopg.Pipeline.is_supported():
        # Instrumented (each statement seen as a query of its own), or a libpq without pipelines.
        return [fetch(sql, params) for sql, params in statements]
    if raw.prepare_threshold is None:
        raw.prepare_threshold = _NEVER_BY_ITSELF
    cursors = [psycopg.Cursor(raw) for _ in statements]
    try:
        with connection.wrap_database_errors:
            with raw.pipeline():
                for cursor, (sql, params) in zip(cursors, statements, strict=True):
                    cursor.execute(sql, params, prepare=True)
            return [cursor.fetchall() for cursor in cursors]
    finally:
        for cursor in cursors:
            cursor.close()


def atomic() -> Any:
    """``transaction.atomic()`` for a hot path: the connection's once-per-request health check
    made first, without a round trip (``_health_check``) — opening the block would otherwise run
    Django's, a ``SELECT 1``."""
    from django.db import transaction

    if connection.vendor == "postgresql":
        _health_check()
    return transaction.atomic()


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


# --- Rows written by prebuilt statements --------------------------------------------------------
# For a write on a hot path (a channel's payment) the ORM compiles each INSERT and UPDATE anew;
# these build the statement once per (model, fields, rows) from the model's metadata and run it
# prepared. Values go through the fields' own preparation (``pre_save``, ``get_db_prep_save``),
# exactly as ``save`` would send them; no signals are sent (as with ``bulk_create``/``update``).

_statements: dict[tuple, str] = {}


def _statement(key: tuple, build: Any) -> str:
    sql = _statements.get(key)
    if sql is None:
        sql = _statements[key] = build()
    return sql


def _insert(objs: list[Any], fields: tuple[str, ...]) -> tuple[str, list[Any]]:
    model = type(objs[0])
    meta = model._meta
    concrete = [meta.get_field(name) for name in fields]
    qn = connection.ops.quote_name

    def build() -> str:
        row = "(" + ", ".join(["%s"] * len(concrete)) + ")"
        return (
            f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(f.column) for f in concrete)}) "  # noqa: S608
            f"VALUES {', '.join([row] * len(objs))} RETURNING {qn(meta.pk.column)}"
        )

    sql = _statement((connection.vendor, "insert", model, fields, len(objs)), build)
    params: list[Any] = []
    for obj in objs:
        params += [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in concrete]
    return sql, params


def _saved(objs: list[Any], pks: list[Any]) -> None:
    # RETURNING gives the rows in the VALUES' order (PostgreSQL and SQLite both do for one INSERT).
    for obj, pk in zip(objs, pks, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias


def _update(obj: Any, fields: tuple[str, ...]) -> tuple[str, list[Any]]:
    model = type(obj)
    meta = model._meta
    concrete = [meta.get_field(name) for name in fields]
    qn = connection.ops.quote_name

    def build() -> str:
        sets = ", ".join(f"{qn(f.column)} = %s" for f in concrete)
        pk = qn(meta.pk.column)
        return f"UPDATE {qn(meta.db_table)} SET {sets} WHERE {pk} = %s RETURNING {pk}"  # noqa: S608

    sql = _statement((connection.vendor, "update", model, fields), build)
    return sql, [*(f.get_db_prep_save(f.pre_save(obj, False), connection) for f in concrete), obj.pk]


def insert(objs: list[Any], fields: tuple[str, ...]) -> None:
    """INSERT ``objs`` (instances of one model, not yet saved) with ``fields`` in one statement
    and set their primary keys; they are then saved instances."""
    if objs:
        sql, params = _insert(objs, fields)
        _saved(objs, [pk for (pk,) in fetch(sql, params)])


def update(obj: Any, fields: tuple[str, ...]) -> None:
    """UPDATE one saved instance's ``fields`` by its primary key (``save(update_fields=…)``)."""
    fetch(*_update(obj, fields))


class Writes:
    """Writes gathered and sent together: on PostgreSQL as one statement (each write a
    data-modifying ``WITH`` part, all run to completion whatever the main query reads), so a
    hot path pays one round trip for them; elsewhere one after the other. The writes must not
    touch the same row twice (PostgreSQL runs the parts on one snapshot). Inserted rows do not
    get their primary keys back (use ``insert`` for rows whose keys are needed)."""

    def __init__(self) -> None:
        self._parts: list[tuple[str, str, list[Any]]] = []  # (name, statement, parameters)
        self._numbered: tuple[Any, str, str] | None = None  # (instance, field, part's name)

    def _add(self, sql: str, params: list[Any]) -> str:
        name = f"w{len(self._parts)}"
        self._parts.append((name, sql, params))
        return name

    def insert(self, objs: list[Any], fields: tuple[str, ...]) -> None:
        if objs:
            self._add(*_insert(objs, fields))

    def update(self, obj: Any, fields: tuple[str, ...]) -> None:
        self._add(*_update(obj, fields))

    def insert_numbered(
        self, obj: Any, fields: tuple[str, ...], *, number: str, prefix: str, period: str, width: int, pk: Any
    ) -> None:
        """INSERT ``obj`` with ``number`` (a field not in ``fields``) taken from the counter of
        (prefix, period) (``core.numbering``). On PostgreSQL, given the primary key reserved
        for it (``nextval`` of its sequence, read beforehand), the counter is taken inside the
        one statement ``run`` sends — its row stays locked only from there to the commit, not
        through the whole transaction — and ``run`` sets ``obj``'s number. Elsewhere (or
        without ``pk``) the number is taken and the row inserted at once."""
        if connection.vendor != "postgresql" or pk is None:
            setattr(obj, number, numbering.next_number(prefix, period, width))
            insert([obj], (number, *fields))
            return
        if self._numbered is not None:
            raise ValueError("one numbered row per Writes")
        _saved([obj], [pk])
        meta = type(obj)._meta
        concrete = [meta.get_field(name) for name in fields]
        qn = connection.ops.quote_name
        counter = self._add(numbering.UPSERT_SQL, [prefix, period])

        def build() -> str:
            column = qn(meta.get_field(number).column)
            columns = [qn(meta.pk.column), column, *(qn(f.column) for f in concrete)]
            values = ", ".join(["%s", numbering.NUMBER_SQL, *(["%s"] * len(concrete))])
            return (
                f"INSERT INTO {qn(meta.db_table)} ({', '.join(columns)}) "  # noqa: S608
                f"SELECT {values} FROM {counter} RETURNING {column}"
            )

        sql = _statement(("postgresql", "numbered", type(obj), fields, number, counter), build)
        params = [pk, f"{prefix}{period}", width]
        params += [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in concrete]
        self._numbered = (obj, number, self._add(sql, params))

    def run(self, select: tuple[str, list[Any]] | None = None) -> Any:
        """Send the writes; ``select``: a scalar SQL expression (with its parameters) read in the
        same round trip on PostgreSQL — by a statement that starts after every lock the caller
        holds was granted, so it sees what other transactions committed before that. Returns
        the value of ``select`` (None without one)."""
        numbered, self._numbered = self._numbered, None
        also: list[Any] = [None]
        if connection.vendor != "postgresql":
            for _name, sql, params in self._parts:
                fetch(sql, params)
            if select is not None:
                also = list(fetch(f"SELECT ({select[0]})", select[1])[0])  # noqa: S608 - the caller's SQL
        elif self._parts or select is not None:
            # Each part is a statement built from model metadata; values stay parameters.
            columns = [f"(SELECT * FROM {numbered[2]})"] if numbered else []  # noqa: S608 - a part name
            columns += [f"({select[0]})"] if select is not None else []
            parts = ", ".join(f"{name} AS ({sql})" for name, sql, _params in self._parts)
            head = f"WITH {parts} " if parts else ""
            params = [p for _name, _sql, part_params in self._parts for p in part_params]
            row = fetch(
                f"{head}SELECT {', '.join(columns) or '1'}", [*params, *(select[1] if select else [])]
            )[0]
            if numbered:
                setattr(numbered[0], numbered[1], row[0])
            if select is not None:
                also = [row[-1]]
        self._parts = []
        return also[0]
