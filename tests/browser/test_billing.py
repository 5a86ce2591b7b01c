"""Billing through a real browser: the county's billing clerk calculates August on the 电费核算
page, reviews the anomaly the run held back and releases the bills; then a customer calls the
95598 line: the card pops with the bills, and the agent answers "why is my bill so high" from it —
usage up on last month, the days in the period, the kWh in band 2 and how far band 3 is — and
opens the bill itself."""

from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import expect

from gridcare.billing.models import BillingAccount, BillingRun, TariffSchedule
from gridcare.billing.tests.conftest import past_bill, read
from gridcare.customers.models import Meter
from gridcare.org.models import Role
from gridcare.org.services import create_staff, issue_token

from .test_hotline import post_call

D = dt.date


def billing_world(w):
    create_staff(
        username="billing_county",
        password=w.password,
        full_name="孙核算",
        roles=[(Role.BILLING_CLERK, w.county)],
    )
    residential = TariffSchedule.objects.get(code="zj-residential")
    east = Meter.objects.create(customer=w.customer_east, meter_no="M-E-1")
    west = Meter.objects.create(customer=w.customer_west, meter_no="M-W-1")
    for customer in (w.customer_east, w.customer_west):
        BillingAccount.objects.create(customer=customer, schedule=residential)
    # East: 610 kWh last August; 2,100 kWh in June; 400 kWh over a short July; 620 kWh now.
    past_bill(w.customer_east, D(2025, 8, 1), D(2025, 7, 26), D(2025, 8, 25), 610, "328.18")
    past_bill(w.customer_east, D(2026, 6, 1), D(2026, 5, 26), D(2026, 6, 25), 2100, "1129.80")
    past_bill(
        w.customer_east, D(2026, 7, 1), D(2026, 6, 26), D(2026, 7, 23), 400, "215.20", year_kwh_before=2100
    )
    read(east, D(2026, 7, 23), "5000")
    read(east, D(2026, 8, 25), "5620")
    past_bill(w.customer_west, D(2026, 7, 1), D(2026, 6, 26), D(2026, 7, 23), 55, "29.59")
    read(west, D(2026, 7, 23), "100")
    read(west, D(2026, 8, 25), "160")


def test_a_clerk_releases_august_and_an_agent_explains_a_high_bill(page, shot, world, login, live_server):
    w = world
    billing_world(w)

    # The billing clerk calculates August for the county.
    login("billing_county")
    page.get_by_role("link", name="电费核算", exact=True).first.click()
    page.wait_for_url(re.compile(r"/billing/runs/$"))
    page.select_option("#run-unit", str(w.county.pk))
    page.fill("#run-period", "2026-08")
    with page.expect_navigation():
        page.click("#calculate")
    expect(page.locator(".alert-success")).to_contain_text("已核算2户")
    expect(page.locator("#run-anomalies")).to_have_text("1")
    expect(page.locator("#anomalies")).to_contain_text("电量波动超阈值")
    shot("run-held-for-review")
    # Releasing with the anomaly open is refused with the reason.
    with page.expect_navigation():
        page.click("#release")
    expect(page.locator(".alert-danger, .alert-error, .alert-warning").first).to_contain_text("未审核")
    row = page.locator("#anomalies tbody tr").first
    row.locator("input[name=note]").fill("空调用电增加，已电话核实")
    with page.expect_navigation():
        row.locator("button[value=accept]").click()
    expect(page.locator("#run-anomalies")).to_have_text("0")
    with page.expect_navigation():
        page.click("#release")
    expect(page.locator(".alert-success")).to_contain_text("电费已发行")
    expect(page.locator("#run-state")).to_have_text("已发行")
    shot("run-released")
    assert BillingRun.objects.get().state == "released"

    # A customer calls: the card pops with the bills; the agent answers why it is high.
    page.context.clear_cookies()
    login("agent")
    page.goto("/hotline/")
    page.click("#agent-state-form button[value=ready]")
    page.wait_for_selector("#agent-state:has-text('空闲')")
    post_call(
        live_server,
        issue_token(user=w.agent, name="CTI"),
        call_id="cti-bill-1",
        event="ringing",
        caller="13812341234",
        called_line="95598",
        agent="agent",
    )
    page.wait_for_selector("#customer-card #card-name:has-text('张建国')", timeout=5000)
    card = page.locator("#customer-billing")
    expect(card.locator("#billing-arrears")).to_have_text("351.56")
    expect(card.locator("#billing-bills")).to_contain_text("2026-08")
    card.locator("#why-high").click()
    reasons = page.locator("#explanation-reasons")
    expect(reasons).to_contain_text("比上期多220.00千瓦时（+55%）")
    expect(reasons).to_contain_text("按第二档及以上阶梯电价计费")
    expect(reasons).to_contain_text("本期计费33天，上期28天")
    expect(page.locator("#explanation-tier")).to_contain_text("距下一档还有 1680.00 千瓦时")
    page.locator("#customer-billing").scroll_into_view_if_needed()
    shot("agent-why-high")

    # The bill itself, as the customer receives it.
    with page.expect_popup() as popup:
        card.locator("#billing-bills a").first.click()
    bill = popup.value
    bill.wait_for_load_state()
    expect(bill.locator("#bill-amount")).to_have_text("351.56")
    expect(bill.locator("#bill-lines")).to_contain_text("浙江居民年阶梯")
    bill.screenshot(path=str(shot.directory / "bill-page.png"), full_page=True)
