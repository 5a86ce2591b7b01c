"""Fast row loading for the demo generator: COPY on PostgreSQL, executemany on SQLite.

Rows arrive as tuples in the order of the given field names; every other concrete column of the
model gets its default, so a column added to a model later does not break the generator.
On PostgreSQL the secondary indexes of the loaded tables are dropped during the load and rebuilt
afterwards (building a trigram GIN index once is far cheaper than maintaining it row by row).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.core.management.color import no_style
from django.db import connections, models

from gridcare.core.bulk import copy_rows


class BulkLoader:
    def __init__(self, using: str = "default"):
        self.connection = connections[using]
        self.is_postgresql = self.connection.vendor == "postgresql"
        self._plans: dict[tuple[type[models.Model], tuple[str, ...]], tuple[list[str], tuple[Any, ...]]] = {}

    def _plan(self, model: type[models.Model], fields: Sequence[str]) -> tuple[list[str], tuple[Any, ...]]:
        key = (model, tuple(fields))
        if key not in self._plans:
            meta = model._meta
            columns = [meta.get_field(name).column for name in fields]
            given = set(columns)
            defaults: list[Any] = []
            for field in meta.concrete_fields:
                if field.column in given or (field.primary_key and "id" in fields):
                    continue
                if field.primary_key:
                    continue
                value = field.get_default()
                columns.append(field.column)
                defaults.append(field.get_db_prep_save(value, self.connection))
            self._plans[key] = (columns, tuple(defaults))
        return self._plans[key]

    def write(
        self, model: type[models.Model], fields: Sequence[str], rows: Iterable[tuple[Any, ...]]
    ) -> None:
        columns, defaults = self._plan(model, fields)
        table = model._meta.db_table
        quote = self.connection.ops.quote_name
        column_sql = ", ".join(quote(c) for c in columns)
        if defaults:
            rows = (row + defaults for row in rows)
        if self.is_postgresql:
            copy_rows(table, columns, rows, using=self.connection.alias)
            return
        placeholders = ", ".join(["%s"] * len(columns))
        # Table and column names come from the model's metadata, never from input.
        sql = f"INSERT INTO {quote(table)} ({column_sql}) VALUES ({placeholders})"  # noqa: S608
        with self.connection.cursor() as cursor:
            cursor.executemany(sql, rows)

    @contextmanager
    def constraints_and_indexes_deferred(
        self, model_list: Sequence[type[models.Model]], progress: Callable[[str], None] | None = None
    ) -> Iterator[None]:
        """PostgreSQL: drop the tables' foreign keys and non-constraint indexes for the load.

        They are put back at the end, as pg_restore does: one validating join per foreign key
        and one index build each, instead of millions of row-by-row checks and index updates.
        Everything happens inside the caller's transaction, so a failure leaves nothing behind.
        """
        if not self.is_postgresql:
            yield
            return
        say = progress or (lambda _message: None)
        quote = self.connection.ops.quote_name
        foreign_keys: list[tuple[str, str, str]] = []
        indexes: list[str] = []
        with self.connection.cursor() as cursor:
            # Foreign keys are DEFERRABLE INITIALLY DEFERRED: run the checks already queued (the
            # org tree, staff, topology) — PostgreSQL cannot ALTER a table with pending trigger events.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
            for model in model_list:
                table = quote(model._meta.db_table)
                cursor.execute(
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                    "WHERE conrelid = %s::regclass AND contype = 'f' ORDER BY conname",
                    [table],
                )
                for name, definition in cursor.fetchall():
                    cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
                    foreign_keys.append((table, name, definition))
                cursor.execute(
                    """
                    SELECT ci.relname, pg_get_indexdef(i.indexrelid)
                    FROM pg_index i JOIN pg_class ci ON ci.oid = i.indexrelid
                    WHERE i.indrelid = %s::regclass AND NOT i.indisprimary
                      AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
                    ORDER BY ci.relname
                    """,
                    [table],
                )
                for name, definition in cursor.fetchall():
                    cursor.execute(f"DROP INDEX {quote(name)}")
                    indexes.append(definition)
        yield
        with self.connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
            for definition in indexes:
                cursor.execute(definition)
            say(f"{len(indexes)} indexes rebuilt in {time.perf_counter() - started:.0f} s")
            started = time.perf_counter()
            for table, name, definition in foreign_keys:
                cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}")
            say(f"{len(foreign_keys)} foreign keys checked in {time.perf_counter() - started:.0f} s")

    def finish(self, model_list: Sequence[type[models.Model]]) -> None:
        """Move id sequences past the explicit ids and refresh the planner's statistics."""
        statements = self.connection.ops.sequence_reset_sql(no_style(), list(model_list))
        with self.connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)
            if self.is_postgresql:
                for model in model_list:
                    cursor.execute(f"ANALYZE {self.connection.ops.quote_name(model._meta.db_table)}")

    def next_id(self, model: type[models.Model]) -> int:
        last = model.objects.aggregate(m=models.Max("pk"))["m"]
        return (last or 0) + 1
