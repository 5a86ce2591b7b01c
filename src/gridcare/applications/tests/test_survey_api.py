"""The survey, plan and acceptance records over the API, as a clerk would click through them: the
choice only while the plan reply is under way, a failed inspection holding only its own node while
another node's clock runs on, rectified by the inspection's id (once), 10 kV routing, and every
address answering 404 out of scope."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gridcare.applications import services
from gridcare.applications.models import (
    Application,
    ApplicationNode,
    ClockStart,
    NodeState,
    PathNode,
)
from gridcare.core import clock
from gridcare.org.models import Unit
from gridcare.org.services import create_unit, issue_token

from .helpers import accept, at, record_for

URL = "/api/v1/applications"
OPTION = {
    "label": "方案一",
    "source": "城关110kV变电站 10kV东风线",
    "voltage": "kv10",
    "property_boundary": "东风线17号杆T接点",
    "metering": "hv_hv",
    "cost_yuan": "186000",
    "construction_days": 45,
}


@pytest.fixture
def api(yk_world):
    def headers(user):
        return {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=user)}"}

    return headers


def post(client, url, body, headers):
    return client.post(url, body, content_type="application/json", **headers)


def _node(application, kind):
    return ApplicationNode.objects.get(application=application, kind=kind)


def _hv(w, kva="630"):
    return accept(w.clerk_east, requested_kva=Decimal(kva), usage_class="large_industry")


def test_the_customer_chooses_only_while_the_plan_reply_is_under_way(yk_world, client, api):
    w = yk_world
    application = _hv(w)
    am = api(w.account_manager)
    base = f"{URL}/{application.number}"
    surveyed = post(
        client, f"{base}/survey", {"possible": True, "voltage": "kv10", "approved_kva": "630"}, am
    )
    assert surveyed.status_code == 200, surveyed.content
    assert client.get(f"{base}/survey", **am).json()["survey"]["approved_kva"] == "630.0"
    first = post(client, f"{base}/plan-options", OPTION, am).json()["plan_options"][0]["id"]
    second = post(client, f"{base}/plan-options", {**OPTION, "label": "方案二", "cost_yuan": "420000"}, am)
    other = second.json()["plan_options"][1]["id"]

    signed = {"signed_by": "陈光明", "signed_via": "on_site"}
    early = post(client, f"{base}/plan-options/{first}/choose", signed, am)  # the survey is still open
    assert (early.status_code, early.json()["code"]) == (409, "illegal_transition")
    services.act_on_node(application=application, node="survey", action="finish", actor=w.account_manager)

    # While the plan reply waits for the customer, no choice is recorded either.
    services.act_on_node(
        application=application, node="plan_reply", action="wait", actor=w.account_manager,
        reason="customer_pause",
    )  # fmt: skip
    waiting = post(client, f"{base}/plan-options/{first}/choose", signed, am)
    assert (waiting.status_code, waiting.json()["code"]) == (409, "illegal_transition")
    services.act_on_node(application=application, node="plan_reply", action="resume", actor=w.account_manager)

    chosen = post(client, f"{base}/plan-options/{first}/choose", signed, am).json()
    switched = post(
        client, f"{base}/plan-options/{other}/choose", {**signed, "signed_via": "online"}, am
    ).json()
    assert [o["chosen"] for o in chosen["plan_options"]] == [True, False]
    assert [(o["chosen"], o["signed_via"]) for o in switched["plan_options"]] == [
        (False, ""),
        (True, "online"),
    ]
    assert switched["plan_options"][1]["signed_by"] not in ("", "陈光明")  # the customer's name, masked
    unknown = post(client, f"{base}/plan-options/999999/choose", signed, am)
    assert (unknown.status_code, unknown.json()["code"]) == (404, "not_found")


def _at_mid_inspection(w):
    """An HV application at 中间检查 (the customer's request recorded on Monday 9 March), while the
    completion inspection — set here to count from acceptance — runs a clock of its own."""
    PathNode.objects.filter(path__name="高压单电源新装增容", kind="completion_inspection").update(
        clock_starts=ClockStart.ACCEPTED
    )
    with clock.frozen(at(2026, 3, 2, 9, 0)):
        application = _hv(w)
    am = w.account_manager
    for kind, day in (("survey", 3), ("plan_reply", 4)):
        with clock.frozen(at(2026, 3, day, 9, 0)):
            record_for(application, kind, am)
            services.act_on_node(application=application, node=kind, action="finish", actor=am)
    for kind, action, day in (
        ("design_review", "start", 5),
        ("design_review", "finish", 6),
        ("mid_inspection", "start", 9),
    ):
        with clock.frozen(at(2026, 3, day, 9, 0)):
            services.act_on_node(application=application, node=kind, action=action, actor=am)
    return Application.objects.get(pk=application.pk)


def test_a_failed_inspection_stops_only_its_node_while_another_clock_runs_on(yk_world, client, api):
    w = yk_world
    application = _at_mid_inspection(w)
    am = api(w.account_manager)
    base = f"{URL}/{application.number}"
    other_before = _node(application, "completion_inspection")
    assert other_before.clock_running and other_before.due_at is not None

    with clock.frozen(at(2026, 3, 10, 10, 0)):
        failed = post(
            client,
            f"{base}/inspections",
            {"node": "mid_inspection", "passed": False, "defects": ["接地电阻超标"], "rectify_days": 10},
            am,
        )
    assert failed.status_code == 200, failed.content
    inspection = failed.json()["inspections"][0]
    assert (inspection["result"], inspection["rectify_by"]) == ("failed", "2026-03-20")
    mid = _node(application, "mid_inspection")
    assert mid.state == NodeState.WAITING and mid.paused_at is not None
    other = _node(application, "completion_inspection")
    assert other.clock_running and other.due_at == other_before.due_at  # its clock runs on

    # Rectified on Monday 16 March (11, 12, 13 and 16 March lost), named by the inspection's id.
    with clock.frozen(at(2026, 3, 16, 10, 0)):
        done = post(client, f"{base}/inspections/{inspection['id']}/rectified", {}, am)
    assert done.status_code == 200, done.content
    assert done.json()["inspections"][0]["rectified_at"].startswith("2026-03-16")
    mid = _node(application, "mid_inspection")
    assert mid.state == NodeState.OPEN and clock.local(mid.due_at) == at(2026, 3, 20, 9, 0)
    assert _node(application, "completion_inspection").due_at == other_before.due_at
    twice = post(client, f"{base}/inspections/{inspection['id']}/rectified", {}, am)
    assert (twice.status_code, twice.json()["code"]) == (409, "illegal_transition")
    missing = post(client, f"{base}/inspections/999999/rectified", {}, am)
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")

    refused = post(client, f"{base}/nodes/mid_inspection/actions/finish", {}, am)
    assert (refused.status_code, refused.json()["code"]) == (409, "inspection_not_passed")
    with clock.frozen(at(2026, 3, 17, 9, 0)):
        again = post(client, f"{base}/inspections", {"node": "mid_inspection", "passed": True}, am).json()
        assert [(i["round"], i["result"]) for i in again["inspections"]] == [(1, "failed"), (2, "passed")]
        finished = post(client, f"{base}/nodes/mid_inspection/actions/finish", {}, am)
    assert finished.status_code == 200 and finished.json()["current_node"] == "completion_inspection"


def test_ten_kilovolt_works_are_accepted_by_the_county_with_its_departments(yk_world, client, api):
    w = yk_world
    center = create_unit(
        name="城关县客户服务中心", code="X01K", kind=Unit.Kind.DEPARTMENT, parent=w.county,
        function=Unit.Function.CUSTOMER_SERVICE,
    )  # fmt: skip
    application = _hv(w, "200")
    answer = client.get(f"{URL}/{application.number}/survey", **api(w.clerk_east)).json()
    assert application.voltage == "kv10"
    assert answer["acceptance"]["unit"] == center.name
    assert {"运维检修部", "调度控制中心", "电能计量组"} <= set(answer["acceptance"]["departments"])
    small = accept(w.clerk_east, requested_kva=Decimal("49"), usage_class="general_industry")
    assert (
        client.get(f"{URL}/{small.number}/survey", **api(w.clerk_east)).json()["acceptance"]["unit"]
        == "城东供电所"
    )


def test_every_address_is_404_out_of_scope(yk_world, client, api):
    w = yk_world
    application = accept(w.clerk_east)
    record_for(application, "survey", w.clerk_east)
    version = Application.objects.get(pk=application.pk).version
    west = api(w.clerk_west)
    base = f"{URL}/{application.number}"
    for url in (f"{base}/survey", f"{base}/records"):
        answer = client.get(url, **west)
        assert (answer.status_code, answer.json()["code"]) == (404, "not_found"), url
    meters = [{"asset_no": "1", "registers": [{"name": "总", "reading": "0"}]}]
    for url, body in (
        (f"{base}/survey", {"possible": True, "voltage": "lv", "approved_kva": "8"}),
        (f"{base}/plan-options", {**OPTION, "voltage": "lv", "metering": "lv_lv"}),
        (f"{base}/plan-options/1/choose", {"signed_by": "陈光明", "signed_via": "on_site"}),
        (f"{base}/inspections", {"node": "mid_inspection", "passed": True}),
        (f"{base}/inspections/1/rectified", {}),
        (f"{base}/inspections/mid_inspection/rectified", {}),
        (f"{base}/energization", {"meters": meters, "crew": "城西装接班"}),
    ):
        answer = post(client, url, body, west)
        assert (answer.status_code, answer.json()["code"]) == (404, "not_found"), url
    assert Application.objects.get(pk=application.pk).version == version  # nothing written


def test_high_voltage_energization_records_the_transformer_ratios(yk_world, client, api):
    w = yk_world
    application = _at_mid_inspection(w)
    am = w.account_manager
    for kind in ("mid_inspection", "completion_inspection"):
        record_for(application, kind, am)
        services.act_on_node(application=application, node=kind, action="finish", actor=am)
    services.act_on_node(application=application, node="energize", action="start", actor=w.clerk_east)
    metering = api(w.metering_county)
    url = f"{URL}/{application.number}/energization"
    meters = [{"asset_no": "3330009000001", "registers": [{"name": "正向有功总", "reading": "0"}]}]
    for bad in (
        {"meters": meters, "crew": "计量班"},  # no CT ratio
        {"meters": meters, "crew": "计量班", "ct_ratio": "200:5", "pt_ratio": "10000/100"},
        {"meters": meters, "crew": "计量班", "ct_ratio": "200/5"},  # 高供高计 without the PT ratio
    ):
        answer = post(client, url, bad, metering)
        assert (answer.status_code, answer.json()["code"]) == (422, "invalid_input"), bad
    ok = post(
        client,
        url,
        {"meters": meters, "crew": "计量班", "ct_ratio": "200/5", "pt_ratio": "10000/100"},
        metering,
    )
    assert ok.status_code == 200, ok.content
    assert (ok.json()["energization"]["ct_ratio"], ok.json()["energization"]["pt_ratio"]) == (
        "200/5",
        "10000/100",
    )
