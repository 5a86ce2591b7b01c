"""The likelihood model alone, on many storms, in seconds: no database, no HTTP, no worker.

``python -m bench.storm.offline`` draws counties and storms (the same generators as ``--family``),
places every call as GridCare places it (the account's transformer area; a spoken address to the
customer, their compound or village group, or only their road: the feeder), and every simulated
minute judges the calls so far with ``gridcare.repair.inference`` and applies the roll-up's
thresholds and hysteresis (an event at ``*_event_at``, a feeder event kept until
``withdraw_below``, an area event kept unless its feeder fails). It scores the final events against
the truth like ``--family`` does, and the minutes from a device's first call to its event.

It is the fast loop for working on the model, and a wider family than the named scenarios:

- ``--named dev|held-out|all``: the named scenarios of ``scenarios.py``;
- ``--random N --seed S``: N scenarios drawn from the whole parameter space of issue 15
  (customers per area 5–400, areas per feeder 5–40, calling 5–40 %, lone faults 1–12× …),
  seeds S, S+1, …. Development uses seeds below 5000; seeds from 5000 up are held out.

What it does not do (``--family`` does): crews, dispatch, orders, the database's placement of
calls by address text, notices. Timing here is the model's, on one-minute ticks.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, replace

from gridcare.repair import inference

from . import scenarios as sc
from .county_gen import CountyPlan, plan_county
from .naive import PlacedCall, Score, Topology, evident_devices, n1, n2, score
from .storm_gen import Storm, generate_storm

FEEDER_AT, AREA_AT, KEEP_AT = 0.90, 0.80, 0.50


def random_scenario(seed: int) -> sc.Scenario:
    """A scenario drawn from the whole range issue 15 names (gated: calling ≥ 5 %)."""
    rng = random.Random(f"offline-scenario:{seed}")
    lo_c = round(math.exp(rng.uniform(math.log(5), math.log(300))))
    hi_c = min(400, max(lo_c, round(lo_c * math.exp(rng.uniform(0, math.log(6))))))
    lo_a = rng.randint(5, 30)
    hi_a = min(40, lo_a + rng.randint(0, 15))
    p_lo = math.exp(rng.uniform(math.log(0.05), math.log(0.3)))
    p_hi = min(0.4, p_lo * rng.uniform(1.2, 3))
    delay = rng.choice(("lognormal", "exp"))
    stations = rng.randint(2, 4)
    scenario = sc.Scenario(
        name=f"random-{seed}",
        seed=100_000 + seed,
        about="drawn from the whole parameter space",
        stations=stations,
        profiles=tuple(rng.choice(("urban", "rural", "mountain")) for _ in range(stations)),
        feeders_per_station=(3, rng.randint(4, 8)),
        areas_per_feeder=(lo_a, hi_a),
        customers_per_area=(lo_c, hi_c),
        feeder_faults=rng.randint(1, 5),
        area_faults=rng.randint(2, 14),
        area_clusters=rng.randint(0, 2),
        stagger_minutes=rng.uniform(5, 50),
        call_p=(p_lo, p_hi),
        delay=delay,
        delay_mean_minutes=rng.uniform(3, 18),
        delay_sigma=rng.uniform(0.6, 1.3),
        late_feeders=rng.randint(0, 2),
        late_lag_minutes=(rng.uniform(5, 10), rng.uniform(12, 25)),
        lone_rate=rng.uniform(0.0002, 0.0007),
        volume=math.exp(rng.uniform(0, math.log(12))),
        no_account_share=rng.uniform(0.05, 0.35),
    )
    # As in life and in the issue: a faulted transformer on a healthy feeder of its own, or two or
    # three on one (the clusters) — not a dozen on one feeder, which no call pattern tells from a
    # feeder fault.
    feeders = len(plan_county(scenario).feeders)
    singles = max(1, feeders - scenario.feeder_faults - scenario.area_clusters)
    return replace(scenario, area_faults=min(scenario.area_faults, singles))


@dataclass
class Placed:
    at: float  # minutes into the storm
    caller: str
    customer: int | None
    area: int | None
    feeder: int


def place(plan: CountyPlan, storm: Storm) -> list[Placed]:
    """Where GridCare's placement puts each call (plan indices)."""
    out = []
    for call in storm.calls:
        customer = plan.customers[call.customer]
        area = plan.areas[customer.area]
        if call.account or call.address == customer.address:
            out.append(Placed(call.at / 60, f"c{call.customer}", call.customer, area.index, area.feeder))
        elif call.address.endswith(area.place):
            out.append(Placed(call.at / 60, f"p{call.phone}", None, area.index, area.feeder))
        else:  # only the road or village: the feeder
            out.append(Placed(call.at / 60, f"p{call.phone}", None, None, area.feeder))
    return out


