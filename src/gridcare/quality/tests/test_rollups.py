"""Roll-ups (issue 17, item 10): a figure read from the roll-ups equals the figure counted from the
rows — for every metric, unit and kind of period — and stays equal when rows change behind the
roll-up's back (an ``update()``, a time limit falling due, an edited definition, a moved unit)."""

from __future__ import annotations

import datetime as dt
import random
from unittest import mock

import pytest
from django.db import connection

from gridcare.core import clock
from gridcare.core.clock import LOCAL_TZ
from gridcare.hotline.models import AgentStateSpell
from gridcare.org.models import Role
from gridcare.org.services import create_staff, move_unit
from gridcare.quality import rollups, statistics
from gridcare.quality.models import Metric, RollupBucket, RollupStamp
from gridcare.quality.statistics import Span
from gridcare.quality.tests.test_metrics import call, order
from gridcare.workorders.models import Deadline, TimeLimitPolicy, WorkOrder

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 3, 10, 20, tzinfo=LOCAL_TZ)
SPANS = [
    Span(dt.date(2026, 11, 1), dt.date(2026, 12, 1)),  # a closed month
    Span(dt.date(2026, 12, 1), dt.date(2027, 1, 1)),  # the running month (today's hours too)
    Span(dt.date(2026, 10, 15), dt.date(2026, 11, 15)),  # a custom range across months
    Span(dt.date(2026, 12, 3), dt.date(2026, 12, 4)),  # today
]


