"""The path of nodes comes from the rule data: type × customer category × supply × voltage, with the
voltage from the capacity bands — and each node's owner, clock start and limit."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gridcare.applications.models import ApplicationNode, NodeState, VoltageBand
from gridcare.core import clock
from gridcare.core.api_errors import ApiError

from .helpers import accept, at


def _nodes(application):
    return list(ApplicationNode.objects.filter(application=application).order_by("seq"))


def _path(application):
    return [(n.kind, n.limit_days) for n in _nodes(application)]


def test_lv_residential_accept_survey_plan_energize_archive_within_five_days(yk_world):
    w = yk_world
    with clock.frozen(at(2026, 3, 2, 9, 0)):  # a Monday
        application = accept(w.clerk_east, requested_kva=Decimal("8"), usage_class="residential")
    assert (application.category, application.voltage) == ("residential", "lv")
    assert _path(application) == [
        ("accept", None),
        ("survey", None),
        ("plan_reply", 3),
        ("energize", 3),
        ("archive", None),
    ]
    accept_node, survey, plan, energize, archive = _nodes(application)
    assert accept_node.state == NodeState.DONE and survey.state == NodeState.OPEN
    assert application.current_node == "survey"
    # The plan reply is counted from acceptance; energization waits for the formalities.
    assert clock.local(plan.due_at) == at(2026, 3, 5, 9, 0)
    assert energize.started_at is None and energize.due_at is None
    # The promise (2023 十项承诺): residential whole process within 5 working days.
    assert clock.local(application.total_due_at) == at(2026, 3, 9, 9, 0)
    # LV nodes belong to the supply station; energization to its metering staff.
    assert {n.owner_unit for n in _nodes(application)} == {w.east}
    assert energize.owner_role == "metering"


def test_lv_non_residential_has_its_own_limits(yk_world):
    with clock.frozen(at(2026, 3, 2, 9, 0)):
        application = accept(yk_world.clerk_east, requested_kva=Decimal("50"), usage_class="non_residential")
    assert (application.category, application.voltage) == ("lv_non_residential", "lv")
    assert _path(application) == [
        ("accept", None),
        ("survey", None),
        ("plan_reply", 7),
        ("energize", 5),
        ("archive", None),
    ]
    assert clock.local(application.total_due_at) == at(2026, 3, 10, 9, 0)  # 6 working days


HV_PATH = ["accept", "survey", "plan_reply", "design_review", "mid_inspection", "completion_inspection"]


def test_hv_single_supply_has_the_five_timed_nodes(yk_world):
    w = yk_world
    with clock.frozen(at(2026, 3, 2, 9, 0)):
        application = accept(w.clerk_east, requested_kva=Decimal("630"), usage_class="large_industry")
    assert (application.category, application.voltage, application.supply) == ("hv", "kv10", "single")
    assert _path(application) == [
        ("accept", None),
        ("survey", None),
        ("plan_reply", 15),
        ("design_review", 10),
        ("mid_inspection", 5),
        ("completion_inspection", 5),
        ("energize", 5),
        ("archive", None),
    ]
    nodes = {n.kind: n for n in _nodes(application)}
    # Accepted at the station's window; the HV nodes belong to the county (its customer center).
    assert nodes["accept"].owner_unit == w.east
    assert nodes["design_review"].owner_unit == w.county
    assert nodes["design_review"].owner_role == "account_manager"
    assert nodes["design_review"].definition.clock_starts == "customer_request"
    assert nodes["energize"].definition.clock_starts == "formalities_complete"
    assert clock.local(nodes["plan_reply"].due_at) == at(2026, 3, 23, 9, 0)  # 15 working days
    assert application.path.total_days == 22


def test_hv_dual_supply_answers_the_plan_in_thirty_days(yk_world):
    with clock.frozen(at(2026, 3, 2, 9, 0)):
        application = accept(
            yk_world.clerk_east, requested_kva=Decimal("2000"), usage_class="large_industry", supply="dual"
        )
    assert application.supply == "dual"
    assert [k for k, _ in _path(application)][: len(HV_PATH)] == HV_PATH
    assert dict(_path(application))["plan_reply"] == 30
    assert application.path.total_days == 32


def test_above_8000_kva_is_35_kv_with_an_access_system_study(yk_world):
    application = accept(yk_world.clerk_east, requested_kva=Decimal("10000"), usage_class="large_industry")
    assert application.voltage == "kv35"
    kinds = [k for k, _ in _path(application)]
    assert kinds[:4] == ["accept", "survey", "access_study", "plan_reply"]


def test_the_low_voltage_threshold_is_a_provincial_setting_in_the_data(yk_world):
    w = yk_world
    assert accept(w.clerk_east, requested_kva=Decimal("120"), usage_class="non_residential").voltage == "kv10"
    # A province that connects up to 160 kW at low voltage switches bands in the admin.
    # (A save, as the admin makes: the process's kept rule data is forgotten at once.)
    for band in VoltageBand.objects.filter(voltage="lv"):
        band.is_active = band.up_to_kva == 160
        band.save()
    application = accept(w.clerk_east, requested_kva=Decimal("120"), usage_class="non_residential")
    assert (application.voltage, application.category) == ("lv", "lv_non_residential")


def test_change_of_use_takes_the_change_path(yk_world):
    application = accept(yk_world.clerk_east, app_type="suspend", requested_kva=Decimal("8"))
    assert [k for k, _ in _path(application)] == ["accept", "survey", "energize", "archive"]


def test_dual_supply_at_low_voltage_is_refused(yk_world):
    with pytest.raises(ApiError) as refused:
        accept(yk_world.clerk_east, requested_kva=Decimal("8"), supply="dual")
    assert (refused.value.code, refused.value.status) == ("invalid_supply", 422)


def test_no_path_configured_is_a_clear_refusal(yk_world):
    from gridcare.applications.models import NodePath

    NodePath.objects.update(is_active=False)
    with pytest.raises(ApiError) as refused:
        accept(yk_world.clerk_east)
    assert (refused.value.code, refused.value.status) == ("no_node_path", 422)
