"""The dispatcher's decisions on an event: confirm, reassign the device, split, merge, cancel,
dispatch a crew, send reinforcement, answer a crew's support request.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction

from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.customers.models import Feeder, TransformerArea
from gridcare.org import scoping
from gridcare.repair import analysis, outage_link
from gridcare.repair.dispatching import (
    _tell_crew,
    dispatch_event,
    release_crews,
    set_crew_status,
    sync_orders,
)
from gridcare.repair.models import Crew, CrewAssignment, DeviceLevel, FaultEvent, SupportRequest, TroubleCall

from .common import _lock, _note, _open, _require_dispatcher, _user
from .crew import close_linked_orders
from .intake import _make_urgent


@transaction.atomic
def confirm_event(*, event: FaultEvent, actor: Any, note: str = "") -> FaultEvent:
    """确认研判: the dispatcher agrees with the suspect device; the roll-up will not move it."""
    _require_dispatcher(actor)
    event = _lock(event)
    _open(event)
    now = clock.now()
    event.confirmed_by = _user(actor)
    event.confirmed_at = now
    event.confidence = Decimal("1.00")
    if event.state == FaultEvent.State.SELF_CHECK and event.level != DeviceLevel.CUSTOMER:
        event.state = FaultEvent.State.WAITING
    event.updated_at = now
    event.save(update_fields=["confirmed_by", "confirmed_at", "confidence", "state", "updated_at"])
    _note(event, "confirm", actor, note)
    return event


@transaction.atomic
def reassign_device(
    *,
    event: FaultEvent,
    actor: Any,
    level: str,
    area: TransformerArea | None = None,
    feeder: Feeder | None = None,
    note: str = "",
) -> FaultEvent:
    """改判: put the event on another device (a transformer area or a feeder). Confirms it."""
    _require_dispatcher(actor)
    event = _lock(event)
    _open(event)
    now = clock.now()
    old = {"level": event.level, "device": event.device_label}
    if level == DeviceLevel.AREA:
        if area is None:
            raise ApiError("area_required", "请指定台区 (transformer area required).", status=422)
        event.level, event.transformer_area, event.feeder = level, area, area.feeder
        event.station_id, event.area_class, event.customer = area.station_id, area.area_class, None
    elif level == DeviceLevel.FEEDER:
        if feeder is None:
            raise ApiError("feeder_required", "请指定线路 (feeder required).", status=422)
        sample = TransformerArea.objects.filter(feeder=feeder).first()
        event.level, event.feeder, event.transformer_area, event.customer = level, feeder, None, None
        event.station_id = analysis._feeder_station(feeder.pk, sample)
        event.area_class = sample.area_class if sample else event.area_class
    else:
        raise ApiError("invalid_level", "只能改判为台区或线路 (area or feeder).", status=422)
    if event.state == FaultEvent.State.SELF_CHECK:
        event.state = FaultEvent.State.WAITING
    event.confirmed_by, event.confirmed_at = _user(actor), now
    event.updated_at = now
    event.save()
    _note(event, "reassign", actor, note, old=old, new={"level": event.level, "device": event.device_label})
    analysis.refresh_event(event, now)
    # Other open events on the new device join this one.
    others = FaultEvent.objects.filter(state__in=FaultEvent.OPEN_STATES, confirmed_at__isnull=True).exclude(
        pk=event.pk
    )
    if event.level == DeviceLevel.FEEDER:
        others = others.filter(feeder_id=event.feeder_id)
    else:
        others = others.filter(transformer_area_id=event.transformer_area_id)
    for other in others:
        analysis.absorb(source=other, target=event, now=now, actor=actor, note="随改判并入")
    analysis.refresh_event(event, now)
    sync_orders(event, actor, note=f"事件 {event.number} 改判")
    outage_link.sync_fault_outage(event)
    return event


@transaction.atomic
def split_event(*, event: FaultEvent, actor: Any, order_numbers: list[str], note: str = "") -> FaultEvent:
    """拆分: move some calls to a new event, placed on their own customer's area (confirmed)."""
    _require_dispatcher(actor)
    event = _lock(event)
    _open(event)
    calls = list(TroubleCall.objects.filter(event=event, order__number__in=order_numbers))
    if not calls or len(calls) >= TroubleCall.objects.filter(event=event).count():
        raise ApiError(
            "invalid_split",
            "请选择部分来电拆分（不能为空，也不能是全部）(choose some of the calls).",
            status=422,
        )
    now = clock.now()
    first = calls[0]
    area = first.transformer_area or event.transformer_area
    station_id = area.station_id if area else event.station_id
    level = DeviceLevel.AREA if area else event.level
    new = analysis.new_event(
        level=level,
        station_id=station_id,
        area_id=area.pk if area else None,
        feeder_id=area.feeder_id if area else event.feeder_id,
        area_class=area.area_class if area else event.area_class,
        now=now,
        note=f"由事件 {event.number} 拆分",
        hazard=any(c.hazard for c in calls),
    )
    new.confirmed_by, new.confirmed_at = _user(actor), now
    new.save(update_fields=["confirmed_by", "confirmed_at"])
    TroubleCall.objects.filter(pk__in=[c.pk for c in calls]).update(event=new, linked_at=now)
    _note(event, "split", actor, note, into=new.number, orders=order_numbers)
    if event.primary_order_id in {c.order_id for c in calls}:
        event.primary_order = None
        event.save(update_fields=["primary_order"])
    analysis.refresh_event(event, now)
    analysis.refresh_event(new, now)
    outage_link.sync_fault_outage(new)
    if new.hazard:  # a hazard split off is dispatched at once, as at intake
        new = _make_urgent(new)
    return new


