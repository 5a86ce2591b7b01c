"""The interval forecast (quality.staffing.forecast_calls): the same weekday's same half hour over
the last weeks, holidays apart, scoped, with the history's handling time and a storm multiplier."""

from __future__ import annotations

import datetime as dt

import pytest
from django.http import Http404

from gridcare.core import calendar, clock
from gridcare.quality import staffing

from .staffing_history import add_planners, calls

pytestmark = pytest.mark.django_db

D = dt.date
MONDAY = D(2025, 6, 16)  # the day to forecast; the clock stands on the Sunday before
NOW = dt.datetime(2025, 6, 15, 10, 0)
NINE = 18  # 09:00–09:30 is the 19th half hour
HALF_PAST_TWO = 29  # 14:30–15:00


@pytest.fixture
def planners(world):
    return add_planners(world)


@pytest.fixture
def mondays(planners):
    """Four past ordinary Mondays at 城东 with known counts in two half hours, plus calls that must
    not count: on the Dragon Boat holiday Monday, on a fifth Monday further back, on a Tuesday.
    The counted calls were all abandoned in the queue (they never rang): every offered call
    counts, answered or not."""
    w = planners
    assert calendar.is_holiday(D(2025, 6, 2)) and calendar.is_holiday(D(2025, 5, 5))
    for day, at_nine, at_half_past_two in (
        (D(2025, 6, 9), 10, 1),
        (D(2025, 5, 26), 12, 2),
        (D(2025, 5, 19), 14, 3),
        (D(2025, 5, 12), 16, 6),
    ):
        calls(w.east, day, 9, 10, at_nine)
        calls(w.east, day, 14, 45, at_half_past_two)
    calls(w.east, D(2025, 6, 2), 9, 10, 100)  # 端午节 (a holiday Monday): not an ordinary Monday
    calls(w.east, D(2025, 4, 28), 9, 10, 50)  # the fifth ordinary Monday back: beyond 4 weeks
    calls(w.east, D(2025, 6, 10), 9, 10, 70)  # a Tuesday
    return w


def forecast(viewer, **kwargs):
    kwargs.setdefault("date", MONDAY)
    with clock.frozen(NOW):
        return staffing.forecast_calls(viewer, **kwargs)


def test_each_half_hour_is_the_average_of_the_same_monday_half_hour(mondays):
    f = forecast(mondays.manager, weeks=4)
    assert f.day_kind == staffing.DayKind.NORMAL and f.holidays_known
    # The holiday Monday (06-02) and Labour Day's (05-05) are skipped, not averaged in.
    assert f.history_days == (D(2025, 6, 9), D(2025, 5, 26), D(2025, 5, 19), D(2025, 5, 12))
    assert f.calls[NINE] == 13  # (10 + 12 + 14 + 16) / 4
    assert f.calls[HALF_PAST_TWO] == 3  # (1 + 2 + 3 + 6) / 4
    assert sum(f.calls) == 16
    assert len(f.calls) == 48


def test_fewer_weeks_average_fewer_mondays(mondays):
    f = forecast(mondays.manager, weeks=2)
    assert f.history_days == (D(2025, 6, 9), D(2025, 5, 26))
    assert f.calls[NINE] == 11 and f.calls[HALF_PAST_TWO] == 1.5


def test_half_hours_are_counted_in_shanghai_time(planners):
    """00:10 on Monday in Shanghai is Sunday 16:10 UTC: it belongs to Monday's first half hour;
    Sunday 23:50 is not Monday's at all; 23:59 is Monday's last half hour."""
    w = planners
    calls(w.east, D(2025, 6, 9), 0, 10)
    calls(w.east, D(2025, 6, 8), 23, 50)
    calls(w.east, D(2025, 6, 9), 23, 59)
    f = forecast(w.manager, weeks=1)
    assert f.history_days == (D(2025, 6, 9),)
    assert f.calls[0] == 1 and f.calls[47] == 1 and sum(f.calls) == 2


def test_a_monday_without_any_record_is_skipped_not_averaged_as_zero(planners):
    """Records began on 05-26: the Mondays before have no call at all, so two Mondays are used."""
    w = planners
    calls(w.east, D(2025, 6, 9), 9, 0, 8)
    calls(w.east, D(2025, 5, 26), 9, 0, 4)
    f = forecast(w.manager, weeks=4)
    assert f.history_days == (D(2025, 6, 9), D(2025, 5, 26))
    assert f.calls[NINE] == 6


def test_the_handling_time_is_the_history_days_answered_calls(mondays):
    """Answer → wrap-up, or → hang-up without a wrap-up; unanswered calls and calls of days
    outside the history do not count."""
    w = mondays
    calls(w.east, D(2025, 6, 9), 10, 0, 3, talk=100, wrap=60)  # 160 s each
    calls(w.east, D(2025, 5, 19), 11, 0, 2, talk=100)  # 100 s each, no wrap-up
    calls(w.east, D(2025, 6, 2), 11, 0, 1, talk=1000)  # the holiday: not in the history
    f = forecast(w.manager, weeks=4)
    assert f.aht_source == staffing.AhtSource.HISTORY
    assert f.answered_calls == 5
    assert f.aht_seconds == pytest.approx((3 * 160 + 2 * 100) / 5)  # 136 s


