"""Issue #14: the caller card and intake form follow the call on screen; an order attaches only to
the customer confirmed for this call; duplicates need confirmation; CTI events act only on calls in
the reporter's scope."""

import pytest

from gridcare.core.api_errors import ApiError
from gridcare.customers.models import Customer, CustomerPhone
from gridcare.customers.services import refresh_search_text
from gridcare.hotline import services
from gridcare.hotline.models import Call
from gridcare.org.models import Role
from gridcare.org.services import create_staff, issue_token
from gridcare.workorders import services as workorders
from gridcare.workorders.models import WorkOrder

UNKNOWN = "13700001111"


def finish(cti, world, call_id):
    cti(call_id=call_id, event="answered", agent="agent")
    cti(call_id=call_id, event="ended")
    services.wrap_up(call=Call.objects.get(call_id=call_id), actor=world.agent, code="BILL")


def complaint_post(**extra):
    return {
        "order_type": "complaint",
        "channel": "hotline",
        "complaint_class": "service",
        "address": "城关镇某路1号",
        "content": "营业员态度差",
        **extra,
    }


def test_a_stale_form_cannot_attach_the_next_callers_order_to_the_previous_customer(world, client, cti):
    cti(call_id="k-1", event="ringing", caller="13812341234", agent="agent")  # 张建国, popped
    finish(cti, world, "k-1")
    cti(call_id="k-2", event="ringing", caller=UNKNOWN, agent="agent")
    cti(call_id="k-2", event="answered", agent="agent")
    client.force_login(world.agent)
    # The form the agent still has names the previous customer: nothing is saved.
    stale = client.post("/hotline/intake/", complaint_post(account_no="5100000001"))
    assert stale.status_code == 422 and not WorkOrder.objects.exists()
    assert "来电的客户已变化" in stale.content.decode()
    # The refreshed form: no customer; the order belongs to no customer and keeps this call's number.
    saved = client.post("/hotline/intake/", complaint_post(account_no=""))
    assert saved.status_code == 200, saved.content.decode()
    order = WorkOrder.objects.get()
    assert order.customer_id is None and order.caller_phone == UNKNOWN
    assert list(Call.objects.get(call_id="k-2").work_orders.all()) == [order]


def test_the_service_checks_the_call_not_the_form(world, cti):
    cti(call_id="k-3", event="ringing", caller=UNKNOWN, agent="agent")
    call = Call.objects.get(call_id="k-3")
    intake = workorders.Intake(
        order_type="consultation", channel="hotline", content="咨询电价", customer=world.customer_east
    )
    with pytest.raises(ApiError) as err:
        services.take_order_on_call(call=call, actor=world.agent, intake=intake)
    assert err.value.code == "caller_not_confirmed" and not WorkOrder.objects.exists()


def test_a_new_ringing_call_resets_the_card_and_the_form(world, client, cti):
    cti(call_id="k-4", event="ringing", caller="13812341234", agent="agent")
    client.force_login(world.agent)
    first = client.get("/hotline/pop/", {"v": "none"}).content.decode()
    assert 'id="customer-card"' in first
    shown = Call.objects.get(call_id="k-4")
    finish(cti, world, "k-4")
    cti(call_id="k-5", event="ringing", caller=UNKNOWN, agent="agent")
    pop = client.get("/hotline/pop/", {"v": f"{shown.pk}:ringing:{world.customer_east.pk}:0"})
    html = pop.content.decode()
    # The pane goes back to empty and the intake slot reloads, out of band.
    assert 'id="customer-card"' not in html and 'id="customer-empty"' in html
    assert 'id="intake-slot" hx-swap-oob="true"' in html
    # The form the slot loads names no customer, whatever account number the page still sends,
    # and the hint names this caller's number.
    form = client.get("/hotline/intake/", {"type": "complaint", "account_no": "5100000001"}).content.decode()
    assert 'name="account_no" value=""' in form and "张建国" not in form
    assert "137****1111" in form and "138****1234" not in form


