"""The demo's 13 months of history: what the statistics pages show after `gridcare seed-demo`."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.db import transaction

from gridcare.core import clock
from gridcare.demo.archive import make_archive
from gridcare.hotline.models import AgentStateSpell, Call
from gridcare.org.models import Unit, User
from gridcare.quality import statistics as st
from gridcare.quality.models import Inspection
from gridcare.workorders.models import Deadline, WorkOrder

NOW = dt.datetime(2026, 3, 2, 9, 0)
FULL_MONTHS = [st.period_of("month", dt.date(2025, m, 1)) for m in range(3, 13)] + [
    st.period_of("month", dt.date(2026, m, 1)) for m in (1, 2)
]


@pytest.fixture
def county(db):
    with clock.frozen(NOW):
        call_command("seed_demo", customers=600, seed=7, no_knowledge=True, calls_per_day=60, verbosity=0)


def _metric(code):
    metric = st.metric_in_force(code, on=NOW.date())
    assert metric is not None, code
    return metric


def test_every_month_and_station_has_calls_and_orders(county):
    admin = User.objects.get(username="admin")
    city = Unit.objects.get(kind=Unit.Kind.CITY)
    stations = list(Unit.objects.filter(kind=Unit.Kind.STATION).order_by("code"))
    with clock.frozen(NOW):
        this_month = st.period_of("month", NOW.date())
        for span in [*FULL_MONTHS, this_month]:
            calls = Call.objects.filter(call_date__gte=span.start, call_date__lt=span.end)
            assert calls.filter(outcome="answered").exists(), span
            assert calls.filter(outcome="abandoned").exists(), span
            assert WorkOrder.objects.filter(created_at__gte=span.since, created_at__lt=span.until).exists()
        for span in FULL_MONTHS:
            for station in stations:
                assert st.figure(_metric("orders"), admin, station, span).value, (station.name, span)
        # The current month and the same month a year before both have figures.
        offered = st.report(_metric("calls_offered"), admin, city, this_month)
        assert offered.figure.value and offered.year_before.value
    # Calls carry consistent figures; the time limits are mostly, not always, met in time.
    answered = Call.objects.filter(outcome="answered").first()
    assert answered.wait_seconds == int((answered.answered_at - answered.queued_at).total_seconds())
    assert answered.talk_seconds == int((answered.ended_at - answered.answered_at).total_seconds())
    met = Deadline.objects.filter(met_at__isnull=False)
    late = sum(1 for d in met.only("met_at", "due_at") if d.met_at > d.due_at)
    assert 0.005 < late / met.count() < 0.2
    assert WorkOrder.objects.filter(channel="regulator_12398", order_type="complaint").exists()
    assert set(WorkOrder.objects.exclude(satisfaction="").values_list("satisfaction", flat=True)) == {
        "satisfied",
        "basically",
        "dissatisfied",
    }
    assert AgentStateSpell.objects.exists() and Inspection.objects.filter(state="scored").exists()


def test_figures_differ_between_stations_and_months(county):
    admin = User.objects.get(username="admin")
    city = Unit.objects.get(kind=Unit.Kind.CITY)
    stations = list(Unit.objects.filter(kind=Unit.Kind.STATION).order_by("code"))
    year = st.Span(FULL_MONTHS[0].start, FULL_MONTHS[-1].end)
    with clock.frozen(NOW):
        ranks = st.ranking(_metric("arrive_within_limit"), admin, stations, year)
        values = [r.figure.value for r in ranks]
        assert all(v is not None for v in values)
        assert values[0] - values[-1] >= 10  # percentage points between the best and the worst
        assert ranks[-1].figure.unit.name == "龙潭供电所"  # the station that runs late
        fulfilment = {r.figure.unit.name: r.figure.value for r in ranks}
        assert fulfilment["城东供电所"] > fulfilment["龙潭供电所"]

        offered = [f.value for f in st.trend(_metric("calls_offered"), admin, city, FULL_MONTHS[-1], 12)]
        assert all(offered) and len(set(offered)) > 6
        august = st.period_of("month", dt.date(2025, 8, 1))
        april = st.period_of("month", dt.date(2025, 4, 1))
        # Summer heat and the typhoon: more calls and a worse service level than in April.
        assert (
            st.figure(_metric("calls_offered"), admin, city, august).value
            > st.figure(_metric("calls_offered"), admin, city, april).value
        )
        level = _metric("service_level_20s")
        assert st.figure(level, admin, city, august).value < st.figure(level, admin, city, april).value


def _snapshot():
    calls = list(
        Call.objects.order_by("call_id").values_list(
            "call_id", "caller_number", "answered_by__username", "wait_seconds", "talk_seconds", "outcome"
        )
    )
    orders = list(
        WorkOrder.objects.order_by("number").values_list(
            "number", "assigned_unit__code", "customer__account_no", "satisfaction", "closed_at"
        )
    )
    deadlines = list(Deadline.objects.order_by("order__number", "milestone").values_list("due_at", "met_at"))
    return calls, orders, deadlines


def test_same_seed_same_history(db):
    class Rollback(Exception):
        pass

    with clock.frozen(NOW):
        call_command("seed_demo", customers=300, seed=5, no_knowledge=True, no_history=True, verbosity=0)
        with pytest.raises(Rollback), transaction.atomic():
            make_archive(seed=5, calls_per_day=20)
            first = _snapshot()
            raise Rollback
        assert not Call.objects.exists()
        report = make_archive(seed=5, calls_per_day=20)
    assert report.calls == len(first[0]) > 5000
    assert report.orders == len(first[1]) > 1000
    assert _snapshot() == first
