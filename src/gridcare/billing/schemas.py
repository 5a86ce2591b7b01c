"""What billing's API reads and answers (ninja schemas)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Literal

from ninja import Field, Schema

from gridcare.core.masking import mask_name
from gridcare.core.validation import CleanLine, Code

from . import answers
from .models import Anomaly, Bill, BillingRun, BillLine, DisconnectionCase, PaymentPoint

Month = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")


class LineOut(Schema):
    seq: int
    item: str
    label: str
    tier: int | None
    tou_period: str
    quantity: Decimal
    unit: str
    price: Decimal
    amount: Decimal
    tariff_version: str | None

    @classmethod
    def of(cls, line: BillLine) -> LineOut:
        return cls(
            seq=line.seq,
            item=line.item,
            label=line.label,
            tier=line.tier,
            tou_period=line.tou_period,
            quantity=line.quantity,
            unit=line.unit,
            price=line.price,
            amount=line.amount,
            tariff_version=line.version.label if line.version_id and line.version else None,
        )


class BillOut(Schema):
    number: str
    account_no: str
    period: str
    kind: str
    corrects: str | None
    state: str
    period_start: dt.date
    period_end: dt.date
    previous_total: Decimal | None
    current_total: Decimal | None
    estimated: bool
    kwh: Decimal
    peak_kwh: Decimal
    flat_kwh: Decimal
    valley_kwh: Decimal
    amount: Decimal
    paid: Decimal
    owed: Decimal
    issued_on: dt.date | None
    due_on: dt.date | None
    paid_on: dt.date | None
    late_fee_charged: Decimal
    late_fee_paid: Decimal

    @classmethod
    def of(cls, bill: Bill) -> BillOut:
        return cls(
            number=bill.number,
            account_no=bill.customer.account_no,
            period=f"{bill.period:%Y-%m}",
            kind=bill.kind,
            corrects=bill.corrects.number if bill.corrects_id and bill.corrects else None,
            state=bill.state,
            period_start=bill.period_start,
            period_end=bill.period_end,
            previous_total=bill.previous_total,
            current_total=bill.current_total,
            estimated=bill.estimated,
            kwh=bill.kwh,
            peak_kwh=bill.peak_kwh,
            flat_kwh=bill.flat_kwh,
            valley_kwh=bill.valley_kwh,
            amount=bill.amount,
            paid=bill.paid,
            owed=bill.owed,
            issued_on=bill.issued_on,
            due_on=bill.due_on,
            paid_on=bill.paid_on,
            late_fee_charged=bill.late_fee_charged,
            late_fee_paid=bill.late_fee_paid,
        )


class BillDetailOut(BillOut):
    lines: list[LineOut]

    @classmethod
    def of(cls, bill: Bill) -> BillDetailOut:
        base = BillOut.of(bill).model_dump()
        return cls(**base, lines=[LineOut.of(ln) for ln in bill.lines.all()])


class ReasonOut(Schema):
    code: str
    text: str
    yuan: Decimal | None


class TierOut(Schema):
    basis: str
    limits: list[int]
    position_kwh: Decimal
    tier: int
    kwh_left_in_tier: Decimal | None
    next_price: Decimal | None


class ExplanationOut(Schema):
    bill: BillOut
    previous: BillOut | None
    last_year: BillOut | None
    days: int
    daily_kwh: Decimal
    kwh_change: Decimal | None
    kwh_change_percent: Decimal | None
    amount_change: Decimal | None
    tier: TierOut | None
    tou_share: dict[str, Decimal]
    previous_tou_share: dict[str, Decimal]
    tariff_versions: list[str]
    reasons: list[ReasonOut]

    @classmethod
    def of(cls, e: answers.Explanation) -> ExplanationOut:
        return cls(
            bill=BillOut.of(e.bill),
            previous=BillOut.of(e.previous) if e.previous else None,
            last_year=BillOut.of(e.last_year) if e.last_year else None,
            days=e.days,
            daily_kwh=e.daily_kwh,
            kwh_change=e.kwh_change,
            kwh_change_percent=e.kwh_change_percent,
            amount_change=e.amount_change,
            tier=TierOut(**e.tier.__dict__) if e.tier else None,
            tou_share=e.tou_share,
            previous_tou_share=e.previous_tou_share,
            tariff_versions=e.versions,
            reasons=[ReasonOut(code=r.code, text=r.text, yuan=r.yuan) for r in e.reasons],
        )


class PointOut(Schema):
    name: str
    kind: str
    address: str
    hours: str
    phone: str

    @classmethod
    def of(cls, p: PaymentPoint) -> PointOut:
        return cls(name=p.name, kind=p.kind, address=p.address, hours=p.hours, phone=p.phone)


class DisconnectionStatusOut(Schema):
    number: str
    state: str
    arrears: Decimal
    earliest_cut_at: dt.datetime | None
    disconnected_at: dt.datetime | None
    reconnect_due_at: dt.datetime | None

    @classmethod
    def of(cls, c: DisconnectionCase) -> DisconnectionStatusOut:
        return cls(
            number=c.number,
            state=c.state,
            arrears=c.arrears,
            earliest_cut_at=c.earliest_cut_at,
            disconnected_at=c.disconnected_at,
            reconnect_due_at=c.reconnect_due_at,
        )


class PositionOut(Schema):
    account_no: str
    name: str
    billed: bool
    tariff: str | None
    arrears: Decimal
    credit: Decimal
    balance: Decimal = Field(description="credit − arrears: negative when the customer owes")
    open_bills: list[BillOut]
    bills: list[BillOut]
    disconnection: DisconnectionStatusOut | None
    payment_points: list[PointOut]

    @classmethod
    def of(cls, p: answers.Position) -> PositionOut:
        account = p.account
        arrears = account.arrears if account else Decimal("0")
        credit = account.credit if account else Decimal("0")
        return cls(
            account_no=p.customer.account_no,
            name=mask_name(p.customer.name),
            billed=account is not None,
            tariff=account.schedule.name if account else None,
            arrears=arrears,
            credit=credit,
            balance=credit - arrears,
            open_bills=[BillOut.of(b) for b in p.open_bills],
            bills=[BillOut.of(b) for b in p.bills],
            disconnection=DisconnectionStatusOut.of(p.disconnection) if p.disconnection else None,
            payment_points=[PointOut.of(x) for x in p.payment_points],
        )


class RunIn(Schema):
    unit: Code = Field(description="the code of the unit whose customers are calculated")
    period: str = Month


class AnomalyOut(Schema):
    id: int
    bill: str
    account_no: str
    kind: str
    detail: str
    state: str
    review_note: str

    @classmethod
    def of(cls, a: Anomaly) -> AnomalyOut:
        return cls(
            id=a.pk,
            bill=a.bill.number,
            account_no=a.bill.customer.account_no,
            kind=a.kind,
            detail=a.detail,
            state=a.state,
            review_note=a.review_note,
        )


class RunOut(Schema):
    id: int
    period: str
    unit: str
    state: str
    bills: int
    anomalies: int
    total_kwh: Decimal
    total_amount: Decimal
    calculated_at: dt.datetime | None
    released_at: dt.datetime | None

    @classmethod
    def of(cls, r: BillingRun) -> RunOut:
        return cls(
            id=r.pk,
            period=f"{r.period:%Y-%m}",
            unit=r.unit.code,
            state=r.state,
            bills=r.bills,
            anomalies=r.anomalies,
            total_kwh=r.total_kwh,
            total_amount=r.total_amount,
            calculated_at=r.calculated_at,
            released_at=r.released_at,
        )


class RunDetailOut(RunOut):
    open_anomalies: list[AnomalyOut]


class ReviewIn(Schema):
    decision: Literal["accept", "correct"]
    corrected_total: Decimal | None = Field(None, ge=0, max_digits=14, decimal_places=2)
    note: CleanLine = Field("", max_length=200)


class CorrectionIn(Schema):
    corrected_total: Decimal = Field(ge=0, max_digits=14, decimal_places=2)
    reason: CleanLine = Field(min_length=1, max_length=200)


def month_of(value: str) -> dt.date:
    year, month = value.split("-")
    return dt.date(int(year), int(month), 1)
