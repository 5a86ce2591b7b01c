"""受理 on PostgreSQL in one statement.

``intake.create_work_order`` builds the order, its ``accept`` history row, its deadlines and
their scheduled warning checks in memory; on PostgreSQL with the database task backend this module
writes all of them — and takes the order number — with one ``INSERT … RETURNING`` chain of
data-modifying CTEs: one round trip and one commit instead of seven statements. Intake is the
busiest write of the system (a storm brings thousands of calls an hour), so it is worth it.

The rows are exactly those the ORM would write: the values come from the model fields' own
``pre_save``, and each row travels as one JSON parameter that PostgreSQL turns into a typed row
of the table (``jsonb_populate_record``), so the statement's text is the same for every intake.
The ORM path stays the reference (SQLite, other task backends) and a test compares what both
paths write.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import pydantic_core
from django.db import connection, models
from django.utils import timezone
from django_tasks import task_backends
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from gridcare.core import numbering, prepared, scheduling

from .checks import CHECK_DEADLINE, check_row, column
from .models import Deadline, WorkOrder, WorkOrderEvent


def available() -> bool:
    """True where the one statement can be used: PostgreSQL and the database task backend."""
    if connection.vendor != "postgresql":
        return False
    return isinstance(task_backends[scheduling.task(CHECK_DEADLINE).backend], DatabaseBackend)


def checks_for(deadlines: list[Deadline]) -> list[dict[str, Any]]:
    """The rows of the scheduled ``check_deadline`` tasks of ``deadlines`` (what
    ``checks.schedule_checks`` writes), by column. Each row's ``args_kwargs`` names its deadline's
    milestone until ``insert`` puts the deadline's id there."""
    due = [d for d in deadlines if d.next_warning_at is not None]
    if not due:
        return []
    backend = task_backends[scheduling.task(CHECK_DEADLINE).backend]
    assert isinstance(backend, DatabaseBackend)  # see ``available``
    shared = _check_template(backend.alias)
    enqueued_at = timezone.now()  # what the model's auto_now_add would write
    rows = []
    for deadline in due:
        row = dict(shared)
        row["id"] = backend._get_id()
        row["enqueued_at"] = enqueued_at
        row["run_after"] = deadline.next_warning_at
        row["args_kwargs"] = {"milestone": deadline.milestone}
        rows.append(row)
    return rows


@cache
def _check_template(backend_alias: str) -> dict[str, Any]:
    """What every check row of a backend shares (defaults, task path, queue, backend), from one
    model instance built once; each check adds its id, enqueue time, run time and argument."""
    return _record(check_row(None, timezone.now()))


@cache
def _fields(model: type[models.Model]) -> tuple[models.Field[Any, Any], ...]:
    """The columns an INSERT of ``model`` names (all concrete fields but an automatic key)."""
    return tuple(f for f in model._meta.concrete_fields if f is not model._meta.auto_field)


def _plain(field: models.Field[Any, Any]) -> bool:
    """True when the field saves its attribute as it is (``Field.pre_save``): no auto_now, no file."""
    if isinstance(field, models.DateField | models.TimeField):  # DateTimeField is a DateField
        return not (field.auto_now or field.auto_now_add)
    return type(field).pre_save is models.Field.pre_save


@cache
def _columns(model: type[models.Model]) -> tuple[tuple[str, str, models.Field[Any, Any] | None], ...]:
    """(column, attribute, the field when its ``pre_save`` must run) of each column of ``model``."""
    return tuple((column(f), f.attname, None if _plain(f) else f) for f in _fields(model))


def _record(obj: models.Model) -> dict[str, Any]:
    """The row of ``obj`` as the fields would save it (``pre_save``), by column name."""
    values = obj.__dict__
    return {
        column: values[attname] if field is None else field.pre_save(obj, True)
        for column, attname, field in _columns(type(obj))
    }


def _json(value: Any) -> str:
    """``value`` as JSON text, by pydantic's serializer (in Rust; about a third of ``json.dumps``
    with a Python hook): times in ISO 8601 with full precision and their offset, decimals and
    UUIDs as strings, text as UTF-8; any other type raises."""
    return pydantic_core.to_json(value).decode()


