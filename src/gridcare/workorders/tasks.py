"""Background work of the work-order engine (Django Tasks API)."""

from __future__ import annotations

import datetime as dt
import enum

from django.db import connection, transaction
from django_tasks import task, task_backends
from django_tasks_db.backend import DatabaseBackend


@task()
def check_deadline(deadline_id: int) -> int:
    """Raise the warnings of one deadline that have fallen due (scheduled with run_after)."""
    from .deadlines import check_one

    return check_one(deadline_id)


@task()
def sweep_deadlines() -> int:
    """Reconciliation: raise every due warning a scheduled check may have missed."""
    from .deadlines import raise_due_warnings

    return raise_due_warnings()


def schedule_checks_with_commit(items: list[tuple[int, dt.datetime]]) -> None:
    """Schedule the checks as part of the caller's transaction. Rows of the database backend become
    visible to workers only when that transaction commits, so they are written right away (no
    extra commit per intake); any other backend (RQ) is told after commit."""
    if not items:
        return
    if isinstance(task_backends[check_deadline.backend], DatabaseBackend):
        schedule_checks(items)
    else:
        transaction.on_commit(lambda: schedule_checks(items))


def schedule_checks(items: list[tuple[int, dt.datetime]]) -> None:
    """Schedule ``check_deadline(pk)`` at each ``when`` — what ``deadlines.schedule`` does for one
    deadline, for many. With the database task backend the rows are written in bulk (one INSERT per
    thousand tasks instead of one per task); any other backend enqueues them one by one."""
    if not items:
        return
    backend = task_backends[check_deadline.backend]
    if not isinstance(backend, DatabaseBackend):
        for pk, when in items:
            check_deadline.using(run_after=when).enqueue(pk)
        return
    from django_tasks_db.models import DBTaskResult

    backend.validate_task(check_deadline.using(run_after=items[0][1]))
    if connection.vendor == "postgresql" and len(items) >= COPY_FROM:
        _copy_checks(backend, items)
        return
    DBTaskResult.objects.bulk_create([check_row(pk, when) for pk, when in items], batch_size=1000)


def check_row(deadline_id: int | None, when: dt.datetime):
    """The database task backend's row of ``check_deadline(deadline_id)`` to run at ``when``."""
    from django_tasks_db.models import DBTaskResult

    backend = task_backends[check_deadline.backend]
    return DBTaskResult(
        id=backend._get_id(),
        args_kwargs={"args": [deadline_id], "kwargs": {}},
        priority=check_deadline.priority,
        task_path=check_deadline.module_path,
        queue_name=check_deadline.queue_name,
        run_after=when,
        backend_name=backend.alias,
    )


# From this many checks on, PostgreSQL gets them by COPY (a sweep schedules tens of thousands).
COPY_FROM = 100


def _copy_checks(backend: DatabaseBackend, items: list[tuple[int, dt.datetime]]) -> None:
    """The rows ``bulk_create`` would write, by COPY: every column of the model, its defaults
    (status READY, no worker ids …) for what a new task leaves out, ``enqueued_at`` now."""
    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from gridcare.core.bulk import copy_rows

    fields = DBTaskResult._meta.concrete_fields
    enqueued_at = timezone.now()
    fixed = {
        "priority": check_deadline.priority,
        "task_path": check_deadline.module_path,
        "queue_name": check_deadline.queue_name,
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

    def rows():
        for pk, when in items:
            row = list(template)
            row[id_at] = backend._get_id()
            row[args_at] = args_field.get_db_prep_save({"args": [pk], "kwargs": {}}, connection)
            row[run_after_at] = when
            yield row

    copy_rows(DBTaskResult._meta.db_table, [field.column for field in fields], rows())
