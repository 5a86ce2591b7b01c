"""Time limits as data, across holidays; suspension; three warning levels; nothing raised twice."""

import datetime as dt

import pytest
from django.db import connection

from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.core.clock import LOCAL_TZ
from gridcare.notify.models import Message
from gridcare.workorders import services, sweep
from gridcare.workorders.models import Deadline, OrderType, TimeLimitPolicy, WorkOrderEvent

from .test_lifecycle import act, new_order


def local(*args):
    return dt.datetime(*args, tzinfo=LOCAL_TZ)


def deadline(order, milestone):
    return Deadline.objects.get(order=order, milestone=milestone)


def test_fault_repair_limits_by_area_class(wo_world):
    w = wo_world
    with clock.frozen(local(2026, 3, 2, 9, 0)):
        urban = new_order(w, customer=w.customer_east)
        rural = new_order(w, customer=w.customer_west)
    assert deadline(urban, "dispatch").due_at == local(2026, 3, 2, 9, 5)
    assert deadline(urban, "arrive").due_at == local(2026, 3, 2, 9, 45)
    assert deadline(rural, "arrive").due_at == local(2026, 3, 2, 10, 30)


def test_restore_deadline_starts_on_arrival(wo_world):
    w = wo_world
    with clock.frozen(local(2026, 3, 2, 9, 0)) as frozen:
        order = act(new_order(w), "dispatch", w.agent, unit=w.east.pk)
        order = act(order, "take", w.clerk_east)
        frozen.advance(minutes=30)
        order = act(order, "arrive", w.clerk_east)
    assert deadline(order, "arrive").met_at == local(2026, 3, 2, 9, 30)
    assert deadline(order, "restore").due_at == local(2026, 3, 2, 12, 30)


def test_complaint_reply_across_national_day(wo_world):
    w = wo_world
    with clock.frozen(local(2025, 9, 30, 10, 0)):
        order = new_order(w, OrderType.COMPLAINT)
    assert deadline(order, "reply").due_at == local(2025, 10, 14, 10, 0)
    assert deadline(order, "contact").due_at == local(2025, 10, 9, 10, 0)


def test_report_reply_across_spring_festival_2026(wo_world):
    w = wo_world
    with clock.frozen(local(2026, 2, 12, 15, 0)):  # Thu before the 2/15–2/23 holiday
        order = new_order(w, OrderType.REPORT)
    # 2/13 Fri, 2/14 Sat(调休), 2/24, 2/25, 2/26, 2/27, 2/28 Sat(调休), 3/2, 3/3, 3/4
    assert deadline(order, "reply").due_at == local(2026, 3, 4, 15, 0)


def test_specific_policy_wins_and_policies_are_data(wo_world):
    w = wo_world
    TimeLimitPolicy.objects.filter(source__contains="县城 30 分钟").update(is_active=True)
    with clock.frozen(local(2026, 3, 2, 9, 0)):
        order = new_order(w, customer=w.customer_east)  # urban residential
    assert deadline(order, "arrive").due_at == local(2026, 3, 2, 9, 30)


def test_suspension_stops_the_clock_only_where_allowed(wo_world):
    w = wo_world
    with clock.frozen(local(2026, 3, 2, 9, 0)) as frozen:
        business = act(new_order(w, OrderType.BUSINESS), "dispatch", w.agent, unit=w.east.pk)
        complaint = act(new_order(w, OrderType.COMPLAINT), "dispatch", w.agent, unit=w.east.pk)
        business_due = deadline(business, "reply").due_at
        complaint_due = deadline(complaint, "reply").due_at
        act(business, "suspend", w.clerk_east, note="客户资料不全")
        act(complaint, "suspend", w.clerk_east, note="客户出差")
        frozen.advance(days=2)
        act(business, "resume", w.clerk_east)
        act(complaint, "resume", w.clerk_east)
    assert deadline(business, "reply").due_at == business_due + dt.timedelta(days=2)
    assert deadline(complaint, "reply").due_at == complaint_due


def test_suspension_over_a_weekend_moves_a_working_day_limit_by_working_days(wo_world):
    w = wo_world
    with clock.frozen(local(2026, 3, 5, 9, 0)) as frozen:  # Thursday
        order = act(new_order(w, OrderType.BUSINESS), "dispatch", w.agent, unit=w.east.pk)
        assert deadline(order, "contact").due_at == local(2026, 3, 6, 9, 0)  # Friday
        act(order, "suspend", w.clerk_east, note="客户资料不全")
        frozen.advance(days=1)  # Friday 9:00: one working day lost
        act(order, "resume", w.clerk_east)
    # The lost Friday pushes the contact limit to Monday, not to Saturday.
    assert deadline(order, "contact").due_at == local(2026, 3, 9, 9, 0)
    assert deadline(order, "reply").due_at == local(2026, 3, 13, 9, 0)


