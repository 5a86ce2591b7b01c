import pytest

from gridcare.core import periodic


@pytest.mark.django_db
def test_periodic_tasks_are_enqueued_once_per_interval(settings):
    from django_tasks_db.models import DBTaskResult

    settings.GRIDCARE_PERIODIC_TASKS = [("gridcare.workorders.tasks.sweep_deadlines", 300)]
    last: dict[str, float] = {}
    assert periodic.enqueue_due(last, 1000.0) == ["gridcare.workorders.tasks.sweep_deadlines"]
    assert periodic.enqueue_due(last, 1200.0) == []
    assert periodic.enqueue_due(last, 1300.0) == ["gridcare.workorders.tasks.sweep_deadlines"]
    assert DBTaskResult.objects.filter(task_path="gridcare.workorders.tasks.sweep_deadlines").count() == 2


def test_every_periodic_entry_is_a_task_that_takes_no_arguments(settings):
    """A typo or a task needing arguments would only fail in the worker, every interval."""
    import inspect

    from django.utils.module_loading import import_string
    from django_tasks.base import Task

    paths = [path for path, _seconds in settings.GRIDCARE_PERIODIC_TASKS]
    assert "gridcare.repair.tasks.roll_up_fault_calls" in paths  # queued API fault calls
    for path in paths:
        task = import_string(path)
        assert isinstance(task, Task), path
        required = [p for p in inspect.signature(task.func).parameters.values() if p.default is p.empty]
        assert not required, path
