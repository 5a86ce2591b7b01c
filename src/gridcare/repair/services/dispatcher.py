"""The dispatcher's decisions on an event: confirm, reassign the device, split, merge, cancel,
dispatch a crew, send reinforcement, answer a crew's support request.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext

from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.customers.models import Feeder, TransformerArea
from gridcare.org.types import Actor
from gridcare.repair.crew_queue import serve_queue_on_commit
from gridcare.repair.dispatching import _tell_crew, dispatch_event, set_crew_status
from gridcare.repair.models import Crew, CrewAssignment, FaultEvent, SupportRequest
from gridcare.repair.rules import cancel_reason_given, not_the_same_event
from gridcare.repair.transitions import EVENTS, check_first
from gridcare.repair.transitions import FaultEventAction as A

from .common import _lock, _note, _require_dispatcher, _user
from .crew import close_linked_orders
from .intake import _make_urgent


@transaction.atomic
def confirm_event(*, event: FaultEvent, actor: Actor, note: str = "") -> FaultEvent:
    """确认研判: the dispatcher agrees with the suspect device; the roll-up will not move it."""
    check_first(A.CONFIRM, event, actor)
    event = _lock(event)
    step = EVENTS.run(A.CONFIRM, event, actor, note=note, now=clock.now())
    event.state, event.updated_at = step.target, step.now
    event.save(update_fields=["confirmed_by", "confirmed_at", "confidence", "state", "updated_at"])
    _note(event, step.transition.history_action, actor, note)
    serve_queue_on_commit()  # a confirmed event on a network device may now wait for a crew
    return event


@transaction.atomic
def reassign_device(
    *,
    event: FaultEvent,
    actor: Actor,
    level: str,
    area: TransformerArea | None = None,
    feeder: Feeder | None = None,
    note: str = "",
) -> FaultEvent:
    """改判: put the event on another device (a transformer area or a feeder). Confirms it."""
    check_first(A.REASSIGN, event, actor)
    event = _lock(event)
    payload = {"level": level, "area": area, "feeder": feeder}
    step = EVENTS.run(A.REASSIGN, event, actor, note=note, payload=payload, now=clock.now())
    event.state, event.updated_at = step.target, step.now
    event.save()
    new = {"level": event.level, "device": event.device_label}
    _note(event, step.transition.history_action, actor, note, old=step.found["old"], new=new)
    EVENTS.follow_up(step)
    serve_queue_on_commit()
    return event


@transaction.atomic
def split_event(*, event: FaultEvent, actor: Actor, order_numbers: list[str], note: str = "") -> FaultEvent:
    """拆分: move some calls to a new event, placed on their own customer's area (confirmed)."""
    check_first(A.SPLIT, event, actor)
    event = _lock(event)
    step = EVENTS.run(A.SPLIT, event, actor, note=note, payload={"orders": order_numbers}, now=clock.now())
    new: FaultEvent = step.found["new"]
    _note(event, step.transition.history_action, actor, note, into=new.number, orders=order_numbers)
    EVENTS.follow_up(step)
    if new.hazard:  # a hazard split off is dispatched at once, as at intake
        new = _make_urgent(new)
    serve_queue_on_commit()  # the new event waits for a crew in the queue
    return new


@transaction.atomic
def merge_events(*, source: FaultEvent, target: FaultEvent, actor: Actor, note: str = "") -> FaultEvent:
    """合并: the source event's calls and crews join the target (``analysis.absorb`` writes both
    events' history rows)."""
    check_first(A.MERGE, source, actor, not_the_same_event, payload={"into": target})
    # Both rows locked in id order, so two opposite merges cannot wait on each other.
    if source.pk < target.pk:
        source, target = _lock(source), _lock(target)
    else:
        target, source = _lock(target), _lock(source)
    step = EVENTS.run(A.MERGE, source, actor, note=note, payload={"into": target}, now=clock.now())
    EVENTS.follow_up(step)
    return target


@transaction.atomic
def dispatch_to_crew(
    *, event: FaultEvent, crew: Crew, actor: Actor, note: str = "", replace: bool = False
) -> FaultEvent:
    """派工 by hand (also for a customer-side fault the customer could not fix). ``replace``: the
    crew takes over from the current primary crew, which is released."""
    check_first(A.DISPATCH, event, actor)
    event = _lock(event)
    EVENTS.run(A.DISPATCH, event, actor, note=note, payload={"crew": crew, "replace": replace})
    return dispatch_event(event=event, crew=crew, actor=actor, note=note or "调度员派工")


@transaction.atomic
def send_reinforcement(*, event: FaultEvent, crew: Crew, actor: Actor, note: str = "") -> FaultEvent:
    """支援: a crew of a neighbouring station joins the event (the first crew on it is a dispatch)."""
    check_first(A.REINFORCE, event, actor)
    event = _lock(event)
    EVENTS.run(A.REINFORCE, event, actor, note=note, payload={"crew": crew})
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
    *, request: SupportRequest, actor: Actor, granted: bool, answer: str = ""
) -> SupportRequest:
    _require_dispatcher(actor)
    if request.state != SupportRequest.State.OPEN:
        raise ApiError("already_answered", gettext("该申请已处理"), status=409)
    request.state = SupportRequest.State.GRANTED if granted else SupportRequest.State.DECLINED
    request.handled_by, request.handled_at, request.answer = _user(actor), clock.now(), answer
    request.save()
    _note(request.event, "support_answer", actor, answer, kind=request.kind, granted=granted)
    return request


@transaction.atomic
def cancel_event(*, event: FaultEvent, actor: Actor, note: str) -> FaultEvent:
    """撤销: e.g. the customer fixed it by self-check. Its open orders are replied with the note."""
    check_first(A.CANCEL, event, actor, cancel_reason_given, note=note)
    event = _lock(event)
    step = EVENTS.run(A.CANCEL, event, actor, note=note, now=clock.now())
    event.state, event.updated_at = step.target, step.now
    event.save(update_fields=["state", "result", "restored_at", "updated_at"])
    _note(event, step.transition.history_action, actor, note.strip())
    transaction.on_commit(lambda: close_linked_orders(event, actor))
    EVENTS.follow_up(step)
    return event
