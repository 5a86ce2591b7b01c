"""排班测算 (staffing, Erlang C): how many agents each half hour of a day needs.

Two halves, put together by ``staffing_plan`` for the page and the API (docs/quality.md):

- **Erlang C**, pure functions of numbers (no database): the offered traffic A in Erlang, the
  probability that a call waits, the service level within T seconds, the average speed of answer,
  the occupancy, the smallest number of agents meeting the targets, and the scheduled positions
  once shrinkage is allowed for. The probability of waiting is computed from the Erlang B
  recursion ``B(n) = A·B(n−1) / (n + A·B(n−1))``: every step stays between 0 and 1, so a storm's
  thousands of agents never overflow a factorial or a power.
- **The interval forecast**: each half hour's expected calls on a date = the average of the same
  half hour over the most recent same-weekday days (holidays from past holidays) of
  ``hotline.Call`` in the viewer's scope, times a storm multiplier, with the history's average
  handling time.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db.models import (
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, ExtractHour, ExtractMinute
from django.http import Http404
from django.utils.functional import Promise
from django.utils.translation import gettext, gettext_lazy

from gridcare.core import calendar, clock
from gridcare.core.api_errors import ApiError, ErrorCode
from gridcare.hotline.models import Call
from gridcare.org import scoping
from gridcare.org.models import Role, Unit
from gridcare.org.types import Viewer

INTERVAL_SECONDS = 1800  # half an hour
INTERVALS_PER_DAY = 24 * 3600 // INTERVAL_SECONDS
# Bounds that keep one computation small: no queue is staffed with more agents, and a traffic above
# this many Erlang in half an hour is a typing error, not a storm.
MAX_AGENTS = 100_000
MAX_TRAFFIC = 50_000.0

# Who plans staffing: shift leaders (值班长) and managers (管理人员); agents do not.
STAFFING_ROLES = (Role.SHIFT_LEADER, Role.MANAGER)

# The forms' and the API's bounds and defaults (the 80/20 target is the customary one).
DEFAULT_SERVICE_LEVEL = 0.8
DEFAULT_TARGET_SECONDS = 20
DEFAULT_SHRINKAGE = 0.3
DEFAULT_WEEKS = 4
WEEKS_MIN, WEEKS_MAX = 1, 12
STORM_MIN, STORM_MAX = 1.0, 20.0
TARGET_SECONDS_MAX = 3600
SHRINKAGE_MAX = 0.95
# How many further weeks (or holidays) the forecast may reach back to replace days it skips.
SPARE_DAYS = 4

_EPSILON = 1e-12  # a computed service level equal to its target is not refused for rounding


class StaffingInputError(ApiError):
    """422 ``invalid_staffing_input``: a figure Erlang C cannot work with (shown in pages too)."""

    def __init__(self, message: str) -> None:
        super().__init__(ErrorCode.INVALID_STAFFING_INPUT, message, status=422)


# --- Erlang C ---------------------------------------------------------------------------------------


def _number(value: float, label: str | Promise) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise StaffingInputError(gettext("%(label)s必须是有限的数值") % {"label": label})
    return float(value)


def _agents(agents: int) -> int:
    if isinstance(agents, bool) or not isinstance(agents, int) or not 1 <= agents <= MAX_AGENTS:
        raise StaffingInputError(gettext("座席数必须是 1 到 %(max)s 之间的整数") % {"max": MAX_AGENTS})
    return agents


def _traffic(traffic: float) -> float:
    value = _number(traffic, gettext_lazy("话务量"))
    if not 0 <= value <= MAX_TRAFFIC:
        raise StaffingInputError(
            gettext("话务量必须在 0 到 %(max)s 爱尔兰之间") % {"max": f"{MAX_TRAFFIC:g}"}
        )
    return value


def _aht(aht_seconds: float) -> float:
    value = _number(aht_seconds, gettext_lazy("平均处理时长"))
    if value <= 0:
        raise StaffingInputError(gettext("平均处理时长必须大于 0 秒"))
    return value


def _above_traffic(agents: int, traffic: float) -> None:
    if agents <= traffic:
        raise StaffingInputError(
            gettext(
                "座席数 %(agents)s 不大于话务量 %(traffic)s 爱尔兰：来电将无限排队，"
                "Erlang C 公式要求座席数大于话务量"
            )
            % {"agents": agents, "traffic": f"{traffic:g}"}
        )


def traffic_intensity(calls: float, aht_seconds: float, interval_seconds: float = INTERVAL_SECONDS) -> float:
    """A = calls × AHT / interval, in Erlang (100 calls of 180 s in 1,800 s → 10)."""
    calls = _number(calls, gettext_lazy("来电量"))
    if calls < 0:
        raise StaffingInputError(gettext("来电量不能为负数"))
    interval = _number(interval_seconds, gettext_lazy("时段长度"))
    if interval <= 0:
        raise StaffingInputError(gettext("时段长度必须大于 0 秒"))
    return _traffic(calls * _aht(aht_seconds) / interval)


def _erlang_b(agents: int, traffic: float) -> float:
    """Erlang B blocking probability by its recursion (stable: every step lies in [0, 1])."""
    b = 1.0
    for n in range(1, agents + 1):
        b = traffic * b / (n + traffic * b)
    return b


def _erlang_c_from_b(agents: int, traffic: float, b: float) -> float:
    return agents * b / (agents - traffic * (1 - b))


def erlang_b(agents: int, traffic: float) -> float:
    """The probability that a call finds all ``agents`` busy when none may wait (Erlang B)."""
    return _erlang_b(_agents(agents), _traffic(traffic))


def wait_probability(agents: int, traffic: float) -> float:
    """P(wait), Erlang C: the probability that a call has to queue. ``agents`` must exceed
    ``traffic`` (else the queue grows without end)."""
    agents, traffic = _agents(agents), _traffic(traffic)
    _above_traffic(agents, traffic)
    return _erlang_c_from_b(agents, traffic, _erlang_b(agents, traffic))


def _service_level(agents: int, traffic: float, p_wait: float, aht: float, target_seconds: float) -> float:
    return 1 - p_wait * math.exp(-(agents - traffic) * target_seconds / aht)


def _asa(agents: int, traffic: float, p_wait: float, aht: float) -> float:
    return p_wait * aht / (agents - traffic)


def _target_seconds(target_seconds: float) -> float:
    value = _number(target_seconds, gettext_lazy("目标应答时间"))
    if value < 0:
        raise StaffingInputError(gettext("目标应答时间不能为负数"))
    return value


def service_level(agents: int, traffic: float, aht_seconds: float, target_seconds: float) -> float:
    """The share of calls answered within ``target_seconds``: 1 − P(wait)·e^(−(N−A)·T/AHT)."""
    aht, target = _aht(aht_seconds), _target_seconds(target_seconds)
    p_wait = wait_probability(agents, traffic)
    return _service_level(agents, float(traffic), p_wait, aht, target)


def average_speed_of_answer(agents: int, traffic: float, aht_seconds: float) -> float:
    """ASA, the mean wait in seconds over all calls: P(wait)·AHT / (N − A)."""
    aht = _aht(aht_seconds)
    p_wait = wait_probability(agents, traffic)
    return _asa(agents, float(traffic), p_wait, aht)


def occupancy(agents: int, traffic: float) -> float:
    """The share of the agents' time spent on calls: A / N."""
    agents, traffic = _agents(agents), _traffic(traffic)
    _above_traffic(agents, traffic)
    return traffic / agents


