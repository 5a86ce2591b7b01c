"""The hotline's API: the CTI's call events (``POST /api/v1/calls``) and the call-back list
(``/api/v1/calls/return-calls``) for integrations."""

from ninja import Path, Query, Router
from ninja.pagination import paginate

from gridcare.core.paging import BoundedLimitOffsetPagination
from gridcare.org.types import ApiRequest

from . import calls, queries, return_calls
from .schemas import (
    CallerNumberOut,
    CallEventIn,
    CtiCallOut,
    ReturnCallFilters,
    ReturnCallOut,
    ReturnCallResultIn,
)

router = Router(tags=["calls"])

# An entry's id in a path: a positive bigint (a larger one would reach the database as an error).
ENTRY_ID = Path(..., ge=1, le=2**63 - 1, description="the entry's id")


@router.post(
    "",
    response=CtiCallOut,
    summary="CTI/IVR call event (queued, ringing, answered, transferred, abandoned, ended) → screen pop",
)
def call_event(request: ApiRequest, body: CallEventIn) -> CtiCallOut:
    """One event of a call. Replays change nothing; events out of order end in the same call.
    An event the call's state contradicts answers 409 (`call_abandoned`, `call_answered`,
    `call_ended`, `call_not_answered`, `call_agent_mismatch`); contradictory times 422
    `invalid_times`. A call missed or abandoned (not a short abandon) goes on the call-back list."""
    call = calls.record_call_event(
        actor=request.auth,
        call_id=body.call_id,
        event=body.event,
        caller_number=body.caller,
        called_line=body.called_line,
        agent_ref=body.agent,
        at=body.at,
        cause=body.cause,
        to_agent_ref=body.to_agent,
        to_kind=body.to_kind,
        target=body.target,
        recording_ref=body.recording_ref,
    )
    return CtiCallOut.from_call(call, request.auth)


@router.get(
    "/return-calls",
    response=list[ReturnCallOut],
    tags=["return calls"],
    summary="The call-back list (回拨清单) of your units: missed and abandoned callers, oldest first",
)
@paginate(BoundedLimitOffsetPagination)
def list_return_calls(request: ApiRequest, filters: Query[ReturnCallFilters]):  # noqa: ANN201 (paged by ninja)
    return queries.return_calls(request.auth, state=filters.state, date=filters.date).order_by(
        "first_missed_at", "id"
    )


@router.get(
    "/return-calls/{entry_id}", response=ReturnCallOut, tags=["return calls"], summary="One call-back entry"
)
def get_return_call(request: ApiRequest, entry_id: int = ENTRY_ID) -> ReturnCallOut:
    return ReturnCallOut.from_orm(queries.get_return_call(request.auth, entry_id))


@router.post(
    "/return-calls/{entry_id}/result",
    response=ReturnCallOut,
    tags=["return calls"],
    summary="Record a call-back: called_back (已回拨), unreachable (回拨未接通) or not_needed (无需回拨)",
)
def record_return_call(
    request: ApiRequest, body: ReturnCallResultIn, entry_id: int = ENTRY_ID
) -> ReturnCallOut:
    """409 `return_call_closed` on an entry already closed, 409 `version_conflict` when `version`
    is stale, 422 `reason_required` for not_needed without a note."""
    entry = queries.get_return_call(request.auth, entry_id)
    return_calls.perform(
        entry=entry, action=body.result, actor=request.auth, note=body.note, version=body.version
    )
    return ReturnCallOut.from_orm(queries.get_return_call(request.auth, entry_id))


@router.post(
    "/return-calls/{entry_id}/caller-number",
    response=CallerNumberOut,
    tags=["return calls"],
    summary="Reveal the caller's full number (audited; roles that may see personal data)",
)
def reveal_caller_number(request: ApiRequest, entry_id: int = ENTRY_ID) -> CallerNumberOut:
    entry = queries.get_return_call(request.auth, entry_id)
    number = return_calls.reveal_caller_number(actor=request.auth, entry=entry, request=request)
    return CallerNumberOut(caller_number=number)
