"""The monthly calculation run: bills from readings, anomalies held for review, release,
correction — amounts worked out by hand."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.http import Http404

from gridcare.billing import runs
from gridcare.billing.models import (
    Anomaly,
    Bill,
    BillingAccount,
    BillingRun,
    BillLine,
    BillState,
    MeterReading,
    Payment,
)
from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.customers.models import Meter
from gridcare.notify.models import Channel, Message

from .conftest import at, past_bill, read

D = Decimal
NOV = dt.date(2026, 11, 1)


def history(w):
    """September and October billed for both customers; readings to 25 October."""
    past_bill(w.customer_east, dt.date(2026, 9, 1), dt.date(2026, 8, 26), dt.date(2026, 9, 25), 2400)
    past_bill(w.customer_east, dt.date(2026, 10, 1), dt.date(2026, 9, 26), dt.date(2026, 10, 25), 280)
    read(w.meter_east, dt.date(2026, 10, 25), "1000")
    past_bill(w.customer_west, dt.date(2026, 10, 1), dt.date(2026, 9, 26), dt.date(2026, 10, 25), 150)
    read(w.meter_west, dt.date(2026, 10, 25), "500")


@pytest.mark.django_db
def test_a_month_is_priced_from_the_readings_and_held_until_its_anomalies_are_reviewed(bw):
    w = bw
    history(w)
    read(w.meter_east, dt.date(2026, 11, 25), "1300")  # 300 kWh; the west meter was not read
    with clock.frozen(at(2026, 12, 1, 9, 0)):
        run = runs.calculate_month(actor=w.billing_county, unit=w.county, period=NOV)
    east = Bill.objects.get(customer=w.customer_east, period=NOV)
    # 2,680 kWh this year before; 300 more: 80 in band 1 (to 2,760) at 0.538 = 43.04, 220 in
    # band 2 at 0.588 = 129.36.
    assert (east.period_start, east.period_end, east.kwh, east.year_kwh_before) == (
        dt.date(2026, 10, 26),
        dt.date(2026, 11, 25),
        D(300),
        D(2680),
    )
    assert [(ln.tier, ln.quantity, ln.amount) for ln in east.lines.order_by("seq")] == [
        (1, D(80), D("43.04")),
        (2, D(220), D("129.36")),
    ]
    assert east.amount == D("172.40") and east.state == BillState.DRAFT
    # West: not read. Estimated at October's daily average (150 kWh / 30 days = 5) over 26 Oct –
    # 30 Nov (36 days) = 180 kWh, recorded as an estimated reading, and held for review.
    west = Bill.objects.get(customer=w.customer_west, period=NOV)
    assert (west.kwh, west.estimated, west.current_total) == (D(180), True, D("680.00"))
    assert west.amount == D("96.84")  # 180 × 0.538
    assert MeterReading.objects.get(meter=w.meter_west, read_on=dt.date(2026, 11, 30)).kind == "estimated"
    assert [a.kind for a in Anomaly.objects.filter(run=run)] == ["reading_missing"]
    assert (run.bills, run.anomalies, run.total_amount) == (2, 1, D("269.24"))

    with pytest.raises(ApiError) as refused:
        runs.release(actor=w.billing_county, run=run)
    assert (refused.value.code, refused.value.status) == ("anomalies_open", 409)
    anomaly = Anomaly.objects.get(run=run)
    runs.review(actor=w.billing_county, anomaly=anomaly, accept=True, note="用户外出，估抄")
    with clock.frozen(at(2026, 12, 2, 10, 0)):
        runs.release(actor=w.billing_county, run=run)
    east.refresh_from_db()
    assert (east.state, east.issued_on, east.due_on) == (
        BillState.OPEN,
        dt.date(2026, 12, 2),
        dt.date(2026, 12, 17),
    )
    assert BillingAccount.objects.get(customer=w.customer_east).arrears == D("172.40")
    assert BillingAccount.objects.get(customer=w.customer_west).arrears == D("96.84")
    sms = Message.objects.get(channel=Channel.SMS, about_id=east.number)
    assert "172.40" in sms.body and "2026-12-17" in sms.body and sms.recipient_address == "13812341234"
    with pytest.raises(ApiError) as again:
        runs.release(actor=w.billing_county, run=run)
    assert again.value.status == 409


@pytest.mark.django_db
def test_a_swing_is_reviewed_by_correcting_the_reading_and_the_bill_is_priced_again(bw):
    w = bw
    history(w)
    read(w.meter_east, dt.date(2026, 11, 25), "4000")  # 3,000 kWh against 280: a misread
    read(w.meter_west, dt.date(2026, 11, 25), "650")
    with clock.frozen(at(2026, 12, 1, 9, 0)):
        run = runs.calculate_month(actor=w.billing_east, unit=w.east, period=NOV)
    # The east clerk's run covers the east station only.
    assert list(Bill.objects.filter(run=run).values_list("customer_id", flat=True)) == [w.customer_east.pk]
    swing = Anomaly.objects.get(run=run)
    assert swing.kind == "swing" and "+971%" in swing.detail
    runs.review(actor=w.billing_east, anomaly=swing, accept=False, corrected_total=D("1300"), note="复核示数")
    bill = Bill.objects.get(run=run)
    assert (bill.kwh, bill.amount, bill.current_total) == (D(300), D("172.40"), D("1300.00"))
    swing.refresh_from_db()
    assert swing.state == "recalculated" and swing.reviewed_by == w.billing_east
    assert not Anomaly.objects.filter(run=run, state="open").exists()
    run.refresh_from_db()
    assert (run.anomalies, run.total_amount) == (0, D("172.40"))


@pytest.mark.django_db
def test_a_meter_replaced_in_the_month_is_billed_for_both_meters_and_flagged(bw):
    w = bw
    history(w)
    read(w.meter_west, dt.date(2026, 11, 25), "650")
    read(w.meter_east, dt.date(2026, 11, 10), "1120", kind="meter_change")  # old meter's last: 120
    w.meter_east.is_active = False
    w.meter_east.save()
    new = Meter.objects.create(customer=w.customer_east, meter_no="M-E-2")
    read(new, dt.date(2026, 11, 10), "0", kind="meter_change")
    read(new, dt.date(2026, 11, 25), "170")  # new meter: 170
    with clock.frozen(at(2026, 12, 1, 9, 0)):
        run = runs.calculate_month(actor=w.billing_county, unit=w.county, period=NOV)
    bill = Bill.objects.get(run=run, customer=w.customer_east)
    assert bill.kwh == D(290)
    assert "meter_changed" in set(Anomaly.objects.filter(bill=bill).values_list("kind", flat=True))


@pytest.mark.django_db
def test_calculating_again_before_release_replaces_the_drafts(bw):
    w = bw
    history(w)
    read(w.meter_east, dt.date(2026, 11, 25), "1300")
    with clock.frozen(at(2026, 12, 1, 9, 0)):
        runs.calculate_month(actor=w.billing_county, unit=w.county, period=NOV)
        read(w.meter_west, dt.date(2026, 11, 26), "650")  # the west reading arrives late
        run = runs.calculate_month(actor=w.billing_county, unit=w.county, period=NOV)
    assert Bill.objects.filter(period=NOV).count() == 2
    west = Bill.objects.get(customer=w.customer_west, period=NOV)
    assert (west.kwh, west.estimated) == (D(150), False)
    assert not MeterReading.objects.filter(kind="estimated").exists()
    assert BillingRun.objects.count() == 1 and run.anomalies == 0


@pytest.mark.django_db
def test_a_released_bill_is_corrected_by_a_correcting_bill_and_the_original_kept(bw):
    w = bw
    history(w)
    read(w.meter_east, dt.date(2026, 11, 25), "1300")
    read(w.meter_west, dt.date(2026, 11, 25), "650")
    with clock.frozen(at(2026, 12, 1, 9, 0)):
        run = runs.calculate_month(actor=w.billing_county, unit=w.county, period=NOV)
        runs.release(actor=w.billing_county, run=run)
        original = Bill.objects.get(customer=w.customer_east, period=NOV)
        with pytest.raises(ApiError) as refused:
            runs.calculate_month(actor=w.billing_county, unit=w.county, period=NOV)
        assert refused.value.status == 409
        # The right reading was 1,350: 350 kWh — 80 in band 1 (43.04), 270 in band 2 (158.76):
        # 201.80, i.e. 29.40 more.
        fix = runs.correct_bill(
            actor=w.billing_county, bill=original, corrected_total=D("1350"), reason="抄错"
        )
    original.refresh_from_db()
    assert (original.amount, original.kwh, original.state) == (D("172.40"), D(300), BillState.OPEN)
    assert (fix.kind, fix.corrects, fix.amount, fix.kwh, fix.state) == (
        "correction",
        original,
        D("29.40"),
        D(50),
        "open",
    )
    assert sum(BillLine.objects.filter(bill=fix).values_list("amount", flat=True)) == D("29.40")
    assert BillingAccount.objects.get(customer=w.customer_east).arrears == D("172.40") + D("29.40")


@pytest.mark.django_db
def test_only_billing_clerks_of_the_unit_calculate(bw):
    w = bw
    with pytest.raises(Http404):
        runs.calculate_month(actor=w.billing_west, unit=w.east, period=NOV)
    with pytest.raises(ApiError) as refused:
        runs.calculate_month(actor=w.clerk_east, unit=w.east, period=NOV)
    assert (refused.value.code, refused.value.status) == ("forbidden_role", 403)
    with clock.frozen(at(2026, 12, 1, 9, 0)), pytest.raises(ApiError) as future:
        runs.calculate_month(actor=w.billing_east, unit=w.east, period=dt.date(2027, 1, 1))
    assert future.value.status == 422


@pytest.mark.django_db
def test_a_prepaid_customers_bill_is_settled_against_the_balance_not_owed(bw):
    from gridcare.billing.models import PrepaidAccount

    w = bw
    history(w)
    PrepaidAccount.objects.create(customer=w.customer_west, balance=D("80"))
    read(w.meter_east, dt.date(2026, 11, 25), "1300")
    read(w.meter_west, dt.date(2026, 11, 25), "650")
    with clock.frozen(at(2026, 12, 1, 9, 0)):
        run = runs.calculate_month(actor=w.billing_county, unit=w.county, period=NOV)
        runs.release(actor=w.billing_county, run=run)
    west = Bill.objects.get(customer=w.customer_west, period=NOV)
    assert (west.state, west.paid, west.amount) == (BillState.PAID, D("80.70"), D("80.70"))  # 150 × 0.538
    assert BillingAccount.objects.get(customer=w.customer_west).arrears == 0
    assert not Message.objects.filter(channel=Channel.SMS, about_id=west.number).exists()
    assert BillingAccount.objects.get(customer=w.customer_east).arrears == D("172.40")


@pytest.mark.django_db
def test_a_month_released_after_the_fact_without_notices_is_issued_but_texts_nobody(bw):
    w = bw
    history(w)
    read(w.meter_east, dt.date(2026, 11, 25), "1300")
    read(w.meter_west, dt.date(2026, 11, 25), "650")
    with clock.frozen(at(2026, 12, 1, 9, 0)):
        run = runs.calculate_month(actor=w.billing_county, unit=w.county, period=NOV)
        runs.release(actor=w.billing_county, run=run, notify=False)
    east = Bill.objects.get(customer=w.customer_east, period=NOV)
    assert (east.state, east.due_on) == (BillState.OPEN, dt.date(2026, 12, 16))
    assert BillingAccount.objects.get(customer=w.customer_east).arrears == D("172.40")
    assert not Message.objects.filter(channel=Channel.SMS, about_type="billing.bill").exists()
    run.refresh_from_db()
    assert run.state == BillingRun.State.RELEASED


@pytest.mark.django_db
def test_money_paid_ahead_pays_the_new_bill_at_release(bw):
    from gridcare.billing import payments
    from gridcare.billing.models import Allocation

    w = bw
    history(w)
    read(w.meter_east, dt.date(2026, 11, 25), "1300")
    read(w.meter_west, dt.date(2026, 11, 25), "650")
    with clock.frozen(at(2026, 11, 20, 9, 0)):
        payment, _ = payments.post_payment(
            customer=w.customer_east, channel="online", reference="PRE-1", amount=D("50"), paid_at=clock.now()
        )
    assert BillingAccount.objects.get(customer=w.customer_east).credit == D("50.00")
    with clock.frozen(at(2026, 12, 1, 9, 0)):
        run = runs.calculate_month(actor=w.billing_county, unit=w.county, period=NOV)
        runs.release(actor=w.billing_county, run=run)
    bill = Bill.objects.get(customer=w.customer_east, period=NOV)
    account = BillingAccount.objects.get(customer=w.customer_east)
    assert (bill.paid, bill.state, account.credit, account.arrears) == (D("50.00"), "open", 0, D("122.40"))
    # The payment's allocations still add up to it: its credit became a payment of the bill.
    assert [(a.part, a.bill_id, a.amount) for a in Allocation.objects.filter(payment=payment)] == [
        ("bill", bill.pk, D("50.00"))
    ]


DEC = dt.date(2026, 12, 1)


def estimated_november(w):
    """West is not read in November: estimated at 5 kWh a day over 26 Oct – 30 Nov (36 days) =
    180 kWh, reading 680.00 on 30 November, billed 96.84 (180 × 0.538) and released on 1
    December (due 16 December)."""
    history(w)
    read(w.meter_east, dt.date(2026, 11, 25), "1300")
    with clock.frozen(at(2026, 12, 1, 9, 0)):
        november = runs.calculate_month(actor=w.billing_county, unit=w.county, period=NOV)
        runs.accept_all(actor=w.billing_county, run=november, note="已核实")
        runs.release(actor=w.billing_county, run=november)
    return Bill.objects.get(customer=w.customer_west, period=NOV)


@pytest.mark.django_db
def test_an_estimate_the_actual_reading_shows_too_high_is_refunded_at_release(bw):
    """多退少补: read on 10 December at 546.00, below November's estimate of 680.00. From the
    last actual reading (500.00 on 25 October) to this one the meter ran 46 kWh in 46 days, so on
    30 November (36 days in) it stood at 536.00: November is corrected to 36 kWh (19.37; 144 kWh
    or 77.47 refunded) and December bills 10 kWh (5.38). The refund settles November's bill as
    money would; what the customer owes is 46 kWh × 0.538 = 24.75."""
    w = bw
    november = estimated_november(w)
    read(w.meter_west, dt.date(2026, 12, 10), "546")
    read(w.meter_east, dt.date(2026, 12, 10), "1350")
    with clock.frozen(at(2026, 12, 11, 9, 0)):
        december = runs.calculate_month(actor=w.billing_county, unit=w.county, period=DEC)
        bill = Bill.objects.get(customer=w.customer_west, period=DEC)
        assert (bill.previous_total, bill.current_total, bill.kwh, bill.amount) == (
            D("536.00"),
            D("546.00"),
            D("10.00"),
            D("5.38"),
        )
        flagged = Anomaly.objects.get(run=december, bill=bill, kind="overshoot")
        assert "680.00" in flagged.detail and "536.00" in flagged.detail
        with pytest.raises(ApiError):
            runs.release(actor=w.billing_county, run=december)  # held until reviewed
        runs.review(actor=w.billing_county, anomaly=flagged, accept=True, note="核实为估抄多计")
        runs.accept_all(actor=w.billing_county, run=december, note="电量波动已核实")
        runs.release(actor=w.billing_county, run=december)
    november.refresh_from_db()
    fix = Bill.objects.get(corrects=november)
    assert (november.amount, november.kwh) == (D("96.84"), D(180))  # the original as issued
    assert (fix.kind, fix.amount, fix.kwh, fix.state) == ("correction", D("-77.47"), D(-144), "paid")
    reading = MeterReading.objects.get(meter=w.meter_west, read_on=dt.date(2026, 11, 30))
    assert (reading.total, reading.kind) == (D("536.00"), "actual")
    offset = Payment.objects.get(customer=w.customer_west)
    assert (offset.channel, offset.amount, offset.reference) == ("offset", D("77.47"), fix.number)
    assert list(offset.allocations.values_list("bill_id", "amount")) == [(november.pk, D("77.47"))]
    account = BillingAccount.objects.get(customer=w.customer_west)
    assert (account.arrears, account.credit) == (D("24.75"), 0)
    assert november.amount - D("77.47") + bill.amount == D("24.75")


@pytest.mark.django_db
def test_an_actual_reading_below_the_one_before_the_estimate_is_a_register_running_backwards(bw):
    w = bw
    estimated_november(w)
    read(w.meter_west, dt.date(2026, 12, 10), "480")  # below 500.00 of 25 October too
    read(w.meter_east, dt.date(2026, 12, 10), "1350")
    with clock.frozen(at(2026, 12, 11, 9, 0)):
        december = runs.calculate_month(actor=w.billing_county, unit=w.county, period=DEC)
    bill = Bill.objects.get(customer=w.customer_west, period=DEC)
    assert (bill.kwh, bill.amount) == (0, 0)
    kinds = set(Anomaly.objects.filter(run=december, bill=bill).values_list("kind", flat=True))
    assert "negative" in kinds and "overshoot" not in kinds
