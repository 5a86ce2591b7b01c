"""Background delivery through Django's Tasks API (run by ``gridcare worker``).

One task drains every due message, not just the ones that scheduled it, so a lost task only
delays messages until the next one runs (or ``gridcare deliver-messages``). After a run the task
schedules what comes next: a continuation at once when it ran out of time, or a single wake-up
(``run_after``) when the earliest retry or held message becomes due.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.db import transaction
from django_tasks import task

from gridcare.core import clock

from . import delivery
from .models import DeliveryWakeup

logger = logging.getLogger("gridcare.notify.outbox")


@task()
def deliver_pending_messages() -> dict[str, int | bool]:
    stats = delivery.deliver_pending(time_budget=settings.GRIDCARE_NOTIFY_TASK_SECONDS)
    if stats.out_of_time:
        deliver_pending_messages.enqueue()
    else:
        at = delivery.next_due_at()
        if at is not None:
            wake_at(max(at, clock.now() + dt.timedelta(seconds=1)))
    return stats.as_dict()


def start_delivery() -> None:
    """Schedule a delivery run now (registered with ``on_commit`` by the enqueue verbs)."""
    deliver_pending_messages.enqueue()


def wake_at(at: dt.datetime) -> None:
    """Make sure a delivery run is scheduled no later than ``at``, without piling up one wake-up
    per failing batch: an already scheduled wake-up between now and ``at`` is enough."""
    with transaction.atomic():
        wakeup = DeliveryWakeup.objects.select_for_update().filter(pk=1).first()
        if wakeup is None:
            wakeup = DeliveryWakeup.objects.create(pk=1)
        scheduled = wakeup.run_after
        if scheduled is not None and clock.now() <= scheduled <= at:
            return
        wakeup.run_after = at
        wakeup.save(update_fields=["run_after"])
        transaction.on_commit(lambda: deliver_pending_messages.using(run_after=at).enqueue(), robust=True)
