"""A task row a killed worker left RUNNING is found once the worker's heartbeat has stopped, and
released: queued again when the task is safe to run twice, else closed as failed with the reason.
(The real SIGKILL of a worker process: notify/tests/test_crash.py.)"""

import datetime as dt

import pytest
from django_tasks_db.models import DBTaskResult

from gridcare.core import clock, periodic
from gridcare.core.models import WorkerHeartbeat

from .tasks_for_tests import charge_once

SWEEP = "gridcare.workorders.tasks.sweep_deadlines"


@pytest.fixture
def leases(settings):
    settings.GRIDCARE_WORKER_LEASE_SECONDS = 60
    settings.GRIDCARE_TASK_MAX_RUNNING_SECONDS = 3600
    settings.GRIDCARE_TASK_MAX_CLAIMS = 3


def running(task, worker_id, *, seen_seconds_ago=None, started_seconds_ago=0, claims=1):
    """A task row claimed by ``worker_id`` (``claims`` times in all), whose heartbeat was last
    written ``seen_seconds_ago`` (None: that worker keeps no heartbeat)."""
    row = DBTaskResult.objects.get(pk=task.enqueue().id)
    for n in range(claims):
        row.claim(worker_id if n == claims - 1 else f"earlier-{n}")
    now = clock.now()
    DBTaskResult.objects.filter(pk=row.pk).update(started_at=now - dt.timedelta(seconds=started_seconds_ago))
    if seen_seconds_ago is not None:
        WorkerHeartbeat.objects.update_or_create(
            worker_id=worker_id,
            defaults={"seen_at": now - dt.timedelta(seconds=seen_seconds_ago), "started_at": now},
        )
    return row


def status(row):
    row.refresh_from_db()
    return row.status


def test_a_sweep_left_running_by_a_dead_worker_is_queued_again_after_the_lease(db, leases):
    from django.utils.module_loading import import_string

    sweep = import_string(SWEEP)
    dead = running(sweep, "worker-dead", seen_seconds_ago=61)
    alive = running(sweep, "worker-alive", seen_seconds_ago=5)
    young = running(sweep, "worker-young", seen_seconds_ago=59)

    assert periodic.release_abandoned_tasks() == {"requeued": 1, "failed": 0}

    assert status(dead) == "READY" and dead.started_at is None
    assert DBTaskResult.objects.ready().filter(pk=dead.pk).exists()  # a worker takes it again
    assert status(alive) == "RUNNING" and status(young) == "RUNNING"


def test_a_task_not_safe_to_run_twice_is_closed_as_failed_with_the_reason(db, leases):
    row = running(charge_once, "worker-dead", seen_seconds_ago=300)

    assert periodic.release_abandoned_tasks() == {"requeued": 0, "failed": 1}

    row.refresh_from_db()
    assert row.status == "FAILED" and row.finished_at is not None
    [error] = row.task_result.errors
    assert error.exception_class_path == "gridcare.core.periodic.WorkerLost"
    assert "worker-dead" in error.traceback and "不自动重试" in error.traceback


def test_a_task_that_keeps_killing_its_worker_is_given_up(db, leases):
    from django.utils.module_loading import import_string

    row = running(import_string(SWEEP), "worker-dead", seen_seconds_ago=300, claims=3)

    assert periodic.release_abandoned_tasks() == {"requeued": 0, "failed": 1}
    assert status(row) == "FAILED"
    assert "3 次" in row.traceback


def test_a_worker_without_heartbeat_is_given_the_longest_run_time(db, leases):
    from django.utils.module_loading import import_string

    sweep = import_string(SWEEP)
    old = running(sweep, "bare-db-worker", started_seconds_ago=3601)
    recent = running(sweep, "bare-db-worker", started_seconds_ago=600)

    periodic.release_abandoned_tasks()

    assert status(old) == "READY" and status(recent) == "RUNNING"


def test_the_worker_beats_and_a_clean_stop_removes_its_heartbeat(db):
    periodic.beat("w1", clock.now())
    first = WorkerHeartbeat.objects.get().seen_at
    periodic.beat("w1", clock.now())
    assert WorkerHeartbeat.objects.get().seen_at >= first
    periodic.forget("w1")
    assert not WorkerHeartbeat.objects.exists()
