import datetime as dt

from ninja import Field, Router, Schema

from gridcare.core.masking import mask_phone
from gridcare.core.validation import CleanLine, LocalDateTime

from . import services
from .models import Call

router = Router(tags=["calls"])


class CallEventIn(Schema):
    call_id: CleanLine = Field(..., min_length=1, max_length=64, description="the CTI's id of the call")
    event: CleanLine = Field(..., max_length=20, description="ringing | answered | ended")
    caller: CleanLine = Field("", max_length=24, description="caller number (required on the first event)")
    called_line: CleanLine = Field("", max_length=24, description="the line dialled, e.g. 95598")
    agent: CleanLine = Field("", max_length=64, description="agent username, employee number or extension")
    at: LocalDateTime | None = Field(None, description="when it happened (default: now)")


class CtiCallOut(Schema):
    call_id: str
    state: str
    caller_masked: str
    agent: str | None
    account_no: str | None
    ringing_at: dt.datetime
    answered_at: dt.datetime | None
    ended_at: dt.datetime | None

    @staticmethod
    def from_call(call: Call, viewer) -> "CtiCallOut":
        """``account_no`` only when ``viewer`` may see that customer."""
        return CtiCallOut(
            call_id=call.call_id,
            state=call.state,
            caller_masked=mask_phone(call.caller_number),
            agent=call.agent.username if call.agent is not None else None,
            account_no=services.call_account_no(call, viewer),
            ringing_at=call.ringing_at,
            answered_at=call.answered_at,
            ended_at=call.ended_at,
        )


@router.post("", response=CtiCallOut, summary="CTI/IVR call event (ringing, answered, ended) → screen pop")
def call_event(request, body: CallEventIn):
    call = services.record_call_event(
        actor=request.auth,
        call_id=body.call_id,
        event=body.event,
        caller_number=body.caller,
        called_line=body.called_line,
        agent_ref=body.agent,
        at=body.at,
    )
    return CtiCallOut.from_call(call, request.auth)
