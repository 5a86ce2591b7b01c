"""A callback result (回访) recorded with the plain action keeps the calling rules of a phone call
(hours, interval) unless it is a visit or a written reply; a 不满意 result under the complaint rule
raises one complaint (投诉) linked to the original, in the same transaction."""

import pytest

from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.core.workflow import Step
from gridcare.org.services import issue_token
from gridcare.workorders import intake, rules
from gridcare.workorders.models import (
    CallbackResult,
    CallbackRule,
    Channel,
    Deadline,
    OrderType,
    State,
    WhenDissatisfied,
    WorkOrder,
    WorkOrderEvent,
)
from gridcare.workorders.transitions import TABLE

from .test_callback_worklist import MON, call, local, reviewed
from .test_lifecycle import act

TUE = (2026, 3, 3)


def callback(order, w, at, **kw):
    with clock.frozen(at):
        return act(order, "callback", w.agent, **kw)


def history(order, action):
    return list(WorkOrderEvent.objects.filter(order=order, action=action).order_by("id"))


# --- the calling hours and the interval ------------------------------------------------------


def test_a_phone_callback_at_half_past_ten_at_night_is_refused_and_at_ten_recorded(wo_world):
    w = wo_world
    order = reviewed(w, local(*MON, 9, 0))
    with pytest.raises(ApiError) as err:
        callback(order, w, local(*MON, 22, 30), satisfaction="satisfied")
    assert (err.value.code, err.value.status) == ("outside_calling_hours", 409)
    assert "08:00" in err.value.message and "20:00" in err.value.message
    with pytest.raises(ApiError) as err:  # saying "by phone" changes nothing
        callback(order, w, local(*MON, 22, 30), satisfaction="satisfied", method="phone")
    assert err.value.code == "outside_calling_hours"
    refused = WorkOrder.objects.get(pk=order.pk)
    assert refused.state == State.REVIEWED and refused.satisfaction == "" and refused.version == order.version
    assert history(order, "callback") == []

    done = callback(order, w, local(*TUE, 10, 0), satisfaction="satisfied")
    assert done.state == State.CALLED_BACK and done.callback_result == CallbackResult.REACHED
    assert done.callback_attempts == 1  # a phone callback is a reached call of the round
    (event,) = history(order, "callback")
    assert event.data["method"] == "phone" and event.data["outcome"] == "reached"
    assert Deadline.objects.get(order=order, milestone="callback").met_at == local(*TUE, 10, 0)


def test_the_api_refuses_a_phone_callback_at_night_as_the_work_list_does(wo_world, client):
    w = wo_world
    order = reviewed(w, local(*MON, 9, 0))
    auth = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=w.leader)}"}
    url = f"/api/v1/work-orders/{order.number}/actions/callback"
    with clock.frozen(local(*MON, 22, 30)):
        night = client.post(url, {"satisfaction": "satisfied"}, content_type="application/json", **auth)
    assert night.status_code == 409 and night.json()["code"] == "outside_calling_hours"
    with clock.frozen(local(*TUE, 10, 0)):
        day = client.post(url, {"satisfaction": "satisfied"}, content_type="application/json", **auth)
    assert day.status_code == 200 and day.json()["state"] == "called_back"


def test_a_visit_or_a_written_reply_is_recorded_when_it_comes(wo_world):
    w = wo_world
    visited = callback(reviewed(w, local(*MON, 9, 0)), w, local(*MON, 22, 30), satisfaction="satisfied",
                       method="visit")  # fmt: skip
    assert visited.state == State.CALLED_BACK and visited.callback_attempts == 0
    assert history(visited, "callback")[0].data["method"] == "visit"
    written = callback(reviewed(w, local(*MON, 9, 5)), w, local(*TUE, 6, 0), satisfaction="basically",
                       method="written")  # fmt: skip
    assert written.state == State.CALLED_BACK and written.satisfaction == "basically"
    with pytest.raises(ApiError) as err:
        callback(reviewed(w, local(*MON, 9, 10)), w, local(*MON, 10, 0), satisfaction="satisfied",
                 method="sms")  # fmt: skip
    assert (err.value.code, err.value.status) == ("invalid_callback_method", 422)


