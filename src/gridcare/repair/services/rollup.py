"""研判 run: the queued calls, then the roll-up of calls into events, then the crew queue (free
crews to the waiting events by priority, new ones included) and the 12-hour watch of each new event.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext

from gridcare.core import clock, scheduling
from gridcare.repair import analysis, open_events, outage_link
from gridcare.repair.crew_queue import dispatch_queue
from gridcare.repair.dispatching import dispatch_event, sync_orders
from gridcare.repair.models import AnalysisWakeup, DeviceLevel, FaultEvent, RepairSetting
from gridcare.repair.wakeups import forget_wakeups, wake_analysis
from gridcare.workorders.models import State, WorkOrder

from .call_queue import process_queued_calls

# How long one analysis run processes queued calls before it rolls up (then it goes on).
PROCESS_SECONDS = 2.0
# The task that warns of an outage still open after ``outage_warning_hours``.
CHECK_LONG_OUTAGE = "gridcare.repair.tasks.check_long_outage"


def run_analysis(
    now: dt.datetime | None = None, *, process_seconds: float | None = PROCESS_SECONDS
) -> analysis.RollupReport:
    """研判: process the queued calls (for ``process_seconds`` at most; None: all of them), roll
    calls up into events, then hand the free crews to the waiting events by priority (the crew
    queue, new events included; ``crew_queue.dispatch_queue``) and bring every linked order to its
    event's unit. Calls left in the queue wake another run."""
    AnalysisWakeup.objects.update(run_after=None)
    forget_wakeups()  # this run is the one that was due: a call from here on wakes the next
    queue = process_queued_calls(seconds=process_seconds)
    now = now or clock.now()
    report = analysis.roll_up(now)
    report.processed, report.failed, report.queue_left = queue.processed, queue.failed, queue.left
    setting = RepairSetting.current()
    # The queue: every free crew to the highest-priority event waiting for one, the new events
    # among them (repair.crew_queue); reinforcement from the neighbours for those that waited.
    dispatch_queue(now)
    for event in FaultEvent.objects.filter(
        pk__in=report.created, state__in=FaultEvent.OPEN_STATES
    ).select_related("station", "crew__team_unit"):
        with transaction.atomic():
            # An event the queue sent a crew to has its orders with that crew. Without one, the
            # orders go to the station's repair team (the 5-minute dispatch limit is met) and
            # the event waits in the queue (or for a dispatcher).
            if event.crew_id is None and event.level != DeviceLevel.CUSTOMER:
                if setting.auto_dispatch or event.hazard:
                    note = gettext("本所暂无空闲队伍，工单派至抢修班，事件排队待派工")
                    dispatch_event(event=event, crew=None, note=note, now=now)
                else:
                    sync_orders(event, None, note=gettext("工单派至抢修班，待调度员派工"))
            elif event.crew_id is None:
                sync_orders(event, None, note="单户报修，派至抢修班引导自查")
            if event.level != DeviceLevel.CUSTOMER:
                outage_link.sync_fault_outage(event)
                _schedule_outage_watch(event)
    # Events the analysis moved to another device (promoted to the feeder, demoted to an area):
    # their orders go where the event now is, and the public outage follows the device (customers
    # told of the first guess get one correction, those newly inside it the notice).
    for event in FaultEvent.objects.filter(
        pk__in=report.moved, state__in=FaultEvent.OPEN_STATES
    ).select_related("station", "crew__team_unit"):
        with transaction.atomic():
            sync_orders(event, None, note=f"事件 {event.number} 改判为{event.device_label}故障")
            outage_link.sync_fault_outage(event)
    # Orders linked by the roll-up to existing events follow them.
    stale = (
        FaultEvent.objects.filter(state__in=FaultEvent.OPEN_STATES, calls__order__state=State.ACCEPTED)
        .select_related("station", "crew__team_unit")
        .distinct()
    )
    for event in stale:
        with transaction.atomic():
            sync_orders(
                event,
                None,
                note=f"关联抢修事件 {event.number}",
                orders=WorkOrder.objects.filter(state=State.ACCEPTED),
            )
    open_events.forget()
    if queue.left:
        wake_analysis()
    return report


def _schedule_outage_watch(event: FaultEvent) -> None:
    setting = RepairSetting.current()
    when = event.created_at + dt.timedelta(hours=float(setting.outage_warning_hours))
    scheduling.schedule(CHECK_LONG_OUTAGE, event.pk, at=when)
