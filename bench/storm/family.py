"""bench/storm --family: a family of storms on generated counties, each scored against its truth.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gc_bench_family python -m bench.storm --family
        [--smoke] [--held-out] [--scenario NAME ...] [--tick SECONDS] [--export-csv DIR] [--county-only]

For each scenario (``bench/storm/scenarios.py``): the benchmark's database is emptied, a county is
generated from the scenario's parameters (``county_gen``) and a storm drawn over it (``storm_gen``).
The storm is then driven through GridCare's own services in simulated time: every tick (default
30 s of simulated time) the calls whose time has come are filed with
``repair.services.report_fault_call`` under ``clock.frozen(call time)`` (received_at = that time, as
a 95598 agent), then ``repair.services.run_analysis(now=tick, process_seconds=None)`` runs under
``clock.frozen(tick)``. After each tick the benchmark notes, for every faulted device, the first
tick at which an open event on exactly that device holds calls, and its first crew assignment.

Scored per scenario (GridCare beside the naive groupers N1 and N2 of ``naive.py`` on the same
placed calls): calls on the right event, faulted devices found, spurious device events; for GridCare
also the simulated time from a device's first call to its event (transformer and feeder apart),
from the event to its first dispatch (and whether a crew was free while it waited), and the share
of the faulted devices' customers covered by a fault outage at the end.

Targets (issue 15), in every scenario whose faulted devices' customers call at ≥ 5 %: calls right
≥ 97 %, devices found ≥ 97 %, spurious ≤ 3 %, median first call → transformer event ≤ 4 min and
→ feeder event ≤ 10 min, first dispatch within 5 min of the event whenever a crew is free.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import inspect
import math
import os
import statistics
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from bench import common

from . import scenarios as sc
from .county_gen import CountyIds, CountyPlan, plan_county, write_county
from .naive import Device, Grouping, PlacedCall, Predicted, Score, Topology, evident_devices, n1, n2, score
from .storm_gen import Storm, export_csv, generate_storm

# A Tuesday afternoon (Asia/Shanghai): the day shift is on duty.
STORM_START = (2026, 7, 14, 15, 0)
SETTLE_MINUTES = 10  # ticks go on this long after the storm's last minute
AREA_TARGET_S = 240
FEEDER_TARGET_S = 600
DISPATCH_TARGET_S = 300
TARGET_RIGHT, TARGET_FOUND, TARGET_SPURIOUS = 0.97, 0.97, 0.03


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench.storm --family", description=__doc__.split("\n\n")[2])
    p.add_argument("--family", action="store_true", help="(this mode)")
    p.add_argument("--smoke", action="store_true", help="two small scenarios (CI)")
    p.add_argument(
        "--held-out", action="store_true", help="the held-out scenarios instead of the development ones"
    )
    p.add_argument("--scenario", action="append", default=[], help="only this scenario (repeatable)")
    p.add_argument("--tick", type=float, default=30.0, help="simulated seconds per tick (default 30)")
    p.add_argument("--export-csv", type=Path, help="write each scenario's calls (and truth) as CSV into DIR")
    p.add_argument(
        "--county-only", action="store_true", help="write the county (and --export-csv), drive no storm"
    )
    p.add_argument("--list", action="store_true", help="print the development scenarios' parameters and stop")
    return p.parse_args(argv)


def selected(args: argparse.Namespace) -> list[sc.Scenario]:
    if args.scenario:
        return [sc.by_name(name) for name in args.scenario]
    if args.smoke:
        return list(sc.SMOKE)
    if args.held_out:
        return list(sc.HELD_OUT)
    return list(sc.DEV)


# --- the database -------------------------------------------------------------------------------------


def reset_database() -> None:
    """Empty what a county and a storm write (TRUNCATE … CASCADE from the roots); the rows the
    migrations seed (settings, calendars, time-limit policies, notice rules) stay."""
    from django.db import connection
    from django_tasks_db.models import DBTaskResult

    from gridcare.customers.models import Substation
    from gridcare.notify.models import Message
    from gridcare.org.models import Unit, User
    from gridcare.outages.models import Outage
    from gridcare.repair.models import AnalysisWakeup, Crew, FaultEvent, ReportedCall, TroubleCall
    from gridcare.workorders.models import WorkOrder

    roots = [Unit, User, Substation, WorkOrder, Crew, Outage, Message, FaultEvent, TroubleCall, ReportedCall]
    roots += [AnalysisWakeup, DBTaskResult]
    tables = ", ".join(connection.ops.quote_name(m._meta.db_table) for m in roots)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
    forget_process_caches()


def forget_process_caches() -> None:
    """What this process remembers about the rows just emptied (the system account, topology,
    open events, settings, tokens, policies): forgotten, as the test suite does between tests."""
    import importlib

    for module, name in (
        ("gridcare.repair.placement", "reset_caches"),
        ("gridcare.repair.dispatching", "forget_system_actor"),
        ("gridcare.org.services", "forget_tokens"),
        ("gridcare.workorders.policies", "forget_policies"),
        ("gridcare.core.calendar", "invalidate"),
    ):
        with contextlib.suppress(ImportError, AttributeError):
            getattr(importlib.import_module(module), name)()
    from gridcare.core.models import SettingsRow

    SettingsRow.forget_all()


def analyze_growing_tables() -> None:
    """Planner statistics for the tables a storm fills (this PostgreSQL may run without
    autovacuum); it changes wall time only, never a simulated figure."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    from gridcare.outages.models import Outage, OutageCustomer
    from gridcare.repair.models import CrewAssignment, EventUpdate, FaultEvent, TroubleCall
    from gridcare.workorders.models import WorkOrder

    with connection.cursor() as cursor:
        for model in (
            WorkOrder,
            TroubleCall,
            FaultEvent,
            EventUpdate,
            CrewAssignment,
            Outage,
            OutageCustomer,
        ):
            cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def analysis_parameters() -> str:
    from gridcare.repair.models import RepairSetting

    setting = RepairSetting.current()
    return " ".join(
        f"{f.name}={getattr(setting, f.attname)}" for f in setting._meta.concrete_fields if not f.primary_key
    )


