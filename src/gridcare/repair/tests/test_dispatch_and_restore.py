"""Dispatch, the crew's reports, restoration, and the 12-hour service warning."""

from __future__ import annotations

import datetime as dt

import pytest

from gridcare.core.api_errors import ApiError
from gridcare.notify.models import Channel, Message
from gridcare.repair import services
from gridcare.repair.models import Crew, CrewAssignment, DeviceLevel, FaultEvent, SupportRequest
from gridcare.workorders.models import State, WorkOrder

from .helpers import call

pytestmark = pytest.mark.django_db


@pytest.fixture
def area_event(grid, storm_clock):
    area = grid.areas[0]
    for c in grid.customers_by_area[area.pk][:3]:
        call(grid, c)
    services.run_analysis()
    event = FaultEvent.objects.get(state=FaultEvent.State.DISPATCHED)
    # Send the world's crew member's crew, as the dispatcher would.
    return services.dispatch_to_crew(event=event, crew=grid.crew_one, actor=grid.dispatcher, replace=True)


def orders(event):
    return WorkOrder.objects.filter(trouble_call__event=event)


def test_the_dispatcher_replaces_the_crew_and_the_orders_follow(grid, area_event):
    assert area_event.crew == grid.crew_one
    grid.crew_two.refresh_from_db()
    grid.crew_one.refresh_from_db()
    assert grid.crew_two.status == Crew.Status.ON_DUTY  # released
    assert grid.crew_one.status == Crew.Status.DISPATCHED
    assert all(o.assigned_unit == grid.east_crew for o in orders(area_event))


def test_crew_reports_arrival_progress_eta_and_support(grid, area_event, storm_clock):
    storm_clock.advance(minutes=25)
    event = services.report_arrival(event=area_event, actor=grid.crew)
    assert event.state == FaultEvent.State.ON_SITE
    assert event.arrived_at == storm_clock.at
    assert {o.state for o in orders(event)} == {State.ON_SITE}
    assert all(o.deadlines.get(milestone="arrive").met_at for o in orders(event))
    grid.crew_one.refresh_from_db()
    assert grid.crew_one.status == Crew.Status.ON_SITE

    services.report_progress(event=event, actor=grid.crew, situation="配变低压桩头烧损", cause="雷击")
    eta = storm_clock.at + dt.timedelta(hours=2)
    services.report_eta(event=event, actor=grid.crew, estimated_restore_at=eta)
    request = services.request_support(
        event=event, actor=grid.crew, kind="materials", note="需要400kVA配变桩头2套"
    )
    assert request.state == SupportRequest.State.OPEN
    assert Message.objects.filter(
        channel=Channel.STAFF_INBOX, recipient_address=str(grid.dispatcher.pk)
    ).exists()

    late = call(grid, grid.customers_by_area[grid.areas[0].pk][4])
    assert late.event == event
    assert "已到达现场" in late.answer and "恢复送电" in late.answer
    assert late.order.state == State.ON_SITE  # taken and on site with the crew already there


def test_another_crew_member_cannot_report_on_a_job_not_theirs(grid, area_event):
    with pytest.raises(ApiError) as exc:
        services.report_arrival(event=area_event, actor=grid.clerk_east)
    assert exc.value.code == "not_your_job"


def test_restoration_closes_every_linked_order_and_queues_callbacks(grid, area_event, storm_clock):
    late = call(grid, grid.customers_by_area[grid.areas[0].pk][3])
    assert late.event == area_event
    storm_clock.advance(minutes=30)
    services.report_arrival(event=area_event, actor=grid.crew)
    storm_clock.advance(hours=1)

    event = services.report_restored(
        event=area_event, actor=grid.crew, result="更换配变桩头，已恢复送电", cause="雷击"
    )

    assert event.state == FaultEvent.State.RESTORED
    linked = list(orders(event))
    assert len(linked) == 4
    for order in linked:
        assert order.state == State.REVIEWED  # waiting in the callback queue
        assert order.callback_required
        assert "已恢复送电" in order.reply
        assert order.deadlines.get(milestone="restore").met_at == storm_clock.at
    grid.crew_one.refresh_from_db()
    assert grid.crew_one.status == Crew.Status.ON_DUTY
    assert not CrewAssignment.objects.filter(event=event, released_at__isnull=True).exists()
    # Every affected customer hears that power is back, key customers first.
    # through the event's fault outage (停电信息), which also answers "is my power out".
    from gridcare.outages.models import Outage

    outage = Outage.objects.get(pk=event.outage_id)
    assert outage.state == "restored"
    restored = Message.objects.filter(
        channel=Channel.SMS, about_id=outage.number, subject__contains="恢复送电"
    )
    assert restored.count() == 5
    key = grid.customers_by_area[grid.areas[0].pk][4]
    assert restored.order_by("priority", "id").first().recipient_id == str(key.pk)
    # A callback agent can now call each customer back.
    from gridcare.workorders.services import perform

    done = perform(order=linked[0], action="callback", actor=grid.agent, satisfaction="satisfied")
    assert done.state == State.CALLED_BACK