def positions_with_shrinkage(agents: int, shrinkage: float) -> int:
    """Positions to schedule so that ``agents`` remain after shrinkage (breaks, training, leave):
    ⌈N / (1 − shrinkage)⌉. 14 agents at 30 % shrinkage → 20 (14 / 0.7 is 20 exactly; the float
    quotient 20.000000000000004 is rounded to 9 places first so it does not become 21)."""
    if isinstance(agents, bool) or not isinstance(agents, int) or not 0 <= agents <= MAX_AGENTS:
        raise StaffingInputError(gettext("座席数必须是 0 到 %(max)s 之间的整数") % {"max": MAX_AGENTS})
    return math.ceil(round(agents / (1 - _shrinkage(shrinkage)), 9))


def _shrinkage(shrinkage: float) -> float:
    value = _number(shrinkage, gettext_lazy("缩减率"))
    if not 0 <= value < 1:
        raise StaffingInputError(gettext("缩减率必须不小于 0 且小于 100%"))
    return value


@dataclass(frozen=True)
class Targets:
    """What the staffing must reach: ``service_level`` of calls answered within
    ``target_seconds``, optionally an ASA of at most ``max_asa_seconds`` and an occupancy of at
    most ``max_occupancy``; ``shrinkage`` turns agents into scheduled positions."""

    service_level: float = DEFAULT_SERVICE_LEVEL
    target_seconds: float = DEFAULT_TARGET_SECONDS
    shrinkage: float = 0.0
    max_occupancy: float | None = None
    max_asa_seconds: float | None = None

    def __post_init__(self) -> None:
        level = _number(self.service_level, gettext_lazy("服务水平目标"))
        if not 0 < level < 1:
            raise StaffingInputError(gettext("服务水平目标必须大于 0 且小于 100%"))
        _target_seconds(self.target_seconds)
        _shrinkage(self.shrinkage)
        if self.max_occupancy is not None:
            ceiling = _number(self.max_occupancy, gettext_lazy("最高占用率"))
            if not 0 < ceiling <= 1:
                raise StaffingInputError(gettext("最高占用率必须大于 0 且不超过 100%"))
        if (
            self.max_asa_seconds is not None
            and _number(self.max_asa_seconds, gettext_lazy("平均应答速度上限")) <= 0
        ):
            raise StaffingInputError(gettext("平均应答速度上限必须大于 0 秒"))


