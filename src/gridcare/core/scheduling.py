"""The one door through which business code asks for background work.

A verb (``services``, ``deadlines``, ``notices`` …) never imports its app's ``tasks`` module:
``tasks`` sits on top of the app and imports the verbs it runs, so a verb importing it back would
close an import cycle. A verb names the task by its dotted path instead — the path the task
backend stores (``DBTaskResult.task_path``) and ``settings.GRIDCARE_PERIODIC_TASKS`` uses — and
``schedule`` enqueues it when the caller's transaction commits::

    scheduling.schedule("gridcare.repair.tasks.check_long_outage", event.pk, at=when)

Each app keeps its task paths as constants beside the verbs that schedule them; a test checks
every one names a task.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from typing import Any

from django.db import transaction
from django.utils.module_loading import import_string
from django_tasks.base import Task


@cache
def task(path: str) -> Task:
    """The task at dotted ``path`` (imported on first use; ``tasks`` modules import the verbs)."""
    found = import_string(path)
    if not isinstance(found, Task):
        raise TypeError(f"{path} is not a task")
    return found


def schedule(path: str, *args: Any, at: dt.datetime | None = None) -> None:
    """Enqueue the task at ``path`` with ``args`` once the current transaction commits (at once
    outside one), to run at ``at`` (None: as soon as a worker is free). A failed enqueue is logged
    and does not undo the committed work (``robust``): the tasks are idempotent and the periodic
    sweeps of ``settings.GRIDCARE_PERIODIC_TASKS`` catch a lost run."""

    def enqueue() -> None:
        found = task(path)
        (found.using(run_after=at) if at is not None else found).enqueue(*args)

    transaction.on_commit(enqueue, robust=True)