def test_an_outage_open_twelve_hours_warns_the_station_and_county_leaders(grid, area_event, storm_clock):
    storm_clock.advance(hours=11, minutes=59)
    assert services.raise_long_outage_warnings() == 0

    storm_clock.advance(minutes=2)
    assert services.raise_long_outage_warnings() == 1
    assert services.raise_long_outage_warnings() == 0  # once only

    area_event.refresh_from_db()
    assert area_event.service_warning_level == 2
    inbox = Message.objects.filter(channel=Channel.STAFF_INBOX, subject__contains="二级服务预警")
    assert set(inbox.values_list("recipient_address", flat=True)) >= {
        str(grid.station_head.pk),
        str(grid.county_chief.pk),
        str(grid.crew.pk),  # the crew's leader, the responsible person on site
    }
    assert Message.objects.filter(channel=Channel.SMS, recipient_address="13700000001").exists()


def test_a_restored_outage_raises_no_warning(grid, area_event, storm_clock):
    services.report_restored(event=area_event, actor=grid.crew, result="已恢复")
    storm_clock.advance(hours=13)
    assert services.raise_long_outage_warnings() == 0


def test_no_free_crew_sends_the_orders_to_the_station_team_and_the_event_waits(grid, storm_clock):
    Crew.objects.filter(station=grid.east).update(status=Crew.Status.OFF)
    for c in grid.customers_by_area[grid.areas[1].pk][:3]:
        call(grid, c)
    services.run_analysis()
    event = FaultEvent.objects.get(level=DeviceLevel.AREA)
    assert event.state == FaultEvent.State.WAITING
    assert {o.state for o in orders(event)} == {State.DISPATCHED}  # 5-minute dispatch limit met
    # Reinforcement from the neighbouring station on request.
    assert services.best_crews(event) == []
    assert services.best_crews(event, neighbours=True) == [grid.crew_west]
    event = services.send_reinforcement(event=event, crew=grid.crew_west, actor=grid.dispatcher)
    assert event.crew == grid.crew_west and event.state == FaultEvent.State.DISPATCHED


def test_duty_roster_limits_who_is_dispatched(grid, storm_clock):
    from gridcare.repair.models import DutyRoster

    DutyRoster.objects.create(date=dt.date(2026, 7, 14), shift="day", crew=grid.crew_one)
    for c in grid.customers_by_area[grid.areas[2].pk][:3]:
        call(grid, c)
    services.run_analysis()
    event = FaultEvent.objects.get(level=DeviceLevel.AREA)
    assert event.crew == grid.crew_one  # the electrician group is not on today's day shift


def two_area_events(grid, a, b):
    """Two area events on one feeder. Three of five customers calling in two of its four small
    areas at once reads as the feeder (analysis model, ADR 0008), so the first area's event is
    confirmed by the dispatcher before the second area calls: a confirmed event is a person's
    decision, and the second area is judged on the rest of the feeder."""
    for c in grid.customers_by_area[a.pk][:3]:
        call(grid, c)
    services.run_analysis()
    [first] = FaultEvent.objects.filter(level=DeviceLevel.AREA)
    services.confirm_event(event=first, actor=grid.dispatcher)
    for c in grid.customers_by_area[b.pk][:3]:
        call(grid, c)
    services.run_analysis()
    second = FaultEvent.objects.get(level=DeviceLevel.AREA, transformer_area=b)
    first.refresh_from_db()
    return first, second


class TestDispatcherDecisions:
    def test_confirm_reassign_split_and_merge(self, grid, storm_clock):
        a, b = grid.areas[:2]
        first, second = two_area_events(grid, a, b)
        first.refresh_from_db()
        assert first.confirmed_by == grid.dispatcher and first.confidence == 1

        merged = services.merge_events(source=second, target=first, actor=grid.dispatcher, note="同一故障")
        assert merged.call_count == 6
        second.refresh_from_db()
        assert second.state == FaultEvent.State.MERGED

        moved = services.reassign_device(
            event=first, actor=grid.dispatcher, level=DeviceLevel.FEEDER, feeder=grid.feeder_east
        )
        assert moved.level == DeviceLevel.FEEDER and moved.affected_count == 21

        numbers = list(orders(first).filter(customer__transformer_area=b).values_list("number", flat=True))
        split = services.split_event(event=first, actor=grid.dispatcher, order_numbers=numbers)
        assert split.transformer_area == b and split.call_count == 3
        first.refresh_from_db()
        assert first.call_count == 3

    def test_only_dispatchers_decide(self, grid, storm_clock):
        for c in grid.customers_by_area[grid.areas[0].pk][:3]:
            call(grid, c)
        services.run_analysis()
        event = FaultEvent.objects.get()
        with pytest.raises(ApiError) as exc:
            services.confirm_event(event=event, actor=grid.agent)
        assert exc.value.status == 403


