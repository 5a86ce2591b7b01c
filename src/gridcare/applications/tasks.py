"""Background work of business applications (run by ``gridcare worker``): the top of the app."""

from __future__ import annotations

from django_tasks import task

from .sweep import raise_due_warnings


@task()
def sweep_node_deadlines() -> int:
    """Raise every node warning that has fallen due (periodic: GRIDCARE_APPLICATION_SWEEP_SECONDS)."""
    return raise_due_warnings()
