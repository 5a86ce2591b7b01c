"""Billing's test world: the shared ``world`` with billing clerks, meters and billing accounts."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from gridcare.billing.models import Bill, BillingAccount, BillState, MeterReading, TariffSchedule
from gridcare.core import clock
from gridcare.customers.models import Meter
from gridcare.org.models import Role
from gridcare.org.services import create_staff, issue_token


def at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=clock.LOCAL_TZ)


@pytest.fixture
def bw(world):
    w = world
    w.billing_east = create_staff(
        username="billing_east", password=w.password, full_name="钱核算", roles=[(Role.BILLING_CLERK, w.east)]
    )
    w.billing_county = create_staff(
        username="billing_county",
        password=w.password,
        full_name="孙核算",
        roles=[(Role.BILLING_CLERK, w.county)],
    )
    w.billing_west = create_staff(
        username="billing_west", password=w.password, full_name="吴核算", roles=[(Role.BILLING_CLERK, w.west)]
    )
    residential = TariffSchedule.objects.get(code="zj-residential")
    w.meter_east = Meter.objects.create(customer=w.customer_east, meter_no="M-E-1")
    w.meter_west = Meter.objects.create(customer=w.customer_west, meter_no="M-W-1")
    w.account_east = BillingAccount.objects.create(customer=w.customer_east, schedule=residential)
    w.account_west = BillingAccount.objects.create(customer=w.customer_west, schedule=residential)
    return w


def read(meter, day: dt.date, total, kind="actual", **registers) -> MeterReading:
    return MeterReading.objects.create(
        meter=meter, customer=meter.customer, read_on=day, total=Decimal(total), kind=kind, **registers
    )


def past_bill(
    customer, period: dt.date, start: dt.date, end: dt.date, kwh, amount="0", state=BillState.PAID, **kw
):
    """A bill of an earlier month, as the calculation finds it (released)."""
    return Bill.objects.create(
        number=f"OLD{customer.pk}{period:%Y%m}",
        customer=customer,
        period=period,
        state=state,
        period_start=start,
        period_end=end,
        kwh=Decimal(kwh),
        amount=Decimal(amount),
        paid=Decimal(amount) if state == BillState.PAID else Decimal("0"),
        issued_on=end,
        due_on=end + dt.timedelta(days=15),
        **kw,
    )


def bearer(user) -> dict:
    """The test client's headers for an API call as ``user``."""
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=user)}"}
