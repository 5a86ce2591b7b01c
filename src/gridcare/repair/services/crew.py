"""What the crew reports on an event — arrival, progress, ETA, a request for support, power
restored (which replies every linked order) — and a crew's duty.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import Q

from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.org import scoping
from gridcare.repair import outage_link
from gridcare.repair.dispatching import (
    candidate_crews,
    perform_on_order,
    release_crews,
    set_crew_status,
    sync_orders,
    system_actor,
    target_unit,
)
from gridcare.repair.models import Crew, CrewAssignment, FaultEvent, RepairSetting, SupportRequest
from gridcare.workorders import services as engine
from gridcare.workorders.models import OPEN_STATES, State, WorkOrder

from .common import DISPATCH_ROLES, _lock, _note, _open, _tell_dispatchers, _user, log


def crew_of(actor: Any, event: FaultEvent) -> Crew | None:
    """The actor's crew among those working on the event."""
    return (
        Crew.objects.filter(
            Q(members=actor) | Q(leader=actor),
            assignments__event=event,
            assignments__released_at__isnull=True,
        )
        .distinct()
        .first()
    )


def _require_crew_or_dispatcher(actor: Any, event: FaultEvent) -> Crew | None:
    crew = crew_of(actor, event)
    if crew is None and not scoping.has_role(actor, *DISPATCH_ROLES):
        raise ApiError("not_your_job", "该事件未派给您的队伍 (not your crew's job).", status=403)
    return crew


@transaction.atomic
def report_arrival(*, event: FaultEvent, actor: Any, note: str = "") -> FaultEvent:
    """到达现场: time recorded; the linked orders are taken and marked on site."""
    event = _lock(event)
    _open(event)
    crew = _require_crew_or_dispatcher(actor, event)
    now = clock.now()
    if crew is not None:
        CrewAssignment.objects.filter(
            event=event, crew=crew, released_at__isnull=True, arrived_at__isnull=True
        ).update(arrived_at=now)
        set_crew_status(crew, now)
    if event.state in (FaultEvent.State.DISPATCHED, FaultEvent.State.WAITING, FaultEvent.State.SELF_CHECK):
        event.state = FaultEvent.State.ON_SITE
        event.arrived_at = event.arrived_at or now
        event.updated_at = now
        event.save(update_fields=["state", "arrived_at", "updated_at"])
    _note(event, "arrive", actor, note, crew=crew.code if crew else None)
    sync_orders(event, actor, note=note or "抢修人员到达现场")
    return event


@transaction.atomic
def report_progress(
    *, event: FaultEvent, actor: Any, situation: str, cause: str = "", note: str = ""
) -> FaultEvent:
    """现场进展: situation and cause, also written to the primary order's history."""
    event = _lock(event)
    _open(event)
    _require_crew_or_dispatcher(actor, event)
    if not situation.strip():
        raise ApiError("situation_required", "请填写现场情况 (situation required).", status=422)
    event.situation = situation.strip()
    if cause.strip():
        event.cause = cause.strip()[:200]
    event.updated_at = clock.now()
    event.save(update_fields=["situation", "cause", "updated_at"])
    _note(event, "progress", actor, situation.strip(), cause=cause.strip())
    if event.primary_order_id:
        order = WorkOrder.objects.get(pk=event.primary_order_id)
        if order.state in (State.IN_PROGRESS, State.ON_SITE):
            perform_on_order(order, "handle", actor, system_actor(), note=f"现场进展：{situation.strip()}")
    return event


@transaction.atomic
def report_eta(
    *, event: FaultEvent, actor: Any, estimated_restore_at: dt.datetime, note: str = ""
) -> FaultEvent:
    """预计恢复送电时间: later callers hear it."""
    event = _lock(event)
    _open(event)
    _require_crew_or_dispatcher(actor, event)
    event.estimated_restore_at = estimated_restore_at
    event.updated_at = clock.now()
    event.save(update_fields=["estimated_restore_at", "updated_at"])
    _note(event, "eta", actor, note, eta=clock.local(estimated_restore_at).isoformat())
    outage_link.set_eta(event)
    return event


@transaction.atomic
def request_support(*, event: FaultEvent, actor: Any, kind: str, note: str) -> SupportRequest:
    """申请支援: reinforcement from neighbouring stations, materials, or an emergency generator."""
    event = _lock(event)
    _open(event)
    _require_crew_or_dispatcher(actor, event)
    if kind not in SupportRequest.Kind.values:
        raise ApiError("invalid_kind", "支援类别应为 crew / materials / generator.", status=422)
    if not note.strip():
        raise ApiError("note_required", "请说明需要的支援 (a note is required).", status=422)
    request = SupportRequest.objects.create(
        event=event, kind=kind, note=note.strip(), requested_by=_user(actor), requested_at=clock.now()
    )
    _note(event, "support_request", actor, note.strip(), kind=kind)
    _tell_dispatchers(
        event,
        f"【支援申请】{event.number} {request.get_kind_display()}",
        note.strip(),
        dedup=f"repair:{event.number}:support:{request.pk}",
    )
    return request


def report_restored(*, event: FaultEvent, actor: Any, result: str, cause: str = "") -> FaultEvent:
    """恢复送电: the event closes, crews are released, every linked order is replied with the
    result (and reviewed when the setting says so), which puts it in the callback queue; the
    affected customers are told that power is back."""
    if not result.strip():
        raise ApiError("result_required", "请填写处理结果 (result required).", status=422)
    with transaction.atomic():
        event = _lock(event)
        _open(event)
        _require_crew_or_dispatcher(actor, event)
        now = clock.now()
        event.state = FaultEvent.State.RESTORED
        event.restored_at = now
        event.result = result.strip()
        if cause.strip():
            event.cause = cause.strip()[:200]
        event.arrived_at = event.arrived_at or now
        event.updated_at = now
        event.save(update_fields=["state", "restored_at", "result", "cause", "arrived_at", "updated_at"])
        release_crews(event, now)
        _note(event, "restore", actor, result.strip(), cause=event.cause)
        # The public outage is restored (and its customers' notices queued) with the event, or not
        # at all; the orders follow after, one transaction each.
        outage_link.restore_outages(event, event.result)
    closed = close_linked_orders(event, actor)
    log.info("event %s restored, %d orders replied", event.number, closed)
    return event


def close_linked_orders(event: FaultEvent, actor: Any) -> int:
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
def set_crew_duty(*, crew: Crew, actor: Any, on_duty: bool) -> Crew:
    """上岗 / 休息."""
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
    else:
        if CrewAssignment.objects.filter(crew=crew, released_at__isnull=True).exists():
            raise ApiError("crew_busy", "队伍仍有未完成的抢修任务 (the crew has open jobs).", status=409)
        Crew.objects.filter(pk=crew.pk).update(status=Crew.Status.OFF, status_since=now)
        crew.status = Crew.Status.OFF
    return crew


def best_crews(event: FaultEvent, neighbours: bool = False) -> list[Crew]:
    return candidate_crews(event, neighbours=neighbours)
