"""Model instances with their related rows, read by one SQL statement.

For a read on a hot path (the IVR screen pop's customer search, the intake's customer lookup,
the answer to a repeated intake) the ORM's ``select_related`` + ``prefetch_related`` costs a
compiled query per relation and a round trip per prefetch. ``JoinedRows`` reads the same rows
with one statement built once from the models' metadata: the base row, each foreign key's row
joined (``Related``) and each reverse set aggregated as JSON (``Children``). Rows become model
instances exactly as the ORM would build them (``from_db`` and the backend's value converters),
with the related objects cached and each set answered from the prefetch cache in the given order.

Table and column names come from the models' metadata; values always travel as parameters.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Generic, TypeVar, cast

from django.conf import settings
from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connection, connections
from django.db.models import DecimalField, Model, QuerySet

from . import prepared


@dataclass(frozen=True)
class Related:
    """A row joined by the base row's foreign key ``fk`` (its column), cached as the key's object."""

    model: type[Model]
    alias: str
    fk: str
    nullable: bool = False


@dataclass(frozen=True)
class Children:
    """The rows of ``model`` whose ``fk`` column holds the base row's id, as ``name``'s prefetch
    cache, ordered by ``order`` (column names, ``-`` for descending)."""

    model: type[Model]
    name: str
    fk: str
    order: tuple[str, ...] = ("id",)


def _from_json(field: Any, value: Any) -> Any:
    if isinstance(field, DecimalField) and value is not None:
        # JSON carries a number as a float: back to the decimal it was (its shortest repr), at
        # the field's places — what the ORM's converter gives for the column.
        exact = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
        return exact.quantize(Decimal(1).scaleb(-field.decimal_places))
    value = field.to_python(value)
    if isinstance(value, dt.datetime) and value.tzinfo is None and settings.USE_TZ:
        # SQLite's JSON gives the stored text, which is UTC without an offset.
        value = value.replace(tzinfo=dt.UTC)
    return value


class Loaded(QuerySet):
    """A related set already loaded (what ``prefetch_related`` stores), built without a query.

    Reading it answers from the loaded rows; anything chained on it (``filter``, ``order_by`` …)
    becomes the ordinary related query of its owner, exactly as with a prefetched set.
    """

    @classmethod
    def holding(cls, model: type[Model], objects: Sequence[Model], owner: Model, name: str) -> Loaded:
        loaded = cls(model=model)
        loaded._result_cache = list(objects)
        loaded._prefetch_done = True
        loaded._owner = (owner, name)
        return loaded

    def _clone(self):
        owner, name = self._owner
        manager = getattr(owner, name)
        return manager._apply_rel_filters(self.model._default_manager.get_queryset())._clone()


def hold(owner: Model, name: str, model: type[Model], objects: Sequence[Model]) -> None:
    """Answer ``owner``'s related set ``name`` from ``objects`` (rows the caller just wrote or
    read), as a prefetch would."""
    owner.__dict__.setdefault("_prefetched_objects_cache", {})[name] = Loaded.holding(
        model, objects, owner, name
    )


def extra_value(obj: Model, name: str) -> Any:
    """The value of an ``extras`` column read with ``obj`` (see ``JoinedRows``)."""
    return obj.__dict__[name]


M = TypeVar("M", bound=Model)


class JoinedRows(Generic[M]):
    """``SELECT`` ``base`` rows with ``related`` joined and ``children`` aggregated.

    ``fetch`` takes SQL conditions on the base table (``{table}`` stands for its quoted name),
    their parameters, and optionally the scoping door's restricted queryset; ``order_by`` is SQL
    on the same names."""

    def __init__(
        self,
        base: type[M],
        *,
        related: tuple[Related, ...] = (),
        children: tuple[Children, ...] = (),
        order_by: str = "",
        extras: tuple[tuple[str, str | dict[str, str]], ...] = (),
    ) -> None:
        """``extras``: (attribute, SQL expression) pairs read with the row and set on the base
        instance (``{table}`` stands for the base table), such as an ``EXISTS`` a caller needs;
        an expression may be given per database vendor (``{"postgresql": …, "default": …}``)."""
        self.base = base
        self.related = related
        self.children = children
        self.order_by = order_by
        self.extras = extras
        self._sql: dict[str, str] = {}
        self._converter_cache: dict[tuple[str, type[Model]], list] = {}

    @property
    def table(self) -> str:
        return connection.ops.quote_name(self.base._meta.db_table)

    def _statement(self) -> str:
        vendor = connection.vendor
        if vendor in self._sql:
            return self._sql[vendor]
        qn = connection.ops.quote_name
        base = self.table
        base_pk = qn(self.base._meta.pk.column)
        columns = [f"{base}.{qn(f.column)}" for f in self.base._meta.concrete_fields]
        joins = []
        for rel in self.related:
            columns += [f"{rel.alias}.{qn(f.column)}" for f in rel.model._meta.concrete_fields]
            join = "LEFT OUTER JOIN" if rel.nullable else "INNER JOIN"
            joins.append(
                f"{join} {qn(rel.model._meta.db_table)} {rel.alias} "
                f"ON {rel.alias}.{qn(rel.model._meta.pk.column)} = {base}.{qn(rel.fk)}"
            )
        for child in self.children:
            table = qn(child.model._meta.db_table)
            fields = ", ".join(f"x.{qn(f.column)}" for f in child.model._meta.concrete_fields)
            order = ", ".join(
                f"x.{qn(name.lstrip('-'))}{' DESC' if name.startswith('-') else ''}" for name in child.order
            )
            if vendor == "postgresql":
                columns.append(
                    f"(SELECT json_agg(json_build_array({fields}) ORDER BY {order}) "  # noqa: S608
                    f"FROM {table} x WHERE x.{qn(child.fk)} = {base}.{base_pk})"
                )
            else:
                columns.append(
                    f"(SELECT json_group_array(json_array({fields})) FROM (SELECT * FROM {table} x "  # noqa: S608
                    f"WHERE x.{qn(child.fk)} = {base}.{base_pk} ORDER BY {order}) x)"
                )
        for _name, expression in self.extras:
            if isinstance(expression, dict):
                expression = expression.get(vendor, expression["default"])
            columns.append(f"({expression.format(table=base)})")
        order_by = f" ORDER BY {self.order_by.format(table=base)}" if self.order_by else ""
        sql = (
            f"SELECT {', '.join(columns)} FROM {base} {' '.join(joins)} "  # noqa: S608
            f"WHERE {{where}}{order_by} LIMIT %s"
        )
        self._sql[vendor] = sql
        return sql

    def fetch(
        self,
        scoped: QuerySet | None,
        conditions: list[str],
        params: list[Any],
        limit: int,
        *,
        lock: bool = False,
        extra_params: list[Any] | tuple[Any, ...] = (),
    ) -> list[M]:
        """``scoped``: the restricted queryset of the scoping door (its WHERE is compiled in), or
        None for a caller that checks the scope of the rows itself (the statement's text is then
        always the same, and it runs prepared). ``lock``: the base rows are locked for the
        transaction (``FOR UPDATE OF`` the base table, as ``select_for_update(of=("self",))``;
        SQLite locks the whole database on the first write instead). ``extra_params``: the values
        of the ``%s`` in ``extras``, in their order. Extras are read with the statement's snapshot:
        under ``lock`` that is the one from before the lock was granted."""
        statement = self.statement(scoped, conditions, params, limit, lock=lock, extra_params=extra_params)
        if statement is None:  # a scope without units sees nothing
            return []
        sql, values = statement
        if scoped is None:
            return self.build(prepared.fetch(sql, values))
        with connection.cursor() as cursor:
            cursor.execute(sql, values)
            return self.build(cursor.fetchall())

    def statement(
        self,
        scoped: QuerySet | None,
        conditions: list[str],
        params: list[Any],
        limit: int,
        *,
        lock: bool = False,
        extra_params: list[Any] | tuple[Any, ...] = (),
    ) -> tuple[str, list[Any]] | None:
        """The statement ``fetch`` runs (its SQL and parameters), or None when the scope sees
        nothing — for a caller that sends it with others (``prepared.fetch_together``; only an
        unscoped one runs prepared there) and turns its rows into instances with ``build``."""
        try:
            if scoped is None:
                raise FullResultSet
            compiler = scoped.query.get_compiler(connection=connection)
            scope_sql, scope_params = compiler.compile(scoped.query.where)
        except EmptyResultSet:  # a scope without units sees nothing
            return None
        except FullResultSet:  # an unrestricted scope (superuser)
            scope_sql, scope_params = "", ()
        if scope_params and "%%" not in scope_sql and all(type(p) is int for p in scope_params):
            # A scope is a list of unit ids. Written into the statement as integer literals it
            # keeps the statement at a few parameters, so the driver's parsed-query cache serves
            # it (psycopg caches statements of at most 50 parameters; a city has ~90 units).
            scope_sql, scope_params = scope_sql % tuple(scope_params), ()
        where = [f"({scope_sql})"] if scope_sql else []
        conditions = [c.format(table=self.table) for c in conditions]
        sql = self._statement().format(where=" AND ".join([*where, *conditions]) or "1=1")
        if lock and connection.features.has_select_for_update:
            sql += f" FOR UPDATE OF {self.table}"
        return sql, [*extra_params, *scope_params, *params, limit]

    def build(self, rows: list[tuple]) -> list[M]:
        """The statement's rows as instances (see ``statement``)."""
        conn = connections[connection.alias]  # the connection itself, not the proxy, for the loop
        seen: dict[tuple[Any, Any], Model] = {}
        return [self._build(row, conn, seen) for row in rows]

    def _build(self, row: tuple, conn: Any, seen: dict[tuple[Any, Any], Model]) -> M:
        """One base row as an instance, with its related rows (one instance per related row of
        the fetch: rows sharing a customer share its instance), its children and its extras."""
        db = conn.alias
        values = list(row)
        offset = 0
        built: list[Model | None] = []
        for model in [self.base, *(rel.model for rel in self.related)]:
            fields = model._meta.concrete_fields
            part = values[offset : offset + len(fields)]
            offset += len(fields)
            pk = part[self._pk_at(model)]
            if pk is None and built:  # an outer join that found no row
                built.append(None)
                continue
            if built and (model, pk) in seen:
                built.append(seen[(model, pk)])
                continue
            for index, funcs, col in self._converters_for(model):
                for func in funcs:
                    part[index] = func(part[index], col, conn)
            instance = model.from_db(db, self._attnames(model), part)
            if built:
                seen[(model, pk)] = instance
            built.append(instance)
        obj = built[0]
        for field, related in zip(self._relation_fields(), built[1:], strict=True):
            field.set_cached_value(obj, related)
        cache = obj.__dict__.setdefault("_prefetched_objects_cache", {})
        for child in self.children:
            data = values[offset]
            offset += 1
            if isinstance(data, str):
                data = json.loads(data)
            fields = child.model._meta.concrete_fields
            names = self._attnames(child.model)
            objects = [
                child.model.from_db(db, names, [_from_json(f, v) for f, v in zip(fields, item, strict=True)])
                for item in data or []
            ]
            cache[child.name] = Loaded.holding(child.model, objects, obj, child.name)
        for name, _expression in self.extras:
            setattr(obj, name, values[offset])
            offset += 1
        return cast(M, obj)  # built[0]: the row of ``self.base``, the loop's first model

    @functools.cache  # noqa: B019 - a handful of module-level instances, kept for the process
    def _attnames(self, model: type[Model]) -> list[str]:
        return [f.attname for f in model._meta.concrete_fields]

    @functools.cache  # noqa: B019
    def _pk_at(self, model: type[Model]) -> int:
        return model._meta.concrete_fields.index(model._meta.pk)

    @functools.cache  # noqa: B019
    def _relation_fields(self) -> list:
        """The base model's foreign key field of each ``Related`` (by its column)."""
        by_column = {f.column: f for f in self.base._meta.concrete_fields}
        return [by_column[rel.fk] for rel in self.related]

    @staticmethod
    def _converters(model: type[Model]) -> list[tuple[int, list, Any]]:
        found = []
        for index, f in enumerate(model._meta.concrete_fields):
            col = f.get_col(model._meta.db_table)
            funcs = connection.ops.get_db_converters(col) + f.get_db_converters(connection)
            if funcs:
                found.append((index, funcs, col))
        return found

    def _converters_for(self, model: type[Model]) -> list:
        key = (connection.vendor, model)
        if key not in self._converter_cache:
            self._converter_cache[key] = self._converters(model)
        return self._converter_cache[key]
