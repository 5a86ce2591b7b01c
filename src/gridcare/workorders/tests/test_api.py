"""The work-order API: intake with Idempotency-Key, actions, history, scoping, errors."""

import pytest

from gridcare.core.testing import in_calling_hours
from gridcare.org.services import issue_token
from gridcare.workorders.models import WorkOrder


@pytest.fixture
def agent_api(wo_world, client):
    token = issue_token(user=wo_world.agent)
    return lambda: {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def post(client, url, body, **headers):
    return client.post(url, body, content_type="application/json", **headers)


def test_create_with_idempotency_key_returns_the_first_order(wo_world, client, agent_api):
    body = {"order_type": "fault_repair", "account_no": "5100000001", "content": "整栋楼停电"}
    first = post(client, "/api/v1/work-orders", body, HTTP_IDEMPOTENCY_KEY="call-1", **agent_api())
    again = post(client, "/api/v1/work-orders", body, HTTP_IDEMPOTENCY_KEY="call-1", **agent_api())
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["number"] == again.json()["number"]
    assert WorkOrder.objects.count() == 1
    assert {d["milestone"] for d in first.json()["deadlines"]} == {"dispatch", "arrive"}


def _without_clock(answer: dict) -> dict:
    return {**answer, "deadlines": [{**d, "seconds_left": None} for d in answer["deadlines"]]}


def test_a_retry_answers_the_order_as_it_now_stands(wo_world, client, agent_api):
    """A retry is answered by one prebuilt statement: the same fields as the first answer, with
    a caller who is no customer, and with the unit and person the order went to since."""
    w = wo_world
    known = {
        "order_type": "complaint",
        "account_no": "5100000001",
        "content": "抄表不准",
        "complaint_class": "service",
    }
    unknown = {
        "order_type": "consultation",
        "caller_phone": "13900001111",
        "address": "城东路1号",
        "content": "电价咨询",
    }
    for key, body in (("k-known", known), ("k-unknown", unknown)):
        first = post(client, "/api/v1/work-orders", body, HTTP_IDEMPOTENCY_KEY=key, **agent_api())
        again = post(client, "/api/v1/work-orders", body, HTTP_IDEMPOTENCY_KEY=key, **agent_api())
        assert (first.status_code, again.status_code) == (201, 200)
        assert _without_clock(again.json()) == _without_clock(first.json())
        assert first.json()["deadlines"]
        # The intake writes its answer itself: the same document as reading the order back.
        number = first.json()["number"]
        read_response = client.get(f"/api/v1/work-orders/{number}", **agent_api())
        read = read_response.json()
        assert _without_clock(read) == _without_clock(first.json())
        assert first.json()["created_at"].endswith("+08:00")
        assert first["Content-Type"] == read_response["Content-Type"] == "application/json; charset=utf-8"
        assert all(d["due_at"].endswith("+08:00") for d in first.json()["deadlines"])
    assert again.json()["account_no"] is None and again.json()["assigned_unit"] is None

    order = WorkOrder.objects.get(idempotency_key__endswith=":k-known")
    WorkOrder.objects.filter(pk=order.pk).update(assigned_unit=w.east, assignee=w.station_head)
    again = post(client, "/api/v1/work-orders", known, HTTP_IDEMPOTENCY_KEY="k-known", **agent_api()).json()
    assert again["account_no"] == "5100000001"
    assert (again["assigned_unit"], again["assignee"]) == (w.east.name, "何所长")
    assert [d["milestone"] for d in again["deadlines"]] == [
        d.milestone for d in order.deadlines.order_by("due_at")
    ]


def test_bad_input_is_4xx_and_writes_nothing(wo_world, client, agent_api):
    cases = [
        ({"order_type": "nonsense", "content": "x", "account_no": "5100000001"}, 422, "invalid_input"),
        ({"order_type": "complaint", "content": ""}, 422, "invalid_input"),
        ({"order_type": "complaint", "content": "态度差"}, 422, "caller_required"),
        ({"order_type": "complaint", "content": "态度差", "account_no": "0000000000"}, 404, "not_found"),
    ]
    for body, status, code in cases:
        response = post(client, "/api/v1/work-orders", body, **agent_api())
        assert response.status_code == status, body
        assert response.json()["code"] == code
    assert WorkOrder.objects.count() == 0


def test_actions_history_and_conflicts(wo_world, client, agent_api):
    w = wo_world
    created = post(
        client,
        "/api/v1/work-orders",
        {
            "order_type": "complaint",
            "account_no": "5100000001",
            "content": "营业员态度差",
            "complaint_class": "service",
        },
        **agent_api(),
    ).json()
    number, version = created["number"], created["version"]
    dispatched = post(
        client,
        f"/api/v1/work-orders/{number}/actions/dispatch",
        {"unit": str(w.east.pk), "version": version},
        **agent_api(),
    )
    assert dispatched.status_code == 200 and dispatched.json()["state"] == "dispatched"
    stale = post(
        client,
        f"/api/v1/work-orders/{number}/actions/cancel",
        {"version": version, "note": "撤回"},
        **agent_api(),
    )
    assert stale.status_code == 409 and stale.json()["code"] == "version_conflict"
    illegal = post(client, f"/api/v1/work-orders/{number}/actions/archive", {}, **agent_api())
    assert illegal.status_code == 409 and illegal.json()["code"] == "illegal_transition"
    unknown = post(client, f"/api/v1/work-orders/{number}/actions/teleport", {}, **agent_api())
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_action"
    history = client.get(f"/api/v1/work-orders/{number}/history", **agent_api()).json()
    assert [e["action"] for e in history] == ["accept", "dispatch"]
    assert history[1]["actor"] == "王座席"


def test_four_items_enforced_through_the_api(wo_world, client):
    w = wo_world
    leader = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=w.leader)}"}
    clerk = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=w.clerk_east)}"}
    number = post(
        client,
        "/api/v1/work-orders",
        {
            "order_type": "complaint",
            "account_no": "5100000001",
            "content": "抄表错误",
            "complaint_class": "business",
        },
        **leader,
    ).json()["number"]
    url = f"/api/v1/work-orders/{number}/actions/"
    post(client, url + "dispatch", {"unit": "S01"}, **leader)
    post(client, url + "take", {}, **clerk)
    post(client, url + "reply", {"reply": "已更正电量", "at_fault": False}, **clerk)
    post(client, url + "review", {}, **leader)
    with in_calling_hours():
        post(client, url + "callback", {"satisfaction": "satisfied"}, **leader)
    refused = post(client, url + "archive", {}, **leader)
    assert refused.status_code == 409 and refused.json()["code"] == "complaint_items_incomplete"
    post(
        client,
        url + "complaint_items",
        {
            "problem_solved": "已退补",
            "cause_analysis": "抄表员误抄",
            "preventive_measures": "推广远程抄表",
            "accountability": "抄表员考核",
        },
        **clerk,
    )
    assert post(client, url + "archive", {}, **leader).json()["state"] == "archived"