def test_a_phone_callback_keeps_the_interval_after_a_call_of_the_work_list(wo_world):
    w = wo_world
    order = call(reviewed(w, local(*MON, 9, 0)), w, local(*MON, 10, 0), "not_reached")
    with pytest.raises(ApiError) as err:
        callback(order, w, local(*MON, 11, 0), satisfaction="satisfied")
    assert err.value.code == "callback_too_soon"
    assert err.value.extra["next_call_at"].startswith("2026-03-02T12:00")
    # A visit is not a call: no interval.
    assert callback(order, w, local(*MON, 11, 0), satisfaction="satisfied", method="visit").state == (
        State.CALLED_BACK
    )
    other = call(reviewed(w, local(*MON, 9, 5)), w, local(*MON, 10, 0), "not_reached")
    done = callback(other, w, local(*MON, 12, 0), satisfaction="satisfied")
    assert done.state == State.CALLED_BACK and done.callback_attempts == 2


def test_the_page_offers_the_callback_method(wo_world, client):
    w = wo_world
    order = reviewed(w, local(*MON, 9, 0))
    client.force_login(w.agent)
    form = client.get(f"/workorders/{order.number}/actions/callback/", HTTP_HX_REQUEST="true")
    html = form.content.decode()
    assert 'name="method"' in html and "上门回访" in html and "书面回复" in html
    assert "method" in TABLE["callback"].fields


# --- 不满意 → a complaint ----------------------------------------------------------------------


@pytest.fixture
def complaint_rule(wo_world):
    """The fault-repair rule switched to "raise a complaint" (the seeds keep "back to review")."""
    rule = CallbackRule.objects.get(order_type=OrderType.FAULT_REPAIR, subtype="")
    assert rule.when_dissatisfied == WhenDissatisfied.REVIEW
    rule.when_dissatisfied = WhenDissatisfied.COMPLAINT
    rule.save()
    return rule


def raised(order):
    return list(WorkOrder.objects.filter(raised_from=order))


def test_a_dissatisfied_callback_raises_one_complaint_linked_to_the_original(wo_world, complaint_rule):
    w = wo_world
    order = reviewed(w, local(*MON, 9, 0))
    done = callback(
        order, w, local(*MON, 10, 0), satisfaction="dissatisfied", note="抢修人员态度差，未说明停电原因"
    )
    # The original's callback is over (its dissatisfaction lives on in the complaint).
    assert done.state == State.CALLED_BACK and done.satisfaction == "dissatisfied"
    assert Deadline.objects.get(order=order, milestone="callback").met_at == local(*MON, 10, 0)

    (complaint,) = raised(order)
    assert complaint.order_type == OrderType.COMPLAINT and complaint.channel == Channel.CALLBACK
    assert complaint.state == State.ACCEPTED and complaint.number.startswith("TS20260302")
    assert complaint.customer_id == order.customer_id
    assert (complaint.caller_name, complaint.caller_phone, complaint.address) == (
        order.caller_name,
        order.caller_phone,
        order.address,
    )
    assert complaint.accepted_unit_id == order.accepted_unit_id and complaint.accepted_by_id == w.agent.pk
    assert order.number in complaint.content and "抢修人员态度差，未说明停电原因" in complaint.content
    assert "城东供电所" in complaint.content  # the unit that handled the original
    assert complaint.complaint_class == "service"
    # Filed through the intake: its accept row and its time limits (complaint: contact, reply).
    (accepted,) = history(complaint, "accept")
    assert accepted.data["raised_from"] == order.number and accepted.data["channel"] == "callback"
    assert {d.milestone for d in complaint.deadlines.all()} >= {"contact", "reply"}
    # The original's history says so.
    (note,) = history(order, "raise_complaint")
    assert note.data == {"complaint": complaint.number} and complaint.number in note.note

    # The same result sent again (a double click, a retry): refused, no second complaint.
    with pytest.raises(ApiError) as err:
        callback(
            done, w, local(*MON, 10, 1), satisfaction="dissatisfied", note="抢修人员态度差，未说明停电原因"
        )
    assert err.value.code == "illegal_transition"
    with pytest.raises(ApiError) as err:
        callback(order, w, local(*MON, 10, 1), satisfaction="dissatisfied", version=order.version)
    assert err.value.code == "version_conflict"
    assert len(raised(order)) == 1 and WorkOrder.objects.filter(order_type="complaint").count() == 1


