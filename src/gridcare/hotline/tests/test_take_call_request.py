"""Issue #16: taking a call's request is one verb (``services.take_call_request``): its guards run
before anything is written, the open order of the same matter is looked up once, and the writes
are one transaction."""

from unittest import mock

import pytest
from django_tasks_db.models import DBTaskResult

from gridcare.hotline import services
from gridcare.hotline.models import Call
from gridcare.notify.models import Message
from gridcare.org.models import Role
from gridcare.org.services import create_staff
from gridcare.repair import services as repair
from gridcare.repair.models import TroubleCall
from gridcare.workorders import services as workorders
from gridcare.workorders.models import Deadline, WorkOrder, WorkOrderEvent

UNKNOWN = "13700001111"


def on_call(cti, call_id, caller):
    cti(call_id=call_id, event="ringing", caller=caller, agent="agent")
    cti(call_id=call_id, event="answered", agent="agent")
    return Call.objects.get(call_id=call_id)


def written() -> dict[str, int]:
    """Every row an intake may write: the order, its history and deadlines, the scheduled checks
    and the outbox, the trouble call and its event, the call's link."""
    return {
        "orders": WorkOrder.objects.count(),
        "history": WorkOrderEvent.objects.count(),
        "deadlines": Deadline.objects.count(),
        "tasks": DBTaskResult.objects.count(),
        "outbox": Message.objects.count(),
        "trouble_calls": TroubleCall.objects.count(),
        # the repair command's outage event (named through the call: the model is being renamed)
        "events": TroubleCall._meta.get_field("event").related_model.objects.count(),
        "call_links": Call.work_orders.through.objects.count(),
    }


def complaint(**extra):
    return {
        "order_type": "complaint",
        "channel": "hotline",
        "complaint_class": "service",
        "address": "城关镇某路1号",
        "content": "营业员态度差",
        "account_no": "5100000001",
        **extra,
    }


def fault(**extra):
    return {
        "order_type": "fault_repair",
        "channel": "hotline",
        "account_no": "5100000001",
        "symptom": "line_down",
        "scope": "single",
        "content": "门口电线断了",
        **extra,
    }


@pytest.mark.parametrize(
    ("caller", "data", "code"),
    [
        # the form names another customer than the one confirmed for this call
        (UNKNOWN, complaint(), "caller_not_confirmed"),
        # the intake service's rule for complaints
        ("13812341234", complaint(complaint_class=""), "complaint_class_required"),
        # a fault call for another customer than the call's (hazard: it would dispatch at once)
        (UNKNOWN, fault(), "caller_not_confirmed"),
    ],
)
def test_a_guard_that_refuses_writes_nothing(world, cti, caller, data, code):
    call = on_call(cti, "g-1", caller)
    before = written()
    result = services.take_call_request(
        actor=world.agent, call=call, request=services.CallRequest(data=data, hazard=True)
    )
    assert result.outcome == services.Outcome.REFUSED and result.error.code == code
    assert result.order is None
    assert written() == before


def test_a_role_that_takes_no_requests_is_refused_before_anything_is_written(world, cti):
    crew = create_staff(
        username="planner", password=world.password, full_name="计划员", roles=[(Role.AUDITOR, world.city)]
    )
    before = written()
    result = services.take_call_request(
        actor=crew, call=None, request=services.CallRequest(data=complaint(account_no=""))
    )
    assert result.outcome == services.Outcome.REFUSED and result.error.code == "forbidden_role"
    assert written() == before


def test_an_open_order_of_the_same_matter_asks_for_confirmation_and_writes_nothing(world, cti):
    call = on_call(cti, "g-2", "13812341234")
    first = services.take_call_request(
        actor=world.agent, call=call, request=services.CallRequest(data=complaint())
    )
    assert first.outcome == services.Outcome.SAVED
    before = written()
    again = services.take_call_request(
        actor=world.agent, call=call, request=services.CallRequest(data=complaint())
    )
    assert again.outcome == services.Outcome.CONFIRM_DUPLICATE and again.duplicate == first.order
    assert written() == before
    confirmed = services.take_call_request(
        actor=world.agent, call=call, request=services.CallRequest(data=complaint(), confirm_duplicate=True)
    )
    assert confirmed.outcome == services.Outcome.SAVED and WorkOrder.objects.count() == 2
    assert set(call.work_orders.all()) == {first.order, confirmed.order}


