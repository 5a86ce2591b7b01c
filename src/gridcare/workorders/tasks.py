"""Background work of the work-order engine (Django Tasks API)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
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
    DBTaskResult.objects.bulk_create(
        [
            DBTaskResult(
                id=backend._get_id(),
                args_kwargs={"args": [pk], "kwargs": {}},
                priority=check_deadline.priority,
                task_path=check_deadline.module_path,
                queue_name=check_deadline.queue_name,
                run_after=when,
                backend_name=backend.alias,
            )
            for pk, when in items
        ],
        batch_size=1000,
    )