def test_one_working_day_suspended_over_national_day_moves_the_deadline_one_working_day(wo_world):
    w = wo_world
    with clock.frozen(local(2025, 9, 29, 9, 0)) as frozen:  # Monday before the 10/1–10/8 holiday
        order = act(new_order(w, OrderType.BUSINESS), "dispatch", w.agent, unit=w.east.pk)
        # 9/30, 10/9, 10/10, 10/11 (Sat, 调休), 10/13
        assert deadline(order, "reply").due_at == local(2025, 10, 13, 9, 0)
        frozen.advance(days=1)  # 9/30 9:00
        act(order, "suspend", w.clerk_east, note="客户出差")
        frozen.advance(days=9)  # 10/9 9:00: one working day (9/30) lost
        act(order, "resume", w.clerk_east)
    assert deadline(order, "reply").due_at == local(2025, 10, 14, 9, 0)


def test_three_warning_levels_and_nothing_raised_twice(wo_world):
    w = wo_world
    with clock.frozen(local(2026, 3, 2, 9, 0)):
        order = new_order(w, customer=w.customer_east)
    # Dispatch (5 min): levels at 2.5, 4 and 5 min. Arrival (45 min): at 22.5, 36 and 45 min.
    assert sweep.raise_due_warnings(local(2026, 3, 2, 9, 3)) == 1
    assert sweep.raise_due_warnings(local(2026, 3, 2, 9, 20)) == 2  # dispatch L2 + L3 (overdue)
    assert sweep.raise_due_warnings(local(2026, 3, 2, 9, 23)) == 1  # arrive L1
    assert sweep.raise_due_warnings(local(2026, 3, 2, 9, 23)) == 0
    assert sweep.raise_due_warnings(local(2026, 3, 2, 10, 0)) == 2  # arrive L2 + L3
    assert sweep.raise_due_warnings(local(2026, 3, 2, 11, 0)) == 0
    order.refresh_from_db()
    assert order.warning_level == 3
    assert deadline(order, "arrive").warning_level == 3
    assert WorkOrderEvent.objects.filter(order=order, action="warning").count() == 6


def test_warning_reaches_escalation_tiers(wo_world):
    w = wo_world
    w.station_head.mobile = "13600000001"
    w.station_head.save()
    with clock.frozen(local(2026, 3, 2, 9, 0)):
        order = act(new_order(w, customer=w.customer_east), "dispatch", w.agent, unit=w.east.pk)
        order = act(order, "take", w.clerk_east)
    sweep.raise_due_warnings(local(2026, 3, 2, 9, 40))  # arrive at level 2 → tiers 1 and 2
    inbox = set(Message.objects.filter(channel="staff_inbox").values_list("recipient_address", flat=True))
    assert str(w.clerk_east.pk) in inbox  # assignee + grid manager (tier 1)
    assert str(w.station_head.pk) in inbox  # station head (tier 2)
    assert str(w.county_manager.pk) not in inbox  # tier 3 only when overdue
    assert Message.objects.filter(channel="sms", recipient_address="13600000001").exists()
    sweep.raise_due_warnings(local(2026, 3, 2, 9, 50))
    assert Message.objects.filter(channel="staff_inbox", recipient_address=str(w.county_manager.pk)).exists()


def test_met_deadline_raises_nothing(wo_world):
    w = wo_world
    with clock.frozen(local(2026, 3, 2, 9, 0)) as frozen:
        order = new_order(w)
        frozen.advance(minutes=2)
        act(order, "dispatch", w.agent, unit=w.east.pk)
    assert deadline(order, "dispatch").met_at is not None
    sweep.raise_due_warnings(local(2026, 3, 2, 9, 20))
    assert not WorkOrderEvent.objects.filter(
        order=order, action="warning", data__milestone="dispatch"
    ).exists()


def test_check_deadline_task_raises_due_levels(wo_world):
    from gridcare.workorders.tasks import check_deadline

    w = wo_world
    with clock.frozen(local(2026, 3, 2, 9, 0)):
        order = new_order(w)
    d = deadline(order, "arrive")
    with clock.frozen(local(2026, 3, 2, 9, 40)):
        assert check_deadline.call(d.pk) == 2
        assert check_deadline.call(d.pk) == 0