def agents_needed(traffic: float, aht_seconds: float, targets: Targets) -> int:
    """The smallest N > A meeting every target (0 when there is no traffic). One pass of the
    Erlang B recursion: each N costs one step, so a storm's 2,400 Erlang is 2,400-odd steps."""
    traffic, aht = _traffic(traffic), _aht(aht_seconds)
    if traffic == 0:
        return 0
    b = 1.0
    for n in range(1, MAX_AGENTS + 1):
        b = traffic * b / (n + traffic * b)
        if n <= traffic:
            continue
        p_wait = _erlang_c_from_b(n, traffic, b)
        if _service_level(n, traffic, p_wait, aht, targets.target_seconds) < targets.service_level - _EPSILON:
            continue
        if targets.max_asa_seconds is not None and _asa(n, traffic, p_wait, aht) > targets.max_asa_seconds:
            continue
        if targets.max_occupancy is not None and traffic / n > targets.max_occupancy + _EPSILON:
            continue
        return n
    raise StaffingInputError(gettext("%(max)s 个座席仍达不到目标，请放宽目标") % {"max": MAX_AGENTS})


@dataclass(frozen=True)
class Staffing:
    """One interval's answer: the traffic, the agents needed and what they achieve."""

    calls: float
    aht_seconds: float
    erlangs: float
    agents: int
    positions: int
    wait_probability: float
    service_level: float
    asa_seconds: float
    occupancy: float


def staff_interval(
    calls: float, aht_seconds: float, targets: Targets, interval_seconds: float = INTERVAL_SECONDS
) -> Staffing:
    """The staffing of one interval: ``calls`` offered in ``interval_seconds``, each handled in
    ``aht_seconds`` on average. No call needs no agent (service level 1, no wait)."""
    traffic = traffic_intensity(calls, aht_seconds, interval_seconds)
    agents = agents_needed(traffic, aht_seconds, targets)
    if agents == 0:
        p_wait, level, asa, occupied = 0.0, 1.0, 0.0, 0.0
    else:
        p_wait = wait_probability(agents, traffic)
        level = _service_level(agents, traffic, p_wait, float(aht_seconds), targets.target_seconds)
        asa = _asa(agents, traffic, p_wait, float(aht_seconds))
        occupied = traffic / agents
    return Staffing(
        calls=float(calls),
        aht_seconds=float(aht_seconds),
        erlangs=traffic,
        agents=agents,
        positions=positions_with_shrinkage(agents, targets.shrinkage),
        wait_probability=p_wait,
        service_level=level,
        asa_seconds=asa,
        occupancy=occupied,
    )


# --- the interval forecast ---------------------------------------------------------------------------


class DayKind:
    NORMAL = "normal"
    HOLIDAY = "holiday"


class AhtSource:
    HISTORY = "history"
    DEFAULT = "default"


@dataclass(frozen=True)
class Forecast:
    """Expected calls per half hour of ``date`` (``calls``, after the storm multiplier;
    ``base_calls`` before it), from the days in ``history_days``."""

    date: dt.date
    unit: Unit | None
    weeks: int
    storm: float
    day_kind: str  # DayKind
    holiday_name: str
    holidays_known: bool  # the date's year has its holiday schedule entered (core.calendar)
    history_days: tuple[dt.date, ...]
    base_calls: tuple[float, ...]
    calls: tuple[float, ...]
    aht_seconds: float
    aht_source: str  # AhtSource
    answered_calls: int  # the answered calls the AHT was averaged over


def require_staffing_role(viewer: Viewer) -> None:
    """403 ``forbidden_role`` unless the viewer plans staffing (shift leaders, managers)."""
    if not scoping.has_role(viewer, *STAFFING_ROLES):
        raise ApiError(ErrorCode.FORBIDDEN_ROLE, gettext("只有值班长和管理人员可以查看排班测算"), status=403)


