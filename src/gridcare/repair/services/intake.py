"""Intake of fault calls (故障报修受理): the hotline's synchronous ``report_fault_call`` and what
the caller hears (``answer_for``); a hazard call is made urgent and dispatched at once.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction

from gridcare.core import clock
from gridcare.core.api_errors import stored_idempotency_key
from gridcare.customers.models import Customer, TransformerArea
from gridcare.org.types import Actor
from gridcare.repair import analysis, placement
from gridcare.repair.crew_queue import dispatch_queue
from gridcare.repair.dispatching import (
    dispatch_event,
    sync_order,
    sync_orders,
    system_actor,
    target_unit,
)
from gridcare.repair.models import DeviceLevel, FaultEvent, RepairSetting, TroubleCall
from gridcare.repair.wakeups import wake_analysis
from gridcare.workorders import services as engine
from gridcare.workorders.models import OrderType, State, WorkOrder

from .common import SELF_CHECK_GUIDE, _lock, _note


@dataclass
class CallResult:
    order: WorkOrder
    created: bool  # False: the same idempotency key, or a repeated call urging the open order
    repeated: bool
    event: FaultEvent | None
    answer: str  # what the agent tells the caller


# What a caller reporting a hazard is told first, whatever else is known.
SAFETY_ADVICE = (
    "请您和家人立即远离断落的电线和冒火、放电的地点（至少 10 米），不要触碰或靠近，"
    "不要用手或潮湿物品挪动电线，看护好老人、小孩和牲畜，提醒过往行人绕行。"
)


def answer_for(event: FaultEvent | None, *, hazard: bool = False) -> str:
    """What a later caller hears: we know, crew on the way, ETA. A caller reporting a hazard
    (``hazard``) hears the safety advice first and whether a crew is on its way."""
    if hazard:
        if event is None:
            return SAFETY_ADVICE + "已按紧急抢修受理，抢修指挥人员正在确认位置，将立即安排抢修人员赶赴现场。"
        if event.state == FaultEvent.State.ON_SITE:
            status = "抢修人员已到达现场处理"
        elif event.crew_id:
            status = f"{event.crew.name}正在赶赴现场（事件 {event.number}）"
        else:
            status = f"已按紧急抢修处理，正在调派抢修人员赶赴现场（事件 {event.number}）"
        return f"{SAFETY_ADVICE}{status}。"
    if event is None:
        return "已受理您的报修，正在研判故障范围，抢修人员将尽快与您联系。"
    if event.level == DeviceLevel.CUSTOMER and event.state == FaultEvent.State.SELF_CHECK:
        return "周边未发现停电报修，可能是您家内部故障。" + SELF_CHECK_GUIDE
    if event.level == DeviceLevel.CUSTOMER and event.state == FaultEvent.State.WAITING:
        # The caller's area or feeder is suspect (analysis): never sent to check their own switch.
        return "已受理您的报修。您所在区域可能发生停电，我们正在核实故障范围，抢修人员将尽快处理。"
    parts = [
        f"我们已掌握{event.device_label}故障停电（事件 {event.number}，影响约 {event.affected_count} 户）"
    ]
    if event.state == FaultEvent.State.ON_SITE:
        parts.append("抢修人员已到达现场处理")
    elif event.crew_id:
        parts.append(f"{event.crew.name}正在赶赴现场")
    else:
        parts.append("正在安排抢修队伍")
    if event.estimated_restore_at:
        parts.append(f"预计 {event.estimated_restore_at.astimezone(clock.LOCAL_TZ):%m-%d %H:%M} 恢复送电")
    return "，".join(parts) + "。"


# What the answer to a caller reads of the event (device name, crew) in the same query as the call.
_EVENT_FOR_ANSWER = ("event__crew", "event__transformer_area", "event__feeder", "event__customer")


def report_fault_call(
    *,
    actor: Actor,
    content: str,
    customer: Customer | None = None,
    caller_name: str = "",
    caller_phone: str = "",
    address: str = "",
    channel: str = "hotline",
    idempotency_key: str | None = None,
    received_at: dt.datetime | None = None,
    wake: bool = True,
    hazard: bool = False,
) -> CallResult:
    """故障报修受理: one fault call. A repeated call of a customer with an open fault order urges it
    (重复来电 → 催办); a new order is placed on the topology and linked at once to the open event of
    its device if there is one (and dispatched with it) — else the roll-up decides.

    ``hazard`` (有安全隐患: line down, sparks, risk of shock): the call is urgent whatever the
    call count — it joins the open event of its device or the open hazard event of its place, else
    it gets its own event; that event is marked hazard and dispatched at once (``_make_urgent``),
    and the caller hears the safety advice.

    ``received_at``: when the call came in, if earlier than now (a queued call: the roll-up counts
    it in its time window by that time). ``wake=False``: the caller runs the roll-up next itself."""
    engine.check_intake_role(actor)  # 受理 is for the roles that take requests (issue #14)
    key = stored_idempotency_key(actor, idempotency_key, scope="repair")
    if key:
        existing = WorkOrder.objects.filter(idempotency_key=key).first()
        if existing is not None:
            call = TroubleCall.objects.filter(order=existing).select_related("event").first()
            event = analysis.follow_merges(call.event) if call and call.event_id else None
            hazard = hazard or bool(call and call.hazard)
            return CallResult(existing, False, False, event, answer_for(event, hazard=hazard))
    duplicate = engine.find_open_duplicate(
        customer=customer,
        caller_phone=caller_phone if customer is None else "",
        order_type=OrderType.FAULT_REPAIR,
        user=actor,
    )
    if duplicate is not None and duplicate.state != State.SUSPENDED:
        duplicate = engine.perform(
            order=duplicate, action="urge", actor=actor, note=f"重复来电：{content.strip()[:200]}"
        )
        call = TroubleCall.objects.filter(order=duplicate).select_related(*_EVENT_FOR_ANSWER).first()
        event = analysis.follow_merges(call.event) if call and call.event_id else None
        if hazard:  # the customer calls again, now reporting a hazard: the open order becomes urgent
            with transaction.atomic():
                event = _escalate_call(duplicate, call, received_at)
        return CallResult(duplicate, False, True, event, answer_for(event, hazard=hazard))
    intake = engine.Intake(
        order_type=OrderType.FAULT_REPAIR,
        channel=channel,
        content=content,
        customer=customer,
        caller_name=caller_name,
        caller_phone=caller_phone,
        address=address,
    )
    order, created = engine.create_work_order(actor=actor, intake=intake, idempotency_key=key)
    call = (
        None
        if created
        else TroubleCall.objects.filter(order=order).select_related(*_EVENT_FOR_ANSWER).first()
    )
    # Placing the call, linking it, dispatching the order with its event and counting the event's
    # calls: one transaction. The event row is updated last, so concurrent calls about one outage
    # queue on it only for the commit.
    with transaction.atomic():
        if call is None:
            # One INSERT, already linked to the open event of its device when there is one; a
            # roll-up that placed the order meanwhile wins (ON CONFLICT DO NOTHING).
            call = placement.build_trouble_call(order, hazard=hazard)
            if received_at is not None:
                call.received_at = received_at
            event = _hazard_event(call) if hazard else analysis.open_event_for(call)
            if event is not None:
                call.event, call.linked_at = event, clock.now()
            TroubleCall.objects.bulk_create([call], ignore_conflicts=True)
            call = TroubleCall.objects.select_related(*_EVENT_FOR_ANSWER).get(order=order)
        event = call.event
        if event is not None and call.hazard:
            event = _make_urgent(event)
            order.refresh_from_db()
        if event is not None:
            note = (
                "单户报修，派至抢修班引导自查"
                if event.state == FaultEvent.State.SELF_CHECK
                else f"关联抢修事件 {event.number}"
            )
            order, _done = sync_order(
                event, order, unit=target_unit(event), actor=None, system=system_actor(), note=note
            )
            analysis.refresh_call_counts(event)
        elif wake:
            wake_analysis()
    return CallResult(order, created, False, event, answer_for(event, hazard=hazard or call.hazard))


def _hazard_event(call: TroubleCall) -> FaultEvent | None:
    """The open event a hazard call joins — its device's (an ordinary outage event of its
    transformer or feeder stays the one event, now marked urgent) or an open hazard event of the
    same place — else a new hazard event at the most precise place known (the customer, else the
    transformer area, else the feeder). None for a call that could not be placed. Hazard calls are
    serialized on the setting row (as the roll-up is), so two calls about one place make one event."""
    RepairSetting.objects.select_for_update().order_by("id").first()
    event = analysis.open_event_for(call)
    if event is not None or call.station_id is None:
        return event
    if call.transformer_area_id is None and call.feeder_id is None:
        return None
    area = (
        TransformerArea.objects.only("area_class").get(pk=call.transformer_area_id)
        if call.transformer_area_id
        else None
    )
    if call.customer_id:
        level = DeviceLevel.CUSTOMER
    else:
        level = DeviceLevel.AREA if area is not None else DeviceLevel.FEEDER
    return analysis.new_event(
        level=level,
        station_id=call.station_id,
        area_id=call.transformer_area_id,
        feeder_id=call.feeder_id,
        customer_id=call.customer_id,
        area_class=area.area_class if area is not None else "",
        now=clock.now(),
        note="来电报告安全隐患（断线、冒火、触电风险），紧急事件，立即派工",
        hazard=True,
    )


def _make_urgent(event: FaultEvent) -> FaultEvent:
    """Mark ``event`` as a hazard and, when no crew is on it yet, dispatch it now through the crew
    queue, where it stands first (the best free crew of the owning station, else an idle crew of a
    neighbouring station; with none free the orders go to the station's repair team and the event
    waits, red and urgent on the board, at the head of the queue). A customer-side event waiting
    for self-check is no longer left to the customer."""
    now = clock.now()
    event = _lock(analysis.follow_merges(event))
    if not event.hazard:
        event.hazard = True
        FaultEvent.objects.filter(pk=event.pk).update(hazard=True, updated_at=now)
        _note(event, "hazard", None, "来电报告安全隐患，事件转为紧急抢修")
    if event.crew_id is None and event.is_open:
        if event.state == FaultEvent.State.SELF_CHECK:
            event.state = FaultEvent.State.WAITING
            FaultEvent.objects.filter(pk=event.pk).update(state=event.state)
        # At the head of the queue: the best free crew of its station, else a neighbour's at once.
        if not dispatch_queue(now, events=[event]):
            dispatch_event(
                event=event,
                crew=None,
                actor=None,
                note="安全隐患：本所暂无可用队伍，工单派至抢修班待派工",
                now=now,
            )
    return FaultEvent.objects.select_related(*(f.split("__", 1)[1] for f in _EVENT_FOR_ANSWER)).get(
        pk=event.pk
    )


def _escalate_call(order: WorkOrder, call: TroubleCall | None, received_at=None) -> FaultEvent | None:
    """A repeated call reporting a hazard on an open fault order: its trouble call is marked and
    its event (or a new hazard event) made urgent and dispatched."""
    if call is None:
        call = placement.build_trouble_call(order, hazard=True)
        if received_at is not None:
            call.received_at = received_at
        TroubleCall.objects.bulk_create([call], ignore_conflicts=True)
        call = TroubleCall.objects.get(order=order)
    TroubleCall.objects.filter(pk=call.pk).update(hazard=True)
    call.hazard = True
    event = analysis.follow_merges(call.event) if call.event_id else None
    if event is None or not event.is_open:
        event = _hazard_event(call)
    if event is None:
        return None
    if call.event_id != event.pk:
        TroubleCall.objects.filter(pk=call.pk).update(event=event, linked_at=clock.now())
    event = _make_urgent(event)
    sync_orders(
        event,
        None,
        note=f"安全隐患，随事件 {event.number} 派工",
        orders=WorkOrder.objects.filter(pk=order.pk),
    )
    analysis.refresh_call_counts(event)
    return event
