"""回访工作单: the list's scope and order, the callback limit and time left (across a holiday), the
calls (calling hours, interval, three failed calls → 回访不成功) and the dissatisfied rule."""

import datetime as dt

import pytest

from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.core.clock import LOCAL_TZ
from gridcare.org.services import issue_token
from gridcare.workorders import callbacks
from gridcare.workorders.models import (
    CallbackResult,
    CallbackRule,
    Deadline,
    OrderType,
    State,
    WhenDissatisfied,
    WorkOrder,
    WorkOrderEvent,
)

from .test_lifecycle import act, new_order


def local(*args):
    return dt.datetime(*args, tzinfo=LOCAL_TZ)


MON = (2026, 3, 2)  # a Monday, no holiday around


def reviewed(w, at, order_type=OrderType.FAULT_REPAIR, unit=None, clerk=None):
    """An order accepted, dispatched, replied and approved at ``at`` (a frozen instant)."""
    unit, clerk = unit or w.east, clerk or w.clerk_east
    customer = w.customer_east if unit == w.east else w.customer_west
    with clock.frozen(at):
        order = act(new_order(w, order_type, customer=customer), "dispatch", w.agent, unit=unit.pk)
        order = act(order, "take", clerk)
        extra = {"at_fault": False} if order_type == OrderType.COMPLAINT else {}
        order = act(order, "reply", clerk, reply="已处理完毕", **extra)
        order = act(order, "review", w.leader)
    assert order.state == State.REVIEWED and order.callback_required
    return order


def call(order, w, at, outcome, **kw):
    with clock.frozen(at):
        return act(order, "callback_call", w.agent, outcome=outcome, **kw)


def numbers(rows):
    return [getattr(r, "order", r).number for r in rows]


def test_the_list_holds_the_scopes_orders_waiting_for_a_callback_most_urgent_first(wo_world):
    w = wo_world
    a = reviewed(w, local(*MON, 11, 0))
    b = reviewed(w, local(*MON, 9, 0), unit=w.west, clerk=w.clerk_west)
    c = reviewed(w, local(*MON, 10, 0))
    done = reviewed(w, local(*MON, 8, 45))
    call(done, w, local(*MON, 9, 0), "reached", satisfaction="satisfied")  # called back: off the list
    with clock.frozen(local(*MON, 9, 0)):  # praise: no callback
        praise = act(new_order(w, OrderType.PRAISE), "reply", w.agent, reply="已转达表扬")
        assert act(praise, "review", w.leader).state == State.REVIEWED

    now = local(2026, 3, 3, 9, 30)  # Tuesday: the 1-working-day limits fall at Mon's review time
    everyone = callbacks.rows(callbacks.waiting(w.agent), now)
    assert numbers(everyone) == [b.number, c.number, a.number]
    first, second, third = everyone
    assert first.due_at == local(2026, 3, 3, 9, 0) and first.seconds_left == -1800 and first.urgency == 3
    assert second.seconds_left == 1800 and second.urgency == 2  # past 80 % of its 24 hours
    assert third.seconds_left == 5400 and third.urgency_label == "urgent"
    assert third.attempts == 0 and third.max_attempts == 3

    # 城东 sees its own orders only; a filter by unit or type narrows, a unit elsewhere gives nothing.
    assert numbers(callbacks.waiting(w.east_reviewer)) == [c.number, a.number]
    assert numbers(callbacks.waiting(w.agent, unit=w.west.pk)) == [b.number]
    assert numbers(callbacks.waiting(w.east_reviewer, unit=w.west.pk)) == []
    assert numbers(callbacks.waiting(w.agent, order_type=OrderType.COMPLAINT)) == []


