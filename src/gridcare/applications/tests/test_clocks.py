"""Node limits in working days of the official calendar (holidays and 调休 working weekends), a
customer-caused wait that stops only its own node, and the warnings of the node-deadline sweep."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gridcare.applications import services
from gridcare.applications.models import ApplicationEvent, ApplicationNode, NodeState, NodeWait
from gridcare.applications.sweep import raise_due_warnings
from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.notify.models import Channel, Message

from .helpers import accept, at, record_for


def _node(application, kind):
    return ApplicationNode.objects.get(application=application, kind=kind)


def _hv(w, when, **extra):
    with clock.frozen(when):
        return accept(w.clerk_east, requested_kva=Decimal("630"), usage_class="large_industry", **extra)


def _finish(application, kind, actor, when):
    with clock.frozen(when):
        record_for(application, kind, actor)
        return services.act_on_node(application=application, node=kind, action="finish", actor=actor)


def _do(application, kind, action, actor, when, **payload):
    with clock.frozen(when):
        if action == "finish":
            record_for(application, kind, actor)
        return services.act_on_node(application=application, node=kind, action=action, actor=actor, **payload)


def test_the_plan_reply_limit_runs_over_spring_festival_2026(yk_world):
    """Accepted on Friday 13 February 2026: the 15 working days skip 15–23 February (春节) and count
    the working Saturdays 14 and 28 February (调休)."""
    application = _hv(yk_world, at(2026, 2, 13, 10, 0))
    plan = _node(application, "plan_reply")
    assert clock.local(plan.due_at) == at(2026, 3, 12, 10, 0)  # Mon–Fri alone would say 6 March
    assert plan.provisional is False


def test_a_completion_inspection_runs_over_national_day_2026(yk_world):
    """Requested on Tuesday 29 September 2026: 5 working days are 30 Sep, 8, 9, 10 (Saturday, 调休)
    and 12 October — the holiday week of 1–7 October does not count."""
    w = yk_world
    application = _hv(w, at(2026, 9, 1, 9, 0))
    for kind in ("survey", "plan_reply"):
        application = _finish(application, kind, w.account_manager, at(2026, 9, 2, 9, 0))
    for kind, day in (("design_review", 3), ("mid_inspection", 7)):
        _do(application, kind, "start", w.account_manager, at(2026, 9, day, 9, 0))
        application = _finish(application, kind, w.account_manager, at(2026, 9, day + 1, 9, 0))
    _do(application, "completion_inspection", "start", w.clerk_east, at(2026, 9, 29, 9, 0))
    node = _node(application, "completion_inspection")
    assert clock.local(node.started_at) == at(2026, 9, 29, 9, 0)
    assert clock.local(node.due_at) == at(2026, 10, 12, 9, 0)


def test_a_customer_wait_stops_only_its_own_node_and_moves_its_due_date(yk_world):
    w = yk_world
    application = _hv(w, at(2026, 3, 2, 9, 0))  # plan reply due 23 March (15 working days)
    application = _finish(application, "survey", w.account_manager, at(2026, 3, 3, 9, 0))
    application = _finish(application, "plan_reply", w.account_manager, at(2026, 3, 13, 9, 0))
    plan = _node(application, "plan_reply")
    _do(application, "design_review", "start", w.clerk_east, at(2026, 3, 16, 9, 0))
    review = _node(application, "design_review")
    assert clock.local(review.due_at) == at(2026, 3, 30, 9, 0)
    promised = application.total_due_at

    # Wednesday: the drawings need corrections (整改): only the design review's clock stops.
    application = _do(
        application, "design_review", "wait", w.clerk_east, at(2026, 3, 18, 10, 0),
        reason="rectification", note="图纸需按审核意见修改",
    )  # fmt: skip
    review = _node(application, "design_review")
    assert review.state == NodeState.WAITING and review.paused_at is not None
    assert application.current_node == "design_review"
    with pytest.raises(ApiError) as refused:  # nobody finishes a node the customer holds up
        _finish(application, "design_review", w.account_manager, at(2026, 3, 19, 9, 0))
    assert refused.value.code == "illegal_transition"

    # Monday: the corrected drawings arrive; 19, 20 and 23 March were lost (three working days).
    application = _do(application, "design_review", "resume", w.clerk_east, at(2026, 3, 23, 10, 0))
    review = _node(application, "design_review")
    assert review.state == NodeState.OPEN and review.paused_at is None and review.paused_days == 3
    assert clock.local(review.due_at) == at(2026, 4, 2, 9, 0)
    wait = NodeWait.objects.get(node=review)
    assert (wait.reason, wait.note, wait.working_days) == ("rectification", "图纸需按审核意见修改", 3)
    # Other nodes' clocks did not move; the promised whole-process date did (customer's time).
    assert _node(application, "plan_reply").due_at == plan.due_at
    assert _node(application, "mid_inspection").due_at is None
    assert clock.local(application.total_due_at) > clock.local(promised)
    # Each change told the customer.
    bodies = list(
        Message.objects.filter(channel=Channel.SMS, recipient_address="13700001111").values_list(
            "body", flat=True
        )
    )
    assert any("客户整改" in b and "暂停计时" in b for b in bodies)
    assert any("已恢复办理" in b and "2026-04-02" in b for b in bodies)


def test_a_wait_may_stop_a_later_node_whose_clock_already_runs(yk_world):
    """The HV plan reply is counted from acceptance: a customer who puts off the survey stops it."""
    w = yk_world
    application = _hv(w, at(2026, 3, 2, 9, 0))
    survey_before = _node(application, "survey")
    application = _do(
        application, "plan_reply", "wait", w.clerk_east, at(2026, 3, 3, 9, 0), reason="customer_pause"
    )
    assert _node(application, "plan_reply").state == NodeState.WAITING
    # The survey goes on; when it is done the plan reply becomes current, still waiting.
    application = _finish(application, "survey", w.account_manager, at(2026, 3, 5, 9, 0))
    plan = _node(application, "plan_reply")
    assert (application.current_node, plan.state, plan.waiting_from) == ("plan_reply", "waiting", "open")
    application = _do(application, "plan_reply", "resume", w.clerk_east, at(2026, 3, 9, 9, 0))
    plan = _node(application, "plan_reply")
    assert plan.state == NodeState.OPEN and plan.paused_days == 4  # 4, 5, 6 and 9 March
    assert clock.local(plan.due_at) == at(2026, 3, 27, 9, 0)
    assert _node(application, "survey").opened_at == survey_before.opened_at


def test_a_node_neither_current_nor_timed_cannot_wait(yk_world):
    application = _hv(yk_world, at(2026, 3, 2, 9, 0))
    with pytest.raises(ApiError) as refused:
        _do(
            application,
            "mid_inspection",
            "wait",
            yk_world.clerk_east,
            at(2026, 3, 3, 9, 0),
            reason="rectification",
        )
    assert (refused.value.code, refused.value.status) == ("no_running_clock", 409)
    with pytest.raises(ApiError) as refused:
        _do(application, "survey", "wait", yk_world.clerk_east, at(2026, 3, 3, 9, 0), reason="weather")
    assert (refused.value.code, refused.value.status) == ("reason_required", 422)


def test_the_sweep_warns_the_owner_unit_once_per_level(yk_world):
    w = yk_world
    with clock.frozen(at(2026, 3, 2, 9, 0)):
        application = accept(w.clerk_east, requested_kva=Decimal("8"))  # plan reply due 5 March 09:00
    plan = _node(application, "plan_reply")
    assert raise_due_warnings(at(2026, 3, 3, 9, 0)) == 0  # a third of the span: nothing yet
    assert raise_due_warnings(at(2026, 3, 4, 0, 0)) == 1  # past half: level 1
    again = raise_due_warnings(at(2026, 3, 4, 0, 1))
    assert again == 0
    staff = Message.objects.filter(channel=Channel.STAFF_INBOX, about_id=application.number)
    assert {m.recipient_id for m in staff} == {str(w.clerk_east.pk)}  # the node's role at its unit
    # Overdue at once from level 1: level 2 is recorded as skipped, level 3 notified (and the
    # station head hears of it).
    assert raise_due_warnings(at(2026, 3, 6, 9, 0)) == 2
    plan.refresh_from_db()
    assert plan.warning_level == 3 and plan.next_warning_at is None
    warnings = ApplicationEvent.objects.filter(application=application, action="warning").order_by("id")
    assert [(e.data["level"], e.data["skipped"]) for e in warnings] == [(1, False), (2, True), (3, False)]
    staff = Message.objects.filter(channel=Channel.STAFF_INBOX, about_id=application.number)
    assert str(w.station_head.pk) in {m.recipient_id for m in staff}
    assert any("已超期" in m.subject for m in staff)


def test_the_sweep_tells_the_key_customers_account_manager_and_the_tiers_above(yk_world):
    """A key customer's account manager hears of the node warnings from level 1; at overdue the
    managers of the station and the county above the owner unit hear too — nobody twice."""
    w = yk_world
    w.customer_east.account_manager = w.account_manager
    w.customer_east.save(update_fields=["account_manager"])
    with clock.frozen(at(2026, 3, 2, 9, 0)):
        application = accept(w.clerk_east, requested_kva=Decimal("8"), customer=w.customer_east)
    assert raise_due_warnings(at(2026, 3, 4, 0, 0)) == 1
    first = Message.objects.filter(channel=Channel.STAFF_INBOX, about_id=application.number)
    assert {m.recipient_id for m in first} == {str(w.clerk_east.pk), str(w.account_manager.pk)}
    assert raise_due_warnings(at(2026, 3, 6, 9, 0)) == 2
    overdue = Message.objects.filter(
        channel=Channel.STAFF_INBOX, about_id=application.number, subject__contains="已超期"
    )
    told = [m.recipient_id for m in overdue]
    assert sorted(told) == sorted(
        {str(u.pk) for u in (w.clerk_east, w.account_manager, w.station_head, w.county_manager)}
    )


def test_a_paused_clock_raises_no_warning(yk_world):
    w = yk_world
    with clock.frozen(at(2026, 3, 2, 9, 0)):
        application = accept(w.clerk_east, requested_kva=Decimal("8"))
    _do(application, "plan_reply", "wait", w.clerk_east, at(2026, 3, 2, 10, 0), reason="documents_missing")
    assert raise_due_warnings(at(2026, 3, 20, 9, 0)) == 0


def test_entering_next_years_holidays_moves_the_running_clocks(yk_world):
    """A limit that runs into a year whose holidays are not entered is counted Mon–Fri and marked
    provisional; entering that year's schedule counts it again (and the promised date)."""
    from gridcare.core import calendar
    from gridcare.core.models import CalendarDay, CalendarYear

    CalendarDay.objects.filter(date__year=2027).delete()
    CalendarYear.objects.filter(year=2027).delete()
    calendar.invalidate()
    application = _hv(yk_world, at(2026, 12, 28, 9, 0))
    plan = _node(application, "plan_reply")
    assert (clock.local(plan.due_at), plan.provisional) == (at(2027, 1, 18, 9, 0), True)
    assert (clock.local(application.total_due_at), application.total_provisional) == (
        at(2027, 1, 27, 9, 0),
        True,
    )

    CalendarDay.objects.create(date="2027-01-01", kind=CalendarDay.Kind.HOLIDAY, name="New Year's Day")
    CalendarYear.objects.create(year=2027, published=True)
    calendar.changed([2027])

    plan.refresh_from_db()
    assert (clock.local(plan.due_at), plan.provisional) == (at(2027, 1, 19, 9, 0), False)
    application.refresh_from_db()
    assert (clock.local(application.total_due_at), application.total_provisional) == (
        at(2027, 1, 28, 9, 0),
        False,
    )
