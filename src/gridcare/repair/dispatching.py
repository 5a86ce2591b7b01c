"""Dispatch (派工): choosing a crew, sending it, and keeping the event's work orders in step.

Every work-order change goes through the engine's ``perform``. Automatic steps (the roll-up's
dispatch, linked orders following their event) act as the system account 抢修指挥系统, whose
name is on the order history beside the person who caused the step.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.models import Count, Exists, OuterRef, Q
from django.utils.translation import gettext

from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.core.memo import Memo
from gridcare.notify import services as notify
from gridcare.org.models import Role, RoleAssignment, Unit, User
from gridcare.org.types import Actor
from gridcare.workorders import services as engine
from gridcare.workorders.models import State, WorkOrder

from .models import Crew, CrewAssignment, DutyRoster, EventUpdate, FaultEvent, RepairSetting

log = logging.getLogger(__name__)

SYSTEM_USERNAME = "gridcare-repair"


_SYSTEM: Memo[User] = Memo(60.0)  # by database name


def system_actor() -> User:
    """抢修指挥系统: the account that performs automatic dispatch steps. It cannot log in (no usable
    password) and holds the dispatcher and shift-leader roles at every top unit. Remembered a minute
    per process and database (``forget_system_actor`` empties it; the tests do before each test)."""
    key = connection.settings_dict["NAME"]
    kept = _SYSTEM.peek(key)
    if kept is not None:
        return kept
    user, created = _system_actor()

    def remember() -> None:
        _SYSTEM.put(key, user)

    # Rows written by an open transaction are remembered only once it commits (a rollback would
    # leave the cache pointing at an account that does not exist).
    if created:
        transaction.on_commit(remember)
    else:
        remember()
    return user


def forget_system_actor() -> None:
    _SYSTEM.forget()


def _system_actor() -> tuple[User, bool]:
    user, created = User.objects.get_or_create(
        username=SYSTEM_USERNAME,
        defaults={"full_name": "抢修指挥系统", "password": make_password(None), "is_active": True},
    )
    roots = list(Unit.objects.filter(parent__isnull=True))
    have = set(RoleAssignment.objects.filter(user=user).values_list("role", "unit_id"))
    missing = [
        RoleAssignment(user=user, role=role, unit=unit)
        for unit in roots
        for role in (Role.DISPATCHER, Role.SHIFT_LEADER)
        if (role, unit.pk) not in have
    ]
    if missing:
        RoleAssignment.objects.bulk_create(missing, ignore_conflicts=True)
        user._gridcare_assignments = None
    return user, created or bool(missing)


def perform_on_order(
    order: WorkOrder, action: str, actor: Actor, system: User, note: str = "", **payload
) -> WorkOrder:
    """``perform`` as the person when their roles and scope allow it, else as the system account;
    returns the order as the action left it."""
    try:
        return engine.perform(order=order, action=action, actor=actor or system, note=note, **payload)
    except ApiError as exc:
        if exc.status != 403 or actor is None or actor == system:
            raise
    return engine.perform(order=order, action=action, actor=system, note=note, **payload)


def repair_unit_of(station: Unit) -> Unit:
    """The station's repair team (抢修班), where orders wait for a crew; the station itself if none."""
    team = (
        station.subtree()
        .filter(function=Unit.Function.REPAIR, is_active=True)
        .order_by("depth", "code")
        .first()
    )
    return team or station


def target_unit(event: FaultEvent) -> Unit:
    if event.crew_id:
        return event.crew.team_unit
    return repair_unit_of(event.station)


# --- shifts and availability ---------------------------------------------------------------------


