"""Thirteen months of history for the demo county, written in bulk, so that the statistics
(``quality.statistics``: trends, the same month last year, station rankings, agent evaluation)
have something real to show.

From the first day of the month a year before the current one up to now (``core.clock``):

- **calls** (``hotline.Call``) by half hour with a day profile (morning and afternoon peaks, a quiet
  night), a week profile (Mondays busiest), seasons (summer heat, winter heating, the Spring
  Festival) and storm days (a typhoon in summer, thunderstorms, freezing rain: up to 4× the calls,
  longer waits, more abandons); a slow growth (this year's months are ~10% above last year's);
  answered by the agents on shift (a roster of night, day, middle and evening shifts), each with
  their own talk and wrap-up times; repeat callers; figures set by ``Call.derive_figures``;
- the agents' **state spells** (``hotline.AgentStateSpell``) per shift, matching their calls;
- **quality inspections** (``quality.Inspection``): two scored calls per agent a week (five for
  the new agent), scored on the active form with deductions that follow the agent's quality;
- **work orders** of every type and channel (a few complaints through 12398), assigned to the
  stations by their customers, all archived, with their **time limits** (``workorders.Deadline``
  from the seeded policies: due times by ``policies.due_at``, mostly met in time, some late — one
  station clearly worse, one clearly better, summer and storm days worse), call-backs with
  满意 / 基本满意 / 不满意, praises, complaints gathered on a few transformer areas, and their
  流转记录 (accept, dispatch, reply, call-back, archive).

Orders whose life would not be over by now are not written (the live days are ``history.py``'s).
One ``random.Random(seed)`` draws everything in a fixed order: the same seed and the same "now"
give the same rows."""

from __future__ import annotations

import datetime as dt
import math
import random
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Count

from gridcare.core import clock
from gridcare.core.models import NumberSequence
from gridcare.customers.models import Customer, CustomerAddress, CustomerPhone
from gridcare.hotline.models import AgentStateSpell, Call, CallStatisticsSetting
from gridcare.org.models import Role, RoleAssignment, Unit, User
from gridcare.quality.inspection import score_of
from gridcare.quality.models import Inspection, InspectionForm
from gridcare.workorders import policies
from gridcare.workorders.models import (
    NUMBER_PREFIX,
    CallbackRule,
    Deadline,
    WorkOrder,
    WorkOrderEvent,
)

from .bulk import BulkLoader

MONTHS = 13

# Calls per half hour of the day (relative): a quiet night, peaks at 9–11 and 14–16, an evening.
HOURLY = [0.6, 0.4, 0.3, 0.3, 0.3, 0.5, 1.2, 2.5, 4.5, 6.0, 6.2, 5.5,
          4.0, 3.8, 5.0, 5.4, 5.0, 4.4, 3.6, 3.8, 3.9, 3.2, 2.2, 1.2]  # fmt: skip
HALF_HOURS = [w for w in HOURLY for _ in (0, 1)]
WEEKDAY = [1.12, 1.05, 1.0, 1.0, 0.98, 0.85, 0.8]  # Monday first
# Summer heat (air conditioners, overloaded transformers), winter heating, the Spring Festival.
SEASON = {
    1: 1.15,
    2: 1.05,
    3: 0.95,
    4: 0.9,
    5: 0.95,
    6: 1.1,
    7: 1.35,
    8: 1.4,
    9: 1.1,
    10: 0.9,
    11: 0.9,
    12: 1.05,
}
# Storms: (month, factor on the day, on the next, on the one after, what it was).
STORMS = [
    (1, 1.8, 1.3, 1.0, "冻雨覆冰"),
    (5, 2.2, 1.3, 1.0, "强雷暴"),
    (7, 3.5, 2.2, 1.4, "台风"),
    (8, 4.0, 2.5, 1.5, "台风"),
]

