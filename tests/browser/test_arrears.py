"""Arrears disconnection through a real browser: the east station's billing clerk checks a shop
that owes a bill overdue for more than 30 days (reminded, no exemption) and opens a case; records
the notice's delivery with its proof; three days later tries the cut, is told the shop must be
called first, records the call and sends the field order; the shop pays at the counter the next
morning and the case shows the reconnection due within 24 hours; the clerk records it. The case
list shows each state on the way."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from playwright.sync_api import expect

from gridcare.billing import arrears, payments
from gridcare.billing.models import (
    Bill,
    BillingAccount,
    BillState,
    Channel,
    DailyUsage,
    DisconnectionCase,
    PrepaidAccount,
    PrepaidCommand,
    TariffSchedule,
)
from gridcare.core import clock
from gridcare.customers.models import Customer, CustomerPhone
from gridcare.org.models import Role, User
from gridcare.org.services import create_staff


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=clock.LOCAL_TZ)


def a_shop_in_arrears(w) -> Customer:
    create_staff(
        username="billing_east", password=w.password, full_name="陈核算", roles=[(Role.BILLING_CLERK, w.east)]
    )
    shop = Customer.objects.create(
        account_no="5100000009",
        name="东风五金店",
        transformer_area=w.area_east,
        station=w.east,
        customer_class=Customer.CustomerClass.NON_RESIDENTIAL,
        tariff_category=Customer.TariffCategory.GENERAL_BUSINESS,
    )
    CustomerPhone.objects.create(customer=shop, number="13700001111", is_primary=True)
    BillingAccount.objects.create(
        customer=shop, schedule=TariffSchedule.objects.get(code="zj-residential"), arrears=Decimal("860.00")
    )
    Bill.objects.create(
        number="B5100000009202601",
        customer=shop,
        period=dt.date(2025, 12, 1),
        state=BillState.OPEN,
        period_start=dt.date(2025, 12, 1),
        period_end=dt.date(2025, 12, 31),
        amount=Decimal("860.00"),
        issued_on=dt.date(2026, 1, 5),
        due_on=dt.date(2026, 1, 20),
    )
    return shop


def test_a_clerk_walks_a_disconnection_from_the_notice_to_the_reconnection(page, shot, world, login):
    w = world
    shop = a_shop_in_arrears(w)
    with clock.frozen(at("2026-03-02 09:00")) as frozen:
        arrears.send_reminders()
        login("billing_east")
        page.get_by_role("link", name="欠费停复电", exact=True).first.click()
        page.wait_for_url(re.compile(r"/billing/disconnections/$"))
        page.click("#case-new-link")
        page.fill("#lookup-account", "5100000009")
        with page.expect_navigation():
            page.click("#lookup")
        expect(page.locator("#new-arrears")).to_have_text("860.00")
        expect(page.locator("#new-bills")).to_contain_text("已催费")
        expect(page.locator("#new-exemptions")).to_contain_text("无豁免情形")
        shot("check-before-opening")
        with page.expect_navigation():
            page.click("#propose")
        expect(page.locator(".alert-success")).to_contain_text("请送达停电通知")
        expect(page.locator("#case-state")).to_have_text("拟停电")

        # The notice, with its proof of delivery.
        frozen.advance(minutes=20)  # inside the session's idle time
        page.fill("#notice-at", "2026-03-02T09:15")
        page.fill("#notice-proof", "挂号信 XA001（店主签收）")
        with page.expect_navigation():
            page.click("#record-notice")
        expect(page.locator("#case-state")).to_have_text("已送达通知")
        expect(page.locator("#step-notice")).to_contain_text("挂号信 XA001")
        expect(page.locator("#step-notice")).to_contain_text("最早停电 2026-03-05 09:15")
        expect(page.locator("#cut-hint")).to_contain_text("通知期未满")
        shot("notice-delivered")

        # Three days on: the cut is refused until the shop has been called.
        frozen.advance(days=3, hours=1)  # 2026-03-05 10:20
        login("billing_east")
        page.goto("/billing/disconnections/?state=call_due")
        expect(page.locator("#cases")).to_contain_text("5100000009")
        page.locator("#cases tbody tr").first.click()
        page.wait_for_url(re.compile(r"/billing/disconnections/TD"))
        with page.expect_navigation():
            page.click("#execute")
        expect(page.locator(".alert-danger")).to_contain_text("非居民客户停电前须电话告知")
        shot("cut-refused-without-call")
        page.fill("#call-at", "2026-03-05T08:30")
        with page.expect_navigation():
            page.click("#record-call")
        with page.expect_navigation():
            page.click("#execute")
        expect(page.locator(".alert-success")).to_contain_text("已执行停电")
        expect(page.locator("#case-state")).to_have_text("已停电")
        expect(page.locator("#step-cut")).to_contain_text("现场工单")
        shot("cut-by-field-order")

        # The shop pays at the counter the next morning (with the late fee).
        frozen.advance(hours=23)  # 2026-03-06 09:20
        payments.post_payment(
            customer=shop,
            channel=Channel.COUNTER,
            reference="GT-0306-01",
            amount=Decimal("1000.00"),
            paid_at=clock.now(),
        )
        frozen.advance(minutes=5)
        login("billing_east")
        page.goto("/billing/disconnections/?state=reconnecting")
        expect(page.locator("#cases")).to_contain_text("复电时限 2026-03-07 09:20")
        shot("list-reconnection-due")
        page.locator("#cases tbody tr a").first.click()
        page.wait_for_url(re.compile(r"/billing/disconnections/TD"))
        expect(page.locator("#case-state")).to_have_text("待复电")
        with page.expect_navigation():
            page.click("#record-reconnected")
        expect(page.locator("#case-state")).to_have_text("已复电")
        expect(page.locator("#case-history")).to_contain_text("欠费缴清")
        shot("reconnected")
    case = DisconnectionCase.objects.get()
    assert case.state == DisconnectionCase.State.RECONNECTED and case.reconnected_at == at("2026-03-06 09:25")
    assert not page.gc_js_errors


def test_a_manager_reads_the_533_bulletin_adds_a_guarantee_and_sees_prepaid_accounts(
    page, shot, world, login
):
    """The county's manager: the noon "533" bulletin flags the east station's overdue
    reconnection (and prints); a cold wave brings a county-wide 保电; the 费控 list shows a
    household below zero under that 保电, and its page its usage chart and commands."""
    w = world
    shop = a_shop_in_arrears(w)
    create_staff(
        username="county_mgr", password=w.password, full_name="罗经理", roles=[(Role.MANAGER, w.county)]
    )
    billing = User.objects.get(username="billing_east")
    with clock.frozen(at("2026-03-02 09:00")):
        arrears.send_reminders()
        case = arrears.propose_disconnection(shop, actor=billing)
        arrears.record_notice(case, delivered_at=at("2026-03-02 09:00"), proof="回执", actor=billing)
    with clock.frozen(at("2026-03-20 09:00")):
        arrears.record_call(case, at("2026-03-20 07:00"), billing)
        arrears.execute(case, actor=billing, at=clock.now())
    Bill.objects.filter(customer=shop).update(state=BillState.PAID)
    BillingAccount.objects.filter(customer=shop).update(arrears=Decimal("0"))
    arrears.on_paid(shop.pk, at("2026-03-27 09:00"))
    BillingAccount.objects.create(
        customer=w.customer_east, schedule=TariffSchedule.objects.get(code="zj-residential")
    )
    prepaid_east = PrepaidAccount.objects.create(
        customer=w.customer_east, balance=Decimal("-8.40"), state=PrepaidAccount.State.NEGATIVE
    )
    for n in range(30):
        day = dt.date(2026, 2, 26) + dt.timedelta(days=n)
        DailyUsage.objects.create(
            customer=w.customer_east,
            day=day,
            kwh=Decimal("12.00") + n % 5,
            peak_kwh=Decimal("7.00") + n % 5,
            flat_kwh=Decimal("0"),
            valley_kwh=Decimal("5.00"),
        )
    PrepaidCommand.objects.create(
        account=prepaid_east,
        kind="trip",
        reason="保电期间不停电：极端天气（至2026-03-31 00:00）",
        sent_at=at("2026-03-28 11:00"),
        result="blocked",
    )
    with clock.frozen(at("2026-03-28 12:30")) as frozen:
        run = arrears.run_533()
        login("county_mgr")
        page.goto("/billing/supervision/")
        expect(page.locator("#runs-533")).to_contain_text("2026-03-28")
        page.locator("#runs-533 tbody tr a").first.click()
        page.wait_for_url(re.compile(rf"/billing/supervision/{run.pk}/$"))
        expect(page.locator("#unit-S01 tr.overdue")).to_contain_text(case.number)
        expect(page.locator("#bulletin-late")).to_have_text("1")
        shot("533-bulletin")
        with page.expect_popup() as popup:
            page.click("#print-link")
        printed = popup.value
        printed.wait_for_load_state()
        expect(printed.locator("#unit-S01")).to_contain_text(case.number)
        printed.screenshot(path=str(shot.directory / "533-printable.png"), full_page=True)
        printed.close()

        frozen.advance(minutes=5)
        page.goto("/billing/guarantees/")
        page.select_option("#g-target", "unit")
        page.select_option("#g-unit", str(w.county.pk))
        page.select_option("#g-reason", "weather")
        page.fill("#g-note", "寒潮红色预警")
        page.fill("#g-end", "2026-03-31T00:00")
        with page.expect_navigation():
            page.click("#add-guarantee")
        expect(page.locator(".alert-success")).to_contain_text("城关县供电公司")
        expect(page.locator("#guarantees")).to_contain_text("寒潮红色预警")
        shot("guarantee-added")

        page.goto("/billing/prepaid/")
        row = page.locator("#prepaid-5100000001")
        expect(row).to_contain_text("-8.40")
        expect(row).to_contain_text("欠费待停")
        expect(row).to_contain_text("保电中")
        shot("prepaid-list")
        row.locator("a").first.click()
        page.wait_for_url(re.compile(r"/billing/prepaid/5100000001/$"))
        expect(page.locator("#commands")).to_contain_text("保电拦截")
        page.wait_for_selector("#usage-chart canvas")
        shot("prepaid-account")
    assert not page.gc_js_errors
