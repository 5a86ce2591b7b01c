"""Issue #17: the call-back list (回拨清单) — one entry per caller and day, closed by itself when the
caller got through later, worked by the agents of its unit (page and API), masked, the full
number only on an audited reveal."""

import datetime as dt

import pytest

from gridcare.core import clock
from gridcare.core.models import AuditLog
from gridcare.hotline import return_calls
from gridcare.hotline.models import Call, ReturnCall, ReturnCallEvent
from gridcare.org.models import Role
from gridcare.org.services import create_staff, issue_token

DAY = dt.datetime(2026, 12, 1, 9, 0, 0, tzinfo=clock.LOCAL_TZ)
CALLER = "13900001111"


def at(minutes: float) -> str:
    return (DAY + dt.timedelta(minutes=minutes)).isoformat()


def abandon(cti, call_id: str, minute: float, caller: str = CALLER) -> None:
    """A caller who waited a minute in the queue and hung up."""
    assert cti(call_id=call_id, event="queued", caller=caller, at=at(minute)).status_code == 200
    assert cti(call_id=call_id, event="abandoned", at=at(minute + 1)).status_code == 200


def answer(cti, call_id: str, minute: float, caller: str = CALLER) -> None:
    cti(call_id=call_id, event="queued", caller=caller, at=at(minute))
    assert cti(call_id=call_id, event="answered", agent="agent", at=at(minute + 0.5)).status_code == 200


@pytest.fixture
def api(client):
    def call(user, method, path, body=None):
        token = issue_token(user=user)
        send = client.post if method == "post" else client.get
        kwargs = {"content_type": "application/json"} if method == "post" else {}
        return send(
            f"/api/v1/calls/return-calls{path}", body or {}, HTTP_AUTHORIZATION=f"Bearer {token}", **kwargs
        )

    return call


@pytest.fixture
def agent_elsewhere(world):
    """An agent of another center: 山区县供电公司, outside the city's own unit."""
    return create_staff(
        username="agent_x2",
        password=world.password,
        full_name="山区座席",
        roles=[(Role.AGENT, world.county2)],
    )


def test_two_missed_calls_of_one_caller_on_one_day_are_one_entry(world, cti):
    abandon(cti, "m-1", 0)
    cti(call_id="m-2", event="queued", caller=CALLER, at=at(30))
    cti(call_id="m-2", event="ended", cause="no_agent", at=at(31))
    entry = ReturnCall.objects.get()
    assert entry.missed_count == 2 and entry.reason == "abandoned"  # the first call's reason
    assert entry.first_missed_at == DAY + dt.timedelta(minutes=1)
    assert entry.last_missed_at == DAY + dt.timedelta(minutes=31)
    assert set(entry.missed_calls.values_list("call_id", flat=True)) == {"m-1", "m-2"}
    assert list(entry.events.values_list("action", flat=True)) == ["listed", "joined"]
    # Another caller, and the same caller the next day, are entries of their own.
    abandon(cti, "m-3", 40, caller="13900002222")
    abandon(cti, "m-4", 24 * 60, caller=CALLER)
    assert ReturnCall.objects.count() == 3
    assert ReturnCall.objects.get(caller_number=CALLER, missed_date=dt.date(2026, 12, 2)).missed_count == 1


def test_a_later_answered_call_closes_the_open_entry(world, cti):
    abandon(cti, "c-1", 0)
    abandon(cti, "c-2", 10)
    answer(cti, "c-3", 60)
    entry = ReturnCall.objects.get()
    assert entry.state == "not_needed" and entry.close_reason == "客户已再次来电并接通"
    assert entry.closed_at is not None and entry.missed_count == 2 and entry.attempts == 0
    closing = entry.events.get(action="auto_close")
    assert closing.actor is None and closing.data["call_id"] == "c-3" and closing.to_state == "not_needed"
    # A call missed after that answer is a new open entry (the day's first one is closed).
    abandon(cti, "c-4", 120)
    assert ReturnCall.objects.filter(state="pending").get().missed_calls.get().call_id == "c-4"


def test_an_answer_before_the_missed_call_does_not_close_it(world, cti):
    answer(cti, "b-1", 0)
    abandon(cti, "b-2", 30)
    assert ReturnCall.objects.get().state == "pending"


