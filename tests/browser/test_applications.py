"""业扩报装 through a real browser: the station's clerk accepts a 10 kV new connection on the 受理
form; the county's account manager records the survey, offers two supply plans and records the
customer's signed choice, takes it through design review (with a customer-caused wait and its
end) and both inspections (the first failing, with a rectification notice that stops its clock
until the customer rectifies); the county's metering staff records the meters and energizes it;
the account manager archives it. At every node the customer's progress answer (the API the
customer's channels read) names the node the page shows. The 95598 agent then records the
callback after acceptance and finds the application on the workspace's lookup."""

from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import expect

from gridcare.org.models import Role
from gridcare.org.services import create_staff


def _progress(page, number: str) -> dict:
    response = page.request.get(f"/api/v1/applications/{number}/progress")
    assert response.ok, response.text()
    return response.json()


def _switch(page, login, username: str) -> None:
    page.context.clear_cookies()
    login(username)


def _act(page, number: str, node: str, action: str, *, reason: str = "", note: str = "") -> None:
    page.goto(f"/applications/{number}/")
    page.click(f'#node-{node} button[data-action="{action}"]')
    form = page.locator("#action-form")
    expect(form).to_be_visible()
    if reason:
        form.locator("select[name=reason]").select_option(reason)
    if note:
        form.locator("textarea[name=note]").fill(note)
    with page.expect_navigation():
        form.locator("#action-submit").click()
    expect(page.locator(".alert-success")).to_be_visible()


