"""The hotline agent's whole flow in a real browser (issue #6).

A simulated CTI call pops the customer; the agent answers from the knowledge base, urges the open
complaint instead of duplicating it, takes a fault call that links to the open outage event, wraps
up, and hands over the shift. Screenshots of each step are kept in test-artifacts/browser/.
Timings (call event → customer card; save → order shown) are printed for the issue's figures.
"""

import datetime as dt
import json
import os
import time
import urllib.request

import pytest
from django.core.management import call_command

from gridcare.core import clock
from gridcare.core.models import AuditLog
from gridcare.customers.models import Customer, CustomerPhone
from gridcare.customers.services import refresh_search_text
from gridcare.hotline.models import Call, ReturnCall, ShiftHandover
from gridcare.org.services import issue_token
from gridcare.repair import services as repair
from gridcare.repair.models import FaultEvent
from gridcare.workorders import services as workorders
from gridcare.workorders.models import WorkOrder

# The issue's targets are 1 s (screen pop) and 500 ms (save → shown), measured on PostgreSQL on a
# quiet machine; the test prints the figures and fails only past the target times this slack, so a
# loaded CI machine does not make it flaky (docs/benchmarks.md: these machines vary 2–3× day to day).
SLACK = float(os.environ.get("GRIDCARE_TIMING_SLACK", "3"))


