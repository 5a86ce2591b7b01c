"""A storm drawn from a scenario over a planned county, deterministic per seed (no database).

Faulted devices: ``feeder_faults`` feeders, ``area_clusters`` healthy feeders with two or three
faulted transformers each (starting within three minutes of each other), and ``area_faults``
single faulted transformers, each on a healthy feeder of its own while there are some. Faults start
at staggered times. Each customer under a faulted device calls with the device's probability
(drawn per device from ``call_p``) after a delay (lognormal or exponential); on a "late" feeder
only two or three areas call from the start, the others' customers start later. Lone
customer-side faults come from customers under no faulted device, at ``lone_rate`` per customer and
hour times ``volume``. Some callers give no account number (their phone and a spoken address:
the full address, or only their compound/village group, or only their road/village), some call
twice. What a call says does not depend on its truth.

Truth of a call: ("feeder", feeder index) / ("area", area index) / ("customer", customer index) —
plan indices; ``CountyIds`` turns them into database ids.
"""

from __future__ import annotations

import csv
import math
import random
from dataclasses import dataclass, field
from pathlib import Path

from .county_gen import CountyPlan
from .scenarios import Scenario

CONTENTS = [
    "家里停电了",
    "停电了，什么时候来电",
    "家里没电了，麻烦看一下",
    "突然停电了",
    "没电了",
    "屋里灯全灭了",
    "停电了，冰箱里还有东西",
    "刚才一下就没电了",
]
HAZARD_CONTENTS = ["门口电线断了掉在地上", "电线杆上冒火花", "电线断了，有人在旁边"]

Device = tuple[str, int]


@dataclass(frozen=True)
class Fault:
    device: Device
    start: float  # seconds into the storm
    p: float  # calling probability of its customers
    late: bool = False  # a feeder whose first calls come from a few areas


@dataclass(frozen=True)
class StormCall:
    at: float  # seconds into the storm
    customer: int  # plan index of the customer who calls
    truth: Device
    account: bool  # gives the account number
    phone: str
    address: str  # spoken address (callers without account), else ""
    content: str
    hazard: bool = False
    repeat: bool = False  # the customer's second call


@dataclass
class Storm:
    scenario: str
    calls: list[StormCall]
    faults: list[Fault]
    lone_customers: list[int] = field(default_factory=list)

    def devices(self) -> list[Device]:
        return [f.device for f in self.faults]


def _poisson(rng: random.Random, lam: float) -> int:
    if lam <= 0:
        return 0
    if lam > 50:
        return max(0, round(rng.gauss(lam, math.sqrt(lam))))
    limit, k, p = math.exp(-lam), 0, 1.0
    while True:
        p *= rng.random()
        if p <= limit:
            return k
        k += 1


def _delay(rng: random.Random, scenario: Scenario) -> float:
    mean = scenario.delay_mean_minutes * 60
    if scenario.delay == "exp":
        return rng.expovariate(1 / mean)
    sigma = scenario.delay_sigma
    mu = math.log(mean) - sigma * sigma / 2  # so that the mean is ``mean``
    return rng.lognormvariate(mu, sigma)


def plan_faults(plan: CountyPlan, scenario: Scenario, rng: random.Random) -> list[Fault]:
    feeders = [f.index for f in plan.feeders]
    rng.shuffle(feeders)
    stagger = scenario.stagger_minutes * 60
    faults: list[Fault] = []
    faulted = feeders[: scenario.feeder_faults]
    for n, f in enumerate(faulted):
        faults.append(
            Fault(
                ("feeder", f),
                rng.uniform(0, stagger),
                rng.uniform(*scenario.call_p),
                n < scenario.late_feeders,
            )
        )
    area_p = scenario.area_call_p or scenario.call_p
    healthy = feeders[scenario.feeder_faults :]
    cluster_feeders = [f for f in healthy if len(plan.feeders[f].areas) >= 3][: scenario.area_clusters]
    for f in cluster_feeders:
        areas = list(plan.feeders[f].areas)
        start = rng.uniform(0, stagger)
        for a in rng.sample(areas, rng.choice((2, 3))):
            faults.append(Fault(("area", a), start + rng.uniform(0, 180), rng.uniform(*area_p)))
    singles = [f for f in healthy if f not in cluster_feeders]
    for n in range(scenario.area_faults):
        if not singles:
            break
        f = singles[n % len(singles)]  # one per feeder while there are feeders, then a second
        free = [a for a in plan.feeders[f].areas if ("area", a) not in {x.device for x in faults}]
        if not free:
            continue
        faults.append(Fault(("area", rng.choice(free)), rng.uniform(0, stagger), rng.uniform(*area_p)))
    return faults


