from __future__ import annotations

import datetime as dt

from django.utils.translation import gettext
from ninja import Field, Schema

from gridcare.core import clock
from gridcare.core.api_errors import ErrorOut  # noqa: F401 - the API's one error schema
from gridcare.core.masking import mask_name, mask_phone
from gridcare.core.validation import CleanLine, CleanText, Code, Flag, LocalDateTime, Phone
from gridcare.workorders.models import Channel

from .models import Crew, FaultEvent, ReportedCall, TroubleCall


class FaultCallIn(Schema):
    content: CleanText = Field(..., min_length=1, max_length=4000, description="故障现象")
    account_no: CleanLine | None = Field(
        None, max_length=32, description="户号; empty when the caller is not identified"
    )
    caller_name: CleanLine = Field("", max_length=60)
    caller_phone: Phone = ""
    address: CleanLine = Field("", max_length=200, description=gettext("故障地址"))
    channel: Channel = Channel.HOTLINE
    hazard: Flag = Field(
        False,
        description="有安全隐患 (line down, sparks, risk of shock): urgent whatever the call count — "
        "its own event (or the open event of its device, marked urgent), dispatched at once; the "
        "answer starts with the safety advice",
    )
    reported_at: LocalDateTime | None = Field(
        None,
        description="when the customer called, for IVR batches and storm replays (ISO 8601 with offset; "
        "read as Asia/Shanghai without): the call counts in the analysis window by this time. At most "
        "60 s ahead of the server's clock (taken as now) and not older than the analysis window "
        "(研判时间窗, `window_minutes`, 120 min by default), else 422 `invalid_reported_at`. "
        "Absent: the time the call arrives. The work order's time limits count from its acceptance, "
        "when the call is processed, whatever this time",
    )


class EventBrief(Schema):
    number: str
    level: str
    state: str
    hazard: Flag = Field(description="安全隐患: an urgent event, dispatched at once")
    device: str
    crew: str | None
    estimated_restore_at: dt.datetime | None

    @staticmethod
    def from_event(e: FaultEvent) -> EventBrief:
        return EventBrief(
            number=e.number,
            level=e.level,
            state=e.state,
            hazard=e.hazard,
            device=e.device_label,
            crew=e.crew.name if e.crew_id else None,
            estimated_restore_at=e.estimated_restore_at,
        )


class ReportedCallOut(Schema):
    """A fault call recorded by the API (来电登记) and what is known of it."""

    ref: str = Field(description="登记号: the call's reference")
    status_url: str = Field(description="GET it for the call's state")
    state: ReportedCall.State = Field(
        description="queued: waiting to be processed; done; failed (a person takes it)"
    )
    received_at: dt.datetime = Field(description="when the call arrived (recorded)")
    reported_at: dt.datetime | None = Field(
        description="when the customer called, as the client gave it (`reported_at` of the request)"
    )
    processed_at: dt.datetime | None
    order_number: str | None = Field(
        description="the work order, once processed (a repeated call: the order it urged)"
    )
    order_state: str | None
    repeated: bool = Field(
        description="the caller had an open fault order, which the call urged (重复来电 → 催办)"
    )
    hazard: Flag = Field(description="the caller reported a safety hazard (有安全隐患)")
    answer: str = Field(
        description="what the caller hears: the open event covering their area or feeder, else 正在研判"
    )
    event: EventBrief | None
    error: str = Field("", description="why processing failed (state failed)")

    @staticmethod
    def from_call(
        call: ReportedCall, *, status_url: str, event: FaultEvent | None, answer: str
    ) -> ReportedCallOut:
        order = call.order if call.order_id else None
        return ReportedCallOut(
            ref=str(call.ref),
            status_url=status_url,
            state=call.state,
            received_at=call.received_at,
            reported_at=call.reported_at,
            processed_at=call.processed_at,
            order_number=order.number if order else None,
            order_state=order.state if order else None,
            repeated=call.repeated,
            hazard=call.hazard,
            answer=answer,
            event=EventBrief.from_event(event) if event else None,
            error=call.error if call.state == ReportedCall.State.FAILED else "",
        )


