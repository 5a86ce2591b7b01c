"""Scheduling the checks of deadlines (``tasks.check_deadline``) — in bulk, inside the caller's
transaction.

A deadline's next warning is checked by the worker at its time. Intake and the sweep schedule
thousands of checks at once, so with the database task backend the task rows are written here
directly (one INSERT per thousand, or COPY on PostgreSQL) instead of one enqueue per check. The
task is named by its path (``core.scheduling``): ``tasks`` sits on top of the app and imports
``deadlines``, which schedules through this module.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterator
from typing import Any

from django.db import connection, transaction
from django.db.models import Field
from django.utils import timezone
from django_tasks import task_backends
from django_tasks.base import Task
from django_tasks_db.backend import DatabaseBackend
from django_tasks_db.models import DBTaskResult

from gridcare.core import scheduling
from gridcare.core.bulk import copy_rows

# The task that raises the warnings of one deadline that have fallen due.
CHECK_DEADLINE = "gridcare.workorders.tasks.check_deadline"


def _check() -> Task[[int], int]:
    return scheduling.task(CHECK_DEADLINE)


def column(field: Field[Any, Any]) -> str:
    """A concrete field's column (django-stubs allow None: a field without a column of its own)."""
    assert field.column is not None, field
    return field.column


def schedule_checks_with_commit(items: list[tuple[int, dt.datetime]]) -> None:
    """Schedule the checks as part of the caller's transaction. Rows of the database backend become
    visible to workers only when that transaction commits, so they are written right away (no
    extra commit per intake); any other backend (RQ) is told after commit."""
    if not items:
        return
    if isinstance(task_backends[_check().backend], DatabaseBackend):
        schedule_checks(items)
    else:
        transaction.on_commit(lambda: schedule_checks(items))


def schedule_checks(items: list[tuple[int, dt.datetime]]) -> None:
    """Schedule ``check_deadline(pk)`` at each ``when`` — what ``deadlines.schedule`` does for one
    deadline, for many. With the database task backend the rows are written in bulk (one INSERT per
    thousand tasks instead of one per task); any other backend enqueues them one by one."""
    if not items:
        return
    task = _check()
    backend = task_backends[task.backend]
    if not isinstance(backend, DatabaseBackend):
        for pk, when in items:
            task.using(run_after=when).enqueue(pk)
        return
    backend.validate_task(task.using(run_after=items[0][1]))
    if connection.vendor == "postgresql" and len(items) >= COPY_FROM:
        _copy_checks(backend, items)
        return
    DBTaskResult.objects.bulk_create([check_row(pk, when) for pk, when in items], batch_size=1000)


def check_row(deadline_id: int | None, when: dt.datetime) -> DBTaskResult[[int], int]:
    """The database task backend's row of ``check_deadline(deadline_id)`` to run at ``when``."""
    task = _check()
    backend = task_backends[task.backend]
    assert isinstance(backend, DatabaseBackend)  # rows are the database backend's alone
    return DBTaskResult(
        id=backend._get_id(),
        args_kwargs={"args": [deadline_id], "kwargs": {}},
        priority=task.priority,
        task_path=task.module_path,
        queue_name=task.queue_name,
        run_after=when,
        backend_name=backend.alias,
    )


# From this many checks on, PostgreSQL gets them by COPY (a sweep schedules tens of thousands).
COPY_FROM = 100


def _copy_checks(backend: DatabaseBackend, items: list[tuple[int, dt.datetime]]) -> None:
    """The rows ``bulk_create`` would write, by COPY: every column of the model, its defaults
    (status READY, no worker ids …) for what a new task leaves out, ``enqueued_at`` now."""
    task = _check()
    fields = DBTaskResult._meta.concrete_fields
    enqueued_at = timezone.now()
    fixed = {
        "priority": task.priority,
        "task_path": task.module_path,
        "queue_name": task.queue_name,
        "backend_name": backend.alias,
        "enqueued_at": enqueued_at,
    }
    template = []
    for field in fields:
        value = fixed[field.column] if field.column in fixed else field.get_default()
        if isinstance(value, enum.Enum):
            value = value.value  # COPY would write an enum member by its name
        template.append(field.get_db_prep_save(value, connection) if field.column != "id" else None)
    at = {field.column: index for index, field in enumerate(fields)}
    id_at, args_at, run_after_at = at["id"], at["args_kwargs"], at["run_after"]
    args_field = DBTaskResult._meta.get_field("args_kwargs")

    def rows() -> Iterator[list[Any]]:
        for pk, when in items:
            row = list(template)
            row[id_at] = backend._get_id()
            row[args_at] = args_field.get_db_prep_save({"args": [pk], "kwargs": {}}, connection)
            row[run_after_at] = when
            yield row

    copy_rows(DBTaskResult._meta.db_table, [column(field) for field in fields], rows())
