"""The rules of the repair-event table (``transitions.py``): guards, effects and follow-ups, one
small function each, named for its rule, each taking the ``Step`` the workflow runner is carrying
out. Guards raise ``ApiError`` with the codes the API has always answered; effects change the
event in memory (the verb saves it and writes its history row); follow-ups run after that, inside
the verb's transaction.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext

from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.core.workflow import Step
from gridcare.customers.models import TransformerArea
from gridcare.org import scoping
from gridcare.org.models import Role
from gridcare.org.types import Actor

from . import analysis, outage_link
from .crew_queue import serve_queue_on_commit
from .dispatching import is_staffed, release_crews, set_crew_status, sync_orders
from .models import Crew, CrewAssignment, DeviceLevel, FaultEvent, SupportRequest, TroubleCall

DISPATCH_ROLES = (Role.DISPATCHER, Role.SHIFT_LEADER, Role.MANAGER, Role.ADMIN)

EventStep = Step[FaultEvent]


def user_of(actor: Actor) -> Any:
    """The user to record (None for the system, which has no row)."""
    return actor if getattr(actor, "pk", None) else None


def dispatchers_only() -> ApiError:
    return ApiError("forbidden_role", gettext("只有抢修指挥人员可以执行此操作"), status=403)


def event_closed(event: FaultEvent) -> ApiError:
    return ApiError(
        "event_closed",
        gettext("事件已%(state)s，不能再操作") % {"state": event.get_state_display()},
        status=409,
    )


def crew_of(actor: Actor, event: FaultEvent) -> Crew | None:
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


# --- guards -------------------------------------------------------------------------------------


def crew_of_the_event(step: EventStep) -> None:
    """A crew working on the event reports on it; a dispatcher may report for it."""
    crew = crew_of(step.actor, step.obj)
    if crew is None and not scoping.has_role(step.actor, *DISPATCH_ROLES):
        raise ApiError("not_your_job", gettext("该事件未派给您的队伍"), status=403)
    step.found["crew"] = crew


def device_given(step: EventStep) -> None:
    level = step.payload.get("level")
    if level == DeviceLevel.AREA:
        if step.payload.get("area") is None:
            raise ApiError("area_required", gettext("请指定台区"), status=422)
    elif level == DeviceLevel.FEEDER:
        if step.payload.get("feeder") is None:
            raise ApiError("feeder_required", gettext("请指定线路"), status=422)
    else:
        raise ApiError("invalid_level", gettext("只能改判为台区或线路"), status=422)


def some_of_the_calls(step: EventStep) -> None:
    """A split takes some of the event's calls: not none, not all."""
    event = step.obj
    calls = list(TroubleCall.objects.filter(event=event, order__number__in=step.payload.get("orders") or []))
    if not calls or len(calls) >= TroubleCall.objects.filter(event=event).count():
        raise ApiError(
            "invalid_split",
            gettext("请选择部分来电拆分（不能为空，也不能是全部）"),
            status=422,
        )
    step.found["calls"] = calls


def not_the_same_event(step: EventStep) -> None:
    if step.obj.pk == step.payload["into"].pk:
        raise ApiError("invalid_merge", gettext("不能与自身合并"), status=422)


def merge_target_open(step: EventStep) -> None:
    target: FaultEvent = step.payload["into"]
    if not target.is_open:
        raise event_closed(target)


def crew_on_duty(step: EventStep) -> None:
    crew: Crew = step.payload["crew"]
    if not crew.is_active or crew.status == Crew.Status.OFF:
        raise ApiError("crew_unavailable", gettext("%(crew)s不在岗") % {"crew": crew.name}, status=409)


def crew_has_people(step: EventStep) -> None:
    """A crew with no members and no leader has nobody to send: it is never dispatched."""
    crew: Crew = step.payload["crew"]
    if not is_staffed(crew):
        raise ApiError(
            "crew_no_members",
            gettext("%(crew)s没有队员和负责人，不能派工，请先在队伍中添加队员") % {"crew": crew.name},
            status=409,
        )


def crew_in_scope(step: EventStep) -> None:
    scoping.require_unit_in_scope(
        step.actor,
        step.payload["crew"].station_id,
        error=ApiError("crew_out_of_scope", gettext("该队伍不在您的管辖范围内"), status=422),
    )