def test_a_number_shared_by_two_customers_attaches_to_the_one_the_agent_picks(world, client, cti):
    other = Customer.objects.create(
        account_no="5100000009",
        name="张小明",
        transformer_area=world.area_east,
        station=world.east,
        customer_class="residential",
        tariff_category="residential_tiered",
    )
    CustomerPhone.objects.create(customer=other, number="13812341234")
    refresh_search_text(other)
    cti(call_id="k-6", event="ringing", caller="13812341234", agent="agent")
    assert Call.objects.get(call_id="k-6").customer_id is None  # two candidates: nobody yet
    client.force_login(world.agent)
    refused = client.post("/hotline/intake/", complaint_post(account_no="5100000001"))
    assert refused.status_code == 422 and not WorkOrder.objects.exists()
    picked = client.get("/hotline/customer/5100000009/", {"identify": "1"})
    assert picked["HX-Trigger"] == "caller-identified"
    saved = client.post("/hotline/intake/", complaint_post(account_no="5100000009"))
    assert saved.status_code == 200
    assert WorkOrder.objects.get().customer == other


def test_the_workspace_asks_before_saving_a_duplicate(world, client):
    first, _ = workorders.create_work_order(
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
    again = client.post("/hotline/intake/", complaint_post(account_no="5100000001"))
    html = again.content.decode()
    assert again.status_code == 422 and first.number in html and 'name="confirm_new"' in html
    assert WorkOrder.objects.count() == 1
    confirmed = client.post("/hotline/intake/", complaint_post(account_no="5100000001", confirm_new="1"))
    assert confirmed.status_code == 200 and WorkOrder.objects.count() == 2


def test_a_repeated_fault_call_says_it_urged_the_open_order(world, client):
    from gridcare.repair import services as repair

    first = repair.report_fault_call(
        actor=world.agent, content="家里没电", customer=world.customer_east
    ).order
    client.force_login(world.agent)
    answer = client.post(
        "/hotline/intake/",
        {
            "order_type": "fault_repair",
            "channel": "hotline",
            "account_no": "5100000001",
            "symptom": "no_power",
            "scope": "single",
            "content": "还是没电",
        },
    ).content.decode()
    assert 'id="order-urged"' in answer and "已催办（第 1 次），未重复建单" in answer
    assert "已受理 <a" not in answer
    assert first.number in answer and WorkOrder.objects.count() == 1


def test_cti_events_act_only_on_calls_in_the_reporters_scope(world, client):
    def send(user, **body):
        token = issue_token(user=user)
        return client.post(
            "/api/v1/calls", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
        )

    west = create_staff(
        username="agent_west", password=world.password, full_name="西座席", roles=[(Role.AGENT, world.west)]
    )
    east = create_staff(
        username="agent_east", password=world.password, full_name="东座席", roles=[(Role.AGENT, world.east)]
    )
    assert send(west, call_id="w-1", event="ringing", caller=UNKNOWN, agent="agent_west").status_code == 200
    send(west, call_id="w-1", event="answered", agent="agent_west")
    # Another unit's agent cannot end, answer or re-ring it: answered as if it did not exist.
    for event in ("ended", "answered", "ringing"):
        refused = send(east, call_id="w-1", event=event, caller=UNKNOWN)
        assert refused.status_code == 404 and refused.json()["code"] == "not_found"
    call = Call.objects.get(call_id="w-1")
    assert call.state == "answered" and call.ended_at is None
    # The city's CTI account covers both units.
    assert send(world.agent, call_id="w-1", event="ended").status_code == 200
    assert Call.objects.get(call_id="w-1").state == "ended"


def test_without_a_call_an_account_outside_the_scope_saves_nothing(world, client):
    east = create_staff(
        username="agent_east", password=world.password, full_name="东座席", roles=[(Role.AGENT, world.east)]
    )
    client.force_login(east)
    refused = client.post("/hotline/intake/", complaint_post(account_no=world.customer_west.account_no))
    assert refused.status_code == 422 and "没有该户号" in refused.content.decode()
    assert not WorkOrder.objects.exists()
