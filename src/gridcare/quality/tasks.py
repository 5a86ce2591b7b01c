"""Background work of the quality app (Django Tasks API)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django_tasks import task

from gridcare.core.clock import local_now

from . import rollups
from .bulletins import issue_due
from .inspection import monday, sample_week


@task()
def issue_supervision_bulletins() -> int:
    """督办通报: issue each unit's bulletin of the latest slot that has come (idempotent)."""
    return issue_due()


@task()
def draw_inspections() -> int:
    """质检抽样: last week's sample (complete) and this week's must-check calls so far."""
    this_week = monday(local_now().date())
    return sample_week(this_week - dt.timedelta(days=7)) + sample_week(this_week, must_only=True)


@task()
def refresh_statistics() -> int:
    """统计汇总: build the roll-up buckets a change made stale (and today's finished hours)."""
    return rollups.refresh(budget_seconds=settings.GRIDCARE_STATISTICS_BUDGET_SECONDS).built