# --- driving the storm through the services ----------------------------------------------------------


@dataclass
class DeviceTrack:
    first_call: float  # seconds into the storm
    seen: float | None = None  # first tick with an open event on exactly this device holding calls
    dispatched: float | None = None  # first crew assignment of that event (seconds into the storm)
    waited_with_free_crew: bool = False  # seen, not yet dispatched, while some crew had no job


@dataclass
class Drive:
    orders: list[int | None]  # the work order of each call (None: the call failed)
    tracks: dict[Device, DeviceTrack]
    failures: list[str] = field(default_factory=list)
    ticks: int = 0
    seconds_calls: float = 0.0
    seconds_analysis: float = 0.0
    seconds_observe: float = 0.0


def truth_ids(storm: Storm, ids: CountyIds) -> list[Device]:
    out: list[Device] = []
    for call in storm.calls:
        kind, index = call.truth
        if kind == "feeder":
            out.append(("feeder", ids.feeder_id(index)))
        elif kind == "area":
            out.append(("area", ids.area_id(index)))
        else:
            out.append(("customer", ids.customer_id(index)))
    return out


def drive(storm: Storm, plan: CountyPlan, ids: CountyIds, tick: float, minutes: int) -> Drive:
    from django.db.models import Exists, OuterRef

    from gridcare.core import clock
    from gridcare.customers.models import Customer
    from gridcare.org.models import User
    from gridcare.repair.models import Crew, CrewAssignment, DeviceLevel, FaultEvent, TroubleCall
    from gridcare.repair.services import report_fault_call, run_analysis

    start = dt.datetime(*STORM_START, tzinfo=clock.LOCAL_TZ)
    agent = User.objects.get(pk=ids.agent_id)
    accepted = inspect.signature(report_fault_call).parameters
    callers = {ids.customer_id(c.customer) for c in storm.calls if c.account}
    customers = {c.pk: c for c in Customer.objects.filter(pk__in=callers).select_related("transformer_area")}
    truths = truth_ids(storm, ids)
    tracks: dict[Device, DeviceTrack] = {}
    for call, truth in zip(storm.calls, truths, strict=True):
        if truth[0] != "customer" and truth not in tracks:
            tracks[truth] = DeviceTrack(first_call=call.at)
    result = Drive(orders=[], tracks=tracks)
    open_states = list(FaultEvent.OPEN_STATES)
    holding = (
        FaultEvent.objects.filter(state__in=open_states, level__in=[DeviceLevel.AREA, DeviceLevel.FEEDER])
        .filter(Exists(TroubleCall.objects.filter(event_id=OuterRef("pk"))))
        .values_list("pk", "level", "transformer_area_id", "feeder_id")
    )
    idle_crew = (
        Crew.objects.filter(is_active=True, members__isnull=False)
        .exclude(status=Crew.Status.OFF)
        .exclude(Exists(CrewAssignment.objects.filter(crew_id=OuterRef("pk"), released_at__isnull=True)))
    )

    i, t, end = 0, 0.0, minutes * 60 + SETTLE_MINUTES * 60
    while t < end:
        t = min(t + tick, end)
        started = time.perf_counter()
        while i < len(storm.calls) and storm.calls[i].at < t:
            call = storm.calls[i]
            when = start + dt.timedelta(seconds=call.at)
            kwargs: dict = {"actor": agent, "content": call.content, "received_at": when}
            if call.account:
                kwargs["customer"] = customers[ids.customer_id(call.customer)]
                kwargs["caller_phone"] = call.phone
            else:
                kwargs["caller_phone"] = call.phone
                kwargs["address"] = call.address
            if call.hazard:
                kwargs["hazard"] = True
            if "wake" in accepted:
                kwargs["wake"] = False  # the benchmark runs the analysis itself, every tick
            try:
                with clock.frozen(when):
                    answer = report_fault_call(**kwargs)
                result.orders.append(answer.order.pk)
            except Exception as exc:  # counted and shown: a failed call is a wrong call
                result.orders.append(None)
                result.failures.append(f"{call.at:.0f} s: {type(exc).__name__}: {exc}"[:300])
            i += 1
        now = start + dt.timedelta(seconds=t)
        result.seconds_calls += time.perf_counter() - started
        started = time.perf_counter()
        with clock.frozen(now):
            run_analysis(now=now, process_seconds=None)
        result.seconds_analysis += time.perf_counter() - started
        started = time.perf_counter()
        result.ticks += 1
        _observe(t, start, tracks, holding, idle_crew)
        if result.ticks % 20 == 0:
            analyze_growing_tables()
        result.seconds_observe += time.perf_counter() - started
    return result


