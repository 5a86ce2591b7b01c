"""/api/v1/repair: fault calls, outage events (the dispatcher's board) and crews."""

from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from gridcare.core.api_errors import idempotency_key, request_fingerprint
from gridcare.core.paging import BoundedLimitOffsetPagination
from gridcare.core.validation import CleanLine
from gridcare.customers.queries import get_customer_for_intake

from . import crew_queue, queries, services
from .actions import act_on_event
from .models import FaultEvent
from .schemas import (
    AffectedCustomerOut,
    CrewOut,
    CrewStatusIn,
    ErrorOut,
    EventActionIn,
    EventCallOut,
    FaultCallIn,
    OutageEventOut,
    QueueEntryOut,
    ReportedCallOut,
)

router = Router(tags=["repair"])


_CALL_ERRORS = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut}


@router.post(
    "/calls",
    response={202: ReportedCallOut, 200: ReportedCallOut, **_CALL_ERRORS},
    summary="Report a fault call (故障报修): recorded at once, processed within seconds",
)
def report_call(request, body: FaultCallIn):
    """Records the call (来电登记) and answers **202 Accepted** with its reference, a status URL and
    what the caller can hear now: the open outage event covering the customer's transformer area or
    feeder ("we know, crew on the way, ETA …"), else that the fault is being analysed. The work order
    follows within seconds (the call's state turns `done`): a repeated call of a customer with an
    open fault order urges that order (`repeated`), a new order is placed on the grid topology and
    linked to its event. The same `Idempotency-Key` answers **200** with the first call and writes
    nothing. An IVR batch or a storm replay gives `reported_at`, when the customer called: the
    analysis counts the call by that time (422 `invalid_reported_at` when it is ahead of the
    server's clock by more than 60 s or older than the analysis window). 404: the account is not in
    your scope; 422: invalid input (nothing is recorded)."""
    key = idempotency_key(request)
    customer = get_customer_for_intake(request.auth, body.account_no) if body.account_no else None
    queued = services.queue_fault_call(
        actor=request.auth,
        content=body.content,
        customer=customer,
        caller_name=body.caller_name,
        caller_phone=body.caller_phone,
        address=body.address,
        channel=body.channel,
        idempotency_key=key,
        hazard=body.hazard,
        request_fingerprint=request_fingerprint(request) if key else "",
        reported_at=body.reported_at,
    )
    out = ReportedCallOut.from_call(
        queued.call,
        status_url=f"{request.path.rstrip('/')}/{queued.call.ref}",
        event=queued.event,
        answer=queued.answer,
    )
    return Status(202 if queued.created else 200, out)


@router.get(
    "/calls/{ref}",
    response={200: ReportedCallOut, 404: ErrorOut},
    summary="A reported fault call: its state, work order and event",
)
def get_call(request, ref: str):
    """For the person who reported it, or staff whose scope covers the customer's station (the
    reporter's unit when the customer is unknown); 404 otherwise."""
    call = queries.get_reported_call(request.auth, ref)
    event = services.reported_call_event(call)
    return ReportedCallOut.from_call(
        call, status_url=request.path, event=event, answer=services.answer_for(event, hazard=call.hazard)
    )


@router.post(
    "/calls/{ref}/retry",
    response={200: ReportedCallOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="Put a failed fault call back in the queue (dispatchers)",
)
def retry_call(request, ref: str):
    call = queries.get_reported_call(request.auth, ref)
    call = services.retry_reported_call(call=call, actor=request.auth)
    return ReportedCallOut.from_call(
        call,
        status_url=request.path.removesuffix("/retry"),
        event=None,
        answer=services.answer_for(None, hazard=call.hazard),
    )


class EventFilters(Schema):
    state: CleanLine = Field("", max_length=20)
    level: CleanLine = Field("", max_length=20)


@router.get(
    "/events", response=list[OutageEventOut], summary="Open outage events in your scope (the live board)"
)
@paginate(BoundedLimitOffsetPagination)
def list_events(request, filters: Query[EventFilters]):
    return [
        OutageEventOut.from_event(e)
        for e in queries.board(request.auth, state=filters.state, level=filters.level)
    ]


@router.get(
    "/queue",
    response=list[QueueEntryOut],
    summary="Events waiting for a crew, in queue order, with their place and why each waits",
)
@paginate(BoundedLimitOffsetPagination)
def crew_queue_entries(request):
    """The events of your scope without a crew: first those the crew queue serves, highest priority
    first (hazard, key customers, customers affected, waiting time — `RepairSetting` weights), with
    their place in their station's queue; then those it does not serve (position null)."""
    return [
        QueueEntryOut(
            position=q.position,
            number=q.event.number,
            level=q.event.level,
            device=q.event.device_label,
            station=q.event.station.name,
            hazard=q.event.hazard,
            key_customer_count=q.event.key_customer_count,
            affected_count=q.event.affected_count,
            waited_minutes=q.waited,
            priority=q.score,
            reason=q.reason,
            reason_label=q.reason_label,
        )
        for q in crew_queue.queue_view(queries.board(request.auth, state=FaultEvent.State.WAITING))
    ]


@router.get("/events/{number}", response=OutageEventOut, summary="One outage event")
def get_event(request, number: str):
    return OutageEventOut.from_event(queries.get_event(request.auth, number))


@router.get(
    "/events/{number}/calls", response=list[EventCallOut], summary="The event's calls (linked work orders)"
)
@paginate(BoundedLimitOffsetPagination)
def event_calls(request, number: str):
    event = queries.get_event(request.auth, number)
    return queries.event_calls(event)  # paged by the query


@router.get(
    "/events/{number}/customers",
    response=list[AffectedCustomerOut],
    summary="Every customer the event's device supplies, key customers first",
)
@paginate(BoundedLimitOffsetPagination)
def event_customers(request, number: str):
    event = queries.get_event(request.auth, number)
    return queries.event_customers(event, limit=None)  # paged by the query


@router.post(
    "/events/{number}/actions/{action}",
    response=OutageEventOut,
    summary="Act on an event: confirm, reassign, split, merge, dispatch, reinforce, arrive, progress, eta, support, restore, cancel",
)
def act(request, number: str, action: str, body: EventActionIn):
    event = queries.get_event(request.auth, number)
    result = act_on_event(event=event, action=action, actor=request.auth, **body.model_dump())
    return OutageEventOut.from_event(queries.get_event(request.auth, result.number))


@router.post("/analysis", summary="Run the trouble-call analysis now (研判)")
def analyse(request):
    services._require_dispatcher(request.auth)
    report = services.run_analysis()
    return {
        "processed": report.processed,
        "failed": report.failed,
        "placed": report.placed,
        "linked": report.linked,
        "created": len(report.created),
        "merged": report.merged,
    }


@router.get("/crews", response=list[CrewOut], summary="Crews in your scope with their status and jobs")
def list_crews(request):
    return [CrewOut.from_crew(c) for c in queries.crew_board(request.auth)]


@router.get("/crews/{code}", response=CrewOut, summary="One crew")
def get_crew(request, code: str):
    return CrewOut.from_crew(queries.get_crew(request.auth, code))


@router.post("/crews/{code}/duty", response=CrewOut, summary="Put a crew on duty or off (上岗/休息)")
def set_duty(request, code: str, body: CrewStatusIn):
    crew = queries.get_crew(request.auth, code)
    services.set_crew_duty(crew=crew, actor=request.auth, on_duty=body.on_duty)
    return CrewOut.from_crew(queries.get_crew(request.auth, code))
