"""业扩回访 the working day after 受理, 供电方案答复, 中间检查 and 装表接电; the calling rules; a finding
(吃拿卡要, 三指定) raising one report order and one audit case; the auditors' cases; account
managers' applications first; the green channel."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gridcare.applications import callback_work, callbacks, services
from gridcare.applications.models import (
    ApplicationCallback,
    ApplicationEvent,
    AuditCase,
    CallbackState,
)
from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.notify.models import Message
from gridcare.org.models import Role
from gridcare.org.services import create_staff, issue_token
from gridcare.workorders.models import OrderType, WorkOrder

from .helpers import accept, at, intake, record_for

ACCEPT_ANSWERS = {"told_procedure": "yes", "convenient": "yes", "bribery": "no"}


@pytest.fixture
def auditor(yk_world):
    return create_staff(
        username="auditor_county",
        password=yk_world.password,
        full_name="审计员",
        roles=[(Role.AUDITOR, yk_world.county)],
    )


def _callback(application, node="accept") -> ApplicationCallback:
    return ApplicationCallback.objects.get(application=application, node=node)


def _call(callback, actor, when, outcome="answered", **kwargs):
    with clock.frozen(when):
        return callback_work.record_call(callback=callback, actor=actor, outcome=outcome, **kwargs)


def test_a_callback_falls_due_the_working_day_after_acceptance_even_across_national_day(yk_world):
    w = yk_world
    with clock.frozen(at(2026, 3, 3, 16, 0)):  # a Tuesday
        tuesday = accept(w.clerk_east)
    callback = _callback(tuesday)
    assert (clock.local(callback.due_from), clock.local(callback.due_at)) == (
        at(2026, 3, 4, 8, 0),
        at(2026, 3, 4, 20, 0),
    )
    assert callback.unit == w.east and callback.state == CallbackState.DUE
    with clock.frozen(at(2026, 9, 30, 16, 0)):  # the eve of National Day: 1–7 October are holidays
        eve = accept(w.clerk_east)
    assert clock.local(_callback(eve).due_from) == at(2026, 10, 8, 8, 0)
    # The LV residential path has no mid-construction inspection: callbacks after 受理, the plan
    # reply and energization only, once each however often scheduled.
    assert callbacks.schedule(eve, "survey", clock.now()) is None
    assert callbacks.schedule(eve, "accept", clock.now()).pk == _callback(eve).pk
    assert ApplicationCallback.objects.filter(application=eve).count() == 1


def test_finishing_the_plan_reply_schedules_its_callback_with_its_own_questions(yk_world):
    w = yk_world
    with clock.frozen(at(2026, 3, 2, 9, 0)):
        application = accept(w.clerk_east)
    for node, when in (("survey", at(2026, 3, 2, 15, 0)), ("plan_reply", at(2026, 3, 3, 10, 0))):
        with clock.frozen(when):
            record_for(application, node, w.clerk_east)
            application = services.act_on_node(
                application=application, node=node, action="finish", actor=w.clerk_east
            )
    plan = _callback(application, "plan_reply")
    assert clock.local(plan.due_from) == at(2026, 3, 4, 8, 0)
    assert [q.code for q in callbacks.questions("plan_reply")] == ["plan_satisfied", "designated", "bribery"]
    assert not ApplicationCallback.objects.filter(application=application, node="survey").exists()


def test_calls_keep_the_calling_hours_the_interval_and_the_attempts(yk_world):
    w = yk_world
    with clock.frozen(at(2026, 3, 3, 16, 0)):
        application = accept(w.clerk_east)
    callback = _callback(application)
    refused = []
    for when in (at(2026, 3, 3, 17, 0), at(2026, 3, 4, 20, 30)):
        with pytest.raises(ApiError) as error:
            _call(callback, w.agent, when, "no_answer")
        refused.append(error.value.code)
    assert refused == ["callback_not_yet", "outside_calling_hours"]
    callback = _call(callback, w.agent, at(2026, 3, 4, 9, 0), "no_answer")
    assert (callback.state, callback.attempts) == (CallbackState.DUE, 1)
    with pytest.raises(ApiError) as error:
        _call(callback, w.agent, at(2026, 3, 4, 10, 0), "busy")  # 2 hours apart at least
    assert (error.value.code, error.value.status) == ("callback_too_soon", 409)
    callback = _call(callback, w.agent, at(2026, 3, 4, 11, 0), "busy")
    callback = _call(callback, w.agent, at(2026, 3, 4, 13, 0), "no_answer")
    assert (callback.state, callback.attempts) == (CallbackState.FAILED, 3)  # 回访不成功
    with pytest.raises(ApiError) as error:
        _call(callback, w.agent, at(2026, 3, 4, 16, 0), answers=ACCEPT_ANSWERS, satisfaction="satisfied")
    assert error.value.code == "callback_closed"
    assert list(callback.calls.values_list("outcome", flat=True)) == ["no_answer", "busy", "no_answer"]


def test_a_refusal_ends_the_callback(yk_world):
    w = yk_world
    with clock.frozen(at(2026, 3, 3, 16, 0)):
        application = accept(w.clerk_east)
    callback = _call(
        _callback(application), w.agent, at(2026, 3, 4, 9, 0), "refused", note="客户称不需要回访"
    )
    assert callback.state == CallbackState.FAILED


def test_a_reached_callback_needs_every_answer_and_the_satisfaction(yk_world):
    w = yk_world
    with clock.frozen(at(2026, 3, 3, 16, 0)):
        application = accept(w.clerk_east)
    callback = _callback(application)
    with pytest.raises(ApiError) as error:
        _call(
            callback,
            w.agent,
            at(2026, 3, 4, 9, 0),
            answers={"told_procedure": "yes"},
            satisfaction="satisfied",
        )
    assert (error.value.code, error.value.status) == ("answers_required", 422)
    assert error.value.extra["missing"] == ["convenient", "bribery"]
    with pytest.raises(ApiError) as error:
        _call(callback, w.agent, at(2026, 3, 4, 9, 0), answers=ACCEPT_ANSWERS)
    assert error.value.code == "satisfaction_required"
    callback.refresh_from_db()
    assert (callback.attempts, callback.state) == (0, CallbackState.DUE)  # nothing half written
    callback = _call(
        callback, w.agent, at(2026, 3, 4, 9, 0), answers=ACCEPT_ANSWERS, satisfaction="basically"
    )
    assert (callback.state, callback.satisfaction, callback.findings) == (CallbackState.DONE, "basically", [])
    assert callback.report_order is None and not AuditCase.objects.exists()
    event = ApplicationEvent.objects.filter(application=application, action="callback").get()
    assert event.data["satisfaction"] == "basically"


def test_a_yes_to_bribery_raises_one_report_order_and_one_audit_case(yk_world, auditor):
    w = yk_world
    with clock.frozen(at(2026, 3, 3, 16, 0)):
        application = accept(w.clerk_east)
    callback = _callback(application)
    answers = ACCEPT_ANSWERS | {"bribery": "yes"}
    callback = _call(
        callback,
        w.agent,
        at(2026, 3, 4, 9, 0),
        answers=answers,
        satisfaction="dissatisfied",
        note="受理员暗示要好处费",
    )
    assert callback.findings == ["吃拿卡要"]
    report = WorkOrder.objects.get(order_type=OrderType.REPORT)
    assert (
        report.channel == "callback"
        and application.number in report.content
        and "受理员暗示要好处费" in report.content
    )
    assert callback.report_order == report
    case = AuditCase.objects.get()
    assert (case.finding, case.unit, case.application, case.report_order) == (
        "吃拿卡要",
        w.east,
        application,
        report,
    )
    assert case.number.startswith("SJ20260304")
    told = Message.objects.filter(recipient_id=str(auditor.pk), subject__contains="吃拿卡要")
    assert told.count() == 1
    # The second click (the page resubmitted) changes nothing: no second order, no second case.
    with pytest.raises(ApiError) as error:
        _call(callback, w.agent, at(2026, 3, 4, 9, 1), answers=answers, satisfaction="dissatisfied")
    assert error.value.code == "callback_closed"
    assert (
        WorkOrder.objects.filter(order_type=OrderType.REPORT).count() == 1 and AuditCase.objects.count() == 1
    )


def test_a_no_to_the_contractors_licence_is_a_finding_at_the_construction_callback(yk_world):
    w = yk_world
    with clock.frozen(at(2026, 3, 3, 16, 0)):
        application = accept(w.clerk_east, requested_kva=Decimal("630"), usage_class="large_industry")
        callback = callbacks.schedule(application, "mid_inspection", clock.now())
    answers = {"contractor_licensed": "no", "hidden_works_checked": "yes"}
    callback = _call(callback, w.agent, at(2026, 3, 4, 10, 0), answers=answers, satisfaction="satisfied")
    assert callback.findings == ["施工单位无承装（修、试）许可证"]
    assert AuditCase.objects.get().finding == "施工单位无承装（修、试）许可证"


def test_who_does_callbacks_and_who_sees_them(yk_world):
    w = yk_world
    with clock.frozen(at(2026, 3, 3, 16, 0)):
        application = accept(w.clerk_east)
    callback = _callback(application)
    with pytest.raises(ApiError) as error:  # the window that handled it does not call back itself
        _call(callback, w.clerk_east, at(2026, 3, 4, 9, 0), answers=ACCEPT_ANSWERS, satisfaction="satisfied")
    assert (error.value.code, error.value.status) == ("forbidden_role", 403)
    assert list(callback_work.work_list(w.agent)) == [callback]  # the city's 95598 center
    assert list(callback_work.work_list(w.clerk_west)) == []
    with pytest.raises(ApiError) as error:
        callback_work.get_callback(w.clerk_west, callback.pk)
    assert error.value.status == 404


def test_an_auditor_investigates_and_closes_a_case(yk_world, auditor, client):
    w = yk_world
    with clock.frozen(at(2026, 3, 3, 16, 0)):
        application = accept(w.clerk_east)
    _call(
        _callback(application),
        w.agent,
        at(2026, 3, 4, 9, 0),
        answers=ACCEPT_ANSWERS | {"bribery": "yes"},
        satisfaction="dissatisfied",
    )
    case = AuditCase.objects.get()
    headers = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=auditor)}"}
    listed = client.get("/api/v1/audit-cases?state=open", **headers).json()
    assert [c["number"] for c in listed["items"]] == [case.number]
    url = f"/api/v1/audit-cases/{case.number}"
    refused = client.post(f"{url}/close", {"conclusion": ""}, content_type="application/json", **headers)
    assert refused.status_code == 422 and refused.json()["code"] == "conclusion_required"
    body = {"substantiated": True, "conclusion": "经调查属实，已对当事人严肃处理", "version": case.version}
    closed = client.post(f"{url}/close", body, content_type="application/json", **headers)
    assert (
        closed.status_code == 200
        and closed.json()["state"] == "closed"
        and closed.json()["substantiated"] is True
    )
    again = client.post(f"{url}/close", body | {"version": None}, content_type="application/json", **headers)
    assert again.status_code == 409 and again.json()["code"] == "case_closed"
    # Another county's auditor does not see it.
    other = create_staff(
        username="auditor_mountain",
        password=w.password,
        full_name="外县审计",
        roles=[(Role.AUDITOR, w.county2)],
    )
    other_headers = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=other)}"}
    assert client.get(url, **other_headers).status_code == 404


def test_the_callback_api_records_a_call_and_refuses_bad_input(yk_world, client):
    w = yk_world
    with clock.frozen(at(2026, 3, 3, 16, 0)):
        application = accept(w.clerk_east)
    callback = _callback(application)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=w.agent)}"}
    with clock.frozen(at(2026, 3, 4, 9, 0)):
        listed = client.get("/api/v1/application-callbacks", **headers).json()
        assert [c["application"] for c in listed["items"]] == [application.number]
        assert listed["items"][0]["contact_phone"] != application.contact_phone  # masked
        url = f"/api/v1/application-callbacks/{callback.pk}/calls"
        bad = client.post(url, {"outcome": "maybe"}, content_type="application/json", **headers)
        assert bad.status_code == 422
        bad = client.post(
            url,
            {"outcome": "answered", "answers": {"bribery": "perhaps"}},
            content_type="application/json",
            **headers,
        )
        assert bad.status_code == 422
        body = {"outcome": "answered", "answers": ACCEPT_ANSWERS, "satisfaction": "satisfied", "version": 1}
        done = client.post(url, body, content_type="application/json", **headers)
        assert done.status_code == 200, done.json()
        assert done.json()["state"] == "done"
        stale = client.post(url, body, content_type="application/json", **headers)
        assert stale.status_code == 409 and stale.json()["code"] == "version_conflict"


def test_the_account_managers_application_tops_the_clerks_queue_and_the_green_channel(yk_world, client):
    w = yk_world
    with clock.frozen(at(2026, 3, 2, 9, 0)):
        first = accept(w.clerk_east, applicant_name="先来者")
    # 增容 for the account manager's own customer, handed in by them: 优先办理权.
    w.customer_east.account_manager = w.account_manager
    w.customer_east.save(update_fields=["account_manager"])
    with clock.frozen(at(2026, 3, 2, 10, 0)):
        handed_in, _ = services.accept_application(
            actor=w.account_manager,
            intake=intake(
                app_type="increase",
                applicant_name="张建国",
                customer=w.customer_east,
                handed_in_by_account_manager=True,
            ),
        )
    with clock.frozen(at(2026, 3, 2, 11, 0)):
        later = accept(w.clerk_east, applicant_name="后来者")
    clerk = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=w.clerk_east)}"}
    queue = client.get("/api/v1/applications?node=survey", **clerk).json()["items"]
    assert [a["number"] for a in queue][:1] == [handed_in.number]
    manager = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=w.account_manager)}"}
    mine = client.get("/api/v1/applications?my_customers=true", **manager).json()["items"]
    assert [a["number"] for a in mine] == [handed_in.number]
    # The green channel: a manager's decision with a reason; the clerk may not.
    url = f"/api/v1/applications/{later.number}/green-channel"
    refused = client.post(
        url, {"on": True, "reason": "重点招商项目"}, content_type="application/json", **clerk
    )
    assert refused.status_code == 403
    head = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=w.county_manager)}"}
    no_reason = client.post(url, {"on": True, "reason": ""}, content_type="application/json", **head)
    assert no_reason.status_code == 422
    opened = client.post(url, {"on": True, "reason": "重点招商项目"}, content_type="application/json", **head)
    assert opened.status_code == 200
    queue = client.get("/api/v1/applications?node=survey", **clerk).json()["items"]
    assert [a["number"] for a in queue] == [handed_in.number, later.number, first.number]
    assert ApplicationEvent.objects.filter(
        application=later, action="green_channel_on", note="重点招商项目"
    ).exists()


def test_the_callback_pages_from_the_work_list_to_the_closed_case(yk_world, auditor, client):
    w = yk_world
    with clock.frozen(at(2026, 3, 3, 16, 0)):
        application = accept(w.clerk_east)
    callback = _callback(application)
    with clock.frozen(at(2026, 3, 4, 9, 0)):
        client.force_login(w.agent)
        listed = client.get("/applications/callbacks/")
        assert listed.status_code == 200 and application.number in listed.content.decode()
        assert "13700001111" not in listed.content.decode()  # masked
        page = client.get(f"/applications/callbacks/{callback.pk}/")
        assert "吃、拿、卡、要" in page.content.decode()
        form = {f"q_{k}": v for k, v in (ACCEPT_ANSWERS | {"bribery": "yes"}).items()}
        partial = client.post(
            f"/applications/callbacks/{callback.pk}/",
            {"version": 1, "outcome": "answered", "q_bribery": "yes", "satisfaction": "satisfied"},
            follow=True,
        )
        assert "请逐项记录客户的回答" in partial.content.decode()
        done = client.post(
            f"/applications/callbacks/{callback.pk}/",
            {"version": 1, "outcome": "answered", "satisfaction": "dissatisfied", "note": "要求吃饭", **form},
            follow=True,
        )
        assert "发现问题线索：吃拿卡要" in done.content.decode()
        client.force_login(w.clerk_west)
        assert client.get(f"/applications/callbacks/{callback.pk}/").status_code == 404
    case = AuditCase.objects.get()
    client.force_login(auditor)
    assert case.number in client.get("/applications/audit-cases/").content.decode()
    closed = client.post(
        f"/applications/audit-cases/{case.number}/",
        {"version": case.version, "action": "close", "substantiated": "no", "conclusion": "经核实系误解"},
        follow=True,
    )
    assert "已办结" in closed.content.decode()
    case.refresh_from_db()
    assert (case.state, case.substantiated) == ("closed", False)
