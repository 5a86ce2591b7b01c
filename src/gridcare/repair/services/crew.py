"""What the crew reports on an event — arrival, progress, ETA, a request for support, power
restored (which replies every linked order) — and a crew's duty.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils.translation import gettext

from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.org import scoping
from gridcare.org.types import Actor
from gridcare.repair.crew_queue import serve_queue_on_commit
from gridcare.repair.dispatching import (
    candidate_crews,
    perform_on_order,
    set_crew_status,
    system_actor,
    target_unit,
)
from gridcare.repair.models import Crew, CrewAssignment, FaultEvent, RepairSetting, SupportRequest
from gridcare.repair.rules import DISPATCH_ROLES, result_given
from gridcare.repair.transitions import EVENTS, check_first
from gridcare.repair.transitions import FaultEventAction as A
from gridcare.workorders import services as engine
from gridcare.workorders.models import OPEN_STATES, State, WorkOrder

from .common import _lock, _note, _tell_dispatchers, _user, log


@transaction.atomic
def report_arrival(*, event: FaultEvent, actor: Actor, note: str = "") -> FaultEvent:
    """到达现场: time recorded; the linked orders are taken and marked on site."""
    event = _lock(event)
    step = EVENTS.run(A.ARRIVE, event, actor, note=note, now=clock.now())
    if step.target != step.before:
        event.state, event.updated_at = step.target, step.now
        event.save(update_fields=["state", "arrived_at", "updated_at"])
    crew = step.found["crew"]
    _note(event, step.transition.history_action, actor, note, crew=crew.code if crew else None)
    EVENTS.follow_up(step)
    return event


@transaction.atomic
def report_progress(
    *, event: FaultEvent, actor: Actor, situation: str, cause: str = "", note: str = ""
) -> FaultEvent:
    """现场进展: situation and cause, also written to the primary order's history."""
    event = _lock(event)
    payload = {"situation": situation, "cause": cause}
    step = EVENTS.run(A.PROGRESS, event, actor, note=note, payload=payload, now=clock.now())
    event.updated_at = step.now
    event.save(update_fields=["situation", "cause", "updated_at"])
    _note(event, step.transition.history_action, actor, situation.strip(), cause=cause.strip())
    if event.primary_order_id:
        order = WorkOrder.objects.get(pk=event.primary_order_id)
        if order.state in (State.IN_PROGRESS, State.ON_SITE):
            perform_on_order(order, "handle", actor, system_actor(), note=f"现场进展：{situation.strip()}")
    return event


@transaction.atomic
def report_eta(
    *, event: FaultEvent, actor: Actor, estimated_restore_at: dt.datetime, note: str = ""
) -> FaultEvent:
    """预计恢复送电时间: later callers hear it."""
    event = _lock(event)
    payload = {"estimated_restore_at": estimated_restore_at}
    step = EVENTS.run(A.ETA, event, actor, note=note, payload=payload, now=clock.now())
    event.updated_at = step.now
    event.save(update_fields=["estimated_restore_at", "updated_at"])
    eta = clock.local(estimated_restore_at).isoformat()
    _note(event, step.transition.history_action, actor, note, eta=eta)
    EVENTS.follow_up(step)
    return event


@transaction.atomic
def request_support(*, event: FaultEvent, actor: Actor, kind: str, note: str) -> SupportRequest:
    """申请支援: reinforcement from neighbouring stations, materials, or an emergency generator."""
    event = _lock(event)
    step = EVENTS.run(A.SUPPORT, event, actor, note=note, payload={"kind": kind}, now=clock.now())
    request = SupportRequest.objects.create(
        event=event, kind=kind, note=note.strip(), requested_by=_user(actor), requested_at=step.now
    )
    _note(event, step.transition.history_action, actor, note.strip(), kind=kind)
    _tell_dispatchers(
        event,
        f"【支援申请】{event.number} {request.get_kind_display()}",
        note.strip(),
        dedup=f"repair:{event.number}:support:{request.pk}",
    )
    return request


