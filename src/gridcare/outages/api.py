"""Outage information API (thin: every rule is in services.py, every read in queries.py)."""

from __future__ import annotations

from ninja import Field, Query, Router, Schema, Status

from gridcare.core.api_errors import ApiError, idempotency_key, request_fingerprint, stored_idempotency_key
from gridcare.core.validation import CleanLine, limit_param
from gridcare.customers.queries import get_customer

from . import queries, services, wording
from .models import Outage
from .schemas import (
    AreaOut,
    CancelIn,
    EstimateIn,
    KeyCallIn,
    KeyCustomerOut,
    NoticeOut,
    OutageDetailOut,
    OutageIn,
    OutageOut,
    ProgressOut,
    PublishIn,
    RestoreIn,
    ScopeIn,
    StartIn,
)

router = Router(tags=["outages"])


class LookupParams(Schema):
    account_no: CleanLine = Field("", max_length=32)
    address: CleanLine = Field("", max_length=200)
    area: CleanLine = Field("", max_length=64)
    feeder: CleanLine = Field("", max_length=64)
    when: CleanLine = Field("today", max_length=20)
    limit: int = limit_param(100, queries.LOOKUP_LIMIT)


@router.get(
    "",
    response=list[OutageOut],
    summary="Is it out? Outages by customer, address, area or feeder (today / week / fault)",
)
def list_outages(request, params: Query[LookupParams]):
    """`when`: `today`, `week` (today and the next six days), `fault` (open fault outages),
    `current` (without power now) or `all`. Without account_no/address/area/feeder: every outage
    in your scope for that period."""
    if params.when not in queries.WHEN_CHOICES:
        raise ApiError("invalid_when", f"when must be one of {', '.join(queries.WHEN_CHOICES)}.", status=422)
    lookup = queries.OutageLookup(
        account_no=params.account_no,
        address=params.address,
        area=params.area,
        feeder=params.feeder,
        when=params.when,
    )
    if lookup.is_empty():
        outages = queries.list_outages(request.auth, when=params.when)[: params.limit]
        return [OutageOut.from_outage(o, wording.status_line(o)) for o in outages]
    result = queries.lookup(request.auth, lookup, limit=params.limit)
    if result.not_found:
        raise ApiError("not_found", f"No such {result.not_found} in your scope.", status=404)
    return [OutageOut.from_outage(r.outage, r.status, r.matched_customers) for r in result.rows]


def detail(outage: Outage) -> OutageDetailOut:
    base = OutageOut.from_outage(outage, wording.status_line(outage)).model_dump()
    return OutageDetailOut(
        **base,
        feeders=[f.code for f in outage.feeders.all()],
        transformer_areas=[a.code for a in outage.transformer_areas.all()],
        areas=[
            AreaOut(
                code=a.transformer_area.code,
                name=a.transformer_area.name,
                feeder=a.feeder.code,
                station=a.station.name,
                customer_count=a.customer_count,
            )
            for a in queries.areas_of(outage)
        ],
        notice=NoticeOut(
            required_hours=outage.required_notice_hours,
            notice_hours=float(outage.notice_hours) if outage.notice_hours is not None else None,
            override_reason=outage.override_reason,
            override_by=outage.override_by.display_name if outage.override_by_id else None,
            override_at=outage.override_at,
        ),
        notifications=[ProgressOut(**row) for row in queries.delivery_progress(outage)],
        key_customers=[
            KeyCustomerOut(
                account_no=row.customer.account_no,
                name=row.customer.name,
                phoned_at=row.phoned_at,
                phoned_by=row.phoned_by.display_name if row.phoned_by_id else None,
                phone_note=row.phone_note,
            )
            for row in queries.key_customers(outage)
        ],
        customers_without_mobile=queries.customers_without_mobile(outage),
    )


@router.get("/{number}", response=OutageDetailOut, summary="One outage: scope, notice, notifications")
def get_outage(request, number: str):
    return detail(queries.get_outage(request.auth, number))


@router.post("", response={201: OutageDetailOut, 200: OutageDetailOut}, summary="Create an outage")
def create_outage(request, body: OutageIn):
    """Planned/temporary outages are created as drafts (`publish: true` publishes at once, with
    the notice rule); `kind: fault` opens a fault outage in progress. Honours `Idempotency-Key`
    (the same key with another body: 422 `idempotency_key_reused`)."""
    key = idempotency_key(request)
    outage, created = services.create_outage(
        kind=body.kind,
        reason=body.reason,
        actor=request.auth,
        planned_start=body.planned_start,
        planned_end=body.planned_end,
        estimated_end=body.estimated_end,
        feeders=body.feeders,
        transformer_areas=body.transformer_areas,
        area_text=body.area_text,
        idempotency_key=stored_idempotency_key(request.auth, key),
        request_fingerprint=request_fingerprint(request) if key else "",
    )
    if created and body.publish and outage.kind != "fault":
        try:
            outage = services.publish(outage=outage, actor=request.auth, override_reason=body.override_reason)
        except ApiError as exc:
            exc.extra["number"] = outage.number  # the draft exists; publish it later
            raise
    outage = queries.get_outage(request.auth, outage.number)
    return Status(201 if created else 200, detail(outage))


def _act(request, number: str, verb, **kwargs) -> OutageDetailOut:
    outage = queries.get_outage(request.auth, number)
    verb(outage=outage, actor=request.auth, **kwargs)
    return detail(queries.get_outage(request.auth, number))


@router.post("/{number}/publish", response=OutageDetailOut, summary="Publish (notice rule applies)")
def publish(request, number: str, body: PublishIn):
    return _act(request, number, services.publish, override_reason=body.override_reason)


@router.post("/{number}/start", response=OutageDetailOut, summary="The power is cut (实际停电)")
def start(request, number: str, body: StartIn):
    return _act(request, number, services.start, at=body.at, note=body.note)


@router.post("/{number}/restore", response=OutageDetailOut, summary="Power is back; restoration notices")
def restore(request, number: str, body: RestoreIn):
    return _act(request, number, services.restore, at=body.at, note=body.note)


@router.post("/{number}/cancel", response=OutageDetailOut, summary="Cancel; told customers hear it")
def cancel(request, number: str, body: CancelIn):
    return _act(request, number, services.cancel, reason=body.reason)


@router.post("/{number}/estimate", response=OutageDetailOut, summary="New estimated restoration time")
def estimate(request, number: str, body: EstimateIn):
    return _act(request, number, services.set_estimated_end, estimated_end=body.estimated_end, note=body.note)


@router.post("/{number}/scope", response=OutageDetailOut, summary="Replace a fault outage's scope")
def scope(request, number: str, body: ScopeIn):
    return _act(
        request,
        number,
        services.update_fault_scope,
        feeders=body.feeders,
        transformer_areas=body.transformer_areas,
        reason=body.reason,
        estimated_end=body.estimated_end,
        note=body.note,
    )


@router.post(
    "/{number}/key-customer-calls", response=OutageDetailOut, summary="Record a key customer was phoned"
)
def key_customer_call(request, number: str, body: KeyCallIn):
    customer = get_customer(request.auth, body.account_no)
    return _act(request, number, services.record_key_customer_call, customer=customer, note=body.note)