ORDER_TYPES = {  # order type: weight on an ordinary day
    "fault_repair": 36.0,
    "consultation": 25.0,
    "bill_query": 12.0,
    "business": 9.0,
    "service_request": 5.0,
    "verification": 2.5,
    "opinion": 2.0,
    "complaint": 2.0,
    "praise": 1.6,
    "report": 1.2,
}
CHANNELS = (["hotline"] * 78, ["wechat"] * 9, ["web"] * 6, ["hall"] * 4, ["ivr"] * 2, ["letter"])
CHANNEL_POOL = [c for group in CHANNELS for c in group]
CONTENT = {
    "fault_repair": [
        ("", "家里突然没电，邻居家也没电。"),
        ("", "空调一开就跳闸，总开关合不上。"),
        ("", "门口电线杆上的线被风刮断了，有火花。"),
        ("", "电压太低，电器启动不了。"),
    ],
    "consultation": [
        ("policy", "咨询居民阶梯电价的分档标准和计算周期。"),
        ("outage_query", "咨询本村明天是否计划停电。"),
        ("", "咨询网上国网如何绑定户号。"),
    ],
    "bill_query": [("", "本月电费比上月高出很多，想核实抄表电量。"), ("", "预存电费到账了没有。")],
    "business": [("new", "新建厂房需要新装一台 400kVA 变压器，咨询办理流程。"), ("", "申请居民增容到 8kW。")],
    "service_request": [("", "电表箱门损坏，申请上门维修。"), ("", "申请校验电能表。")],
    "verification": [("", "核实客户户名变更资料。")],
    "opinion": [("", "建议在村里增设自助缴费终端。"), ("", "建议停电通知提前一天发短信。")],
    "complaint": [
        ("", "营业厅排队时间过长，工作人员态度冷淡。"),
        ("", "一个月内停电三次，严重影响生活。"),
        ("", "电压长期偏低，多次反映没有解决。"),
        ("", "抢修人员迟迟不到现场。"),
    ],
    "praise": [("", "抢修师傅半夜冒雨抢修，特别表扬。"), ("", "营业厅工作人员耐心细致，表示感谢。")],
    "report": [("", "邻居私拉电线疑似窃电，要求查处。")],
}
COMPLAINT_CLASSES = ["service"] * 3 + ["outage"] * 3 + ["quality"] * 2 + ["business", "construction"]
# Late shares per milestone on an ordinary station, month and day (before the factors below).
LATE = {"dispatch": 0.02, "arrive": 0.045, "restore": 0.03, "contact": 0.02, "reply": 0.025}
WORST_FACTOR, BEST_FACTOR = 5.0, 0.1
# Shifts (local hours) and how many of the agents working that day each takes, in this order.
SHIFTS = {"N": (0, 8), "A": (8, 16), "M": (10, 18), "B": (16, 24)}
SHIFT_PLAN = ["N", "A", "A", "M", "B", "B", "A"]  # at most seven agents on a day


@dataclass
class ArchiveReport:
    calls: int = 0
    orders: int = 0
    deadlines: int = 0
    events: int = 0
    spells: int = 0
    inspections: int = 0
    seconds: float = 0.0
    best_station: str = ""
    worst_station: str = ""


@dataclass
class _Agent:
    user_id: int
    username: str
    talk: float  # mean talk seconds
    wrap: float  # mean wrap-up seconds
    pick: float  # how readily the agent takes the next call
    slips: float  # mean deductions per inspected call
    since: dt.date | None = None  # joined (the new agent)
    calls: dict[dt.date, list[int]] = field(default_factory=lambda: defaultdict(list))


@dataclass
class _Station:
    unit: Unit
    factor: float  # late shares × this
    customers: list[tuple] = field(
        default_factory=list
    )  # (id, area id, area class, class, name, phone, address)
    clerk_id: int | None = None
    crew_id: int | None = None


def default_calls_per_day(customers: int) -> int:
    """About one call a day per 100 customers (20,000 customers: 200 a day, ~80,000 in 13 months),
    at most 600 a day (a 500,000-customer benchmark county gets ~240,000 calls, not millions)."""
    return min(600, max(6, round(customers / 100)))


