from __future__ import annotations

import datetime as dt

from ninja import Schema
from pydantic import Field

from gridcare.core.validation import CleanLine, CleanText, Code, Flag, LocalDateTime

from .models import Outage


class OutageOut(Schema):
    number: str
    kind: str
    kind_label: str
    state: str
    state_label: str
    reason: str
    area_text: str
    status: str = Field(description="One line in Chinese: is it out, until when")
    unit: str
    planned_start: dt.datetime | None
    planned_end: dt.datetime | None
    actual_start: dt.datetime | None
    actual_end: dt.datetime | None
    estimated_end: dt.datetime | None
    starts_at: dt.datetime | None
    expected_end: dt.datetime | None = Field(description="Until when: actual, estimated or planned end")
    customer_count: int
    key_customer_count: int
    matched_customers: int | None = Field(None, description="Address lookups: how many matching customers")

    @classmethod
    def from_outage(cls, outage: Outage, status: str, matched: int | None = None) -> OutageOut:
        return cls(
            number=outage.number,
            kind=outage.kind,
            kind_label=str(outage.get_kind_display()),
            state=outage.state,
            state_label=str(outage.get_state_display()),
            reason=outage.reason,
            area_text=outage.area_text,
            status=status,
            unit=outage.unit.name,
            planned_start=outage.planned_start,
            planned_end=outage.planned_end,
            actual_start=outage.actual_start,
            actual_end=outage.actual_end,
            estimated_end=outage.estimated_end,
            starts_at=outage.starts_at,
            expected_end=outage.expected_end,
            customer_count=outage.customer_count,
            key_customer_count=outage.key_customer_count,
            matched_customers=matched,
        )


class AreaOut(Schema):
    code: str
    name: str
    feeder: str
    station: str
    customer_count: int


class ProgressOut(Schema):
    purpose: str
    label: str
    total: int
    sent: int
    pending: int
    failed: int
    dead: int


class NoticeOut(Schema):
    required_hours: int | None
    notice_hours: float | None
    override_reason: str
    override_by: str | None
    override_at: dt.datetime | None


class KeyCustomerOut(Schema):
    account_no: str
    name: str
    phoned_at: dt.datetime | None
    phoned_by: str | None
    phone_note: str


class OutageDetailOut(OutageOut):
    feeders: list[str]
    transformer_areas: list[str]
    areas: list[AreaOut]
    notice: NoticeOut
    notifications: list[ProgressOut]
    key_customers: list[KeyCustomerOut]
    customers_without_mobile: int


class OutageIn(Schema):
    kind: CleanLine = Field(max_length=20, description="planned | temporary | fault")
    reason: CleanText = Field(min_length=1, max_length=200)
    area_text: CleanText = Field("", max_length=300)
    planned_start: LocalDateTime | None = Field(None, description="planned/temporary; fault: when it started")
    planned_end: LocalDateTime | None = None
    estimated_end: LocalDateTime | None = None
    feeders: list[Code] = Field(default_factory=list, max_length=500, description="feeder codes")
    transformer_areas: list[Code] = Field(
        default_factory=list, max_length=5000, description="transformer area codes"
    )
    publish: Flag = Field(False, description="publish at once (planned/temporary)")
    override_reason: CleanText = Field("", max_length=300)


class PublishIn(Schema):
    override_reason: CleanText = Field(
        "", max_length=300, description="why less notice than the rule is acceptable"
    )


class StartIn(Schema):
    at: LocalDateTime | None = None
    note: CleanText = Field("", max_length=300)


class RestoreIn(Schema):
    at: LocalDateTime | None = None
    note: CleanText = Field("", max_length=300)


class CancelIn(Schema):
    reason: CleanText = Field(min_length=1, max_length=300)


class EstimateIn(Schema):
    estimated_end: LocalDateTime
    note: CleanText = Field("", max_length=300)


class ScopeIn(Schema):
    feeders: list[Code] = Field(default_factory=list, max_length=500)
    transformer_areas: list[Code] = Field(default_factory=list, max_length=5000)
    reason: CleanText | None = Field(None, max_length=200)
    estimated_end: LocalDateTime | None = None
    note: CleanText = Field("", max_length=300)


class KeyCallIn(Schema):
    account_no: CleanLine = Field(max_length=32)
    note: CleanText = Field("", max_length=200)