def post_call(live_server, token, **body):
    request = urllib.request.Request(
        live_server.url + "/api/v1/calls",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 (the local live server)
        return json.loads(response.read())


@pytest.fixture
def hotline_world(world):
    call_command("seed_knowledge", verbosity=0)
    for i in range(4):  # neighbours under the same transformer area report no power → an outage event
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
        repair.report_fault_call(actor=world.agent, content="家里没电", customer=c)
    repair.run_analysis()
    world.event = FaultEvent.objects.get()
    world.complaint, _ = workorders.create_work_order(
        actor=world.agent,
        intake=workorders.Intake(
            order_type="complaint",
            channel="hotline",
            content="电费突然变高，怀疑电表有问题",
            customer=world.customer_east,
            complaint_class="business",
        ),
    )
    world.cti_token = issue_token(user=world.agent, name="CTI")
    return world


def test_agent_flow_from_ring_to_handover(page, login, shot, live_server, hotline_world):
    w = hotline_world
    login("agent")
    page.goto("/hotline/")
    page.click("#agent-state-form button[value=ready]")
    page.wait_for_selector("#agent-state:has-text('空闲')")
    shot("ready")

    # 1. The CTI reports a ringing call: the customer card pops without a reload.
    started = time.monotonic()
    post_call(
        live_server,
        w.cti_token,
        call_id="cti-0001",
        event="ringing",
        caller="13812341234",
        called_line="95598",
        agent="agent",
    )
    page.wait_for_selector("#customer-card #card-name:has-text('张建国')", timeout=5000)
    pop_ms = (time.monotonic() - started) * 1000
    print(f"\n[figure] call event → customer card shown: {pop_ms:.0f} ms")
    assert pop_ms < 1000 * SLACK
    assert page.locator("#call-info").inner_text().count("138****1234") == 1
    post_call(live_server, w.cti_token, call_id="cti-0001", event="answered", agent="agent")
    page.wait_for_selector("#call-info:has-text('通话中')")
    shot("screen-pop")

    # 2. Answer from the knowledge base (keyboard: Alt+K focuses its search box).
    page.wait_for_selector("#kb-panel input[name=q]")
    page.keyboard.press("Alt+k")
    page.keyboard.type("电费怎么交")
    page.keyboard.press("Enter")
    page.wait_for_selector("#kb-panel .gc-answer")
    page.click("#kb-panel .gc-kb-feedback button.btn-outline-success")
    page.wait_for_selector("#kb-panel .gc-kb-feedback:has-text('已记录')", timeout=5000)
    shot("kb-answer")

    # 3. The caller asks about his complaint again: urge it instead of a duplicate.
    page.select_option("#ws-order-type", "complaint")
    page.wait_for_selector("#dup-suggestion")
    assert w.complaint.number in page.locator("#dup-suggestion").inner_text()
    page.click("#urge-btn")
    page.wait_for_selector("#ws-message:has-text('未重复建单')")
    shot("urged-instead")
    w.complaint.refresh_from_db()
    assert w.complaint.urge_count == 1 and WorkOrder.objects.filter(order_type="complaint").count() == 1

    # 4. And reports no power: the form knows the open outage event; saving links to it.
    page.select_option("#ws-order-type", "fault_repair")
    page.wait_for_selector("#known-event")
    assert w.event.number in page.locator("#known-event").inner_text()
    page.select_option("#ws-scope", "building")
    page.fill("#ws-content", "整栋楼都没电了")
    started = time.monotonic()
    page.click("#ws-save")
    page.wait_for_selector("#order-created #created-number")
    save_ms = (time.monotonic() - started) * 1000
    print(f"[figure] save → order created and shown: {save_ms:.0f} ms")
    assert save_ms < 500 * SLACK
    assert w.event.number in page.locator("#linked-event").inner_text()
    shot("fault-linked")
    assert FaultEvent.objects.count() == 1

    # 5. The call ends; wrap up with a code.
    post_call(live_server, w.cti_token, call_id="cti-0001", event="ended")
    page.wait_for_selector("#wrap-up-form")
    page.select_option("#wrap-up-form select[name=code]", "FAULT")
    page.click("#wrap-up-form button")
    page.wait_for_selector("#agent-state:has-text('空闲')")
    call = Call.objects.get(call_id="cti-0001")
    assert call.wrap_up.code == "FAULT" and call.work_orders.count() == 2
    shot("wrapped-up")

    # 6. Shift end: hand the open items over (Alt+H opens the handover page).
    page.keyboard.press("Alt+h")
    page.wait_for_url("**/hotline/handover/")
    assert w.complaint.number in page.locator("#open-items").inner_text()
    page.fill("#handover-form textarea", "城东东风1号台区停电抢修中，张建国投诉已催办，请跟进回访。")
    page.click("#handover-form button")
    page.wait_for_selector("#open-items")
    shot("handed-over")
    handover = ShiftHandover.objects.get()
    assert w.complaint.number in [i["number"] for i in handover.open_items]
    assert not page.gc_js_errors


def test_workspace_fits_1366_by_768(page, login, hotline_world):
    login("agent")
    page.goto("/hotline/?account_no=5100000001")
    page.wait_for_selector("#customer-card")
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0


def test_a_new_call_from_an_unknown_number_starts_from_a_clean_card_and_form(
    page, login, shot, live_server, hotline_world
):
    """Issue #14: after a call from a known customer is wrapped up, the next call from an unknown
    number shows no card, the form names no customer, and the order saved attaches to nobody."""
    w = hotline_world
    login("agent")
    page.goto("/hotline/")
    page.click("#agent-state-form button[value=ready]")
    page.wait_for_selector("#agent-state:has-text('空闲')")

    post_call(
        live_server, w.cti_token, call_id="cti-k1", event="ringing", caller="13812341234", agent="agent"
    )
    page.wait_for_selector("#customer-card #card-name:has-text('张建国')", timeout=5000)
    post_call(live_server, w.cti_token, call_id="cti-k1", event="answered", agent="agent")
    page.wait_for_selector("#ws-intake input[name=account_no][value='5100000001']", state="attached")
    shot("known-caller")
    post_call(live_server, w.cti_token, call_id="cti-k1", event="ended")
    page.wait_for_selector("#wrap-up-form")
    page.select_option("#wrap-up-form select[name=code]", "BILL")
    page.click("#wrap-up-form button")
    page.wait_for_selector("#agent-state:has-text('空闲')")

    post_call(
        live_server, w.cti_token, call_id="cti-k2", event="ringing", caller="13700001111", agent="agent"
    )
    page.wait_for_selector("#call-info:has-text('137****1111')", timeout=5000)
    page.wait_for_selector("#customer-empty", timeout=5000)
    assert page.locator("#customer-card").count() == 0
    page.wait_for_selector("#ws-intake .form-text:has-text('137****1111')", timeout=5000)
    assert page.locator("#ws-intake input[name=account_no]").input_value() == ""
    assert "张建国" not in page.locator("#intake-slot").inner_text()
    assert "138****1234" not in page.locator("#intake-slot").inner_text()
    shot("unknown-caller-clean")

    post_call(live_server, w.cti_token, call_id="cti-k2", event="answered", agent="agent")
    page.select_option("#ws-order-type", "consultation")
    page.wait_for_selector("#ws-intake input[name=order_type][value=consultation]", state="attached")
    page.fill("#ws-address", "城关镇西湖路8号")
    page.fill("#ws-content", "咨询峰谷电价")
    page.click("#ws-save")
    page.wait_for_selector("#order-created #created-number")
    shot("saved-without-customer")
    order = WorkOrder.objects.get(order_type="consultation")
    assert order.customer_id is None and order.caller_phone == "13700001111"
    assert list(Call.objects.get(call_id="cti-k2").work_orders.all()) == [order]
    assert not page.gc_js_errors


def test_the_agent_calls_back_a_caller_who_abandoned(page, login, shot, live_server, world):
    """Issue #17: a caller hangs up in the queue; the agent finds them on the call-back list
    (masked), sees the number on an audited reveal, records an unreachable attempt, then a
    successful call-back — each by htmx, without reloading the page."""
    token = issue_token(user=world.agent, name="CTI")
    queued = clock.local(clock.now()) - dt.timedelta(minutes=5)
    post_call(live_server, token, call_id="cb-1", event="queued", caller="13700002222", at=queued.isoformat())
    abandoned = (queued + dt.timedelta(seconds=50)).isoformat()  # waited 50 s: not a short abandon
    post_call(live_server, token, call_id="cb-1", event="abandoned", at=abandoned)
    login("agent")
    page.goto("/hotline/")
    page.click("#return-calls-link")
    row = page.locator("#return-calls tbody tr").first
    row.locator("text=137****2222").wait_for()
    assert "13700002222" not in page.content()
    page.evaluate("window.gcMark = true")
    shot("call-back-list")
    row.get_by_role("button", name="查看号码").click()
    page.wait_for_selector("#return-calls :text('13700002222')")
    assert AuditLog.objects.filter(action=AuditLog.Action.VIEW_SENSITIVE).count() == 1
    row.locator("input[name=note]").fill("无人接听")
    row.get_by_role("button", name="回拨未接通").click()
    page.wait_for_selector("#return-calls tr[data-state=unreachable]")
    page.locator("#return-calls tr[data-state=unreachable] button[value=called_back]").click()
    page.wait_for_selector("#return-calls tr[data-state=done]")
    shot("called-back")
    assert page.evaluate("window.gcMark") is True
    entry = ReturnCall.objects.get()
    assert entry.state == "done" and entry.attempts == 2 and entry.called_back_by == world.agent
    assert not page.gc_js_errors
