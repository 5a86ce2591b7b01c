"""Scarce crews (issue #15 item 3): when a station's crews are busy, the events waiting for one queue
by priority (hazard, key customers, customers affected, waiting time); a crew that comes free goes
to the head of the queue at once; neighbouring stations lend idle crews after a wait, keeping their
reserve; an event judged spurious frees its crew; a crew with nobody in it is never sent."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test import Client

from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.notify.models import Channel, Message
from gridcare.org.models import Role
from gridcare.org.services import create_staff, issue_token
from gridcare.repair import analysis, services
from gridcare.repair.crew_queue import WaitReason, dispatch_queue, queue_view, withdraw_event
from gridcare.repair.models import Crew, CrewAssignment, DeviceLevel, EventUpdate, FaultEvent, RepairSetting

from .helpers import call

pytestmark = pytest.mark.django_db


def setting(**values) -> RepairSetting:
    row = RepairSetting.objects.order_by("id").first() or RepairSetting()
    for name, value in values.items():
        setattr(row, name, value)
    row.save()  # forgets the row kept in this process
    return row


def event(grid, area, *, waited=0, hazard=False, key=0, affected=5, level=DeviceLevel.AREA) -> FaultEvent:
    """An event on ``area`` (east station) formed ``waited`` minutes ago, with its counts (a
    customer-side event waits for a person: its area is suspect)."""
    e = analysis.new_event(
        level=level,
        station_id=area.station_id,
        area_id=area.pk,
        feeder_id=area.feeder_id,
        customer_id=grid.customers_by_area[area.pk][0].pk if level == DeviceLevel.CUSTOMER else None,
        area_class=area.area_class,
        now=clock.now() - dt.timedelta(minutes=waited),
        hazard=hazard,
    )
    FaultEvent.objects.filter(pk=e.pk).update(
        key_customer_count=key, affected_count=affected, state=FaultEvent.State.WAITING
    )
    e.refresh_from_db()
    return e


def crew_of(e: FaultEvent) -> Crew | None:
    e.refresh_from_db()
    return e.crew


def west_crew(grid, code, *, staffed=True) -> Crew:
    crew = Crew.objects.create(name=f"城西{code}组", code=code, station=grid.west, team_unit=grid.west_team)
    if staffed:
        crew.members.add(
            create_staff(
                username=f"w_{code}",
                password=grid.password,
                full_name="城西队员",
                roles=[(Role.CREW, grid.west_team)],
            )
        )
    return crew


@pytest.fixture
def east_busy(grid, storm_clock):
    """One job per crew; both east crews are out on a fault each (no reinforcement unless a test
    turns it on)."""
    setting(max_jobs_per_crew=1, reinforce_from_neighbours=False)
    first, second = event(grid, grid.areas[2], waited=30), event(grid, grid.areas[3], waited=30)
    dispatch_queue()
    assert {crew_of(first), crew_of(second)} == {grid.crew_one, grid.crew_two}
    return first, second


def restore(e: FaultEvent, actor) -> None:
    services.report_restored(event=e, actor=actor, result="已恢复送电")


def test_crews_run_out_and_the_queue_serves_hazard_key_customers_size_then_age(
    grid, storm_clock, east_busy, django_capture_on_commit_callbacks
):
    first, second = east_busy
    a = grid.areas
    old_small = event(grid, a[0], waited=20, affected=5)
    young_small = event(grid, a[1], waited=2, affected=5)
    big = event(grid, a[0], waited=10, affected=50)
    key = event(grid, a[1], waited=5, affected=5, key=1)
    hazard = event(grid, a[0], waited=1, hazard=True, level=DeviceLevel.CUSTOMER)

    assert dispatch_queue() == []  # no crew free: everybody waits
    order = [hazard, key, big, old_small, young_small]
    entries = queue_view(FaultEvent.objects.filter(state=FaultEvent.State.WAITING))
    assert [q.event.pk for q in entries] == [e.pk for e in order]
    assert [q.position for q in entries] == [1, 2, 3, 4, 5]
    assert {q.reason for q in entries} == {WaitReason.NO_FREE_CREW}

    # Each crew coming free goes to the head of the queue at once.
    served = []
    with django_capture_on_commit_callbacks(execute=True):
        restore(first, grid.dispatcher)
    served.append(hazard)
    with django_capture_on_commit_callbacks(execute=True):
        restore(second, grid.dispatcher)
    served.append(key)
    for done in (hazard, key, big):
        storm_clock.advance(minutes=40)
        with django_capture_on_commit_callbacks(execute=True):
            restore(done, grid.dispatcher)
        served.append(next(e for e in order if e not in served))
        assert all(crew_of(e) is not None for e in served), [(e.number, crew_of(e), e.state) for e in order]
        assert all(crew_of(e) is None for e in order if e not in served)
    assert crew_of(young_small) is not None
    note = EventUpdate.objects.filter(event=big, action="dispatch").latest("id").note
    assert "按排队优先级派工" in note


def test_a_cancelled_spurious_event_frees_its_crew_for_the_next_event_at_once(
    grid, storm_clock, east_busy, django_capture_on_commit_callbacks
):
    spurious, _other = east_busy
    crew = crew_of(spurious)
    waiting = event(grid, grid.areas[0], waited=4, affected=5)
    assert crew_of(waiting) is None

    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_event(event=spurious, actor=grid.dispatcher, note="误报：客户家中跳闸，已自行恢复")

    assert not CrewAssignment.objects.filter(event=spurious, released_at__isnull=True).exists()
    waiting.refresh_from_db()
    assert waiting.crew == crew and waiting.state == FaultEvent.State.DISPATCHED
    crew.refresh_from_db()
    assert crew.status == Crew.Status.DISPATCHED
    people = [str(p.pk) for p in [*crew.members.all(), *([crew.leader] if crew.leader_id else [])]]
    told = Message.objects.filter(
        channel=Channel.STAFF_INBOX, subject__contains=f"【抢修派工】{waiting.number}"
    )
    assert set(told.values_list("recipient_address", flat=True)) == set(people)


def test_an_event_merged_into_one_with_its_own_crew_frees_its_crew(
    grid, storm_clock, east_busy, django_capture_on_commit_callbacks
):
    source, target = east_busy
    freed = crew_of(source)
    waiting = event(grid, grid.areas[0], waited=4)
    with django_capture_on_commit_callbacks(execute=True):
        services.merge_events(source=source, target=target, actor=grid.dispatcher, note="同一故障")
    target.refresh_from_db()
    assert target.crew != freed  # the target keeps its own crew
    assert not CrewAssignment.objects.filter(crew=freed, event=target, released_at__isnull=True).exists()
    assert crew_of(waiting) == freed
    release = EventUpdate.objects.get(event=source, action="release_crew")
    assert target.number in release.note and freed.name in release.note


def test_the_analysis_withdraws_a_spurious_event_and_its_crew_goes_to_the_queue(
    grid, storm_clock, east_busy, django_capture_on_commit_callbacks
):
    spurious, _other = east_busy
    crew = crew_of(spurious)
    people = grid.customers_by_area[grid.areas[2].pk][:2]
    results = [call(grid, c) for c in people]
    from gridcare.repair.models import TroubleCall

    TroubleCall.objects.filter(order__in=[r.order for r in results]).update(event=spurious)
    waiting = event(grid, grid.areas[0], waited=6)

    with django_capture_on_commit_callbacks(execute=True):
        released = withdraw_event(spurious, note="来电已由其他事件解释")
    assert released == [crew]
    spurious.refresh_from_db()
    assert spurious.state == FaultEvent.State.CANCELLED
    assert EventUpdate.objects.filter(event=spurious, action="withdraw").exists()
    # Its calls are judged again by the analysis; their orders stay open.
    assert not TroubleCall.objects.filter(event=spurious).exists()
    assert crew_of(waiting) == crew
    assert withdraw_event(spurious) == []  # closed already: nothing more happens


def test_neighbours_lend_an_idle_crew_after_the_wait_and_keep_their_reserve(grid, storm_clock, east_busy):
    setting(reinforce_from_neighbours=True, reinforce_after_minutes=3, neighbour_keeps_crews=1)
    west_crew(grid, "S02C2")
    west_crew(grid, "S02C3")
    west_crew(grid, "S02C9", staffed=False)  # nobody in it: neither lent nor counted as reserve
    first = event(grid, grid.areas[0], waited=0, affected=50)
    second = event(grid, grid.areas[1], waited=0, affected=40)
    third = event(grid, grid.areas[0], waited=0, affected=30)

    assert dispatch_queue() == []  # not waited long enough: the own crews may yet come free
    reasons = {q.event.pk: q.reason for q in queue_view(FaultEvent.objects.filter(state="waiting"))}
    assert reasons[first.pk] == WaitReason.NO_FREE_CREW

    storm_clock.advance(minutes=3)
    handed = dispatch_queue()
    # West has three staffed idle crews and keeps one: the two biggest events get one each.
    assert [(h.event.pk, h.borrowed) for h in handed] == [(first.pk, True), (second.pk, True)]
    lent = {crew_of(first), crew_of(second)}
    assert all(c.station == grid.west for c in lent)
    assert crew_of(third) is None
    idle_west = [c for c in Crew.objects.filter(station=grid.west) if not c.assignments.exists()]
    assert len([c for c in idle_west if c.members.exists()]) == 1  # the reserve

    dispatched = EventUpdate.objects.filter(event=first, action="dispatch").latest("id")
    assert dispatched.data["borrowed_from"] == grid.west.name
    assert "邻所支援" in dispatched.note and "无空闲队伍" in dispatched.note
    told = Message.objects.filter(
        channel=Channel.STAFF_INBOX,
        recipient_address=str(grid.dispatcher.pk),
        subject__contains="【邻所支援】",
    )
    assert told.count() == 2 and grid.east.name in told.first().subject

    # The third waits, and the board says reinforcement was asked for.
    [entry] = queue_view(FaultEvent.objects.filter(state="waiting"))
    assert entry.event.pk == third.pk and entry.reason == WaitReason.REINFORCEMENT
    assert EventUpdate.objects.filter(event=third, action="reinforce_request").count() == 1
    dispatch_queue()
    assert EventUpdate.objects.filter(event=third, action="reinforce_request").count() == 1  # once


def test_a_hazard_borrows_at_once_and_with_automatic_dispatch_off_the_rest_wait_for_a_dispatcher(
    grid, storm_clock, east_busy
):
    setting(
        reinforce_from_neighbours=True,
        reinforce_after_minutes=0,
        neighbour_keeps_crews=0,
        auto_dispatch=False,
    )
    east = event(grid, grid.areas[0], waited=10, hazard=True, level=DeviceLevel.CUSTOMER)
    west_own = analysis.new_event(
        level=DeviceLevel.AREA,
        station_id=grid.west.pk,
        area_id=grid.area_west.pk,
        feeder_id=grid.area_west.feeder_id,
        now=clock.now(),
    )
    dispatch_queue()
    # Automatic dispatch is off: the west event waits for a dispatcher, and west lends its crew to
    # the hazard, which the queue serves whatever that setting says.
    assert crew_of(east) == grid.crew_west
    reasons = {q.event.pk: q.reason for q in queue_view(FaultEvent.objects.filter(state="waiting"))}
    assert reasons == {west_own.pk: WaitReason.MANUAL}
    assert crew_of(west_own) is None


def test_a_crew_without_members_is_never_dispatched(grid, storm_clock, django_capture_on_commit_callbacks):
    Crew.objects.filter(pk__in=[grid.crew_one.pk, grid.crew_two.pk]).update(is_active=False)
    empty = Crew.objects.create(name="城东空编组", code="S01C9", station=grid.east, team_unit=grid.east_crew)
    setting(reinforce_from_neighbours=False, max_jobs_per_crew=1)

    # Not by the analysis's dispatch …
    for c in grid.customers_by_area[grid.areas[0].pk][:3]:
        call(grid, c)
    services.run_analysis()
    outage = FaultEvent.objects.get(level=DeviceLevel.AREA)
    assert outage.crew is None and outage.state == FaultEvent.State.WAITING
    # … nor for a hazard at intake, nor by the queue later …
    hazard = call(grid, grid.customers_by_area[grid.areas[1].pk][0], "电线断落冒火", hazard=True).event
    assert hazard.crew is None
    assert dispatch_queue() == []
    assert not CrewAssignment.objects.filter(crew=empty).exists()
    # … nor by a dispatcher's hand (派工, 邻所支援), over the API too.
    for verb in (services.dispatch_to_crew, services.send_reinforcement):
        with pytest.raises(ApiError) as refused:
            verb(event=outage, crew=empty, actor=grid.dispatcher)
        assert refused.value.code == "crew_no_members" and refused.value.status == 409
    client = Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(user=grid.dispatcher)}")
    answer = client.post(
        f"/api/v1/repair/events/{outage.number}/actions/dispatch",
        {"crew": empty.code},
        content_type="application/json",
    )
    assert answer.status_code == 409
    assert answer.json()["code"] == "crew_no_members" and "没有队员" in answer.json()["message"]
    assert not CrewAssignment.objects.filter(crew=empty).exists()

    # The crews page and the API mark it; once somebody joins it, it is sent.
    page = Client()
    page.force_login(grid.dispatcher)
    html = page.get("/repair/crews/").content.decode()
    assert html.count("无队员，不派工") == 1
    crews = {c["code"]: c for c in client.get("/api/v1/repair/crews").json()}
    assert crews[empty.code]["staffed"] is False and crews[grid.crew_west.code]["staffed"] is True
    empty.members.add(grid.crew)
    handed = dispatch_queue()
    assert [h.event.pk for h in handed] == [hazard.pk]  # the hazard first


def test_the_board_lists_the_queue_with_reasons_and_the_borrowed_crews(grid, storm_clock, east_busy):
    setting(reinforce_from_neighbours=True, reinforce_after_minutes=3, neighbour_keeps_crews=0)
    borrowing = event(grid, grid.areas[0], waited=5, affected=80)
    dispatch_queue()
    assert crew_of(borrowing) == grid.crew_west
    asking = event(grid, grid.areas[1], waited=4, affected=60, key=1)
    fresh = event(grid, grid.areas[0], waited=1, affected=20)
    dispatch_queue()
    suspect = event(grid, grid.areas[1], level=DeviceLevel.CUSTOMER, waited=2)  # waits for the analysis

    client = Client()
    client.force_login(grid.dispatcher)
    html = client.get("/repair/", headers={"HX-Request": "true"}).content.decode()
    queue = html[html.index('id="crew-queue"') : html.index('id="event-board"')]
    rows = [queue.index(f'data-number="{e.number}"') for e in (asking, fresh, suspect)]
    assert rows == sorted(rows)  # priority order, the event the queue does not serve last
    assert "已申请邻所支援" in queue and "无空闲队伍" in queue and "等待研判确认" in queue
    assert 'data-reason="reinforcement_requested" data-number="' + asking.number in queue
    board = html[html.index('id="event-board"') :]
    row = board[board.index(f'data-href="/repair/events/{borrowing.number}/"') :]
    row = row[: row.index("</tr>")]
    assert grid.crew_west.name in row and f"邻所支援 · {grid.west.name}" in row

    event_page = client.get(f"/repair/events/{asking.number}/").content.decode()
    assert "待派工队列第 1 位" in event_page and "已申请邻所支援" in event_page

    api = Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(user=grid.dispatcher)}")
    items = api.get("/api/v1/repair/queue").json()["items"]
    assert [(i["number"], i["position"], i["reason"]) for i in items] == [
        (asking.number, 1, "reinforcement_requested"),
        (fresh.number, 2, "no_free_crew"),
        (suspect.number, None, "awaiting_confirmation"),
    ]
    assert items[0]["reason_label"] == "已申请邻所支援"
    spec = api.get("/api/v1/openapi.json").json()
    assert "/api/v1/repair/queue" in spec["paths"]


# --- several processes at once (PostgreSQL) -------------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks need PostgreSQL")
def test_queue_runs_at_the_same_moment_never_send_one_crew_twice_nor_two_crews_to_one_event(grid):
    from gridcare.core.testing import in_threads

    with clock.frozen(dt.datetime(2026, 7, 14, 15, 0)):
        setting(max_jobs_per_crew=1, reinforce_from_neighbours=False)
        Crew.objects.filter(pk=grid.crew_two.pk).update(is_active=False)
        small = event(grid, grid.areas[0], affected=5)
        big = event(grid, grid.areas[1], affected=50)
        hazard = event(grid, grid.areas[2], hazard=True)

        runs = in_threads(dispatch_queue, 4, barrier=True)
        assert sum(len(r) for r in runs) == 1
        active = CrewAssignment.objects.filter(crew=grid.crew_one, released_at__isnull=True)
        assert [a.event_id for a in active] == [hazard.pk]

        Crew.objects.filter(pk=grid.crew_two.pk).update(is_active=True)
        setting(max_jobs_per_crew=2)
        runs = in_threads(dispatch_queue, 4, barrier=True)
        for e in (small, big, hazard):
            assert CrewAssignment.objects.filter(event=e, released_at__isnull=True).count() == 1
        assert CrewAssignment.objects.filter(released_at__isnull=True).count() == 3
