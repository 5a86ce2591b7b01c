"""The verbs behind the billing desk pages: the bank's result column, a reversal taking its late fee
with it, waivers decided by another person, one reconciliation per station — amounts by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction

from gridcare.billing import imports, latefees, payments
from gridcare.billing.models import BillingAccount, BillState, LateFeeWaiver, Payment, Reconciliation
from gridcare.core import clock
from gridcare.core.api_errors import ApiError

from .conftest import at
from .test_imports import bank_file, open_bill
from .test_payments import owing, pay

D = Decimal


@pytest.mark.parametrize(
    ("value", "read"),
    [
        ("成功", (True, "")),
        ("扣款失败", (False, "")),
        ("Success", (True, "")),
        ("FAILED", (False, "")),
        ("ｓ", (True, "")),  # full-width, as some bank exports write it
        ("f", (False, "")),
        ("00", (True, "00")),
        ("0000", (True, "0000")),
        ("51", (False, "51")),
        ("1", None),
        ("0", None),
        ("maybe", None),
    ],
)
def test_the_bank_result_is_read_in_chinese_english_letters_or_codes(value, read):
    assert imports.withholding_result(value) == read


@pytest.mark.django_db
def test_a_bank_file_with_english_and_code_results_posts_the_successes(bw):
    w = bw
    open_bill(w.customer_east, "172.40")
    open_bill(w.customer_west, "80.70")
    content = bank_file(
        w,
        (w.customer_east.account_no, "172.40", "B0001", "2026-12-05", "success"),
        (w.customer_west.account_no, "80.70", "B0002", "2026-12-05", "51"),
    )
    with clock.frozen(at(2026, 12, 6, 9, 0)):
        record = imports.import_file(
            kind="withholding", name="bank.csv", content=content, actor=w.billing_county
        )
    assert [r["message"] for r in record.report] == ["通过", "扣款失败（应答码51），未入账"]
    assert record.unit == w.county
    assert list(Payment.objects.values_list("reference", flat=True)) == ["B0001"]


@pytest.mark.django_db
def test_an_ambiguous_bank_result_rejects_the_file_naming_the_row(bw):
    w = bw
    open_bill(w.customer_east, "172.40")
    content = bank_file(w, (w.customer_east.account_no, "172.40", "B0001", "2026-12-05", "1"))
    with clock.frozen(at(2026, 12, 6, 9, 0)), pytest.raises(ApiError) as refused:
        imports.import_file(kind="withholding", name="bank.csv", content=content, actor=w.billing_county)
    assert refused.value.code == "bad_file"
    assert refused.value.extra["rows"][0]["row"] == 2
    assert "扣款结果无法识别：1" in refused.value.extra["rows"][0]["message"]
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_a_reversal_takes_the_late_fee_its_payment_was_charged_back_to_the_due_date(bw):
    w = bw
    bill = owing(w.customer_east, dt.date(2026, 2, 1), "50.00", dt.date(2026, 3, 10))
    # 12 March: 2 days × 50 × 1‰ = 0.10, charged as the 1.00 minimum; then the 50.00.
    payment, _ = pay(w.customer_east, "51.00", at(2026, 3, 12, 10, 0), "C-1")
    with clock.frozen(at(2026, 3, 12, 11, 0)):
        payments.reverse_payment(payment, actor=w.billing_east, reason="收错户")
    bill.refresh_from_db()
    assert (bill.state, bill.paid, bill.late_fee_charged, bill.late_fee_paid, bill.late_fee_from) == (
        BillState.OPEN,
        0,
        0,
        0,
        None,
    )
    assert BillingAccount.objects.get(customer=w.customer_east).arrears == D("50.00")
    # The fee runs from the due date as if nothing had been paid: 11 March – 9 April, 30 days ×
    # 0.05 = 1.50 (not the 1.00 minimum kept plus 28 days after the reversal = 2.40).
    assert latefees.owed(bill, dt.date(2026, 4, 9)) == D("1.50")


@pytest.mark.django_db
def test_a_reversed_part_payment_owes_its_fee_again_over_the_days_it_had_lowered(bw):
    w = bw
    bill = owing(w.customer_east, dt.date(2026, 2, 1), "300.00", dt.date(2026, 3, 10))
    first, _ = pay(w.customer_east, "150.00", at(2026, 3, 15, 9, 0), "C-1")  # 1.50 fee, 148.50
    pay(w.customer_east, "153.02", at(2026, 3, 25, 9, 0), "C-2")  # 1.52 fee, 151.50: paid
    with clock.frozen(at(2026, 3, 26, 9, 0)):
        payments.reverse_payment(first, actor=w.billing_east, reason="POS重复扣款已退")
    bill.refresh_from_db()
    # Only the 25 March payment stands: 15 days × 300 × 1‰ = 4.50 charged on its day, of which
    # it paid 1.52; 151.50 of the bill paid, 148.50 owed again.
    assert (bill.state, bill.paid, bill.late_fee_charged, bill.late_fee_paid, bill.late_fee_from) == (
        BillState.OPEN,
        D("151.50"),
        D("4.50"),
        D("1.52"),
        dt.date(2026, 3, 26),
    )
    assert BillingAccount.objects.get(customer=w.customer_east).arrears == D("148.50")


@pytest.mark.django_db
def test_a_waiver_is_requested_by_one_clerk_and_decided_by_another(bw):
    w = bw
    bill = owing(w.customer_east, dt.date(2026, 2, 1), "300.00", dt.date(2026, 3, 10))
    with clock.frozen(at(2026, 3, 20, 9, 0)):
        with pytest.raises(ApiError) as no_reason:
            latefees.request_waiver(bill, actor=w.billing_east, reason=" ")
        assert no_reason.value.code == "reason_required"
        waiver = latefees.request_waiver(bill, actor=w.billing_east, reason="低保户，家庭困难")
        with pytest.raises(ApiError) as twice:
            latefees.request_waiver(bill, actor=w.billing_county, reason="again")
        assert twice.value.status == 409
        with pytest.raises(ApiError) as own:
            latefees.approve_waiver(waiver, actor=w.billing_east)
        assert (own.value.code, own.value.status) == ("self_approval", 403)
        with pytest.raises(ApiError):
            latefees.reject_waiver(waiver, actor=w.billing_east, note="撤回")
        approved = latefees.approve_waiver(waiver, actor=w.billing_county, note="符合减免条件")
    assert (approved.state, approved.amount, approved.approved_by) == (
        "approved",
        D("3.00"),
        w.billing_county,
    )
    bill.refresh_from_db()
    assert bill.late_fee_waived and latefees.owed(bill, dt.date(2026, 4, 30)) == 0
    with clock.frozen(at(2026, 3, 21, 9, 0)), pytest.raises(ApiError) as again:
        latefees.approve_waiver(waiver, actor=w.billing_county)
    assert again.value.status == 409


@pytest.mark.django_db
def test_a_rejected_waiver_leaves_the_fee_running_and_may_be_asked_again(bw):
    w = bw
    bill = owing(w.customer_east, dt.date(2026, 2, 1), "300.00", dt.date(2026, 3, 10))
    with clock.frozen(at(2026, 3, 20, 9, 0)):
        waiver = latefees.request_waiver(bill, actor=w.billing_east, reason="客户称未收到账单")
        with pytest.raises(ApiError) as no_note:
            latefees.reject_waiver(waiver, actor=w.billing_county, note="")
        assert no_note.value.code == "reason_required"
        latefees.reject_waiver(waiver, actor=w.billing_county, note="账单已按时送达")
        bill.refresh_from_db()
        assert not bill.late_fee_waived and latefees.owed(bill, dt.date(2026, 3, 20)) == D("3.00")
        assert latefees.request_waiver(bill, actor=w.billing_east, reason="补充低保证明").state == "requested"
    # The west station's clerk cannot decide the east's customer's request.
    from django.http import Http404

    with pytest.raises(Http404):
        latefees.approve_waiver(LateFeeWaiver.objects.get(state="requested"), actor=w.billing_west)


@pytest.mark.django_db
def test_the_database_refuses_a_waiver_approved_by_its_requester(bw):
    w = bw
    bill = owing(w.customer_east, dt.date(2026, 2, 1), "300.00", dt.date(2026, 3, 10))
    with pytest.raises(IntegrityError), transaction.atomic():
        LateFeeWaiver.objects.create(
            bill=bill, reason="x", requested_by=w.billing_east, approved_by=w.billing_east, state="approved"
        )


@pytest.mark.django_db
def test_a_bill_without_a_late_fee_has_nothing_to_waive(bw):
    w = bw
    bill = owing(w.customer_east, dt.date(2026, 2, 1), "300.00", dt.date(2026, 3, 10))
    with clock.frozen(at(2026, 3, 5, 9, 0)), pytest.raises(ApiError) as nothing:
        latefees.request_waiver(bill, actor=w.billing_east, reason="提前申请")
    assert nothing.value.message == "该账单没有应缴的违约金"


@pytest.mark.django_db
def test_each_station_reconciles_its_own_account_for_the_same_channel_and_day(bw):
    w = bw
    owing(w.customer_east, dt.date(2026, 10, 1), "100.00", dt.date(2026, 12, 15))
    owing(w.customer_west, dt.date(2026, 10, 1), "80.00", dt.date(2026, 12, 15))
    pay(w.customer_east, "30.00", at(2026, 12, 1, 9, 0), "P-1", channel="pos")
    pay(w.customer_west, "20.00", at(2026, 12, 1, 9, 0), "P-2", channel="pos")
    day = dt.date(2026, 12, 1)
    east = payments.reconcile("pos", day, 1, D("30.00"), actor=w.billing_east, unit=w.east)
    west = payments.reconcile("pos", day, 1, D("20.00"), actor=w.billing_west, unit=w.west)
    assert east.balanced and west.balanced and east.pk != west.pk
    assert Reconciliation.objects.count() == 2
