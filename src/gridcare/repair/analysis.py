"""Trouble-call analysis (故障研判): roll calls, once placed on the topology (``placement``), up
into outage events on the device that most likely failed.

Rules (thresholds are ``RepairSetting`` data, see docs/repair.md):

- Several customers of one transformer area (≥ ``area_min_customers`` and ≥ ``area_min_share`` of
  the area's customers) → the area's transformer is the suspect (event level ``area``).
- Several suspect areas on one feeder (≥ ``feeder_min_areas`` and ≥ ``feeder_min_share`` of the
  feeder's areas) → the feeder is the suspect; its area events are merged into it.
- A single customer → a customer-side fault (level ``customer``, state 引导客户自查); it is
  absorbed into an area or feeder event when neighbours call too.
- Calls on a device with an open event link to it (and get no new field work).

``roll_up`` is idempotent: run it again with no new calls and nothing changes ("stable").
Dispatcher decisions are respected: a confirmed event is never merged or moved by the roll-up.
"""

from __future__ import annotations

import datetime as dt
import math
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, Min, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce

from gridcare.core import clock, numbering
from gridcare.customers.models import Customer, Feeder, TransformerArea
from gridcare.org.models import Unit
from gridcare.org.types import Actor
from gridcare.workorders.models import OPEN_STATES, WorkOrder

from .dispatching import transfer_assignments
from .models import DeviceLevel, EventUpdate, FaultEvent, RepairSetting, TroubleCall
from .outage_link import take_over_outage
from .placement import place_new_orders

OPEN_EVENT = FaultEvent.OPEN_STATES


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
    merged: int = 0
    pending: int = 0  # calls that could not be placed (wait for a dispatcher)
    processed: int = 0  # queued calls (来电登记) processed before the roll-up
    failed: int = 0  # queued calls whose processing failed (kept, failed, for a person)
    queue_left: bool = False  # queued calls remain for the next run

    @property
    def changed(self) -> bool:
        return bool(
            self.placed or self.linked or self.created or self.merged or self.processed or self.failed
        )


def area_threshold(setting: RepairSetting, customers_in_area: int) -> int:
    share = math.ceil(float(setting.area_min_share) * customers_in_area)
    return max(int(setting.area_min_customers), share, 1)


def feeder_threshold(setting: RepairSetting, areas_on_feeder: int) -> int:
    share = math.ceil(float(setting.feeder_min_share) * areas_on_feeder)
    return max(int(setting.feeder_min_areas), share, 1)


def _confidence(count: int, threshold: int) -> Decimal:
    value = 0.5 + 0.45 * min(1.0, (count - threshold + 1) / max(threshold, 1))
    return Decimal(str(round(min(value, 0.95), 2)))


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


