"""The hotline API's bodies and answers: CTI call events and the call-back list (回拨清单)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import AfterValidator

from gridcare.core.masking import mask_phone
from gridcare.core.validation import CleanLine, CleanText, LocalDate, LocalDateTime, PositiveInt32, clean_line

from .calls import call_account_no
from .models import Call, ReturnCall

# A recording server's file id or URL: printable ASCII without spaces, bounded.
RECORDING_REF_MAX = 300
RecordingRef = Annotated[
    str,
    Field(
        max_length=RECORDING_REF_MAX,
        pattern=r"^[\x21-\x7e]*$",
        description="the recording server's id or URL of the call's recording (printable ASCII, no spaces, "
        f"at most {RECORDING_REF_MAX} characters); usually sent on `ended`, kept once set",
    ),
    AfterValidator(clean_line),
]


class CallEventIn(Schema):
    call_id: CleanLine = Field(..., min_length=1, max_length=64, description="the CTI's id of the call")
    event: CleanLine = Field(
        ...,
        max_length=20,
        description="queued | ringing | answered | transferred | abandoned | ended (see docs/hotline.md)",
    )
    caller: CleanLine = Field("", max_length=24, description="caller number (required on the first event)")
    called_line: CleanLine = Field("", max_length=24, description="the line dialled, e.g. 95598")
    agent: CleanLine = Field(
        "",
        max_length=64,
        description="the agent the call rings at / is answered by (username, employee number or extension); "
        "on `transferred` the agent passing it on (default: the call's agent)",
    )
    at: LocalDateTime | None = Field(
        None, description="when it happened (default: now; required on `transferred`, which it identifies)"
    )
    cause: Literal["", "no_agent"] = Field(
        "",
        description="on `ended` of a call nobody answered: `no_agent` when the system ended it because no "
        "agent was ready (a missed call); empty when the caller hung up (an abandon)",
    )
    to_agent: CleanLine = Field(
        "",
        max_length=64,
        description="`transferred` to an agent: that agent (username, employee number, extension)",
    )
    to_kind: Literal["", "agent", "queue", "external"] = Field(
        "", description="`transferred` without `to_agent`: `queue` (a skill queue, default) or `external`"
    )
    target: CleanLine = Field(
        "",
        max_length=64,
        description="`transferred` to a queue or outside line: the skill queue or the number",
    )
    recording_ref: RecordingRef = ""


class CtiCallOut(Schema):
    call_id: str
    state: str = Field(..., description="queued | ringing | answered | ended")
    outcome: str = Field(..., description="empty while the call goes on | answered | abandoned | missed")
    caller_masked: str
    agent: str | None
    answered_by: str | None
    unit: str | None
    account_no: str | None
    arrived_at: dt.datetime
    call_date: dt.date
    queued_at: dt.datetime | None
    ringing_at: dt.datetime | None
    answered_at: dt.datetime | None
    abandoned_at: dt.datetime | None
    ended_at: dt.datetime | None
    wrapped_up_at: dt.datetime | None
    wait_seconds: int | None = Field(..., description="queued (or ringing) → answered, abandoned or missed")
    talk_seconds: int | None = Field(..., description="answered → ended")
    wrap_up_seconds: int | None = Field(..., description="ended → wrapped up (after-call work)")
    abandoned_in: str = Field(..., description="empty | queue | ringing")
    short_abandon: bool = Field(
        ..., description="abandoned within the short-abandon threshold of the wait's start"
    )
    transfers_count: int
    recording_ref: str
    return_call_id: int | None = Field(..., description="the call-back list entry the call is on")

    @staticmethod
    def from_call(call: Call, viewer) -> CtiCallOut:
        """``account_no`` only when ``viewer`` may see that customer."""
        return CtiCallOut(
            call_id=call.call_id,
            state=call.state,
            outcome=call.outcome,
            caller_masked=mask_phone(call.caller_number),
            agent=call.agent.username if call.agent is not None else None,
            answered_by=call.answered_by.username if call.answered_by is not None else None,
            unit=call.unit.name if call.unit is not None else None,
            account_no=call_account_no(call, viewer),
            arrived_at=call.arrived_at,
            call_date=call.call_date,
            queued_at=call.queued_at,
            ringing_at=call.ringing_at,
            answered_at=call.answered_at,
            abandoned_at=call.abandoned_at,
            ended_at=call.ended_at,
            wrapped_up_at=call.wrapped_up_at,
            wait_seconds=call.wait_seconds,
            talk_seconds=call.talk_seconds,
            wrap_up_seconds=call.wrap_up_seconds,
            abandoned_in=call.abandoned_in,
            short_abandon=call.short_abandon,
            transfers_count=call.transfers_count,
            recording_ref=call.recording_ref,
            return_call_id=call.return_call_id,
        )


# --- the call-back list ---------------------------------------------------------------------------


class ReturnCallFilters(Schema):
    state: Literal["open", "pending", "unreachable", "done", "not_needed", "all"] = Field(
        "open", description="open (待回拨 and 回拨未接通, the default), one state, or all"
    )
    date: LocalDate | None = Field(None, description="the day of the missed calls (Asia/Shanghai)")


class ReturnCallOut(Schema):
    id: int
    caller_masked: str = Field(
        ..., description="the caller's number, masked (the full one: POST …/caller-number)"
    )
    unit: str
    missed_date: dt.date
    reason: str = Field(..., description="abandoned | missed")
    state: str = Field(..., description="pending | unreachable | done | not_needed")
    missed_count: int
    first_missed_at: dt.datetime
    last_missed_at: dt.datetime
    call_ids: list[str]
    attempts: int
    called_back_by: str | None
    called_back_at: dt.datetime | None
    closed_at: dt.datetime | None
    close_reason: str
    note: str
    version: int

    # Read from the entry by ninja (``from_orm``, and each row of a paged list).
    @staticmethod
    def resolve_caller_masked(entry: ReturnCall) -> str:
        return mask_phone(entry.caller_number)

    @staticmethod
    def resolve_unit(entry: ReturnCall) -> str:
        return entry.unit.name

    @staticmethod
    def resolve_call_ids(entry: ReturnCall) -> list[str]:
        return [c.call_id for c in entry.missed_calls.all()]

    @staticmethod
    def resolve_called_back_by(entry: ReturnCall) -> str | None:
        return entry.called_back_by.username if entry.called_back_by is not None else None


class ReturnCallResultIn(Schema):
    result: Literal["called_back", "unreachable", "not_needed"] = Field(
        ..., description="called_back (已回拨) | unreachable (回拨未接通, stays open) | not_needed (无需回拨)"
    )
    note: CleanText = Field(
        "", max_length=500, description="what was said; the reason when not_needed (required)"
    )
    version: PositiveInt32 | None = Field(None, description="the entry's version you read (409 when stale)")


class CallerNumberOut(Schema):
    caller_number: str
