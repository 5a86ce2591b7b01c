"""The metric registry on a small hand-built county: every figure worked out by hand, every figure
drilled down to as many rows as it counts, and the scoping door on statistics."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import pytest

from gridcare.core import clock
from gridcare.core.clock import LOCAL_TZ
from gridcare.hotline.models import Call
from gridcare.org.models import Role
from gridcare.org.services import create_staff
from gridcare.quality import metrics, statistics
from gridcare.quality.models import Metric
from gridcare.quality.statistics import Span
from gridcare.workorders.models import Deadline, TimeLimitPolicy, WorkOrder

pytestmark = pytest.mark.django_db

NOV = Span(dt.date(2026, 11, 1), dt.date(2026, 12, 1))
NOW = dt.datetime(2026, 12, 3, 10, 0, tzinfo=LOCAL_TZ)
_numbers = itertools.count(1)


def at(day: int, hour: int = 10, minute: int = 0, month: int = 11, year: int = 2026) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=LOCAL_TZ)


def order(w, unit, when, order_type="complaint", **kw) -> WorkOrder:
    return WorkOrder.objects.create(
        number=f"T{next(_numbers):08d}",
        order_type=order_type,
        channel=kw.pop("channel", "hotline"),
        state=kw.pop("state", "archived"),
        accepted_unit=kw.pop("accepted_unit", w.city),
        assigned_unit=unit,
        created_at=when,
        updated_at=when,
        **kw,
    )


def deadline(w, milestone, started, minutes_due, met_minutes=None, area_class="urban") -> Deadline:
    o = order(w, w.east, started, "fault_repair", area_class=area_class)
    return Deadline.objects.create(
        order=o,
        milestone=milestone,
        policy=TimeLimitPolicy.objects.filter(milestone=milestone).first() or TimeLimitPolicy.objects.first(),
        started_at=started,
        due_at=started + dt.timedelta(minutes=minutes_due),
        met_at=None if met_minutes is None else started + dt.timedelta(minutes=met_minutes),
    )


@pytest.fixture
def leader(world):
    return create_staff(
        username="leader", password=world.password, full_name="郑经理", roles=[(Role.MANAGER, world.county)]
    )


@pytest.fixture
def east_leader(world):
    return create_staff(
        username="east_leader",
        password=world.password,
        full_name="冯所长",
        roles=[(Role.MANAGER, world.east)],
    )


def value(code, viewer, unit, span=NOV, agent=None):
    return statistics.figure(statistics.metric_in_force(code), viewer, unit, span, agent=agent)


def test_complaints_per_unit_per_10k_by_channel_and_against_last_month_and_last_year(world, leader):
    w = world
    for day in (3, 9, 20):
        order(w, w.east, at(day))
    order(w, w.east, at(21), state="merged")  # merged into another: never counted
    order(w, w.east, at(22), channel="regulator_12398")
    order(w, w.east, at(23), at_fault=True)
    order(w, w.west, at(5))
    order(w, w.east, at(30, 23, 59))  # last minute of November (Asia/Shanghai)
    order(w, w.east, at(1, 0, 0, month=12))  # first minute of December: not November
    order(w, w.east, at(8), order_type="praise")
    for day in (4, 18):  # October: 2 at the east station
        order(w, w.east, at(day, month=10))
    for day in (2, 6, 7, 9, 11):  # November 2025: 5
        order(w, w.east, at(day, year=2025))

    east = statistics.report(statistics.metric_in_force("complaints"), leader, w.east, NOV)
    assert east.figure.value == 6  # 3 + 12398 + at fault + the last minute
    assert east.previous.value == 2 and east.change == Decimal("200.0")
    assert east.year_before.value == 5 and east.year_on_year == Decimal("20.0")
    assert east.arrow == "up-bad"
    assert east.share_of_parent == Decimal("85.7")  # 6 of the county's 7
    assert value("complaints", leader, w.county).value == 7
    assert value("complaints_12398", leader, w.county).value == 1
    assert value("complaints_95598", leader, w.county).value == 6
    assert value("complaints_at_fault", leader, w.county).value == 1
    assert value("praises", leader, w.county).value == 1
    # The county has 2 customers: 7 complaints are 35,000 per 10,000 customers.
    per_10k = value("complaints_per_10k", leader, w.county)
    assert (per_10k.numerator, per_10k.denominator, per_10k.value) == (7, 2, Decimal("35000.00"))


def test_within_limit_rate_counts_met_and_overdue_but_not_what_is_still_running(world, leader):
    w = world
    with clock.frozen(NOW):
        deadline(w, "dispatch", at(2), 5, met_minutes=3)  # on time
        deadline(w, "dispatch", at(3), 5, met_minutes=5)  # on the minute: on time
        deadline(w, "dispatch", at(4), 5, met_minutes=9)  # late
        deadline(w, "dispatch", at(5), 5)  # never met, long overdue
        deadline(w, "dispatch", at(2, month=12, year=2026), 60 * 24 * 30)  # December: not this period
        rate = value("dispatch_within_limit", leader, w.county)
        assert (rate.numerator, rate.denominator, rate.value) == (2, 4, Decimal("50.00"))
        assert rate.met is False  # target 100 %
        # Still running and not yet due: out of the denominator until it is met or overdue.
        running = deadline(w, "dispatch", at(30, 23, 0), 60 * 24 * 10)
        assert value("dispatch_within_limit", leader, w.county).denominator == 4
        running.met_at = running.started_at + dt.timedelta(minutes=1)
        running.save()
        assert value("dispatch_within_limit", leader, w.county).value == Decimal("60.00")


def test_average_arrival_by_area_class(world, leader):
    w = world
    deadline(w, "arrive", at(2), 45, met_minutes=30)
    deadline(w, "arrive", at(3), 45, met_minutes=60)
    deadline(w, "arrive", at(4), 45)  # not arrived yet: no time to average
    deadline(w, "arrive", at(5), 90, met_minutes=80, area_class="rural")
    urban = value("arrival_minutes_urban", leader, w.county)
    assert (urban.value, urban.numerator_rows) == (Decimal("45.0"), 2)
    assert value("arrival_minutes_rural", leader, w.county).value == Decimal("80.0")
    assert value("arrival_minutes_remote", leader, w.county).value is None


def test_callback_rate_and_the_three_satisfaction_grades(world, leader):
    w = world
    for grade in ("satisfied", "satisfied", "satisfied", "basically", "dissatisfied", ""):
        order(w, w.east, at(10), "fault_repair", callback_required=True, satisfaction=grade)
    order(w, w.east, at(10), "consultation")  # needs no callback
    assert value("callback_rate", leader, w.county).value == Decimal("83.33")  # 5 of 6
    assert value("satisfied_rate", leader, w.county).value == Decimal("60.00")
    assert value("satisfaction_rate", leader, w.county).value == Decimal("80.00")
    assert value("dissatisfied_rate", leader, w.county).value == Decimal("20.00")


def call(unit, number, when, answered_after=None, talk=0, wrap=None, abandoned_after=None):
    """A call as the CTI's events leave it: queued at ``when``, then answered (and talked, and
    wrapped up) or abandoned."""
    c = Call(call_id=f"c{next(_numbers)}", caller_number=number, unit=unit, queued_at=when)
    if answered_after is not None:
        c.answered_at = when + dt.timedelta(seconds=answered_after)
        c.ended_at = c.answered_at + dt.timedelta(seconds=talk)
        c.wrapped_up_at = None if wrap is None else c.ended_at + dt.timedelta(seconds=wrap)
        c.outcome = Call.Outcome.ANSWERED
    else:
        c.abandoned_at = c.ended_at = when + dt.timedelta(seconds=abandoned_after or 30)
        c.outcome = Call.Outcome.ABANDONED
    c.derive_figures(short_abandon_seconds=5)
    c.save()
    return c


def test_call_figures_answer_rate_service_level_abandonment_asa_aht_and_repeats(world):
    w = world
    # The 95598 seats are a unit of the city company: its leader sees their calls.
    leader = create_staff(
        username="city_leader", password=w.password, full_name="陈主任", roles=[(Role.MANAGER, w.city)]
    )
    a, b = "13800000001", "13900000002"
    call(w.city, a, at(2, 9), 5, 100)
    call(w.city, a, at(2, 10, 30), 5, 200)  # within 2 h of the first: a repeat
    call(w.city, a, at(2, 13), abandoned_after=30)  # 2.5 h later: not a repeat; hung up waiting
    for day in (10, 11, 13, 16):  # b reaches an agent 4 times within 7 days
        call(w.city, b, at(day, 15), 3, 300)
    call(w.city, b, at(25, 15), 3, 300)  # a fifth, 9 days later: outside that week
    call(w.city, "13700000003", at(20, 8), abandoned_after=3)  # a short abandon: in no rate
    call(w.city, "13600000004", at(21, 8), 40, 60, wrap=30)  # waited 40 s; 30 s of wrap-up
    # 10 calls; 9 without the short abandon; 8 answered, 7 of them within 15 s and 20 s.
    assert value("calls_offered", leader, w.city).value == 10
    assert value("answer_rate", leader, w.city).value == Decimal("88.89")  # 8 / 9
    assert value("abandon_rate", leader, w.city).value == Decimal("11.11")  # 1 / 9
    assert value("service_level_20s", leader, w.city).value == Decimal("77.78")  # 7 / 9
    assert value("service_level_15s", leader, w.city).value == Decimal("77.78")
    assert value("average_speed_of_answer", leader, w.city).value == Decimal("8.1")  # 65 s / 8
    assert value("talk_seconds", leader, w.city).value == Decimal("233")  # 1,860 s / 8 = 232.5
    assert value("average_handling_time", leader, w.city).value == Decimal("236")  # 1,890 s / 8
    assert value("repeat_2h", leader, w.city).numerator == 1
    repeat = value("repeat_calls_7d", leader, w.city)
    assert (repeat.numerator, repeat.denominator) == (4, 8)


def test_every_figure_drills_down_to_as_many_rows_as_it_counts(world, leader, client):
    w = world
    order(w, w.east, at(3))
    order(w, w.west, at(4), channel="regulator_12398", at_fault=True)
    order(w, w.east, at(5), "fault_repair", callback_required=True, satisfaction="satisfied")
    order(w, None, at(6), "consultation", accepted_unit=w.east)  # answered at acceptance
    deadline(w, "arrive", at(7), 45, met_minutes=20)
    deadline(w, "reply", at(8), 60)
    call(w.county, "13800000001", at(2, 9), 5, 100)
    call(w.county, "13800000001", at(2, 9, 30), abandoned_after=20)
    call(
        w.city, "13800000009", at(2, 9, 30), abandoned_after=20
    )  # the city's seats: outside the county leader's view
    client.force_login(leader)
    checked = 0
    for metric in statistics.in_force(NOV.start):
        got = client.get(
            f"/api/v1/statistics/metrics/{metric.code}", {"start": "2026-11-01", "end": "2026-11-30"}
        )
        assert got.status_code == 200, (metric.code, got.content)
        body = got.json()
        for part in ("numerator", "denominator"):
            if part == "denominator" and metric.denominator is None:
                continue
            rows = client.get(
                f"/api/v1/statistics/metrics/{metric.code}/rows",
                {"start": "2026-11-01", "end": "2026-11-30", "part": part, "limit": 1000},
            ).json()
            assert rows["count"] == body["figure"][f"{part}_rows"] == len(rows["rows"]), (metric.code, part)
            checked += 1
        if metric.denominator is None and metric.numerator["agg"] == "count":
            assert body["figure"]["value"] == body["figure"]["numerator_rows"], metric.code
    assert checked >= 40
    phones = client.get(
        "/api/v1/statistics/metrics/calls_offered/rows", {"start": "2026-11-01", "end": "2026-11-30"}
    )
    assert {row[1] for row in phones.json()["rows"]} == {"138****0001"}  # masked


def test_ranking_of_stations_with_places_gained_and_lost(world, leader):
    w = world
    for day in (3, 4, 5):
        order(w, w.east, at(day))
    order(w, w.west, at(6))
    order(w, w.west, at(6, month=10))
    for day in (7, 8, 9, 10):
        order(w, w.east, at(day, month=10))
    metric = statistics.metric_in_force("complaints")
    ranks = statistics.ranking(metric, leader, statistics.children(leader, w.county), NOV)
    # Fewer complaints is better: the west station first (1), then the east (3).
    assert [(r.figure.unit.code, r.figure.value, r.previous_position) for r in ranks] == [
        ("S02", 1, 1),
        ("S01", 3, 2),
    ]
    assert [r.arrow for r in ranks] == ["flat", "down-good"]


def test_statistics_answer_only_inside_the_readers_scope(world, east_leader, client):
    w = world
    order(w, w.east, at(3))
    order(w, w.west, at(4))
    client.force_login(east_leader)
    own = client.get("/api/v1/statistics/metrics/complaints", {"unit": w.east.pk, "date": "2026-11-15"})
    assert own.status_code == 200 and own.json()["figure"]["value"] == 1
    assert own.json()["share_of_parent_percent"] is None  # the county is not theirs to see
    for unit in (w.west, w.county):
        refused = client.get("/api/v1/statistics/metrics/complaints", {"unit": unit.pk, "date": "2026-11-15"})
        assert refused.status_code == 404 and refused.json()["code"] == "not_found"
    # Their default unit is their station; the rows are the station's only.
    rows = client.get("/api/v1/statistics/metrics/complaints/rows", {"date": "2026-11-15"}).json()
    assert rows["count"] == 1
    client.force_login(w.agent)
    assert client.get("/api/v1/statistics/metrics/complaints").json()["code"] == "forbidden_role"


@pytest.mark.parametrize(
    ("query", "code"),
    [
        ({"start": "2026-11-30", "end": "2026-11-01"}, "invalid_date_range"),
        ({"start": "2026-11-01"}, "invalid_date_range"),
        ({"start": "2025-01-01", "end": "2026-11-30"}, "invalid_date_range"),
        ({"period": "decade"}, "invalid_input"),
        ({"date": "2026-13-01"}, "invalid_input"),
        ({"unit": 99999999}, "not_found"),
    ],
)
def test_bad_selections_are_refused_clearly(world, leader, client, query, code):
    client.force_login(leader)
    got = client.get("/api/v1/statistics/metrics/complaints", query)
    assert 400 <= got.status_code < 500 and got.json()["code"] == code


def test_a_definition_may_only_name_what_the_registry_computes():
    good = {"source": "orders", "where": {"order_type": "complaint"}, "agg": "count"}
    metrics.check_metric(good, None, {"state__in": ["merged"]})
    for bad, part in [
        ({"source": "salaries", "agg": "count"}, "numerator"),
        ({"source": "orders", "where": {"password": "x"}, "agg": "count"}, "numerator"),
        ({"source": "orders", "where": {"order_type__regex": ".*"}, "agg": "count"}, "numerator"),
        ({"source": "orders", "where": {"created_at__lt": {"F": "secret"}}, "agg": "count"}, "numerator"),
        ({"source": "orders", "agg": "median:created_at"}, "numerator"),
        ({"source": "orders", "agg": "repeat_within:120"}, "numerator"),  # calls only
        ({"source": "calls", "agg": "repeat_numbers:4"}, "numerator"),
    ]:
        with pytest.raises(metrics.SpecError) as refused:
            metrics.check_metric(bad, None, {})
        assert refused.value.part == part
    with pytest.raises(metrics.SpecError) as refused:
        metrics.check_metric(good, None, {"state__in": "merged"})
    assert refused.value.part == "exclude"


def test_a_new_version_applies_from_its_date(world, leader):
    old = statistics.metric_in_force("complaints", dt.date(2026, 11, 1))
    new = Metric.objects.get(pk=old.pk)
    new.pk, new.version, new.valid_from = None, 2, dt.date(2026, 12, 1)
    new.numerator = {
        "source": "orders",
        "where": {"order_type": "complaint", "at_fault": True},
        "agg": "count",
    }
    new.save()
    assert statistics.metric_in_force("complaints", dt.date(2026, 11, 30)).version == 1
    assert statistics.metric_in_force("complaints", dt.date(2026, 12, 1)).version == 2


def test_occupancy_and_signed_in_time_from_the_agents_state_changes(world):
    from gridcare.hotline.calls import set_agent_state

    w = world
    leader = create_staff(
        username="city_lead", password=w.password, full_name="陈主任", roles=[(Role.MANAGER, w.city)]
    )
    t = at(2, 9)
    for minutes, state in [
        (0, "ready"),  # 10 min ready
        (10, "on_call"),  # 30 min on calls
        (40, "after_call"),  # 10 min after-call work
        (50, "break"),  # 15 min break: not in occupancy
        (65, "ready"),  # 5 min ready
        (70, "offline"),  # signed out
    ]:
        set_agent_state(agent=w.agent, state=state, at=t + dt.timedelta(minutes=minutes))
    occupancy = value("occupancy", leader, w.city)
    assert (occupancy.numerator, occupancy.denominator) == (2400, 3300)  # (30 + 10) / (10 + 30 + 10 + 5) min
    assert occupancy.value == Decimal("72.7")
    assert value("signed_in_hours", leader, w.city).value == Decimal("1.2")  # 70 min
    assert value("occupancy", leader, w.city, agent=w.agent).value == Decimal("72.7")


def test_a_month_still_running_is_compared_day_for_day(world, leader):
    w = world
    for day in (1, 2, 3):  # November 1–3
        order(w, w.east, at(day))
    for day in (4, 20, 28):  # later in November: not in the first 3 days
        order(w, w.east, at(day))
    for day in (1, 2):  # December 1–2
        order(w, w.east, at(day, month=12))
    with clock.frozen(dt.datetime(2026, 12, 3, 12, 0, tzinfo=LOCAL_TZ)):
        december = statistics.report(
            statistics.metric_in_force("complaints"),
            leader,
            w.east,
            Span(dt.date(2026, 12, 1), dt.date(2027, 1, 1)),
        )
    assert december.to_date
    assert (december.figure.span.end, december.figure.value) == (dt.date(2026, 12, 4), 2)
    assert (december.previous.span, december.previous.value) == (
        Span(dt.date(2026, 11, 1), dt.date(2026, 11, 4)),
        3,
    )
    assert december.change == Decimal("-33.3")  # not −66.7 against the whole of November
    with clock.frozen(dt.datetime(2026, 12, 3, 12, 0, tzinfo=LOCAL_TZ)):
        november = statistics.report(statistics.metric_in_force("complaints"), leader, w.east, NOV)
    assert not november.to_date and november.figure.value == 6  # a period over: whole against whole