def current_shift(at: dt.datetime | None = None, setting: RepairSetting | None = None) -> tuple[dt.date, str]:
    setting = setting or RepairSetting.current()
    local = (at or clock.now()).astimezone(clock.LOCAL_TZ)
    t = local.time()
    if setting.day_shift_starts <= t < setting.night_shift_starts:
        return local.date(), DutyRoster.Shift.DAY
    if t < setting.day_shift_starts:
        return local.date() - dt.timedelta(days=1), DutyRoster.Shift.NIGHT
    return local.date(), DutyRoster.Shift.NIGHT


def active_load():
    return Count("assignments", filter=Q(assignments__released_at__isnull=True))


def crews_on_duty(stations: Iterable[Unit | int], at: dt.datetime | None = None):
    """Active crews of the stations (units or ids) not marked 休息; where a station has a roster
    for the current shift, only the rostered crews."""
    setting = RepairSetting.current()
    date, shift = current_shift(at, setting)
    station_ids = [s if isinstance(s, int) else s.pk for s in stations]
    qs = Crew.objects.filter(station_id__in=station_ids, is_active=True).exclude(status=Crew.Status.OFF)
    rostered_stations = set(
        DutyRoster.objects.filter(date=date, shift=shift, crew__station_id__in=station_ids).values_list(
            "crew__station_id", flat=True
        )
    )
    if rostered_stations:
        qs = qs.filter(
            ~Q(station_id__in=rostered_stations) | Q(rosters__date=date, rosters__shift=shift)
        ).distinct()
    return qs


TIER_ORDER = {Crew.Tier.ELECTRICIAN_GROUP: 0, Crew.Tier.REPAIR_TEAM: 1, Crew.Tier.JOINT_DEFENSE: 2}


def staffed() -> Q:
    """A crew with somebody to send: a leader or at least one member. A crew with neither is never
    dispatched (not automatically, not by hand); the crews page marks it."""
    members = Crew.members.through.objects.filter(crew_id=OuterRef("pk"))
    return Q(leader__isnull=False) | Q(Exists(members))


def is_staffed(crew: Crew) -> bool:
    return bool(crew.leader_id) or crew.members.exists()


def available_crews(
    stations: Iterable[Unit | int], at=None, setting: RepairSetting | None = None
) -> list[Crew]:
    """The crews of ``stations`` that may take another job now: on duty (``crews_on_duty``), staffed,
    fewer than ``max_jobs_per_crew`` open jobs; each annotated with ``load`` (its open jobs), in no
    particular order (``crew_rank`` orders them for an event)."""
    setting = setting or RepairSetting.current()
    crews = (
        crews_on_duty(stations, at)
        .filter(staffed())
        .annotate(load=active_load())
        .prefetch_related("service_feeders")
        .select_related("station", "team_unit")
    )
    return [c for c in crews if c.load < setting.max_jobs_per_crew]


def crew_rank(event: FaultEvent, crew: Crew) -> tuple:
    """Best first: serving the event's feeder, then the least loaded, then the electrician groups
    before the station team before the joint-defense organization."""
    serves = any(f.pk == event.feeder_id for f in crew.service_feeders.all()) if event.feeder_id else False
    return (0 if serves else 1, crew.load, TIER_ORDER.get(crew.tier, 3), crew.code)


def neighbour_stations(station: Unit) -> list[Unit]:
    """The other stations of the station's county (where reinforcement comes from)."""
    if not station.parent_id:
        return []
    return list(
        Unit.objects.filter(parent_id=station.parent_id, kind=Unit.Kind.STATION, is_active=True).exclude(
            pk=station.pk
        )
    )


def candidate_crews(event: FaultEvent, *, neighbours: bool = False, at=None) -> list[Crew]:
    """Available crews (``available_crews``) for the event, best first (``crew_rank``).
    ``neighbours``: the other stations of the same county (reinforcement)."""
    stations = neighbour_stations(event.station) if neighbours else [event.station]
    busy_with_this = set(
        CrewAssignment.objects.filter(event=event, released_at__isnull=True).values_list("crew_id", flat=True)
    )
    out = [c for c in available_crews(stations, at) if c.pk not in busy_with_this]
    return sorted(out, key=lambda c: crew_rank(event, c))