def test_a_10kv_connection_from_acceptance_to_energization(page, shot, world, login):
    w = world
    create_staff(
        username="am_county",
        password=w.password,
        full_name="冯经理",
        roles=[(Role.ACCOUNT_MANAGER, w.county)],
    )
    create_staff(
        username="metering_county", password=w.password, full_name="蒋计量", roles=[(Role.METERING, w.county)]
    )

    # 受理 at the station's window.
    login("clerk_east")
    page.get_by_role("link", name="业扩报装", exact=True).first.click()
    page.wait_for_url(re.compile(r"/applications/$"))
    page.click("#accept-link")
    page.select_option("#id_app_type", "new")
    page.select_option("#id_usage_class", "non_residential")
    page.fill("#id_requested_kva", "400")
    page.fill("#id_industry", "食品制造")
    page.fill("#id_applicant_name", "白溪食品有限公司")
    page.select_option("#id_id_type", "business_license")
    page.fill("#id_id_number", "91520100MA6XYZ1234")
    page.fill("#id_address", "城关镇工业园3号")
    page.fill("#id_contact_name", "刘经理")
    page.fill("#id_contact_phone", "139 0000 2222")
    page.fill("input[name=eq-0-name]", "冷库压缩机")
    page.fill("input[name=eq-0-kw]", "75")
    page.fill("input[name=eq-0-count]", "2")
    page.fill("input[name=eq-1-name]", "生产线")
    page.fill("input[name=eq-1-kw]", "180")
    for kind in ("application_form", "identity", "business_license", "property"):
        page.check(f"#doc-{kind}")
    page.check("#doc-business_license-shared")
    page.check("#doc-property-shared")
    shot("accept-form")
    page.click("#accept-submit")
    page.wait_for_url(re.compile(r"/applications/YK\d+/$"))
    number = page.locator("#app-number").inner_text()
    expect(page.locator("#documents")).to_contain_text("一证办电")
    expect(page.locator("#equipment")).to_contain_text("冷库压缩机")
    expect(page.locator("#node-survey")).to_have_attribute("data-state", "open")
    assert "13900002222" not in page.content()  # masked until revealed
    shot("accepted")
    assert _progress(page, number)["current_node"] == "survey"
    # The station's clerk is not offered the county's node.
    expect(page.locator('#node-survey button[data-action="finish"]')).to_have_count(0)

    # The county's account manager: the survey's findings, then the node.
    _switch(page, login, "am_county")
    page.goto(f"/applications/{number}/")
    page.click("#node-survey a:has-text('勘查记录')")
    page.fill("#approved_kva", "400")
    page.fill("#notes", "现场具备10kV接入条件，东风线T接")
    shot("survey")
    with page.expect_navigation():
        page.click("#save-survey")
    expect(page.locator(".alert-success")).to_contain_text("勘查结论已登记")
    _act(page, number, "survey", "finish", note="现场具备10kV接入条件")
    assert _progress(page, number)["current_node"] == "plan_reply"
    # Two supply plans side by side; the customer signs the second.
    page.goto(f"/applications/{number}/plan/")
    for label, source, boundary, cost in (
        ("方案一：架空T接", "城关110kV变电站 10kV东风线", "T接点跌落式熔断器下桩头", "180000"),
        ("方案二：电缆专线", "城关110kV变电站 10kV间隔", "客户配电室进线柜电缆头", "460000"),
    ):
        form = page.locator("#option-form")
        form.locator("input[name=label]").fill(label)
        form.locator("input[name=source]").fill(source)
        form.locator("input[name=property_boundary]").fill(boundary)
        form.locator("select[name=metering]").select_option("hv_hv")
        form.locator("input[name=cost_yuan]").fill(cost)
        form.locator("input[name=construction_days]").fill("40")
        with page.expect_navigation():
            form.locator("#add-option").click()
        page.goto(f"/applications/{number}/plan/")
    row = page.locator("#plan-options tbody tr").nth(1)
    row.locator("input[name=signed_by]").fill("刘经理")
    shot("plan-options")
    with page.expect_navigation():
        row.locator("button").click()
    expect(page.locator(".alert-success")).to_contain_text("客户选定的供电方案已登记")
    _act(page, number, "plan_reply", "finish", note="单电源10kV，电缆专线")
    answer = _progress(page, number)
    assert answer["current_node"] == "design_review"
    assert answer["customer_action"] == "请提交受电工程设计文件送审"

    # The customer's design documents are incomplete: a wait, then its end.
    _act(page, number, "design_review", "wait", reason="documents_missing", note="缺设计单位资质证书")
    answer = _progress(page, number)
    assert answer["current_node"] == "design_review" and "缺设计单位资质证书" in answer["customer_action"]
    page.goto(f"/applications/{number}/progress/")
    expect(page.locator("#progress-current")).to_have_text("设计审核")
    expect(page.locator("#progress-action")).to_contain_text("缺设计单位资质证书")
    shot("progress-waiting")
    _act(page, number, "design_review", "resume", note="资料已补齐")
    _act(page, number, "design_review", "start", note="客户送审")
    shot("design-review-started")
    _act(page, number, "design_review", "finish")
    assert _progress(page, number)["current_node"] == "mid_inspection"
    # 中间检查 fails first: a rectification notice stops only its clock until the customer is done.
    _act(page, number, "mid_inspection", "start", note="客户报验")
    page.goto(f"/applications/{number}/inspections/")
    expect(page.locator("#acceptor")).to_be_visible()
    page.check("#passed-no")
    page.fill("#defects", "电缆沟未按图施工\n接地电阻超标")
    page.fill("#rectify_days", "7")
    with page.expect_navigation():
        page.click("#save-inspection")
    expect(page.locator("#node-mid_inspection")).to_have_attribute("data-state", "waiting")
    assert "接地电阻超标" in _progress(page, number)["customer_action"]
    shot("rectification-notice")
    page.goto(f"/applications/{number}/inspections/")
    with page.expect_navigation():
        page.click("#rectified-mid_inspection")
    for node, following in (
        ("mid_inspection", "completion_inspection"),
        ("completion_inspection", "energize"),
    ):
        if node == "completion_inspection":
            _act(page, number, node, "start", note="客户报验")
        page.goto(f"/applications/{number}/inspections/")
        page.select_option("#node", node)
        page.check("#passed-yes")
        with page.expect_navigation():
            page.click("#save-inspection")
        _act(page, number, node, "finish", note="检验合格")
        assert _progress(page, number)["current_node"] == following
    _act(page, number, "energize", "start", note="合同已签订，费用已结清")
    assert _progress(page, number)["customer_action"] == ""
    shot("energize-open")

    # The county's metering staff records the meters and energizes it.
    _switch(page, login, "metering_county")
    page.goto(f"/applications/{number}/energization/")
    page.fill("input[name=asset_no_0]", "3300012345")
    page.fill("input[name=kind_0]", "三相智能电能表")
    page.fill("input[name=registers_0]", "正向有功总=0, 峰=0, 谷=0")
    page.fill("input[name=ct_ratio]", "50/5")
    page.fill("input[name=pt_ratio]", "10000/100")
    page.fill("input[name=crew]", "县公司装接班")
    with page.expect_navigation():
        page.click("#save-energization")
    expect(page.locator(".alert-success")).to_contain_text("装表接电已登记")
    _act(page, number, "energize", "finish", note="表号 3300012345，首次读数 0")
    assert _progress(page, number)["current_node"] == "archive"
    page.goto(f"/applications/{number}/progress/")
    expect(page.locator("#progress-current")).to_have_text("资料归档")
    shot("progress-energized")

    # The account manager archives it.
    _switch(page, login, "am_county")
    _act(page, number, "archive", "finish")
    answer = _progress(page, number)
    assert answer["state"] == "archived"
    expect(page.locator("#app-state")).to_contain_text("已归档")
    shot("archived")
    page.goto(f"/applications/{number}/progress/")
    expect(page.locator("#progress-current")).to_have_text("已归档")
    shot("progress-archived")

    # The next working day the 95598 center calls the customer back after acceptance (the test
    # moves the callback's window to now, and opens the calling hours round the clock).
    from gridcare.applications.models import ApplicationCallback
    from gridcare.core import clock
    from gridcare.core.models import SettingsRow
    from gridcare.workorders.models import CallbackSetting

    ApplicationCallback.objects.filter(application__number=number).update(
        due_from=clock.now() - dt.timedelta(hours=1), due_at=clock.now() + dt.timedelta(hours=8)
    )
    CallbackSetting.objects.update_or_create(
        pk=CallbackSetting.current().pk or None,
        defaults={"calls_from": dt.time(0, 0), "calls_until": dt.time(23, 59, 59)},
    )
    SettingsRow.forget_all()
    _switch(page, login, "agent")
    page.goto("/applications/callbacks/")
    row = page.locator("#app-callback-table tbody tr", has_text="业务受理").first
    with page.expect_navigation():
        row.locator("a:has-text('回访')").click()
    for code in ("told_procedure", "convenient"):
        page.check(f"#q_{code}_yes")
    page.check("#q_bribery_no")
    page.select_option("#satisfaction", "satisfied")
    page.fill("#note", "客户表示受理人员服务热情")
    shot("callback-form")
    with page.expect_navigation():
        page.click("#outcome-answered")
    expect(page.locator(".alert-success")).to_contain_text("回访已记录")
    shot("callback-recorded")

    # The 95598 agent finds it by the contact phone on the workspace.
    page.goto("/hotline/")
    page.fill("#application-lookup input[name=q]", "13900002222")
    page.click("#application-lookup button[type=submit]")
    expect(page.locator("#application-lookup-results")).to_contain_text(number)
    shot("agent-lookup")
    assert page.gc_js_errors == []
