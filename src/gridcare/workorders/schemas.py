from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema

from gridcare.core import clock
from gridcare.core.masking import mask_phone
from gridcare.core.validation import CleanLine, CleanText, Flag, Int32, Phone

from .models import Channel, ComplaintClass, OrderType, WorkOrder


class WorkOrderIn(Schema):
    order_type: OrderType
    channel: Channel = Channel.HOTLINE
    content: CleanText = Field(..., min_length=1, max_length=4000)
    account_no: CleanLine | None = Field(
        None, max_length=32, description="户号; leave empty when the caller is not yet identified"
    )
    caller_name: CleanLine = Field("", max_length=60)
    caller_phone: Phone = ""
    address: CleanLine = Field("", max_length=200)
    subtype: CleanLine = Field("", max_length=40)
    complaint_class: ComplaintClass | None = None
    handed_in_by_account_manager: Flag = False


class DeadlineOut(Schema):
    milestone: str
    due_at: dt.datetime
    provisional: bool
    met_at: dt.datetime | None
    met_late: bool = False
    paused: bool
    warning_level: int
    seconds_left: int | None


class WorkOrderOut(Schema):
    number: str
    order_type: str
    subtype: str
    channel: str
    state: str
    priority: int
    account_no: str | None
    caller_phone_masked: str
    content: str
    accepted_unit: str
    assigned_unit: str | None
    assignee: str | None
    urge_count: int
    escalation_tier: int
    warning_level: int
    callback_required: bool
    satisfaction: str
    raised_from: str | None = Field(
        None, description="a complaint raised by a dissatisfied callback: the original order's number"
    )
    version: int
    created_at: dt.datetime
    closed_at: dt.datetime | None
    deadlines: list[DeadlineOut]

    @staticmethod
    def from_order(order: WorkOrder) -> WorkOrderOut:
        """The answer for ``order``, built from the model's own typed values without validating
        them again (``model_construct``): every intake answers with it. Times are local, so
        pydantic's own JSON (the intake's answer) writes them as the API's renderer does."""
        now = clock.now()
        return WorkOrderOut.model_construct(
            number=order.number,
            order_type=order.order_type,
            subtype=order.subtype,
            channel=order.channel,
            state=order.state,
            priority=order.priority,
            account_no=order.customer.account_no if order.customer is not None else None,
            caller_phone_masked=mask_phone(order.caller_phone),
            content=order.content,
            accepted_unit=order.accepted_unit.name,
            assigned_unit=order.assigned_unit.name if order.assigned_unit is not None else None,
            assignee=order.assignee.display_name if order.assignee is not None else None,
            urge_count=order.urge_count,
            escalation_tier=order.escalation_tier,
            warning_level=order.warning_level,
            callback_required=order.callback_required,
            satisfaction=order.satisfaction,
            raised_from=order.raised_from.number if order.raised_from is not None else None,
            version=order.version,
            created_at=clock.local(order.created_at),
            closed_at=clock.local(order.closed_at),
            deadlines=[
                DeadlineOut.model_construct(
                    milestone=d.milestone,
                    due_at=clock.local(d.due_at),
                    provisional=d.provisional,
                    met_at=clock.local(d.met_at),
                    met_late=d.met_late,
                    paused=d.paused_at is not None,
                    warning_level=d.warning_level,
                    seconds_left=d.seconds_left(now),
                )
                for d in getattr(order, "started_deadlines", None) or order.deadlines.all()
            ],
        )


class OrderEventOut(Schema):
    action: str
    at: dt.datetime
    actor: str | None
    actor_unit: str | None
    from_state: str
    to_state: str
    note: str
    data: dict[str, Any]


class ActionIn(Schema):
    version: Int32 | None = Field(None, description="the order's version you saw; a stale one answers 409")
    note: CleanText = Field("", max_length=2000)
    unit: CleanLine | None = Field(None, max_length=64, description="dispatch/redispatch: unit id or code")
    reply: CleanText | None = Field(None, max_length=4000)
    at_fault: Flag | None = None
    approve: Flag = True
    satisfaction: CleanLine | None = Field(None, max_length=40)
    outcome: CleanLine | None = Field(
        None,
        max_length=20,
        description="callback_call: reached | not_reached | refused | wrong_number (reached needs a satisfaction)",
    )
    method: CleanLine | None = Field(
        None,
        max_length=20,
        description="callback: phone (default; held to the calling hours and the interval between calls)"
        " | visit | written",
    )
    into: CleanLine | None = Field(
        None, max_length=64, description="merge: number of the order to merge into"
    )
    problem_solved: CleanText | None = Field(None, max_length=2000)
    cause_analysis: CleanText | None = Field(None, max_length=2000)
    preventive_measures: CleanText | None = Field(None, max_length=2000)
    accountability: CleanText | None = Field(None, max_length=2000)


class CallbackRowOut(Schema):
    """One order of the 回访 work list."""

    number: str
    order_type: str
    subtype: str
    priority: int
    account_no: str | None
    customer_masked: str
    caller_phone_masked: str
    accepted_unit: str
    assigned_unit: str | None
    version: int = Field(..., description="the order's version, for the callback call's 409 check")
    callback_due_at: dt.datetime | None
    provisional: bool
    seconds_left: int | None = Field(..., description="until the callback due time; negative: overdue")
    working_seconds_left: int | None = Field(
        ..., description="working time left (working hours of working days), for a working-time limit"
    )
    urgency: int = Field(..., description="0 normal, 1 attention (50 %), 2 urgent (80 %), 3 overdue")
    urgency_label: str
    attempts: int
    max_attempts: int
    next_call_at: dt.datetime | None = Field(..., description="the earliest next call, when later than now")
