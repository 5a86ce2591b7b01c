"""The analysis model on grids shaped unlike the test world (issue #15): calls weighed against the
customers each device supplies, and events re-judged as evidence grows."""

from __future__ import annotations

import pytest

from gridcare.repair import inference
from gridcare.repair.models import DeviceLevel, FaultEvent, TroubleCall
from gridcare.repair.services import run_analysis
from gridcare.workorders.models import State

from .helpers import call

pytestmark = pytest.mark.django_db


def open_device_events():
    return list(
        FaultEvent.objects.filter(state__in=FaultEvent.OPEN_STATES).exclude(level=DeviceLevel.CUSTOMER)
    )


def big_feeder(w, *, areas: int, customers: int, code: str = "F9"):
    """A feeder of ``areas`` transformer areas of ``customers`` customers each on the east station
    (and a quiet neighbour feeder of the same shape, so the county is not only this feeder)."""
    from gridcare.customers.models import AreaClass, Customer, CustomerPhone, Feeder, TransformerArea

    made = {}
    for feeder_code in (code, code + "Q"):
        feeder = Feeder.objects.create(
            name=f"10kV{feeder_code}线", code=feeder_code, substation=w.substation, unit=w.east
        )
        by_area = []
        for i in range(areas):
            area = TransformerArea.objects.create(
                name=f"{feeder_code}-{i}号台区",
                code=f"{feeder_code}T{i:02d}",
                feeder=feeder,
                station=w.east,
                area_class=AreaClass.URBAN,
            )
            people = Customer.objects.bulk_create(
                Customer(
                    account_no=f"9{feeder_code[1:]}{'9' if feeder_code.endswith('Q') else '0'}{i:03d}{k:04d}",
                    name=f"{feeder_code}住户{i}-{k}",
                    transformer_area=area,
                    station=w.east,
                    customer_class=Customer.CustomerClass.RESIDENTIAL,
                    tariff_category=Customer.TariffCategory.RESIDENTIAL_TIERED,
                )
                for k in range(customers)
            )
            assert len(people) == customers
            people = list(Customer.objects.filter(transformer_area=area).order_by("id"))
            CustomerPhone.objects.bulk_create(
                CustomerPhone(customer=c, number=f"13{c.pk:09d}", is_primary=True) for c in people
            )
            by_area.append((area, people))
        made[feeder_code] = (feeder, by_area)
    return made[code]


# --- the model alone ------------------------------------------------------------------------------


def judged(children, *, county=100_000, other_callers=20, loose=0):
    feeder = inference.FeederCount(
        1, [inference.AreaCount(i, n, k) for i, (n, k) in enumerate(children)], loose_callers=loose
    )
    return inference.judge(
        [feeder],
        total_customers=county,
        total_callers=other_callers + feeder.callers,
        total_areas=1000,
        total_feeders=100,
    ).feeders[1]


def test_calls_spread_thinly_over_every_area_are_the_feeder():
    # 20 areas of 100 customers, 3–11 % of each calling: no area is remarkable alone.
    for per_area in (3, 5, 11):
        verdict = judged([(100, per_area)] * 20)
        assert verdict.probability > 0.99, per_area


def test_calls_crowded_in_a_few_areas_of_a_silent_feeder_are_those_areas():
    verdict = judged([(100, 15)] * 3 + [(100, 0)] * 17)
    assert verdict.probability < 0.01
    assert sorted(a for a, p in verdict.areas.items() if p > 0.99) == [0, 1, 2]


def test_callers_who_named_only_the_road_count_for_the_areas_that_call_not_for_the_feeder():
    # Three faulted transformers of a five-area feeder (issue 15's random family): 200 callers
    # placed on their areas, six more whose spoken address named only the road. Those six came
    # from the feeder's areas, most likely the calling ones: they do not make it a feeder fault.
    areas = [(228, 54), (228, 1), (239, 0), (228, 71), (242, 82)]
    placed_only = judged(areas).probability
    verdict = judged(areas, loose=6)
    assert verdict.probability < 0.9  # no feeder event (it was 1.0 when they counted for the feeder alone)
    assert verdict.probability <= placed_only + 0.05
    assert sorted(a for a, p in verdict.areas.items() if p > 0.99) == [0, 3, 4]
    # A feeder whose callers all named only the road is still judged (on the feeder's customers).
    road_only = judged([(100, 0)] * 20, loose=60)
    assert road_only.probability > 0.99 and road_only.areas == {}


def test_a_lone_caller_in_a_big_area_is_not_an_area_fault():
    verdict = judged([(100, 1)] + [(100, 0)] * 19)
    assert verdict.probability < 0.01 and verdict.areas[0] < 0.05


