"""Running deadlines of orders: start, meet, pause/resume, and the three warning levels.

Warnings are found two ways: each deadline schedules a task at its next warning time (Tasks
API ``run_after``), and ``raise_due_warnings`` (``gridcare check-deadlines``) sweeps every
deadline whose next warning time has passed. Both go through ``_raise`` which moves a deadline
from level L-1 to L with a conditional UPDATE, so a warning is never raised twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.db import transaction
from django.db.models import F

from gridcare.core import clock

from . import policies
from .models import Deadline, Milestone, WorkOrder, WorkOrderEvent

log = logging.getLogger(__name__)

# Which action meets which milestone.
MET_BY = {
    "dispatch": {Milestone.DISPATCH},
    "arrive": {Milestone.ARRIVE, Milestone.DISPATCH},
    "contact": {Milestone.CONTACT},
    "reply": {Milestone.REPLY, Milestone.RESTORE, Milestone.CONTACT, Milestone.ARRIVE, Milestone.DISPATCH},
}


def _next_warning(deadline: Deadline) -> dt.datetime | None:
    times = policies.warning_times(deadline.policy, deadline.started_at, deadline.due_at)
    return times[deadline.warning_level] if deadline.warning_level < 3 else None


def start(order: WorkOrder, starts_on: str, at: dt.datetime) -> list[Deadline]:
    created = []
    for policy in policies.applicable_policies(order, starts_on):
        due = policies.due_at(policy, at)
        deadline = Deadline(
            order=order,
            milestone=policy.milestone,
            policy=policy,
            started_at=at,
            due_at=due.at,
            provisional=due.provisional,
        )
        deadline.next_warning_at = _next_warning(deadline)
        created.append(deadline)
    Deadline.objects.bulk_create(created)
    for deadline in created:
        schedule(deadline)
    return created


def schedule(deadline: Deadline) -> None:
    """Ask the worker to look at this deadline when its next warning falls due."""
    if deadline.next_warning_at is None or deadline.pk is None:
        return
    from .tasks import check_deadline

    when = deadline.next_warning_at
    pk = deadline.pk
    transaction.on_commit(lambda: check_deadline.using(run_after=when).enqueue(pk))


def meet(order: WorkOrder, action: str, at: dt.datetime) -> None:
    milestones = MET_BY.get(action)
    if milestones:
        Deadline.objects.filter(order=order, milestone__in=milestones, met_at__isnull=True).update(
            met_at=at, paused_at=None, next_warning_at=None
        )


def close_all(order: WorkOrder, at: dt.datetime) -> None:
    Deadline.objects.filter(order=order, met_at__isnull=True).update(
        met_at=at, paused_at=None, next_warning_at=None
    )


def pause(order: WorkOrder, at: dt.datetime) -> int:
    """Suspension stops the clock only where the policy allows it."""
    return Deadline.objects.filter(
        order=order, met_at__isnull=True, paused_at__isnull=True, policy__pauses_when_suspended=True
    ).update(paused_at=at)


def resume(order: WorkOrder, at: dt.datetime) -> None:
    """Push paused deadlines (and their warning times) forward by the time spent suspended."""
    for deadline in Deadline.objects.filter(
        order=order, met_at__isnull=True, paused_at__isnull=False
    ).select_related("policy"):
        pause = at - deadline.paused_at
        deadline.started_at += pause
        deadline.due_at += pause
        deadline.paused_at = None
        deadline.next_warning_at = _next_warning(deadline)
        deadline.save(update_fields=["started_at", "due_at", "paused_at", "next_warning_at"])
        schedule(deadline)


def _raise(deadline: Deadline, now: dt.datetime) -> int:
    """Raise every warning level of ``deadline`` that is due; returns how many were raised."""
    from .escalation import notify_warning

    raised = 0
    times = policies.warning_times(deadline.policy, deadline.started_at, deadline.due_at)
    while deadline.warning_level < 3 and times[deadline.warning_level] <= now:
        level = deadline.warning_level + 1
        following = times[level] if level < 3 else None
        won = Deadline.objects.filter(
            pk=deadline.pk, warning_level=level - 1, met_at__isnull=True, paused_at__isnull=True
        ).update(warning_level=level, next_warning_at=following)
        if not won:
            break  # someone else raised it, or it was met meanwhile
        deadline.warning_level = level
        WorkOrder.objects.filter(pk=deadline.order_id, warning_level__lt=level).update(warning_level=level)
        WorkOrderEvent.objects.create(
            order_id=deadline.order_id,
            action="warning",
            at=now,
            from_state="",
            to_state="",
            note=f"{deadline.get_milestone_display()}时限{'已超期' if level == 3 else '预警'}（{level}级）",
            data={"milestone": deadline.milestone, "level": level, "due_at": deadline.due_at.isoformat()},
        )
        notify_warning(deadline, level)
        raised += 1
    if raised and deadline.warning_level < 3:
        deadline.next_warning_at = times[deadline.warning_level]
        schedule(deadline)
    return raised


def check_one(deadline_id: int, now: dt.datetime | None = None) -> int:
    now = now or clock.now()
    with transaction.atomic():
        deadline = (
            Deadline.objects.select_related("policy", "order")
            .filter(pk=deadline_id, met_at__isnull=True, paused_at__isnull=True)
            .first()
        )
        if deadline is None:
            return 0
        return _raise(deadline, now)


def due_deadline_ids(now: dt.datetime, limit: int | None = None) -> Iterable[int]:
    qs = Deadline.objects.filter(
        met_at__isnull=True, paused_at__isnull=True, next_warning_at__isnull=False, next_warning_at__lte=now
    ).order_by("next_warning_at")
    ids = qs.values_list("id", flat=True)
    return ids[:limit] if limit else ids


def raise_due_warnings(now: dt.datetime | None = None, batch_size: int = 2000) -> int:
    """The reconciliation sweep: raise every due warning once. Returns how many were raised."""
    now = now or clock.now()
    total = 0
    ids = list(due_deadline_ids(now))
    for start_at in range(0, len(ids), batch_size):
        chunk = ids[start_at : start_at + batch_size]
        with transaction.atomic():
            for deadline in Deadline.objects.select_related("policy", "order").filter(
                pk__in=chunk, met_at__isnull=True, paused_at__isnull=True
            ):
                total += _raise(deadline, now)
    return total


def bump_order_warning(order: WorkOrder) -> None:
    WorkOrder.objects.filter(pk=order.pk, warning_level__lt=3).update(warning_level=F("warning_level") + 1)
