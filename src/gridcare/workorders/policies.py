"""Time-limit policies: choosing the one that applies, and turning it into a deadline."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from gridcare.core import calendar
from gridcare.core.memo import Memo

from .models import DEFAULT_WARNING_FRACTIONS, Deadline, DurationUnit, TimeLimitPolicy, WorkOrder

# Policies are read on every intake and change rarely (an admin's edit): keep the active ones per
# process for a short while. ``forget_policies`` drops them at once (admin saves, tests).
_policies: Memo[list[TimeLimitPolicy]] = Memo(60.0)


def forget_policies() -> None:
    _policies.forget()


def _active_policies() -> list[TimeLimitPolicy]:
    return _policies.get("active", lambda: list(TimeLimitPolicy.objects.filter(is_active=True)))


def applicable_policies(order: WorkOrder, starts_on: str) -> list[TimeLimitPolicy]:
    """The most specific active policy per milestone for this order."""
    best: dict[str, TimeLimitPolicy] = {}
    candidates = [
        p for p in _active_policies() if p.order_type == order.order_type and p.starts_on == starts_on
    ]
    for policy in candidates:
        if policy.area_class and policy.area_class != order.area_class:
            continue
        if policy.customer_class and policy.customer_class != order.customer_class:
            continue
        if policy.channel and policy.channel != order.channel:
            continue
        current = best.get(policy.milestone)
        if current is None or policy.specificity > current.specificity:
            best[policy.milestone] = policy
    return list(best.values())


def due_at(policy: TimeLimitPolicy, start: dt.datetime) -> calendar.Deadline:
    amount = Decimal(policy.amount)
    if policy.unit == DurationUnit.MINUTES:
        return calendar.Deadline(start + dt.timedelta(minutes=float(amount)))
    if policy.unit == DurationUnit.HOURS:
        return calendar.Deadline(start + dt.timedelta(hours=float(amount)))
    if policy.unit == DurationUnit.DAYS:
        return calendar.Deadline(start + dt.timedelta(days=float(amount)))
    if policy.unit == DurationUnit.WORKING_HOURS:
        return calendar.add_working_hours(start, float(amount))
    return calendar.add_working_days(start, int(amount))


def after_suspension(
    policy: TimeLimitPolicy, started_at: dt.datetime, paused_at: dt.datetime, resumed_at: dt.datetime
) -> tuple[dt.datetime, calendar.Deadline]:
    """A suspended deadline's start and due time once it resumes: the start moves forward by the
    time spent suspended, measured in the policy's own unit — working days (days lost between
    suspending and resuming, weekends and holidays not counted) or working hours for working-time
    limits, elapsed time for the others — and the due time is counted again from there, as
    ``due_at`` counts it (so a calendar change recomputes the same deadline)."""
    if policy.unit == DurationUnit.WORKING_DAYS:
        days = calendar.working_days_between(paused_at, resumed_at)
        started = calendar.add_working_days(started_at, days).at if days else started_at
    elif policy.unit == DurationUnit.WORKING_HOURS:
        hours = calendar.working_hours_between(paused_at, resumed_at)
        started = calendar.add_working_hours(started_at, hours).at if hours else started_at
    else:
        started = started_at + (resumed_at - paused_at)
    return started, due_at(policy, started)


def warning_fractions(policy: TimeLimitPolicy) -> tuple[float, ...]:
    values = tuple(float(v) for v in (policy.warning_fractions or DEFAULT_WARNING_FRACTIONS))
    return values[:3] if len(values) >= 3 else DEFAULT_WARNING_FRACTIONS


def warning_times(policy: TimeLimitPolicy, started_at: dt.datetime, due: dt.datetime) -> list[dt.datetime]:
    """When each of the three warning levels falls due (level 3 = overdue)."""
    span = due - started_at
    return [started_at + span * fraction for fraction in warning_fractions(policy)]


def new_deadlines(order: WorkOrder, starts_on: str, at: dt.datetime) -> list[Deadline]:
    """The deadlines (unsaved) that start for ``order`` at ``at`` with the event ``starts_on``:
    one per milestone of the applicable policies, each with its first warning time."""
    created = []
    for policy in applicable_policies(order, starts_on):
        due = due_at(policy, at)
        deadline = Deadline(
            order=order,
            milestone=policy.milestone,
            policy=policy,
            started_at=at,
            due_at=due.at,
            provisional=due.provisional,
        )
        deadline.next_warning_at = warning_times(policy, at, due.at)[0]
        created.append(deadline)
    return created
