"""Running deadlines of orders: start, meet, pause/resume, and the three warning levels.

Warnings are found two ways: each deadline schedules a task at its next warning time (Tasks
API ``run_after``), and ``sweep.raise_due_warnings`` (``gridcare check-deadlines``) sweeps every
deadline whose next warning time has passed. Both lock the order first (as actions do), and
both move a deadline's level with a conditional UPDATE (``WHERE warning_level = <as read>``), so
a warning is never raised twice: the task one deadline at a time (``_raise``), the sweep in
bulk. A deadline found with several levels due (an order already overdue when first checked)
moves straight to the highest: the levels passed over are written to the history as skipped,
and only the highest is notified — once per order, level and person.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.db import transaction
from django.db.models import Q

from gridcare.core import clock

from . import policies
from .checks import schedule_checks_with_commit
from .escalation import (
    notify_warning,
    warning_event,
)
from .models import (
    Deadline,
    DurationUnit,
    Milestone,
    OrderAction,
    WorkOrder,
    WorkOrderEvent,
)

log = logging.getLogger(__name__)

# Which action meets which milestone.
MET_BY: dict[str, set[Milestone]] = {  # by action (an OrderAction is its str value)
    OrderAction.DISPATCH: {Milestone.DISPATCH},
    OrderAction.ARRIVE: {Milestone.ARRIVE, Milestone.DISPATCH},
    OrderAction.CONTACT: {Milestone.CONTACT},
    OrderAction.REPLY: {
        Milestone.REPLY,
        Milestone.RESTORE,
        Milestone.CONTACT,
        Milestone.ARRIVE,
        Milestone.DISPATCH,
    },
}


def _next_warning(deadline: Deadline) -> dt.datetime | None:
    times = policies.warning_times(deadline.policy, deadline.started_at, deadline.due_at)
    return times[deadline.warning_level] if deadline.warning_level < 3 else None


def start(order: WorkOrder, starts_on: str, at: dt.datetime) -> list[Deadline]:
    created = policies.new_deadlines(order, starts_on, at)
    Deadline.objects.bulk_create(created)
    # One bulk write of the warning checks in this transaction, rather than one enqueue per deadline.
    later = [(d.pk, d.next_warning_at) for d in created if d.pk is not None and d.next_warning_at is not None]
    if later:
        schedule_checks_with_commit(later)
    return created


def restart(order: WorkOrder, starts_on: str, at: dt.datetime) -> list[Deadline]:
    """Start the limits counted from ``starts_on`` again (a milestone reached once more — a new
    callback round after a reopened order is reviewed again): the earlier deadlines of those
    milestones give way to new ones (a pending check of a removed deadline finds nothing)."""
    milestones = {p.milestone for p in policies.applicable_policies(order, starts_on)}
    if milestones:
        Deadline.objects.filter(order=order, milestone__in=milestones).delete()
    return start(order, starts_on, at)


def schedule(deadline: Deadline) -> None:
    """Ask the worker to look at this deadline when its next warning falls due."""
    if deadline.next_warning_at is not None and deadline.pk is not None:
        schedule_checks_with_commit([(deadline.pk, deadline.next_warning_at)])


def recompute_for_calendar(*, years: Iterable[int], **_signal: object) -> int:
    """Holidays of ``years`` were entered or changed (``core.calendar.calendar_changed``): every
    running deadline counted in working days or hours that is provisional or whose span touches
    those years is counted again, and its next warning rescheduled. Returns how many moved."""
    years = set(years)
    if not years:
        return 0
    # A deadline counts working time over every year its span touches: one that started in a
    # changed year (or before it) and ends in it (or after it), or one still counted provisionally.
    touched = Q(provisional=True) | Q(started_at__year__lte=max(years), due_at__year__gte=min(years))
    running = Deadline.objects.filter(
        touched,
        met_at__isnull=True,
        policy__unit__in=(DurationUnit.WORKING_DAYS, DurationUnit.WORKING_HOURS),
    ).select_related("policy")
    moved = 0
    with transaction.atomic():
        # Orders first, in id order, as actions, check_one and the sweep lock them: whoever changes
        # a running deadline holds its order, so nobody waits in a circle.
        orders = running.values("order_id")
        list(
            WorkOrder.objects.filter(pk__in=orders).order_by("pk").select_for_update(no_key=True).values("pk")
        )
        for deadline in running.select_for_update(of=("self",)):
            due = policies.due_at(deadline.policy, deadline.started_at)
            if due.at == deadline.due_at and due.provisional == deadline.provisional:
                continue
            deadline.due_at, deadline.provisional = due.at, due.provisional
            deadline.next_warning_at = _next_warning(deadline)
            deadline.save(update_fields=["due_at", "provisional", "next_warning_at"])
            schedule(deadline)
            moved += 1
    return moved


def meet(order: WorkOrder, action: str, at: dt.datetime) -> None:
    milestones = MET_BY.get(action)
    if milestones:
        meet_milestones(order, milestones, at)


def meet_milestones(order: WorkOrder, milestones: Iterable[str], at: dt.datetime) -> None:
    Deadline.objects.filter(order=order, milestone__in=list(milestones), met_at__isnull=True).update(
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
    """Push paused deadlines (and their warning times) forward by the time spent suspended,
    measured in each policy's own unit (``policies.after_suspension``): a working-day limit
    suspended over a weekend or a holiday loses only the working days it was suspended."""
    for deadline in Deadline.objects.filter(
        order=order, met_at__isnull=True, paused_at__isnull=False
    ).select_related("policy"):
        assert deadline.paused_at is not None  # filtered above
        started, due = policies.after_suspension(deadline.policy, deadline.started_at, deadline.paused_at, at)
        deadline.started_at, deadline.due_at, deadline.provisional = started, due.at, due.provisional
        deadline.paused_at = None
        deadline.next_warning_at = _next_warning(deadline)
        deadline.save(update_fields=["started_at", "due_at", "provisional", "paused_at", "next_warning_at"])
        schedule(deadline)


def _raise(deadline: Deadline, now: dt.datetime) -> int:
    """Raise ``deadline`` to the highest warning level that is due; returns how many levels it
    moved. Lower levels passed over on the way (an order already overdue when first checked)
    are recorded in the history as skipped; only the highest one is notified."""
    times = policies.warning_times(deadline.policy, deadline.started_at, deadline.due_at)
    old_level = level = deadline.warning_level
    while level < 3 and times[level] <= now:
        level += 1
    if level == old_level:
        return 0
    following = times[level] if level < 3 else None
    won = Deadline.objects.filter(
        pk=deadline.pk, warning_level=old_level, met_at__isnull=True, paused_at__isnull=True
    ).update(warning_level=level, next_warning_at=following)
    if not won:
        return 0  # someone else raised it, or it was met meanwhile
    deadline.warning_level, deadline.next_warning_at = level, following
    WorkOrder.objects.filter(pk=deadline.order_id, warning_level__lt=level).update(warning_level=level)
    label = deadline.get_milestone_display()
    WorkOrderEvent.objects.bulk_create(
        [
            WorkOrderEvent(
                order_id=deadline.order_id,
                action="warning",
                at=now,
                from_state="",
                to_state="",
                **dict(
                    zip(
                        ("note", "data"),
                        warning_event(
                            deadline.milestone, label, raised, deadline.due_at, skipped=raised < level
                        ),
                        strict=True,
                    )
                ),
            )
            for raised in range(old_level + 1, level + 1)
        ]
    )
    notify_warning(deadline, level)
    if following is not None:
        schedule(deadline)
    return level - old_level


def check_one(deadline_id: int, now: dt.datetime | None = None) -> int:
    now = now or clock.now()
    with transaction.atomic():
        running = Deadline.objects.filter(pk=deadline_id, met_at__isnull=True, paused_at__isnull=True)
        order_id = running.values_list("order_id", flat=True).first()
        if order_id is None:
            return 0
        # Lock the order before touching its deadline, as actions and the sweep do: a task that
        # held the deadline while waiting for the order would deadlock with an action that holds
        # the order and meets the deadline.
        WorkOrder.objects.select_for_update(no_key=True).filter(pk=order_id).values_list("pk").first()
        deadline = (
            Deadline.objects.select_related("policy", "order")
            .filter(pk=deadline_id, met_at__isnull=True, paused_at__isnull=True)
            .first()
        )
        if deadline is None:
            return 0
        return _raise(deadline, now)