def _observe(t: float, start: dt.datetime, tracks: dict[Device, DeviceTrack], holding, idle_crew) -> None:
    """After the tick at ``t``: the faulted devices whose exact event now holds calls, that event's
    first crew assignment, and, for those still waiting, whether some crew has no job."""
    from django.db.models import Min

    from gridcare.repair.models import CrewAssignment

    events_of: dict[Device, list[int]] = defaultdict(list)
    for pk, level, area_id, feeder_id in holding.all():  # a fresh query each tick
        device = ("feeder", feeder_id) if level == "feeder" else ("area", area_id)
        if device in tracks:
            events_of[device].append(pk)
    waiting = []
    for device, pks in events_of.items():
        track = tracks[device]
        if track.seen is None:
            track.seen = t
        if track.dispatched is None:
            waiting.append((device, pks))
    if not waiting:
        return
    first = dict(
        CrewAssignment.objects.filter(event_id__in=[pk for _d, pks in waiting for pk in pks])
        .values("event_id")
        .annotate(first=Min("assigned_at"))
        .values_list("event_id", "first")
    )
    still = []
    for device, pks in waiting:
        times = [first[pk] for pk in pks if pk in first]
        if times:
            tracks[device].dispatched = (min(times) - start).total_seconds()
        else:
            still.append(device)
    if still and idle_crew.exists():
        for device in still:
            tracks[device].waited_with_free_crew = True


# --- scoring -----------------------------------------------------------------------------------------