def unit_for(viewer: Viewer, unit_id: int | None, active_unit: Unit | None = None) -> Unit | None:
    """The unit a staffing question names, which must lie in the viewer's scope (404 otherwise,
    as for a unit that does not exist); None when none is named (the viewer's whole scope)."""
    if unit_id is None:
        return None
    unit = Unit.objects.filter(pk=unit_id).first()
    if unit is None:
        raise Http404("not found")
    scoping.require_unit_in_scope(viewer, unit, active_unit)
    return unit


def _candidate_days(date: dt.date, cutoff: dt.date, weeks: int, holiday: bool) -> list[dt.date]:
    """The days the forecast may learn from, newest first: before ``cutoff`` (today: its calls are
    not all in yet), the same weekday but not a holiday for an ordinary day, past holidays for a
    holiday; ``SPARE_DAYS`` more than wanted, to replace days without records."""
    wanted = weeks + SPARE_DAYS
    if holiday:
        return calendar.holidays_before(cutoff, wanted)
    day = date - dt.timedelta(days=7)
    while day >= cutoff:
        day -= dt.timedelta(days=7)
    found: list[dt.date] = []
    for _ in range(wanted):
        if not calendar.is_holiday(day):
            found.append(day)
        day -= dt.timedelta(days=7)
    return found


def forecast_calls(
    viewer: Viewer,
    *,
    date: dt.date,
    unit: Unit | None = None,
    weeks: int = DEFAULT_WEEKS,
    storm: float = 1.0,
    active_unit: Unit | None = None,
) -> Forecast:
    """The expected calls per half hour of ``date`` for ``unit``'s subtree (the viewer's whole
    scope when None), and the average handling time to staff them with.

    Every offered call counts (answered, abandoned in the queue or while ringing, missed), by its
    arrival (``arrived_at``, its first event; ``call_date`` its day) in Asia/Shanghai. A day of the
    history without a single recorded call in scope is taken as a day the records do not cover
    (before go-live, a CTI link down) and skipped rather than averaged as zero; so are holidays for
    an ordinary day. A holiday (one entered in ``core.calendar``) is forecast from the most recent
    past holidays instead. The AHT is the mean of the history days' answered calls, from answer to
    wrap-up (to hang-up when there was no wrap-up); without any, the configured
    ``GRIDCARE_STAFFING_DEFAULT_AHT_SECONDS``.
    """
    if not WEEKS_MIN <= weeks <= WEEKS_MAX:
        raise StaffingInputError(
            gettext("历史周数必须在 %(min)s 到 %(max)s 之间") % {"min": WEEKS_MIN, "max": WEEKS_MAX}
        )
    storm = _number(storm, gettext_lazy("风暴倍数"))
    if not STORM_MIN <= storm <= STORM_MAX:
        raise StaffingInputError(
            gettext("风暴倍数必须在 %(min)s 到 %(max)s 之间")
            % {"min": f"{STORM_MIN:g}", "max": f"{STORM_MAX:g}"}
        )
    calls = scoping.restrict(Call.objects.all(), viewer, "unit_id", active_unit)
    if unit is not None:
        scoping.require_unit_in_scope(viewer, unit, active_unit)
        calls = calls.filter(unit__in=unit.subtree())

    holidays_known = calendar.is_published(date.year)
    holiday = calendar.is_holiday(date)
    cutoff = min(date, clock.today())
    candidates = _candidate_days(date, cutoff, weeks, holiday)

    per_day: dict[dt.date, list[int]] = {}
    if candidates:
        rows = (
            calls.filter(call_date__in=candidates)
            .annotate(
                hour=ExtractHour("arrived_at", tzinfo=clock.LOCAL_TZ),
                minute=ExtractMinute("arrived_at", tzinfo=clock.LOCAL_TZ),
            )
            .annotate(
                half=Case(When(minute__gte=30, then=Value(1)), default=Value(0), output_field=IntegerField())
            )
            .order_by()
            .values("call_date", "hour", "half")
            .annotate(n=Count("id"))
        )
        for row in rows:
            counts = per_day.setdefault(row["call_date"], [0] * INTERVALS_PER_DAY)
            counts[row["hour"] * 2 + row["half"]] += row["n"]
    used = tuple(day for day in candidates if day in per_day)[:weeks]
    base = tuple(
        sum(per_day[day][i] for day in used) / len(used) if used else 0.0 for i in range(INTERVALS_PER_DAY)
    )

    aht, answered, source = _history_aht(calls, used)
    return Forecast(
        date=date,
        unit=unit,
        weeks=weeks,
        storm=storm,
        day_kind=DayKind.HOLIDAY if holiday else DayKind.NORMAL,
        holiday_name=calendar.holiday_name(date) if holiday else "",
        holidays_known=holidays_known,
        history_days=used,
        base_calls=base,
        calls=tuple(value * storm for value in base),
        aht_seconds=aht,
        aht_source=source,
        answered_calls=answered,
    )


