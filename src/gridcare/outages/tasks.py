"""Background work of outage information (run by ``gridcare worker``).

A big outage's notices are queued here rather than in the publishing request: the verb queues the
key customers' notices in its own transaction and schedules this task on commit for everyone else
(see ``notices.queue_or_defer``). The task is idempotent — dedup keys and the per-customer
``*_queued_at`` marks — so running it twice, or after a lost run, queues each message once.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django_tasks import task

from . import notices
from .models import Outage

logger = logging.getLogger("gridcare.outages")


@task()
def queue_outage_notices(outage_id: int, purpose: str) -> int:
    with transaction.atomic():
        outage = Outage.objects.select_for_update().filter(pk=outage_id).first()
        if outage is None or not notices.purpose_still_due(outage, purpose):
            return 0
        queued = notices.queue_notices(outage, purpose)
    logger.info("outage %s: queued %s %s messages", outage.number, queued, purpose)
    return queued