def test_a_missed_call_reported_after_the_callers_later_answer_is_closed_at_once(world, cti):
    answer(cti, "late-2", 30)  # answered at 09:30:30
    abandon(cti, "late-1", 0)  # missed at 09:01, reported after
    entry = ReturnCall.objects.get()
    assert entry.state == "not_needed" and entry.close_reason == "客户已再次来电并接通"


def test_withheld_numbers_are_counted_but_not_listed(world, cti):
    abandon(cti, "w-1", 0, caller="anonymous")
    assert Call.objects.get().outcome == "abandoned" and not ReturnCall.objects.exists()


def test_agents_record_call_backs_through_the_api(world, cti, api):
    abandon(cti, "p-1", 0)
    entry = ReturnCall.objects.get()
    listed = api(world.agent, "get", "")
    assert listed.status_code == 200
    (row,) = listed.json()["items"]
    assert row["caller_masked"] == "139****1111" and CALLER not in listed.content.decode()
    assert row["state"] == "pending" and row["call_ids"] == ["p-1"] and row["unit"] == "测试市供电公司"
    tried = api(world.agent, "post", f"/{entry.pk}/result", {"result": "unreachable", "note": "无人接听"})
    assert tried.status_code == 200, tried.json()
    assert tried.json()["state"] == "unreachable" and tried.json()["attempts"] == 1
    assert tried.json()["called_back_by"] == "agent"
    assert api(world.agent, "get", "").json()["count"] == 1  # still open
    stale = api(world.agent, "post", f"/{entry.pk}/result", {"result": "called_back", "version": 1})
    assert stale.status_code == 409 and stale.json()["code"] == "version_conflict"
    done = api(world.agent, "post", f"/{entry.pk}/result", {"result": "called_back", "version": 2})
    assert done.status_code == 200, done.json()
    assert done.json()["state"] == "done" and done.json()["attempts"] == 2 and done.json()["closed_at"]
    again = api(world.agent, "post", f"/{entry.pk}/result", {"result": "unreachable"})
    assert again.status_code == 409 and again.json()["code"] == "return_call_closed"
    assert api(world.agent, "get", "").json()["count"] == 0
    assert api(world.agent, "get", "?state=done").json()["count"] == 1
    history = list(
        ReturnCallEvent.objects.filter(return_call=entry).values_list("action", "from_state", "to_state")
    )
    assert history == [
        ("listed", "", "pending"),
        ("unreachable", "pending", "unreachable"),
        ("called_back", "unreachable", "done"),
    ]


def test_not_needed_requires_a_reason(world, cti, api):
    abandon(cti, "p-2", 0)
    entry = ReturnCall.objects.get()
    refused = api(world.agent, "post", f"/{entry.pk}/result", {"result": "not_needed", "note": "  "})
    assert refused.status_code == 422 and refused.json()["code"] == "reason_required"
    assert ReturnCall.objects.get().state == "pending"
    closed = api(
        world.agent, "post", f"/{entry.pk}/result", {"result": "not_needed", "note": "客户已在网上国网办理"}
    )
    assert closed.json()["state"] == "not_needed" and closed.json()["close_reason"] == "客户已在网上国网办理"


def test_an_agent_of_another_unit_neither_sees_nor_updates_the_entry(
    world, cti, api, client, agent_elsewhere
):
    abandon(cti, "sc-1", 0)
    entry = ReturnCall.objects.get()
    assert api(agent_elsewhere, "get", "").json()["count"] == 0
    assert api(agent_elsewhere, "get", f"/{entry.pk}").status_code == 404
    update = api(agent_elsewhere, "post", f"/{entry.pk}/result", {"result": "called_back"})
    assert update.status_code == 404 and update.json()["code"] == "not_found"
    reveal = api(agent_elsewhere, "post", f"/{entry.pk}/caller-number")
    assert reveal.status_code == 404
    client.force_login(agent_elsewhere)
    assert "139****1111" not in client.get("/hotline/return-calls/").content.decode()
    assert (
        client.post(f"/hotline/return-calls/{entry.pk}/result/", {"action": "called_back"}).status_code == 404
    )
    assert client.post(f"/hotline/return-calls/{entry.pk}/number/").status_code == 404
    assert (
        ReturnCall.objects.get().state == "pending"
        and not AuditLog.objects.filter(action=AuditLog.Action.VIEW_SENSITIVE).exists()
    )


def test_roles_outside_the_hotline_are_refused(world, cti, api, client):
    abandon(cti, "sc-2", 0)
    refused = api(world.dispatcher, "get", "")
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden_role"
    client.force_login(world.dispatcher)
    assert client.get("/hotline/return-calls/").status_code == 403


