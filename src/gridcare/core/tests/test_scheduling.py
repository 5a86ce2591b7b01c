"""core.scheduling: verbs name their tasks by path; the path must name a task, and the task is
enqueued when the caller's transaction commits (issue #16: tasks on top, no import cycles)."""

import datetime as dt
import importlib.util
from pathlib import Path

import pytest
from django.db import transaction
from django_tasks.base import Task

from gridcare.core import scheduling

# Each app checks its own paths (repair, workorders, outages tests); core cannot import them.
TASK = "gridcare.core.tests.tasks_for_tests.charge_once"


def test_a_path_names_its_task():
    task = scheduling.task(TASK)
    assert isinstance(task, Task)
    assert task.module_path == TASK  # what the task backend stores and the worker imports


def test_a_path_that_is_no_task_is_refused():
    with pytest.raises(TypeError):
        scheduling.task("gridcare.core.scheduling.schedule")


@pytest.mark.django_db
def test_a_task_is_enqueued_when_the_transaction_commits_and_not_on_rollback(
    django_capture_on_commit_callbacks,
):
    from django_tasks_db.models import DBTaskResult

    when = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        scheduling.schedule(TASK, at=when)
        assert not DBTaskResult.objects.exists()  # nothing before the commit
    assert len(callbacks) == 1
    row = DBTaskResult.objects.get()
    assert (row.task_path, row.args_kwargs["args"], row.run_after) == (TASK, [], when)

    class Undo(Exception):
        pass

    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(Undo), transaction.atomic():
        scheduling.schedule(TASK)
        raise Undo
    assert callbacks == []  # rolled back: nothing is enqueued


def test_no_import_cycle_inside_any_app():
    """scripts/import_cycles.py: every import counts, a function-local one too."""
    script = Path(__file__).resolve().parents[4] / "scripts" / "import_cycles.py"
    spec = importlib.util.spec_from_file_location("import_cycles", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.app_cycles() == {}
