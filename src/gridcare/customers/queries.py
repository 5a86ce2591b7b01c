"""Scoped reads of the customer archive, used by pages and the API alike."""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connection
from django.db.models import Model, QuerySet

from gridcare.core import prepared
from gridcare.org import scoping
from gridcare.org.models import Unit

from .models import Customer, CustomerAddress, CustomerPhone, TransformerArea

SEARCH_LIMIT = 50
_DIGITS = re.compile(r"^\d{5,20}$")


def normalize_phone(value: str) -> str:
    """Keep digits only (full-width ones typed with a Chinese input method become ASCII); drop a
    leading +86 / 0086 country code."""
    digits = re.sub(r"[^0-9]", "", unicodedata.normalize("NFKC", value or ""))
    for prefix in ("0086", "86"):
        if digits.startswith(prefix) and len(digits) - len(prefix) == 11:
            digits = digits[len(prefix) :]
    return digits


def normalize_text(value: str) -> str:
    return re.sub(r"\s+", "", value or "").lower()


def visible_customers(user: Any, active_unit: Any = None) -> QuerySet[Customer]:
    return scoping.restrict(Customer.objects.all(), user, "station_id", active_unit)


@dataclass
class CustomerQuery:
    q: str = ""
    phone: str = ""
    account_no: str = ""
    name: str = ""
    address: str = ""

    def is_empty(self) -> bool:
        return not any(
            [
                self.q.strip(),
                self.phone.strip(),
                self.account_no.strip(),
                self.name.strip(),
                self.address.strip(),
            ]
        )


def search_customers(
    user: Any, query: CustomerQuery, *, active_unit: Any = None, limit: int = SEARCH_LIMIT
) -> list[Customer]:
    """Find customers by phone, account number, name or address — one query box for the agent.

    A free-text ``q`` is read the way an agent types it: an 11-digit number is a phone, another
    long number an account number (or landline), anything else a name or a piece of address.

    Returns at most ``limit`` customers ordered by account number, each with its station, its
    transformer area, its phones and its addresses loaded. This runs on every incoming call (the
    IVR/CTI screen pop), so it is one SQL statement (see ``_ResultPage``) rather than three ORM
    queries; the scope still comes from the scoping door.
    """
    if query.is_empty():
        return []
    conditions: list[str] = []
    params: list[Any] = []
    if query.phone.strip():
        conditions.append(_PHONE_MATCH)
        params.append(normalize_phone(query.phone))
    if query.account_no.strip():
        conditions.append(f"{_C}.account_no = %s")
        params.append(query.account_no.strip())
    if query.name.strip():
        conditions.append(_name_starts())
        params.append(_like_prefix(query.name.strip()))
    if query.address.strip():
        conditions.append(_text_contains())
        params.append(_like_infix(normalize_text(query.address)))
    q = unicodedata.normalize("NFKC", query.q).strip()  # full-width digits, letters and spaces
    if q:
        compact = re.sub(r"[\s\-]", "", q)
        if _DIGITS.match(compact):
            conditions.append(f"({_C}.account_no = %s OR {_PHONE_MATCH})")
            params += [compact, normalize_phone(compact)]
        else:
            conditions.append(f"({_name_starts()} OR {_text_contains()})")
            params += [_like_prefix(q), _like_infix(normalize_text(q))]
    return _ResultPage.fetch(visible_customers(user, active_unit), conditions, params, limit)


# --- the result page in one statement -----------------------------------------------------------
# Table and column names below come from the models' metadata, values always travel as parameters.

_C = connection.ops.quote_name(Customer._meta.db_table)
_PHONE_MATCH = (
    f"{_C}.id IN (SELECT customer_id FROM {connection.ops.quote_name(CustomerPhone._meta.db_table)} "  # noqa: S608
    "WHERE number = %s)"
)


def _like_prefix(value: str) -> str:
    return connection.ops.prep_for_like_query(value) + "%"


def _like_infix(value: str) -> str:
    return "%" + connection.ops.prep_for_like_query(value) + "%"


def _like(column: str) -> str:
    # The same SQL as Django's startswith/contains lookups, so the same indexes serve it
    # (customer_name_prefix and customer_search_trgm on PostgreSQL, see migration 0003).
    if connection.vendor == "postgresql":
        return f"{_C}.{column}::text LIKE %s"
    return f"{_C}.{column} LIKE %s ESCAPE '\\'"


