"""Background work of the work-order engine (Django Tasks API)."""

from __future__ import annotations

from django_tasks import task


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