def test_merging_two_events_with_outages_tells_each_customer_once(grid, storm_clock):
    """Two area events each published a fault outage; the dispatcher finds they are one fault: the
    customers of both are told of the fault once and of the restoration once."""
    a, b = grid.areas[:2]
    first, second = two_area_events(grid, a, b)
    assert first.outage_id and second.outage_id and first.outage_id != second.outage_id

    def texts(word):
        return list(
            Message.objects.filter(
                channel=Channel.SMS, about_type="outages.outage", body__contains=word
            ).values_list("recipient_address", flat=True)
        )

    told = texts("停电")
    assert len(told) == len(set(told)) == 10  # both areas' customers, once each

    services.merge_events(source=second, target=first, actor=grid.dispatcher, note="同一故障")
    assert texts("停电") == told
    second.refresh_from_db()
    assert second.outage.state == "merged" and second.outage.merged_into_id == first.outage_id

    # The target keeps its own crew; the crew on its way to the merged event is released.
    crew = first.crew
    assert not CrewAssignment.objects.filter(event=second, released_at__isnull=True).exists()
    worker = crew.members.first()
    storm_clock.advance(minutes=30)
    services.report_arrival(event=first, actor=worker)
    storm_clock.advance(hours=1)
    services.report_restored(event=first, actor=worker, result="已恢复送电", cause="雷击")
    restored = list(
        Message.objects.filter(channel=Channel.SMS, dedup_key__contains=":restored:").values_list(
            "recipient_address", flat=True
        )
    )
    assert sorted(restored) == sorted(told)


def test_every_support_request_reaches_the_dispatchers(grid, area_event, storm_clock):
    for note in ("需要电缆头 2 个", "还需要绝缘子 6 只"):
        services.request_support(event=area_event, actor=grid.crew, kind="materials", note=note)
    inbox = Message.objects.filter(
        channel=Channel.STAFF_INBOX, recipient_address=str(grid.dispatcher.pk), subject__contains="支援申请"
    )
    assert sorted(inbox.values_list("body", flat=True)) == ["还需要绝缘子 6 只", "需要电缆头 2 个"]


def test_the_crew_duty_switch_returns_only_to_this_site(grid, client):
    client.force_login(grid.dispatcher)
    url = f"/repair/crews/{grid.crew_one.code}/duty/"
    assert client.post(url, {"on_duty": "0", "next": "https://evil.example/"})["Location"] == "/repair/crews/"
    assert client.post(url, {"on_duty": "1", "next": "/repair/"})["Location"] == "/repair/"


def test_a_restoration_that_cannot_tell_the_outage_leaves_the_event_open(
    grid, area_event, storm_clock, monkeypatch
):
    """The public outage and the event are restored together or not at all (it can be retried)."""
    from gridcare.outages import services as outages

    assert area_event.outage_id is not None

    def broken(**kwargs):
        raise RuntimeError("notice queue unavailable")

    monkeypatch.setattr(outages, "restore", broken)
    with pytest.raises(RuntimeError):
        services.report_restored(event=area_event, actor=grid.crew, result="已恢复送电")
    area_event.refresh_from_db()
    assert area_event.state != FaultEvent.State.RESTORED
    monkeypatch.undo()
    assert services.report_restored(event=area_event, actor=grid.crew, result="已恢复送电").state == (
        FaultEvent.State.RESTORED
    )


def test_refusals_keep_their_order(grid, area_event, storm_clock):
    """Who and the input before the lock, as the verbs always checked: a non-dispatcher hears
    forbidden_role and a missing reason note_required even about a closed event; then the state."""
    from gridcare.repair import actions

    services.cancel_event(event=area_event, actor=grid.dispatcher, note="客户自行恢复")
    area_event.refresh_from_db()
    for act, code in (
        (lambda: services.confirm_event(event=area_event, actor=grid.agent), "forbidden_role"),
        (lambda: services.cancel_event(event=area_event, actor=grid.dispatcher, note=" "), "note_required"),
        (lambda: services.report_restored(event=area_event, actor=grid.crew, result=""), "result_required"),
        (lambda: services.confirm_event(event=area_event, actor=grid.dispatcher), "event_closed"),
        (lambda: services.report_eta(event=area_event, actor=grid.agent, estimated_restore_at=storm_clock.at), "event_closed"),
        (lambda: actions.act_on_event(event=area_event, action="fly", actor=grid.dispatcher), "unknown_action"),
    ):  # fmt: skip
        with pytest.raises(ApiError) as exc:
            act()
        assert exc.value.code == code