def test_check_deadlines_command(wo_world, capsys):
    from django.core.management import call_command

    w = wo_world
    with clock.frozen(local(2026, 3, 2, 9, 0)):
        new_order(w)
    with clock.frozen(local(2026, 3, 2, 12, 0)):
        call_command("check_deadlines")
        assert "raised 6" in capsys.readouterr().out
        call_command("check_deadlines")
        assert "raised 0" in capsys.readouterr().out


@pytest.mark.parametrize("count,expected_level", [(1, 0), (2, 1), (4, 2)])
def test_urgings_raise_the_warning_level(wo_world, count, expected_level):
    w = wo_world
    order = new_order(w)
    for _ in range(count):
        order = act(order, "urge", w.agent)
    assert order.urge_count == count and order.warning_level == expected_level


def test_duplicate_call_finds_the_open_order(wo_world):
    w = wo_world
    order = new_order(w, OrderType.COMPLAINT)
    found = services.find_open_duplicate(
        customer=w.customer_east, caller_phone="", order_type="complaint", user=w.agent
    )
    assert found == order
    assert (
        services.find_open_duplicate(
            customer=w.customer_west, caller_phone="", order_type="complaint", user=w.agent
        )
        is None
    )


def test_a_callers_number_finds_no_order_outside_the_users_scope(wo_world):
    """Typing a phone number must not reveal another station's order (nor let one merge into it)."""
    w = wo_world
    intake = services.Intake(
        order_type=OrderType.COMPLAINT,
        channel="hotline",
        content="态度差",
        caller_phone="13900001111",
        address="城西镇某路1号",
        complaint_class="service",
    )
    west, _ = services.create_work_order(actor=w.clerk_west, intake=intake)
    assert (
        services.find_open_duplicate(
            customer=None, caller_phone="13900001111", order_type="complaint", user=w.clerk_west
        )
        == west
    )
    assert (
        services.find_open_duplicate(
            customer=None, caller_phone="13900001111", order_type="complaint", user=w.clerk_east
        )
        is None
    )
    # A newer order of the same number elsewhere hides nothing: each finds the one they may see.
    east, _ = services.create_work_order(actor=w.clerk_east, intake=intake)
    for clerk, theirs in ((w.clerk_west, west), (w.clerk_east, east)):
        found = services.find_open_duplicate(
            customer=None, caller_phone="13900001111", order_type="complaint", user=clerk
        )
        assert found == theirs
    east = new_order(w, OrderType.COMPLAINT)
    east = act(east, "dispatch", w.agent, unit=w.east.pk)
    with pytest.raises(ApiError) as exc:
        services.perform(order=east, action="merge", actor=w.clerk_east, into=west.number)
    assert exc.value.code == "invalid_merge_target"


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_each_deadline_schedules_a_check_at_its_next_warning(wo_world):
    """After commit, every running deadline has a task waiting (run_after) for its first warning."""
    from django_tasks_db.models import DBTaskResult

    with clock.frozen(local(2026, 3, 2, 9, 0)):
        order = new_order(wo_world)
    scheduled = {
        (r.args_kwargs["args"][0], r.run_after)
        for r in DBTaskResult.objects.filter(task_path="gridcare.workorders.tasks.check_deadline")
    }
    expected = {(d.pk, d.next_warning_at) for d in Deadline.objects.filter(order=order)}
    assert scheduled == expected and len(expected) == 2


