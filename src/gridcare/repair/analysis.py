"""Trouble-call analysis (故障研判): roll calls, once placed on the topology (``placement``), up
into outage events on the devices that most likely failed.

Each run judges *all* calls of the window (and every call of an open event) with the likelihood
model of ``repair.inference`` (ADR 0008): for every feeder with calls, the probability that the
feeder failed, and otherwise that each of its transformer areas did, weighing the calls under a
device against the customers it supplies. The judgement is then made true on the events:

- a feeder at ``feeder_event_at`` → a feeder event: an open area event on it is *promoted* (it
  keeps its number, crew and orders), the feeder's other area and customer events are merged in;
- a feeder event whose probability falls below ``withdraw_below`` is *demoted* to the transformer
  area with most callers; the feeder's other failed areas get events of their own (split);
- an area at ``area_event_at`` → an area event (the area's customer events merged in);
- a call nobody else explains → a customer-side fault (引导客户自查), unless the caller's area or
  feeder is suspect (``suspect_at``): then the event waits for a person and the caller is not
  sent to check their own switch;
- a call of a customer inside a live planned or temporary outage, or disconnected for arrears, is
  explained by it (``known_outage``) and is no evidence of a fault.

Events a person decided (confirmed, or a crew on site) are never moved by the roll-up, and a
hazard event is never demoted. ``roll_up`` is idempotent: run it again with no new calls and
nothing changes.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext as _

from gridcare.core import clock, numbering
from gridcare.core.api_errors import ApiError
from gridcare.customers.models import Customer, Feeder, TransformerArea
from gridcare.org.models import Unit
from gridcare.org.types import Actor
from gridcare.workorders.models import OPEN_STATES, WorkOrder
from gridcare.workorders.models import State as WorkOrderState

from . import inference, placement
from .dispatching import perform_on_order, repair_unit_of, system_actor, transfer_assignments
from .models import DeviceLevel, EventUpdate, FaultEvent, RepairSetting, TroubleCall
from .outage_link import take_over_outage
from .placement import place_new_orders

OPEN_EVENT = FaultEvent.OPEN_STATES
log = logging.getLogger(__name__)


# --- open events covering a call ----------------------------------------------------------------


def follow_merges(event: FaultEvent) -> FaultEvent:
    seen = set()
    while event.state == FaultEvent.State.MERGED and event.merged_into_id and event.pk not in seen:
        seen.add(event.pk)
        event = FaultEvent.objects.get(pk=event.merged_into_id)
    return event


def open_event_for(call: TroubleCall) -> FaultEvent | None:
    """The open event a new call belongs to: its feeder's, its area's, or its customer's own
    (one query; the feeder's event wins over the area's over the customer's). A hazard call
    (``call.hazard``) also joins an open hazard event of the same place: a neighbour's in the same
    transformer area, or, placed on a feeder only, one of the feeder placed the same way."""
    condition = Q()
    if call.feeder_id:
        condition |= Q(level=DeviceLevel.FEEDER, feeder_id=call.feeder_id)
    if call.transformer_area_id:
        condition |= Q(level=DeviceLevel.AREA, transformer_area_id=call.transformer_area_id)
    if call.customer_id:
        condition |= Q(level=DeviceLevel.CUSTOMER, customer_id=call.customer_id)
    if call.hazard and call.transformer_area_id:
        condition |= Q(hazard=True, transformer_area_id=call.transformer_area_id)
    elif call.hazard and call.feeder_id:
        condition |= Q(hazard=True, feeder_id=call.feeder_id, transformer_area__isnull=True)
    if not condition:
        return None
    found = list(FaultEvent.objects.filter(condition, state__in=OPEN_EVENT).select_related("crew"))
    rank = {DeviceLevel.FEEDER: 0, DeviceLevel.AREA: 1, DeviceLevel.CUSTOMER: 2}

    def order(e: FaultEvent):
        own = e.level != DeviceLevel.CUSTOMER or e.customer_id == call.customer_id
        return (0 if own else 1, rank[e.level], e.created_at, e.pk)

    found.sort(key=order)
    return found[0] if found else None


# --- roll-up ------------------------------------------------------------------------------------


@dataclass
class RollupReport:
    placed: int = 0
    linked: int = 0
    created: list[int] = field(default_factory=list)  # new event ids
    promoted: list[int] = field(default_factory=list)  # area events become feeder events
    demoted: list[int] = field(default_factory=list)  # feeder events become area events
    merged: int = 0
    explained: int = 0  # calls explained by a known outage
    pending: int = 0  # calls that could not be placed (wait for a dispatcher)
    processed: int = 0  # queued calls (来电登记) processed before the roll-up
    failed: int = 0  # queued calls whose processing failed (kept, failed, for a person)
    queue_left: bool = False  # queued calls remain for the next run
    background: float = 0.0  # the background calling rate the model used

    @property
    def moved(self) -> list[int]:
        """Events whose device changed: their orders and outage follow."""
        return [*self.promoted, *self.demoted]

    @property
    def changed(self) -> bool:
        return bool(
            self.placed
            or self.linked
            or self.created
            or self.moved
            or self.merged
            or self.explained
            or self.processed
            or self.failed
        )


def new_event(
    *,
    level: str,
    station_id: int,
    area_id=None,
    feeder_id=None,
    customer_id=None,
    area_class="",
    now,
    note="",
    hazard=False,
) -> FaultEvent:
    number = numbering.next_number("SJ", clock.local_now().strftime("%Y%m%d"), width=5)
    self_check = level == DeviceLevel.CUSTOMER and not hazard  # a hazard is never left to the customer
    event = FaultEvent.objects.create(
        number=number,
        level=level,
        hazard=hazard,
        state=FaultEvent.State.SELF_CHECK if self_check else FaultEvent.State.WAITING,
        customer_id=customer_id,
        transformer_area_id=area_id,
        feeder_id=feeder_id,
        station_id=station_id,
        area_class=area_class or "urban",
        confidence=Decimal("0.60") if level == DeviceLevel.CUSTOMER else Decimal("0.50"),
        created_at=now,
        updated_at=now,
    )
    EventUpdate.objects.create(event=event, action="create", at=now, note=note, data={"level": level})
    return event


def absorb(
    *, source: FaultEvent, target: FaultEvent, now, actor: Actor | None = None, note: str = ""
) -> None:
    """Merge ``source`` into ``target``: its calls, crews and primary order follow."""
    TroubleCall.objects.filter(event=source).update(event=target)
    take_over_outage(source=source, target=target)
    transfer_assignments(source=source, target=target, now=now)
    if target.primary_order_id is None and source.primary_order_id:
        target.primary_order_id = source.primary_order_id
    if source.hazard and not target.hazard:  # the hazard stays marked on the event that goes on
        target.hazard = True
        FaultEvent.objects.filter(pk=target.pk).update(hazard=True)
    # The target's crew may now be the source's: it was dispatched (and arrived) when that crew
    # was — kept on the row, so the board and the dispatch limit see it as it is.
    carried = {}
    on_site = target.state == FaultEvent.State.ON_SITE
    for name, applies in (("dispatched_at", target.crew_id is not None), ("arrived_at", on_site)):
        mine, theirs = getattr(target, name), getattr(source, name)
        if applies and theirs and (mine is None or theirs < mine):
            carried[name] = theirs
            setattr(target, name, theirs)
    if carried:
        FaultEvent.objects.filter(pk=target.pk).update(**carried)
    FaultEvent.objects.filter(pk=source.pk).update(
        state=FaultEvent.State.MERGED, merged_into=target, updated_at=now
    )
    source.state = FaultEvent.State.MERGED
    EventUpdate.objects.create(
        event=source, action="merged", at=now, actor=actor, note=note, data={"into": target.number}
    )
    EventUpdate.objects.create(
        event=target, action="merge_in", at=now, actor=actor, note=note, data={"from": source.number}
    )


def refresh_call_counts(event: FaultEvent) -> None:
    """The cheap part of ``refresh_event``, for a call linked at intake."""

    def counted(expression):
        return Coalesce(
            Subquery(
                TroubleCall.objects.filter(event_id=OuterRef("pk"))
                .values("event_id")
                .annotate(n=expression)
                .values("n")[:1]
            ),
            0,
        )

    FaultEvent.objects.filter(pk=event.pk).update(
        call_count=counted(Count("id")),
        caller_count=counted(Count("caller_key", distinct=True)),
        updated_at=clock.now(),
    )


def refresh_event(event: FaultEvent, now: dt.datetime, *, confidence: float | None = None) -> FaultEvent:
    """Recount calls, callers and affected customers; pick the primary order; set the confidence
    (the model's probability, ``confidence``; 1.00 once a person confirmed the device)."""
    calls = TroubleCall.objects.filter(event=event)
    stats = calls.aggregate(
        n=Count("id"), callers=Count("caller_key", distinct=True), first=Min("received_at")
    )
    affected = affected_customers(event)
    event.call_count = stats["n"] or 0
    event.caller_count = stats["callers"] or 0
    event.first_call_at = stats["first"]
    event.affected_count = affected.count()
    event.key_customer_count = affected.filter(Q(is_key=True) | Q(is_vip=True)).count()
    primary_state_open = (
        event.primary_order_id is not None
        and WorkOrder.objects.filter(pk=event.primary_order_id, state__in=OPEN_STATES).exists()
    )
    if not primary_state_open:
        first = calls.filter(order__state__in=OPEN_STATES).order_by("received_at", "id").first()
        event.primary_order_id = first.order_id if first else event.primary_order_id
    if event.confirmed_at:
        event.confidence = Decimal("1.00")
    elif confidence is not None:
        event.confidence = _as_confidence(confidence)
    event.updated_at = now
    event.save(
        update_fields=[
            "call_count",
            "caller_count",
            "first_call_at",
            "affected_count",
            "key_customer_count",
            "primary_order",
            "confidence",
            "updated_at",
        ]
    )
    return event


def _percent(probability: float) -> int:
    """The confidence as the event shows it, in percent (1–99: never certain by the model)."""
    return int(_as_confidence(probability) * 100)


def _as_confidence(probability: float) -> Decimal:
    """A probability as the event's confidence column (two places, never 0 or 1 by the model)."""
    return Decimal(str(round(min(max(probability, 0.01), 0.99), 2)))


def affected_customers(event: FaultEvent):
    """Every customer the event's device supplies, key customers first."""
    qs = Customer.objects.all()
    if event.level == DeviceLevel.FEEDER and event.feeder_id:
        qs = qs.filter(transformer_area__feeder_id=event.feeder_id)
    elif event.level == DeviceLevel.AREA and event.transformer_area_id:
        qs = qs.filter(transformer_area_id=event.transformer_area_id)
    elif event.customer_id:
        qs = qs.filter(pk=event.customer_id)
    else:
        qs = qs.filter(pk__in=TroubleCall.objects.filter(event=event).values("customer_id"))
    return qs.order_by("-is_key", "-is_vip", "load_class", "account_no")


def _link(calls: list[TroubleCall], event: FaultEvent, now) -> int:
    ids = [c.pk for c in calls]
    if not ids:
        return 0
    TroubleCall.objects.filter(pk__in=ids).update(event=event, linked_at=now)
    for c in calls:
        c.event_id = event.pk
    return len(ids)


def roll_up(now: dt.datetime | None = None) -> RollupReport:
    """One pass of the analysis over the calls of the window. Returns what changed."""
    now = now or clock.now()
    report = RollupReport()
    with transaction.atomic():
        # One roll-up at a time: the setting row is the lock (SELECT … FOR UPDATE on PostgreSQL).
        setting = RepairSetting.objects.select_for_update().order_by("id").first() or RepairSetting.current()
        since = now - dt.timedelta(minutes=setting.window_minutes)
        report.placed = place_new_orders(since, now)

        # Calls that a racing intake linked to an event merged meanwhile follow the merge.
        for merged in FaultEvent.objects.filter(
            state=FaultEvent.State.MERGED, calls__isnull=False
        ).distinct():
            target = follow_merges(merged)
            TroubleCall.objects.filter(event=merged).update(event=target)
        report.explained = explain_by_known_outages(since, now)

        open_events = list(FaultEvent.objects.filter(state__in=OPEN_EVENT).order_by("created_at", "id"))
        calls = list(
            TroubleCall.objects.filter(
                Q(
                    event__isnull=True,
                    received_at__gte=since,
                    order__state__in=OPEN_STATES,
                    explained_by="",
                )
                | Q(event__state__in=OPEN_EVENT)
            ).order_by("received_at", "id")
        )
        _Plan(setting=setting, now=now, report=report, events=open_events, calls=calls).run()
    return report


def _is_fixed(event: FaultEvent) -> bool:
    """A person decided this event (confirmed its device, or a crew stands at it)."""
    return bool(event.confirmed_at) or event.state == FaultEvent.State.ON_SITE


class _Plan:
    """One roll-up: judge the calls, then make the events say what the judgement says."""

    def __init__(self, *, setting: RepairSetting, now, report: RollupReport, events, calls) -> None:
        self.setting, self.now, self.report = setting, now, report
        self.events: dict[int, FaultEvent] = {e.pk: e for e in events}
        self.calls: list[TroubleCall] = calls
        self.touched: dict[int, FaultEvent] = {}  # events changed by this pass (recounted at the end)
        self.confidence: dict[int, float] = {}  # event id → the judgement's probability for it
        # Set by ``run``: the judgement, the open events the pass may change, the oldest open event
        # of each feeder and area, the areas of the judged feeders and their callers.
        self.judgement: inference.Judgement
        self.movable: list[FaultEvent] = []
        self.feeder_events: dict[int, FaultEvent] = {}
        self.area_events: dict[int, FaultEvent] = {}
        self.area_info: dict[int, TransformerArea] = {}
        self.callers: dict[int, dict[int | None, set[str]]] = {}
        self.fixed = {pk for pk, e in self.events.items() if _is_fixed(e)}
        self.fixed_feeders = {
            e.feeder_id for pk, e in self.events.items() if pk in self.fixed and e.level == DeviceLevel.FEEDER
        }
        self.fixed_areas = {
            e.transformer_area_id
            for pk, e in self.events.items()
            if pk in self.fixed and e.level == DeviceLevel.AREA
        }

    # -- the evidence ----------------------------------------------------------------------------

    def _evidence(self) -> list[TroubleCall]:
        """Calls that are evidence of a device fault: not on a fixed event, not inside a fixed
        feeder or area (those are explained by what a person decided)."""
        out = []
        for call in self.calls:
            if call.event_id in self.fixed:
                continue
            if call.feeder_id in self.fixed_feeders or call.transformer_area_id in self.fixed_areas:
                continue
            if call.feeder_id is None:
                continue
            out.append(call)
        return out

    def _judge(self, evidence: list[TroubleCall]) -> inference.Judgement:
        callers: dict[int, dict[int | None, set[str]]] = defaultdict(lambda: defaultdict(set))
        for call in evidence:
            callers[call.feeder_id][call.transformer_area_id].add(call.caller_key)
        self.area_info = {
            a.pk: a
            for a in TransformerArea.objects.filter(feeder_id__in=list(callers)).only(
                "id", "feeder_id", "station_id", "area_class"
            )
        }
        sizes = dict(
            Customer.objects.filter(transformer_area__feeder_id__in=list(callers))
            .values_list("transformer_area_id")
            .annotate(n=Count("id"))
        )
        areas_of: dict[int, list[int]] = defaultdict(list)
        for area in self.area_info.values():
            if area.pk not in self.fixed_areas:
                areas_of[area.feeder_id].append(area.pk)
        feeders = [
            inference.FeederCount(
                feeder_id=feeder_id,
                areas=[
                    inference.AreaCount(area_id, sizes.get(area_id, 0), len(by_area.get(area_id, ())))
                    for area_id in sorted(areas_of[feeder_id])
                ],
                loose_callers=len(by_area.get(None, ())),
            )
            for feeder_id, by_area in sorted(callers.items())
        ]
        self.callers = callers
        county = placement.county_size()
        return inference.judge(
            feeders,
            total_customers=county["customers"],
            total_callers=len({c.caller_key for c in evidence}),
            total_areas=county["areas"],
            total_feeders=county["feeders"],
            params=self.setting.model_params(),
            decide_feeder=float(self.setting.feeder_event_at),
            decide_area=float(self.setting.area_event_at),
        )

    # -- making it true ----------------------------------------------------------------------------

    def run(self) -> None:
        judgement = self._judge(self._evidence())
        self.judgement = judgement
        self.report.background = judgement.background
        live = [e for e in self.events.values() if e.state in OPEN_EVENT]
        self.movable = [e for e in live if e.pk not in self.fixed]
        # The oldest open event of each device (``reversed``: the oldest wins the dict).
        self.feeder_events = {e.feeder_id: e for e in reversed(self.movable) if e.level == DeviceLevel.FEEDER}
        self.area_events = {
            e.transformer_area_id: e for e in reversed(self.movable) if e.level == DeviceLevel.AREA
        }
        failed_feeders, failed_areas = self._decide()
        self._demote_feeder_events(failed_feeders, failed_areas)
        self._feeder_faults(failed_feeders)
        self._area_faults(failed_areas, failed_feeders)
        self._customer_faults()
        self._write_counts_and_confidence()

    def _decide(self) -> tuple[dict[int, float], dict[int, float]]:
        """The failed feeders and areas (id → probability), with the hysteresis of the settings:
        made at ``*_event_at``, a feeder event kept until ``withdraw_below``, a hazard on a line and
        an area event never withdrawn by the model."""
        s, judgement = self.setting, self.judgement
        feeder_at, area_at, keep_at = (
            float(s.feeder_event_at),
            float(s.area_event_at),
            float(s.withdraw_below),
        )
        failed_feeders = {
            f: v.probability
            for f, v in judgement.feeders.items()
            if v.probability >= feeder_at or (f in self.feeder_events and v.probability >= keep_at)
        }
        for f, e in self.feeder_events.items():
            if e.hazard and f not in failed_feeders and e.transformer_area_id is None:
                failed_feeders[f] = judgement.feeder_probability(f)
        failed_areas = {
            area_id: p
            for f, v in judgement.feeders.items()
            if f not in failed_feeders
            for area_id, p in v.areas.items()
            if p >= area_at
        }
        for area_id, e in self.area_events.items():
            if e.feeder_id not in failed_feeders:
                failed_areas.setdefault(area_id, judgement.area_probability(e.feeder_id, area_id))
        return failed_feeders, failed_areas

    def _demote_feeder_events(self, failed_feeders: dict[int, float], failed_areas: dict[int, float]) -> None:
        """Feeder events the calls no longer carry become their busiest (failed) area's event; their
        calls elsewhere are let go, to be judged again below."""
        for f, e in sorted(self.feeder_events.items()):
            if f in failed_feeders:
                continue
            by_area = self.callers.get(f, {})
            free = [a for a in failed_areas if self._feeder_of_area(a) == f and a not in self.area_events]
            free = free or [a for a in by_area if a is not None and a not in self.area_events]
            if not free:
                failed_feeders[f] = self.judgement.feeder_probability(f)  # nowhere smaller to go: kept
                continue
            area_id = max(free, key=lambda a: (len(by_area.get(a, ())), -a))
            self._move(e, level=DeviceLevel.AREA, area_id=area_id)
            self.report.demoted.append(e.pk)
            failed_areas.setdefault(area_id, self.judgement.area_probability(f, area_id))
            self.area_events[area_id] = e
            let_go = {c.pk for c in self.calls if c.event_id == e.pk and c.transformer_area_id != area_id}
            if let_go:
                TroubleCall.objects.filter(pk__in=let_go).update(event=None, linked_at=None)
                for c in self.calls:
                    if c.pk in let_go:
                        c.event_id = None
        self.feeder_events = {f: e for f, e in self.feeder_events.items() if e.level == DeviceLevel.FEEDER}

    def _feeder_faults(self, failed_feeders: dict[int, float]) -> None:
        """Each failed feeder's event (kept, an area event promoted, or new) takes every event and
        call of the feeder."""
        for f in sorted(failed_feeders):
            event = self.feeder_events.get(f)
            if event is None:
                on_feeder = [
                    e
                    for e in self.movable
                    if e.level == DeviceLevel.AREA and e.feeder_id == f and e.state in OPEN_EVENT
                ]
                if on_feeder:
                    event = on_feeder[0]
                    self.area_events.pop(event.transformer_area_id, None)
                    self._move(event, level=DeviceLevel.FEEDER, feeder_id=f)
                    self.report.promoted.append(event.pk)
                else:
                    event = self._new(
                        DeviceLevel.FEEDER,
                        feeder_id=f,
                        note=_("同一线路多个台区报修，研判为线路故障（可信度 %(p)s%%）")
                        % {"p": _percent(failed_feeders[f])},
                    )
                self.feeder_events[f] = event
            for other in self.movable:
                if other.pk != event.pk and other.state in OPEN_EVENT and other.feeder_id == f:
                    self._absorb(other, event, _("并入线路故障事件"))
                    if other.level == DeviceLevel.AREA:
                        self.area_events.pop(other.transformer_area_id, None)
            self._link([c for c in self.calls if c.feeder_id == f and self._free(c, event)], event)
            self.confidence[event.pk] = failed_feeders[f]

    def _area_faults(self, failed_areas: dict[int, float], failed_feeders: dict[int, float]) -> None:
        """Each failed area (on a feeder that did not fail) has its event, which takes the area's
        customer events and calls."""
        for area_id in sorted(failed_areas):
            if self._feeder_of_area(area_id) in failed_feeders:
                continue
            event = self.area_events.get(area_id)
            if event is None:
                event = self._new(
                    DeviceLevel.AREA,
                    area_id=area_id,
                    note=_("同一台区多户报修，研判为台区（配变）故障（可信度 %(p)s%%）")
                    % {"p": _percent(failed_areas[area_id])},
                )
                self.area_events[area_id] = event
            for other in self.movable:
                if (
                    other.pk != event.pk
                    and other.state in OPEN_EVENT
                    and other.level == DeviceLevel.CUSTOMER
                    and other.transformer_area_id == area_id
                ):
                    self._absorb(other, event, _("并入台区故障事件"))
            self._link(
                [c for c in self.calls if c.transformer_area_id == area_id and self._free(c, event)], event
            )
            self.confidence[event.pk] = failed_areas[area_id]

    def _suspicion(self, feeder_id: int | None, area_id: int | None) -> float:
        """How likely the caller's own area or feeder is out."""
        return max(
            self.judgement.feeder_probability(feeder_id),
            self.judgement.area_probability(feeder_id, area_id),
        )

    def _customer_faults(self) -> None:
        """What is left is a customer's own fault — unless their area or feeder is suspect: then
        the event waits for a person, and a self-check event whose area became suspect leaves
        self-check."""
        suspect_at = float(self.setting.suspect_at)
        customer_events = {
            e.customer_id: e
            for e in reversed(self.movable)
            if e.level == DeviceLevel.CUSTOMER and e.state in OPEN_EVENT and e.customer_id
        }
        for call in self.calls:
            if call.event_id is not None or call.pk is None:
                continue
            if call.transformer_area_id is None:
                self.report.pending += 1  # unplaced, or on a feeder only: waits for a dispatcher
                continue
            suspicion = self._suspicion(call.feeder_id, call.transformer_area_id)
            event = customer_events.get(call.customer_id) if call.customer_id else None
            if event is None:
                event = self._new(
                    DeviceLevel.CUSTOMER,
                    area_id=call.transformer_area_id,
                    customer_id=call.customer_id,
                    note=_("单户报修，研判为客户内部故障，先引导客户自查")
                    if suspicion < suspect_at
                    else _("报修户所在台区或线路疑似停电，待进一步研判"),
                    suspect=suspicion >= suspect_at,
                )
                if call.customer_id:
                    customer_events[call.customer_id] = event
            self._link([call], event)
            self.confidence[event.pk] = 1.0 - suspicion
        for e in customer_events.values():
            if e.state != FaultEvent.State.SELF_CHECK or e.pk in self.fixed:
                continue
            suspicion = self._suspicion(e.feeder_id, e.transformer_area_id)
            if suspicion >= suspect_at:
                FaultEvent.objects.filter(pk=e.pk).update(state=FaultEvent.State.WAITING, updated_at=self.now)
                e.state = FaultEvent.State.WAITING
                EventUpdate.objects.create(
                    event=e,
                    action="suspect",
                    at=self.now,
                    from_state=FaultEvent.State.SELF_CHECK,
                    to_state=FaultEvent.State.WAITING,
                    note=_("所在台区或线路疑似停电，不再引导客户自查"),
                    data={"probability": round(suspicion, 2)},
                )
                self.touched[e.pk] = e
                self.confidence[e.pk] = 1.0 - suspicion

    def _write_counts_and_confidence(self) -> None:
        """Events that changed are recounted (with their confidence); the others whose confidence
        moved get it in one statement (only a change is written)."""
        rerated = []
        for pk, p in self.confidence.items():
            e = self.events.get(pk)
            if e is None or pk in self.touched or e.confirmed_at or e.state not in OPEN_EVENT:
                continue
            if e.confidence != _as_confidence(p):
                e.confidence = _as_confidence(p)
                rerated.append(e)
        if rerated:
            FaultEvent.objects.bulk_update(rerated, ["confidence"], batch_size=500)
        for e in self.touched.values():
            if e.state != FaultEvent.State.MERGED:
                refresh_event(e, self.now, confidence=self.confidence.get(e.pk))

    # -- helpers -------------------------------------------------------------------------------------

    def _feeder_of_area(self, area_id: int) -> int | None:
        area = self.area_info.get(area_id)
        if area is None:
            area = TransformerArea.objects.only("id", "feeder_id", "station_id", "area_class").get(pk=area_id)
            self.area_info[area_id] = area
        return area.feeder_id

    def _free(self, call: TroubleCall, target: FaultEvent) -> bool:
        """May the call move to ``target``? Not when a person's event holds it, nor already there."""
        return call.event_id != target.pk and call.event_id not in self.fixed

    def _link(self, calls: list[TroubleCall], event: FaultEvent) -> None:
        if calls:
            self.report.linked += _link(calls, event, self.now)
            self.touched[event.pk] = event

    def _absorb(self, source: FaultEvent, target: FaultEvent, note: str) -> None:
        absorb(source=source, target=target, now=self.now, note=note)
        for c in self.calls:
            if c.event_id == source.pk:
                c.event_id = target.pk
        self.touched.pop(source.pk, None)
        self.touched[target.pk] = target
        self.report.merged += 1

    def _new(self, level: str, *, area_id=None, feeder_id=None, customer_id=None, note="", suspect=False):
        if area_id is not None:
            area = self.area_info.get(area_id) or TransformerArea.objects.get(pk=area_id)
            station_id, feeder_id, area_class = area.station_id, area.feeder_id, area.area_class
        else:
            sample = next((a for a in self.area_info.values() if a.feeder_id == feeder_id), None)
            station_id, area_class = _feeder_station(feeder_id, sample), sample.area_class if sample else ""
        event = new_event(
            level=level,
            station_id=station_id,
            area_id=area_id if level != DeviceLevel.FEEDER else None,
            feeder_id=feeder_id,
            customer_id=customer_id,
            area_class=area_class,
            now=self.now,
            note=str(note),
        )
        if suspect and event.state == FaultEvent.State.SELF_CHECK:
            FaultEvent.objects.filter(pk=event.pk).update(state=FaultEvent.State.WAITING)
            event.state = FaultEvent.State.WAITING
        self.events[event.pk] = event
        self.touched[event.pk] = event
        self.report.created.append(event.pk)
        return event

    def _move(
        self, event: FaultEvent, *, level: str, area_id: int | None = None, feeder_id: int | None = None
    ):
        """改判 by the analysis: the event keeps its number, crew and orders; its device changes."""
        before = event.device_label
        if level == DeviceLevel.FEEDER:
            sample = self.area_info.get(event.transformer_area_id) if event.transformer_area_id else None
            event.level, event.feeder_id, event.transformer_area_id = level, feeder_id, None
            event.station_id = _feeder_station(feeder_id, sample)
            action, note = "promote", _("更多台区报修，升级为线路故障")
        else:
            area = self.area_info.get(area_id) or TransformerArea.objects.get(pk=area_id)
            event.level, event.transformer_area_id, event.feeder_id = level, area_id, area.feeder_id
            event.station_id, event.area_class = area.station_id, area.area_class
            action, note = "demote", _("来电集中在个别台区，改判为台区故障")
        event.updated_at = self.now
        event.save(
            update_fields=["level", "feeder", "transformer_area", "station", "area_class", "updated_at"]
        )
        refreshed = FaultEvent.objects.select_related("feeder", "transformer_area", "customer").get(
            pk=event.pk
        )
        EventUpdate.objects.create(
            event=event,
            action=action,
            at=self.now,
            note=str(note),
            data={"from": before, "to": refreshed.device_label, "level": level},
        )
        self.touched[event.pk] = event


def explain_by_known_outages(since: dt.datetime, now: dt.datetime) -> int:
    """Calls of customers inside a live (停电中) planned or temporary outage, or disconnected for
    arrears, are explained by it: marked (``explained_by``, ``known_outage``) and kept out of the
    evidence; their orders go to the station's repair team, to tell the customer what is known.
    Returns how many calls were explained."""
    from gridcare.outages.models import Outage, OutageCustomer, OutageKind, OutageState

    pending = TroubleCall.objects.filter(
        event__isnull=True, received_at__gte=since, explained_by="", customer__isnull=False
    )
    live = Outage.objects.filter(
        kind__in=[OutageKind.PLANNED, OutageKind.TEMPORARY], state=OutageState.IN_PROGRESS
    )
    in_outage = dict(
        OutageCustomer.objects.filter(outage__in=live, customer_id__in=pending.values("customer_id"))
        .order_by("outage_id")
        .values_list("customer_id", "outage_id")
    )
    explained = []
    for call in pending.filter(
        Q(customer_id__in=list(in_outage)) | Q(customer__status=Customer.Status.DISCONNECTED)
    ).select_related("order", "station"):
        outage_id = in_outage.get(call.customer_id)
        call.explained_by = TroubleCall.Explained.OUTAGE if outage_id else TroubleCall.Explained.ARREARS
        call.known_outage_id = outage_id
        TroubleCall.objects.filter(pk=call.pk).update(
            explained_by=call.explained_by, known_outage_id=outage_id, linked_at=now
        )
        explained.append(call)
    system = system_actor() if explained else None
    for call in explained:
        if call.order.state != WorkOrderState.ACCEPTED or call.station is None:
            continue
        note = (
            _("客户在已发布的停电范围内（%(number)s），请告知停电原因及预计恢复时间")
            % {"number": Outage.objects.values_list("number", flat=True).get(pk=call.known_outage_id)}
            if call.known_outage_id
            else _("客户因欠费停电，请告知缴费复电办理方式")
        )
        try:
            perform_on_order(
                call.order, "dispatch", None, system, note=str(note), unit=repair_unit_of(call.station)
            )
        except ApiError as exc:
            log.warning("explained order %s not dispatched: %s", call.order.number, exc.message)
    return len(explained)


def _feeder_station(feeder_id: int, sample: TransformerArea | None) -> int:
    """The feeder's maintaining station (运维单位) when it is a station, else its areas' station."""
    feeder = Feeder.objects.select_related("unit").get(pk=feeder_id)
    if feeder.unit.kind == Unit.Kind.STATION:
        return feeder.unit_id
    return sample.station_id if sample else feeder.unit_id