def test_the_open_order_is_looked_up_once_for_a_fault_call(world, client, cti):
    on_call(cti, "g-3", "13812341234")
    client.force_login(world.agent)
    lookup = mock.patch.object(workorders, "find_open_duplicate", wraps=workorders.find_open_duplicate)
    with lookup as spy:
        saved = client.post("/hotline/intake/", fault())
    assert saved.status_code == 200 and 'id="created-number"' in saved.content.decode()
    assert spy.call_count == 1
    with lookup as spy:
        urged = client.post("/hotline/intake/", fault(content="还是没电"))
    assert 'id="order-urged"' in urged.content.decode() and WorkOrder.objects.count() == 1
    assert spy.call_count == 1


def test_the_open_order_is_looked_up_once_for_any_other_request(world, client, cti):
    on_call(cti, "g-4", "13812341234")
    client.force_login(world.agent)
    with mock.patch.object(workorders, "find_open_duplicate", wraps=workorders.find_open_duplicate) as spy:
        saved = client.post("/hotline/intake/", complaint())
    assert saved.status_code == 200 and spy.call_count == 1


@pytest.mark.parametrize(
    "data", [complaint(), fault(), fault(hazard="on")], ids=["complaint", "fault", "hazard"]
)
def test_a_failure_after_the_order_is_written_leaves_nothing(world, cti, data):
    call = on_call(cti, "g-5", "13812341234")
    before = written()
    request = services.CallRequest(data=data, idempotency_key="k-rollback", hazard=bool(data.get("hazard")))
    with (
        mock.patch.object(services, "record_on_call", side_effect=RuntimeError("link failed")),
        pytest.raises(RuntimeError),
    ):
        services.take_call_request(actor=world.agent, call=call, request=request)
    assert written() == before
    # The same request again goes through: the rolled-back attempt left no key, number or event.
    result = services.take_call_request(actor=world.agent, call=call, request=request)
    assert result.outcome == services.Outcome.SAVED
    assert list(call.work_orders.all()) == [result.order]


def test_a_failing_urge_of_a_repeated_fault_call_is_rolled_back(world, cti):
    first = repair.report_fault_call(
        actor=world.agent, content="家里没电", customer=world.customer_east
    ).order
    call = on_call(cti, "g-6", "13812341234")
    before = written()
    with (
        mock.patch.object(services, "record_on_call", side_effect=RuntimeError("link failed")),
        pytest.raises(RuntimeError),
    ):
        services.take_call_request(
            actor=world.agent, call=call, request=services.CallRequest(data=fault(content="还是没电"))
        )
    first.refresh_from_db()
    assert first.urge_count == 0 and written() == before
    urged = services.take_call_request(
        actor=world.agent, call=call, request=services.CallRequest(data=fault(content="还是没电"))
    )
    assert urged.outcome == services.Outcome.URGED and urged.order == first
    first.refresh_from_db()
    assert first.urge_count == 1


def test_the_intake_is_built_in_one_place_from_a_form_or_a_schema(world):
    from gridcare.workorders.schemas import WorkOrderIn

    body = WorkOrderIn(order_type="complaint", content="态度差", complaint_class="service")
    from_schema = workorders.Intake.of(body, customer=world.customer_east)
    from_form = workorders.Intake.of(
        {"order_type": "complaint", "channel": "hotline", "content": "态度差", "complaint_class": "service"},
        customer=world.customer_east,
    )
    assert from_schema == from_form
    assert from_form.caller_phone == "" and from_form.handed_in_by_account_manager is False
    assert workorders.Intake.of(body, caller_phone=UNKNOWN).caller_phone == UNKNOWN
