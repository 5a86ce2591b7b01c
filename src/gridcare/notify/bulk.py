"""Writing many outbox rows fast (an outage notice to 100,000 customers).

The ORM's ``bulk_create`` spends most of its time preparing each value of each field in Python,
and PostgreSQL then executes one big parameterised statement slowly. Here the rows go in as plain
tuples: on PostgreSQL by ``COPY`` into a temporary table and one ``INSERT … SELECT … ON CONFLICT
DO NOTHING``; on SQLite by multi-row ``INSERT … ON CONFLICT DO NOTHING``. Rows whose dedup key
is already queued are skipped by the database, and the count returned is what was written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from django.db import connection

from gridcare.core import dbstats
from gridcare.core.bulk import copy_rows

from .models import Message

SQLITE_ROWS_PER_STATEMENT = 500  # × 20 columns stays under SQLite's 32,766 variables
LOAD_TABLE = "notify_message_load"


def fields() -> list[Any]:
    return [field for field in Message._meta.concrete_fields if not field.primary_key]


# The columns ``services.enqueue_many`` fills for each message, in this order (``row_maker``).
GIVEN = (
    "channel",
    "recipient_address",
    "recipient_name",
    "recipient_type",
    "recipient_id",
    "about_type",
    "about_id",
    "subject",
    "body",
    "priority",
    "dedup_key",
    "state",
    "sent_at",
    "next_attempt_at",
    "created_at",
)


def columns() -> list[str]:
    """The outbox's columns in the order of the rows ``insert_values`` takes."""
    return [field.column for field in fields()]


def row_maker() -> Callable[[tuple], tuple]:
    """A function turning the values of ``GIVEN`` (a tuple in that order) into a full row in the
    order of ``columns()``, the other columns taking their field's default (attempts 0, empty
    error, no read_at …). The defaults are evaluated once, when the maker is made."""
    names = columns()
    rest = [name for name in names if name not in GIVEN]
    defaults = tuple(field.get_default() for field in fields() if field.column in rest)
    pick = [GIVEN.index(name) if name in GIVEN else len(GIVEN) + rest.index(name) for name in names]

    def make(given: tuple) -> tuple:
        full = given + defaults
        return tuple(map(full.__getitem__, pick))

    return make


def insert_values(values: Sequence[tuple], *, fresh_keys: bool = False) -> int:
    """Insert full rows (tuples in the order of ``columns()``); return how many were written.

    ``fresh_keys``: the caller expects none of the dedup keys to be queued yet (the deadline
    sweep: each level of a deadline moves once). On PostgreSQL the rows are then COPYed straight
    into the outbox in a savepoint — half the work of the load table — and should a key be there
    after all (or repeat within ``values``), the savepoint is rolled back and the rows go in the
    usual way, duplicates skipped. The result is the same either way."""
    if not values:
        return 0
    names = columns()
    if connection.vendor == "postgresql":
        if fresh_keys and _copy_fresh_postgresql(names, values):
            return len(values)
        return _copy_postgresql(names, values)
    if connection.vendor == "sqlite":
        return _insert_sqlite(names, values)
    return _insert_orm([dict(zip(names, row, strict=True)) for row in values])


def _copy_postgresql(names: list[str], values: Iterable[tuple]) -> int:
    table = connection.ops.quote_name(Message._meta.db_table)
    cols = ", ".join(connection.ops.quote_name(name) for name in names)
    with connection.cursor() as cursor:
        # Session-local, emptied at commit; created once per connection. Identifiers come from
        # the model, never from input.
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {LOAD_TABLE} ON COMMIT DELETE ROWS "  # noqa: S608
            f"AS SELECT {cols} FROM {table} WITH NO DATA"
        )
        copy_rows(LOAD_TABLE, names, values)
        cursor.execute(
            f"INSERT INTO {table} ({cols}) SELECT {cols} FROM {LOAD_TABLE} ON CONFLICT DO NOTHING"  # noqa: S608
        )
        written = cursor.rowcount
        cursor.execute(f"TRUNCATE {LOAD_TABLE}")  # a second call in the same transaction starts empty
    return written


def _copy_fresh_postgresql(names: list[str], values: Iterable[tuple]) -> bool:
    """COPY straight into the outbox; False (and nothing written) when a dedup key is taken."""
    from django.db import transaction
    from psycopg.errors import UniqueViolation

    try:
        with transaction.atomic():
            copy_rows(Message._meta.db_table, names, values)
    except UniqueViolation:
        return False
    return True


def _insert_sqlite(names: list[str], values: Sequence[tuple]) -> int:
    table = connection.ops.quote_name(Message._meta.db_table)
    cols = ", ".join(connection.ops.quote_name(name) for name in names)
    adapted: dict[Any, Any] = {}  # a bulk shares one or two instants: adapt each once

    def adapt(value: Any) -> Any:
        if value not in adapted:
            adapted[value] = connection.ops.adapt_datetimefield_value(value)
        return adapted[value]

    datetime_at = [
        index for index, field in enumerate(fields()) if field.get_internal_type() == "DateTimeField"
    ]
    placeholder = "(" + ", ".join(["%s"] * len(names)) + ")"
    written = 0
    with connection.cursor() as cursor:
        for start in range(0, len(values), SQLITE_ROWS_PER_STATEMENT):
            batch = values[start : start + SQLITE_ROWS_PER_STATEMENT]
            params: list[Any] = []
            for row in batch:
                row_params = list(row)
                for index in datetime_at:
                    row_params[index] = adapt(row_params[index])
                params.extend(row_params)
            cursor.execute(
                f"INSERT INTO {table} ({cols}) VALUES {', '.join([placeholder] * len(batch))} "  # noqa: S608
                "ON CONFLICT DO NOTHING",
                params,
            )
            written += cursor.rowcount
    return written


def _insert_orm(rows: Sequence[dict[str, Any]]) -> int:
    """Other databases: the ORM (slower, and the count includes skipped duplicates)."""
    objs = [Message(**row) for row in rows]  # no foreign keys: column names are field names
    Message.objects.bulk_create(objs, ignore_conflicts=True)
    return len(objs)


def refresh_statistics() -> None:
    """ANALYZE the outbox (PostgreSQL): run after commit when a bulk insert changed it a lot."""
    dbstats.analyze(Message)
