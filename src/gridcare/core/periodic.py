"""Periodic work for the worker: reconciliation sweeps that must run even if no task asked.

Each entry of ``settings.GRIDCARE_PERIODIC_TASKS`` is ``(dotted path of a django_tasks task,
interval in seconds)``. ``gridcare worker`` starts a small scheduler thread that enqueues each
task at its interval. The tasks are idempotent sweeps, so several workers enqueuing the same
sweep only repeat harmless work.

The same thread is the worker's **heartbeat** (``core.WorkerHeartbeat``, every tick) and releases
task rows that a dead worker left ``RUNNING`` (``release_abandoned_tasks``): the database task
backend marks a row ``RUNNING`` when a worker claims it and nothing ever changes it again if that
worker is killed. See docs/deployment.md ("Background worker").
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import socket
import threading
import time

from django.conf import settings
from django.db import close_old_connections, connections
from django.utils.crypto import get_random_string
from django.utils.module_loading import import_string

from . import clock

log = logging.getLogger(__name__)


def enqueue_due(last_run: dict[str, float], now: float) -> list[str]:
    """Enqueue every periodic task whose interval has passed; returns their paths."""
    started = []
    for path, interval in settings.GRIDCARE_PERIODIC_TASKS:
        if now - last_run.get(path, float("-inf")) >= interval:
            import_string(path).enqueue()
            last_run[path] = now
            started.append(path)
    return started


def new_worker_id() -> str:
    """A worker id that names the process (host and pid) and is unique across restarts."""
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{get_random_string(8)}"[:64]


def beat(worker_id: str, started_at: dt.datetime) -> None:
    """Record that the worker ``worker_id`` is alive now."""
    from .models import WorkerHeartbeat

    WorkerHeartbeat.objects.update_or_create(
        worker_id=worker_id,
        defaults={"seen_at": clock.now()},
        create_defaults={
            "seen_at": clock.now(),
            "started_at": started_at,
            "host": socket.gethostname()[:255],
            "pid": os.getpid(),
        },
    )


def forget(worker_id: str) -> None:
    """A worker that stops cleanly takes its heartbeat with it."""
    from .models import WorkerHeartbeat

    WorkerHeartbeat.objects.filter(worker_id=worker_id).delete()


class WorkerLost(Exception):
    """Recorded on a task row whose worker died while running it (not raised)."""


def release_abandoned_tasks() -> dict[str, int]:
    """Release the task rows left ``RUNNING`` by a worker that died; returns how many were put
    back in the queue (``requeued``) and how many were closed as failed (``failed``).

    A row is abandoned when the worker that claimed it (the last of its ``worker_ids``) has not
    beaten for ``GRIDCARE_WORKER_LEASE_SECONDS``, or — a worker that keeps no heartbeat, e.g.
    a bare ``db_worker`` — when it started more than ``GRIDCARE_TASK_MAX_RUNNING_SECONDS`` ago.
    A task listed in ``GRIDCARE_TASKS_RERUN_WHEN_LOST`` (idempotent: sweeps, checks, the outbox
    drain) is queued again, unless it was already claimed ``GRIDCARE_TASK_MAX_CLAIMS`` times (it
    may be what kills the worker); any other is marked failed with the reason, since running it
    twice may do its work twice. Each change is a conditional UPDATE: a row its worker finished
    meanwhile is left alone."""
    from django_tasks_db.models import DBTaskResult

    from .models import WorkerHeartbeat

    now = clock.now()
    lease = dt.timedelta(seconds=settings.GRIDCARE_WORKER_LEASE_SECONDS)
    max_running = dt.timedelta(seconds=settings.GRIDCARE_TASK_MAX_RUNNING_SECONDS)
    rerun = set(settings.GRIDCARE_TASKS_RERUN_WHEN_LOST)
    released = {"requeued": 0, "failed": 0}
    running = list(DBTaskResult.objects.running().only("id", "task_path", "worker_ids", "started_at"))
    if not running:
        return released
    last_worker = {row.pk: (row.worker_ids or [""])[-1] for row in running}
    seen = dict(
        WorkerHeartbeat.objects.filter(worker_id__in=set(last_worker.values())).values_list(
            "worker_id", "seen_at"
        )
    )
    for row in running:
        worker_id = last_worker[row.pk]
        if worker_id in seen:
            if seen[worker_id] >= now - lease:
                continue  # its worker is alive: still running
            why = f"工作进程 {worker_id} 已停止心跳（最近 {seen[worker_id]:%Y-%m-%d %H:%M:%S}），任务被中断"
        elif row.started_at is not None and row.started_at < now - max_running:
            why = f"工作进程 {worker_id or '?'} 无心跳，任务运行超过 {max_running.total_seconds():.0f} 秒，视为中断"
        else:
            continue
        still_running = DBTaskResult.objects.filter(pk=row.pk, status="RUNNING")
        if row.task_path in rerun and len(row.worker_ids) < settings.GRIDCARE_TASK_MAX_CLAIMS:
            if still_running.update(status="READY", started_at=None):
                released["requeued"] += 1
                log.warning("task %s (%s) requeued: %s", row.pk, row.task_path, why)
            continue
        if row.task_path in rerun:
            why += f"；已被领取 {len(row.worker_ids)} 次，不再重试"
        else:
            why += "；该任务重复执行可能重复生效，不自动重试"
        if still_running.update(
            status="FAILED",
            finished_at=now,
            return_value=None,
            exception_class_path=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}",
            traceback=f"{WorkerLost.__module__}.{WorkerLost.__qualname__}: {why}\n",
        ):
            released["failed"] += 1
            log.error("task %s (%s) failed: %s", row.pk, row.task_path, why)
    return released


def start_scheduler(
    stop: threading.Event, tick: float = 5.0, *, worker_id: str | None = None, enqueue: bool = True
) -> threading.Thread:
    """Start the worker's helper thread: every ``tick`` seconds its heartbeat (when ``worker_id``
    is given), the periodic tasks (``enqueue``) and, every ``GRIDCARE_WORKER_LEASE_SECONDS``/4,
    the release of task rows abandoned by dead workers."""
    started_at = clock.now()

    def loop() -> None:
        last_run: dict[str, float] = {}
        last_release = float("-inf")
        while not stop.is_set():
            try:
                if worker_id is not None:
                    beat(worker_id, started_at)
                now = time.monotonic()
                if now - last_release >= settings.GRIDCARE_WORKER_LEASE_SECONDS / 4:
                    last_release = now
                    release_abandoned_tasks()
                if enqueue:
                    enqueue_due(last_run, now)
            except Exception:  # keep the scheduler alive; the next tick retries
                log.exception("periodic scheduler tick failed")
            finally:
                close_old_connections()
            stop.wait(tick)
        connections.close_all()  # this thread's own connections

    thread = threading.Thread(target=loop, name="gridcare-periodic", daemon=True)
    thread.start()
    return thread