@dataclass
class Result:
    scenario: sc.Scenario
    plan: CountyPlan
    ids: CountyIds
    storm: Storm
    drive: Drive
    gridcare: Score
    naive1: Score
    naive2: Score
    faulted: set[Device]
    evident: set[Device]
    area_times: list[float]  # first call → event, seconds (inf: never)
    feeder_times: list[float]
    dispatch_delays: list[float]  # event → first dispatch (inf: never)
    dispatch_ok: int
    dispatch_n: int
    covered: int
    faulted_customers: int
    crews_on_spurious: int
    seconds_county: float
    seconds_total: float = 0.0

    @property
    def area_median(self) -> float:
        return statistics.median(self.area_times) if self.area_times else math.nan

    @property
    def feeder_median(self) -> float:
        return statistics.median(self.feeder_times) if self.feeder_times else math.nan

    def checks(self) -> dict[str, bool]:
        g = self.gridcare
        out = {
            "calls right ≥ 97 %": g.right_share >= TARGET_RIGHT,
            "devices found ≥ 97 %": not g.devices or g.found_share >= TARGET_FOUND,
            "spurious ≤ 3 %": g.spurious_share <= TARGET_SPURIOUS,
            "transformer event median ≤ 4 min": not self.area_times or self.area_median <= AREA_TARGET_S,
            "feeder event median ≤ 10 min": not self.feeder_times or self.feeder_median <= FEEDER_TARGET_S,
            "dispatch ≤ 5 min when a crew is free": self.dispatch_ok == self.dispatch_n,
        }
        return out


def explain(truths, predicted, device_events, faulted, evident, storm) -> None:
    """BENCH_EXPLAIN=1: what GridCare missed and what it made up, call by call (for whoever works on
    the analysis; never part of a figure)."""
    from collections import Counter

    callers: dict = defaultdict(set)
    for truth, call in zip(truths, storm.calls, strict=True):
        callers[truth].add(call.customer)
    found = set(device_events)
    for device in sorted(evident - found):
        wrong = Counter(p for t, p in zip(truths, predicted, strict=True) if t == device)
        print(f"    missed {device}: {len(callers[device])} callers; their calls went to {dict(wrong)}")
    for device in sorted(set(device_events) - faulted):
        on = Counter(t for t, p in zip(truths, predicted, strict=True) if p == device)
        print(f"    spurious {device}: calls by truth {dict(on)}")