@dataclass
class Outcome:
    scenario: sc.Scenario
    gridcare: Score
    naive1: Score
    naive2: Score
    area_minutes: list[float]
    feeder_minutes: list[float]
    seconds: float

    def ok(self, who: str = "gridcare") -> bool:
        return meets(getattr(self, who))


def meets(g: Score) -> bool:
    """Issue 15's accuracy targets: calls right ≥ 97 %, devices found ≥ 97 %, spurious ≤ 3 %."""
    return g.right_share >= 0.97 and (g.found_share >= 0.97 or g.devices == 0) and g.spurious_share <= 0.03


def _explain(plan, storm, placed, predicted, gridcare: Score, device_events, faulted) -> None:
    """Where the calls of each missed device went, and whose calls made each spurious one."""
    went: dict = defaultdict(Counter)
    callers: dict = defaultdict(set)
    for call, p in zip(storm.calls, predicted, strict=True):
        went[call.truth][p] += 1
        callers[call.truth].add(call.customer)
    for device in gridcare.missed:
        kind, index = device
        size = plan.areas[index].customers if kind == "area" else len(plan.feeder_customers(index))
        feeder = plan.areas[index].feeder if kind == "area" else index
        others = sum(1 for d in faulted if d[0] == "area" and plan.areas[d[1]].feeder == feeder)
        print(
            f"    missed {device}: {len(callers[device])} callers of {size} customers "
            f"(faulted areas on its feeder {others}, feeder faulted {('feeder', feeder) in faulted}); "
            f"calls went to {dict(went[device])}"
        )
    for device in device_events:
        if device in faulted:
            continue
        by_truth = Counter(c.truth[0] for c, p in zip(storm.calls, predicted, strict=True) if p == device)
        print(f"    spurious {device}: calls by truth {dict(by_truth)}")