def situation_given(step: EventStep) -> None:
    if not str(step.payload.get("situation") or "").strip():
        raise ApiError("situation_required", gettext("请填写现场情况"), status=422)


def support_kind_known(step: EventStep) -> None:
    if step.payload.get("kind") not in SupportRequest.Kind.values:
        raise ApiError("invalid_kind", "支援类别应为 crew / materials / generator.", status=422)


def support_described(step: EventStep) -> None:
    if not step.note.strip():
        raise ApiError("note_required", gettext("请说明需要的支援"), status=422)


def result_given(step: EventStep) -> None:
    if not str(step.payload.get("result") or "").strip():
        raise ApiError("result_required", gettext("请填写处理结果"), status=422)


def cancel_reason_given(step: EventStep) -> None:
    if not step.note.strip():
        raise ApiError("note_required", gettext("请填写撤销原因"), status=422)


# --- effects ------------------------------------------------------------------------------------


def confirm_device(step: EventStep) -> None:
    """The dispatcher agrees with the device: the roll-up will not move the event any more."""
    step.obj.confirmed_by, step.obj.confirmed_at = user_of(step.actor), step.now


def full_confidence(step: EventStep) -> None:
    step.obj.confidence = Decimal("1.00")


def leave_self_check(step: EventStep) -> None:
    """A confirmed event on a network device (not the customer's own side) waits for a crew."""
    if step.before == FaultEvent.State.SELF_CHECK and step.obj.level != DeviceLevel.CUSTOMER:
        step.target = FaultEvent.State.WAITING


def move_to_device(step: EventStep) -> None:
    """改判: the event is put on the transformer area or the feeder given (old device kept)."""
    event, level = step.obj, step.payload["level"]
    step.found["old"] = {"level": event.level, "device": event.device_label}
    if level == DeviceLevel.AREA:
        area: TransformerArea = step.payload["area"]
        event.level, event.transformer_area, event.feeder = level, area, area.feeder
        event.station_id, event.area_class, event.customer = area.station_id, area.area_class, None
    else:
        feeder = step.payload["feeder"]
        sample = TransformerArea.objects.filter(feeder=feeder).first()
        event.level, event.feeder, event.transformer_area, event.customer = level, feeder, None, None
        event.station_id = analysis._feeder_station(feeder.pk, sample)
        event.area_class = sample.area_class if sample else event.area_class


def take_over_from_primary_crew(step: EventStep) -> None:
    """``replace``: the crew sent takes over from the current primary crew, which is released."""
    event, crew = step.obj, step.payload["crew"]
    if step.payload.get("replace") and event.crew_id and event.crew_id != crew.pk:
        now = clock.now()
        old = event.crew
        CrewAssignment.objects.filter(event=event, crew=old, released_at__isnull=True).update(released_at=now)
        set_crew_status(old, now)
        event.crew = None
        serve_queue_on_commit()  # the crew replaced is free for the next event waiting


def mark_crew_arrived(step: EventStep) -> None:
    crew: Crew | None = step.found.get("crew")
    if crew is not None:
        CrewAssignment.objects.filter(
            event=step.obj, crew=crew, released_at__isnull=True, arrived_at__isnull=True
        ).update(arrived_at=step.now)
        set_crew_status(crew, step.now)


def stamp_arrival(step: EventStep) -> None:
    if step.before != FaultEvent.State.ON_SITE:
        step.obj.arrived_at = step.obj.arrived_at or step.now


def record_situation(step: EventStep) -> None:
    step.obj.situation = str(step.payload.get("situation") or "").strip()
    cause = str(step.payload.get("cause") or "").strip()
    if cause:
        step.obj.cause = cause[:200]


def set_estimated_restore(step: EventStep) -> None:
    step.obj.estimated_restore_at = step.payload["estimated_restore_at"]


def record_result(step: EventStep) -> None:
    event = step.obj
    event.restored_at = step.now
    event.result = str(step.payload.get("result") or "").strip()
    cause = str(step.payload.get("cause") or "").strip()
    if cause:
        event.cause = cause[:200]
    event.arrived_at = event.arrived_at or step.now