def _fill(w, seed: int = 7) -> None:
    """Two months of varied rows at every hour: orders of each kind and state, their time limits
    (met on time, late, open, overdue), calls answered and abandoned, agents' state time."""
    rng = random.Random(seed)
    units = [w.east, w.west, w.mountain, w.east_crew, None]
    policy = TimeLimitPolicy.objects.first()
    start = dt.datetime(2026, 10, 1, tzinfo=LOCAL_TZ)
    minutes = int((NOW - start).total_seconds() // 60)
    for _ in range(260):
        when = start + dt.timedelta(minutes=rng.randrange(minutes))
        kind = rng.choice(["complaint", "praise", "consultation", "bill_query", "fault_repair", "complaint"])
        unit = rng.choice(units)
        o = order(
            w,
            unit,
            when,
            kind,
            channel=rng.choice(["hotline", "regulator_12398", "web", "counter"]),
            state=rng.choice(["archived", "archived", "merged", "cancelled", "processing", "called_back"]),
            accepted_unit=rng.choice([w.city, w.east]),
            at_fault=rng.random() < 0.3,
            area_class=rng.choice(["urban", "rural", "remote"]),
            callback_required=rng.random() < 0.6,
            satisfaction=rng.choice(["", "satisfied", "basically", "dissatisfied"]),
        )
        for milestone in rng.sample(["dispatch", "arrive", "restore", "contact", "reply"], 2):
            started = when + dt.timedelta(minutes=rng.randrange(0, 90))
            due = started + dt.timedelta(minutes=rng.choice([45, 90, 240, 60 * 24 * 3]))
            met = rng.choice([None, started + dt.timedelta(minutes=rng.randrange(5, 300))])
            if met is not None and met > NOW:
                met = None
            Deadline.objects.create(
                order=o, milestone=milestone, policy=policy, started_at=started, due_at=due, met_at=met
            )
    _applications(w, rng, start, minutes)
    numbers = [f"1390000{n:04d}" for n in range(25)]
    for _ in range(320):
        when = start + dt.timedelta(minutes=rng.randrange(minutes))
        unit = rng.choice([w.city, w.east, w.county])
        if rng.random() < 0.75:
            call(
                unit,
                rng.choice(numbers),
                when,
                answered_after=rng.randrange(1, 60),
                talk=rng.randrange(30, 600),
                wrap=rng.choice([None, rng.randrange(5, 200)]),
            )
        else:
            call(unit, rng.choice(numbers), when, abandoned_after=rng.randrange(1, 90))
    for _ in range(120):
        begun = start + dt.timedelta(minutes=rng.randrange(minutes))
        seconds = rng.randrange(60, 4000)
        AgentStateSpell.objects.create(
            agent=w.agent,
            unit=w.city,
            state=rng.choice(["ready", "talking", "wrap_up", "break"]),
            started_at=begun,
            ended_at=begun + dt.timedelta(seconds=seconds),
            seconds=seconds,
        )


def _applications(w, rng: random.Random, start: dt.datetime, minutes: int) -> None:
    """Business applications node by node (the ``app_nodes`` source): HV and LV connections whose
    timed nodes finish on time or late, some still running."""
    from gridcare.applications.models import Application, ApplicationNode, NodePath

    hv = NodePath.objects.get(category="hv", supply="single", voltage="")
    lv = NodePath.objects.get(category="residential")
    for i in range(40):
        path = rng.choice([hv, lv])
        accepted = start + dt.timedelta(minutes=rng.randrange(minutes))
        app = Application.objects.create(
            number=f"YKR{i:06d}",
            app_type="new",
            category=path.category,
            voltage="kv10" if path is hv else "lv",
            path=path,
            applicant_name="测试",
            id_type="resident_id",
            id_number="520102198503031234",
            address="测试路1号",
            contact_name="测试",
            contact_phone="13700001111",
            usage_class="residential",
            requested_kva=8,
            supply_unit=rng.choice([w.east, w.west, w.mountain]),
            accepted_unit=w.east,
            accepted_at=accepted,
            total_days=path.total_days,
            total_due_at=accepted + dt.timedelta(days=rng.choice([3, 8, 30])),
            updated_at=accepted,
        )
        at = accepted
        for definition in path.nodes.order_by("seq"):
            begun = at
            at += dt.timedelta(hours=rng.randrange(1, 150))
            finished = at if at < NOW and rng.random() < 0.9 else None
            due = at + dt.timedelta(hours=rng.randrange(-30, 120)) if definition.limit_days else None
            ApplicationNode.objects.create(
                application=app,
                seq=definition.seq,
                kind=definition.kind,
                definition=definition,
                state="done" if finished else "open",
                owner_unit=w.east,
                owner_role=definition.owner_role,
                limit_days=definition.limit_days,
                started_at=begun,
                counted_from=begun,
                due_at=due,
                finished_at=finished,
            )
            if finished is None:
                break


def _direct(metric: Metric, viewer, unit, span: Span) -> tuple:
    """The figure counted straight from the rows (no roll-up, no conditional aggregation)."""
    num = statistics._side(metric, "numerator", None, viewer, unit, span, None)
    den = (
        None
        if metric.denominator is None
        else statistics._side(metric, "denominator", None, viewer, unit, span, None)
    )
    got = statistics._assemble(metric, unit, span, num, den)
    return _key(got)


def _key(f: statistics.Figure) -> tuple:
    return (
        f.metric.code,
        f.unit.code,
        f.span,
        f.value,
        f.numerator,
        f.numerator_rows,
        f.denominator,
        f.denominator_rows,
    )


def _all(viewer, w) -> tuple[list[tuple], list[tuple]]:
    wanted = [
        (m, u, s)
        for m in Metric.objects.filter(is_active=True)
        for u in (w.province, w.city, w.county, w.east, w.west, w.mountain, w.east_crew)
        for s in SPANS
    ]
    read = [_key(f) for f in statistics.figures(wanted, viewer)]
    return read, [_direct(m, viewer, u, s) for m, u, s in wanted]


@pytest.fixture
def boss(world):
    return create_staff(
        username="boss", password=world.password, full_name="省领导", roles=[(Role.MANAGER, world.province)]
    )


def test_every_metric_is_the_same_read_from_the_roll_ups_as_counted_from_the_rows(world, boss):
    w = world
    with clock.frozen(NOW):
        _fill(w)
        before, direct = _all(boss, w)
        assert before == direct  # nothing rolled yet: the reader's own count from the rows
        done = rollups.refresh()
        # 63 days before today, today's finished hours 00:00–09:00 (10:00 is still running) and
        # the stocks (customers now).
        assert done.built == 63 + 10 + 1 and done.pending == 0
        after, direct = _all(boss, w)
        # On PostgreSQL the checks and sums run in the database: the portable path agrees.
        with mock.patch.object(rollups.Reader, "__init__", _portable_reader):
            here, _ = _all(boss, w)
    assert after == direct
    assert here == direct
    assert sum(1 for row in direct if row[3] not in (None, 0)) > 300  # the world is not empty
    for code in ("yk_hv_on_time", "yk_lv_on_time", "yk_avg_connect_days"):  # applications too
        assert any(row[0] == code and row[5] for row in direct), [r for r in direct if r[0] == code][:8]
    assert any(row[0] == "yk_hv_on_time" and row[3] not in (None, 0, 100) for row in direct)


_plain_init = rollups.Reader.__init__


def _portable_reader(self, *args, **kwargs):
    _plain_init(self, *args, **kwargs)
    self.in_database = False


def test_a_closed_month_is_read_from_cells_and_the_running_hour_from_the_rows(world, boss):
    w = world
    with clock.frozen(NOW):
        _fill(w)
        rollups.refresh()
        metric = statistics.metric_in_force("complaints")
        november = SPANS[0]
        today = SPANS[3]
        wants = [
            rollups.Want(metric, w.province, november.since, november.until),
            rollups.Want(metric, w.province, today.since, today.until),
        ]
        plan, today_plan = rollups.Reader(wants, boss).plans()
        assert len(plan.cells) == 30 and plan.raw == ()
        plan = today_plan
        assert [h for _, h in plan.cells] == [1] * 10  # 00:00–09:00 from hour cells
        assert plan.raw == ((rollups.epoch_hour(NOW), rollups.day_hour(dt.date(2026, 12, 4))),)


def test_a_row_changed_behind_the_roll_ups_back_counts_at_once_and_its_day_is_rebuilt(world, boss):
    w = world
    with clock.frozen(NOW):
        o = order(
            w,
            w.east,
            dt.datetime(2026, 11, 10, 9, tzinfo=LOCAL_TZ),
            callback_required=True,
            satisfaction="satisfied",
        )
        rollups.refresh()
        dissatisfied = statistics.metric_in_force("dissatisfied_rate")
        assert statistics.figure(dissatisfied, boss, w.county, SPANS[0]).numerator == 0
        # An update() fires no Django signal; the database trigger still stamps 10 November.
        WorkOrder.objects.filter(pk=o.pk).update(satisfaction="dissatisfied")
        got = statistics.figure(dissatisfied, boss, w.county, SPANS[0])
        assert (got.numerator, got.denominator, str(got.value)) == (1, 1, "100.00")
        stale = rollups.stale_buckets()
        assert stale == [(rollups.day_hour(dt.date(2026, 11, 10)), 24)]
        assert rollups.refresh().built == 1
        assert statistics.figure(dissatisfied, boss, w.county, SPANS[0]).numerator == 1
        # Reassigned to another station: the east station loses it, the west one gains it.
        WorkOrder.objects.filter(pk=o.pk).update(assigned_unit=w.west)
        assert statistics.figure(dissatisfied, boss, w.east, SPANS[0]).numerator == 0
        assert statistics.figure(dissatisfied, boss, w.west, SPANS[0]).numerator == 1


def test_a_time_limit_falling_due_counts_without_any_write(world, boss):
    w = world
    rate = None
    with clock.frozen(NOW):
        o = order(w, w.east, dt.datetime(2026, 12, 1, 8, tzinfo=LOCAL_TZ), "fault_repair")
        Deadline.objects.create(
            order=o,
            milestone="dispatch",
            policy=TimeLimitPolicy.objects.first(),
            started_at=dt.datetime(2026, 12, 1, 8, 5, tzinfo=LOCAL_TZ),
            due_at=dt.datetime(2026, 12, 3, 12, 0, tzinfo=LOCAL_TZ),  # due today at noon
        )
        rollups.refresh()
        rate = statistics.metric_in_force("dispatch_within_limit")
        assert statistics.figure(rate, boss, w.county, SPANS[1]).denominator == 0  # still running
    with clock.frozen(NOW.replace(hour=12, minute=30)):
        got = statistics.figure(rate, boss, w.county, SPANS[1])
        assert (got.numerator, got.denominator, str(got.value)) == (0, 1, "0.00")  # overdue now
        assert (rollups.day_hour(dt.date(2026, 12, 1)), 24) in rollups.stale_buckets()


def test_an_edited_definition_and_a_moved_unit_are_never_read_from_old_cells(world, boss):
    w = world
    with clock.frozen(NOW):
        for day in (3, 4):
            order(w, w.east, dt.datetime(2026, 11, day, 9, tzinfo=LOCAL_TZ), "praise")
        order(w, w.west, dt.datetime(2026, 11, 5, 9, tzinfo=LOCAL_TZ), "complaint")
        rollups.refresh()
        praises = statistics.metric_in_force("praises")
        assert statistics.figure(praises, boss, w.county, SPANS[0]).value == 2
        # An administrator edits the definition in place (the admin makes a new version; a raw
        # edit must not be served from cells built for the old one).
        Metric.objects.filter(pk=praises.pk).update(
            numerator={
                "source": "orders",
                "where": {"order_type__in": ["praise", "complaint"]},
                "agg": "count",
            }
        )
        praises.refresh_from_db()
        assert statistics.figure(praises, boss, w.county, SPANS[0]).value == 3
        # The east station moves to the mountain county: the county cells are forgotten.
        move_unit(unit=w.east, new_parent=w.county2)
        assert not RollupBucket.objects.exists()
        w.county.refresh_from_db()
        w.county2.refresh_from_db()
        assert statistics.figure(praises, boss, w.county, SPANS[0]).value == 1
        assert statistics.figure(praises, boss, w.county2, SPANS[0]).value == 2
        rollups.refresh()
        assert statistics.figure(praises, boss, w.county2, SPANS[0]).value == 2


def test_the_stamping_triggers_cover_every_source_and_leave_the_running_hour_alone(world):
    assert rollups.installed_triggers() >= rollups.expected_triggers()
    real_now = dt.datetime.now(dt.UTC)
    order(world, world.east, real_now)  # intake now: nothing to stamp, no lock taken
    call(world.city, "13900000001", real_now, answered_after=3, talk=60)
    assert not RollupStamp.objects.filter(hour=rollups.epoch_hour(real_now)).exists()
    order(world, world.east, real_now - dt.timedelta(days=2))
    assert RollupStamp.objects.get(hour=rollups.epoch_hour(real_now - dt.timedelta(days=2))).generation == 1


def test_triggers_are_present_on_this_database_vendor():
    names = rollups.installed_triggers()
    assert any(n.startswith(rollups.TRIGGER_PREFIX) for n in names), connection.vendor


def test_an_agent_figure_and_an_out_of_scope_unit_are_counted_from_the_rows(world):
    w = world
    with clock.frozen(NOW):
        order(w, w.west, dt.datetime(2026, 11, 5, 9, tzinfo=LOCAL_TZ))
        rollups.refresh()
        east_leader = create_staff(
            username="east_boss", password=w.password, full_name="冯所长", roles=[(Role.MANAGER, w.east)]
        )
        # The county's cell holds the west station's complaint; the east leader must not read it.
        got = statistics.figure(statistics.metric_in_force("complaints"), east_leader, w.county, SPANS[0])
        assert got.value == 0


def test_refresh_stops_within_its_budget_and_resumes(world):
    with clock.frozen(NOW):
        order(world, world.east, dt.datetime(2026, 10, 1, 9, tzinfo=LOCAL_TZ))
        first = rollups.refresh(budget_seconds=0)
        assert first.built == 1 and first.pending > 0
        second = rollups.refresh()
        assert second.built == first.pending and not rollups.stale_buckets()


def test_todays_hours_give_way_to_the_day_once_it_is_over(world, boss):
    w = world
    offered = None
    with clock.frozen(NOW):
        call(w.city, "13900000009", NOW - dt.timedelta(hours=3), answered_after=10, talk=120)
        rollups.refresh()
        offered = statistics.metric_in_force("calls_offered")
        assert statistics.figure(offered, boss, w.province, SPANS[3]).value == 1
        assert RollupBucket.objects.filter(hours=1).exists()
    two_days_later = NOW + dt.timedelta(days=2)
    with clock.frozen(two_days_later):
        rollups.refresh()
        assert not RollupBucket.objects.filter(
            hours=1, start__lt=rollups.day_hour(dt.date(2026, 12, 4))
        ).exists()
        assert RollupBucket.objects.filter(hours=24, start=rollups.day_hour(dt.date(2026, 12, 3))).exists()
        assert statistics.figure(offered, boss, w.province, SPANS[3]).value == 1


def test_a_fourth_call_in_december_makes_novembers_calls_repeats_in_cells_and_rows_alike(world, boss):
    """The telecom repeat rule (≥ 4 answered calls of one number within 7 days) counts the number's
    calls across the period's end; the trigger marks November's hours changed when December's
    call arrives, so the rolled November never misses them."""
    w = world
    number = "13900004444"
    with clock.frozen(NOW):
        for day in (27, 28, 29):
            call(w.city, number, dt.datetime(2026, 11, day, 9, tzinfo=LOCAL_TZ), answered_after=5, talk=60)
        call(w.city, "13900005555", dt.datetime(2026, 11, 20, 9, tzinfo=LOCAL_TZ), answered_after=5, talk=60)
        rollups.refresh()
        repeats = statistics.metric_in_force("repeat_calls_7d")
        before = statistics.figure(repeats, boss, w.province, SPANS[0])
        assert (before.numerator, before.denominator) == (0, 4)
        call(w.city, number, dt.datetime(2026, 12, 1, 8, tzinfo=LOCAL_TZ), answered_after=5, talk=60)
        stale = rollups.stale_buckets()
        for day in (27, 28, 29):
            assert (rollups.day_hour(dt.date(2026, 11, day)), 24) in stale
        got = statistics.figure(repeats, boss, w.province, SPANS[0])
        assert (got.numerator, got.denominator, str(got.value)) == (3, 4, "75.00")
        rollups.refresh()
        assert _key(statistics.figure(repeats, boss, w.province, SPANS[0])) == _direct(
            repeats, boss, w.province, SPANS[0]
        )
        assert statistics.figure(repeats, boss, w.province, SPANS[1]).numerator == 1  # December's own call


def test_the_customers_stock_is_read_from_its_cell_and_a_customer_moving_station_counts_at_once(world, boss):
    """Complaints per 10,000 customers: the customers now come from the stock cell, not a count
    of the customers table per page; a customer moving to another station (or a new one) stamps
    the stock, so the next read counts from the rows until the stock is rebuilt. A change of a
    column no stock figure reads (the name) stamps nothing."""
    w = world
    metric = statistics.metric_in_force("complaints_per_10k")
    assert metric is not None and [side.stock for side in rollups.sides_of(metric)] == [False, True]
    with clock.frozen(NOW):
        _fill(w)
        rollups.refresh()
        span = SPANS[0]

        def customers(unit) -> tuple:
            got = statistics.figures([(metric, unit, span)], boss)[0]
            assert _key(got) == _direct(metric, boss, unit, span)
            return got.denominator_rows

        [plan] = rollups.Reader([rollups.Want(metric, w.east, span.since, span.until)], boss).plans()
        assert plan.stock is True
        assert (customers(w.east), customers(w.west), customers(w.county)) == (1, 1, 2)
        stamp = RollupStamp.objects.filter(hour=rollups.STOCK).values_list("generation", flat=True).first()
        type(w.customer_east).objects.filter(pk=w.customer_east.pk).update(name="张建国（更名）")
        assert (
            RollupStamp.objects.filter(hour=rollups.STOCK).values_list("generation", flat=True).first()
            == stamp
        )
        type(w.customer_east).objects.filter(pk=w.customer_east.pk).update(station=w.west)
        [plan] = rollups.Reader([rollups.Want(metric, w.east, span.since, span.until)], boss).plans()
        assert plan.stock is False  # stale: counted from the rows
        assert (customers(w.east), customers(w.west), customers(w.county)) == (0, 2, 2)
        assert rollups.STOCK_BUCKET in rollups.stale_buckets()
        rollups.refresh()
        [plan] = rollups.Reader([rollups.Want(metric, w.east, span.since, span.until)], boss).plans()
        assert plan.stock is True
        assert (customers(w.east), customers(w.west), customers(w.county)) == (0, 2, 2)
