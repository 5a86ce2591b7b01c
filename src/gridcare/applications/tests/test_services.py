"""The verbs: an application taken from acceptance to archive node by node (history and an SMS at
every change), and each refusal with its code — who, which unit, the recorded start event, a
stale version, a closed application."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gridcare.applications import services
from gridcare.applications.models import (
    ApplicationDocument,
    ApplicationEvent,
    ApplicationNode,
    ApplicationState,
    NodeState,
)
from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.notify.models import Channel, Message

from .helpers import accept, at, record_for


def _sms(application):
    return list(
        Message.objects.filter(channel=Channel.SMS, about_id=application.number)
        .order_by("id")
        .values_list("body", flat=True)
    )


def _act(application, node, action, actor, when=None, **payload):
    with clock.frozen(when or clock.now()):
        if action == "finish":
            record_for(application, node, actor)
        return services.act_on_node(application=application, node=node, action=action, actor=actor, **payload)


def test_a_residential_connection_from_acceptance_to_archive(yk_world):
    w = yk_world
    with clock.frozen(at(2026, 3, 2, 9, 0)):
        application = accept(
            w.clerk_east,
            documents=[
                services.Document("identity", via_shared_data=True),
                services.Document("property", via_shared_data=True),
                services.Document("application_form"),
            ],
        )
    assert application.number.startswith("YK20260302")
    # 一证办电: two of the three documents came from the government's shared data.
    shared = ApplicationDocument.objects.filter(application=application, via_shared_data=True)
    assert sorted(shared.values_list("kind", flat=True)) == ["identity", "property"]
    assert "已受理" in _sms(application)[0] and "2026-03-09" in _sms(application)[0]

    application = _act(application, "survey", "finish", w.clerk_east, at(2026, 3, 2, 15, 0))
    application = _act(application, "plan_reply", "finish", w.clerk_east, at(2026, 3, 3, 10, 0))
    assert application.current_node == "energize"
    # Energization waits for the formalities; the metering staff cannot finish it before.
    with pytest.raises(ApiError) as refused:
        _act(application, "energize", "finish", w.metering, at(2026, 3, 3, 11, 0))
    assert (refused.value.code, refused.value.status) == ("clock_not_started", 409)
    application = _act(application, "energize", "start", w.clerk_east, at(2026, 3, 4, 9, 0))
    energize = ApplicationNode.objects.get(application=application, kind="energize")
    assert clock.local(energize.due_at) == at(2026, 3, 9, 9, 0)  # 3 working days
    # The window (a business clerk) may not energize: it is the metering staff's node.
    with pytest.raises(ApiError) as refused:
        _act(application, "energize", "finish", w.clerk_east, at(2026, 3, 5, 9, 0))
    assert (refused.value.code, refused.value.status) == ("forbidden_role", 403)
    application = _act(application, "energize", "finish", w.metering, at(2026, 3, 5, 9, 0))
    application = _act(application, "archive", "finish", w.clerk_east, at(2026, 3, 5, 10, 0))

    assert application.state == ApplicationState.ARCHIVED and application.current_node == ""
    nodes = ApplicationNode.objects.filter(application=application)
    assert all(n.state == NodeState.DONE for n in nodes)
    assert nodes.get(kind="plan_reply").on_time is True
    history = list(
        ApplicationEvent.objects.filter(application=application).values_list("node", "action", "to_state")
    )
    assert history == [
        ("accept", "accept", "in_progress"),
        ("survey", "survey", ""),
        ("survey", "finish", "done"),
        ("plan_reply", "plan_option", ""),
        ("plan_reply", "plan_chosen", ""),
        ("plan_reply", "finish", "done"),
        ("energize", "start", ""),
        ("energize", "energization", ""),
        ("energize", "finish", "done"),
        ("archive", "finish", "done"),
    ]
    bodies = _sms(application)
    assert len(bodies) == 6  # accepted, four nodes done (the last as archived), energization started
    assert "下一环节：供电方案答复" in bodies[1]
    assert "下一环节：装表接电" in bodies[2] and "需要您办理：请签订供用电合同并缴清相关费用" in bodies[2]
    assert "已办结归档" in bodies[-1]


def test_a_node_of_the_county_is_finished_by_the_county_not_by_a_station(yk_world):
    w = yk_world
    application = accept(w.clerk_east, requested_kva=Decimal("630"), usage_class="large_industry")
    from gridcare.org.models import Role
    from gridcare.org.services import create_staff

    station_am = create_staff(
        username="am_east", password=w.password, full_name="韩经理", roles=[(Role.ACCOUNT_MANAGER, w.east)]
    )
    with pytest.raises(ApiError) as refused:
        _act(application, "survey", "finish", station_am)
    assert (refused.value.code, refused.value.status) == ("not_node_owner", 403)
    _act(application, "survey", "finish", w.account_manager)


def test_a_stale_version_is_refused(yk_world):
    w = yk_world
    application = accept(w.clerk_east)
    record_for(application, "survey", w.clerk_east)  # the survey's findings: version 2
    with pytest.raises(ApiError) as refused:
        services.act_on_node(
            application=application, node="survey", action="finish", actor=w.clerk_east, version=1
        )
    assert (refused.value.code, refused.value.status) == ("version_conflict", 409)
    done = services.act_on_node(
        application=application, node="survey", action="finish", actor=w.clerk_east, version=2
    )
    assert done.version == 3


def test_unknown_node_and_action(yk_world):
    w = yk_world
    application = accept(w.clerk_east)
    with pytest.raises(ApiError) as refused:
        _act(application, "design_review", "finish", w.clerk_east)  # not on a residential path
    assert (refused.value.code, refused.value.status) == ("unknown_node", 404)
    with pytest.raises(ApiError) as refused:
        _act(application, "survey", "approve", w.clerk_east)
    assert (refused.value.code, refused.value.status) == ("unknown_action", 404)


def test_cancel_stops_every_clock_and_closes_the_application(yk_world):
    w = yk_world
    application = accept(w.clerk_east)
    with pytest.raises(ApiError) as refused:
        services.act(application=application, action="cancel", actor=w.clerk_east, note=" ")
    assert refused.value.code == "note_required"
    application = services.act(
        application=application, action="cancel", actor=w.clerk_east, note="客户撤回申请"
    )
    assert application.state == ApplicationState.CANCELLED and application.closed_at is not None
    running = ApplicationNode.objects.filter(application=application, next_warning_at__isnull=False)
    assert not running.exists()
    assert "已终止办理：客户撤回申请" in _sms(application)[-1]
    with pytest.raises(ApiError) as refused:
        _act(application, "survey", "finish", w.clerk_east)
    assert (refused.value.code, refused.value.status) == ("application_closed", 409)


def test_who_may_accept(yk_world):
    with pytest.raises(ApiError) as refused:
        accept(yk_world.crew)
    assert (refused.value.code, refused.value.status) == ("forbidden_role", 403)


def test_account_manager_priority_and_green_channel(yk_world):
    w = yk_world
    w.customer_east.account_manager = w.account_manager
    w.customer_east.save()
    handed_in = accept(w.account_manager, customer=w.customer_east, handed_in_by_account_manager=True)
    assert handed_in.priority == 20 and handed_in.supply_unit == w.east  # the customer's station
    assert accept(w.clerk_east, green_channel=True).priority == 10
    assert accept(w.clerk_east).priority == 0