def test_twelve_times_the_lone_faults_raise_the_background_and_a_few_calls_prove_less():
    quiet = judged([(400, 5)] + [(400, 0)] * 9, other_callers=20)
    storm = judged([(400, 5)] + [(400, 0)] * 9, other_callers=600)
    assert quiet.areas[0] > 0.8
    assert storm.areas[0] < 0.2


def test_more_silent_customers_weigh_against_the_feeder():
    small = judged([(5, 3), (5, 3), (5, 0), (5, 0)])
    large = judged([(5, 3), (5, 3), (200, 0), (200, 0)])
    assert large.probability < 0.01 < small.probability


# --- on the database: events follow the judgement -------------------------------------------------


def test_a_thin_feeder_fault_is_found_as_a_feeder(world, grid, storm_clock):
    """12 areas of 60 customers, each with at most 12 % calling (a real county's feeder fault: the
    callers spread thinly over every area): one feeder event, every call on it, nobody told to
    check their own switch."""
    feeder, areas = big_feeder(grid, areas=12, customers=60)
    for i, (_area, people) in enumerate(areas):
        for person in people[: 3 + i % 5]:  # 3–7 of 60 = 5–12 %
            call(grid, person)
        storm_clock.advance(seconds=20)
    run_analysis()

    [event] = open_device_events()
    assert event.level == DeviceLevel.FEEDER and event.feeder == feeder
    assert TroubleCall.objects.filter(feeder=feeder).exclude(event=event).count() == 0
    assert not FaultEvent.objects.filter(
        level=DeviceLevel.CUSTOMER, state=FaultEvent.State.SELF_CHECK
    ).exists()
    assert event.affected_count == 12 * 60
    assert float(event.confidence) >= 0.9


def test_two_faulted_transformers_on_a_healthy_feeder_stay_two_events(world, grid, storm_clock):
    feeder, areas = big_feeder(grid, areas=10, customers=40)
    (a, a_people), (b, b_people) = areas[2], areas[7]
    for person in a_people[:8] + b_people[:6]:
        call(grid, person)
        storm_clock.advance(seconds=15)
    run_analysis()
    storm_clock.advance(minutes=10)
    for person in a_people[8:12] + b_people[6:9]:
        call(grid, person)
    run_analysis()

    events = sorted(open_device_events(), key=lambda e: e.transformer_area.code)
    assert [(e.level, e.transformer_area) for e in events] == [
        (DeviceLevel.AREA, a),
        (DeviceLevel.AREA, b),
    ]
    assert [e.caller_count for e in events] == [12, 9]


def test_an_event_promoted_to_the_feeder_keeps_its_number_and_moves_its_orders(world, grid, storm_clock):
    feeder, areas = big_feeder(grid, areas=8, customers=30)
    first_area, first_people = areas[0]
    for person in first_people[:4]:
        call(grid, person)
    run_analysis()
    [area_event] = open_device_events()
    assert area_event.level == DeviceLevel.AREA and area_event.transformer_area == first_area

    storm_clock.advance(minutes=6)
    for _area, people in areas[1:]:
        for person in people[:3]:
            call(grid, person)
    run_analysis()

    [event] = open_device_events()
    assert event.pk == area_event.pk and event.level == DeviceLevel.FEEDER and event.feeder == feeder
    assert event.call_count == 4 + 7 * 3
    history = list(event.updates.values_list("action", flat=True))
    assert history.count("promote") == 1
    # Every open order of the event is with the event's unit and linked to it.
    orders = [tc.order for tc in TroubleCall.objects.filter(event=event).select_related("order")]
    assert {o.state for o in orders} <= {State.DISPATCHED, State.IN_PROGRESS}
    assert len({o.assigned_unit_id for o in orders}) == 1
    # The public outage followed: the first area's customers were told of the transformer fault
    # and get one correction; the rest of the feeder one notice; nobody two notices.
    from .test_outage_follows_event import purposes

    told = purposes(event.outage)
    first_ids = {str(c.pk) for c in first_people}
    assert set(told) == {str(c.pk) for _a, people in areas for c in people}
    for customer_id, kinds in told.items():
        expected = {"notice": 1, "corrected": 1} if customer_id in first_ids else {"notice": 1}
        assert dict(kinds) == expected, customer_id
    # The dispatcher reads on the event page what happened to it.
    from django.test import Client

    page = Client()
    page.force_login(grid.dispatcher)
    html = page.get(f"/repair/events/{event.number}/").content.decode()
    assert "升级为线路故障" in html and "研判生成" in html
    assert "（可信度 100%）" not in html  # the model is never certain: at most 99 %
    # Stable: nothing new, nothing changes.
    before = list(FaultEvent.objects.order_by("id").values_list("id", "level", "state", "call_count"))
    assert not run_analysis().changed
    assert list(FaultEvent.objects.order_by("id").values_list("id", "level", "state", "call_count")) == before


