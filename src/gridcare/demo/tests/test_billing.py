"""The demo county's billing: 13 months calculated and released through the runs, a year of
payments written as rows — and everything adds up as if each payment had been posted."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command

from gridcare.billing.models import (
    Allocation,
    Anomaly,
    Bill,
    BillingAccount,
    BillingRun,
    BillLine,
    BillState,
    DailyUsage,
    DisconnectionCase,
    MeterReading,
    Payment,
    PaymentPoint,
    PrepaidAccount,
)
from gridcare.core import clock
from gridcare.demo.billing import check_billing
from gridcare.notify.models import Channel, Message

TODAY = dt.datetime(2026, 3, 2, 9, 0, tzinfo=clock.LOCAL_TZ)


@pytest.fixture
def county(db):
    with clock.frozen(TODAY):
        call_command("seed_demo", customers=400, seed=7, no_knowledge=True, verbosity=0)


def test_thirteen_months_of_bills_from_the_runs_and_a_year_of_payments(county):
    months = sorted(set(BillingRun.objects.values_list("period", flat=True)))
    assert (months[0], months[-1], len(months)) == (dt.date(2025, 2, 1), dt.date(2026, 2, 1), 13)
    assert not BillingRun.objects.exclude(state=BillingRun.State.RELEASED).exists()
    # The bills are the calculation's: priced lines adding up to them, estimates for the few
    # meters not read, anomalies reviewed by the clerk.
    bill = Bill.objects.filter(period=months[-1], amount__gt=0).first()
    assert sum(BillLine.objects.filter(bill=bill).values_list("amount", flat=True)) == bill.amount
    assert MeterReading.objects.filter(kind="estimated").exists()
    assert Anomaly.objects.filter(state=Anomaly.State.ACCEPTED).exists()
    # Paid over the year; some customers owe; the last month's bills are half paid so far.
    assert Payment.objects.count() > 10 * BillingAccount.objects.count()
    assert Bill.objects.filter(period__lt=months[-1], late_fee_paid__gt=0).exists()
    owing = BillingAccount.objects.filter(arrears__gt=0)
    assert 0 < owing.count() < BillingAccount.objects.count()
    assert Bill.objects.filter(period__lt=months[-2], state=BillState.OPEN).exists()
    # Prepaid accounts with a month of daily usage; payment points; the two cases under way.
    assert PrepaidAccount.objects.exists()
    assert (
        DailyUsage.objects.filter(customer__prepaid__isnull=False).count()
        == 30 * PrepaidAccount.objects.count()
    )
    assert PaymentPoint.objects.count() == 20 + 3 * 2
    assert sorted(DisconnectionCase.objects.values_list("state", flat=True)) == ["notified", "reconnecting"]


def test_only_the_last_months_bills_were_texted(county):
    """The back-dated months were released without the bill SMS (their customers were told at
    the time); the last month's release queued one to each customer with a mobile. (Arrears
    reminders about older bills are the cases' own.)"""
    issued = Message.objects.filter(channel=Channel.SMS, dedup_key__endswith=":issued")
    texted = set(Bill.objects.filter(number__in=issued.values("about_id")).values_list("period", flat=True))
    assert texted == {dt.date(2026, 2, 1)}
    assert (
        issued.count()
        > Bill.objects.filter(period=dt.date(2026, 2, 1), customer__prepaid__isnull=True).count() / 2
    )


def test_arrears_and_allocations_add_up(county):
    assert check_billing() == []
    # The check sees a difference when there is one.
    account = BillingAccount.objects.filter(arrears__gt=0).first()
    BillingAccount.objects.filter(pk=account.pk).update(arrears=account.arrears + Decimal("1"))
    allocation = Allocation.objects.filter(part=Allocation.Part.BILL).first()
    Allocation.objects.filter(pk=allocation.pk).update(amount=allocation.amount - Decimal("0.01"))
    problems = check_billing()
    assert len(problems) == 3, problems  # the account, the payment, the bill
