"""A task the tests enqueue that is not safe to run twice (not in GRIDCARE_TASKS_RERUN_WHEN_LOST)."""

from django_tasks import task


@task()
def charge_once() -> int:
    return 1