def report_restored(*, event: FaultEvent, actor: Actor, result: str, cause: str = "") -> FaultEvent:
    """恢复送电: the event closes, crews are released, every linked order is replied with the
    result (and reviewed when the setting says so), which puts it in the callback queue; the
    affected customers are told that power is back."""
    payload = {"result": result, "cause": cause}
    check_first(A.RESTORE, event, actor, result_given, payload=payload)
    with transaction.atomic():
        event = _lock(event)
        step = EVENTS.run(A.RESTORE, event, actor, payload=payload, now=clock.now())
        event.state, event.updated_at = step.target, step.now
        event.save(update_fields=["state", "restored_at", "result", "cause", "arrived_at", "updated_at"])
        _note(event, step.transition.history_action, actor, result.strip(), cause=event.cause)
        # The crews are released and the public outage is restored (its customers' notices
        # queued) with the event, or not at all; the orders follow after, one transaction each.
        EVENTS.follow_up(step)
    closed = close_linked_orders(event, actor)
    log.info("event %s restored, %d orders replied", event.number, closed)
    return event


def close_linked_orders(event: FaultEvent, actor: Actor) -> int:
    """回单 every open order of the event with the result (one transaction per order, so a large
    event is not one giant transaction), then 审核 so each waits in the callback queue."""
    system = system_actor()
    setting = RepairSetting.current()
    reply = f"{event.result}（抢修事件 {event.number}，{event.device_label}，恢复送电时间 {event.restored_at.astimezone(clock.LOCAL_TZ):%Y-%m-%d %H:%M}）"
    unit = target_unit(event)
    closed = 0
    for order in WorkOrder.objects.filter(trouble_call__event=event, state__in=OPEN_STATES).order_by(
        "created_at"
    ):
        try:
            with transaction.atomic():
                # Each step returns the order as it left it: no re-reading between steps.
                if order.state == State.SUSPENDED:
                    order = perform_on_order(order, "resume", actor, system)
                if order.state == State.ACCEPTED:
                    order = perform_on_order(order, "dispatch", actor, system, unit=unit)
                if order.state == State.DISPATCHED:
                    order = perform_on_order(order, "take", actor, system)
                if order.state in (State.IN_PROGRESS, State.ON_SITE):
                    order = perform_on_order(order, "reply", actor, system, reply=reply)
                    closed += 1
                if setting.auto_review_on_restore and order.state == State.REPLIED:
                    engine.perform(
                        order=order,
                        action="review",
                        actor=system,
                        note="抢修事件恢复送电，统一审核",
                        approve=True,
                    )
        except ApiError as exc:
            log.warning("order %s of event %s not closed: %s", order.number, event.number, exc.message)
    return closed


@transaction.atomic
def set_crew_duty(*, crew: Crew, actor: Actor, on_duty: bool) -> Crew:
    """上岗 / 休息. A crew back on duty is handed to the queue's first event it may serve."""
    if not (
        scoping.has_role(actor, *DISPATCH_ROLES)
        or crew.members.filter(pk=getattr(actor, "pk", None)).exists()
    ):
        raise ApiError("forbidden_role", "无权修改该队伍的值班状态.", status=403)
    now = clock.now()
    if on_duty:
        crew.status = Crew.Status.ON_DUTY
        crew.save(update_fields=["status"])
        set_crew_status(crew, now)
        serve_queue_on_commit()  # back on duty: the next event waiting gets it
    else:
        if CrewAssignment.objects.filter(crew=crew, released_at__isnull=True).exists():
            raise ApiError("crew_busy", gettext("队伍仍有未完成的抢修任务"), status=409)
        Crew.objects.filter(pk=crew.pk).update(status=Crew.Status.OFF, status_since=now)
        crew.status = Crew.Status.OFF
    return crew


def best_crews(event: FaultEvent, neighbours: bool = False) -> list[Crew]:
    return candidate_crews(event, neighbours=neighbours)