def test_warning_shows_in_the_assignees_inbox(wo_world, client):
    w = wo_world
    with clock.frozen(local(2026, 3, 2, 9, 0)):
        order = act(new_order(w, customer=w.customer_east), "dispatch", w.agent, unit=w.east.pk)
        order = act(order, "take", w.clerk_east)
    sweep.raise_due_warnings(local(2026, 3, 2, 9, 30))
    client.force_login(w.clerk_east)
    home = client.get("/").content.decode()
    assert 'id="unread-count"' in home
    inbox = client.get("/inbox/").content.decode()
    assert order.number in inbox and "预警" in inbox
    client.post("/inbox/read/")
    assert 'id="unread-count"' not in client.get("/").content.decode()
    client.force_login(w.clerk_west)
    assert order.number not in client.get("/inbox/").content.decode()


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="COPY is PostgreSQL's")
def test_checks_written_by_copy_read_back_like_bulk_created_ones(wo_world, monkeypatch):
    """Many checks go in by COPY on PostgreSQL: the rows are those ``bulk_create`` writes."""
    from django_tasks_db.models import DBTaskResult

    from gridcare.workorders import checks, tasks

    when = local(2026, 3, 2, 9, 4)
    DBTaskResult.objects.all().delete()
    checks.schedule_checks([(1, when)])
    monkeypatch.setattr(checks, "COPY_FROM", 1)
    checks.schedule_checks([(2, when), (3, when)])

    fields = ["status", "priority", "task_path", "queue_name", "backend_name", "run_after", "worker_ids"]
    rows = {r.args_kwargs["args"][0]: r for r in DBTaskResult.objects.all()}
    assert sorted(rows) == [1, 2, 3]
    for pk in (2, 3):
        assert [getattr(rows[pk], f) for f in fields] == [getattr(rows[1], f) for f in fields]
        assert rows[pk].args_kwargs == {"args": [pk], "kwargs": {}}
        assert rows[pk].enqueued_at is not None and rows[pk].return_value is None
        assert rows[pk].task.func is tasks.check_deadline.func
    assert len({r.id for r in rows.values()}) == 3


def test_warning_text_gives_the_due_time_in_beijing_time_whatever_the_servers_zone(monkeypatch):
    import datetime as dt
    import time

    from gridcare.workorders.escalation import warning_text

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        due = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)  # 17:00 in Beijing
        _subject, body = warning_text("TS20260302000001", "投诉", "答复客户", due, 1)
    finally:
        monkeypatch.undo()
        time.tzset()
    assert "到期时间 2026-03-02 17:00" in body


def test_entering_next_years_holidays_moves_a_provisional_deadline(wo_world):
    """Accepted on 2027-01-28 before 2027's schedule is known: the reply is due after 5 working
    days counted Mon–Fri (provisional). Once the year is entered with a holiday on Mon 02-01, the
    deadline moves one working day later and is no longer provisional."""
    from gridcare.core import calendar
    from gridcare.core.models import CalendarDay, CalendarYear

    CalendarYear.objects.filter(year=2027).delete()
    CalendarDay.objects.filter(date__year=2027).delete()
    calendar.invalidate([2027])
    with clock.frozen(local(2027, 1, 28, 10, 0)):
        order = new_order(wo_world, OrderType.COMPLAINT)
        reply = order.deadlines.get(milestone="reply")
        assert reply.provisional and reply.due_at.date() == dt.date(2027, 2, 4)

        CalendarDay.objects.create(date=dt.date(2027, 2, 1), kind=CalendarDay.Kind.HOLIDAY, name="假日")
        CalendarYear.objects.create(year=2027, published=True)
        calendar.invalidate([2027])
        calendar.calendar_changed.send(sender=CalendarYear, years=[2027])

    reply.refresh_from_db()
    assert not reply.provisional
    assert reply.due_at.date() == dt.date(2027, 2, 5)


def test_a_holiday_added_to_the_year_a_deadline_started_in_moves_it_into_the_next_year(wo_world):
    """Accepted Tue 2026-12-29, the reply is due 5 working days later, in January 2027. A holiday
    entered afterwards for Thu 2026-12-31 (a year the deadline only started in) moves it a day."""
    from gridcare.core import calendar
    from gridcare.core.models import CalendarDay, CalendarYear

    CalendarYear.objects.update_or_create(year=2027, defaults={"published": True})  # not provisional
    calendar.invalidate([2027])
    with clock.frozen(local(2026, 12, 29, 10, 0)):
        order = new_order(wo_world, OrderType.COMPLAINT)
        reply = order.deadlines.get(milestone="reply")
        before = reply.due_at
        assert before.year == 2027 and not reply.provisional

        CalendarDay.objects.update_or_create(
            date=dt.date(2026, 12, 31), defaults={"kind": CalendarDay.Kind.HOLIDAY, "name": "假日"}
        )
        calendar.changed([2026])

    reply.refresh_from_db()
    assert reply.due_at > before


def _inbox_subjects(user):
    return list(
        Message.objects.filter(channel="staff_inbox", recipient_address=str(user.pk))
        .order_by("id")
        .values_list("subject", flat=True)
    )


