"""The survey, the supply-plan options and the customer's signed choice, four-level acceptance by
capacity, a failed inspection stopping only its node's clock until the customer rectifies, and
energization with its meters."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gridcare.applications import services, survey
from gridcare.applications.models import AcceptanceInspection, ApplicationNode, NodeState, NodeWait
from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.org.models import Unit
from gridcare.org.services import create_unit

from .helpers import accept, at, record_for


def _node(application, kind):
    return ApplicationNode.objects.get(application=application, kind=kind)


def _do(application, kind, action, actor, when, **payload):
    with clock.frozen(when):
        return services.act_on_node(application=application, node=kind, action=action, actor=actor, **payload)


def _survey(application, actor, kva, possible=True, reason=""):
    return survey.record_survey(
        application=application,
        actor=actor,
        survey=survey.SurveyIn(
            possible=possible,
            voltage=application.voltage,
            supply=application.supply,
            approved_kva=kva if possible else None,
            impossible_reason=reason,
        ),
    )


def _option(application, actor, label):
    return survey.add_option(
        application=application,
        actor=actor,
        option=survey.OptionIn(
            label=label,
            source="城关110kV变电站 10kV东风线",
            voltage=application.voltage,
            property_boundary="客户配电室进线开关上桩头",
            metering="hv_lv",
            cost_yuan="86000.50",
            construction_days=20,
        ),
    )


def test_the_survey_comes_first_and_no_supply_means_cancelling_with_the_reason(yk_world):
    w = yk_world
    application = accept(w.clerk_east)
    with pytest.raises(ApiError) as refused:
        services.act_on_node(application=application, node="survey", action="finish", actor=w.clerk_east)
    assert (refused.value.code, refused.value.status) == ("survey_missing", 409)
    with pytest.raises(ApiError) as refused:
        _survey(application, w.clerk_east, None, possible=False)
    assert refused.value.code == "invalid_input"  # no reason given
    _survey(
        application, w.clerk_east, None, possible=False, reason="该地块位于规划道路红线内，暂不具备供电条件"
    )
    with pytest.raises(ApiError) as refused:
        services.act_on_node(application=application, node="survey", action="finish", actor=w.clerk_east)
    assert refused.value.code == "supply_impossible" and "规划道路红线" in refused.value.message
    with pytest.raises(ApiError) as refused:
        _option(application, w.clerk_east, "方案一")
    assert refused.value.code == "supply_impossible"
    done = services.act(
        application=application, action="cancel", actor=w.clerk_east, note="勘查不具备供电条件"
    )
    assert done.state == "cancelled"


def test_several_options_side_by_side_the_customer_signs_one_and_may_switch(yk_world):
    w = yk_world
    application = accept(w.clerk_east, requested_kva=Decimal("630"), usage_class="large_industry")
    _survey(application, w.account_manager, "500")
    services.act_on_node(application=application, node="survey", action="finish", actor=w.account_manager)
    first, second = (
        _option(application, w.account_manager, "方案一：架空"),
        _option(application, w.account_manager, "方案二：电缆"),
    )
    with pytest.raises(ApiError) as refused:
        services.act_on_node(
            application=application, node="plan_reply", action="finish", actor=w.account_manager
        )
    assert refused.value.code == "plan_not_chosen"
    with pytest.raises(ApiError) as refused:
        survey.choose_option(
            application=application,
            actor=w.account_manager,
            option_id=first.pk,
            signed_by="",
            signed_via="on_site",
        )
    assert refused.value.code == "invalid_input"
    survey.choose_option(
        application=application,
        actor=w.account_manager,
        option_id=first.pk,
        signed_by="陈光明",
        signed_via="on_site",
    )
    survey.choose_option(
        application=application,
        actor=w.account_manager,
        option_id=second.pk,
        signed_by="陈光明",
        signed_via="online",
    )
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.chosen, second.chosen, second.signed_via) == (False, True, "online")
    assert survey.chosen_option(application) == second
    done = services.act_on_node(
        application=application, node="plan_reply", action="finish", actor=w.account_manager
    )
    assert done.current_node == "design_review"
    with pytest.raises(ApiError) as refused:  # the plan is replied: options are closed
        _option(application, w.account_manager, "方案三")
    assert refused.value.status == 409


@pytest.mark.parametrize(
    "kva, accepting",
    [("49", "east"), ("49.9", "east"), ("50", "center"), ("200", "center")],
)
def test_four_level_acceptance_routes_by_capacity(yk_world, kva, accepting):
    """Below 50 kVA the supply station accepts the customer's works; from 50 kVA the county's
    customer service center with the departments of the voltage level."""
    w = yk_world
    center = create_unit(
        name="城关县供电公司客户服务中心",
        code="X01K",
        kind=Unit.Kind.DEPARTMENT,
        parent=w.county,
        function=Unit.Function.CUSTOMER_SERVICE,
    )
    application = accept(w.clerk_east, requested_kva=Decimal("80"), usage_class="general_industry")
    _survey(application, w.clerk_east, kva)  # the approved capacity decides
    who = survey.acceptor(application)
    assert who.unit == (w.east if accepting == "east" else center)
    if accepting == "east":
        assert who.departments == ["供电所营业班", "供电所配电班"]
    else:
        assert "电能计量组" in who.departments and "客户服务中心" in who.departments


def test_a_failed_inspection_stops_only_its_node_until_the_customer_rectifies(yk_world):
    w = yk_world
    am = w.account_manager
    with clock.frozen(at(2026, 3, 2, 9, 0)):
        application = accept(w.clerk_east, requested_kva=Decimal("630"), usage_class="large_industry")
    for kind, day in (("survey", 3), ("plan_reply", 4)):
        with clock.frozen(at(2026, 3, day, 9, 0)):
            record_for(application, kind, am)
        _do(application, kind, "finish", am, at(2026, 3, day, 10, 0))
    _do(application, "design_review", "start", am, at(2026, 3, 5, 9, 0))
    _do(application, "design_review", "finish", am, at(2026, 3, 6, 9, 0))
    _do(application, "mid_inspection", "start", am, at(2026, 3, 9, 9, 0))  # Monday: due 16 March
    assert clock.local(_node(application, "mid_inspection").due_at) == at(2026, 3, 16, 9, 0)
    # A station clerk is not the accepting unit of a 630 kVA customer's works.
    with clock.frozen(at(2026, 3, 10, 9, 0)), pytest.raises(ApiError) as refused:
        survey.record_inspection(
            application=application,
            actor=w.clerk_east,
            inspection=survey.InspectionIn("mid_inspection", True),
        )
    assert (refused.value.code, refused.value.status) == ("not_node_owner", 403)
    with clock.frozen(at(2026, 3, 10, 9, 0)), pytest.raises(ApiError) as refused:
        survey.record_inspection(
            application=application, actor=am, inspection=survey.InspectionIn("mid_inspection", False)
        )
    assert refused.value.code == "invalid_input"  # a failure names its defects and a deadline
    with clock.frozen(at(2026, 3, 10, 9, 0)):
        failed = survey.record_inspection(
            application=application,
            actor=am,
            inspection=survey.InspectionIn(
                "mid_inspection", False, defects=["电缆沟未按图施工", "接地电阻超标"], rectify_days=10
            ),
        )
    node = _node(application, "mid_inspection")
    assert (failed.result, failed.round, str(failed.rectify_by)) == ("failed", 1, "2026-03-20")
    assert node.state == NodeState.WAITING
    wait = NodeWait.objects.get(node=node)
    assert wait.reason == "rectification" and "接地电阻超标" in wait.note
    assert _node(application, "completion_inspection").due_at is None  # nothing else moved
    with pytest.raises(ApiError) as refused:
        _do(application, "mid_inspection", "finish", am, at(2026, 3, 11, 9, 0))
    assert refused.value.status == 409
    with clock.frozen(at(2026, 3, 13, 9, 0)):  # Friday: 3 working days (10–12 March) lost
        survey.rectified(application=application, actor=am, node="mid_inspection")
    node = _node(application, "mid_inspection")
    assert node.state == NodeState.OPEN and clock.local(node.due_at) == at(2026, 3, 19, 9, 0)
    with pytest.raises(ApiError) as refused:
        _do(application, "mid_inspection", "finish", am, at(2026, 3, 13, 10, 0))
    assert refused.value.code == "inspection_not_passed"
    with clock.frozen(at(2026, 3, 16, 9, 0)):
        again = survey.record_inspection(
            application=application, actor=am, inspection=survey.InspectionIn("mid_inspection", True)
        )
    assert (again.round, again.result) == (2, "passed")
    done = _do(application, "mid_inspection", "finish", am, at(2026, 3, 16, 10, 0))
    assert done.current_node == "completion_inspection"
    assert list(
        AcceptanceInspection.objects.filter(application=application).values_list("round", "result")
    ) == [
        (1, "failed"),
        (2, "passed"),
    ]


def test_energization_records_the_meters_and_first_readings(yk_world):
    w = yk_world
    application = accept(w.clerk_east)
    for kind in ("survey", "plan_reply"):
        record_for(application, kind, w.clerk_east)
        services.act_on_node(application=application, node=kind, action="finish", actor=w.clerk_east)
    meters = [
        {
            "asset_no": "3330001000077",
            "kind": "单相智能表",
            "registers": [{"name": "正向有功总", "reading": "0.00"}],
        }
    ]
    with pytest.raises(ApiError) as refused:  # the formalities are not complete yet
        survey.record_energization(
            application=application,
            actor=w.metering,
            energization=survey.EnergizationIn(meters, "城东装接班"),
        )
    assert refused.value.code == "clock_not_started"
    services.act_on_node(application=application, node="energize", action="start", actor=w.clerk_east)
    with pytest.raises(ApiError) as refused:
        services.act_on_node(application=application, node="energize", action="finish", actor=w.metering)
    assert refused.value.code == "energization_missing"
    for bad in (
        [],
        [{"asset_no": "", "registers": []}],
        [{"asset_no": "1", "registers": [{"name": "总", "reading": "-1"}]}],
    ):
        with pytest.raises(ApiError) as refused:
            survey.record_energization(
                application=application,
                actor=w.metering,
                energization=survey.EnergizationIn(bad, "城东装接班"),
            )
        assert refused.value.status == 422
    found = survey.record_energization(
        application=application, actor=w.metering, energization=survey.EnergizationIn(meters, "城东装接班")
    )
    assert found.meters[0]["asset_no"] == "3330001000077"
    done = services.act_on_node(application=application, node="energize", action="finish", actor=w.metering)
    assert done.current_node == "archive"


def test_the_records_api_and_its_refusals(yk_world, client):
    from gridcare.org.services import issue_token

    w = yk_world
    application = accept(w.clerk_east)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=w.clerk_east)}"}
    url = f"/api/v1/applications/{application.number}"
    bad = client.post(
        f"{url}/survey", {"possible": "yes", "voltage": "lv"}, content_type="application/json", **headers
    )
    assert bad.status_code == 422
    ok = client.post(
        f"{url}/survey",
        {"possible": True, "voltage": "lv", "approved_kva": "8"},
        content_type="application/json",
        **headers,
    )
    assert ok.status_code == 200 and ok.json()["survey"]["approved_kva"] == "8.0"
    assert ok.json()["acceptance"]["unit"] == "城东供电所"
    other = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=w.clerk_west)}"}
    assert client.get(f"{url}/records", **other).status_code == 404
    negative = client.post(
        f"{url}/plan-options",
        {
            "label": "方案一",
            "source": "10kV东风线",
            "voltage": "lv",
            "property_boundary": "表计出线",
            "metering": "lv_lv",
            "cost_yuan": "-1",
            "construction_days": 3,
        },
        content_type="application/json",
        **headers,
    )
    assert negative.status_code == 422