def simulate(
    scenario: sc.Scenario, params: inference.Params, tick: float = 1.0, explain: bool = False
) -> Outcome:
    started = time.perf_counter()
    plan = plan_county(scenario)
    storm = generate_storm(plan, scenario)
    placed = place(plan, storm)
    total_customers = len(plan.customers)
    failed_feeders: set[int] = set()
    failed_areas: set[int] = set()
    first_seen: dict[tuple[str, int], float] = {}
    t = 0.0
    end = scenario.minutes + tick
    while t < end:
        t += tick
        now = [p for p in placed if p.at <= t]
        by_feeder: dict[int, dict[int | None, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
        for p in now:
            by_feeder[p.feeder][p.area].setdefault(p.caller, p.at)
        feeders = [
            inference.FeederCount(
                feeder_id=f,
                areas=[
                    inference.AreaCount(
                        a,
                        plan.areas[a].customers,
                        len(by_area.get(a, {})),
                    )
                    for a in plan.feeders[f].areas
                ],
                loose_callers=len(by_area.get(None, {})),
            )
            for f, by_area in by_feeder.items()
        ]
        judgement = inference.judge(
            feeders,
            total_customers=total_customers,
            total_callers=len({p.caller for p in now}),
            total_areas=len(plan.areas),
            total_feeders=len(plan.feeders),
            params=params,
            decide_feeder=FEEDER_AT,
            decide_area=AREA_AT,
        )
        failed_feeders = {
            f
            for f, v in judgement.feeders.items()
            if v.probability >= FEEDER_AT or (f in failed_feeders and v.probability >= KEEP_AT)
        }
        areas_now = {
            a
            for f, v in judgement.feeders.items()
            if f not in failed_feeders
            for a, p in v.areas.items()
            if p >= AREA_AT
        }
        failed_areas = {a for a in failed_areas | areas_now if plan.areas[a].feeder not in failed_feeders}
        for f in failed_feeders:
            first_seen.setdefault(("feeder", f), t)
        for a in failed_areas:
            first_seen.setdefault(("area", a), t)

    truths = [c.truth for c in storm.calls]
    predicted = []
    for p in placed:
        if p.feeder in failed_feeders:
            predicted.append(("feeder", p.feeder))
        elif p.area in failed_areas:
            predicted.append(("area", p.area))
        elif p.customer is not None:
            predicted.append(("customer", p.customer))
        else:
            predicted.append(None)
    faulted = {f.device for f in storm.faults}
    evident = evident_devices(truths, [c.customer for c in storm.calls])
    device_events = [("feeder", f) for f in failed_feeders] + [("area", a) for a in failed_areas]
    gridcare = score(truths, predicted, device_events, faulted, evident)
    if explain:
        _explain(plan, storm, placed, predicted, gridcare, device_events, faulted)

    topology = Topology(
        area_customers={a.index: a.customers for a in plan.areas},
        feeder_areas={f.index: len(f.areas) for f in plan.feeders},
    )
    calls = [PlacedCall(p.caller, p.customer, p.area, p.feeder) for p in placed]
    naive = [
        score(truths, g.devices, g.device_events, faulted, evident)
        for g in (n1(calls, topology), n2(calls, topology))
    ]
    first_call: dict[tuple[str, int], float] = {}
    for c, p in zip(storm.calls, placed, strict=True):
        if c.truth[0] != "customer":
            first_call.setdefault(c.truth, p.at)
    area_minutes, feeder_minutes = [], []
    for device in evident:
        delay = first_seen.get(device, math.inf) - first_call[device]
        (feeder_minutes if device[0] == "feeder" else area_minutes).append(max(0.0, delay))
    return Outcome(
        scenario, gridcare, naive[0], naive[1], area_minutes, feeder_minutes, time.perf_counter() - started
    )


def _median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else math.nan


def line(o: Outcome) -> str:
    g = o.gridcare
    return (
        f"{o.scenario.name:<28} right {g.right_share:6.1%} found {g.found:>3}/{g.devices:<3} "
        f"spurious {g.spurious:>2}/{g.device_events:<3} | N1 {o.naive1.right_share:6.1%} "
        f"{o.naive1.found:>3}/{o.naive1.devices:<3} sp {o.naive1.spurious:>2} | "
        f"min to event: area {_median(o.area_minutes):4.1f} feeder {_median(o.feeder_minutes):4.1f} "
        f"| {o.seconds:4.1f}s{'' if o.ok() else '  MISS ' + ' '.join(f'{k}{d}' for k, d in g.missed)}"
    )


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.storm.offline", description=__doc__.split("\n")[0])
    ap.add_argument("--named", choices=("dev", "held-out", "all"))
    ap.add_argument("--random", type=int, default=0, metavar="N")
    ap.add_argument("--seed", type=int, default=1, help="first seed of --random (≥ 5000: held out)")
    ap.add_argument("--only", help="run only this named scenario")
    ap.add_argument("--explain", action="store_true", help="where missed devices' calls went")
    ap.add_argument("--tick", type=float, default=1.0, help="minutes between judgements")
    args = ap.parse_args(argv)
    chosen: list[sc.Scenario] = []
    if args.only:
        chosen.append(sc.by_name(args.only))
    if args.named in ("dev", "all"):
        chosen += list(sc.DEV)
    if args.named in ("held-out", "all"):
        chosen += list(sc.HELD_OUT)
    chosen += [random_scenario(args.seed + i) for i in range(args.random)]
    if not chosen:
        ap.error("choose --named, --only or --random")
    params = inference.Params()
    print(f"# model parameters: {params}")
    outcomes = []
    for scenario in chosen:
        if not scenario.gated:
            scenario = replace(scenario)  # still run it: shown, not counted in the worst case
        o = simulate(scenario, params, args.tick, args.explain)
        outcomes.append(o)
        print(line(o), flush=True)
    gated = [o for o in outcomes if o.scenario.gated]
    if gated:
        worst_right = min(gated, key=lambda o: o.gridcare.right_share)
        worst_found = min(gated, key=lambda o: o.gridcare.found_share if o.gridcare.devices else 1)
        worst_spur = max(gated, key=lambda o: o.gridcare.spurious_share)
        feeder_med = [m for o in gated for m in [_median(o.feeder_minutes)] if not math.isnan(m)]
        area_med = [m for o in gated for m in [_median(o.area_minutes)] if not math.isnan(m)]
        print(
            f"== {len(gated)} gated scenarios: targets met in {sum(o.ok() for o in gated)}; worst: "
            f"right {worst_right.gridcare.right_share:.1%} ({worst_right.scenario.name}), "
            f"found {worst_found.gridcare.found_share:.1%} ({worst_found.scenario.name}), "
            f"spurious {worst_spur.gridcare.spurious_share:.1%} ({worst_spur.scenario.name}); "
            f"worst median minutes to event: area {max(area_med, default=math.nan):.1f}, "
            f"feeder {max(feeder_med, default=math.nan):.1f}"
        )
        for who, label in (("gridcare", "GridCare"), ("naive1", "N1"), ("naive2", "N2")):
            scores = [getattr(o, who) for o in gated]
            calls, right = sum(x.calls for x in scores), sum(x.right for x in scores)
            devices, found = sum(x.devices for x in scores), sum(x.found for x in scores)
            events, spurious = sum(x.device_events for x in scores), sum(x.spurious for x in scores)
            print(
                f"   {label:<8} all scenarios pooled: calls right {right / calls:.1%}, devices found "
                f"{found / max(devices, 1):.1%}, spurious {spurious / max(events, 1):.1%}; "
                f"targets met in {sum(o.ok(who) for o in gated)}/{len(gated)}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
