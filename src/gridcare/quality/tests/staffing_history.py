"""What the staffing tests share: the planners of the fixture world and a hand-built call history."""

from __future__ import annotations

import datetime as dt
import itertools

from gridcare.core import clock
from gridcare.hotline.models import Call
from gridcare.org.models import Role
from gridcare.org.services import create_staff

_ids = itertools.count(1)


def add_planners(world):
    """A county manager (sees both stations of 城关县), a shift leader at 城西 (sees 城西 only)."""
    world.manager = create_staff(
        username="county_manager",
        password=world.password,
        full_name="罗经理",
        roles=[(Role.MANAGER, world.county)],
    )
    world.leader_west = create_staff(
        username="leader_west",
        password=world.password,
        full_name="陈值班",
        roles=[(Role.SHIFT_LEADER, world.west)],
    )
    return world


def calls(
    unit, day: dt.date, hh: int, mm: int, count: int = 1, *, talk: int | None = None, wrap: int | None = None
):
    """``count`` calls arriving at ``hh:mm`` local on ``day`` at ``unit``, queued first. With
    ``talk`` each rings, is answered 5 s after arriving and talks ``talk`` seconds (then is wrapped
    up ``wrap`` seconds after hanging up, when given); without, the caller abandons in the queue
    after 30 s (it never rang)."""
    arrived = dt.datetime.combine(day, dt.time(hh, mm), tzinfo=clock.LOCAL_TZ)
    rows = []
    for _ in range(count):
        call = Call(
            call_id=f"staffing-{next(_ids)}", caller_number="13800000000", unit=unit, queued_at=arrived
        )
        if talk is not None:
            call.ringing_at = arrived + dt.timedelta(seconds=2)
            call.answered_at = arrived + dt.timedelta(seconds=5)
            call.ended_at = call.answered_at + dt.timedelta(seconds=talk)
            call.outcome = Call.Outcome.ANSWERED
            if wrap is not None:
                call.wrapped_up_at = call.ended_at + dt.timedelta(seconds=wrap)
        else:
            call.abandoned_at = call.ended_at = arrived + dt.timedelta(seconds=30)
            call.outcome = Call.Outcome.ABANDONED
        call.derive_figures(short_abandon_seconds=5)  # arrival, day, state and figures, as the events do
        rows.append(call)
    Call.objects.bulk_create(rows)