@pytest.mark.parametrize("path", ["sweep", "task"])
def test_an_order_found_overdue_raises_only_the_highest_level_and_records_the_skipped_ones(wo_world, path):
    from gridcare.workorders.tasks import check_deadline

    w = wo_world
    with clock.frozen(local(2026, 3, 2, 9, 0)):
        order = act(new_order(w, customer=w.customer_east), "dispatch", w.agent, unit=w.east.pk)
        order = act(order, "take", w.clerk_east)
    arrive = deadline(order, "arrive")
    with clock.frozen(local(2026, 3, 2, 10, 0)):  # 15 minutes past the 45-minute arrival limit
        if path == "sweep":
            assert sweep.raise_due_warnings() == 3
        else:
            check_deadline.call(arrive.pk)
    events = WorkOrderEvent.objects.filter(order=order, action="warning").order_by("id")
    assert [(e.data["level"], e.data.get("skipped", False)) for e in events] == [
        (1, True),
        (2, True),
        (3, False),
    ]
    # The assignee hears once, of the overdue level; the skipped levels send nothing.
    assert _inbox_subjects(w.clerk_east) == [f"【3级预警】工单 {order.number} 到达现场时限已超期"]
    assert not Message.objects.filter(subject__contains="【1级预警】").exists()
    assert not Message.objects.filter(subject__contains="【2级预警】").exists()


def test_one_person_hears_of_an_orders_warning_level_once_whichever_deadline_reached_it(wo_world):
    w = wo_world
    with clock.frozen(local(2026, 3, 2, 9, 0)):
        order = new_order(w, customer=w.customer_east)  # grid manager: clerk_east
    sweep.raise_due_warnings(local(2026, 3, 2, 9, 6))  # dispatch overdue
    sweep.raise_due_warnings(local(2026, 3, 2, 9, 50))  # arrival overdue as well
    assert deadline(order, "dispatch").warning_level == deadline(order, "arrive").warning_level == 3
    subjects = _inbox_subjects(w.clerk_east)
    assert len(subjects) == 1 and subjects[0].startswith("【3级预警】")
    assert (
        Message.objects.filter(channel="staff_inbox", recipient_address=str(w.station_head.pk)).count() == 1
    )


@pytest.mark.parametrize("path", ["sweep", "task"])
def test_a_warning_on_an_order_not_yet_dispatched_reaches_the_station_head_and_county_manager(wo_world, path):
    from gridcare.workorders.tasks import check_deadline

    w = wo_world
    with clock.frozen(local(2026, 3, 2, 9, 0)):
        order = new_order(w, customer=w.customer_east)  # accepted at the city, not dispatched
    with clock.frozen(local(2026, 3, 2, 9, 10)):
        if path == "sweep":
            sweep.raise_due_warnings()
        else:
            check_deadline.call(deadline(order, "dispatch").pk)
    told = set(Message.objects.filter(channel="staff_inbox").values_list("recipient_address", flat=True))
    # tier 1 the grid manager, tier 2 the head of the customer's station, tier 3 the county manager
    assert {str(w.clerk_east.pk), str(w.station_head.pk), str(w.county_manager.pk)} <= told


def test_a_milestone_met_after_its_due_time_shows_as_late_not_done(wo_world, client):
    w = wo_world
    with clock.frozen(local(2026, 3, 2, 9, 0)) as frozen:
        order = act(new_order(w, customer=w.customer_east), "dispatch", w.agent, unit=w.east.pk)
        order = act(order, "take", w.clerk_east)
        frozen.advance(minutes=50)  # the arrival limit was 45 minutes
        order = act(order, "arrive", w.clerk_east)
        client.force_login(w.clerk_east)
        page = client.get(f"/workorders/{order.number}/").content.decode()
        api = client.get(f"/api/v1/work-orders/{order.number}").json()
    row = page[page.index('id="deadlines"') :]
    row = row[row.index("到达现场") : row.index("</tr>", row.index("到达现场"))]
    assert "超时完成" in row and "text-success" not in row
    # dispatched in time: still shown as done
    done = page[page.index('id="deadlines"') :]
    done = done[done.index("派单") : done.index("</tr>", done.index("派单"))]
    assert "已完成" in done and "超时完成" not in done
    late = {d["milestone"]: d["met_late"] for d in api["deadlines"]}
    assert late["arrive"] is True and late["dispatch"] is False


def test_the_scheduled_check_path_names_the_check_task():
    """``checks`` schedules by path (core.scheduling); a wrong path would fail every intake."""
    from gridcare.core import scheduling
    from gridcare.workorders import tasks
    from gridcare.workorders.checks import CHECK_DEADLINE

    assert scheduling.task(CHECK_DEADLINE) is tasks.check_deadline