def _history_aht(calls: QuerySet[Call], days: Sequence[dt.date]) -> tuple[float, int, str]:
    default = float(getattr(settings, "GRIDCARE_STAFFING_DEFAULT_AHT_SECONDS", 300))
    if not days:
        return default, 0, AhtSource.DEFAULT
    handled = (
        calls.filter(call_date__in=days, answered_at__isnull=False)
        .annotate(finished_at=Coalesce("wrapped_up_at", "ended_at"))
        .filter(finished_at__gte=F("answered_at"))
        .order_by()
        .aggregate(
            n=Count("id"),
            total=Sum(ExpressionWrapper(F("finished_at") - F("answered_at"), output_field=DurationField())),
        )
    )
    if not handled["n"] or handled["total"] is None:
        return default, 0, AhtSource.DEFAULT
    return handled["total"].total_seconds() / handled["n"], handled["n"], AhtSource.HISTORY


# --- the plan ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IntervalRow:
    start: dt.time
    end: dt.time
    staffing: Staffing

    @property
    def start_label(self) -> str:
        return f"{self.start:%H:%M}"

    @property
    def end_label(self) -> str:
        """ "24:00" for the day's last interval (its end is the next day's midnight)."""
        return "24:00" if self.end == dt.time(0) else f"{self.end:%H:%M}"

    @property
    def label(self) -> str:
        return f"{self.start_label}–{self.end_label}"


@dataclass(frozen=True)
class Totals:
    """The day: calls, Erlang-hours, agent- and position-hours (each interval's count × ½ h), the
    peaks, and the service level, ASA and occupancy over all calls (None without calls)."""

    calls: float
    erlang_hours: float
    agent_hours: float
    position_hours: float
    peak_agents: int
    peak_positions: int
    service_level: float | None
    asa_seconds: float | None
    occupancy: float | None


@dataclass(frozen=True)
class StaffingPlan:
    forecast: Forecast
    targets: Targets
    rows: tuple[IntervalRow, ...]
    totals: Totals


def _totals(rows: Sequence[IntervalRow]) -> Totals:
    hours = INTERVAL_SECONDS / 3600
    staffed = [r.staffing for r in rows]
    calls = sum(s.calls for s in staffed)
    agents = sum(s.agents for s in staffed)
    erlangs = sum(s.erlangs for s in staffed)
    return Totals(
        calls=calls,
        erlang_hours=erlangs * hours,
        agent_hours=agents * hours,
        position_hours=sum(s.positions for s in staffed) * hours,
        peak_agents=max((s.agents for s in staffed), default=0),
        peak_positions=max((s.positions for s in staffed), default=0),
        service_level=sum(s.calls * s.service_level for s in staffed) / calls if calls else None,
        asa_seconds=sum(s.calls * s.asa_seconds for s in staffed) / calls if calls else None,
        occupancy=erlangs / agents if agents else None,
    )


def staffing_plan(
    viewer: Viewer,
    *,
    date: dt.date,
    targets: Targets,
    unit: Unit | None = None,
    weeks: int = DEFAULT_WEEKS,
    storm: float = 1.0,
    active_unit: Unit | None = None,
) -> StaffingPlan:
    """The day's table: each half hour's forecast calls staffed to ``targets``, and the totals."""
    require_staffing_role(viewer)
    forecast = forecast_calls(viewer, date=date, unit=unit, weeks=weeks, storm=storm, active_unit=active_unit)
    rows = []
    for i, calls in enumerate(forecast.calls):
        start = dt.datetime.combine(date, dt.time(0)) + dt.timedelta(seconds=i * INTERVAL_SECONDS)
        end = start + dt.timedelta(seconds=INTERVAL_SECONDS)
        rows.append(
            IntervalRow(
                start=start.time(),
                end=end.time(),
                staffing=staff_interval(calls, forecast.aht_seconds, targets),
            )
        )
    return StaffingPlan(forecast=forecast, targets=targets, rows=tuple(rows), totals=_totals(rows))