def test_a_feeder_guess_the_later_calls_contradict_is_demoted_and_split(world, grid, storm_clock):
    """Early calls from four areas at once read as the feeder; then three of them go on calling
    while the other areas stay silent: the feeder event becomes the busiest area's event, the
    other failed areas get their own, and the lone early caller is a customer-side fault again."""
    feeder, areas = big_feeder(grid, areas=20, customers=40)
    for n, (_area, people) in zip((2, 2, 2, 1), areas[:4], strict=True):
        for person in people[:n]:
            call(grid, person)
    run_analysis()
    [first] = open_device_events()
    assert first.level == DeviceLevel.FEEDER

    storm_clock.advance(minutes=15)
    for n, (_area, people) in zip((14, 10, 8), areas[:3], strict=True):
        for person in people[2:n]:
            call(grid, person)
    run_analysis()

    events = {e.transformer_area_id: e for e in open_device_events()}
    assert set(events) == {areas[0][0].pk, areas[1][0].pk, areas[2][0].pk}
    assert events[areas[0][0].pk].pk == first.pk  # the busiest area keeps the event
    assert all(e.level == DeviceLevel.AREA for e in events.values())
    assert first.updates.filter(action="demote").count() == 1
    # The fourth area's early caller is on their own (customer) event, not on a device.
    [fourth] = TroubleCall.objects.filter(transformer_area=areas[3][0])
    assert fourth.event.level == DeviceLevel.CUSTOMER


def test_a_caller_in_a_suspect_area_is_not_sent_to_check_their_own_switch(world, grid, storm_clock):
    feeder, areas = big_feeder(grid, areas=4, customers=12)
    area, people = areas[1]
    call(grid, people[0])
    run_analysis()
    [single] = FaultEvent.objects.filter(level=DeviceLevel.CUSTOMER)
    assert single.state == FaultEvent.State.SELF_CHECK  # one call of twelve: probably their own
    call(grid, people[1])
    run_analysis()
    single.refresh_from_db()
    assert single.state in (FaultEvent.State.WAITING, FaultEvent.State.MERGED, FaultEvent.State.DISPATCHED)
    again = call(grid, people[0])  # the first caller calls again: no self-check advice now
    assert "自查" not in again.answer


def test_calls_inside_a_live_temporary_outage_are_explained_by_it(world, grid, storm_clock):
    """An area under a temporary outage (临时检修) that is in progress: its customers calling are
    explained by it — no fault event, no field work — while a neighbour area's calls are judged."""
    import datetime as dt

    from gridcare.core import clock
    from gridcare.outages import services as outages
    from gridcare.outages.models import OutageKind

    feeder, areas = big_feeder(grid, areas=4, customers=20)
    (area, people), (other, other_people) = areas[0], areas[2]
    start = clock.now() - dt.timedelta(minutes=30)
    outage, _ = outages.create_outage(
        kind=OutageKind.TEMPORARY,
        reason="配变临时检修",
        actor=grid.dispatcher,
        planned_start=start,
        planned_end=start + dt.timedelta(hours=4),
        transformer_areas=[area],
    )
    outages.publish(outage=outage, actor=grid.dispatcher, override_reason="设备缺陷需立即处理")
    outages.start(outage=outage, actor=grid.dispatcher, at=start)
    for person in people[:8] + other_people[:6]:
        call(grid, person)

    report = run_analysis()

    assert report.explained == 8
    explained = TroubleCall.objects.filter(transformer_area=area)
    assert {tc.known_outage_id for tc in explained} == {outage.pk} and not any(
        tc.event_id for tc in explained
    )
    [event] = open_device_events()
    assert event.level == DeviceLevel.AREA and event.transformer_area == other
    assert not run_analysis().changed  # explained calls are not explained again


def test_a_customer_disconnected_for_arrears_is_explained_and_their_order_goes_to_the_station(
    world, grid, storm_clock
):
    from gridcare.customers.models import Customer

    feeder, areas = big_feeder(grid, areas=3, customers=10)
    area, people = areas[0]
    Customer.objects.filter(pk=people[0].pk).update(status=Customer.Status.DISCONNECTED)
    result = call(grid, people[0])

    report = run_analysis()

    assert report.explained == 1
    tc = TroubleCall.objects.get(order=result.order)
    assert tc.explained_by == TroubleCall.Explained.ARREARS and tc.event is None
    tc.order.refresh_from_db()
    assert tc.order.state == State.DISPATCHED  # to the station's repair team, to tell the customer
    assert "欠费" in tc.order.events.latest("id").note
    assert not FaultEvent.objects.exists()