class OutageEventOut(Schema):
    number: str
    level: str
    level_label: str
    state: str
    state_label: str
    hazard: bool
    device: str
    station: str
    area_class: str
    transformer_area_code: str | None
    feeder_code: str | None
    account_no: str | None
    confidence: float
    confirmed: bool
    crew: str | None
    crew_code: str | None
    primary_order: str | None
    call_count: int
    caller_count: int
    affected_count: int
    key_customer_count: int
    first_call_at: dt.datetime | None
    created_at: dt.datetime
    dispatched_at: dt.datetime | None
    arrived_at: dt.datetime | None
    estimated_restore_at: dt.datetime | None
    restored_at: dt.datetime | None
    elapsed_minutes: int
    service_warning_level: int
    cause: str
    result: str
    outage_number: str | None

    @staticmethod
    def from_event(e: FaultEvent) -> OutageEventOut:
        end = e.restored_at or clock.now()
        return OutageEventOut(
            number=e.number,
            level=e.level,
            level_label=str(e.get_level_display()),
            state=e.state,
            state_label=str(e.get_state_display()),
            hazard=e.hazard,
            device=e.device_label,
            station=e.station.name,
            area_class=e.area_class,
            transformer_area_code=e.transformer_area.code if e.transformer_area_id else None,
            feeder_code=e.feeder.code if e.feeder_id else None,
            account_no=e.customer.account_no if e.customer_id else None,
            confidence=float(e.confidence),
            confirmed=e.confirmed_at is not None,
            crew=e.crew.name if e.crew_id else None,
            crew_code=e.crew.code if e.crew_id else None,
            primary_order=e.primary_order.number if e.primary_order_id else None,
            call_count=e.call_count,
            caller_count=e.caller_count,
            affected_count=e.affected_count,
            key_customer_count=e.key_customer_count,
            first_call_at=e.first_call_at,
            created_at=e.created_at,
            dispatched_at=e.dispatched_at,
            arrived_at=e.arrived_at,
            estimated_restore_at=e.estimated_restore_at,
            restored_at=e.restored_at,
            elapsed_minutes=int((end - (e.first_call_at or e.created_at)).total_seconds() // 60),
            service_warning_level=e.service_warning_level,
            cause=e.cause,
            result=e.result,
            outage_number=e.outage.number if e.outage_id else None,
        )


class EventCallOut(Schema):
    order_number: str
    order_state: str
    received_at: dt.datetime
    placed_by: str
    hazard: bool
    account_no: str | None
    customer_name_masked: str
    caller_phone_masked: str
    transformer_area_code: str | None
    urge_count: int

    # Read from a TroubleCall with its order, customer and area (``queries.event_calls``); the
    # API pages the query itself, so only a page of calls is ever loaded.
    @staticmethod
    def resolve_order_number(c: TroubleCall) -> str:
        return c.order.number

    @staticmethod
    def resolve_order_state(c: TroubleCall) -> str:
        return c.order.state

    @staticmethod
    def resolve_account_no(c: TroubleCall) -> str | None:
        return c.customer.account_no if c.customer_id else None

    @staticmethod
    def resolve_customer_name_masked(c: TroubleCall) -> str:
        return mask_name(c.customer.name) if c.customer_id else ""

    @staticmethod
    def resolve_caller_phone_masked(c: TroubleCall) -> str:
        return mask_phone(c.order.caller_phone)

    @staticmethod
    def resolve_transformer_area_code(c: TroubleCall) -> str | None:
        return c.transformer_area.code if c.transformer_area_id else None

    @staticmethod
    def resolve_urge_count(c: TroubleCall) -> int:
        return c.order.urge_count


class AffectedCustomerOut(Schema):
    account_no: str
    name_masked: str
    transformer_area_code: str
    is_key: bool
    is_vip: bool
    load_class: int

    # Read from a Customer with its area; paged by the query (a feeder supplies thousands).
    @staticmethod
    def resolve_name_masked(c) -> str:
        return mask_name(c.name)

    @staticmethod
    def resolve_transformer_area_code(c) -> str:
        return c.transformer_area.code


class EventActionIn(Schema):
    note: CleanText = Field("", max_length=1000)
    crew: CleanLine | None = Field(None, max_length=64, description="dispatch / reinforce: crew code")
    replace: Flag = Field(False, description="dispatch: take over from the current crew")
    level: CleanLine | None = Field(None, max_length=20, description="reassign: area | feeder")
    transformer_area: CleanLine | None = Field(
        None, max_length=64, description="reassign: transformer area code"
    )
    feeder: CleanLine | None = Field(None, max_length=64, description="reassign: feeder code")
    orders: list[Code] = Field(
        default_factory=list, max_length=500, description="split: order numbers to move out"
    )
    into: CleanLine | None = Field(None, max_length=64, description="merge: target event number")
    situation: CleanText = Field("", max_length=2000, description="progress")
    cause: CleanText = Field("", max_length=200, description="progress / restore")
    estimated_restore_at: LocalDateTime | None = Field(None, description="eta")
    kind: CleanLine | None = Field(None, max_length=20, description="support: crew | materials | generator")
    result: CleanText = Field("", max_length=2000, description="restore: what was done")


class QueueEntryOut(Schema):
    """An event waiting for a crew, in queue order (``repair.crew_queue``)."""

    position: int | None = Field(
        ..., description="place in its station's queue (1 = next); null: the queue does not serve it"
    )
    number: str
    level: str
    device: str
    station: str
    hazard: bool
    key_customer_count: int
    affected_count: int
    waited_minutes: int
    priority: int = Field(..., description="the weighted priority (RepairSetting queue weights)")
    reason: str = Field(
        ...,
        description="why it waits: crew_free (a crew is being sent), no_free_crew, "
        "reinforcement_requested (a neighbouring station's crew is asked for), "
        "awaiting_confirmation (a customer-side event whose area is suspect), "
        "manual_dispatch (automatic dispatch is off)",
    )
    reason_label: str


class CrewOut(Schema):
    code: str
    name: str
    tier: str
    station: str
    team_unit: str
    status: str
    status_label: str
    vehicle: str
    leader: str | None
    members: list[str]
    staffed: bool = Field(..., description="false: no members and no leader — never dispatched")
    active_events: list[str]

    @staticmethod
    def from_crew(c: Crew) -> CrewOut:
        jobs = getattr(c, "active_jobs", None)
        if jobs is None:
            jobs = list(c.assignments.filter(released_at__isnull=True).select_related("event"))
        return CrewOut(
            code=c.code,
            name=c.name,
            tier=c.tier,
            station=c.station.name,
            team_unit=c.team_unit.code,
            status=c.status,
            status_label=str(c.get_status_display()),
            vehicle=c.vehicle,
            leader=c.leader.display_name if c.leader_id else None,
            members=[m.display_name for m in c.members.all()],
            staffed=bool(c.leader_id) or bool(c.members.all()),
            active_events=[a.event.number for a in jobs],
        )


class CrewStatusIn(Schema):
    on_duty: Flag