def _insert(model: type[models.Model], sql_for: dict[str, str], *, many: bool = False, when: str = "") -> str:
    """``INSERT INTO t (…) SELECT … FROM jsonb_populate_record(set)(NULL::t, %s) [WHERE when]``:
    PostgreSQL turns one JSON parameter into typed rows of the table; ``sql_for`` replaces a
    column's value by an SQL expression (which may read ``r``, the row given)."""
    q = connection.ops.quote_name
    table = q(model._meta.db_table)
    columns = [column(f) for f in _fields(model)]
    select = ", ".join(sql_for.get(c, f"r.{q(c)}") for c in columns)
    function = "jsonb_populate_recordset" if many else "jsonb_populate_record"
    return (
        f"INSERT INTO {table} ({', '.join(q(c) for c in columns)}) "  # noqa: S608 - names from model metadata
        f"SELECT {select} FROM {function}(NULL::{table}, %s::jsonb) AS r" + (f" WHERE {when}" if when else "")
    )


@cache
def _statement(with_deadlines: bool, with_checks: bool) -> str:
    """The whole intake statement (built once per shape; prepared once per connection).

    ``prior`` finds an order already taken with the same idempotency key (by its unique index);
    then nothing is written — not even a number taken — and the statement answers that order.
    """
    # Table and column names come from model metadata; every value is a parameter.
    q = connection.ops.quote_name
    table = q(WorkOrder._meta.db_table)
    not_taken = numbering.UPSERT_WHEN_SQL.format(when="NOT EXISTS (SELECT 1 FROM prior)")
    prior = f"SELECT id, number, idempotency_fingerprint FROM {table} WHERE idempotency_key = %s"  # noqa: S608
    parts = [f"prior AS ({prior})", f"num AS ({not_taken})"]
    number = f"(SELECT {numbering.NUMBER_SQL} FROM num)"  # noqa: S608
    written = "EXISTS (SELECT 1 FROM o)"
    order = _insert(WorkOrder, {"number": number}, when="EXISTS (SELECT 1 FROM num)")
    parts.append(f"o AS ({order} RETURNING id, number)")
    own_order = {"order_id": "(SELECT id FROM o)"}
    parts.append(f"e AS ({_insert(WorkOrderEvent, own_order, when=written)})")
    if with_deadlines:
        parts.append(
            f"d AS ({_insert(Deadline, own_order, many=True, when=written)} RETURNING id, milestone)"
        )
    if with_checks:
        # Each check's row carries its deadline's milestone in args_kwargs until the id is known.
        args = (
            "jsonb_build_object('args', jsonb_build_array((SELECT d.id FROM d "
            "WHERE d.milestone = r.args_kwargs->>'milestone')), 'kwargs', '{}'::jsonb)"
        )
        parts.append(f"t AS ({_insert(DBTaskResult, {'args_kwargs': args}, many=True, when=written)})")
    ids = "(SELECT json_object_agg(milestone, id) FROM d)" if with_deadlines else "NULL::json"
    mine = f"SELECT o.id, o.number, {ids}, false, ''::varchar FROM o"  # noqa: S608
    answer = mine + " UNION ALL SELECT id, number, NULL::json, true, idempotency_fingerprint FROM prior"  # noqa: S608
    return "WITH " + ", ".join(parts) + " " + answer


def insert(
    order: WorkOrder,
    event: WorkOrderEvent,
    deadlines: list[Deadline],
    checks: list[dict[str, Any]],
    *,
    prefix: str,
    period: str,
) -> tuple[int, str] | None:
    """Write the order (numbered here), its history row, deadlines and checks; set their keys.
    Returns None — or, when an order was already taken with the order's idempotency key, that
    order's id and the fingerprint of the request that took it, and then nothing is written.

    Each check's ``args_kwargs`` is filled with the id of the deadline of the milestone it names
    (see ``checks_for``), known only inside the statement. Raises IntegrityError as the ORM
    would (e.g. the same idempotency key taken by a concurrent intake that committed first);
    then nothing is written and the number is unused.
    """
    params: list[Any] = [order.idempotency_key, prefix, period, prefix + period, numbering.WIDTH]
    params.append(_json(_record(order)))
    params.append(_json(_record(event)))
    if deadlines:
        params.append(_json([_record(d) for d in deadlines]))
    if checks:
        params.append(_json(checks))
    # Prepared once per connection: the statement is long and the same for every intake.
    ((order_id, number, deadline_ids, taken_before, fingerprint),) = prepared.fetch(
        _statement(bool(deadlines), bool(checks)), params
    )
    if taken_before:
        return order_id, fingerprint
    order.pk, order.number = order_id, number
    order._state.adding, order._state.db = False, connection.alias
    for deadline in deadlines:
        deadline.order = order
        deadline.pk = (deadline_ids or {})[deadline.milestone]
        deadline._state.adding, deadline._state.db = False, connection.alias
    return None
