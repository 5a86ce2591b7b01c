"""Background work of the quality app (Django Tasks API)."""

from __future__ import annotations

from django_tasks import task

from .bulletins import issue_due


@task()
def issue_supervision_bulletins() -> int:
    """督办通报: issue each unit's bulletin of the latest slot that has come (idempotent)."""
    return issue_due()
