"""COPY: many rows into a PostgreSQL table in one stream (loads, sweeps, the outbox)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction


def copy_rows(
    table: str, columns: Iterable[str], rows: Iterable[Sequence[Any]], *, using: str = DEFAULT_DB_ALIAS
) -> None:
    """``COPY table (columns) FROM STDIN`` with ``rows`` (values as the columns' Python types;
    PostgreSQL only). Table and column names come from model metadata, never from input; they
    are quoted here."""
    connection = connections[using]
    quote = connection.ops.quote_name
    cols = ", ".join(quote(c) for c in columns)
    with (
        connection.cursor() as cursor,
        cursor.cursor.copy(f"COPY {quote(table)} ({cols}) FROM STDIN") as copy,
    ):
        for row in rows:
            copy.write_row(row)


def _sqlite_value(value: Any) -> Any:
    """A Python value as Django's SQLite backend stores it (datetimes in UTC, naive)."""
    import datetime as dt
    from decimal import Decimal

    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.isoformat(" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, dict | list):
        import json

        from django.core.serializers.json import DjangoJSONEncoder

        return json.dumps(value, cls=DjangoJSONEncoder)
    return value


def _sqlite_converter(sample: Any) -> Any:
    """The conversion ``_sqlite_value`` would make for values like ``sample``, as one function
    (None when the value passes as it is)."""
    import datetime as dt
    from decimal import Decimal

    if sample is None or (isinstance(sample, int | float | str) and not isinstance(sample, bool)):
        return None
    if isinstance(sample, Decimal):
        return str
    if isinstance(sample, bool):
        return int
    if isinstance(sample, dt.date) and not isinstance(sample, dt.datetime):
        return dt.date.isoformat
    return _sqlite_value


def insert_rows(
    table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, using: str = DEFAULT_DB_ALIAS
) -> None:
    """Many rows into ``table`` without model instances: COPY on PostgreSQL, one prepared
    ``executemany`` INSERT elsewhere (SQLite: values stored as Django stores them). JSON columns
    take a dict or list; table and column names come from model metadata, never from input."""
    if not rows:
        return
    connection = connections[using]
    if connection.vendor == "postgresql":
        # COPY takes the values as they are but for JSON (a dict or list), encoded; which
        # columns hold JSON is read off their first value that is not None.

        from django.core.serializers.json import DjangoJSONEncoder

        encode = DjangoJSONEncoder().encode
        json_columns = [
            i
            for i in range(len(columns))
            if isinstance(next((row[i] for row in rows if row[i] is not None), None), dict | list)
        ]
        if json_columns:
            encoded = []
            for row in rows:
                values = list(row)
                for i in json_columns:
                    if values[i] is not None:
                        values[i] = encode(values[i])
                encoded.append(values)
            rows = encoded
        copy_rows(table, columns, rows, using=using)
        return
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    # One conversion per column, chosen by the column's first value that is not None (a column
    # holds one type); plain ints, floats and strings pass as they are.
    converters = []
    for index in range(len(columns)):
        sample = next((row[index] for row in rows if row[index] is not None), None)
        convert = _sqlite_converter(sample)
        if convert is not None:
            converters.append((index, convert))
    if converters:
        adapted = []
        for row in rows:
            values = list(row)
            for index, convert in converters:
                value = values[index]
                if value is not None:
                    values[index] = convert(value)
            adapted.append(values)
        rows = adapted
    # In one transaction: outside one, SQLite would commit (and sync) every row.
    with transaction.atomic(using=using), connection.cursor() as cursor:
        cursor.executemany(sql, rows)
