"""排队派工: scarce crews. When a station's crews are busy, the events waiting for a crew queue by
priority, and every free crew is handed to the highest-priority waiting event it may serve.

- **Who queues**: open events with no crew in state 待派工 — area and feeder events, and hazard
  events of any level (``waiting_for_crew``). A customer-side event waiting for a person (its
  area is suspect) is listed on the board as 等待研判确认 but not served by the queue; with
  ``auto_dispatch`` off only hazard events are (the rest wait for a dispatcher).
- **Priority** (``priority``): the ``RepairSetting`` weights — hazard, each key customer, each
  affected customer, each minute waited — summed; ties go to the event waiting longest. The
  defaults order hazard, then key customers, then customers affected, then waiting time.
- **Hand-off** (``dispatch_queue``): the station's own crews first (on duty, staffed, under
  ``max_jobs_per_crew``, best for the event first as ``dispatching.candidate_crews`` ranks
  them); then, for an event that has waited ``reinforce_after_minutes`` (a hazard at once), an
  idle crew of a neighbouring station of the county that keeps ``neighbour_keeps_crews`` idle
  crews for itself and has no event of its own waiting. The borrowed crew becomes the event's
  crew; the event's history says why, and the lending station's dispatchers are told.
- **When**: at the end of every analysis run (``services.run_analysis``), and as soon as a crew
  is freed — an event restored, cancelled, merged into one with its own crew, withdrawn by the
  analysis (``withdraw_event``), a crew put back on duty (``serve_queue_on_commit``).
- **Never twice**: each hand-off is its own transaction that locks the event (and waits for it),
  then the crew (``SKIP LOCKED``: a crew another transaction holds is passed over) and, to lend,
  the lending station's row; the event's crew and the crew's load are checked again under the
  locks. On SQLite, transactions are serialized (``IMMEDIATE``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum

from django.db import DatabaseError, models, transaction
from django.db.models import Q
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from gridcare.core import clock
from gridcare.notify import services as notify
from gridcare.org.models import Role, Unit, User

from . import outage_link
from .dispatching import (
    SYSTEM_USERNAME,
    available_crews,
    crew_rank,
    dispatch_event,
    neighbour_stations,
    release_crews,
    staffed,
)
from .models import Crew, CrewAssignment, DeviceLevel, EventUpdate, FaultEvent, RepairSetting, TroubleCall

log = logging.getLogger(__name__)


class WaitReason(models.TextChoices):
    """Why an event without a crew waits (the board and ``GET /api/v1/repair/queue``)."""

    CREW_FREE = "crew_free", _("即将派工")
    NO_FREE_CREW = "no_free_crew", _("无空闲队伍")
    REINFORCEMENT = "reinforcement_requested", _("已申请邻所支援")
    CONFIRMATION = "awaiting_confirmation", _("等待研判确认")
    MANUAL = "manual_dispatch", _("待调度员派工")


def waiting_for_crew() -> Q:
    """Open events with no crew that the queue serves: area/feeder events and hazard events."""
    return Q(state=FaultEvent.State.WAITING, crew__isnull=True) & (
        Q(level__in=[DeviceLevel.AREA, DeviceLevel.FEEDER]) | Q(hazard=True)
    )


def served_automatically(event: FaultEvent, setting: RepairSetting) -> bool:
    """A hazard is dispatched whatever ``auto_dispatch`` says; other events only when it is on."""
    return event.hazard or setting.auto_dispatch


def minutes_waited(event: FaultEvent, now: dt.datetime) -> int:
    """Whole minutes since the event formed."""
    return max(0, int((now - event.created_at).total_seconds() // 60))


def priority(event: FaultEvent, now: dt.datetime, setting: RepairSetting) -> int:
    """The event's place in the queue: the weighted sum of hazard, key customers, customers
    affected and minutes waited (higher first)."""
    return (
        setting.queue_weight_hazard * int(event.hazard)
        + setting.queue_weight_key_customer * event.key_customer_count
        + setting.queue_weight_customer * event.affected_count
        + setting.queue_weight_waiting * minutes_waited(event, now)
    )


def in_queue_order(
    events: Iterable[FaultEvent], now: dt.datetime, setting: RepairSetting
) -> list[FaultEvent]:
    """Highest priority first; ties to the event waiting longest."""
    return sorted(events, key=lambda e: (-priority(e, now, setting), e.created_at, e.pk))


def may_borrow(event: FaultEvent, now: dt.datetime, setting: RepairSetting) -> bool:
    """Reinforcement is asked for: on, and the event waited long enough (a hazard does not wait)."""
    return setting.reinforce_from_neighbours and (
        event.hazard or minutes_waited(event, now) >= setting.reinforce_after_minutes
    )


# --- the hand-off ---------------------------------------------------------------------------------


@dataclass
class Handoff:
    """A crew handed to a waiting event by the queue."""

    event: FaultEvent
    crew: Crew
    borrowed: bool


class _Outcome(Enum):
    HANDED = "handed"
    EVENT_GONE = "event_gone"  # the event got a crew, closed, or is no longer waiting
    CREW_GONE = "crew_gone"  # the crew is held elsewhere, full, off duty, or may not be lent


class _Pools:
    """Available crews per station, read once per pass and again for a station after a hand-off."""

    def __init__(self, setting: RepairSetting, now: dt.datetime) -> None:
        self.setting, self.now = setting, now
        self._by_station: dict[int, list[Crew]] = {}
        self._neighbours: dict[int, list[Unit]] = {}

    def of(self, station_ids: Iterable[int]) -> list[Crew]:
        wanted = list(dict.fromkeys(station_ids))
        missing = [s for s in wanted if s not in self._by_station]
        if missing:
            for s in missing:
                self._by_station[s] = []
            for crew in available_crews(missing, self.now, self.setting):
                self._by_station[crew.station_id].append(crew)
        return [c for s in wanted for c in self._by_station[s]]

    def forget(self, station_id: int) -> None:
        self._by_station.pop(station_id, None)

    def neighbours(self, station: Unit) -> list[Unit]:
        if station.pk not in self._neighbours:
            self._neighbours[station.pk] = neighbour_stations(station)
        return self._neighbours[station.pk]


def dispatch_queue(
    now: dt.datetime | None = None, *, events: Iterable[FaultEvent] | None = None
) -> list[Handoff]:
    """Hand every free crew to the highest-priority waiting event it may serve: each station's own
    crews first, then reinforcement from the neighbours for the events that waited long enough.
    ``events``: serve only these (a hazard at intake). Returns the hand-offs made."""
    now = now or clock.now()
    setting = RepairSetting.current()
    qs = FaultEvent.objects.filter(waiting_for_crew()).select_related("station")
    if events is not None:
        qs = qs.filter(pk__in=[e.pk for e in events])
    queue = in_queue_order([e for e in qs if served_automatically(e, setting)], now, setting)
    if not queue:
        return []
    pools = _Pools(setting, now)
    done: list[Handoff] = []
    left: list[FaultEvent] = []
    for event in queue:
        crews = sorted(pools.of([event.station_id]), key=lambda c, e=event: crew_rank(e, c))
        handoff = _serve(event, crews, now=now, setting=setting, borrowed=False)
        if handoff is None:
            left.append(event)
            continue
        done.append(handoff)
        pools.forget(event.station_id)
    if setting.reinforce_from_neighbours and left:
        done += _reinforce(left, pools, now=now, setting=setting)
    return done


def _reinforce(
    left: list[FaultEvent], pools: _Pools, *, now: dt.datetime, setting: RepairSetting
) -> list[Handoff]:
    """Idle crews of neighbouring stations for the events that waited long enough, in queue order.
    A station with an event of its own still waiting lends nothing."""
    still_waiting = {e.station_id for e in left}
    asking = [e for e in left if may_borrow(e, now, setting)]
    asked = set(
        EventUpdate.objects.filter(event__in=asking, action="reinforce_request").values_list(
            "event_id", flat=True
        )
    )
    done: list[Handoff] = []
    for event in asking:
        lenders = [s.pk for s in pools.neighbours(event.station) if s.pk not in still_waiting]
        spare: list[Crew] = []
        for station_id in lenders:
            idle = [c for c in pools.of([station_id]) if c.load == 0]
            if len(idle) > setting.neighbour_keeps_crews:
                spare += idle
        spare.sort(key=lambda c, e=event: crew_rank(e, c))
        handoff = _serve(event, spare, now=now, setting=setting, borrowed=True)
        if handoff is not None:
            done.append(handoff)
            pools.forget(handoff.crew.station_id)
        elif event.pk not in asked:
            EventUpdate.objects.create(
                event=event,
                action="reinforce_request",
                at=now,
                note=gettext("本所无空闲队伍，已等待 %(m)s 分钟，申请邻所支援；邻所暂无可调派的空闲队伍")
                % {"m": minutes_waited(event, now)},
                data={"waited_minutes": minutes_waited(event, now)},
            )
    return done


def _serve(
    event: FaultEvent, crews: list[Crew], *, now: dt.datetime, setting: RepairSetting, borrowed: bool
) -> Handoff | None:
    for crew in crews:
        try:
            outcome = _hand_off(event, crew, now=now, setting=setting, borrowed=borrowed)
        except DatabaseError as exc:  # a deadlock or serialization failure: the next pass retries
            log.warning("queue: %s not handed to event %s: %s", crew.code, event.number, exc)
            return None
        if outcome is _Outcome.HANDED:
            return Handoff(event=event, crew=crew, borrowed=borrowed)
        if outcome is _Outcome.EVENT_GONE:
            return None
    return None


def _hand_off(
    event: FaultEvent, crew: Crew, *, now: dt.datetime, setting: RepairSetting, borrowed: bool
) -> _Outcome:
    """One crew to one event, in its own transaction, checked again under the row locks."""
    with transaction.atomic():
        locked = (
            FaultEvent.objects.select_for_update(of=("self",))
            .select_related("station", "crew__team_unit")
            .filter(waiting_for_crew(), pk=event.pk)
            .first()
        )
        if locked is None:
            return _Outcome.EVENT_GONE
        if borrowed and _lock_station(crew.station_id) is None:
            return _Outcome.CREW_GONE  # another transaction is lending from that station
        fresh = (
            Crew.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("station", "team_unit")
            .filter(staffed(), pk=crew.pk, is_active=True)
            .exclude(status=Crew.Status.OFF)
            .first()
        )
        if fresh is None:
            return _Outcome.CREW_GONE
        load = CrewAssignment.objects.filter(crew=fresh, released_at__isnull=True).count()
        if load >= (1 if borrowed else setting.max_jobs_per_crew):
            return _Outcome.CREW_GONE
        waited = minutes_waited(locked, now)
        if borrowed:
            idle_left = [
                c
                for c in available_crews([fresh.station_id], now, setting)
                if c.load == 0 and c.pk != fresh.pk
            ]
            if len(idle_left) < setting.neighbour_keeps_crews:
                return _Outcome.CREW_GONE
            note = gettext("邻所支援：本所无空闲队伍，已等待 %(m)s 分钟，调派%(station)s%(crew)s") % {
                "m": waited,
                "station": fresh.station.name,
                "crew": fresh.name,
            }
            data = {
                "queue": True,
                "waited_minutes": waited,
                "borrowed_from": fresh.station.name,
                "reason": str(WaitReason.NO_FREE_CREW),
            }
        else:
            if waited:
                note = gettext("队伍空出，按排队优先级派工（已等待 %(m)s 分钟）") % {"m": waited}
            else:
                note = gettext("安全隐患，立即派工") if locked.hazard else gettext("自动派工")
            data = {"queue": True, "waited_minutes": waited}
        dispatch_event(event=locked, crew=fresh, actor=None, note=note, now=now, data=data)
        if borrowed:
            _tell_lending_station(locked, fresh, waited)
    return _Outcome.HANDED


def _lock_station(station_id: int) -> int | None:
    """The lending station's row, locked (None: another transaction holds it)."""
    return (
        Unit.objects.select_for_update(skip_locked=True)
        .filter(pk=station_id)
        .values_list("pk", flat=True)
        .first()
    )