def _name_starts() -> str:
    return _like("name")


def _text_contains() -> str:
    return _like("search_text")


class _Loaded(QuerySet):
    """A related set already loaded (what ``prefetch_related`` stores), built without a query.

    Reading it answers from the loaded rows; anything chained on it (``filter``, ``order_by`` …)
    becomes the ordinary related query of its owner, exactly as with a prefetched set.
    """

    @classmethod
    def holding(cls, model: type[Model], objects: list[Model], owner: Model, name: str) -> _Loaded:
        loaded = cls(model=model)
        loaded._result_cache = objects
        loaded._prefetch_done = True
        loaded._owner = (owner, name)
        return loaded

    def _clone(self):
        owner, name = self._owner
        manager = getattr(owner, name)
        return manager._apply_rel_filters(self.model._default_manager.get_queryset())._clone()


class _ResultPage:
    """SELECT customers with their station and area (joined) and phones and addresses (as JSON).

    Rows become model instances exactly as the ORM would build them (``from_db`` and the
    backend's value converters), with ``station`` and ``transformer_area`` cached and
    ``phones.all()`` / ``addresses.all()`` answered from the prefetch cache, ordered as
    ``Prefetch(..., order_by("-is_primary", "id"))`` would.
    """

    _sql: dict[tuple[type, str], str] = {}

    @staticmethod
    def _related() -> list[tuple[type[Model], str, str]]:
        """(model, alias, foreign key column) of each joined row, cached as the key's object."""
        return [(Unit, "s", "station_id"), (TransformerArea, "a", "transformer_area_id")]

    @staticmethod
    def _children() -> list[tuple[type[Model], str]]:
        return [(CustomerPhone, "phones"), (CustomerAddress, "addresses")]

    @classmethod
    def _statement(cls) -> str:
        key = (cls, connection.vendor)
        vendor = connection.vendor
        if key in cls._sql:
            return cls._sql[key]
        qn = connection.ops.quote_name
        columns = [f"{_C}.{qn(f.column)}" for f in Customer._meta.concrete_fields]
        joins = []
        for model, alias, fk in cls._related():
            columns += [f"{alias}.{qn(f.column)}" for f in model._meta.concrete_fields]
            joins.append(f"INNER JOIN {qn(model._meta.db_table)} {alias} ON {alias}.id = {_C}.{qn(fk)}")
        for model, _name in cls._children():
            table = qn(model._meta.db_table)
            fields = ", ".join(f"x.{qn(f.column)}" for f in model._meta.concrete_fields)
            if vendor == "postgresql":
                columns.append(
                    f"(SELECT json_agg(json_build_array({fields}) ORDER BY x.is_primary DESC, x.id) "  # noqa: S608
                    f"FROM {table} x WHERE x.customer_id = {_C}.id)"
                )
            else:
                columns.append(
                    f"(SELECT json_group_array(json_array({fields})) FROM (SELECT * FROM {table} "  # noqa: S608
                    f"WHERE customer_id = {_C}.id ORDER BY is_primary DESC, id) x)"
                )
        sql = (
            f"SELECT {', '.join(columns)} FROM {_C} {' '.join(joins)} "  # noqa: S608
            f"WHERE {{where}} ORDER BY {_C}.account_no LIMIT %s"
        )
        cls._sql[key] = sql
        return sql

    @staticmethod
    def _converters(model: type[Model]) -> list[tuple[int, list, Any]]:
        found = []
        for index, f in enumerate(model._meta.concrete_fields):
            col = f.get_col(model._meta.db_table)
            funcs = connection.ops.get_db_converters(col) + f.get_db_converters(connection)
            if funcs:
                found.append((index, funcs, col))
        return found

    @classmethod
    def fetch(
        cls, scoped: QuerySet[Customer] | None, conditions: list[str], params: list[Any], limit: int
    ) -> list[Customer]:
        """``scoped``: the restricted queryset of the scoping door (its WHERE is compiled in), or
        None for a caller that checks the scope of the rows itself."""
        try:
            if scoped is None:
                raise FullResultSet
            compiler = scoped.query.get_compiler(connection=connection)
            scope_sql, scope_params = compiler.compile(scoped.query.where)
        except EmptyResultSet:  # a scope without units sees nobody
            return []
        except FullResultSet:  # an unrestricted scope (superuser)
            scope_sql, scope_params = "", ()
        if scope_params and "%%" not in scope_sql and all(type(p) is int for p in scope_params):
            # A scope is a list of unit ids. Written into the statement as integer literals it
            # keeps the statement at a few parameters, so the driver's parsed-query cache serves
            # it (psycopg caches statements of at most 50 parameters; a city has ~90 units).
            scope_sql, scope_params = scope_sql % tuple(scope_params), ()
        where = [f"({scope_sql})"] if scope_sql else []
        sql = cls._statement().format(where=" AND ".join([*where, *conditions]) or "1=1")
        if scoped is None:  # the same text every time: worth preparing
            rows = prepared.fetch(sql, [*params, limit])
        else:
            with connection.cursor() as cursor:
                cursor.execute(sql, [*scope_params, *params, limit])
                rows = cursor.fetchall()
        return [cls._build(row) for row in rows]

    @classmethod
    def _build(cls, row: tuple) -> Customer:
        db = connection.alias
        values = list(row)
        offset = 0
        built: list[Model] = []
        for model in [Customer, *(m for m, _a, _f in cls._related())]:
            fields = model._meta.concrete_fields
            part = values[offset : offset + len(fields)]
            for index, funcs, col in cls._converters_for(model):
                for func in funcs:
                    part[index] = func(part[index], col, connection)
            built.append(model.from_db(db, [f.attname for f in fields], part))
            offset += len(fields)
        customer = built[0]
        for (_model, _alias, fk), related in zip(cls._related(), built[1:], strict=True):
            setattr(customer, fk.removesuffix("_id"), related)
        cache = customer.__dict__.setdefault("_prefetched_objects_cache", {})
        for model, name in cls._children():
            data = values[offset]
            offset += 1
            if isinstance(data, str):
                data = json.loads(data)
            fields = model._meta.concrete_fields
            names = [f.attname for f in fields]
            objects = [
                model.from_db(db, names, [f.to_python(v) for f, v in zip(fields, item, strict=True)])
                for item in data or []
            ]
            cache[name] = _Loaded.holding(model, objects, customer, name)
        return customer

    _converter_cache: dict[tuple[str, type[Model]], list] = {}

    @classmethod
    def _converters_for(cls, model: type[Model]) -> list:
        key = (connection.vendor, model)
        if key not in cls._converter_cache:
            cls._converter_cache[key] = cls._converters(model)
        return cls._converter_cache[key]


