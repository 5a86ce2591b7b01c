"""A fault call reporting a safety hazard (有安全隐患): urgent whatever the call count — its own
event (or its device's open event, marked urgent), dispatched at once, marked on the board, the
event page and the crew's job card, and the caller told to stay away."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from gridcare.org.services import issue_token
from gridcare.repair import services
from gridcare.repair.models import DeviceLevel, FaultEvent, RepairSetting, ReportedCall, TroubleCall
from gridcare.workorders.models import State

from .helpers import call

pytestmark = pytest.mark.django_db

HAZARD = "电线断落冒火花，有触电危险"


def test_a_single_hazard_call_gets_its_own_urgent_event_dispatched_at_once(grid, storm_clock):
    customer = grid.customers_by_area[grid.areas[0].pk][0]
    result = call(grid, customer, HAZARD, hazard=True)
    event = result.event
    assert event is not None and event.hazard
    assert event.level == DeviceLevel.CUSTOMER
    assert event.state == FaultEvent.State.DISPATCHED and event.crew is not None
    result.order.refresh_from_db()
    assert result.order.state == State.DISPATCHED
    assert result.order.assigned_unit == event.crew.team_unit
    assert "远离" in result.answer and event.crew.name in result.answer
    assert "正在研判" not in result.answer and "自查" not in result.answer
    assert TroubleCall.objects.get(order=result.order).hazard


def test_the_crew_is_told_it_is_urgent(grid, storm_clock):
    from gridcare.notify.models import Message

    grid.crew_two.is_active = False  # the crew with members is the one sent
    grid.crew_two.save(update_fields=["is_active"])
    customer = grid.customers_by_area[grid.areas[0].pk][0]
    event = call(grid, customer, HAZARD, hazard=True).event
    assert event.crew == grid.crew_one
    subjects = list(
        Message.objects.filter(subject__contains=f"【抢修派工】{event.number}").values_list(
            "subject", flat=True
        )
    )
    assert subjects and all("安全隐患" in s for s in subjects)


def test_a_second_hazard_call_of_the_same_place_joins_the_hazard_event(grid, storm_clock):
    first, second = grid.customers_by_area[grid.areas[0].pk][:2]
    one = call(grid, first, HAZARD, hazard=True)
    two = call(grid, second, "门口电线掉下来了在冒火", hazard=True)
    assert two.event.pk == one.event.pk
    assert FaultEvent.objects.filter(hazard=True).count() == 1
    assert FaultEvent.objects.get(pk=one.event.pk).call_count == 2
    order = two.order
    order.refresh_from_db()
    assert order.state == State.DISPATCHED and "远离" in two.answer


def test_a_hazard_call_under_an_ordinary_outage_marks_that_event_urgent(grid, storm_clock):
    RepairSetting.objects.update(auto_dispatch=False)  # the area's outage event waits for a dispatcher
    area = grid.areas[1]
    people = grid.customers_by_area[area.pk]
    for c in people[:3]:
        call(grid, c)
    services.run_analysis()
    outage = FaultEvent.objects.get(level=DeviceLevel.AREA, transformer_area=area)
    assert outage.state == FaultEvent.State.WAITING and not outage.hazard

    result = call(grid, people[3], HAZARD, hazard=True)
    outage.refresh_from_db()
    assert result.event.pk == outage.pk  # one device, one event: the hazard does not split it
    assert outage.hazard and outage.state == FaultEvent.State.DISPATCHED and outage.crew_id
    assert FaultEvent.objects.filter(state__in=FaultEvent.OPEN_STATES).count() == 1


def test_a_repeated_call_now_reporting_a_hazard_takes_the_event_out_of_self_check(grid, storm_clock):
    customer = grid.customers_by_area[grid.areas[2].pk][0]
    call(grid, customer)
    services.run_analysis()
    event = FaultEvent.objects.get(customer=customer)
    assert event.state == FaultEvent.State.SELF_CHECK and event.crew_id is None

    again = call(grid, customer, "表箱那里冒火花了", hazard=True)
    event.refresh_from_db()
    assert again.repeated and again.event.pk == event.pk
    assert event.hazard and event.state == FaultEvent.State.DISPATCHED and event.crew_id
    assert "远离" in again.answer


def test_the_api_answers_the_safety_advice_and_the_queued_call_is_dispatched(grid, storm_clock):
    customer = grid.customers_by_area[grid.areas[0].pk][0]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(user=grid.agent)}")
    response = client.post(
        "/api/v1/repair/calls",
        {"content": HAZARD, "account_no": customer.account_no, "hazard": True},
        content_type="application/json",
    )
    assert response.status_code == 202
    body = response.json()
    assert body["hazard"] is True and "远离" in body["answer"]
    assert ReportedCall.objects.get().hazard

    services.run_analysis()
    status = client.get(body["status_url"]).json()
    assert status["state"] == "done" and status["order_state"] == State.DISPATCHED
    assert status["event"]["hazard"] is True and status["event"]["crew"]
    assert "远离" in status["answer"]
    events = client.get("/api/v1/repair/events").json()
    items = events["items"] if isinstance(events, dict) else events
    assert [e["hazard"] for e in items] == [True]


def test_board_event_page_and_job_card_mark_the_hazard(grid, storm_clock):
    grid.crew_two.is_active = False  # the crew of the logged-in crew member is the one sent
    grid.crew_two.save(update_fields=["is_active"])
    customer = grid.customers_by_area[grid.areas[0].pk][0]
    call(grid, grid.customers_by_area[grid.areas[1].pk][0])  # an ordinary call, for contrast
    services.run_analysis()
    event = call(grid, customer, HAZARD, hazard=True).event

    dispatcher = Client()
    dispatcher.force_login(grid.dispatcher)
    board = dispatcher.get("/repair/").content.decode()
    assert "安全隐患·紧急" in board
    assert board.index(event.number) < board.index("引导客户自查")  # the hazard is listed first
    page = dispatcher.get(f"/repair/events/{event.number}/").content.decode()
    assert 'id="event-hazard"' in page and 'id="hazard-alert"' in page

    crew = Client()
    crew.force_login(grid.crew)
    mine = crew.get("/repair/my/").content.decode()
    assert f'id="job-{event.number}"' in mine and "安全隐患·紧急" in mine


def test_the_agent_fault_intake_passes_the_hazard_and_shows_the_advice(grid, storm_clock):
    customer = grid.customers_by_area[grid.areas[0].pk][0]
    client = Client()
    client.force_login(grid.agent)
    response = client.post(
        "/hotline/intake/",
        {
            "order_type": "fault_repair",
            "channel": "hotline",
            "account_no": customer.account_no,
            "symptom": "line_down",
            "scope": "single",
            "hazard": "on",
            "content": HAZARD,
        },
    )
    html = response.content.decode()
    assert response.status_code == 200, html
    assert 'id="hazard-notice"' in html and "远离" in html and "正在研判" not in html
    event = FaultEvent.objects.get(hazard=True)
    assert event.state == FaultEvent.State.DISPATCHED and event.customer == customer


def test_a_hazard_call_split_off_by_the_dispatcher_is_dispatched_at_once(grid, storm_clock):
    area = grid.areas[1]
    people = grid.customers_by_area[area.pk]
    for c in people[:3]:
        call(grid, c)
    services.run_analysis()
    outage = FaultEvent.objects.get(level=DeviceLevel.AREA, transformer_area=area)
    hazard = call(grid, people[3], HAZARD, hazard=True)
    assert hazard.event.pk == outage.pk

    split = services.split_event(event=outage, actor=grid.dispatcher, order_numbers=[hazard.order.number])
    split.refresh_from_db()
    assert split.hazard and split.state == FaultEvent.State.DISPATCHED and split.crew_id
    assert split.crew_id != FaultEvent.objects.get(pk=outage.pk).crew_id


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_neighbours_reporting_one_hazard_at_the_same_moment_make_one_event(grid):
    import threading

    from gridcare.core.testing import in_threads

    people = iter(grid.customers_by_area[grid.areas[0].pk][:4])
    lock = threading.Lock()

    def report():
        with lock:
            customer = next(people)
        return call(grid, customer, HAZARD, hazard=True).event.pk

    events = in_threads(report, 4, barrier=True)
    assert len(set(events)) == 1
    event = FaultEvent.objects.get(hazard=True)
    assert event.call_count == 4 and event.state == FaultEvent.State.DISPATCHED


def test_with_no_crew_free_the_hazard_waits_red_and_its_order_is_at_the_repair_team(grid, storm_clock):
    from gridcare.repair.models import Crew

    Crew.objects.update(is_active=False)
    customer = grid.customers_by_area[grid.areas[0].pk][0]
    result = call(grid, customer, HAZARD, hazard=True)
    event = result.event
    assert event.hazard and event.state == FaultEvent.State.WAITING and event.crew_id is None
    result.order.refresh_from_db()
    assert result.order.state == State.DISPATCHED and result.order.assigned_unit == grid.east_crew
    assert "远离" in result.answer and "调派" in result.answer