def test_without_answered_calls_the_configured_handling_time(mondays, settings):
    settings.GRIDCARE_STAFFING_DEFAULT_AHT_SECONDS = 240
    f = forecast(mondays.manager)
    assert (f.aht_seconds, f.aht_source, f.answered_calls) == (240, staffing.AhtSource.DEFAULT, 0)


def test_the_storm_multiplier_scales_the_forecast(mondays):
    f = forecast(mondays.manager, storm=3)
    assert f.base_calls[NINE] == 13 and f.calls[NINE] == 39
    assert f.calls[HALF_PAST_TWO] == 9


def test_the_forecast_counts_only_the_unit_and_the_scope(mondays):
    w = mondays
    calls(w.west, D(2025, 6, 9), 9, 10, 40)
    assert forecast(w.manager).calls[NINE] == 23  # both stations: (10 + 40 + 12 + 14 + 16) / 4
    assert forecast(w.manager, unit=w.east).calls[NINE] == 13
    # 城西's shift leader sees 城西 only: one Monday with records there.
    west = forecast(w.leader_west)
    assert west.history_days == (D(2025, 6, 9),) and west.calls[NINE] == 40
    with pytest.raises(Http404):
        forecast(w.leader_west, unit=w.east)
    with pytest.raises(Http404):
        staffing.unit_for(w.leader_west, w.east.pk)


def test_a_holiday_is_forecast_from_past_holidays(mondays):
    """National Day 2025-10-01 from the most recent holidays with records (端午 06-02 and 05-31),
    not from the ordinary Wednesdays before it."""
    w = mondays
    calls(w.east, D(2025, 5, 31), 9, 10, 50)
    calls(w.east, D(2025, 9, 24), 9, 10, 7)  # an ordinary Wednesday
    with clock.frozen(dt.datetime(2025, 9, 30, 10, 0)):
        f = staffing.forecast_calls(w.manager, date=D(2025, 10, 1), weeks=4)
    assert f.day_kind == staffing.DayKind.HOLIDAY and f.holiday_name
    assert f.history_days == (D(2025, 6, 2), D(2025, 5, 31))
    assert f.calls[NINE] == 75  # (100 + 50) / 2


def test_a_year_without_its_holiday_schedule_says_so(planners):
    with clock.frozen(dt.datetime(2090, 3, 1, 10, 0)):
        f = staffing.forecast_calls(planners.manager, date=D(2090, 3, 6))
    assert not f.holidays_known and f.day_kind == staffing.DayKind.NORMAL


def test_no_history_forecasts_nothing(planners, settings):
    settings.GRIDCARE_STAFFING_DEFAULT_AHT_SECONDS = 300
    f = forecast(planners.manager)
    assert f.history_days == () and sum(f.calls) == 0 and f.aht_seconds == 300


def test_a_future_date_learns_only_from_days_already_over(mondays):
    """Asked on Sunday 06-15 for Monday 06-23: the Mondays up to 06-09, not 06-16 (not over)."""
    f = forecast(mondays.manager, date=D(2025, 6, 23))
    assert f.history_days[0] == D(2025, 6, 9) and f.calls[NINE] == 13


def test_bad_weeks_or_storm_are_refused(planners):
    for kwargs in ({"weeks": 0}, {"weeks": 13}, {"storm": 0.5}, {"storm": 21}, {"storm": float("nan")}):
        with pytest.raises(staffing.StaffingInputError):
            forecast(planners.manager, **kwargs)


def test_the_plan_staffs_each_half_hour(mondays):
    """13 calls of 180 s at 09:00: A = 1.3 Erlang. By hand, B(1) = 0.5652, B(2) = 0.2687,
    B(3) = 0.1043; 2 agents: C = 0.512, within 20 s 0.526 (short of 80 %); 3 agents: C = 0.1705,
    within 20 s 1 − 0.1705·e^(−1.7·20/180) = 0.859. So 3 agents, ⌈3 / 0.7⌉ = 5 positions."""
    w = mondays
    calls(w.east, D(2025, 6, 9), 10, 0, 1, talk=180)  # the only answered call: AHT 180 s
    targets = staffing.Targets(service_level=0.8, target_seconds=20, shrinkage=0.3)
    with clock.frozen(NOW):
        plan = staffing.staffing_plan(w.manager, date=MONDAY, targets=targets, unit=w.east)
    nine = plan.rows[NINE]
    assert nine.label == "09:00–09:30" and plan.rows[-1].label == "23:30–24:00"
    assert nine.staffing.erlangs == pytest.approx(1.3)
    assert nine.staffing.agents == 3
    assert round(nine.staffing.service_level, 3) == 0.859
    assert nine.staffing.positions == 5
    assert plan.rows[0].staffing.agents == 0
    assert plan.totals.calls == pytest.approx(16.25)  # 13 + 3 + the 10:00 call's ¼
    assert plan.totals.peak_agents == 3


def test_agents_may_not_plan(world):
    with pytest.raises(staffing.ApiError) as refused:
        staffing.staffing_plan(world.agent, date=MONDAY, targets=staffing.Targets())
    assert refused.value.status == 403 and refused.value.code == "forbidden_role"
