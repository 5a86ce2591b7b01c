"""CTI call events, screen pop, agent state, orders on a call, urging instead of duplicating, handover."""

import pytest

from gridcare.core.api_errors import ApiError
from gridcare.hotline import services
from gridcare.hotline.models import AgentState, Call, ShiftHandover
from gridcare.org.models import Role
from gridcare.org.services import create_staff, issue_token
from gridcare.workorders import services as workorders
from gridcare.workorders.models import WorkOrder


def test_ringing_pops_the_matching_customer(world, client, cti):
    response = cti(call_id="c-1", event="ringing", caller="13812341234", called_line="95598", agent="agent")
    assert response.status_code == 200
    assert response.json()["account_no"] == "5100000001"
    assert response.json()["caller_masked"] == "138****1234"
    client.force_login(world.agent)
    pop = client.get("/hotline/pop/", {"v": "none"})
    html = pop.content.decode()
    assert "来电振铃" in html and "张建国" in html and 'hx-swap-oob="true"' in html
    token = Call.objects.get().pk
    unchanged = client.get("/hotline/pop/", {"v": f"{token}:ringing:{world.customer_east.pk}:0"})
    assert unchanged.status_code == 204


def test_call_lifecycle_drives_agent_state(world, cti):
    cti(call_id="c-2", event="ringing", caller="13987654321", agent="agent")
    cti(call_id="c-2", event="answered", agent="agent")
    assert AgentState.objects.get(agent=world.agent).state == "on_call"
    cti(call_id="c-2", event="ended")
    cti(call_id="c-2", event="ended")  # replay is harmless
    call = Call.objects.get(call_id="c-2")
    assert call.state == "ended" and AgentState.objects.get(agent=world.agent).state == "after_call"
    services.wrap_up(call=call, actor=world.agent, code="BILL", note="已告知电费")
    assert AgentState.objects.get(agent=world.agent).state == "ready"
    call.refresh_from_db()
    assert call.handling_seconds is not None and call.wrap_up.code == "BILL"


def test_bad_call_events_are_4xx(world, cti):
    assert cti(call_id="c-3", event="dancing", caller="1", agent="agent").json()["code"] == "invalid_event"
    assert cti(call_id="c-3", event="ringing", caller="138", agent="nobody").json()["code"] == "unknown_agent"
    assert cti(call_id="c-3", event="answered", agent="agent").json()["code"] == "caller_required"
    assert not Call.objects.exists()


def test_caller_outside_agent_scope_is_not_popped(world, cti):
    create_staff(
        username="agent_east", password=world.password, full_name="东座席", roles=[(Role.AGENT, world.east)]
    )
    body = cti(call_id="c-4", event="ringing", caller="13987654321", agent="agent_east").json()
    assert body["account_no"] is None


def test_order_taken_on_the_call_is_recorded_against_it(world, client, cti):
    cti(call_id="c-5", event="ringing", caller="13812341234", agent="agent")
    cti(call_id="c-5", event="answered", agent="agent")
    client.force_login(world.agent)
    response = client.post(
        "/hotline/intake/",
        {
            "order_type": "fault_repair",
            "channel": "hotline",
            "account_no": "5100000001",
            "symptom": "no_power",
            "scope": "building",
            "hazard": "on",
            "content": "整栋楼没电",
        },
    )
    assert response.status_code == 200 and "已受理" in response.content.decode()
    order = WorkOrder.objects.get()
    assert "整栋楼/整个小区" in order.content and "安全隐患" in order.content and "无电" in order.content
    assert list(Call.objects.get(call_id="c-5").work_orders.all()) == [order]


def test_adaptive_form_requires_type_specific_fields(world, client):
    client.force_login(world.agent)
    page = client.get("/hotline/intake/", {"type": "complaint", "account_no": "5100000001"}).content.decode()
    assert "投诉分类" in page and "故障现象" not in page
    response = client.post(
        "/hotline/intake/",
        {"order_type": "complaint", "channel": "hotline", "account_no": "5100000001", "content": "态度差"},
    )
    assert response.status_code == 422 and "请选择投诉分类" in response.content.decode()
    assert not WorkOrder.objects.exists()


def test_repeat_call_suggests_urging_and_urges_without_duplicating(world, client):
    order, _ = workorders.create_work_order(
        actor=world.agent,
        intake=workorders.Intake(
            order_type="complaint",
            channel="hotline",
            content="抄表错误",
            customer=world.customer_east,
            complaint_class="business",
        ),
    )
    client.force_login(world.agent)
    form = client.get("/hotline/intake/", {"type": "complaint", "account_no": "5100000001"}).content.decode()
    assert order.number in form and "催办" in form
    done = client.post(f"/hotline/urge/{order.number}/")
    assert "未重复建单" in done.content.decode()
    order.refresh_from_db()
    assert order.urge_count == 1 and WorkOrder.objects.count() == 1