def start_day(today: dt.date) -> dt.date:
    """The first day of the month a year before this one (13 months of history, this one included)."""
    index = today.year * 12 + today.month - 1 - (MONTHS - 1)
    return dt.date(index // 12, index % 12 + 1, 1)


class _Writer:
    """Rows for the loader, with datetimes as the database takes them from ``executemany``/COPY."""

    def __init__(self) -> None:
        self.ops = connection.ops

    def t(self, value: dt.datetime | None):
        return None if value is None else self.ops.adapt_datetimefield_value(value)

    def d(self, value: dt.date):
        return self.ops.adapt_datefield_value(value)


def make_archive(
    *,
    seed: int = 95598,
    calls_per_day: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> ArchiveReport:
    """Write 13 months of calls, spells, inspections, work orders and time limits up to now."""
    started = time.perf_counter()
    say = progress or (lambda _message: None)
    report = ArchiveReport()
    agents_qs = User.objects.filter(assignments__role=Role.AGENT).distinct().order_by("username")
    if not agents_qs.exists():
        return report
    rng = random.Random(f"archive/{seed}")
    now = clock.now()
    today = clock.local(now).date()
    first = start_day(today)
    per_day = calls_per_day or default_calls_per_day(Customer.objects.count())
    with transaction.atomic():
        world = _World.load(rng, now, first)
        if not world.stations:
            return report
        report.best_station, report.worst_station = world.best.unit.name, world.worst.unit.name
        days = _days(rng, first, today)
        loader = BulkLoader()
        _write_calls(world, days, per_day, rng, loader, report)
        say(
            f"history: {report.calls:,} calls, {report.spells:,} agent state spells ({time.perf_counter() - started:.0f} s)"
        )
        _write_inspections(world, rng, loader, report)
        _write_orders(world, days, per_day, rng, loader, report)
        loader.finish([Call, AgentStateSpell, Inspection, WorkOrder, Deadline, WorkOrderEvent])
    report.seconds = time.perf_counter() - started
    return report


@dataclass
class _Day:
    day: dt.date
    factor: float  # expected calls relative to an ordinary day
    storm: float  # 1.0, or the storm's factor
    progress: float  # 0 at the start of the history, 1 today


def _days(rng: random.Random, first: dt.date, today: dt.date) -> list[_Day]:
    storms: dict[dt.date, float] = {}
    month = first
    while month <= today:
        for storm_month, *factors, _what in STORMS:
            if month.month == storm_month:
                day = month + dt.timedelta(days=rng.randrange(3, 25))
                for offset, factor in enumerate(factors):
                    storms[day + dt.timedelta(days=offset)] = factor
        month = (month + dt.timedelta(days=32)).replace(day=1)
    total = max(1, (today - first).days)
    out = []
    day = first
    while day <= today:
        progress = (day - first).days / total
        storm = storms.get(day, 1.0)
        growth = 0.9 + 0.1 * progress
        out.append(_Day(day, WEEKDAY[day.weekday()] * SEASON[day.month] * storm * growth, storm, progress))
        day += dt.timedelta(days=1)
    return out


def _count(rng: random.Random, mean: float) -> int:
    return max(0, round(rng.gauss(mean, math.sqrt(mean)))) if mean > 0 else 0


@dataclass
class _World:
    now: dt.datetime
    first: dt.date
    agents: list[_Agent]
    agent_unit: Unit
    leader_id: int | None
    inspector_id: int | None
    stations: list[_Station]
    best: _Station
    worst: _Station
    hot_areas: list[tuple]  # customers of the transformer areas complaints gather on
    callers: list[tuple[int, str]]  # (customer id, phone number)

    @classmethod
    def load(cls, rng: random.Random, now: dt.datetime, first: dt.date) -> _World:
        users = list(User.objects.filter(assignments__role=Role.AGENT).distinct().order_by("username"))
        unit_of = dict(
            RoleAssignment.objects.filter(role=Role.AGENT)
            .order_by("unit__path")
            .values_list("user_id", "unit_id")
        )
        agent_unit = Unit.objects.get(pk=unit_of[users[0].pk])
        agents = []
        for user in users:
            leader = user.username.startswith("leader")
            talk = rng.uniform(150, 250)
            agents.append(
                _Agent(
                    user.pk,
                    user.username,
                    talk=talk,
                    wrap=rng.uniform(90, 170),
                    pick=(0.35 if leader else 1.0) * 200 / talk,
                    slips=rng.uniform(0.15, 0.6),
                )
            )
        # One quick, careful agent; one slow agent who slips more; one who joined 100 days ago.
        agents[0].talk, agents[0].wrap, agents[0].slips = 140.0, 70.0, 0.08
        if len(agents) > 3:
            slow = agents[len(agents) // 2]
            slow.talk, slow.wrap, slow.slips = 290.0, 210.0, 1.3
            newcomer = max(agents, key=lambda a: a.username if a.username.startswith("agent") else "")
            newcomer.since = clock.local(now).date() - dt.timedelta(days=100)
            newcomer.slips = 1.0
        stations = [
            _Station(unit, rng.uniform(0.75, 1.3))
            for unit in Unit.objects.filter(kind=Unit.Kind.STATION).order_by("code")
        ]
        if not stations:
            return cls(now, first, agents, agent_unit, None, None, [], None, None, [], [])
        # The best: the second county-town station; the worst: a rural one far down the list.
        best = stations[1 % len(stations)]
        worst = stations[min(len(stations) - 1, 7)]
        best.factor, worst.factor = BEST_FACTOR, WORST_FACTOR
        by_unit = {s.unit.pk: s for s in stations}
        phones: dict[int, str] = {}
        for customer_id, number in CustomerPhone.objects.filter(is_primary=True).values_list(
            "customer_id", "number"
        ):
            phones.setdefault(customer_id, number)
        addresses = dict(
            CustomerAddress.objects.filter(kind=CustomerAddress.Kind.SUPPLY).values_list(
                "customer_id", "address"
            )
        )
        for row in Customer.objects.order_by("pk").values_list(
            "pk",
            "station_id",
            "transformer_area_id",
            "transformer_area__area_class",
            "customer_class",
            "name",
        ):
            station = by_unit.get(row[1])
            if station is not None:
                pk = row[0]
                station.customers.append(
                    (pk, row[2], row[3] or "urban", row[4], row[5], phones.get(pk, ""), addresses.get(pk, ""))
                )
        for station in stations:
            team_users = RoleAssignment.objects.filter(unit__in=station.unit.subtree())
            station.clerk_id = (
                team_users.filter(role=Role.BUSINESS_CLERK)
                .order_by("user__username")
                .values_list("user_id", flat=True)
                .first()
            )
            station.crew_id = (
                team_users.filter(role=Role.CREW)
                .order_by("user__username")
                .values_list("user_id", flat=True)
                .first()
            )
        stations = [s for s in stations if s.customers]
        # Complaints gather on three transformer areas: one of the worst station's, two elsewhere.
        areas: list[tuple[int, int]] = [
            (row["transformer_area_id"], row["station_id"])
            for row in Customer.objects.filter(transformer_area__isnull=False)
            .values("transformer_area_id", "station_id")
            .annotate(n=Count("pk"))
            .order_by("-n", "transformer_area_id")
        ]
        hot = [next((area for area, station in areas if station == worst.unit.pk), 0)]
        for area, station in areas[:40]:
            if len(hot) >= 3:
                break
            if area not in hot and station != best.unit.pk:
                hot.append(area)
        hot_areas = [(s, c) for s in stations for c in s.customers if c[1] in hot]
        callers = [(c[0], c[5]) for s in stations for c in s.customers if c[5]]
        leader = User.objects.filter(username="leader01").values_list("pk", flat=True).first()
        inspector = (
            User.objects.filter(assignments__role=Role.INSPECTOR)
            .order_by("username")
            .values_list("pk", flat=True)
            .first()
        )
        return cls(
            now, first, agents, agent_unit, leader, inspector, stations, best, worst, hot_areas, callers
        )

    def on_duty(self, day: dt.date, index: int) -> list[tuple[_Agent, str]]:
        """The agents working on ``day`` (two days off a week each) and their shifts (rotating weekly)."""
        working = [
            a
            for i, a in enumerate(self.agents)
            if (index + i) % 7 not in (5, 6) and (a.since is None or day >= a.since)
        ]
        week = index // 7
        if working:
            shift = week % len(working)
            working = working[shift:] + working[:shift]
        return list(zip(working, SHIFT_PLAN, strict=False))


# --- calls, state spells, inspections -----------------------------------------------------------


def _local(day: dt.date, seconds: float) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=clock.LOCAL_TZ) + dt.timedelta(seconds=seconds)


CALL_FIELDS = [
    "id", "call_id", "caller_number", "called_line", "agent_id", "answered_by_id", "unit_id", "state",
    "outcome", "customer_id", "arrived_at", "call_date", "queued_at", "ringing_at", "answered_at",
    "abandoned_at", "ended_at", "wrapped_up_at", "wait_seconds", "talk_seconds", "wrap_up_seconds",
    "abandoned_in", "short_abandon",
]  # fmt: skip
SPELL_FIELDS = ["id", "agent_id", "unit_id", "state", "started_at", "ended_at", "seconds"]


def _write_calls(world: _World, days: list[_Day], per_day: int, rng: random.Random, loader, report) -> None:
    w = _Writer()
    short = CallStatisticsSetting.objects.values_list("short_abandon_seconds", flat=True).first() or 5
    next_call = loader.next_id(Call)
    next_spell = loader.next_id(AgentStateSpell)
    cum = []
    total = 0.0
    for weight in HALF_HOURS:
        total += weight
        cum.append(total)
    call = Call()
    recent: deque[tuple[int, str]] = deque(maxlen=300)
    frequent = rng.sample(world.callers, min(12, len(world.callers))) if world.callers else []
    rows: list[tuple] = []
    spells: list[tuple] = []
    unit_id = world.agent_unit.pk
    for index, day in enumerate(days):
        duty = world.on_duty(day.day, index)
        if not duty:
            continue
        by_half: list[list[_Agent]] = [[] for _ in range(48)]
        for agent, shift in duty:
            start, end = SHIFTS[shift]
            for h in range(start * 2, end * 2):
                by_half[h].append(agent)
        season = SEASON[day.day.month]
        # Service gets better over the year; heat, storms and growth strain it.
        strain = (day.storm - 1) * 0.09 + (season - 1) * 0.06 - 0.02 * day.progress
        p_answer = max(0.55, min(0.985, 0.955 - strain))
        mean_wait = 6 + 45 * (day.storm - 1) + 10 * max(0.0, season - 1) - 2 * day.progress
        n = _count(rng, per_day * day.factor)
        halves = sorted(rng.choices(range(48), cum_weights=cum, k=n))
        answered_in_shift: dict[tuple[int, str], list[tuple[int, int]]] = defaultdict(list)
        seq = 0
        for half in halves:
            arrived = _local(day.day, half * 1800 + rng.uniform(0, 1800))
            if arrived >= world.now:
                continue
            seq += 1
            r = rng.random()
            if r < 0.05 and recent:
                customer_id, number = rng.choice(list(recent)[-30:])  # calls again soon
            elif r < 0.07 and frequent:
                customer_id, number = rng.choice(frequent)
            elif r < 0.16 or not world.callers:
                customer_id, number = None, f"1{rng.choice('3589')}{rng.randrange(10**9):09d}"
            else:
                customer_id, number = rng.choice(world.callers)
            recent.append((customer_id, number))
            call.queued_at = arrived
            call.ringing_at = call.answered_at = call.abandoned_at = call.ended_at = call.wrapped_up_at = None
            call.agent_id = call.answered_by_id = None
            agent = None
            if rng.random() < p_answer:
                agents = by_half[half]
                agent = rng.choices(agents, weights=[a.pick for a in agents])[0]
                wait = rng.expovariate(1 / max(2.0, mean_wait))
                call.answered_at = arrived + dt.timedelta(seconds=wait)
                call.ringing_at = call.answered_at - dt.timedelta(seconds=min(wait, rng.uniform(2, 6)))
                talk = max(
                    25.0, rng.lognormvariate(math.log(agent.talk), 0.45) * (1.15 if day.storm > 1 else 1)
                )
                call.ended_at = call.answered_at + dt.timedelta(seconds=talk)
                call.wrapped_up_at = call.ended_at + dt.timedelta(
                    seconds=max(5.0, rng.lognormvariate(math.log(agent.wrap), 0.4))
                )
                call.outcome = Call.Outcome.ANSWERED
                call.agent_id = call.answered_by_id = agent.user_id
            elif rng.random() < 0.96:
                gave_up = (
                    rng.uniform(0.5, short)
                    if rng.random() < 0.3
                    else rng.uniform(short + 1, 40 + mean_wait * 3)
                )
                call.abandoned_at = call.ended_at = arrived + dt.timedelta(seconds=gave_up)
                if rng.random() < 0.15:
                    call.ringing_at = arrived + dt.timedelta(seconds=gave_up * 0.7)
                call.outcome = Call.Outcome.ABANDONED
            else:
                call.ended_at = arrived + dt.timedelta(seconds=rng.uniform(60, 180))
                call.outcome = Call.Outcome.MISSED
            call.derive_figures(short)
            if agent is not None:
                agent.calls[day.day].append(next_call)
                answered_in_shift[(agent.user_id, _shift_of(duty, agent))].append(
                    (call.talk_seconds or 0, call.wrap_up_seconds or 0)
                )
            rows.append(
                (
                    next_call,
                    f"DEMO{day.day:%Y%m%d}{seq:05d}",
                    number,
                    "95598",
                    call.agent_id,
                    call.answered_by_id,
                    unit_id,
                    call.state,
                    call.outcome,
                    customer_id,
                    w.t(call.arrived_at),
                    w.d(call.call_date),
                    w.t(call.queued_at),
                    w.t(call.ringing_at),
                    w.t(call.answered_at),
                    w.t(call.abandoned_at),
                    w.t(call.ended_at),
                    w.t(call.wrapped_up_at),
                    call.wait_seconds,
                    call.talk_seconds,
                    call.wrap_up_seconds,
                    call.abandoned_in,
                    call.short_abandon,
                )
            )
            next_call += 1
        for agent, shift in duty:
            start_h, end_h = SHIFTS[shift]
            begin, finish = _local(day.day, start_h * 3600), _local(day.day, end_h * 3600)
            if finish > world.now:
                continue
            done = answered_in_shift.get((agent.user_id, shift), [])
            next_spell = _spells(spells, next_spell, agent, unit_id, begin, finish, done, w)
        if len(rows) >= 20_000:
            loader.write(Call, CALL_FIELDS, rows)
            report.calls += len(rows)
            rows = []
        if len(spells) >= 20_000:
            loader.write(AgentStateSpell, SPELL_FIELDS, spells)
            report.spells += len(spells)
            spells = []
    loader.write(Call, CALL_FIELDS, rows)
    loader.write(AgentStateSpell, SPELL_FIELDS, spells)
    report.calls += len(rows)
    report.spells += len(spells)


def _shift_of(duty: list[tuple[_Agent, str]], agent: _Agent) -> str:
    for a, shift in duty:
        if a is agent:
            return shift
    return ""


def _spells(out, next_id, agent, unit_id, begin, end, done, w) -> int:
    """A shift as two halves around a 30-minute break: ready, on a call, after-call work in each
    (the time on calls and after them is the sum of the agent's calls in that shift)."""
    half = (end - begin).total_seconds() / 2 - 900
    talk = sum(t for t, _ in done)
    wrap = sum(u for _, u in done)
    at = begin
    for part in (0, 1):
        on_call = min(half * 0.9, talk / 2)
        after = min(half * 0.9 - on_call, wrap / 2)
        ready = max(0.0, half - on_call - after)
        for state, seconds in (("ready", ready), ("on_call", on_call), ("after_call", after)):
            if seconds <= 0:
                continue
            until = at + dt.timedelta(seconds=round(seconds))
            out.append((next_id, agent.user_id, unit_id, state, w.t(at), w.t(until), round(seconds)))
            next_id, at = next_id + 1, until
        if part == 0:
            until = at + dt.timedelta(minutes=30)
            out.append((next_id, agent.user_id, unit_id, "break", w.t(at), w.t(until), 1800))
            next_id, at = next_id + 1, until
    return next_id


INSPECTION_FIELDS = [
    "id", "call_id", "agent_id", "unit_id", "week", "reason", "state", "form_id", "deductions",
    "score", "fatal", "inspector_id", "scored_at", "created_at",
]  # fmt: skip


def _write_inspections(world: _World, rng: random.Random, loader, report) -> None:
    form = InspectionForm.objects.filter(is_active=True).order_by("-version").first()
    if form is None:
        return
    w = _Writer()
    items = [item["code"] for section in form.sections for item in section["items"] if not item.get("fatal")]
    fatal = [item["code"] for section in form.sections for item in section["items"] if item.get("fatal")]
    json_field = Inspection._meta.get_field("deductions")
    next_id = loader.next_id(Inspection)
    rows = []
    for agent in world.agents:
        weeks: dict[dt.date, list[int]] = defaultdict(list)
        for day, ids in sorted(agent.calls.items()):
            weeks[day - dt.timedelta(days=day.weekday())].extend(ids)
        for monday, ids in sorted(weeks.items()):
            scored_at = _local(monday + dt.timedelta(days=7 + rng.randrange(0, 3)), rng.uniform(9, 17) * 3600)
            if scored_at >= world.now:
                continue
            new = agent.since is not None and (monday - agent.since).days < 90
            for call_id in rng.sample(ids, min(len(ids), 5 if new else 2)):
                slips = min(len(items), _poisson(rng, agent.slips * (1.6 if new else 1.0)))
                deductions = sorted(rng.sample(items, slips))
                if fatal and rng.random() < agent.slips * 0.01:
                    deductions.append(rng.choice(fatal))
                score, is_fatal = score_of(form, deductions)
                rows.append(
                    (
                        next_id,
                        call_id,
                        agent.user_id,
                        world.agent_unit.pk,
                        w.d(monday),
                        "随机抽检" if not new else "新员工抽检",
                        Inspection.State.SCORED,
                        form.pk,
                        json_field.get_db_prep_save(deductions, connection),
                        score,
                        is_fatal,
                        world.inspector_id,
                        w.t(scored_at),
                        w.t(_local(monday + dt.timedelta(days=7), 8.5 * 3600)),
                    )
                )
                next_id += 1
    loader.write(Inspection, INSPECTION_FIELDS, rows)
    report.inspections = len(rows)


def _poisson(rng: random.Random, mean: float) -> int:
    limit, k, p = math.exp(-mean), 0, rng.random()
    while p > limit:
        k += 1
        p *= rng.random()
    return k


# --- work orders ----------------------------------------------------------------------------------

ORDER_FIELDS = [
    "id", "number", "order_type", "subtype", "channel", "state", "customer_id", "caller_name",
    "caller_phone", "address", "transformer_area_id", "area_class", "customer_class", "content",
    "complaint_class", "accepted_by_id", "accepted_unit_id", "assigned_unit_id", "assignee_id",
    "reply", "at_fault", "problem_solved", "cause_analysis", "preventive_measures", "accountability",
    "callback_required", "satisfaction", "created_at", "updated_at", "closed_at",
]  # fmt: skip
DEADLINE_FIELDS = [
    "id",
    "order_id",
    "milestone",
    "policy_id",
    "started_at",
    "due_at",
    "provisional",
    "met_at",
]
EVENT_FIELDS = [
    "id",
    "order_id",
    "at",
    "actor_id",
    "actor_unit_id",
    "action",
    "from_state",
    "to_state",
    "note",
]


def _write_orders(world: _World, days: list[_Day], per_day: int, rng: random.Random, loader, report) -> None:
    w = _Writer()
    rates = {(r.order_type, r.subtype): float(r.rate) for r in CallbackRule.objects.all()}
    policies.forget_policies()
    next_order, next_deadline, next_event = (
        loader.next_id(WorkOrder),
        loader.next_id(Deadline),
        loader.next_id(WorkOrderEvent),
    )
    counters: dict[tuple[str, str], int] = defaultdict(int)
    # By customers, with a floor: a station with few customers in a tiny county still has orders.
    average = sum(len(s.customers) for s in world.stations) / len(world.stations)
    station_weights = [max(len(s.customers), 0.4 * average) for s in world.stations]
    types = list(ORDER_TYPES)
    orders: list[tuple] = []
    deadlines: list[tuple] = []
    events: list[tuple] = []
    cum = []
    total = 0.0
    for weight in HALF_HOURS:
        total += weight
        cum.append(total)
    center = world.agent_unit.pk
    for index, day in enumerate(days):
        duty = [a for a, _ in world.on_duty(day.day, index)] or world.agents
        weights = [ORDER_TYPES[t] * (day.storm * 1.5 if t == "fault_repair" else 1.0) for t in types]
        if day.day.month in (7, 8):
            weights[0] *= 1.3
        n = _count(rng, per_day * 0.22 * day.factor / (1 + 0.2 * (day.storm - 1)))
        for half in sorted(rng.choices(range(48), cum_weights=cum, k=n)):
            created = _local(day.day, half * 1800 + rng.uniform(0, 1800))
            order_type = rng.choices(types, weights=weights)[0]
            if order_type == "complaint" and world.hot_areas and rng.random() < 0.35:
                station, customer = rng.choice(world.hot_areas)
            else:
                if order_type == "praise":  # praises follow good service
                    pw = [len(s.customers) / s.factor for s in world.stations]
                    station = rng.choices(world.stations, weights=pw)[0]
                else:
                    station = rng.choices(world.stations, weights=station_weights)[0]
                customer = rng.choice(station.customers)
            built = _order(world, day, station, customer, order_type, created, rng, rates, duty)
            if built is None:
                continue
            order, steps, limits = built
            prefix, period = NUMBER_PREFIX[order_type], f"{clock.local(created):%Y%m%d}"
            counters[(prefix, period)] += 1
            number = f"{prefix}{period}{counters[(prefix, period)]:06d}"
            assigned = order["assigned"]
            orders.append(
                (
                    next_order, number, order_type, order["subtype"], order["channel"], "archived",
                    customer[0], customer[4], customer[5], customer[6], customer[1], customer[2],
                    customer[3], order["content"], order["complaint_class"], order["agent"], center,
                    assigned.unit.pk if assigned else None, order["assignee"], order["reply"],
                    order["at_fault"], *order["items"], order["callback"], order["satisfaction"],
                    w.t(created), w.t(order["closed"]), w.t(order["closed"]),
                )
            )  # fmt: skip
            for milestone, policy, start, due, met in limits:
                deadlines.append(
                    (
                        next_deadline,
                        next_order,
                        milestone,
                        policy.pk,
                        w.t(start),
                        w.t(due.at),
                        due.provisional,
                        w.t(met),
                    )
                )
                next_deadline += 1
            for at, actor, unit_id, action, before, after in steps:
                events.append((next_event, next_order, w.t(at), actor, unit_id, action, before, after, ""))
                next_event += 1
            next_order += 1
        if len(events) >= 20_000:
            _flush(loader, orders, deadlines, events, report)
            orders, deadlines, events = [], [], []
    _flush(loader, orders, deadlines, events, report)
    NumberSequence.objects.bulk_create(
        [NumberSequence(prefix=p, period=d, value=v) for (p, d), v in sorted(counters.items())]
    )


def _flush(loader, orders, deadlines, events, report) -> None:
    loader.write(WorkOrder, ORDER_FIELDS, orders)
    loader.write(Deadline, DEADLINE_FIELDS, deadlines)
    loader.write(WorkOrderEvent, EVENT_FIELDS, events)
    report.orders += len(orders)
    report.deadlines += len(deadlines)
    report.events += len(events)


def _order(world, day: _Day, station: _Station, customer, order_type, created, rng, rates, duty):
    """One order's life: its fields, its 流转记录 and its time limits (None: still open now)."""
    agent = rng.choice(duty)
    channel = rng.choice(CHANNEL_POOL)
    if order_type == "complaint" and rng.random() < 0.06:
        channel = "regulator_12398"
    subtype, content = rng.choice(CONTENT[order_type])
    probe = WorkOrder(
        order_type=order_type, area_class=customer[2], customer_class=customer[3], channel=channel
    )
    # How late this order's station, month and day run: better over the year, worse in summer and storms.
    strain = station.factor * (1.25 - 0.45 * day.progress) * (1.6 if day.day.month in (7, 8) else 1.0)
    strain *= 1 + 1.2 * (day.storm - 1)
    late = lambda milestone: rng.random() < min(0.9, LATE[milestone] * strain)  # noqa: E731
    center = world.agent_unit.pk
    steps = [(created, agent.user_id, center, "accept", "", "accepted")]
    met: dict[str, dt.datetime] = {}
    limits = []
    at = created
    first_contact = order_type in ("consultation", "bill_query") and rng.random() < 0.7
    assigned = None if first_contact else station
    assignee = None
    reply = "已按规定处理并答复客户。"
    if first_contact:
        met["reply"] = at = created + dt.timedelta(minutes=rng.uniform(3, 9))
        reply = "座席当场答复，客户表示清楚。"
    else:
        accept_limits = {p.milestone: p for p in policies.applicable_policies(probe, "accept")}
        if "dispatch" in accept_limits:
            minutes = float(accept_limits["dispatch"].amount)
            at = created + dt.timedelta(
                minutes=minutes * (rng.uniform(1.1, 3) if late("dispatch") else rng.uniform(0.2, 0.9))
            )
        else:
            at = created + dt.timedelta(minutes=rng.uniform(3, 40))
        met["dispatch"] = at
        steps.append((at, agent.user_id, center, "dispatch", "accepted", "dispatched"))
        assignee = station.crew_id if order_type == "fault_repair" else station.clerk_id
        if "arrive" in accept_limits:
            limit = (policies.due_at(accept_limits["arrive"], created).at - created).total_seconds()
            fraction = (
                rng.uniform(1.05, 1.7)
                if late("arrive")
                else rng.uniform(0.25 + 0.12 * min(station.factor, 2.5), 0.97)
            )
            met["arrive"] = arrived = created + dt.timedelta(seconds=limit * fraction)
            restore = {p.milestone: p for p in policies.applicable_policies(probe, "arrive")}.get("restore")
            if restore is not None:
                span = (policies.due_at(restore, arrived).at - arrived).total_seconds()
                fraction = rng.uniform(1.05, 1.8) if late("restore") else rng.uniform(0.1, 0.9)
                met["restore"] = arrived + dt.timedelta(seconds=span * fraction)
                limits.append(
                    ("restore", restore, arrived, policies.due_at(restore, arrived), met["restore"])
                )
            at = met.get("restore", arrived)
            reply = "已到达现场处理，恢复供电。"
        for milestone in ("contact", "reply"):
            policy = accept_limits.get(milestone)
            if policy is None:
                continue
            due = policies.due_at(policy, created).at
            span = (due - created).total_seconds()
            if late(milestone):
                done = due + dt.timedelta(hours=rng.uniform(2, 40))
            else:
                done = created + dt.timedelta(
                    seconds=span * rng.uniform(0.1 if milestone == "contact" else 0.3, 0.97)
                )
            met[milestone] = max(done, met.get("contact", done), met.get("dispatch", done))
        at = max([at, *met.values()])
        if "reply" not in met:
            met.setdefault("reply", at)
        steps.append((met["reply"], assignee, station.unit.pk, "reply", "dispatched", "replied"))
        steps.append(
            (
                met["reply"] + dt.timedelta(minutes=rng.uniform(10, 240)),
                world.leader_id,
                center,
                "review",
                "replied",
                "reviewed",
            )
        )
        at = steps[-1][0]
    for milestone, policy in {p.milestone: p for p in policies.applicable_policies(probe, "accept")}.items():
        if first_contact and milestone != "reply":
            continue
        limits.append((milestone, policy, created, policies.due_at(policy, created), met.get(milestone, at)))
    rate = rates.get((order_type, subtype), rates.get((order_type, ""), 0.0))
    callback = rng.random() < rate
    satisfaction = ""
    if callback:
        at = at + dt.timedelta(hours=rng.uniform(1, 30))
        if rng.random() < 0.97:  # reached
            any_late = any(done > due.at for _m, _p, _s, due, done in limits)
            bad = (
                0.012 * station.factor + (0.08 if any_late else 0) + (0.1 if order_type == "complaint" else 0)
            )
            r = rng.random()
            satisfaction = "dissatisfied" if r < bad else "basically" if r < bad + 0.035 else "satisfied"
            steps.append((at, agent.user_id, center, "callback", steps[-1][5], "called_back"))
    closed = at + dt.timedelta(minutes=rng.uniform(5, 120))
    if closed >= world.now:
        return None
    steps.append((closed, world.leader_id, center, "archive", steps[-1][5], "archived"))
    at_fault = None
    items = ("", "", "", "")
    complaint_class = ""
    if order_type == "complaint":
        complaint_class = rng.choice(COMPLAINT_CLASSES)
        at_fault = rng.random() < min(0.6, 0.18 * station.factor)
        items = (
            "已向客户致歉并解决诉求。",
            "责任人服务意识不强。" if at_fault else "经核实为客户误解。",
            "开展服务规范培训，举一反三排查同类问题。",
            "对责任人进行教育考核。" if at_fault else "无",
        )
    return (
        {
            "subtype": subtype,
            "channel": channel,
            "content": content,
            "complaint_class": complaint_class,
            "agent": agent.user_id,
            "assigned": assigned,
            "assignee": assignee,
            "reply": reply,
            "at_fault": at_fault,
            "items": items,
            "callback": callback,
            "satisfaction": satisfaction,
            "closed": closed,
        },
        steps,
        limits,
    )
