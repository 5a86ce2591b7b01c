"""Payments and late fees, amounts worked out by hand."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import pytest
from django.db import connection

from gridcare.billing import latefees, payments
from gridcare.billing.models import (
    Allocation,
    Bill,
    BillingAccount,
    BillState,
    DisconnectionCase,
    LateFeeRule,
    Payment,
)
from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.customers.models import Customer

from .conftest import at, past_bill

D = Decimal


def owing(customer, period, amount, due, **kw):
    bill = past_bill(
        customer, period, period, period.replace(day=25), 100, amount, state=BillState.OPEN, **kw
    )
    bill.due_on = due
    bill.save(update_fields=["due_on"])
    BillingAccount.objects.filter(customer=customer).update(
        arrears=D(amount)
        + sum(
            b.amount - b.paid
            for b in Bill.objects.filter(customer=customer, state=BillState.OPEN).exclude(pk=bill.pk)
        )
    )
    return bill


def pay(customer, amount, when, ref, channel="counter", **kw):
    with clock.frozen(when):
        return payments.post_payment(
            customer=customer, channel=channel, reference=ref, amount=D(amount), paid_at=when, **kw
        )


def fee_of(bill):
    bill.refresh_from_db()
    return bill.late_fee_charged


@pytest.mark.django_db
def test_a_residential_late_fee_is_one_per_mille_a_day_to_the_payment_day(bw):
    w = bw
    bill = owing(w.customer_east, dt.date(2026, 2, 1), "300.00", dt.date(2026, 3, 10))
    # 11–20 March: 10 days × 300 × 1‰ = 3.00; the fee first, then the bill.
    assert latefees.owed(bill, dt.date(2026, 3, 20)) == D("3.00")
    payment, created = pay(w.customer_east, "303.00", at(2026, 3, 20, 10, 0), "C-1")
    assert created
    assert [(a.part, a.amount) for a in payment.allocations.order_by("id")] == [
        ("late_fee", D("3.00")),
        ("bill", D("300.00")),
    ]
    bill.refresh_from_db()
    assert (bill.state, bill.paid_on, bill.late_fee_charged, bill.late_fee_paid) == (
        BillState.PAID,
        dt.date(2026, 3, 20),
        D("3.00"),
        D("3.00"),
    )
    assert BillingAccount.objects.get(customer=w.customer_east).arrears == 0


@pytest.mark.django_db
def test_other_customers_pay_two_per_mille_this_year_and_three_after_the_year_boundary(bw):
    w = bw
    Customer.objects.filter(pk=w.customer_east.pk).update(
        customer_class=Customer.CustomerClass.NON_RESIDENTIAL
    )
    w.customer_east.refresh_from_db()
    bill = owing(w.customer_east, dt.date(2025, 11, 1), "1000.00", dt.date(2025, 12, 20))
    # 21–31 Dec: 11 days × 2‰ × 1,000 = 22.00; 1–10 Jan: 10 days × 3‰ × 1,000 = 30.00.
    assert latefees.owed(bill, dt.date(2026, 1, 10)) == D("52.00")
    assert latefees.owed(bill, dt.date(2025, 12, 31)) == D("22.00")


@pytest.mark.django_db
def test_a_fee_under_one_yuan_is_charged_as_one_yuan(bw):
    w = bw
    bill = owing(w.customer_east, dt.date(2026, 2, 1), "50.00", dt.date(2026, 3, 10))
    # 2 days × 50 × 1‰ = 0.10 → 1.00; nothing on the due date itself.
    assert latefees.owed(bill, dt.date(2026, 3, 10)) == 0
    assert latefees.owed(bill, dt.date(2026, 3, 12)) == D("1.00")


@pytest.mark.django_db
def test_a_rule_change_inside_the_period_counts_each_day_at_its_rule(bw):
    w = bw
    LateFeeRule.objects.create(
        effective_from=dt.date(2026, 3, 15),
        label="测试：新费率",
        residential_per_day=D("0.0005"),
        current_year_per_day=D("0.001"),
        prior_years_per_day=D("0.0015"),
    )
    bill = owing(w.customer_east, dt.date(2026, 2, 1), "300.00", dt.date(2026, 3, 10))
    # 11–14 March at 1‰: 4 × 0.30 = 1.20; 15–20 March at 0.5‰: 6 × 0.15 = 0.90.
    assert latefees.owed(bill, dt.date(2026, 3, 20)) == D("2.10")


@pytest.mark.django_db
def test_a_partial_payment_lowers_the_principal_from_the_next_day(bw):
    w = bw
    bill = owing(w.customer_east, dt.date(2026, 2, 1), "300.00", dt.date(2026, 3, 10))
    # 15 March: 5 days × 0.30 = 1.50 fee, then 148.50 of the bill: 151.50 still owed.
    pay(w.customer_east, "150.00", at(2026, 3, 15, 9, 0), "C-1")
    bill.refresh_from_db()
    assert (bill.paid, bill.late_fee_charged, bill.late_fee_paid) == (D("148.50"), D("1.50"), D("1.50"))
    # 16–25 March: 10 days × 151.50 × 1‰ = 1.515; the total 3.015 → 3.02, 1.52 of it still to pay.
    assert latefees.owed(bill, dt.date(2026, 3, 25)) == D("1.52")
    pay(w.customer_east, "153.02", at(2026, 3, 25, 9, 0), "C-2")
    bill.refresh_from_db()
    assert (bill.state, bill.late_fee_charged, bill.late_fee_paid) == (BillState.PAID, D("3.02"), D("3.02"))


@pytest.mark.django_db
def test_a_waiver_needs_another_approver_and_stops_the_fee(bw):
    w = bw
    bill = owing(w.customer_east, dt.date(2026, 2, 1), "300.00", dt.date(2026, 3, 10))
    with clock.frozen(at(2026, 3, 20, 9, 0)):
        with pytest.raises(ApiError) as refused:
            latefees.waive(bill, reason="低保户", requested_by=w.billing_east, approved_by=w.billing_east)
        assert refused.value.status == 403
        waiver = latefees.waive(
            bill, reason="低保户困难", requested_by=w.billing_east, approved_by=w.billing_county
        )
    assert waiver.amount == D("3.00")
    bill.refresh_from_db()
    assert latefees.owed(bill, dt.date(2026, 4, 30)) == 0
    payment, _ = pay(w.customer_east, "300.00", at(2026, 4, 30, 9, 0), "C-1")
    bill.refresh_from_db()
    assert bill.state == BillState.PAID and [a.part for a in payment.allocations.all()] == ["bill"]


@pytest.mark.django_db
def test_money_pays_the_oldest_debt_first_then_waits_as_credit(bw):
    w = bw
    october = owing(w.customer_east, dt.date(2026, 10, 1), "100.00", dt.date(2026, 11, 15))
    november = owing(w.customer_east, dt.date(2026, 11, 1), "200.00", dt.date(2026, 12, 15))
    # 10 December: October is 25 days late (16 Nov – 10 Dec): 25 × 0.10 = 2.50; November is not.
    payment, _ = pay(w.customer_east, "350.00", at(2026, 12, 10, 9, 0), "C-1")
    assert [(a.bill_id, a.part, a.amount) for a in payment.allocations.order_by("id")] == [
        (october.pk, "late_fee", D("2.50")),
        (october.pk, "bill", D("100.00")),
        (november.pk, "bill", D("200.00")),
        (None, "credit", D("47.50")),
    ]
    account = BillingAccount.objects.get(customer=w.customer_east)
    assert (account.arrears, account.credit) == (0, D("47.50"))
    assert set(Bill.objects.filter(customer=w.customer_east).values_list("state", flat=True)) == {"paid"}


@pytest.mark.django_db
def test_the_same_request_twice_is_applied_once_and_a_reused_reference_is_refused(bw):
    w = bw
    owing(w.customer_east, dt.date(2026, 10, 1), "100.00", dt.date(2026, 12, 15))
    first, created = pay(w.customer_east, "100.00", at(2026, 12, 1, 9, 0), "BANK-77", channel="online")
    again, created_again = pay(w.customer_east, "100.00", at(2026, 12, 1, 9, 0), "BANK-77", channel="online")
    assert (created, created_again, again.pk) == (True, False, first.pk)
    assert Payment.objects.count() == 1 and Allocation.objects.count() == 1
    with pytest.raises(ApiError) as reused:
        pay(w.customer_east, "90.00", at(2026, 12, 1, 9, 0), "BANK-77", channel="online")
    assert (reused.value.code, reused.value.status) == ("idempotency_key_reused", 409)
    # The same number from another channel is another payment.
    _other, created_other = pay(w.customer_east, "10.00", at(2026, 12, 1, 9, 0), "BANK-77", channel="pos")
    assert created_other


@pytest.mark.django_db
def test_receipts_count_up_by_day_and_a_retry_takes_no_number(bw):
    w = bw
    owing(w.customer_east, dt.date(2026, 10, 1), "100.00", dt.date(2026, 12, 15))
    first, _ = pay(w.customer_east, "60.00", at(2026, 12, 1, 9, 0), "R-1", channel="online")
    # What the posting hands back is what was written: its number, its allocations and bills.
    assert [(a.part, a.bill.number if a.bill else None, a.amount) for a in first.allocations.all()] == [
        ("bill", Bill.objects.get(customer=w.customer_east).number, D("60.00"))
    ]
    stored = Payment.objects.get(pk=first.pk)
    assert stored.receipt_no == first.receipt_no == "SK20261201000001"
    retry, created = pay(w.customer_east, "60.00", at(2026, 12, 1, 9, 0), "R-1", channel="online")
    assert (created, retry.receipt_no) == (False, "SK20261201000001")
    second, _ = pay(w.customer_east, "40.00", at(2026, 12, 1, 9, 5), "R-2", channel="online")
    third, _ = pay(w.customer_east, "5.00", at(2026, 12, 2, 9, 0), "R-3", channel="online")
    assert (second.receipt_no, third.receipt_no) == ("SK20261201000002", "SK20261202000001")
    account = BillingAccount.objects.get(customer=w.customer_east)
    assert (account.arrears, account.credit) == (0, D("5.00"))
    assert Bill.objects.get(customer=w.customer_east).state == "paid"


@pytest.mark.django_db
def test_bad_amounts_and_unknown_accounts_are_refused_whole(bw):
    w = bw
    for amount in ("0", "-5", "10.001"):
        with pytest.raises(ApiError) as bad:
            pay(w.customer_east, amount, at(2026, 12, 1, 9, 0), f"X{amount}")
        assert bad.value.code == "invalid_amount"
    BillingAccount.objects.filter(customer=w.customer_west).delete()
    with pytest.raises(ApiError) as unknown:
        pay(w.customer_west, "10", at(2026, 12, 1, 9, 0), "Y")
    assert unknown.value.code == "no_billing_account"
    assert not Payment.objects.exists()


@pytest.mark.skipif(
    not __import__("os").environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="concurrent writers need PostgreSQL",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_identical_requests_at_once_post_one_payment(bw):
    w = bw
    owing(w.customer_east, dt.date(2026, 10, 1), "100.00", dt.date(2026, 12, 15))
    barrier = threading.Barrier(2)
    results = []

    def one():
        try:
            barrier.wait()
            results.append(pay(w.customer_east, "100.00", clock.now(), "RACE-1", channel="online")[1])
        finally:
            connection.close()

    threads = [threading.Thread(target=one) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [False, True]
    assert Payment.objects.filter(reference="RACE-1").count() == 1
    assert BillingAccount.objects.get(customer=w.customer_east).arrears == 0


@pytest.mark.django_db
def test_a_reversed_payment_reopens_its_bills(bw):
    w = bw
    bill = owing(w.customer_east, dt.date(2026, 10, 1), "100.00", dt.date(2026, 12, 15))
    payment, _ = pay(w.customer_east, "120.00", at(2026, 12, 1, 9, 0), "C-1")
    with clock.frozen(at(2026, 12, 1, 10, 0)):
        payments.reverse_payment(payment, actor=w.billing_east, reason="收款员误操作")
    bill.refresh_from_db()
    account = BillingAccount.objects.get(customer=w.customer_east)
    assert (bill.state, bill.paid, account.arrears, account.credit) == (BillState.OPEN, 0, D("100.00"), 0)
    with pytest.raises(ApiError):
        payments.reverse_payment(payment, actor=w.billing_east, reason="again")


@pytest.mark.django_db
def test_paying_off_a_disconnected_customer_starts_the_reconnection_clock(bw):
    w = bw
    owing(w.customer_east, dt.date(2026, 9, 1), "100.00", dt.date(2026, 10, 15))
    case = DisconnectionCase.objects.create(
        number="TD1",
        customer=w.customer_east,
        unit=w.east,
        state=DisconnectionCase.State.DISCONNECTED,
        arrears=D("100.00"),
        oldest_due_on=dt.date(2026, 10, 15),
        proposed_by=w.billing_east,
        disconnected_at=at(2026, 11, 30, 9, 0),
    )
    # 16 Oct – 1 Dec: 47 days × 0.10 = 4.70.
    pay(w.customer_east, "104.70", at(2026, 12, 1, 9, 0), "C-1")
    case.refresh_from_db()
    assert case.state == DisconnectionCase.State.RECONNECTING
    assert case.reconnect_due_at == at(2026, 12, 2, 9, 0)


@pytest.mark.django_db
def test_reconciliation_lists_each_difference(bw):
    w = bw
    owing(w.customer_east, dt.date(2026, 10, 1), "100.00", dt.date(2026, 12, 15))
    pay(w.customer_east, "30.00", at(2026, 12, 1, 9, 0), "P-1", channel="pos")
    pay(w.customer_east, "20.00", at(2026, 12, 1, 10, 0), "P-2", channel="pos")
    result = payments.reconcile(
        "pos",
        dt.date(2026, 12, 1),
        2,
        D("55.00"),
        actor=w.billing_east,
        unit=w.east,
        their_rows=[("P-1", D("30.00")), ("P-3", D("25.00"))],
    )
    assert (result.our_count, result.our_total, result.balanced) == (2, D("50.00"), False)
    assert [(d["reference"], d["kind"]) for d in result.differences] == [
        ("P-3", "missing_ours"),
        ("P-2", "missing_theirs"),
    ]
    balanced = payments.reconcile(
        "pos",
        dt.date(2026, 12, 1),
        2,
        D("50.00"),
        actor=w.billing_east,
        unit=w.east,
        their_rows=[("P-1", D("30")), ("P-2", D("20"))],
    )
    assert balanced.balanced and balanced.pk == result.pk
    # The west station's clerk cannot reconcile the east's collection account.
    from django.http import Http404

    with pytest.raises(Http404):
        payments.reconcile("pos", dt.date(2026, 12, 1), 0, D("0"), actor=w.billing_west, unit=w.east)