def score_run(
    scenario: sc.Scenario, plan: CountyPlan, ids: CountyIds, storm: Storm, run: Drive, seconds_county: float
) -> Result:
    from gridcare.outages.models import LIVE_STATES, OutageCustomer, OutageKind
    from gridcare.repair.analysis import follow_merges
    from gridcare.repair.models import CrewAssignment, DeviceLevel, FaultEvent, TroubleCall

    truths = truth_ids(storm, ids)
    faulted = {t for t in truths if t[0] != "customer"}
    faulted |= {
        ("feeder", ids.feeder_id(f.device[1]))
        if f.device[0] == "feeder"
        else ("area", ids.area_id(f.device[1]))
        for f in storm.faults
    }
    evident = evident_devices(truths, [c.customer for c in storm.calls])

    order_ids = {o for o in run.orders if o is not None}
    rows = {
        order: (event, key, customer, area, feeder)
        for order, event, key, customer, area, feeder in TroubleCall.objects.filter(
            order_id__in=order_ids
        ).values_list("order_id", "event_id", "caller_key", "customer_id", "transformer_area_id", "feeder_id")
    }
    events = {e.pk: e for e in FaultEvent.objects.all()}
    final = {pk: follow_merges(e) for pk, e in events.items()}
    gone = (FaultEvent.State.MERGED, FaultEvent.State.CANCELLED)

    def device_of(e: FaultEvent) -> Predicted:
        if e.state in gone:
            return None
        if e.level == DeviceLevel.FEEDER:
            return ("feeder", e.feeder_id)
        if e.level == DeviceLevel.AREA:
            return ("area", e.transformer_area_id)
        if e.level == DeviceLevel.CUSTOMER:
            return ("customer", e.customer_id)
        return (str(e.level), e.pk)  # a level this county has no device of (never a truth)

    predicted: list[Predicted] = []
    placed: list[PlacedCall] = []
    for order in run.orders:
        row = rows.get(order) if order is not None else None
        if row is None:
            predicted.append(None)
            placed.append(PlacedCall(f"failed{len(placed)}", None, None, None))
            continue
        event_id, key, customer, area, feeder = row
        predicted.append(device_of(final[event_id]) if event_id is not None else None)
        placed.append(PlacedCall(key, customer, area, feeder))
    live = {e.pk: e for e in final.values() if e.state not in gone and e.level != DeviceLevel.CUSTOMER}
    device_events = [d for d in (device_of(e) for e in live.values()) if d is not None]
    gridcare = score(truths, predicted, device_events, faulted, evident)
    if os.environ.get("BENCH_EXPLAIN"):
        explain(truths, predicted, device_events, faulted, evident, storm)

    topology = Topology(
        area_customers={ids.area_id(a.index): a.customers for a in plan.areas},
        feeder_areas={ids.feeder_id(f.index): len(f.areas) for f in plan.feeders},
    )
    naive: list[Score] = []
    for grouper in (n1, n2):
        grouping: Grouping = grouper(placed, topology)
        naive.append(score(truths, grouping.devices, grouping.device_events, faulted, evident))

    area_times, feeder_times, delays = [], [], []
    dispatch_ok = 0
    for device in sorted(evident):
        track = run.tracks[device]
        to_event = track.seen - track.first_call if track.seen is not None else math.inf
        (feeder_times if device[0] == "feeder" else area_times).append(max(0.0, to_event))
        if track.seen is None:
            continue
        delay = max(0.0, track.dispatched - track.seen) if track.dispatched is not None else math.inf
        delays.append(delay)
        if delay <= DISPATCH_TARGET_S or not track.waited_with_free_crew:
            dispatch_ok += 1

    evident_areas = []
    for kind, pk in evident:
        if kind == "area":
            evident_areas.append(pk)
        else:
            evident_areas.extend(ids.area_id(a) for a in plan.feeders[pk - ids.feeder].areas)
    faulted_customers = sum(plan.areas[a - ids.area].customers for a in evident_areas)
    covered = (
        OutageCustomer.objects.filter(
            outage__kind=OutageKind.FAULT,
            outage__state__in=LIVE_STATES,
            transformer_area_id__in=evident_areas,
        )
        .values("customer_id")
        .distinct()
        .count()
    )
    crews_on_spurious = 0
    for level, area, feeder in CrewAssignment.objects.filter(released_at__isnull=True).values_list(
        "event__level", "event__transformer_area_id", "event__feeder_id"
    ):
        device = ("feeder", feeder) if level == DeviceLevel.FEEDER else ("area", area)
        if level != DeviceLevel.CUSTOMER and device not in faulted:
            crews_on_spurious += 1
    return Result(
        scenario=scenario,
        plan=plan,
        ids=ids,
        storm=storm,
        drive=run,
        gridcare=gridcare,
        naive1=naive[0],
        naive2=naive[1],
        faulted=faulted,
        evident=evident,
        area_times=area_times,
        feeder_times=feeder_times,
        dispatch_delays=delays,
        dispatch_ok=dispatch_ok,
        dispatch_n=len(delays),
        covered=covered,
        faulted_customers=faulted_customers,
        crews_on_spurious=crews_on_spurious,
        seconds_county=seconds_county,
    )


# --- printing ----------------------------------------------------------------------------------------


def minutes(seconds: float) -> str:
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "–"
    if math.isinf(seconds):
        return "never"
    return f"{seconds / 60:.1f}"


def pct(x: float) -> str:
    return "–" if math.isnan(x) else f"{x:.1%}"


def score_line(label: str, s: Score) -> str:
    return (
        f"   {label:<9} calls right {s.right:>6,}/{s.calls:<6,} {pct(s.right_share):>6}   "
        f"devices found {s.found:>3}/{s.devices:<3} {pct(s.found_share):>6}   "
        f"spurious {s.spurious:>3}/{s.device_events:<3} {pct(s.spurious_share):>6}"
    )


