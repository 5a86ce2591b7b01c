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
