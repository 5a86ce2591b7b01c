"""Trouble-call analysis: calls become outage events on the device that most likely failed."""

from __future__ import annotations

import pytest

from gridcare.repair.models import DeviceLevel, FaultEvent, TroubleCall
from gridcare.repair.services import run_analysis
from gridcare.workorders.models import State

from .helpers import call

pytestmark = pytest.mark.django_db


def open_events():
    return list(FaultEvent.objects.filter(state__in=FaultEvent.OPEN_STATES))


def test_calls_under_one_transformer_become_one_event_on_it(grid, storm_clock):
    area = grid.areas[0]
    results = [call(grid, c) for c in grid.customers_by_area[area.pk][:3]]

    run_analysis()

    [event] = open_events()
    assert event.level == DeviceLevel.AREA
    assert event.transformer_area == area
    assert event.caller_count == 3
    assert event.affected_count == 5  # everyone under the transformer, not only the callers
    assert event.key_customer_count == 1
    assert set(TroubleCall.objects.filter(event=event).values_list("order__number", flat=True)) == {
        r.order.number for r in results
    }
    # Dispatched at once to the best crew of the owning station, within the 5-minute limit.
    assert event.crew == grid.crew_two  # the electrician group goes before the station team
    assert event.state == FaultEvent.State.DISPATCHED
    for r in results:
        r.order.refresh_from_db()
        assert r.order.state == State.DISPATCHED
        assert r.order.assigned_unit == grid.east_crew
        assert r.order.deadlines.get(milestone="dispatch").met_at is not None


def test_affected_customers_list_key_customers_first(grid, storm_clock):
    from gridcare.repair.analysis import affected_customers

    area = grid.areas[0]
    for c in grid.customers_by_area[area.pk][:3]:
        call(grid, c)
    run_analysis()
    [event] = open_events()
    assert affected_customers(event).first().is_key


def test_calls_across_areas_of_one_feeder_become_a_feeder_event(grid, storm_clock):
    for area in grid.areas[:3]:
        for c in grid.customers_by_area[area.pk][:3]:
            call(grid, c)

    run_analysis()

    [event] = open_events()
    assert event.level == DeviceLevel.FEEDER
    assert event.feeder == grid.feeder_east
    assert event.call_count == 9
    assert event.affected_count == 5 * 4 + 1  # every customer of the feeder, incl. the world's own


def test_area_events_grow_into_a_feeder_event_as_more_areas_call(grid, storm_clock):
    first, second, third = grid.areas[:3]
    for c in grid.customers_by_area[first.pk][:3]:
        call(grid, c)
    run_analysis()
    [area_event] = open_events()
    assert area_event.level == DeviceLevel.AREA

    storm_clock.advance(minutes=4)
    for area in (second, third):
        for c in grid.customers_by_area[area.pk][:3]:
            call(grid, c)
    run_analysis()

    # The area event is promoted: the same event (number, crew, dispatch time) now stands for the
    # feeder, and every call of the three areas is on it.
    [feeder_event] = open_events()
    assert feeder_event.pk == area_event.pk and feeder_event.number == area_event.number
    assert feeder_event.level == DeviceLevel.FEEDER and feeder_event.feeder == grid.feeder_east
    assert feeder_event.transformer_area is None
    assert feeder_event.call_count == 9
    assert feeder_event.crew == area_event.crew  # the crew already on its way keeps the job
    # ... and the board counts the feeder event as dispatched since that crew was sent: not as
    # still waiting for a crew (the dispatch limit is met), not dispatched anew.
    assert feeder_event.state == FaultEvent.State.DISPATCHED
    assert feeder_event.dispatched_at == area_event.dispatched_at is not None
    assert feeder_event.updates.filter(action="promote").count() == 1
    assert feeder_event.affected_count == 5 * 4 + 1


def test_a_single_customer_is_a_customer_side_fault_with_self_check_first(grid, storm_clock):
    c = grid.customers_by_area[grid.areas[0].pk][0]
    result = call(grid, c)
    assert result.event is None

    run_analysis()

    [event] = open_events()
    assert event.level == DeviceLevel.CUSTOMER
    assert event.customer == c
    assert event.state == FaultEvent.State.SELF_CHECK
    assert event.crew is None
    # Asked again, the customer hears the self-check guidance (the call urges the open order).
    again = call(grid, c)
    assert again.repeated and again.order == result.order
    assert "自查" in again.answer
    assert again.order.urge_count == 1


