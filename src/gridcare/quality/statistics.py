"""Figures from the metric registry: a metric's value for a unit and a period, against the previous
period and the same period a year before, its share of the parent unit, a ranking of child units,
and the rows behind every figure (drill-down). Everything is read through the scoping door."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext

from gridcare.core.api_errors import ApiError
from gridcare.core.clock import LOCAL_TZ, local_now
from gridcare.org import scoping
from gridcare.org.models import Role, Unit
from gridcare.org.types import Viewer

from . import metrics, rollups
from .models import Better, Metric, Period


@dataclass(frozen=True)
class Span:
    """A period of whole days, [start, end) in Asia/Shanghai."""

    start: dt.date
    end: dt.date  # exclusive

    @property
    def since(self) -> dt.datetime:
        return dt.datetime.combine(self.start, dt.time(), tzinfo=LOCAL_TZ)

    @property
    def until(self) -> dt.datetime:
        return dt.datetime.combine(self.end, dt.time(), tzinfo=LOCAL_TZ)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def previous(self) -> Span:
        """The period just before, of the same kind: the previous month for a whole month, else
        the same number of days."""
        if self.start.day == 1 and self.end.day == 1:
            months = (self.end.year - self.start.year) * 12 + self.end.month - self.start.month
            return Span(_add_months(self.start, -months), self.start)
        return Span(self.start - dt.timedelta(days=self.days), self.start)

    def year_before(self) -> Span:
        return Span(_add_months(self.start, -12), _add_months(self.end, -12))

    def to_date(self, today: dt.date) -> tuple[Span, Span, Span]:
        """This period, the previous one and the same one a year before, compared fairly: a
        period still running (it holds ``today``) is compared day for day — its first N days
        against the first N days of the others (month to date against last month to date)."""
        previous, year_before = self.previous(), self.year_before()
        if not (self.start <= today < self.end):
            return self, previous, year_before
        days = dt.timedelta(days=(today - self.start).days + 1)
        return (
            Span(self.start, today + dt.timedelta(days=1)),
            Span(previous.start, min(previous.end, previous.start + days)),
            Span(year_before.start, min(year_before.end, year_before.start + days)),
        )

    def label(self) -> str:
        last = self.end - dt.timedelta(days=1)
        return self.start.isoformat() if self.days == 1 else f"{self.start.isoformat()} – {last.isoformat()}"


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    month += 1
    # The 29th–31st of a shorter month fall on its last day.
    for d in (day.day, 30, 29, 28):
        try:
            return dt.date(year, month, min(day.day, d))
        except ValueError:
            continue
    raise ValueError(day)


def period_of(kind: str, day: dt.date) -> Span:
    """The period of ``kind`` (day, week, month, quarter, year) that holds ``day``."""
    if kind == Period.DAY:
        return Span(day, day + dt.timedelta(days=1))
    if kind == Period.WEEK:
        monday = day - dt.timedelta(days=day.weekday())
        return Span(monday, monday + dt.timedelta(days=7))
    if kind == Period.MONTH:
        first = day.replace(day=1)
        return Span(first, _add_months(first, 1))
    if kind == Period.QUARTER:
        first = dt.date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        return Span(first, _add_months(first, 3))
    if kind == Period.YEAR:
        return Span(dt.date(day.year, 1, 1), dt.date(day.year + 1, 1, 1))
    raise ValueError(kind)


def current_period(kind: str) -> Span:
    return period_of(kind, local_now().date())


def in_force(on: dt.date | None = None) -> list[Metric]:
    """The active metrics, each at the version in force on ``on`` (the latest whose
    ``valid_from`` is not after it)."""
    on = on or local_now().date()
    chosen: dict[str, Metric] = {}
    for metric in (
        Metric.objects.filter(is_active=True)
        .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=on))
        .order_by("code", "-version")
    ):
        chosen.setdefault(metric.code, metric)
    return sorted(chosen.values(), key=lambda m: (m.area, m.sort, m.code))


def metric_in_force(code: str, on: dt.date | None = None) -> Metric | None:
    for metric in in_force(on):
        if metric.code == code:
            return metric
    return None


@dataclass
class Figure:
    metric: Metric
    unit: Unit
    span: Span
    value: Decimal | None
    numerator: Decimal | None
    numerator_rows: int
    denominator: Decimal | None = None
    denominator_rows: int = 0

    @property
    def met(self) -> bool | None:
        if self.value is None or self.metric.target is None:
            return None
        if self.metric.better == Better.HIGHER:
            return self.value >= self.metric.target
        return self.value <= self.metric.target


def _round(metric: Metric, value: Decimal | None) -> Decimal | None:
    if value is None:
        return None
    return value.quantize(Decimal(1).scaleb(-metric.decimals), rounding=ROUND_HALF_UP)


def side_rows(
    metric: Metric, part: str, viewer: Viewer, unit: Unit, span: Span, agent: Any = None
) -> QuerySet:
    """The rows of the numerator or the denominator (before the aggregate picks its rows)."""
    spec = metric.numerator if part == "numerator" else metric.denominator
    if spec is None:
        raise ValueError("no denominator")
    same_source = spec.get("source") == metric.numerator.get("source")
    return metrics.rows(
        spec,
        metric.exclude if same_source else None,
        viewer=viewer,
        unit=unit,
        start=span.since,
        end=span.until,
        agent=agent,
    )


def drill_down(
    metric: Metric, part: str, viewer: Viewer, unit: Unit, span: Span, agent: Any = None
) -> QuerySet:
    """The rows a figure stands on: as many as ``Figure.numerator_rows`` (or ``denominator_rows``)."""
    spec = metric.numerator if part == "numerator" else metric.denominator
    assert spec is not None
    return metrics.aggregate_rows(spec, side_rows(metric, part, viewer, unit, span, agent))


def _side(
    metric: Metric, part: str, total_rows: tuple[Decimal, int] | None, *args: Any
) -> tuple[Decimal | None, int]:
    """One side's (value, rows): from the roll-up's parts when given, else from the rows."""
    spec = metric.numerator if part == "numerator" else metric.denominator
    assert spec is not None
    if total_rows is not None:
        total, n = total_rows
        return metrics.value_of(spec, total, n), n
    viewer, unit, span, agent = args
    return metrics.aggregate(spec, side_rows(metric, part, viewer, unit, span, agent), start=span.since)


def _assemble(
    metric: Metric,
    unit: Unit,
    span: Span,
    numerator: tuple[Decimal | None, int],
    denominator: tuple[Decimal | None, int] | None,
) -> Figure:
    num, num_rows = numerator
    if denominator is None:
        value = None if num is None else num * metric.scale
        return Figure(metric, unit, span, _round(metric, value), num, num_rows)
    den, den_rows = denominator
    value = None if num is None or not den else num / den * metric.scale
    return Figure(metric, unit, span, _round(metric, value), num, num_rows, den, den_rows)


def figures(wanted: list[tuple[Metric, Unit, Span]], viewer: Viewer) -> list[Figure]:
    """Many figures at once. Additive sides of a unit in the viewer's scope come from the roll-ups
    (``rollups.Reader``: cells where valid, the rest from the rows in one query per source); the
    others from the rows. Either way the same number."""
    in_scope: dict[int, bool] = {}
    for _m, unit, _s in wanted:
        if unit.pk not in in_scope:
            in_scope[unit.pk] = scoping.unit_in_scope(viewer, unit)
    rolled = [i for i, (m, u, _s) in enumerate(wanted) if in_scope[u.pk] and rollups.sides_of(m)]
    reader = rollups.Reader(
        [rollups.Want(m, u, s.since, s.until) for m, u, s in (wanted[i] for i in rolled)], viewer
    )
    parts = dict(zip(rolled, reader.parts(), strict=True))
    stocks: dict[tuple[int, str, int], tuple[Decimal | None, int]] = {}

    def side(metric: Metric, part: str, rolled: tuple[Decimal, int] | None, unit: Unit, span: Span) -> Any:
        spec = metric.numerator if part == "numerator" else metric.denominator
        assert spec is not None
        if rolled is None and not metrics.SOURCES[spec["source"]].date_field:
            # A stock (customers now) is the same for every period: counted once per unit.
            key = (metric.pk, part, unit.pk)
            if key not in stocks:
                stocks[key] = _side(metric, part, None, viewer, unit, span, None)
            return stocks[key]
        return _side(metric, part, rolled, viewer, unit, span, None)

    out = []
    for i, (metric, unit, span) in enumerate(wanted):
        got = parts.get(i, {})
        numerator = side(metric, "numerator", got.get(0), unit, span)
        denominator = (
            None if metric.denominator is None else side(metric, "denominator", got.get(1), unit, span)
        )
        out.append(_assemble(metric, unit, span, numerator, denominator))
    return out


def figure(metric: Metric, viewer: Viewer, unit: Unit, span: Span, agent: Any = None) -> Figure:
    """The metric for ``unit``'s subtree over ``span`` (with ``agent``: that staff member's
    rows only — the agent evaluation, always from the rows)."""
    if agent is None:
        return figures([(metric, unit, span)], viewer)[0]
    numerator = _side(metric, "numerator", None, viewer, unit, span, agent)
    denominator = (
        None if metric.denominator is None else _side(metric, "denominator", None, viewer, unit, span, agent)
    )
    return _assemble(metric, unit, span, numerator, denominator)


def change(now: Decimal | None, before: Decimal | None) -> Decimal | None:
    """Relative change in percent (None where the earlier figure is 0 or missing)."""
    if now is None or not before:
        return None
    return ((now - before) / before * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def arrow(now: Decimal | None, before: Decimal | None, better: str) -> str:
    """↑ / ↓ / → against the previous period, and whether that is good: "up-good", "down-bad" …"""
    if now is None or before is None or now == before:
        return "flat"
    up = now > before
    good = up == (better == Better.HIGHER)
    return f"{'up' if up else 'down'}-{'good' if good else 'bad'}"


@dataclass
class Report:
    """One metric for one unit and period, with the comparisons a leader reads."""

    figure: Figure
    previous: Figure
    year_before: Figure
    share_of_parent: Decimal | None  # this unit's count as a percent of its parent's (counts only)
    to_date: bool = False  # the period is still running: compared day for day with the others

    @property
    def change(self) -> Decimal | None:
        return change(self.figure.value, self.previous.value)

    @property
    def year_on_year(self) -> Decimal | None:
        return change(self.figure.value, self.year_before.value)

    @property
    def arrow(self) -> str:
        return arrow(self.figure.value, self.previous.value, self.figure.metric.better)


def reports(chosen: list[Metric], viewer: Viewer, unit: Unit, period: Span) -> list[Report]:
    """Each metric for one unit and period with its comparisons — all read together."""
    today = local_now().date()
    span, previous, year_before = period.to_date(today)
    parent = unit.parent
    share_parent = parent is not None and scoping.unit_in_scope(viewer, parent)
    wanted: list[tuple[Metric, Unit, Span]] = []
    for metric in chosen:
        wanted += [(metric, unit, span), (metric, unit, previous), (metric, unit, year_before)]
        if metric.denominator is None and share_parent:
            assert parent is not None
            wanted.append((metric, parent, span))
    got = iter(figures(wanted, viewer))
    out = []
    for metric in chosen:
        now, before, year_ago = next(got), next(got), next(got)
        share = None
        if metric.denominator is None and share_parent:
            whole = next(got)
            if whole.value and now.value is not None:
                share = (now.value / whole.value * 100).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
        out.append(Report(now, before, year_ago, share, to_date=span != period))
    return out


def report(metric: Metric, viewer: Viewer, unit: Unit, period: Span) -> Report:
    return reports([metric], viewer, unit, period)[0]


@dataclass
class Rank:
    position: int
    figure: Figure
    previous: Figure
    previous_position: int | None

    @property
    def arrow(self) -> str:
        return arrow(self.figure.value, self.previous.value, self.figure.metric.better)

    @property
    def moved(self) -> int | None:
        """Places gained (+) or lost (−) since the previous period."""
        return None if self.previous_position is None else self.previous_position - self.position


def _order(figures: list[Figure], better: str) -> list[Figure]:
    known = [f for f in figures if f.value is not None]
    unknown = [f for f in figures if f.value is None]
    known.sort(key=lambda f: (f.value, f.unit.code), reverse=better == Better.HIGHER)
    return known + unknown


RANKED_KINDS = (Unit.Kind.PROVINCE, Unit.Kind.CITY, Unit.Kind.COUNTY, Unit.Kind.STATION)


def children(viewer: Viewer, parent: Unit, kind: str | None = None) -> list[Unit]:
    """The units one level below ``parent`` in the viewer's scope that are ranked against each
    other — companies and supply stations, not departments or teams (of ``kind`` when given)."""
    units = scoping.restrict(Unit.objects.filter(parent=parent, kind__in=RANKED_KINDS), viewer, "id")
    if kind:
        units = units.filter(kind=kind)
    return list(units.order_by("code"))


def ranking(metric: Metric, viewer: Viewer, units: list[Unit], span: Span) -> list[Rank]:
    """``units`` ranked by the metric (best first), each with its place last period."""
    got = figures([(metric, u, span) for u in units] + [(metric, u, span.previous()) for u in units], viewer)
    now = _order(got[: len(units)], metric.better)
    before = _order(got[len(units) :], metric.better)
    place_before = {f.unit.pk: i + 1 for i, f in enumerate(before) if f.value is not None}
    by_unit = {f.unit.pk: f for f in before}
    return [
        Rank(i + 1, f, by_unit[f.unit.pk], place_before.get(f.unit.pk) if f.value is not None else None)
        for i, f in enumerate(now)
    ]


def trend(metric: Metric, viewer: Viewer, unit: Unit, span: Span, points: int = 12) -> list[Figure]:
    """The metric over the ``points`` periods ending with ``span`` (oldest first)."""
    spans = [span]
    while len(spans) < points:
        spans.append(spans[-1].previous())
    return figures([(metric, unit, s) for s in reversed(spans)], viewer)


# --- what a page or an API call asks for -------------------------------------------------------------

# Who reads the statistics: leaders and the floor's supervisors (agents see their own evaluation).
READERS = (
    Role.MANAGER,
    Role.SHIFT_LEADER,
    Role.DISPATCHER,
    Role.AUDITOR,
    Role.ACCOUNT_MANAGER,
)
MAX_DAYS = 400


def require_reader(viewer: Viewer) -> None:
    if not (getattr(viewer, "is_superuser", False) or scoping.has_role(viewer, *READERS)):
        raise ApiError("forbidden_role", gettext("您的岗位不能查看统计报表"), status=403)


def home_unit(viewer: Viewer) -> Unit:
    roots = scoping.root_units(viewer)
    if not roots:
        raise ApiError("not_found", gettext("您的管辖范围内没有该单位"), status=404)
    return min(roots, key=lambda u: (len(u.path), u.code))


def select(
    viewer: Viewer,
    *,
    unit_id: int | None = None,
    period: str = Period.MONTH,
    day: dt.date | None = None,
    start: dt.date | None = None,
    end: dt.date | None = None,
) -> tuple[Unit, Span]:
    """The unit (in the viewer's scope, else 404; default: the viewer's own top unit) and the
    period: ``start``–``end`` (both days included) or the ``period`` holding ``day`` (default
    today)."""
    if unit_id is None:
        unit = home_unit(viewer)
    else:
        found = Unit.objects.filter(pk=unit_id).first()
        if found is None or not scoping.unit_in_scope(viewer, found):
            raise ApiError("not_found", gettext("您的管辖范围内没有该单位"), status=404)
        unit = found
    if start is not None or end is not None:
        if start is None or end is None:
            raise ApiError("invalid_date_range", gettext("请同时给出开始和结束日期"), status=422)
        if end < start:
            raise ApiError("invalid_date_range", gettext("结束日期早于开始日期"), status=422)
        if (end - start).days + 1 > MAX_DAYS:
            raise ApiError("invalid_date_range", gettext("统计区间不能超过400天"), status=422)
        return unit, Span(start, end + dt.timedelta(days=1))
    if period not in Period.values:
        raise ApiError("invalid_input", gettext("统计周期应为日、周、月、季或年"), status=422)
    return unit, period_of(period, day or local_now().date())