def refresh_event(event: FaultEvent, now: dt.datetime, setting: RepairSetting | None = None) -> FaultEvent:
    """Recount calls, callers and affected customers; pick the primary order; re-rate confidence."""
    setting = setting or RepairSetting.current()
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
    elif event.level == DeviceLevel.AREA and event.transformer_area_id:
        total = Customer.objects.filter(transformer_area_id=event.transformer_area_id).count()
        event.confidence = _confidence(event.caller_count, area_threshold(setting, total))
    elif event.level == DeviceLevel.FEEDER and event.feeder_id:
        areas = TransformerArea.objects.filter(feeder_id=event.feeder_id).count()
        hit = calls.exclude(transformer_area__isnull=True).values("transformer_area_id").distinct().count()
        event.confidence = _confidence(hit, feeder_threshold(setting, areas))
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
        touched: dict[int, FaultEvent] = {}

        # Calls that a racing intake linked to an event merged meanwhile follow the merge.
        for merged in FaultEvent.objects.filter(
            state=FaultEvent.State.MERGED, calls__isnull=False
        ).distinct():
            target = follow_merges(merged)
            TroubleCall.objects.filter(event=merged).update(event=target)
            touched[target.pk] = target

        pending = list(
            TroubleCall.objects.filter(
                event__isnull=True, received_at__gte=since, order__state__in=OPEN_STATES
            ).order_by("received_at", "id")
        )
        open_events = list(FaultEvent.objects.filter(state__in=OPEN_EVENT).order_by("created_at", "id"))
        by_device = FaultEvent.oldest_by_device(open_events)
        by_feeder, by_area, by_customer = (
            by_device[level] for level in (DeviceLevel.FEEDER, DeviceLevel.AREA, DeviceLevel.CUSTOMER)
        )

        # 1. Calls on a device that already has an open event.
        remaining: list[TroubleCall] = []
        links: dict[int, list[TroubleCall]] = defaultdict(list)
        for call in pending:
            event = by_feeder.get(call.feeder_id) or by_area.get(call.transformer_area_id)
            if event is None and call.customer_id:
                event = by_customer.get(call.customer_id)
                # A neighbour calling makes a customer event a candidate area event: re-evaluate below.
                if event is not None and call.transformer_area_id:
                    remaining.append(call)
                    continue
            if event is None:
                remaining.append(call)
            else:
                links[event.pk].append(call)
                touched[event.pk] = event
        events_by_id = {e.pk: e for e in open_events}
        for event_id, calls in links.items():
            report.linked += _link(calls, events_by_id[event_id], now)

        # 2. Areas where enough different customers call (customer events there count too).
        callers_by_area: dict[int, set[str]] = defaultdict(set)
        for call in remaining:
            if call.transformer_area_id:
                callers_by_area[call.transformer_area_id].add(call.caller_key)
        customer_events_by_area: dict[int, list[FaultEvent]] = defaultdict(list)
        if callers_by_area:
            for e in open_events:
                if (
                    e.level == DeviceLevel.CUSTOMER
                    and not e.confirmed_at
                    and e.transformer_area_id in callers_by_area
                ):
                    customer_events_by_area[e.transformer_area_id].append(e)
            for area_id, events in customer_events_by_area.items():
                keys = TroubleCall.objects.filter(event__in=events).values_list("caller_key", flat=True)
                callers_by_area[area_id].update(keys)
        sizes = dict(
            Customer.objects.filter(transformer_area_id__in=list(callers_by_area))
            .values_list("transformer_area_id")
            .annotate(n=Count("id"))
        )
        areas = {
            a.pk: a
            for a in TransformerArea.objects.filter(pk__in=list(callers_by_area)).only(
                "id", "feeder_id", "station_id", "area_class"
            )
        }
        qualifying = {
            area_id
            for area_id, keys in callers_by_area.items()
            if len(keys) >= area_threshold(setting, sizes.get(area_id, 0))
        }

        # 3. Feeders where enough areas are suspect (open area events plus newly qualifying areas).
        suspect_areas_by_feeder: dict[int, set[int]] = defaultdict(set)
        for e in open_events:
            if e.level == DeviceLevel.AREA and e.state in OPEN_EVENT:
                suspect_areas_by_feeder[e.feeder_id].add(e.transformer_area_id)
        for area_id in qualifying:
            suspect_areas_by_feeder[areas[area_id].feeder_id].add(area_id)
        feeder_sizes = dict(
            TransformerArea.objects.filter(feeder_id__in=list(suspect_areas_by_feeder))
            .values_list("feeder_id")
            .annotate(n=Count("id"))
        )
        new_feeders = [
            feeder_id
            for feeder_id, hit in suspect_areas_by_feeder.items()
            if feeder_id not in by_feeder
            and len(hit) >= feeder_threshold(setting, feeder_sizes.get(feeder_id, 0))
        ]
        for feeder_id in sorted(new_feeders):
            sample = (
                next(
                    (areas[a] for a in suspect_areas_by_feeder[feeder_id] if a in areas),
                    None,
                )
                or TransformerArea.objects.filter(feeder_id=feeder_id).first()
            )
            feeder_event = new_event(
                level=DeviceLevel.FEEDER,
                station_id=_feeder_station(feeder_id, sample),
                feeder_id=feeder_id,
                area_class=sample.area_class if sample else "",
                now=now,
                note=f"同一线路 {len(suspect_areas_by_feeder[feeder_id])} 个台区报修，研判为线路故障",
            )
            report.created.append(feeder_event.pk)
            by_feeder[feeder_id] = feeder_event
            touched[feeder_event.pk] = feeder_event
            for e in open_events:
                if e.state not in OPEN_EVENT or e.confirmed_at:
                    continue
                on_feeder = e.feeder_id == feeder_id or (
                    e.level != DeviceLevel.FEEDER and e.transformer_area_id and _area_feeder(e) == feeder_id
                )
                if on_feeder and e.level != DeviceLevel.FEEDER:
                    absorb(source=e, target=feeder_event, now=now, note="并入线路故障事件")
                    touched.pop(e.pk, None)
                    report.merged += 1
            calls = [c for c in remaining if c.feeder_id == feeder_id]
            report.linked += _link(calls, feeder_event, now)
            remaining = [c for c in remaining if c.event_id is None]

        # 4. New area events (absorbing the area's customer events).
        for area_id in sorted(qualifying):
            area = areas[area_id]
            if area.feeder_id in by_feeder or area_id in by_area:
                continue
            event = new_event(
                level=DeviceLevel.AREA,
                station_id=area.station_id,
                area_id=area_id,
                feeder_id=area.feeder_id,
                area_class=area.area_class,
                now=now,
                note=f"同一台区 {len(callers_by_area[area_id])} 户报修，研判为台区（配变）故障",
            )
            report.created.append(event.pk)
            by_area[area_id] = event
            touched[event.pk] = event
            for e in customer_events_by_area.get(area_id, []):
                if e.state in OPEN_EVENT:
                    absorb(source=e, target=event, now=now, note="并入台区故障事件")
                    touched.pop(e.pk, None)
                    report.merged += 1
            report.linked += _link([c for c in remaining if c.transformer_area_id == area_id], event, now)
        remaining = [c for c in remaining if c.event_id is None]

        # 5. What is left is a single customer's fault (or a caller the address could not place).
        for call in remaining:
            if call.transformer_area_id is None and call.feeder_id is None:
                report.pending += 1
                continue
            if call.transformer_area_id is None:
                report.pending += 1  # placed on a feeder only: waits for a feeder event or a dispatcher
                continue
            event = by_customer.get(call.customer_id) if call.customer_id else None
            if event is None:
                area = areas.get(call.transformer_area_id) or TransformerArea.objects.get(
                    pk=call.transformer_area_id
                )
                event = new_event(
                    level=DeviceLevel.CUSTOMER,
                    station_id=area.station_id,
                    area_id=area.pk,
                    feeder_id=area.feeder_id,
                    customer_id=call.customer_id,
                    area_class=area.area_class,
                    now=now,
                    note="单户报修，研判为客户内部故障，先引导客户自查",
                )
                report.created.append(event.pk)
                if call.customer_id:
                    by_customer[call.customer_id] = event
            touched[event.pk] = event
            report.linked += _link([call], event, now)

        for event in touched.values():
            if event.state != FaultEvent.State.MERGED:
                refresh_event(event, now, setting)
    return report


def _area_feeder(event: FaultEvent) -> int | None:
    if event.feeder_id:
        return event.feeder_id
    return (
        TransformerArea.objects.filter(pk=event.transformer_area_id)
        .values_list("feeder_id", flat=True)
        .first()
    )


def _feeder_station(feeder_id: int, sample: TransformerArea | None) -> int:
    """The feeder's maintaining station (运维单位) when it is a station, else its areas' station."""
    feeder = Feeder.objects.select_related("unit").get(pk=feeder_id)
    if feeder.unit.kind == Unit.Kind.STATION:
        return feeder.unit_id
    return sample.station_id if sample else feeder.unit_id