class _IntakeRow(_ResultPage):
    """A customer with its transformer area, by one statement (``get_customer_for_intake``)."""

    @staticmethod
    def _related() -> list[tuple[type[Model], str, str]]:
        return [(TransformerArea, "a", "transformer_area_id")]

    @staticmethod
    def _children() -> list[tuple[type[Model], str]]:
        return []


def get_customer_for_intake(user: Any, account_no: str, *, active_unit: Any = None) -> Customer:
    """The same scoped lookup as ``get_customer`` for taking a request: the customer and its
    transformer area only, not the archive's phones, meters and contracts. Every intake runs it,
    so it is one prebuilt statement (no ORM query compiling) and the scope is checked in Python."""
    found = _IntakeRow.fetch(None, [f"{_C}.account_no = %s"], [account_no], 1)
    return scoping.require_in_scope(found[0] if found else None, user, "station_id", active_unit)


def customer_with_area(pk: int) -> Customer | None:
    """A customer and its transformer area by id, unscoped (for work already admitted, such as a
    queued call), by the same prebuilt statement as ``get_customer_for_intake``."""
    found = _IntakeRow.fetch(None, [f"{_C}.id = %s"], [pk], 1)
    return found[0] if found else None


def get_customer(user: Any, account_no: str, *, active_unit: Any = None) -> Customer:
    """One customer in the user's scope by account number, or 404."""
    qs = Customer.objects.select_related(
        "transformer_area__feeder__substation",
        "transformer_area__grid_manager",
        "station__parent",
        "account_manager",
    ).prefetch_related("phones", "addresses", "meters", "contracts")
    return scoping.get_for_user(qs, user, "station_id", active_unit, account_no=account_no)