def test_other_station_cannot_see_or_act(wo_world, client, agent_api):
    w = wo_world
    number = post(
        client,
        "/api/v1/work-orders",
        {"order_type": "fault_repair", "account_no": "5100000001", "content": "没电"},
        **agent_api(),
    ).json()["number"]
    post(client, f"/api/v1/work-orders/{number}/actions/dispatch", {"unit": "S01"}, **agent_api())
    west = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=w.clerk_west)}"}
    assert client.get(f"/api/v1/work-orders/{number}", **west).status_code == 404
    assert post(client, f"/api/v1/work-orders/{number}/actions/take", {}, **west).status_code == 404
    assert client.get("/api/v1/work-orders", **west).json()["count"] == 0
    east = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=w.clerk_east)}"}
    assert client.get("/api/v1/work-orders", **east).json()["count"] == 1


def test_list_what_i_accepted(wo_world, client, agent_api):
    body = {
        "order_type": "complaint",
        "account_no": "5100000001",
        "content": "态度差",
        "complaint_class": "service",
    }
    mine = post(client, "/api/v1/work-orders", body, **agent_api()).json()["number"]
    leader = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=wo_world.leader)}"}
    theirs = post(client, "/api/v1/work-orders", body, **leader).json()["number"]
    listed = client.get("/api/v1/work-orders", {"accepted": "true"}, **agent_api()).json()
    numbers = [o["number"] for o in (listed["items"] if isinstance(listed, dict) else listed)]
    assert mine in numbers and theirs not in numbers


def test_an_idempotency_key_too_long_to_store_is_refused_not_a_server_error(wo_world, client, agent_api):
    body = {
        "order_type": "complaint",
        "account_no": "5100000001",
        "content": "态度差",
        "complaint_class": "service",
    }
    longest = post(client, "/api/v1/work-orders", body, HTTP_IDEMPOTENCY_KEY="k" * 60, **agent_api())
    assert longest.status_code == 201
    again = post(client, "/api/v1/work-orders", body, HTTP_IDEMPOTENCY_KEY="k" * 60, **agent_api())
    assert again.status_code == 200 and again.json()["number"] == longest.json()["number"]
    too_long = post(client, "/api/v1/work-orders", body, HTTP_IDEMPOTENCY_KEY="k" * 79, **agent_api())
    assert too_long.status_code == 400 and too_long.json()["code"] == "invalid_idempotency_key"
    assert WorkOrder.objects.count() == 1


def test_orders_are_sent_to_a_handling_unit_not_to_a_city_company(wo_world, client, agent_api):
    body = {
        "order_type": "complaint",
        "account_no": "5100000001",
        "content": "态度差",
        "complaint_class": "service",
    }
    number = post(client, "/api/v1/work-orders", body, **agent_api()).json()["number"]
    refused = post(
        client,
        f"/api/v1/work-orders/{number}/actions/dispatch",
        {"version": 1, "unit": wo_world.city.code},
        **agent_api(),
    )
    assert refused.status_code == 422 and refused.json()["code"] == "invalid_unit"
    sent = post(
        client,
        f"/api/v1/work-orders/{number}/actions/dispatch",
        {"version": 1, "unit": wo_world.east.code},
        **agent_api(),
    )
    assert sent.status_code == 200 and sent.json()["state"] == "dispatched"
