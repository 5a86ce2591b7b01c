"""Node clocks in working days of the official calendar (``core.calendar``): start, pause for a
customer-caused wait, resume with the due date moved by the working days lost, the three warning
levels, and a recount when a year's holidays change.

A clock is counted from ``counted_from`` (its start, moved forward by every wait) to
``due_at`` = ``counted_from`` + the node's limit in working days, so a recount after a calendar
change gives the same answer a wait gave. The warning levels are the work-order engine's: three
fractions of the span (50 % / 80 % / 100 % = overdue by default), the third being overdue.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.db.models import Q, Sum

from gridcare.core import calendar

from .models import DEFAULT_WARNING_FRACTIONS, Application, ApplicationNode, ApplicationState


def fractions_of(configured: list[Any] | tuple[Any, ...] | None) -> tuple[float, ...]:
    """A node definition's warning fractions (the defaults when fewer than three are set)."""
    values = tuple(float(v) for v in (configured or DEFAULT_WARNING_FRACTIONS))
    return values[:3] if len(values) >= 3 else DEFAULT_WARNING_FRACTIONS


def warning_fractions(node: ApplicationNode) -> tuple[float, ...]:
    return fractions_of(node.definition.warning_fractions)


def times_between(
    counted_from: dt.datetime, due_at: dt.datetime, fractions: tuple[float, ...]
) -> list[dt.datetime]:
    """When each of the three warning levels falls due (level 3 = overdue)."""
    span = due_at - counted_from
    return [counted_from + span * fraction for fraction in fractions]


def warning_times(node: ApplicationNode) -> list[dt.datetime]:
    """When each of the three warning levels of ``node`` falls due (level 3 = overdue)."""
    assert node.counted_from is not None and node.due_at is not None
    return times_between(node.counted_from, node.due_at, warning_fractions(node))


def next_warning(node: ApplicationNode) -> dt.datetime | None:
    if node.due_at is None or node.warning_level >= 3:
        return None
    return warning_times(node)[node.warning_level]


def _count(node: ApplicationNode) -> None:
    """``due_at`` (and ``provisional``, ``next_warning_at``) from ``counted_from`` and the limit."""
    if node.limit_days is None or node.counted_from is None:
        node.due_at, node.provisional, node.next_warning_at = None, False, None
        return
    due = calendar.add_working_days(node.counted_from, node.limit_days)
    node.due_at, node.provisional = due.at, due.provisional
    node.next_warning_at = next_warning(node)


def start(node: ApplicationNode, at: dt.datetime) -> None:
    """Start the node's clock at ``at`` (in memory; the caller saves)."""
    node.started_at = node.counted_from = at
    node.warning_level = 0
    _count(node)


def pause(node: ApplicationNode, at: dt.datetime) -> None:
    node.paused_at = at
    node.next_warning_at = None


def resume(node: ApplicationNode, at: dt.datetime) -> int:
    """End a wait: the clock's start (and so its due date) moves forward by the working days that
    began while it waited — a Friday lost moves a Friday due date to Monday; a wait over National
    Day moves it by the working days of the wait only. Returns those working days."""
    assert node.paused_at is not None
    days = calendar.working_days_between(node.paused_at, at)
    node.paused_at = None
    node.paused_days += days
    if node.counted_from is not None and days:
        node.counted_from = calendar.add_working_days(node.counted_from, days).at
    _count(node)
    return days


def moved_total(application: Application, days: int) -> None:
    """The promised whole-process date moves with a customer-caused wait too (the promise is the
    utility's share of the time)."""
    if days and application.total_due_at is not None:
        due = calendar.add_working_days(application.total_due_at, days)
        application.total_due_at = due.at
        application.total_provisional = application.total_provisional or due.provisional


def recompute_for_calendar(*, years: Iterable[int], **_signal: object) -> int:
    """Holidays of ``years`` were entered or changed: every running node clock that is provisional
    or whose span touches those years is counted again, and so is the promised whole-process date
    of the applications in progress (its limit plus the working days their customers made them
    wait). Returns how many node clocks moved."""
    years = set(years)
    if not years:
        return 0
    touched = Q(provisional=True) | Q(counted_from__year__lte=max(years), due_at__year__gte=min(years))
    promises = Application.objects.filter(
        Q(total_provisional=True) | Q(accepted_at__year__lte=max(years), total_due_at__year__gte=min(years)),
        state=ApplicationState.IN_PROGRESS,
        total_days__isnull=False,
    )
    running = ApplicationNode.objects.filter(
        touched, finished_at__isnull=True, due_at__isnull=False
    ).select_related("definition")
    moved = 0
    with transaction.atomic():
        # Applications first, in id order, as every action locks them.
        list(
            Application.objects.filter(
                Q(pk__in=running.values("application_id")) | Q(pk__in=promises.values("pk"))
            )
            .order_by("pk")
            .select_for_update()
            .values("pk")
        )
        for node in running:
            before = (node.due_at, node.provisional)
            _count(node)
            if node.paused_at is not None:
                node.next_warning_at = None
            if (node.due_at, node.provisional) != before:
                node.save(update_fields=["due_at", "provisional", "next_warning_at"])
                moved += 1
        for application in promises.annotate(waited=Sum("nodes__paused_days")):
            assert application.total_days is not None  # filtered above
            due = calendar.add_working_days(
                application.accepted_at, application.total_days + (application.waited or 0)
            )
            if (due.at, due.provisional) != (application.total_due_at, application.total_provisional):
                application.total_due_at, application.total_provisional = due.at, due.provisional
                application.save(update_fields=["total_due_at", "total_provisional"])
    return moved
