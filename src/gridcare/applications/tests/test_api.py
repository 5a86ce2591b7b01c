"""/api/v1/applications: create with Idempotency-Key, list and read in scope, act on a node, the
progress answer; errors {code, message}, never 500."""

from __future__ import annotations

import pytest

from gridcare.applications.models import Application
from gridcare.core import clock
from gridcare.org.services import issue_token

from .helpers import at

BODY = {
    "app_type": "new",
    "applicant_name": "陈光明",
    "id_type": "resident_id",
    "id_number": "520102198503031234",
    "address": "城关镇东风路20号3单元",
    "contact_name": "陈光明",
    "contact_phone": "13700001111",
    "usage_class": "large_industry",
    "requested_kva": "630",
    "industry": "金属制品业",
    "equipment": [{"name": "数控机床", "kw": "75", "phase": 3, "voltage": "380V", "count": 4}],
    "documents": [{"kind": "identity", "via_shared_data": True}, {"kind": "business_license"}],
}


@pytest.fixture
def api(yk_world, client):
    def headers(user):
        return {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=user)}"}

    return headers


def post(client, url, body, headers, **extra):
    return client.post(url, body, content_type="application/json", **headers, **extra)


def test_create_is_idempotent(yk_world, client, api):
    east = api(yk_world.clerk_east)
    first = post(client, "/api/v1/applications", BODY, east, HTTP_IDEMPOTENCY_KEY="yk-1")
    again = post(client, "/api/v1/applications", BODY, east, HTTP_IDEMPOTENCY_KEY="yk-1")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["number"] == again.json()["number"]
    assert Application.objects.count() == 1
    other = post(
        client, "/api/v1/applications", {**BODY, "requested_kva": "800"}, east, HTTP_IDEMPOTENCY_KEY="yk-1"
    )
    assert (other.status_code, other.json()["code"]) == (422, "idempotency_key_reused")
    answer = first.json()
    assert answer["voltage"] == "kv10" and answer["category"] == "hv"
    assert [n["node"] for n in answer["nodes"]][:3] == ["accept", "survey", "plan_reply"]
    assert {(d["kind"], d["via_shared_data"]) for d in answer["documents"]} == {
        ("identity", True),
        ("business_license", False),
    }
    # Personal data answered masked.
    assert answer["contact_phone_masked"] == "137****1111"
    assert answer["id_number_masked"] == "520102********1234"
    assert answer["address_masked"] != BODY["address"] and "陈光明" not in str(answer)


def test_a_clerk_of_another_station_gets_404(yk_world, client, api):
    created = post(client, "/api/v1/applications", BODY, api(yk_world.clerk_east)).json()
    number = created["number"]
    west = api(yk_world.clerk_west)
    for url in (f"/api/v1/applications/{number}", f"/api/v1/applications/{number}/progress"):
        answer = client.get(url, **west)
        assert (answer.status_code, answer.json()["code"]) == (404, "not_found")
    acted = post(client, f"/api/v1/applications/{number}/nodes/survey/actions/finish", {}, west)
    assert (acted.status_code, acted.json()["code"]) == (404, "not_found")
    assert client.get("/api/v1/applications", **west).json()["items"] == []
    listed = client.get("/api/v1/applications", **api(yk_world.clerk_east)).json()
    assert [a["number"] for a in listed["items"]] == [number]
    # The county's account manager (above the station) sees it.
    assert client.get(f"/api/v1/applications/{number}", **api(yk_world.account_manager)).status_code == 200


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"app_type": "solar_farm"}, 422, "invalid_input"),
        ({"requested_kva": "-5"}, 422, "invalid_input"),
        ({"contact_phone": "12345"}, 422, "invalid_input"),
        ({"contact_phone": " "}, 422, "invalid_input"),
        ({"applicant_name": ""}, 422, "invalid_input"),
        ({"requested_kva": "8", "supply": "dual"}, 422, "invalid_supply"),
        ({"account_no": "9999999999"}, 404, "not_found"),
        ({"supply_unit": "S02"}, 422, "invalid_unit"),
        ({"documents": [{"kind": "passport_photo"}]}, 422, "invalid_input"),
    ],
)
def test_bad_input_is_answered_with_a_code(yk_world, client, api, change, status, code):
    answer = post(client, "/api/v1/applications", {**BODY, **change}, api(yk_world.clerk_east))
    assert answer.status_code == status, answer.content
    assert answer.json()["code"] == code and answer.json()["message"]
    assert Application.objects.count() == 0


