"""受理 on PostgreSQL in one statement.

``services.create_work_order`` builds the order, its ``accept`` history row, its deadlines and
their scheduled warning checks in memory; on PostgreSQL with the database task backend this module
writes all of them — and takes the order number — with one ``INSERT … RETURNING`` chain of
data-modifying CTEs: one round trip and one commit instead of seven statements. Intake is the
busiest write of the system (a storm brings thousands of calls an hour), so it is worth it.

The rows are exactly those the ORM would write: the column values come from the model fields'
own ``get_db_prep_save``. The ORM path stays the reference (SQLite, other task backends) and a test
compares what both paths write.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from django.db import connection, models
from django_tasks import task_backends
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from gridcare.core import numbering

from .models import Deadline, WorkOrder, WorkOrderEvent


def available() -> bool:
    """True where the one statement can be used: PostgreSQL and the database task backend."""
    if connection.vendor != "postgresql":
        return False
    from .tasks import check_deadline

    return isinstance(task_backends[check_deadline.backend], DatabaseBackend)


def checks_for(deadlines: list[Deadline]) -> list[DBTaskResult]:
    """The scheduled ``check_deadline`` task rows of ``deadlines`` (what ``tasks.schedule_checks``
    writes), each marked with its deadline's milestone; the deadline id is filled in by ``insert``."""
    from .tasks import check_row

    rows = []
    for deadline in deadlines:
        if deadline.next_warning_at is not None:
            row = check_row(None, deadline.next_warning_at)
            row.milestone = deadline.milestone
            rows.append(row)
    return rows


@cache
def _fields(model: type[models.Model]) -> tuple[models.Field, ...]:
    """The columns an INSERT of ``model`` names (all concrete fields but an automatic key)."""
    return tuple(f for f in model._meta.concrete_fields if f is not model._meta.auto_field)


def _row(obj: models.Model, sql_for: dict[str, str]) -> tuple[str, str, list[Any]]:
    """(column list, VALUES list, parameters) of ``obj``; ``sql_for`` maps a column to an SQL
    expression (taking its own parameters first, as a tuple) instead of the field's value."""
    quote = connection.ops.quote_name
    columns, values, params = [], [], []
    for field in _fields(type(obj)):
        columns.append(quote(field.column))
        if field.column in sql_for:
            expression, extra = sql_for[field.column]
            values.append(expression)
            params.extend(extra)
        else:
            values.append("%s")
            params.append(field.get_db_prep_save(field.pre_save(obj, True), connection))
    return ", ".join(columns), ", ".join(values), params


def insert(
    order: WorkOrder,
    event: WorkOrderEvent,
    deadlines: list[Deadline],
    checks: list[DBTaskResult],
    *,
    prefix: str,
    period: str,
) -> None:
    """Write the order (numbered here), its history row, deadlines and checks; set their keys.

    Each check's ``args_kwargs`` is filled with the id of the deadline of the same milestone
    (``check.milestone``), known only inside the statement. Raises IntegrityError as the ORM
    would (e.g. a repeated idempotency key); then nothing is written and the number is unused.
    """
    # Every name below comes from model metadata (quoted) and every value is a parameter.
    q = connection.ops.quote_name
    params: list[Any] = [prefix, period]
    parts = [f"num AS ({numbering.UPSERT_SQL})"]
    cols, vals, p = _row(
        order,
        {"number": (f"(SELECT {numbering.NUMBER_SQL} FROM num)", (prefix + period, numbering.WIDTH))},  # noqa: S608
    )
    parts.append(
        f"o AS (INSERT INTO {q(WorkOrder._meta.db_table)} ({cols}) VALUES ({vals}) "  # noqa: S608
        f"RETURNING {q('id')}, {q('number')})"
    )
    params += p
    own_order = {"order_id": ("(SELECT id FROM o)", ())}
    cols, vals, p = _row(event, own_order)
    parts.append(f"e AS (INSERT INTO {q(WorkOrderEvent._meta.db_table)} ({cols}) VALUES ({vals}))")  # noqa: S608
    params += p
    if deadlines:
        rows = [_row(d, own_order) for d in deadlines]
        values = ", ".join(f"({vals})" for _cols, vals, _p in rows)
        parts.append(
            f"d AS (INSERT INTO {q(Deadline._meta.db_table)} ({rows[0][0]}) VALUES {values} "  # noqa: S608
            f"RETURNING {q('id')}, {q('milestone')})"
        )
        params += [v for _cols, _vals, p in rows for v in p]
    if checks:
        rows = [
            _row(
                check,
                {
                    "args_kwargs": (
                        "jsonb_build_object('args', jsonb_build_array("
                        "(SELECT id FROM d WHERE milestone = %s)), 'kwargs', '{}'::jsonb)",
                        (check.milestone,),
                    )
                },
            )
            for check in checks
        ]
        values = ", ".join(f"({vals})" for _cols, vals, _p in rows)
        parts.append(f"t AS (INSERT INTO {q(DBTaskResult._meta.db_table)} ({rows[0][0]}) VALUES {values})")  # noqa: S608
        params += [v for _cols, _vals, p in rows for v in p]
    ids = "(SELECT json_object_agg(milestone, id) FROM d)" if deadlines else "NULL"
    sql = "WITH " + ", ".join(parts) + f" SELECT o.id, o.number, {ids} FROM o"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        order_id, number, deadline_ids = cursor.fetchone()
    order.pk, order.number = order_id, number
    order._state.adding, order._state.db = False, connection.alias
    for deadline in deadlines:
        deadline.order = order
        deadline.pk = (deadline_ids or {})[deadline.milestone]
        deadline._state.adding, deadline._state.db = False, connection.alias
