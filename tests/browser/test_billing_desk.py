"""The billing desk through a real browser: a counter cashier (收费员 of the east station) looks a
customer up on 柜台收费 (the tabs a billing clerk works in are not shown), sees two open bills and the late fee owed today, takes the money
with a double click on 确认收费 — one payment, not two — and reads the receipt: the late fee, each
bill and the credit, adding up to what was taken, with no reversal on it (a billing clerk's)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from playwright.sync_api import expect

from gridcare.billing.models import Allocation, BillingAccount, BillState, Payment, TariffSchedule
from gridcare.billing.tests.conftest import past_bill
from gridcare.core import clock
from gridcare.org.models import Role
from gridcare.org.services import create_staff


def owing(customer, period: dt.date, amount: str, due: dt.date):
    bill = past_bill(customer, period, period, period.replace(day=25), 200, amount, state=BillState.OPEN)
    bill.due_on = due
    bill.save(update_fields=["due_on"])
    return bill


def desk_world(w):
    create_staff(
        username="cashier_east", password=w.password, full_name="钱收费", roles=[(Role.CASHIER, w.east)]
    )
    residential = TariffSchedule.objects.get(code="zj-residential")
    BillingAccount.objects.create(customer=w.customer_east, schedule=residential, arrears=Decimal("420.00"))
    today = clock.local(clock.now()).date()
    this_month = today.replace(day=1)
    last_month = (this_month - dt.timedelta(days=1)).replace(day=1)
    before = (last_month - dt.timedelta(days=1)).replace(day=1)
    # 300.00 ten days overdue: 10 × 300 × 1‰ = 3.00 today; 120.00 not yet due.
    owing(w.customer_east, before, "300.00", today - dt.timedelta(days=10))
    owing(w.customer_east, last_month, "120.00", today + dt.timedelta(days=5))


def test_a_cashier_takes_a_payment_at_the_counter_and_reads_the_receipt(page, shot, world, login):
    w = world
    desk_world(w)
    login("cashier_east")
    page.get_by_role("link", name="收费", exact=True).first.click()
    page.wait_for_url(re.compile(r"/billing/desk/$"))
    page.fill("#lookup-account", w.customer_east.account_no)
    with page.expect_navigation():
        page.click("#lookup")
    expect(page.locator("#desk-customer")).to_contain_text("张*国")
    expect(page.locator("#desk-due")).to_have_text("423.00")
    expect(page.locator("#desk-late-fees")).to_have_text("3.00")
    expect(page.locator("#desk-bills tbody tr")).to_have_count(2)
    expect(page.locator("#desk-tabs")).to_contain_text("缴费记录")
    expect(page.locator("#desk-tabs")).not_to_contain_text("对账")
    shot("counter-lookup")

    page.fill("#pay-amount", "500.00")
    with page.expect_navigation(url=re.compile(r"/billing/desk/receipts/SK\d+/$")):
        page.dblclick("#pay")  # an impatient double click
    expect(page.locator("#receipt-amount")).to_have_text("500.00")
    expect(page.locator("#receipt-total")).to_have_text("500.00")
    rows = page.locator("#receipt-parts tbody tr")
    expect(rows).to_have_count(5)  # late fee, two bills, credit, total
    expect(rows.nth(0)).to_contain_text("违约金")
    expect(rows.nth(0)).to_contain_text("3.00")
    expect(rows.nth(3)).to_contain_text("预存")
    expect(rows.nth(3)).to_contain_text("77.00")
    expect(page.locator("#reverse-form")).to_have_count(0)
    shot("receipt")

    assert Payment.objects.count() == 1
    payment = Payment.objects.get()
    assert (
        sum(a.amount for a in Allocation.objects.filter(payment=payment))
        == payment.amount
        == Decimal("500.00")
    )

    # Back at the counter: nothing owed, the credit shown, the receipt among the recent payments.
    with page.expect_navigation():
        page.click("#back-to-desk")
    expect(page.locator("#desk-due")).to_have_text("0.00")
    expect(page.locator("#desk-credit")).to_have_text("77.00")
    expect(page.get_by_role("link", name=payment.receipt_no)).to_be_visible()
    shot("counter-after")
    assert not page.gc_js_errors