def test_the_full_number_only_on_an_audited_reveal(world, cti, api):
    abandon(cti, "rv-1", 0)
    entry = ReturnCall.objects.get()
    one = api(world.agent, "get", f"/{entry.pk}")
    assert one.json()["caller_masked"] == "139****1111" and CALLER not in one.content.decode()
    assert not AuditLog.objects.filter(action=AuditLog.Action.VIEW_SENSITIVE).exists()
    revealed = api(world.agent, "post", f"/{entry.pk}/caller-number")
    assert revealed.status_code == 200 and revealed.json() == {"caller_number": CALLER}
    audit = AuditLog.objects.get(action=AuditLog.Action.VIEW_SENSITIVE)
    assert audit.object_type == "hotline.returncall" and audit.object_id == str(entry.pk)
    assert audit.detail == {"fields": ["caller_number"]} and CALLER not in audit.object_repr


def test_the_agent_page_lists_and_records_with_htmx(world, cti, client):
    abandon(cti, "pg-1", 0)
    abandon(cti, "pg-2", 5)
    entry = ReturnCall.objects.get()
    client.force_login(world.agent)
    workspace = client.get("/hotline/").content.decode()
    assert 'id="return-calls-link"' in workspace
    page = client.get("/hotline/return-calls/").content.decode()
    assert "回拨清单" in page and "139****1111" in page and CALLER not in page
    assert f'id="return-call-{entry.pk}"' in page and "待回拨" in page and ">2<" in page
    row = client.post(
        f"/hotline/return-calls/{entry.pk}/result/",
        {"action": "unreachable", "note": "关机", "version": entry.version},
        HTTP_HX_REQUEST="true",
    )
    html = row.content.decode()
    assert row.status_code == 200 and "回拨未接通" in html and "王座席" in html and "关机" in html
    refused = client.post(
        f"/hotline/return-calls/{entry.pk}/result/",
        {"action": "not_needed", "note": ""},
        HTTP_HX_REQUEST="true",
    )
    assert refused.status_code == 422 and "请填写无需回拨的原因" in refused.content.decode()
    done = client.post(
        f"/hotline/return-calls/{entry.pk}/result/", {"action": "called_back"}, HTTP_HX_REQUEST="true"
    )
    assert "已回拨" in done.content.decode() and "已处理" in done.content.decode()
    assert ReturnCall.objects.get().state == "done"
    assert "139****1111" not in client.get("/hotline/return-calls/").content.decode()  # closed: off the list
    number = client.post(f"/hotline/return-calls/{entry.pk}/number/", HTTP_HX_REQUEST="true").content.decode()
    assert CALLER in number and "审计日志" in number
    assert (
        AuditLog.objects.filter(action=AuditLog.Action.VIEW_SENSITIVE, object_id=str(entry.pk)).count() == 1
    )


def test_perform_refuses_an_unknown_action(world, cti):
    abandon(cti, "ua-1", 0)
    from gridcare.core.api_errors import ApiError

    with pytest.raises(ApiError) as err:
        return_calls.perform(entry=ReturnCall.objects.get(), action="auto_close", actor=world.agent)
    assert err.value.code == "forbidden_role"
    with pytest.raises(ApiError) as err:
        return_calls.perform(entry=ReturnCall.objects.get(), action="dance", actor=world.agent)
    assert err.value.code == "unknown_action"


def test_the_list_reads_a_fixed_number_of_queries_however_long(world, cti, client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    token = issue_token(user=world.agent)

    def queries_for_list() -> int:
        with CaptureQueriesContext(connection) as captured:
            listed = client.get("/api/v1/calls/return-calls", HTTP_AUTHORIZATION=f"Bearer {token}")
        assert listed.status_code == 200
        client.force_login(world.agent)
        with CaptureQueriesContext(connection) as page:
            assert client.get("/hotline/return-calls/").status_code == 200
        client.logout()
        # The list's own reads (authentication and sessions are cached differently run to run).
        return sum("hotline_" in q["sql"] for q in [*captured.captured_queries, *page.captured_queries])

    abandon(cti, "q-1", 0, caller="13900000001")
    one = queries_for_list()
    for i in range(2, 6):
        abandon(cti, f"q-{i}", i * 10, caller=f"1390000000{i}")
    assert ReturnCall.objects.count() == 5
    assert one == 5 and queries_for_list() == one  # API: count, rows, their calls; page: rows, their calls
