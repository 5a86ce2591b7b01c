"""The node-deadline sweep (``gridcare.applications.tasks.sweep_node_deadlines``, run by the worker
every ``GRIDCARE_APPLICATION_SWEEP_SECONDS``): every running node clock whose next warning time
has passed moves to its highest due level — once, by a conditional UPDATE — with one history row
per level passed (the lower ones marked skipped) and one notice to the owner unit of the highest.

Applications are locked in id order before their nodes, as every action locks them. Deadlines
are swept by their indexed next warning time (never as far-future queued jobs).
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from gridcare.core import clock

from . import clocks, notices
from .models import Application, ApplicationEvent, ApplicationNode

BATCH = 500


def _raise(node: ApplicationNode, now: dt.datetime) -> int:
    times = clocks.warning_times(node)
    old_level = level = node.warning_level
    while level < 3 and times[level] <= now:
        level += 1
    if level == old_level:
        return 0
    following = times[level] if level < 3 else None
    won = ApplicationNode.objects.filter(
        pk=node.pk, warning_level=old_level, finished_at__isnull=True, paused_at__isnull=True
    ).update(warning_level=level, next_warning_at=following)
    if not won:
        return 0
    label = node.get_kind_display()
    ApplicationEvent.objects.bulk_create(
        ApplicationEvent(
            application_id=node.application_id,
            node=node.kind,
            action="warning",
            at=now,
            note=f"{label}时限{'已超期' if raised == 3 else '预警'}（{raised}级）"
            + ("，已由更高级别预警取代，未单独通知" if raised < level else ""),
            data={"level": raised, "due_at": clock.local(node.due_at), "skipped": raised < level},
        )
        for raised in range(old_level + 1, level + 1)
    )
    node.warning_level = level
    notices.warning(node.application, node, level)
    return level - old_level


def raise_due_warnings(now: dt.datetime | None = None) -> int:
    """Raise every due node warning; returns how many levels moved."""
    now = now or clock.now()
    moved = 0
    while True:
        with transaction.atomic():
            due = ApplicationNode.objects.filter(
                next_warning_at__lte=now, finished_at__isnull=True, paused_at__isnull=True
            )
            ids = list(due.order_by("application_id").values_list("application_id", flat=True)[:BATCH])
            if not ids:
                return moved
            list(Application.objects.filter(pk__in=ids).order_by("pk").select_for_update().values_list("pk"))
            batch_moved = 0
            for node in due.filter(application_id__in=ids).select_related(
                "definition", "owner_unit", "application", "application__customer__account_manager"
            ):
                batch_moved += _raise(node, now)
            moved += batch_moved
            if len(ids) < BATCH or not batch_moved:
                return moved