def _tell_lending_station(event: FaultEvent, crew: Crew, waited: int) -> None:
    """The dispatchers over the lending station hear where their crew went and why."""
    station = crew.station
    units = [u.pk for u in station.ancestors()] + [station.pk]
    people = list(
        User.objects.filter(is_active=True, assignments__role=Role.DISPATCHER, assignments__unit__in=units)
        .exclude(username=SYSTEM_USERNAME)
        .distinct()
    )
    notify.tell_staff(
        people,
        subject=gettext("【邻所支援】%(crew)s支援%(station)s %(number)s")
        % {"crew": crew.name, "station": event.station.name, "number": event.number},
        body=gettext(
            "%(lender)s%(crew)s已调派支援%(station)s事件 %(number)s（%(device)s，影响 %(n)s 户）："
            "该所无空闲队伍，事件已等待 %(m)s 分钟。"
        )
        % {
            "lender": station.name,
            "crew": crew.name,
            "station": event.station.name,
            "number": event.number,
            "device": event.device_label,
            "n": event.affected_count,
            "m": waited,
        },
        about=("repair.outageevent", event.number),
        dedup=f"repair:{event.number}:borrow:{crew.pk}",
        sms=False,
    )


def _serve_queue_now() -> None:
    dispatch_queue()


def serve_queue_on_commit() -> None:
    """A crew was freed (or an event began to wait): run ``dispatch_queue`` as soon as the current
    transaction commits (at once outside one). A second run after the same commit finds nothing
    left to do. ``robust``: a failure is logged, never undoes the committed action (the next
    analysis run serves the queue again)."""
    transaction.on_commit(_serve_queue_now, robust=True)


