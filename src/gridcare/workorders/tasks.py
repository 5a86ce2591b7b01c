"""Background work of the work-order engine (Django Tasks API).

The top of the app: the tasks import the verbs they run; the verbs never import this module
(``checks`` schedules ``check_deadline`` by its path through ``core.scheduling``).
"""

from __future__ import annotations

from django_tasks import task

from .deadlines import check_one
from .sweep import raise_due_warnings


@task()
def check_deadline(deadline_id: int) -> int:
    """Raise the warnings of one deadline that have fallen due (scheduled with run_after)."""
    return check_one(deadline_id)


@task()
def sweep_deadlines() -> int:
    """Reconciliation: raise every due warning a scheduled check may have missed."""
    return raise_due_warnings()
