from django.db.models import QuerySet
from django.http import HttpResponse
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from gridcare.core import clock, paging
from gridcare.core.api_errors import ApiError, idempotency_key, request_fingerprint, stored_idempotency_key
from gridcare.core.masking import mask_name, mask_phone
from gridcare.core.validation import CleanLine, Int32, LocalDate
from gridcare.customers.queries import get_customer_for_intake
from gridcare.org import scoping
from gridcare.org.types import ApiRequest

from . import callbacks, queries, services
from .models import OPEN_STATES, OrderType, WorkOrder
from .queries import ORDER_UNIT_FIELDS, OrderSearch
from .schemas import ActionIn, CallbackRowOut, OrderEventOut, WorkOrderIn, WorkOrderOut

router = Router(tags=["work-orders"])


@router.post("", response={201: WorkOrderOut, 200: WorkOrderOut}, summary="Create a work order (受理)")
def create_work_order(request: ApiRequest, body: WorkOrderIn) -> HttpResponse:
    """Honours `Idempotency-Key`: the same key with the same body returns the first order (200)
    instead of a new one; with another body it answers 422 `idempotency_key_reused`."""
    key = idempotency_key(request)
    # Who may take requests is decided before the customer is looked up (the roles are read once
    # per request and reused by the service).
    services.check_intake_role(request.auth)
    customer = get_customer_for_intake(request.auth, body.account_no) if body.account_no else None
    intake = services.Intake.of(body, customer=customer)
    order, created = services.create_work_order(
        actor=request.auth,
        intake=intake,
        idempotency_key=stored_idempotency_key(request.auth, key),
        request_fingerprint=request_fingerprint(request) if key else "",
    )
    if not created:
        # The actor's own key: the first order, loaded with its relations, if still in their scope.
        scoping.require_in_scope(order, request.auth, ORDER_UNIT_FIELDS)
    # Accepted by the actor's own unit, so in scope; its relations are already in memory. The
    # answer is built from typed values (``from_order``) and written by pydantic's own JSON
    # serializer, the same document the API's renderer would write at a tenth of the cost
    # (every intake answers with it).
    return HttpResponse(
        WorkOrderOut.from_order(order).model_dump_json(),
        status=201 if created else 200,
        content_type="application/json; charset=utf-8",
    )


OrderPage = paging.mapped(lambda rows: [WorkOrderOut.from_order(o) for o in rows])


class ListFilters(Schema):
    mine: bool = False  # assigned to me
    accepted: bool = False  # accepted by me (受理人)
    number: CleanLine = Field("", max_length=30)  # exact or a prefix
    customer: CleanLine = Field("", max_length=60)  # account number, or the start of the customer's name
    phone: CleanLine = Field("", max_length=30)  # caller's phone or one of the customer's phones
    order_type: CleanLine = Field("", max_length=20)
    state: CleanLine = Field("", max_length=20)  # a state, or "open" / "closed"; closed states too
    unit: Int32 | None = None  # accepting or handling unit in this unit's subtree (within your scope)
    created_from: LocalDate | None = None  # Asia/Shanghai dates, both ends included
    created_to: LocalDate | None = None
    warning_level: Int32 | None = None
    open_only: bool = True  # only when no state is given


@router.get("", response=list[WorkOrderOut], summary="Search work orders in your scope (工单查询)")
@paginate(OrderPage)
def list_work_orders(request: ApiRequest, filters: Query[ListFilters]) -> QuerySet[WorkOrder]:
    """Newest first (then by id, so pages are stable). An order outside your scope never appears."""
    if filters.created_from and filters.created_to and filters.created_from > filters.created_to:
        raise ApiError("invalid_date_range", "created_from is after created_to.", status=422)
    qs = queries.search(
        request.auth,
        OrderSearch(
            number=filters.number,
            customer=filters.customer,
            phone=filters.phone,
            order_type=filters.order_type,
            state=filters.state,
            unit=filters.unit,
            created_from=filters.created_from,
            created_to=filters.created_to,
        ),
    )
    if filters.mine:
        qs = qs.filter(assignee=request.auth)
    if filters.accepted:
        qs = qs.filter(accepted_by=request.auth)
    if filters.open_only and not filters.state:
        qs = qs.filter(state__in=OPEN_STATES)
    if filters.warning_level is not None:
        qs = qs.filter(warning_level__gte=filters.warning_level)
    return qs


class CallbackFilters(Schema):
    order_type: OrderType | None = None
    unit: Int32 | None = None  # accepting or handling unit in this unit's subtree (within your scope)


def _callback_row(r: callbacks.CallbackRow) -> CallbackRowOut:
    o, d = r.order, r.deadline
    return CallbackRowOut(
        number=o.number,
        order_type=o.order_type,
        subtype=o.subtype,
        priority=o.priority,
        account_no=o.customer.account_no if o.customer is not None else None,
        customer_masked=mask_name(o.customer.name if o.customer is not None else o.caller_name),
        caller_phone_masked=mask_phone(o.caller_phone),
        accepted_unit=o.accepted_unit.name,
        assigned_unit=o.assigned_unit.name if o.assigned_unit is not None else None,
        version=o.version,
        callback_due_at=clock.local(r.due_at),
        provisional=d.provisional if d is not None else False,
        seconds_left=r.seconds_left,
        working_seconds_left=r.working_seconds_left,
        urgency=r.urgency,
        urgency_label=r.urgency_label,
        attempts=r.attempts,
        max_attempts=r.max_attempts,
        next_call_at=clock.local(r.next_call_at),
    )


CallbackPage = paging.mapped(lambda rows: [_callback_row(r) for r in callbacks.rows(rows)])


@router.get(
    "/callbacks", response=list[CallbackRowOut], summary="The callback work list (回访工作单) in your scope"
)
@paginate(CallbackPage)
def list_callbacks(request: ApiRequest, filters: Query[CallbackFilters]) -> QuerySet[WorkOrder]:
    """Orders reviewed and waiting for their callback (已审核待回访), most urgent first: the nearest
    callback due time, then priority, then age. Record a call with
    `POST /work-orders/{number}/actions/callback_call` (`outcome`, and `satisfaction` when reached)."""
    return callbacks.waiting(request.auth, order_type=filters.order_type or "", unit=filters.unit)


@router.get("/{number}", response=WorkOrderOut, summary="One work order by its number")
def get_work_order(request: ApiRequest, number: str) -> WorkOrderOut:
    return WorkOrderOut.from_order(queries.get_order(request.auth, number))


@router.get("/{number}/history", response=list[OrderEventOut], summary="The order's history (流转记录)")
def get_history(request: ApiRequest, number: str) -> list[OrderEventOut]:
    order = queries.get_order(request.auth, number)
    return [
        OrderEventOut(
            action=e.action,
            at=e.at,
            actor=e.actor.display_name if e.actor is not None else None,
            actor_unit=e.actor_unit.name if e.actor_unit is not None else None,
            from_state=e.from_state,
            to_state=e.to_state,
            note=e.note,
            data=e.data,
        )
        for e in order.events.select_related("actor", "actor_unit")
    ]


@router.post(
    "/{number}/actions/{action}", response=WorkOrderOut, summary="Act on an order (派单、接单、回单…)"
)
def act(request: ApiRequest, number: str, action: str, body: ActionIn) -> WorkOrderOut:
    order = queries.get_order(request.auth, number)
    payload = body.model_dump(exclude={"version", "note"}, exclude_none=True)
    services.perform(
        order=order, action=action, actor=request.auth, version=body.version, note=body.note, **payload
    )
    return WorkOrderOut.from_order(queries.get_order(request.auth, number))
