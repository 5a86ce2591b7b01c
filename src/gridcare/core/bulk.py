"""COPY: many rows into a PostgreSQL table in one stream (loads, sweeps, the outbox)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections


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
