"""回访工作单 (the callback work list): the orders waiting for their callback in a viewer's scope,
each with its callback limit, the time left and how urgent it is, most urgent first.

Reads only; the calls themselves are the table's ``callback_call`` action (``services.perform``).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import F, OuterRef, Prefetch, Q, QuerySet, Subquery

from gridcare.core import calendar, clock
from gridcare.org import scoping
from gridcare.org.models import Unit
from gridcare.org.types import Viewer

from . import policies
from .models import CallbackSetting, Deadline, DurationUnit, Milestone, State, WorkOrder
from .queries import visible_orders
from .rules import next_call_allowed_at

# Urgency of a row, by the warning fractions of its limit (the deadline's own 50 % / 80 % / 100 %).
URGENCY_LABELS = ("normal", "attention", "urgent", "overdue")


@dataclass(frozen=True)
class CallbackRow:
    order: WorkOrder
    deadline: Deadline | None  # None: reviewed before callback limits existed, or no policy
    due_at: dt.datetime | None
    seconds_left: int | None  # until the due time (negative: overdue)
    working_seconds_left: int | None  # working time left, for a limit counted in working time
    urgency: int  # 0 normal … 3 overdue (the warning levels the limit has reached by now)
    attempts: int
    max_attempts: int
    next_call_at: dt.datetime | None  # the earliest next call (the minimum interval), if later than now

    @property
    def urgency_label(self) -> str:
        return URGENCY_LABELS[self.urgency]


def waiting(
    user: Viewer, *, active_unit: Any = None, order_type: str = "", unit: int | None = None
) -> QuerySet[WorkOrder]:
    """Orders reviewed and waiting for their callback (已审核待回访, drawn for one) that ``user``
    may see, optionally of one type and accepted or handled in one unit's subtree (a unit outside
    the scope answers nothing); the nearest callback due time first, then priority, then age."""
    qs = visible_orders(user, active_unit).filter(state=State.REVIEWED, callback_required=True)
    if order_type:
        qs = qs.filter(order_type=order_type)
    if unit is not None:
        found = Unit.objects.filter(pk=unit).first()
        if found is None or not scoping.unit_in_scope(user, found, active_unit):
            return qs.none()
        subtree = found.subtree().values("id")
        qs = qs.filter(Q(accepted_unit_id__in=subtree) | Q(assigned_unit_id__in=subtree))
    callback_due = Deadline.objects.filter(order=OuterRef("pk"), milestone=Milestone.CALLBACK).values(
        "due_at"
    )[:1]
    return (
        qs.annotate(callback_due=Subquery(callback_due))
        .select_related("customer", "accepted_unit", "assigned_unit")
        .prefetch_related(
            Prefetch(
                "deadlines",
                queryset=Deadline.objects.filter(milestone=Milestone.CALLBACK).select_related("policy"),
                to_attr="callback_deadlines",
            )
        )
        .order_by(F("callback_due").asc(nulls_last=True), "-priority", "created_at", "id")
    )


def _urgency(deadline: Deadline, now: dt.datetime) -> int:
    if deadline.met_at is not None:
        return 0
    times = policies.warning_times(deadline.policy, deadline.started_at, deadline.due_at)
    return sum(1 for at in times if at <= now)


def working_seconds_left(deadline: Deadline, now: dt.datetime) -> int | None:
    """For a limit counted in working days or hours: the working time (``core.calendar``'s
    working hours of working days) from now to the due time — a weekend or a holiday in between
    does not count. None for a limit counted in elapsed time."""
    if deadline.policy.unit not in (DurationUnit.WORKING_DAYS, DurationUnit.WORKING_HOURS):
        return None
    if now >= deadline.due_at:
        return -int(calendar.working_hours_between(deadline.due_at, now) * 3600)
    return int(calendar.working_hours_between(now, deadline.due_at) * 3600)


def row(order: WorkOrder, setting: CallbackSetting, now: dt.datetime) -> CallbackRow:
    found = getattr(order, "callback_deadlines", None)
    deadline = found[0] if found else order.deadlines.filter(milestone=Milestone.CALLBACK).first()
    allowed = next_call_allowed_at(order, setting)
    return CallbackRow(
        order=order,
        deadline=deadline,
        due_at=deadline.due_at if deadline is not None else None,
        seconds_left=deadline.seconds_left(now) if deadline is not None else None,
        working_seconds_left=working_seconds_left(deadline, now) if deadline is not None else None,
        urgency=_urgency(deadline, now) if deadline is not None else 0,
        attempts=order.callback_attempts,
        max_attempts=setting.max_attempts,
        next_call_at=allowed if allowed is not None and allowed > now else None,
    )


def rows(orders: QuerySet[WorkOrder] | list[WorkOrder], now: dt.datetime | None = None) -> list[CallbackRow]:
    now = now or clock.now()
    setting = CallbackSetting.current()
    return [row(order, setting, now) for order in orders]