def test_shift_handover_records_open_items_and_acknowledgement(world, client):
    workorders.create_work_order(
        actor=world.agent,
        intake=workorders.Intake(
            order_type="complaint",
            channel="hotline",
            content="电压低",
            customer=world.customer_east,
            complaint_class="quality",
        ),
    )
    with pytest.raises(ApiError):
        services.hand_over(actor=world.agent, notes="  ")
    handover = services.hand_over(actor=world.agent, notes="城东片区电压投诉需跟进")
    assert [i["kind"] for i in handover.open_items] == ["in_transit"]
    next_agent = create_staff(
        username="agent2", password=world.password, full_name="下一班", roles=[(Role.AGENT, world.city)]
    )
    client.force_login(next_agent)
    page = client.get("/hotline/handover/").content.decode()
    assert "城东片区电压投诉需跟进" in page
    client.post(f"/hotline/handover/{handover.pk}/acknowledge/", {"note": "已接收"})
    handover.refresh_from_db()
    assert handover.received_by == next_agent
    with pytest.raises(ApiError) as err:
        services.acknowledge_handover(handover=handover, actor=next_agent)
    assert err.value.code == "already_received"
    assert ShiftHandover.objects.count() == 1


def test_workspace_page_renders_for_agent(world, client):
    client.force_login(world.agent)
    page = client.get("/hotline/", {"account_no": "5100000001"}).content.decode()
    assert "座席工作台" in page and "张建国" in page and "call-strip" in page
    # The knowledge panel answers with the rules of the caller's supply station.
    assert f"unit={world.customer_east.station_id}" in page


def test_fault_call_links_to_the_open_outage_event(world, client):
    """A later caller under a known outage hears what is known and is linked, not dispatched again."""
    from gridcare.customers.models import Customer, CustomerPhone
    from gridcare.customers.services import refresh_search_text
    from gridcare.repair import services as repair
    from gridcare.repair.models import FaultEvent

    neighbours = []
    for i in range(4):
        c = Customer.objects.create(
            account_no=f"51000001{i:02d}",
            name=f"邻居{i}",
            transformer_area=world.area_east,
            station=world.east,
            customer_class="residential",
            tariff_category="residential_tiered",
        )
        CustomerPhone.objects.create(customer=c, number=f"1390000000{i}", is_primary=True)
        refresh_search_text(c)
        neighbours.append(c)
    for c in neighbours:
        repair.report_fault_call(actor=world.agent, content="没电了", customer=c)
    repair.run_analysis()
    event = FaultEvent.objects.get()
    client.force_login(world.agent)
    form = client.get(
        "/hotline/intake/", {"type": "fault_repair", "account_no": "5100000001"}
    ).content.decode()
    assert event.number in form and "已有抢修事件" in form
    created = client.post(
        "/hotline/intake/",
        {
            "order_type": "fault_repair",
            "channel": "hotline",
            "account_no": "5100000001",
            "symptom": "no_power",
            "scope": "building",
            "content": "楼里都没电",
        },
    ).content.decode()
    assert f"已关联抢修事件 {event.number}" in created and "答复客户" in created
    assert FaultEvent.objects.count() == 1


def test_only_hotline_staff_report_calls_and_only_for_agents_in_their_scope(world, client):
    def send(user, **body):
        token = issue_token(user=user)
        return client.post(
            "/api/v1/calls", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
        )

    refused = send(world.crew, call_id="x-1", event="ringing", caller="13812341234", agent="agent")
    assert refused.status_code == 403 and refused.json()["code"] == "forbidden_role"
    assert not Call.objects.exists()
    east_agent = create_staff(
        username="agent_east", password=world.password, full_name="东座席", roles=[(Role.AGENT, world.east)]
    )
    elsewhere = send(east_agent, call_id="x-2", event="ringing", caller="13812341234", agent="agent")
    assert elsewhere.status_code == 422 and not Call.objects.exists()
    # An agent's own softphone: the customer pops, but a number outside their scope shows no account.
    own = send(east_agent, call_id="x-3", event="ringing", caller="13987654321", agent="agent_east")
    assert own.status_code == 200 and own.json()["account_no"] is None


def test_a_narrowed_agent_still_sees_the_call_of_a_customer_elsewhere(world, client, cti):
    """The unit switcher narrows the agent to 城西; a caller from 城东 rings: the strip shows the
    call (not a 404 every 300 ms), without the customer card of a unit the agent narrowed away."""
    cti(call_id="c-n", event="ringing", caller="13812341234", called_line="95598", agent="agent")
    client.force_login(world.agent)
    client.post("/unit/", {"unit": world.west.pk, "next": "/"})
    pop = client.get("/hotline/pop/", {"v": "none"})
    assert pop.status_code == 200
    html = pop.content.decode()
    assert "来电振铃" in html and 'id="customer-card"' not in html
    assert client.get("/hotline/").status_code == 200
