"""The outages API: lookups, one outage, the verbs with the notice rule, scoping, errors."""

import pytest

from gridcare.notify.models import Message
from gridcare.org.services import issue_token
from gridcare.outages import services
from gridcare.outages.models import Outage, OutageKind

from .conftest import local


def auth(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=user)}"}


def post(client, url, body, user, **headers):
    return client.post(url, body, content_type="application/json", **auth(user), **headers)


@pytest.fixture
def fault(ow):
    return services.open_fault_outage(
        transformer_areas=["T03"], reason="台区变压器故障", started_at=local(2026, 11, 24, 8, 40), actor=None
    )


def test_is_my_power_out_by_account_number(ow, fault, client):
    response = client.get("/api/v1/outages?account_no=5100000011&when=fault", **auth(ow.agent))
    assert response.status_code == 200
    [row] = response.json()
    assert row["number"] == fault.number and row["kind"] == "fault" and row["state"] == "in_progress"
    assert row["reason"] == "台区变压器故障"
    assert row["status"] == "正在停电（11月24日08:40起），恢复时间待定"

    none = client.get("/api/v1/outages?account_no=5100000002&when=today", **auth(ow.agent))
    assert none.status_code == 200 and none.json() == []


def test_lookups_by_address_area_feeder(ow, fault, client):
    by_address = client.get("/api/v1/outages?address=东风路&when=today", **auth(ow.agent)).json()
    assert [(r["number"], r["matched_customers"]) for r in by_address] == [(fault.number, 3)]
    assert [r["number"] for r in client.get("/api/v1/outages?area=T03", **auth(ow.agent)).json()] == [
        fault.number
    ]
    assert [r["number"] for r in client.get("/api/v1/outages?feeder=F01", **auth(ow.agent)).json()] == [
        fault.number
    ]
    bad = client.get("/api/v1/outages?when=yesterday", **auth(ow.agent))
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_when"


def test_out_of_scope_is_404(ow, fault, client):
    assert client.get(f"/api/v1/outages/{fault.number}", **auth(ow.clerk_west)).status_code == 404
    response = client.get("/api/v1/outages?account_no=5100000010", **auth(ow.clerk_west))
    assert response.status_code == 404 and response.json()["code"] == "not_found"
    assert client.get("/api/v1/outages?when=fault", **auth(ow.clerk_west)).json() == []
    assert client.get("/api/v1/outages?when=fault").status_code == 401


def test_one_outage_with_scope_key_customers_and_notifications(ow, fault, client):
    data = client.get(f"/api/v1/outages/{fault.number}", **auth(ow.clerk_east)).json()
    assert data["transformer_areas"] == ["T03"]
    assert data["areas"] == [
        {"code": "T03", "name": "东风2号台区", "feeder": "F01", "station": "城东供电所", "customer_count": 3}
    ]
    assert [k["account_no"] for k in data["key_customers"]] == ["5100000010"]
    assert data["notifications"][0]["label"] == "停电通知" and data["notifications"][0]["total"] == 3
    assert data["customers_without_mobile"] == 1


def test_create_and_publish_with_the_notice_rule(ow, client):
    body = {
        "kind": "planned",
        "reason": "10kV东风线设备检修",
        "area_text": "东风路沿线",
        "planned_start": "2026-11-27T08:00:00+08:00",
        "planned_end": "2026-11-27T18:00:00+08:00",
        "feeders": ["F01"],
        "publish": True,
    }
    refused = post(client, "/api/v1/outages", body, ow.dispatcher)
    assert refused.status_code == 422
    assert refused.json()["code"] == "notice_too_short"
    assert refused.json()["required_hours"] == 168
    number = refused.json()["number"]  # the draft was kept
    assert Outage.objects.get(number=number).state == "draft"
    assert Message.objects.count() == 0

    published = post(
        client,
        f"/api/v1/outages/{number}/publish",
        {"override_reason": "上级调度指令，配合主网检修"},
        ow.dispatcher,
    )
    assert published.status_code == 200
    notice = published.json()["notice"]
    assert notice["override_reason"] == "上级调度指令，配合主网检修" and notice["override_by"] == "周调度"
    assert published.json()["state"] == "published"


def test_idempotency_key_returns_the_first_outage(ow, client):
    body = {
        "kind": "fault",
        "reason": "线路故障",
        "planned_start": "2026-11-24T08:30:00+08:00",
        "transformer_areas": ["T01"],
    }
    first = post(client, "/api/v1/outages", body, ow.dispatcher, HTTP_IDEMPOTENCY_KEY="storm-1")
    again = post(client, "/api/v1/outages", body, ow.dispatcher, HTTP_IDEMPOTENCY_KEY="storm-1")
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["number"] == again.json()["number"]
    assert Outage.objects.filter(kind=OutageKind.FAULT).count() == 1


def test_restore_and_the_actions_errors(ow, fault, client):
    restored = post(client, f"/api/v1/outages/{fault.number}/restore", {"note": "更换熔丝"}, ow.dispatcher)
    assert restored.status_code == 200 and restored.json()["state"] == "restored"
    assert [p["label"] for p in restored.json()["notifications"]] == ["停电通知", "恢复送电通知"]

    again = post(client, f"/api/v1/outages/{fault.number}/cancel", {"reason": "x"}, ow.dispatcher)
    assert again.status_code == 409 and again.json()["code"] == "illegal_transition"
    forbidden = post(client, f"/api/v1/outages/{fault.number}/restore", {}, ow.agent)
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "forbidden"
    hidden = post(client, f"/api/v1/outages/{fault.number}/restore", {}, ow.clerk_west)
    assert hidden.status_code == 404
    bad = post(
        client,
        "/api/v1/outages",
        {
            "kind": "planned",
            "reason": "x",
            "feeders": ["F99"],
            "planned_start": "2026-12-09T08:00:00+08:00",
            "planned_end": "2026-12-09T09:00:00+08:00",
        },
        ow.dispatcher,
    )
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_feeder"


def test_key_customer_call_and_scope_update(ow, fault, client):
    called = post(
        client,
        f"/api/v1/outages/{fault.number}/key-customer-calls",
        {"account_no": "5100000010", "note": "已电话告知医院总务科"},
        ow.dispatcher,
    )
    assert called.status_code == 200
    assert called.json()["key_customers"][0]["phoned_by"] == "周调度"
    grown = post(client, f"/api/v1/outages/{fault.number}/scope", {"feeders": ["F01"]}, ow.dispatcher)
    assert grown.status_code == 200 and grown.json()["customer_count"] == 4