# --- an event judged spurious ---------------------------------------------------------------------


def withdraw_event(event: FaultEvent, *, now: dt.datetime | None = None, note: str = "") -> list[Crew]:
    """The analysis judges ``event`` spurious (误报) and withdraws it: the event is cancelled, its
    crews are released at once (the freed crews go to the head of the queue when the transaction
    commits), its calls are unlinked so the analysis judges them again (their orders stay open),
    and its public fault outage is closed as a dispatcher's 撤销 closes it. Returns the crews
    released; nothing happens to an event already closed. Runs in the caller's transaction (the
    analysis's), or in its own."""
    now = now or clock.now()
    with transaction.atomic():
        locked = FaultEvent.objects.select_for_update(of=("self",)).filter(pk=event.pk).first()
        if locked is None or not locked.is_open:
            return []
        note = note.strip() or gettext("研判撤销：来电不再支持该设备故障")
        crews = release_crews(locked, now)
        before = locked.state
        locked.state, locked.result, locked.restored_at, locked.updated_at = (
            FaultEvent.State.CANCELLED,
            note,
            now,
            now,
        )
        locked.save(update_fields=["state", "result", "restored_at", "updated_at"])
        EventUpdate.objects.create(
            event=locked,
            action="withdraw",
            at=now,
            from_state=before,
            to_state=FaultEvent.State.CANCELLED,
            note=note,
            data={"released": [c.code for c in crews]},
        )
        TroubleCall.objects.filter(event=locked).update(event=None, linked_at=None)
        outage_link.restore_outages(locked, note)
        event.state = locked.state
        serve_queue_on_commit()
    return crews