def test_api_and_page_show_the_list_masked_and_in_scope(wo_world, client):
    w = wo_world
    order = reviewed(w, local(*MON, 9, 0))
    elsewhere = reviewed(w, local(*MON, 9, 5), unit=w.west, clerk=w.clerk_west)
    token = issue_token(user=w.east_reviewer)
    with clock.frozen(local(*MON, 15, 0)):
        answer = client.get("/api/v1/work-orders/callbacks", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert answer.status_code == 200
        body = answer.json()
        assert body["count"] == 1
        item = body["items"][0]
        assert item["number"] == order.number
        assert item["callback_due_at"].startswith("2026-03-03T09:00:00+08:00")
        assert item["seconds_left"] == 18 * 3600 and item["urgency"] == 0
        assert item["caller_phone_masked"] != w.customer_east.phones.first().number
        bad = client.get(
            "/api/v1/work-orders/callbacks?order_type=nonsense", HTTP_AUTHORIZATION=f"Bearer {token}"
        )
        assert bad.status_code in (400, 422) and "code" in bad.json()

        client.force_login(w.agent)
        page = client.get(f"/workorders/callbacks/?unit={w.east.pk}")
        assert page.status_code == 200
        html = page.content.decode()
        assert order.number in html and elsewhere.number not in html
        assert w.customer_east.name not in html  # masked
    with clock.frozen(local(*MON, 21, 0)):  # after the calling hours: refused, shown on the list
        client.force_login(w.agent)  # (a fresh session: the idle timeout counts on the frozen clock)
        refused = client.post(f"/workorders/callbacks/{order.number}/call/", {"outcome": "not_reached"})
        assert refused.status_code == 302
        listed = client.get(refused["Location"]).content.decode()
        assert "20:00" in listed
    assert WorkOrder.objects.get(pk=order.pk).callback_attempts == 0
    with clock.frozen(local(*MON, 10, 0)):
        client.force_login(w.clerk_west)
        assert client.post(f"/workorders/callbacks/{order.number}/call/", {"outcome": "x"}).status_code == 404


def test_a_call_outside_the_calling_hours_or_too_soon_is_refused(wo_world):
    w = wo_world
    order = reviewed(w, local(*MON, 7, 0))
    with pytest.raises(ApiError) as err:
        call(order, w, local(*MON, 7, 30), "not_reached")
    assert err.value.code == "outside_calling_hours" and err.value.status == 409
    assert "08:00" in err.value.message and "20:00" in err.value.message
    with pytest.raises(ApiError) as err:
        call(order, w, local(*MON, 20, 0), "not_reached")  # the end is excluded
    assert err.value.code == "outside_calling_hours"

    order = call(order, w, local(*MON, 9, 0), "not_reached")
    assert order.state == State.REVIEWED and order.callback_attempts == 1
    with pytest.raises(ApiError) as err:
        call(order, w, local(*MON, 10, 59), "not_reached")
    assert err.value.code == "callback_too_soon"
    assert err.value.extra["next_call_at"].startswith("2026-03-02T11:00")
    with pytest.raises(ApiError) as err:
        call(order, w, local(*MON, 11, 0), "reached")  # reached needs a satisfaction
    assert err.value.code == "satisfaction_required"
    with pytest.raises(ApiError) as err:
        call(order, w, local(*MON, 11, 0), "busy")
    assert err.value.code == "call_outcome_required"
    # Refusals wrote nothing: one call, one history row.
    assert WorkOrder.objects.get(pk=order.pk).callback_attempts == 1
    assert WorkOrderEvent.objects.filter(order=order, action="callback_call").count() == 1
    order = call(order, w, local(*MON, 11, 0), "reached", satisfaction="basically")
    assert order.state == State.CALLED_BACK and order.callback_result == CallbackResult.REACHED
    assert order.satisfaction == "basically"


def test_three_failed_calls_close_the_callback_as_not_reached(wo_world):
    w = wo_world
    order = reviewed(w, local(*MON, 8, 0))
    order = call(order, w, local(*MON, 9, 0), "not_reached")
    order = call(order, w, local(*MON, 11, 0), "wrong_number", note="空号")
    assert order.state == State.REVIEWED and order.callback_result == ""
    order = call(order, w, local(*MON, 13, 0), "not_reached")
    assert order.state == State.CALLED_BACK
    assert order.callback_result == CallbackResult.UNREACHED and order.satisfaction == ""
    history = list(WorkOrderEvent.objects.filter(order=order, action="callback_call").order_by("at"))
    assert [(e.data["attempt"], e.data["outcome"]) for e in history] == [
        (1, "not_reached"),
        (2, "wrong_number"),
        (3, "not_reached"),
    ]
    assert history[1].note == "空号"
    assert [e.to_state for e in history] == [State.REVIEWED, State.REVIEWED, State.CALLED_BACK]
    # The callback limit is closed, the order leaves the list, and it counts as not reached in the
    # callback figures: required, but no satisfaction recorded (回访率's numerator leaves it out).
    assert Deadline.objects.get(order=order, milestone="callback").met_at == local(*MON, 13, 0)
    assert numbers(callbacks.waiting(w.agent)) == []
    reached = WorkOrder.objects.filter(
        callback_required=True, satisfaction__in=["satisfied", "basically", "dissatisfied"]
    )
    assert not reached.filter(pk=order.pk).exists()
    with clock.frozen(local(*MON, 14, 0)):
        assert act(order, "archive", w.leader).state == State.ARCHIVED


def test_a_refusal_ends_the_callback_at_once(wo_world):
    w = wo_world
    order = call(reviewed(w, local(*MON, 8, 0)), w, local(*MON, 9, 0), "refused")
    assert order.state == State.CALLED_BACK and order.callback_result == CallbackResult.UNREACHED


def test_a_dissatisfied_complaint_is_reopened_in_its_handling_unit(wo_world):
    w = wo_world
    assert CallbackRule.objects.get(order_type="complaint").when_dissatisfied == WhenDissatisfied.REOPEN
    order = reviewed(w, local(*MON, 9, 0), OrderType.COMPLAINT)
    order = call(order, w, local(*MON, 10, 0), "reached", satisfaction="dissatisfied", note="仍未解决")
    assert order.state == State.IN_PROGRESS
    assert order.assigned_unit_id == w.east.pk and order.satisfaction == "dissatisfied"
    event = WorkOrderEvent.objects.filter(order=order, action="callback_call").get()
    assert (event.from_state, event.to_state) == (State.REVIEWED, State.IN_PROGRESS)
    assert numbers(callbacks.waiting(w.agent)) == []
    # Handled again, reviewed again: a new callback round with its own limit from the new review.
    with clock.frozen(local(2026, 3, 4, 9, 0)):
        order = act(order, "reply", w.clerk_east, reply="已再次上门处理", at_fault=False)
        order = act(order, "review", w.leader)
    assert order.callback_attempts == 0 and order.callback_result == ""
    deadline = Deadline.objects.get(order=order, milestone="callback")
    assert deadline.due_at == local(2026, 3, 5, 9, 0) and deadline.met_at is None
    assert numbers(callbacks.waiting(w.agent)) == [order.number]


def test_a_dissatisfied_fault_repair_goes_back_to_review_as_its_rule_says(wo_world):
    w = wo_world
    order = reviewed(w, local(*MON, 9, 0))
    order = call(order, w, local(*MON, 10, 0), "reached", satisfaction="dissatisfied")
    assert order.state == State.REPLIED
    CallbackRule.objects.filter(order_type="fault_repair").update(when_dissatisfied=WhenDissatisfied.REOPEN)
    again = reviewed(w, local(*MON, 9, 30))
    assert (
        call(again, w, local(*MON, 10, 0), "reached", satisfaction="dissatisfied").state == State.IN_PROGRESS
    )


def test_time_left_across_national_day_in_working_days(wo_world):
    """Reviewed Tue 2025-09-30 10:00, the day before the 10/1–10/8 holiday: the 1-working-day
    callback limit falls on Thu 10/09 10:00. At 16:00 on 9/30 that is 8 days 18 hours away, but
    only 3 working hours (16:00–17:30 on 9/30, 08:30–10:00 on 10/09)."""
    w = wo_world
    order = reviewed(w, local(2025, 9, 30, 10, 0), OrderType.COMPLAINT)
    (row,) = callbacks.rows(callbacks.waiting(w.agent), local(2025, 9, 30, 16, 0))
    assert row.order.pk == order.pk
    assert row.due_at == local(2025, 10, 9, 10, 0)
    assert row.seconds_left == (8 * 24 + 18) * 3600
    assert row.working_seconds_left == 3 * 3600
    assert row.urgency == 0  # 6 of 216 hours gone