# --- dispatching ----------------------------------------------------------------------------------


def set_crew_status(crew: Crew, now: dt.datetime) -> None:
    """A crew's status follows its jobs: on site > dispatched > on duty (休息 is set by hand)."""
    if crew.status == Crew.Status.OFF:
        return
    active = CrewAssignment.objects.filter(crew=crew, released_at__isnull=True)
    if active.filter(arrived_at__isnull=False).exists():
        status = Crew.Status.ON_SITE
    elif active.exists():
        status = Crew.Status.DISPATCHED
    else:
        status = Crew.Status.ON_DUTY
    if status != crew.status:
        Crew.objects.filter(pk=crew.pk).update(status=status, status_since=now)
        crew.status = status


def sync_orders(event: FaultEvent, actor: Actor | None = None, note: str = "", orders=None) -> int:
    """Bring every open order linked to the event to the event's unit: dispatch the new ones
    (meeting their 5-minute dispatch limit), re-dispatch the ones sent elsewhere, and after the
    crew's arrival take and mark them on site. Returns how many engine actions were performed."""
    system = system_actor()
    unit = target_unit(event)
    done = 0
    orders = (
        (orders if orders is not None else WorkOrder.objects.all())
        .filter(trouble_call__event=event, state__in=[State.ACCEPTED, State.DISPATCHED, State.IN_PROGRESS])
        .order_by("created_at")
    )
    for order in orders:
        done += sync_order(event, order, unit=unit, actor=actor, system=system, note=note)[1]
    return done


def sync_order(
    event: FaultEvent, order: WorkOrder, *, unit: Unit, actor: Actor, system: User, note: str = ""
) -> tuple[WorkOrder, int]:
    """One open order of ``event`` brought to ``unit`` (see ``sync_orders``): returns the order as
    the actions left it and how many were performed."""
    done = 0
    try:
        if order.state == State.ACCEPTED:
            order = perform_on_order(order, "dispatch", actor, system, note=note, unit=unit)
            done += 1
        elif order.assigned_unit_id != unit.pk:
            order = perform_on_order(
                order, "redispatch", actor, system, note=note or f"随事件 {event.number} 转派", unit=unit
            )
            done += 1
        if event.state == FaultEvent.State.ON_SITE:
            if order.state == State.DISPATCHED:
                order = perform_on_order(order, "take", actor, system)
                done += 1
            if order.state == State.IN_PROGRESS:
                order = perform_on_order(order, "arrive", actor, system, note=note)
                done += 1
    except ApiError as exc:  # one order in a state the engine refuses must not stop the others
        if exc.code in ("illegal_transition", "version_conflict"):
            # An intake and the roll-up both moved it at the same moment: it is already in step.
            log.debug("order %s moved concurrently: %s", order.number, exc.message)
        else:
            log.warning("order %s not synced with event %s: %s", order.number, event.number, exc.message)
    return order, done


def dispatch_event(
    *,
    event: FaultEvent,
    crew: Crew | None,
    actor: Actor | None = None,
    note: str = "",
    now=None,
    data: dict | None = None,
) -> FaultEvent:
    """派工: send ``crew`` (or, with none available, the station's repair team) to the event.
    ``data``: more to record on the event's history row (a borrowed crew's station and why)."""
    now = now or clock.now()
    if crew is not None:
        already = CrewAssignment.objects.filter(event=event, crew=crew, released_at__isnull=True).exists()
        if not already:
            CrewAssignment.objects.create(
                event=event,
                crew=crew,
                role=CrewAssignment.Role.PRIMARY
                if event.crew_id is None
                else CrewAssignment.Role.REINFORCEMENT,
                assigned_at=now,
                assigned_by=actor if getattr(actor, "pk", None) else None,
            )
        if event.crew_id is None:
            event.crew = crew
        set_crew_status(crew, now)
        if event.state in (FaultEvent.State.WAITING, FaultEvent.State.SELF_CHECK):
            event.state = FaultEvent.State.DISPATCHED
        if event.dispatched_at is None:
            event.dispatched_at = now
    event.updated_at = now
    event.save(update_fields=["crew", "state", "dispatched_at", "updated_at"])
    EventUpdate.objects.create(
        event=event,
        action="dispatch",
        at=now,
        actor=actor if getattr(actor, "pk", None) else None,
        note=note,
        data={"crew": crew.code if crew else None, "unit": target_unit(event).code, **(data or {})},
    )
    sync_orders(event, actor, note=note or f"抢修事件 {event.number} 派工")
    if crew is not None:
        _tell_crew(event, crew)
    return event