# --- what the board shows -------------------------------------------------------------------------


@dataclass
class QueueEntry:
    """An event without a crew as the board lists it."""

    event: FaultEvent
    position: int | None  # its place in its station's queue; None: not served by the queue
    reason: str  # WaitReason
    waited: int  # minutes
    score: int

    @property
    def reason_label(self) -> str:
        return str(WaitReason(self.reason).label)


def queue_view(events: Iterable[FaultEvent], now: dt.datetime | None = None) -> list[QueueEntry]:
    """The events among ``events`` (the viewer's open events) that wait for a crew, in queue order
    with their place in their station's queue and why each waits; then the events the queue does
    not serve (等待研判确认, 待调度员派工), oldest first."""
    now = now or clock.now()
    setting = RepairSetting.current()
    waiting = [e for e in events if e.state == FaultEvent.State.WAITING and e.crew_id is None]
    queued = [
        e
        for e in waiting
        if (e.level != DeviceLevel.CUSTOMER or e.hazard) and served_automatically(e, setting)
    ]
    queued_ids = {e.pk for e in queued}
    others = sorted((e for e in waiting if e.pk not in queued_ids), key=lambda e: (e.created_at, e.pk))
    spare: dict[int, int] = defaultdict(int)  # jobs the station's available crews could still take
    if queued:
        for crew in available_crews({e.station_id for e in queued}, now, setting):
            spare[crew.station_id] += setting.max_jobs_per_crew - crew.load
    places: dict[int, int] = defaultdict(int)
    entries = []
    for e in in_queue_order(queued, now, setting):
        places[e.station_id] += 1
        if places[e.station_id] <= spare[e.station_id]:
            reason = WaitReason.CREW_FREE
        elif may_borrow(e, now, setting):
            reason = WaitReason.REINFORCEMENT
        else:
            reason = WaitReason.NO_FREE_CREW
        entries.append(
            QueueEntry(e, places[e.station_id], reason, minutes_waited(e, now), priority(e, now, setting))
        )
    for e in others:
        reason = WaitReason.CONFIRMATION if e.level == DeviceLevel.CUSTOMER else WaitReason.MANUAL
        entries.append(QueueEntry(e, None, reason, minutes_waited(e, now), priority(e, now, setting)))
    return entries


def borrowed_crews(events: Iterable[FaultEvent]) -> dict[int, list[Crew]]:
    """Crews of another station working on each of ``events`` (reinforcement), by event id."""
    out: dict[int, list[Crew]] = defaultdict(list)
    by_id = {e.pk: e for e in events}
    for a in CrewAssignment.objects.filter(event_id__in=list(by_id), released_at__isnull=True).select_related(
        "crew__station"
    ):
        if a.crew.station_id != by_id[a.event_id].station_id:
            out[a.event_id].append(a.crew)
    return dict(out)