def test_the_complaint_and_the_original_link_each_other_on_their_pages_and_the_api(
    wo_world, complaint_rule, client
):
    w = wo_world
    order = call(
        reviewed(w, local(*MON, 9, 0)), w, local(*MON, 10, 0), "reached", satisfaction="dissatisfied"
    )
    assert order.state == State.CALLED_BACK  # 回访拨打's reached call raises it too
    (complaint,) = raised(order)
    client.force_login(w.agent)
    original_page = client.get(f"/workorders/{order.number}/").content.decode()
    assert f'href="/workorders/{complaint.number}/"' in original_page and "回访不满意转投诉" in original_page
    complaint_page = client.get(f"/workorders/{complaint.number}/").content.decode()
    assert f'href="/workorders/{order.number}/"' in complaint_page and "来源工单" in complaint_page
    token = issue_token(user=w.agent)
    answer = client.get(f"/api/v1/work-orders/{complaint.number}", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert answer.json()["raised_from"] == order.number and answer.json()["channel"] == "callback"
    plain = client.get(f"/api/v1/work-orders/{order.number}", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert plain.json()["raised_from"] is None


def test_nothing_is_written_when_the_complaint_cannot_be_filed(wo_world, complaint_rule, monkeypatch):
    """The complaint is written, then something fails: the callback result, its history, its
    limit and the complaint are all undone."""
    w = wo_world
    order = reviewed(w, local(*MON, 9, 0))
    real = intake.create_work_order

    def fails_after_writing(**kwargs):
        real(**kwargs)
        assert WorkOrder.objects.filter(raised_from=order).exists()  # it was written…
        raise ApiError("no_unit", "受理人没有所属单位", status=403)

    monkeypatch.setattr(intake, "create_work_order", fails_after_writing)
    with pytest.raises(ApiError) as err:
        callback(order, w, local(*MON, 10, 0), satisfaction="dissatisfied", note="不满意")
    assert err.value.code == "no_unit"
    after = WorkOrder.objects.get(pk=order.pk)
    assert after.state == State.REVIEWED and after.satisfaction == "" and after.version == order.version
    assert after.callback_attempts == 0 and after.callback_result == ""
    assert history(order, "callback") == [] and history(order, "raise_complaint") == []
    assert Deadline.objects.get(order=order, milestone="callback").met_at is None
    assert not WorkOrder.objects.filter(order_type=OrderType.COMPLAINT).exists()  # …and undone
    # Once the intake works again the same result goes through.
    monkeypatch.setattr(intake, "create_work_order", real)
    assert callback(order, w, local(*MON, 10, 5), satisfaction="dissatisfied").state == State.CALLED_BACK
    assert len(raised(order)) == 1


def test_the_complaint_is_raised_once_even_if_its_rule_runs_again(wo_world, complaint_rule):
    w = wo_world
    order = callback(reviewed(w, local(*MON, 9, 0)), w, local(*MON, 10, 0), satisfaction="dissatisfied")
    step = Step(TABLE["callback"], order, w.agent, before=State.REVIEWED, target=State.CALLED_BACK,
                now=local(*MON, 10, 5), found={"raise_complaint": True})  # fmt: skip
    rules.raise_complaint_when_dissatisfied(step)
    assert len(raised(order)) == 1 and len(history(order, "raise_complaint")) == 1


def test_a_satisfied_callback_or_another_rule_raises_nothing(wo_world, complaint_rule):
    w = wo_world
    happy = callback(reviewed(w, local(*MON, 9, 0)), w, local(*MON, 10, 0), satisfaction="basically")
    assert happy.state == State.CALLED_BACK and raised(happy) == []
    # A complaint is not complained about again: the complaint rule reopens it.
    CallbackRule.objects.filter(order_type=OrderType.COMPLAINT).update(
        when_dissatisfied=WhenDissatisfied.COMPLAINT
    )
    complaint = reviewed(w, local(*MON, 9, 5), OrderType.COMPLAINT)
    again = callback(complaint, w, local(*MON, 10, 0), satisfaction="dissatisfied")
    assert again.state == State.IN_PROGRESS and raised(complaint) == []