def record_cancel_reason(step: EventStep) -> None:
    step.obj.result, step.obj.restored_at = step.note.strip(), step.now


# --- follow-ups (after the event and its history row are written) -------------------------------


def absorb_open_events_on_device(step: EventStep) -> None:
    """Other open, unconfirmed events on the new device join this one."""
    event, now = step.obj, step.now
    analysis.refresh_event(event, now)
    others = FaultEvent.objects.filter(state__in=FaultEvent.OPEN_STATES, confirmed_at__isnull=True).exclude(
        pk=event.pk
    )
    if event.level == DeviceLevel.FEEDER:
        others = others.filter(feeder_id=event.feeder_id)
    else:
        others = others.filter(transformer_area_id=event.transformer_area_id)
    for other in others:
        analysis.absorb(source=other, target=event, now=now, actor=step.actor, note="随改判并入")
    analysis.refresh_event(event, now)


def bring_orders_in_step(step: EventStep) -> None:
    """The event's open work orders follow it (its unit; taken and on site after the arrival)."""
    note = {
        "reassign": f"事件 {step.obj.number} 改判",
        "arrive": step.note or "抢修人员到达现场",
    }[step.action]
    sync_orders(step.obj, step.actor, note=note)


def sync_public_outage(step: EventStep) -> None:
    """The fault outage customers look up follows the event's device."""
    outage_link.sync_fault_outage(step.obj)


def tell_outage_eta(step: EventStep) -> None:
    outage_link.set_eta(step.obj)


def split_off_calls(step: EventStep) -> None:
    """拆分: the chosen calls move to a new event on their own customer's area, confirmed."""
    event, calls, now = step.obj, step.found["calls"], step.now
    area = calls[0].transformer_area or event.transformer_area
    new = analysis.new_event(
        level=DeviceLevel.AREA if area else event.level,
        station_id=area.station_id if area else event.station_id,
        area_id=area.pk if area else None,
        feeder_id=area.feeder_id if area else event.feeder_id,
        area_class=area.area_class if area else event.area_class,
        now=now,
        note=f"由事件 {event.number} 拆分",
        hazard=any(c.hazard for c in calls),
    )
    new.confirmed_by, new.confirmed_at = user_of(step.actor), now
    new.save(update_fields=["confirmed_by", "confirmed_at"])
    TroubleCall.objects.filter(pk__in=[c.pk for c in calls]).update(event=new, linked_at=now)
    step.found["new"] = new


def absorb_into_target(step: EventStep) -> None:
    """合并: the event's calls and crews join the target (each event's history says so); when the
    target has its own crew, the source's crews not yet on site are released for the queue."""
    target: FaultEvent = step.payload["into"]
    analysis.absorb(source=step.obj, target=target, now=step.now, actor=step.actor, note=step.note)
    analysis.refresh_event(target, step.now)
    serve_queue_on_commit()


def release_moved_primary_order(step: EventStep) -> None:
    event = step.obj
    if event.primary_order_id in {c.order_id for c in step.found["calls"]}:
        event.primary_order = None
        event.save(update_fields=["primary_order"])


def refresh_both_events(step: EventStep) -> None:
    analysis.refresh_event(step.obj, step.now)
    analysis.refresh_event(step.found["new"], step.now)


def link_new_event_outage(step: EventStep) -> None:
    outage_link.sync_fault_outage(step.found["new"])


def bring_target_in_step(step: EventStep) -> None:
    """The target's orders and its public fault outage follow the merge."""
    target: FaultEvent = step.payload["into"]
    sync_orders(target, step.actor, note=f"事件 {step.obj.number} 并入 {target.number}")
    outage_link.sync_fault_outage(target)


def release_all_crews(step: EventStep) -> None:
    """The event's crews are free at once: the queue hands them on when the transaction commits."""
    if release_crews(step.obj, step.now):
        serve_queue_on_commit()


def restore_public_outages(step: EventStep) -> None:
    """The public outage is restored (its customers' notices queued) with the event, or not at all."""
    event = step.obj
    note = f"事件撤销：{step.note.strip()}" if step.action == "cancel" else event.result
    outage_link.restore_outages(event, note)