@transaction.atomic
def merge_events(*, source: FaultEvent, target: FaultEvent, actor: Any, note: str = "") -> FaultEvent:
    """合并: the source event's calls and crews join the target."""
    _require_dispatcher(actor)
    if source.pk == target.pk:
        raise ApiError("invalid_merge", "不能与自身合并 (same event).", status=422)
    # Both rows locked in id order, so two opposite merges cannot wait on each other.
    if source.pk < target.pk:
        source, target = _lock(source), _lock(target)
    else:
        target, source = _lock(target), _lock(source)
    _open(source)
    _open(target)
    now = clock.now()
    analysis.absorb(source=source, target=target, now=now, actor=actor, note=note)
    analysis.refresh_event(target, now)
    sync_orders(target, actor, note=f"事件 {source.number} 并入 {target.number}")
    outage_link.sync_fault_outage(target)
    return target


@transaction.atomic
def dispatch_to_crew(
    *, event: FaultEvent, crew: Crew, actor: Any, note: str = "", replace: bool = False
) -> FaultEvent:
    """派工 by hand (also for a customer-side fault the customer could not fix). ``replace``: the
    crew takes over from the current primary crew, which is released."""
    _require_dispatcher(actor)
    event = _lock(event)
    _open(event)
    if not crew.is_active or crew.status == Crew.Status.OFF:
        raise ApiError("crew_unavailable", f"{crew.name}不在岗 (the crew is off duty).", status=409)
    scoping.require_unit_in_scope(
        actor,
        crew.station_id,
        error=ApiError("crew_out_of_scope", "该队伍不在您的管辖范围内 (crew out of scope).", status=422),
    )
    if replace and event.crew_id and event.crew_id != crew.pk:
        now = clock.now()
        old = event.crew
        CrewAssignment.objects.filter(event=event, crew=old, released_at__isnull=True).update(released_at=now)
        set_crew_status(old, now)
        event.crew = None
    return dispatch_event(event=event, crew=crew, actor=actor, note=note or "调度员派工")


@transaction.atomic
def send_reinforcement(*, event: FaultEvent, crew: Crew, actor: Any, note: str = "") -> FaultEvent:
    """支援: a crew of a neighbouring station joins the event."""
    _require_dispatcher(actor)
    event = _lock(event)
    _open(event)
    if event.crew_id is None:
        return dispatch_event(event=event, crew=crew, actor=actor, note=note or "邻所支援派工")
    now = clock.now()
    CrewAssignment.objects.get_or_create(
        event=event,
        crew=crew,
        released_at=None,
        defaults={"role": CrewAssignment.Role.REINFORCEMENT, "assigned_at": now, "assigned_by": _user(actor)},
    )
    set_crew_status(crew, now)
    _note(event, "reinforce", actor, note, crew=crew.code, station=crew.station.name)
    SupportRequest.objects.filter(
        event=event, kind=SupportRequest.Kind.CREW, state=SupportRequest.State.OPEN
    ).update(
        state=SupportRequest.State.GRANTED,
        handled_by=_user(actor),
        handled_at=now,
        answer=f"已派{crew.name}支援",
    )
    _tell_crew(event, crew)
    return event


@transaction.atomic
def answer_support_request(
    *, request: SupportRequest, actor: Any, granted: bool, answer: str = ""
) -> SupportRequest:
    _require_dispatcher(actor)
    if request.state != SupportRequest.State.OPEN:
        raise ApiError("already_answered", "该申请已处理 (already answered).", status=409)
    request.state = SupportRequest.State.GRANTED if granted else SupportRequest.State.DECLINED
    request.handled_by, request.handled_at, request.answer = _user(actor), clock.now(), answer
    request.save()
    _note(request.event, "support_answer", actor, answer, kind=request.kind, granted=granted)
    return request


@transaction.atomic
def cancel_event(*, event: FaultEvent, actor: Any, note: str) -> FaultEvent:
    """撤销: e.g. the customer fixed it by self-check. Its open orders are replied with the note."""
    _require_dispatcher(actor)
    if not note.strip():
        raise ApiError("note_required", "请填写撤销原因 (a note is required).", status=422)
    event = _lock(event)
    _open(event)
    now = clock.now()
    event.state, event.result, event.updated_at = FaultEvent.State.CANCELLED, note.strip(), now
    event.restored_at = now
    event.save(update_fields=["state", "result", "restored_at", "updated_at"])
    release_crews(event, now)
    _note(event, "cancel", actor, note.strip())
    transaction.on_commit(lambda: close_linked_orders(event, actor))
    outage_link.restore_outages(event, f"事件撤销：{note.strip()}")
    return event