def test_neighbours_calling_turn_customer_faults_into_an_area_event(grid, storm_clock):
    people = grid.customers_by_area[grid.areas[1].pk]
    call(grid, people[0])
    run_analysis()
    [single] = open_events()
    call(grid, people[1])
    call(grid, people[2])
    run_analysis()
    [event] = open_events()
    assert event.level == DeviceLevel.AREA
    single.refresh_from_db()
    assert single.merged_into == event
    assert event.caller_count == 3


def test_a_late_call_links_to_the_open_event_instead_of_new_field_work(grid, storm_clock):
    area = grid.areas[0]
    people = grid.customers_by_area[area.pk]
    for c in people[:3]:
        call(grid, c)
    run_analysis()
    [event] = open_events()

    storm_clock.advance(minutes=20)
    late = call(grid, people[4], content="我家也停电了")

    assert late.created
    assert late.event == event
    assert "已掌握" in late.answer and grid.crew_two.name in late.answer
    assert late.order.state == State.DISPATCHED  # sent with the event, no new analysis needed
    assert late.order.assigned_unit == grid.east_crew
    assert FaultEvent.objects.count() == 1
    event.refresh_from_db()
    assert event.call_count == 4


def test_a_caller_without_account_is_placed_by_the_address(grid, storm_clock):
    area = grid.areas[2]
    for c in grid.customers_by_area[area.pk][:2]:
        call(grid, c)
    anonymous = call(grid, None, caller_phone="18600000000", address="城关镇人民路13号门面")

    tc = TroubleCall.objects.get(order=anonymous.order)
    assert tc.placed_by == TroubleCall.PlacedBy.ADDRESS
    assert tc.transformer_area == area
    run_analysis()
    [event] = open_events()
    assert event.transformer_area == area and event.caller_count == 3


def test_analysis_is_stable_when_nothing_new_arrives(grid, storm_clock):
    for area in grid.areas[:2]:
        for c in grid.customers_by_area[area.pk][:3]:
            call(grid, c)
    assert run_analysis().changed
    before = sorted(FaultEvent.objects.values_list("id", "state", "call_count"))
    assert not run_analysis().changed
    assert sorted(FaultEvent.objects.values_list("id", "state", "call_count")) == before


def test_fault_orders_created_through_the_work_order_api_are_analysed_too(grid, storm_clock):
    from gridcare.workorders.services import Intake, create_work_order

    for c in grid.customers_by_area[grid.areas[3].pk][:3]:
        create_work_order(
            actor=grid.agent,
            intake=Intake(order_type="fault_repair", channel="wechat", content="停电", customer=c),
        )
    storm_clock.advance(seconds=15)  # the roll-up leaves just-created orders to their intake a moment
    report = run_analysis()
    assert report.placed == 3
    [event] = open_events()
    assert event.transformer_area == grid.areas[3]


def test_with_two_open_events_on_one_area_every_path_picks_the_oldest(grid, storm_clock):
    """A split (or a dispatcher's own event) can leave two open events on one transformer area:
    the roll-up, the hotline's call and the API's answer all name the oldest of them."""
    from gridcare.core import clock
    from gridcare.repair import analysis, open_events

    area = grid.areas[0]
    people = grid.customers_by_area[area.pk]
    waiting = [call(grid, c) for c in people[:2]]  # before any event: left for the roll-up
    assert all(r.event is None for r in waiting)

    def area_event():
        return analysis.new_event(
            level=DeviceLevel.AREA,
            station_id=area.station_id,
            area_id=area.pk,
            feeder_id=area.feeder_id,
            area_class=area.area_class,
            now=clock.now(),
        )

    oldest = area_event()
    storm_clock.advance(minutes=1)
    area_event()

    run_analysis()
    assert set(
        TroubleCall.objects.filter(order__in=[r.order for r in waiting]).values_list("event", flat=True)
    ) == {oldest.pk}
    late = call(grid, people[3])
    assert late.event == oldest
    open_events.forget()
    assert open_events.covering(people[4]) == oldest