def print_scenario(r: Result) -> None:
    s, plan, storm, run = r.scenario, r.plan, r.storm, r.drive
    kinds = defaultdict(int)
    for f in storm.faults:
        kinds[f.device[0]] += 1
    silent = len(r.faulted) - len(r.evident)
    repeats = sum(1 for c in storm.calls if c.repeat)
    print(f"\n-- {s.name} (seed {s.seed}; {'gated' if s.gated else 'not gated: calling below 5 %'}) --")
    print(f"   {s.about}")
    print(f"   parameters: {s.describe()}")
    members = sum(c.members for c in plan.crews)
    print(
        f"   county: {len(plan.stations)} stations, {len(plan.feeders)} feeders, {len(plan.areas):,} areas, "
        f"{len(plan.customers):,} customers, {len(plan.crews)} crews ({members} members); "
        f"written in {r.seconds_county:.1f} s"
    )
    print(
        f"   storm: {len(storm.calls):,} calls ({repeats} repeated, "
        f"{sum(1 for c in storm.calls if not c.account)} without account, "
        f"{sum(1 for c in storm.calls if c.hazard)} hazard, {len(storm.lone_customers)} lone faults) about "
        f"{len(storm.faults)} faulted devices ({kinds['feeder']} feeders, {kinds['area']} transformers; "
        f"{silent} with < 2 callers, not counted in devices found)"
    )
    print(
        f"   driven: {run.ticks} ticks in {r.seconds_total:.0f} s wall (calls {run.seconds_calls:.0f} s, "
        f"analysis {run.seconds_analysis:.0f} s, observing {run.seconds_observe:.0f} s); "
        f"{len(run.failures)} calls failed"
    )
    for failure in run.failures[:3]:
        print(f"     failed: {failure}")
    print(score_line("GridCare", r.gridcare))
    print(score_line("N1", r.naive1))
    print(score_line("N2", r.naive2))
    area_never = sum(1 for x in r.area_times if math.isinf(x))
    feeder_never = sum(1 for x in r.feeder_times if math.isinf(x))
    print(
        f"   GridCare, first call → event (simulated min): transformer median {minutes(r.area_median)} max "
        f"{minutes(max(r.area_times, default=math.nan))} ({len(r.area_times)} devices, {area_never} never); "
        f"feeder median {minutes(r.feeder_median)} max {minutes(max(r.feeder_times, default=math.nan))} "
        f"({len(r.feeder_times)} devices, {feeder_never} never)"
    )
    delays = r.dispatch_delays
    print(
        f"   GridCare, event → first dispatch (min): median {minutes(statistics.median(delays) if delays else math.nan)} "
        f"max {minutes(max(delays, default=math.nan))}; within 5 min or no crew free while waiting "
        f"{r.dispatch_ok}/{r.dispatch_n}; crews held by spurious events at the end {r.crews_on_spurious}"
    )
    print(
        f"   faulted devices' customers covered by a fault outage at the end: {r.covered:,}/{r.faulted_customers:,} "
        f"= {pct(r.covered / r.faulted_customers if r.faulted_customers else math.nan)}"
    )
    if r.gridcare.missed:
        print("   missed by GridCare: " + ", ".join(_device_label(d, r) for d in r.gridcare.missed[:12]))


def _device_label(device: Device, r: Result) -> str:
    """The device's code (as in the county and the truth CSV) and its callers."""
    kind, pk = device
    code = r.plan.feeders[pk - r.ids.feeder].code if kind == "feeder" else r.plan.areas[pk - r.ids.area].code
    callers = len(
        {c.customer for c, t in zip(r.storm.calls, truth_ids(r.storm, r.ids), strict=True) if t == device}
    )
    return f"{kind} {code} ({callers} callers)"


