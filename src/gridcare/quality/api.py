"""Statistics API (/api/v1/statistics/…): the same figures as the statistics pages, scoped."""

from __future__ import annotations

import datetime as dt

from ninja import Field, Query, Router, Schema

from gridcare.core.api_errors import ErrorOut
from gridcare.core.validation import Int32, LocalDate
from gridcare.org.types import ApiRequest

from . import staffing

router = Router(tags=["statistics"])


# --- Staffing (排班测算, Erlang C): GET /api/v1/statistics/staffing ---------------------------------
# (Issue 17 item 8; kept in one block so that the statistics routes above merge beside it.)


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