def generate_storm(plan: CountyPlan, scenario: Scenario) -> Storm:
    """The storm of ``scenario`` over ``plan``: the same inputs give the same calls."""
    rng = random.Random(f"storm:{scenario.seed}")
    end = scenario.minutes * 60
    faults = plan_faults(plan, scenario, rng)
    first_calls: list[tuple[float, int, Device]] = []  # (time, customer, truth)
    under_fault: set[int] = set()
    for fault in faults:
        kind, index = fault.device
        if kind == "feeder":
            areas = list(plan.feeders[index].areas)
            early: set[int] = set(areas)
            lag: dict[int, float] = {}
            if fault.late:
                early = set(rng.sample(areas, min(len(areas), rng.choice((2, 3)))))
                lag = {a: rng.uniform(*scenario.late_lag_minutes) * 60 for a in areas if a not in early}
            for a in areas:
                for c in plan.area_customers(a):
                    under_fault.add(c)
                    if rng.random() < fault.p:
                        at = fault.start + lag.get(a, 0.0) + _delay(rng, scenario)
                        if at < end:
                            first_calls.append((at, c, fault.device))
        else:
            for c in plan.area_customers(index):
                under_fault.add(c)
                if rng.random() < fault.p:
                    at = fault.start + _delay(rng, scenario)
                    if at < end:
                        first_calls.append((at, c, fault.device))
    healthy = [c for c in range(len(plan.customers)) if c not in under_fault]
    n_lone = _poisson(rng, scenario.lone_rate * scenario.volume * len(healthy) * scenario.minutes / 60)
    lone = sorted(rng.sample(healthy, min(n_lone, len(healthy))))
    for c in lone:
        first_calls.append((rng.uniform(0, end), c, ("customer", c)))

    calls: list[StormCall] = []
    for at, c, truth in first_calls:
        customer = plan.customers[c]
        area = plan.areas[customer.area]
        account = rng.random() >= scenario.no_account_share
        phone, address = customer.mobile, ""
        if not account:
            if rng.random() < 0.5:
                phone = f"199{c + 1:08d}"  # a number the register does not know
            x = rng.random()
            if x < 0.7:
                address = customer.address
            elif x < 0.9:
                address = f"{plan.stations[area.station].town}{area.place}"
            else:
                address = f"{plan.stations[area.station].town}{area.road}"
        hazard = rng.random() < scenario.hazard_share
        content = rng.choice(HAZARD_CONTENTS if hazard else CONTENTS)
        calls.append(StormCall(at, c, truth, account, phone, address, content, hazard))
        if rng.random() < scenario.repeat_share:
            again = at + rng.uniform(180, 1200)
            if again < end:
                calls.append(
                    StormCall(again, c, truth, account, phone, address, rng.choice(CONTENTS), False, True)
                )
    calls.sort(key=lambda call: (call.at, call.customer, call.repeat))
    return Storm(scenario=scenario.name, calls=calls, faults=faults, lone_customers=lone)


def export_csv(storm: Storm, plan: CountyPlan, directory: Path) -> tuple[Path, Path]:
    """``<scenario>.csv``: the calls for a replay (offset_seconds, account_no, caller_phone, address,
    content, hazard); ``<scenario>-truth.csv``: each call's truth by device code, same order."""
    directory.mkdir(parents=True, exist_ok=True)
    calls_path = directory / f"{storm.scenario}.csv"
    truth_path = directory / f"{storm.scenario}-truth.csv"
    with (
        calls_path.open("w", newline="", encoding="utf-8") as f,
        truth_path.open("w", newline="", encoding="utf-8") as t,
    ):
        out, truth = csv.writer(f), csv.writer(t)
        out.writerow(["offset_seconds", "account_no", "caller_phone", "address", "content", "hazard"])
        truth.writerow(["offset_seconds", "truth_level", "truth_code"])
        for call in storm.calls:
            customer = plan.customers[call.customer]
            out.writerow(
                [
                    f"{call.at:.1f}",
                    customer.account_no if call.account else "",
                    call.phone,
                    call.address,
                    call.content,
                    "1" if call.hazard else "0",
                ]
            )
            kind, index = call.truth
            code = (
                plan.feeders[index].code
                if kind == "feeder"
                else plan.areas[index].code
                if kind == "area"
                else plan.customers[index].account_no
            )
            truth.writerow([f"{call.at:.1f}", kind, code])
    return calls_path, truth_path