def print_summary(results: list[Result]) -> bool:
    print("\n== storm family: GridCare / N1 / N2 on the same calls (times: GridCare, simulated minutes) ==")
    head = (
        f"{'scenario':<24}{'gate':<5}{'calls right':<22}{'devices found':<22}{'spurious':<20}"
        f"{'→area med':>10}{'→feeder med':>12}{'dispatch ok':>12}{'covered':>9}"
    )
    print(head)

    for r in results:
        g, a, b = r.gridcare, r.naive1, r.naive2
        right = "/".join(_p(x.right_share) for x in (g, a, b))
        found = "/".join(_p(x.found_share) for x in (g, a, b))
        spurious = "/".join(_p(x.spurious_share) for x in (g, a, b))
        covered = r.covered / r.faulted_customers if r.faulted_customers else math.nan
        print(
            f"{r.scenario.name:<24}{'yes' if r.scenario.gated else 'no':<5}{right:<22}{found:<22}{spurious:<20}"
            f"{minutes(r.area_median):>10}{minutes(r.feeder_median):>12}"
            f"{f'{r.dispatch_ok}/{r.dispatch_n}':>12}{_p(covered):>9}"
        )
    print("(percent; calls right / devices found / spurious as GridCare/N1/N2)")
    gated = [r for r in results if r.scenario.gated]
    ok = True
    if not gated:
        print("no gated scenario in this run")
        return ok
    print("\n== worst case across gated scenarios (GridCare) ==")

    def worst(label: str, key, higher_is_worse: bool, fmt) -> None:
        values = [(key(r), r.scenario.name) for r in gated]
        values = [v for v in values if not math.isnan(v[0])]
        if not values:
            return
        value, name = max(values) if higher_is_worse else min(values)
        print(f"  {label:<40} {fmt(value):>8}  ({name})")

    worst("calls right", lambda r: r.gridcare.right_share, False, _p)
    worst("devices found", lambda r: r.gridcare.found_share, False, _p)
    worst("spurious", lambda r: r.gridcare.spurious_share, True, _p)
    worst("first call → transformer event, median", lambda r: r.area_median, True, minutes)
    worst("first call → feeder event, median", lambda r: r.feeder_median, True, minutes)
    worst(
        "dispatch within 5 min when a crew is free",
        lambda r: r.dispatch_ok / r.dispatch_n if r.dispatch_n else math.nan,
        False,
        _p,
    )
    print("\n== targets (every gated scenario) ==")
    names = list(gated[0].checks())
    for name in names:
        failing = [r.scenario.name for r in gated if not r.checks()[name]]
        verdict = common.verdict(not failing)
        ok = ok and not failing
        print(f"  {name:<40} {verdict}" + (f"  (fails in: {', '.join(failing)})" if failing else ""))
    return ok


def _p(x: float) -> str:
    return "–" if math.isnan(x) else f"{100 * x:.1f}"


# --- main ----------------------------------------------------------------------------------------------


def run_scenario(scenario: sc.Scenario, args: argparse.Namespace) -> Result | None:
    started = time.perf_counter()
    plan = plan_county(scenario)
    storm = generate_storm(plan, scenario)
    if args.export_csv:
        calls_path, _truth = export_csv(storm, plan, args.export_csv)
        print(f"   {scenario.name}: {len(storm.calls):,} calls written to {calls_path}", flush=True)
    reset_database()
    ids = write_county(plan)
    seconds_county = time.perf_counter() - started
    if args.county_only:
        print(
            f"   {scenario.name}: county written ({len(plan.customers):,} customers) in {seconds_county:.1f} s",
            flush=True,
        )
        return None
    run = drive(storm, plan, ids, args.tick, scenario.minutes)
    result = score_run(scenario, plan, ids, storm, run, seconds_county)
    result.seconds_total = time.perf_counter() - started
    print_scenario(result)
    return result


def main(argv: list[str]) -> None:
    args = parse_args(argv)
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # a scenario at a time
    if args.list:
        for s in sc.DEV:
            print(f"{s.name:<24} {s.describe()}\n{'':<24} {s.about}")
        return
    common.setup_django()
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)
    chosen = selected(args)
    before = common.conditions()
    label = "smoke" if args.smoke else "held-out" if args.held_out and not args.scenario else "development"
    print(
        f"== bench.storm --family ({label}: {len(chosen)} scenarios, tick {args.tick:g} s of simulated time) =="
    )
    print(f"analysis parameters (the same in every scenario): {analysis_parameters()}", flush=True)
    results = []
    started = time.perf_counter()
    for scenario in chosen:
        result = run_scenario(scenario, args)
        if result is not None:
            results.append(result)
    after = common.conditions()
    if results:
        print_summary(results)
    common.print_conditions(
        before,
        after,
        scenarios=len(chosen),
        tick=f"{args.tick:g} s simulated",
        wall=f"{time.perf_counter() - started:.0f} s",
    )
