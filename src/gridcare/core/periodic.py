"""Periodic work for the worker: reconciliation sweeps that must run even if no task asked.

Each entry of ``settings.GRIDCARE_PERIODIC_TASKS`` is ``(dotted path of a django_tasks task,
interval in seconds)``. ``gridcare worker`` starts a small scheduler thread that enqueues each
task at its interval. The tasks are idempotent sweeps, so several workers enqueuing the same
sweep only repeat harmless work.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import close_old_connections
from django.utils.module_loading import import_string

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


def start_scheduler(stop: threading.Event, tick: float = 5.0) -> threading.Thread:
    def loop() -> None:
        last_run: dict[str, float] = {}
        while not stop.is_set():
            try:
                enqueue_due(last_run, time.monotonic())
            except Exception:  # keep the scheduler alive; the next tick retries
                log.exception("periodic scheduler tick failed")
            finally:
                close_old_connections()
            stop.wait(tick)

    thread = threading.Thread(target=loop, name="gridcare-periodic", daemon=True)
    thread.start()
    return thread