def _tell_crew(event: FaultEvent, crew: Crew) -> None:
    """The dispatch notice in the inbox of every member of the crew (their mobile page shows it)."""
    urgent = "【安全隐患·紧急】" if event.hazard else ""
    subject = f"{urgent}【抢修派工】{event.number} {event.device_label}"
    body = f"事件 {event.number}：{event.get_level_display()} {event.device_label}，报修 {event.caller_count} 户，影响 {event.affected_count} 户。请立即出发并在手机页面报告到达。"
    people = [*crew.members.all(), *([crew.leader] if crew.leader_id else [])]
    notify.tell_staff(
        people,
        subject=subject,
        body=body,
        about=("repair.outageevent", event.number),
        dedup=f"repair:{event.number}:crew:{crew.pk}",
        sms=False,
    )


def transfer_assignments(*, source: FaultEvent, target: FaultEvent, now) -> list[Crew]:
    """Crews of a merged event: with the target still without a crew, the source's crews move to
    it (the first becomes its primary crew). When the target has its own crew, a source crew not
    yet on site is released at once (the freed crew goes to the head of the queue, see
    ``crew_queue``); one already on site stays as reinforcement. Returns the crews released."""
    released: list[Crew] = []
    had_crew = target.crew_id is not None
    for assignment in CrewAssignment.objects.filter(event=source, released_at__isnull=True).select_related(
        "crew"
    ):
        crew = assignment.crew
        on_target = CrewAssignment.objects.filter(event=target, crew=crew, released_at__isnull=True).exists()
        if on_target or (had_crew and assignment.arrived_at is None):
            CrewAssignment.objects.filter(pk=assignment.pk).update(released_at=now)
            set_crew_status(crew, now)
            if not on_target:
                released.append(crew)
                EventUpdate.objects.create(
                    event=source,
                    action="release_crew",
                    at=now,
                    note=gettext("并入事件 %(into)s（已有抢修队伍），释放%(crew)s")
                    % {"into": target.number, "crew": crew.name},
                    data={"crew": crew.code, "into": target.number, "reason": "merged"},
                )
            continue
        role = CrewAssignment.Role.PRIMARY if target.crew_id is None else CrewAssignment.Role.REINFORCEMENT
        CrewAssignment.objects.filter(pk=assignment.pk).update(event=target, role=role)
        if target.crew_id is None:
            target.crew_id = assignment.crew_id
            target.state = FaultEvent.State.ON_SITE if assignment.arrived_at else FaultEvent.State.DISPATCHED
            FaultEvent.objects.filter(pk=target.pk).update(crew_id=assignment.crew_id, state=target.state)
    return released


def release_crews(event: FaultEvent, now) -> list[Crew]:
    """Every crew still on the event is released (restored, cancelled, withdrawn); returns them."""
    crews = [
        a.crew
        for a in CrewAssignment.objects.filter(event=event, released_at__isnull=True).select_related("crew")
    ]
    CrewAssignment.objects.filter(event=event, released_at__isnull=True).update(released_at=now)
    for crew in crews:
        set_crew_status(crew, now)
    return crews