def test_node_actions_and_their_errors(yk_world, client, api):
    w = yk_world
    number = post(client, "/api/v1/applications", BODY, api(w.clerk_east)).json()["number"]
    base = f"/api/v1/applications/{number}/nodes"
    am = api(w.account_manager)
    missing = post(client, f"{base}/survey/actions/finish", {"version": 1}, am)
    assert (missing.status_code, missing.json()["code"]) == (409, "survey_missing")
    surveyed = post(
        client,
        f"/api/v1/applications/{number}/survey",
        {"version": 1, "possible": True, "voltage": "kv10", "approved_kva": "630"},
        am,
    )
    assert surveyed.status_code == 200 and surveyed.json()["version"] == 2
    done = post(client, f"{base}/survey/actions/finish", {"version": 2}, am)
    assert done.status_code == 200 and done.json()["current_node"] == "plan_reply"
    unchosen = post(client, f"{base}/plan_reply/actions/finish", {"version": 3}, am)
    assert (unchosen.status_code, unchosen.json()["code"]) == (409, "plan_not_chosen")
    stale = post(client, f"{base}/plan_reply/actions/finish", {"version": 1}, am)
    assert (stale.status_code, stale.json()["code"]) == (409, "version_conflict")
    no_reason = post(client, f"{base}/plan_reply/actions/wait", {}, am)
    assert (no_reason.status_code, no_reason.json()["code"]) == (422, "reason_required")
    bad_reason = post(client, f"{base}/plan_reply/actions/wait", {"reason": "rain"}, am)
    assert (bad_reason.status_code, bad_reason.json()["code"]) == (422, "invalid_input")
    unknown = post(client, f"{base}/plan_reply/actions/approve", {}, am)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_action")
    not_a_node = post(client, f"{base}/switchgear/actions/finish", {}, am)
    assert (not_a_node.status_code, not_a_node.json()["code"]) == (404, "unknown_node")
    cancel = post(client, f"/api/v1/applications/{number}/actions/cancel", {"note": "客户撤回"}, am)
    assert cancel.status_code == 200 and cancel.json()["state"] == "cancelled"
    closed = post(client, f"{base}/plan_reply/actions/finish", {}, am)
    assert (closed.status_code, closed.json()["code"]) == (409, "application_closed")


def test_the_progress_answer(yk_world, client, api):
    w = yk_world
    with clock.frozen(at(2026, 3, 2, 9, 0)):
        number = post(client, "/api/v1/applications", BODY, api(w.clerk_east)).json()["number"]
    progress = client.get(f"/api/v1/applications/{number}/progress", **api(w.clerk_east)).json()
    assert progress["current_node"] == "survey" and progress["current_owner_unit"] == "城关县供电公司"
    assert progress["customer_action_needed"] is False
    assert progress["promised_by"] == "2026-04-01T09:00:00+08:00"  # 22 working days
    plan = next(n for n in progress["nodes"] if n["node"] == "plan_reply")
    assert (plan["due_at"], plan["limit_days"], plan["state"]) == ("2026-03-23T09:00:00+08:00", 15, "pending")

    am = api(w.account_manager)
    base = f"/api/v1/applications/{number}/nodes"
    with clock.frozen(at(2026, 3, 3, 9, 0)):
        url = f"/api/v1/applications/{number}"
        post(client, f"{url}/survey", {"possible": True, "voltage": "kv10", "approved_kva": "630"}, am)
        post(client, f"{base}/survey/actions/finish", {}, am)
        for label in ("方案一", "方案二"):
            option = {
                "label": label,
                "source": "城关110kV变电站",
                "voltage": "kv10",
                "property_boundary": "客户进线电缆头",
                "metering": "hv_hv",
                "cost_yuan": "350000",
                "construction_days": 45,
            }
            records = post(client, f"{url}/plan-options", option, am).json()
        chosen = records["plan_options"][1]["id"]
        post(
            client,
            f"{url}/plan-options/{chosen}/choose",
            {"signed_by": "陈光明", "signed_via": "on_site"},
            am,
        )
        post(client, f"{base}/plan_reply/actions/finish", {}, am)
        progress = client.get(f"/api/v1/applications/{number}/progress", **am).json()
    # The design review waits for the customer's drawings: the customer is told what to do.
    assert progress["current_node"] == "design_review" and progress["current_due_at"] is None
    assert progress["customer_action_needed"] is True
    assert progress["customer_action"] == "请提交受电工程设计文件送审"

    with clock.frozen(at(2026, 3, 4, 9, 0)):
        post(client, f"{base}/design_review/actions/start", {}, am)
        post(
            client,
            f"{base}/design_review/actions/wait",
            {"reason": "documents_missing", "note": "缺少负荷计算书"},
            am,
        )
        progress = client.get(f"/api/v1/applications/{number}/progress", **am).json()
    assert progress["customer_action"] == "客户资料不全：缺少负荷计算书"
    assert progress["waits"] == [
        {
            "node": "design_review",
            "reason": "documents_missing",
            "reason_label": "客户资料不全",
            "note": "缺少负荷计算书",
            "since": "2026-03-04T09:00:00+08:00",
        }
    ]
    review = next(n for n in progress["nodes"] if n["node"] == "design_review")
    assert review["paused"] is True and review["due_at"] == "2026-03-18T09:00:00+08:00"


def test_the_openapi_document_lists_the_routes(client):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert {
        "/api/v1/applications",
        "/api/v1/applications/{number}",
        "/api/v1/applications/{number}/progress",
        "/api/v1/applications/{number}/nodes/{node}/actions/{action}",
        "/api/v1/applications/{number}/actions/{action}",
    } <= set(paths)
    for operations in (paths[p] for p in paths if p.startswith("/api/v1/applications")):
        for operation in operations.values():
            assert {"400", "401", "404", "422"} <= set(operation["responses"])


def test_the_list_reads_a_fixed_number_of_queries(yk_world, client, api):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    east = api(yk_world.clerk_east)
    post(client, "/api/v1/applications", BODY, east)

    def count():
        with CaptureQueriesContext(connection) as queries:
            answer = client.get("/api/v1/applications", **east)
        assert answer.status_code == 200
        return len(queries), answer.json()["count"]

    few = count()
    for _ in range(4):
        post(
            client, "/api/v1/applications", {**BODY, "requested_kva": "8", "usage_class": "residential"}, east
        )
    many = count()
    assert (few[1], many[1]) == (1, 5) and many[0] == few[0]
