"""Statistics API (/api/v1/statistics/…): the same figures as the statistics pages, scoped.

Every figure carries the count of rows it stands on, and ``…/rows`` lists those rows (the
drill-down): for a count, as many rows as the figure; for an average or a ratio, the rows of each
side. A unit outside the caller's scope answers 404, as everywhere."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.utils.translation import gettext
from ninja import Field, Query, Router, Schema

from gridcare.core.api_errors import ApiError, ErrorOut
from gridcare.core.replica import replica_reads
from gridcare.core.validation import Int32, LocalDate, limit_param
from gridcare.org.types import ApiRequest

from . import metrics, staffing, statistics
from .models import Metric

router = Router(tags=["statistics"])


class MetricOut(Schema):
    code: str
    version: int
    name: str
    area: str
    description: str
    numerator: dict
    denominator: dict | None
    exclude: dict
    scale: float
    unit_label: str
    period: str
    target: float | None
    better: str
    scoring: str
    source: str
    formula_known: bool
    valid_from: dt.date | None


class Selection(Schema):
    unit: Int32 | None = Field(None, description="a unit id in your scope (default: your own top unit)")
    period: Literal["day", "week", "month", "quarter", "year"] = "month"
    date: LocalDate | None = Field(None, description="a day of the period (default: today)")
    start: LocalDate | None = Field(None, description="first day of a custom range (with end)")
    end: LocalDate | None = Field(None, description="last day of a custom range (included)")


class FigureOut(Schema):
    value: float | None
    numerator: float | None
    numerator_rows: int
    denominator: float | None
    denominator_rows: int
    start: dt.date
    end: dt.date = Field(description="last day included")


class UnitRef(Schema):
    id: int
    code: str
    name: str
    kind: str


class ReportOut(Schema):
    metric: str
    name: str
    unit_label: str
    unit: UnitRef
    figure: FigureOut
    previous: FigureOut
    year_before: FigureOut
    change_percent: float | None = Field(description="against the previous period")
    year_on_year_percent: float | None
    arrow: str = Field(description="flat | up-good | up-bad | down-good | down-bad")
    target: float | None
    met: bool | None
    share_of_parent_percent: float | None
    to_date: bool = Field(
        description="the period is still running: the figure is to today, and the previous period and "
        "the year before are taken over the same number of days"
    )


class RankOut(Schema):
    position: int
    previous_position: int | None
    unit: UnitRef
    value: float | None
    previous_value: float | None
    arrow: str


class MetricDetailOut(ReportOut):
    trend: list[FigureOut]
    ranking: list[RankOut]


class RowsOut(Schema):
    metric: str
    part: str
    count: int
    columns: list[str]
    rows: list[list[Any]]


def _figure(f: statistics.Figure) -> FigureOut:
    return FigureOut(
        value=_float(f.value),
        numerator=_float(f.numerator),
        numerator_rows=f.numerator_rows,
        denominator=_float(f.denominator),
        denominator_rows=f.denominator_rows,
        start=f.span.start,
        end=f.span.end - dt.timedelta(days=1),
    )


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _unit(u) -> UnitRef:
    return UnitRef(id=u.pk, code=u.code, name=u.name, kind=u.kind)


def _report(r: statistics.Report) -> dict:
    m = r.figure.metric
    return {
        "metric": m.code,
        "name": m.name,
        "unit_label": m.unit_label,
        "unit": _unit(r.figure.unit),
        "figure": _figure(r.figure),
        "previous": _figure(r.previous),
        "year_before": _figure(r.year_before),
        "change_percent": r.change,
        "year_on_year_percent": r.year_on_year,
        "arrow": r.arrow,
        "target": m.target,
        "met": r.figure.met,
        "share_of_parent_percent": r.share_of_parent,
        "to_date": r.to_date,
    }


def _select(request: ApiRequest, s: Selection):
    statistics.require_reader(request.auth)
    return statistics.select(
        request.auth, unit_id=s.unit, period=s.period, day=s.date, start=s.start, end=s.end
    )


def _metric(code: str, on: dt.date) -> Metric:
    metric = statistics.metric_in_force(code, on)
    if metric is None:
        raise ApiError("not_found", gettext("没有该统计指标"), status=404)
    return metric


@router.get(
    "/metrics", response=list[MetricOut], summary="The metric registry: every KPI's definition in force"
)
def metric_list(
    request: ApiRequest, area: Literal["hotline", "orders", "repair", "complaints", "callbacks"] | None = None
):
    statistics.require_reader(request.auth)
    return [m for m in statistics.in_force() if area is None or m.area == area]


@router.get("/figures", response=list[ReportOut], summary="Every metric of an area for a unit and period")
def figures(
    request: ApiRequest,
    params: Query[Selection],
    area: Literal["hotline", "orders", "repair", "complaints", "callbacks"] = "complaints",
):
    with replica_reads():
        unit, span = _select(request, params)
        chosen = [m for m in statistics.in_force(span.start) if m.area == area]
        return [_report(r) for r in statistics.reports(chosen, request.auth, unit, span)]


@router.get(
    "/metrics/{code}", response=MetricDetailOut, summary="One metric: figure, comparisons, trend, ranking"
)
def metric_detail(request: ApiRequest, code: str, params: Query[Selection]):
    """The figure with the previous period and the same period a year before, its share of the
    parent unit (counts), the last 12 periods, and the units one level down ranked (best first,
    with their place in the previous period)."""
    with replica_reads():
        unit, span = _select(request, params)
        metric = _metric(code, span.start)
        out = _report(statistics.report(metric, request.auth, unit, span))
        out["trend"] = [_figure(f) for f in statistics.trend(metric, request.auth, unit, span)]
        out["ranking"] = [
            RankOut(
                position=r.position,
                previous_position=r.previous_position,
                unit=_unit(r.figure.unit),
                value=_float(r.figure.value),
                previous_value=_float(r.previous.value),
                arrow=r.arrow,
            )
            for r in statistics.ranking(metric, request.auth, statistics.children(request.auth, unit), span)
        ]
        return out


class RowsParams(Selection):
    part: Literal["numerator", "denominator"] = "numerator"
    limit: int = limit_param(100, 1000)
    offset: int = Field(0, ge=0, le=10_000_000)


@router.get("/metrics/{code}/rows", response=RowsOut, summary="The rows behind a figure (drill-down)")
def metric_rows(request: ApiRequest, code: str, params: Query[RowsParams]):
    """``count`` equals the figure's ``numerator_rows`` (or ``denominator_rows``); phone numbers
    and names are masked."""
    with replica_reads():
        unit, span = _select(request, params)
        metric = _metric(code, span.start)
        if params.part == "denominator" and metric.denominator is None:
            raise ApiError("not_found", gettext("该指标没有分母"), status=404)
        qs = statistics.drill_down(metric, params.part, request.auth, unit, span)
        spec = metric.numerator if params.part == "numerator" else metric.denominator
        assert spec is not None  # refused above
        source = metrics.SOURCES[spec["source"]]
        fields = [f for f, _ in source.columns]
        rows = [
            [metrics.masked(f, v) for f, v in zip(fields, row, strict=True)]
            for row in qs.order_by("pk").values_list(*fields)[params.offset : params.offset + params.limit]
        ]
        return RowsOut(metric=metric.code, part=params.part, count=qs.count(), columns=fields, rows=rows)


# --- Staffing (排班测算, Erlang C): GET /api/v1/statistics/staffing ---------------------------------
# (Issue 17 item 8.)


class StaffingParams(Schema):
    date: LocalDate = Field(..., description="the day to staff (Asia/Shanghai)")
    unit: Int32 | None = Field(
        None, description="a unit id in your scope (its subtree's calls); default: your scope"
    )
    service_level: float = Field(
        staffing.DEFAULT_SERVICE_LEVEL, gt=0, lt=1, allow_inf_nan=False, description="share answered in time"
    )
    target_seconds: int = Field(
        staffing.DEFAULT_TARGET_SECONDS, ge=0, le=staffing.TARGET_SECONDS_MAX, description="answer within (s)"
    )
    shrinkage: float = Field(staffing.DEFAULT_SHRINKAGE, ge=0, le=staffing.SHRINKAGE_MAX, allow_inf_nan=False)
    storm: float = Field(
        1.0, ge=staffing.STORM_MIN, le=staffing.STORM_MAX, allow_inf_nan=False, description="call multiplier"
    )
    weeks: int = Field(staffing.DEFAULT_WEEKS, ge=staffing.WEEKS_MIN, le=staffing.WEEKS_MAX)
    max_occupancy: float | None = Field(None, gt=0, le=1, allow_inf_nan=False)
    max_asa: float | None = Field(
        None, gt=0, le=staffing.TARGET_SECONDS_MAX, allow_inf_nan=False, description="seconds"
    )


class StaffingIntervalOut(Schema):
    start: str
    end: str
    calls: float
    aht_seconds: float
    erlangs: float
    agents: int
    positions: int
    wait_probability: float
    service_level: float
    asa_seconds: float
    occupancy: float


class StaffingTotalsOut(Schema):
    calls: float
    erlang_hours: float
    agent_hours: float
    position_hours: float
    peak_agents: int
    peak_positions: int
    service_level: float | None
    asa_seconds: float | None
    occupancy: float | None


class StaffingOut(Schema):
    date: dt.date
    unit: int | None
    unit_name: str | None
    weeks: int
    storm: float
    service_level_target: float
    target_seconds: float
    shrinkage: float
    max_occupancy: float | None
    max_asa_seconds: float | None
    day_kind: str = Field(..., description="normal | holiday")
    holiday_name: str
    holidays_known: bool = Field(..., description="the year's holiday schedule is entered")
    history_days: list[dt.date]
    aht_seconds: float
    aht_source: str = Field(..., description="history | default")
    answered_calls: int
    intervals: list[StaffingIntervalOut]
    totals: StaffingTotalsOut


def _rounded(value: float | None, places: int) -> float | None:
    return None if value is None else round(value, places)


def staffing_out(plan: staffing.StaffingPlan) -> StaffingOut:
    f, t, totals = plan.forecast, plan.targets, plan.totals
    return StaffingOut(
        date=f.date,
        unit=f.unit.pk if f.unit is not None else None,
        unit_name=f.unit.name if f.unit is not None else None,
        weeks=f.weeks,
        storm=f.storm,
        service_level_target=t.service_level,
        target_seconds=t.target_seconds,
        shrinkage=t.shrinkage,
        max_occupancy=t.max_occupancy,
        max_asa_seconds=t.max_asa_seconds,
        day_kind=f.day_kind,
        holiday_name=f.holiday_name,
        holidays_known=f.holidays_known,
        history_days=list(f.history_days),
        aht_seconds=round(f.aht_seconds, 1),
        aht_source=f.aht_source,
        answered_calls=f.answered_calls,
        intervals=[
            StaffingIntervalOut(
                start=row.start_label,
                end=row.end_label,
                calls=round(row.staffing.calls, 2),
                aht_seconds=round(row.staffing.aht_seconds, 1),
                erlangs=round(row.staffing.erlangs, 3),
                agents=row.staffing.agents,
                positions=row.staffing.positions,
                wait_probability=round(row.staffing.wait_probability, 4),
                service_level=round(row.staffing.service_level, 4),
                asa_seconds=round(row.staffing.asa_seconds, 2),
                occupancy=round(row.staffing.occupancy, 4),
            )
            for row in plan.rows
        ],
        totals=StaffingTotalsOut(
            calls=round(totals.calls, 2),
            erlang_hours=round(totals.erlang_hours, 3),
            agent_hours=totals.agent_hours,
            position_hours=totals.position_hours,
            peak_agents=totals.peak_agents,
            peak_positions=totals.peak_positions,
            service_level=_rounded(totals.service_level, 4),
            asa_seconds=_rounded(totals.asa_seconds, 2),
            occupancy=_rounded(totals.occupancy, 4),
        ),
    )


@router.get(
    "/staffing",
    response={200: StaffingOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="Staffing of a day by half hour (Erlang C on the call forecast)",
)
def staffing_of_day(request: ApiRequest, params: Query[StaffingParams]) -> StaffingOut:
    """Each half hour of `date`: the forecast calls (the same weekday's same half hour averaged
    over the last `weeks` such days with records in your scope, holidays from past holidays,
    times `storm`), the history's average handling time, the traffic in Erlang, the agents Erlang C
    needs for `service_level` within `target_seconds` (and `max_asa` / `max_occupancy` when
    given), the positions to schedule with `shrinkage`, and the service level, ASA and occupancy
    they achieve; the day's totals. Shift leaders and managers only (403 `forbidden_role`); a
    `unit` outside your scope is 404; figures out of range 422."""
    staffing.require_staffing_role(request.auth)
    unit = staffing.unit_for(request.auth, params.unit)
    targets = staffing.Targets(
        service_level=params.service_level,
        target_seconds=params.target_seconds,
        shrinkage=params.shrinkage,
        max_occupancy=params.max_occupancy,
        max_asa_seconds=params.max_asa,
    )
    plan = staffing.staffing_plan(
        request.auth, date=params.date, targets=targets, unit=unit, weeks=params.weeks, storm=params.storm
    )
    return staffing_out(plan)
