"""Payments over the API, for the channels (counter and POS clients, the online channels, the
banks' gateways) and the billing clerks: post a payment (idempotent), read a receipt, list a
customer's payments, reverse one, import a channel's or the system of record's file, reconcile a
channel's day; request a late-fee waiver and have another person approve or reject it. Thin;
errors are ``{code, message}`` (4xx)."""

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from ninja import Field, File, Form, Query, Router, Schema, Status
from ninja.files import UploadedFile
from ninja.pagination import paginate

from gridcare.core import clock, paging
from gridcare.core.api_errors import ApiError, ErrorCode, idempotency_key, request_fingerprint
from gridcare.core.masking import mask_name
from gridcare.core.validation import CleanLine, Code
from gridcare.customers.queries import get_customer_for_intake
from gridcare.org import scoping
from gridcare.org.types import ApiRequest

from . import answers, imports, latefees, payments
from .models import Channel, LateFeeWaiver, Payment, PaymentFile

router = Router(tags=["billing"])
files_router = Router(tags=["billing"])
reconciliations_router = Router(tags=["billing"])
waivers_router = Router(tags=["billing"])


class PaymentIn(Schema):
    account_no: Code
    channel: Channel
    amount: Decimal = Field(gt=0, max_digits=12, decimal_places=2)
    reference: Code = Field(
        "", description="the channel's transaction number; the Idempotency-Key header when empty"
    )
    paid_at: dt.datetime | None = Field(None, description="when the money was taken (now when empty)")


class AllocationOut(Schema):
    part: str
    bill: str | None
    amount: Decimal


class PaymentOut(Schema):
    receipt_no: str
    account_no: str
    name: str
    channel: str
    reference: str
    amount: Decimal
    paid_at: dt.datetime
    business_day: dt.date
    state: str
    allocations: list[AllocationOut]

    @classmethod
    def of(cls, p: Payment) -> "PaymentOut":
        return cls(
            receipt_no=p.receipt_no,
            account_no=p.customer.account_no,
            name=mask_name(p.customer.name),
            channel=p.channel,
            reference=p.reference,
            amount=p.amount,
            paid_at=p.paid_at,
            business_day=p.business_day,
            state=p.state,
            allocations=[
                AllocationOut(part=a.part, bill=a.bill.number if a.bill else None, amount=a.amount)
                for a in p.allocations.all()
            ],
        )


def _payment(request: ApiRequest, receipt_no: str) -> Payment:
    payment = get_object_or_404(
        Payment.objects.select_related("customer").prefetch_related("allocations__bill"),
        receipt_no=receipt_no,
    )
    scoping.require_in_scope(payment.customer, request.auth, "station_id")
    return payment


@router.post("", response={201: PaymentOut, 200: PaymentOut}, summary="Post a payment (缴费入账)")
def post_payment(request: ApiRequest, body: PaymentIn) -> Status[PaymentOut]:
    """Idempotent by (channel, reference): the same request again answers the first payment (200),
    nothing applied twice; the same reference with another request → 409 `idempotency_key_reused`.
    Applied oldest debt first (each bill's late fee, then the bill); the rest waits as credit."""
    reference = body.reference or idempotency_key(request) or ""
    if not reference:
        raise ApiError(
            ErrorCode.INVALID_INPUT,
            "A payment needs the channel's reference or an Idempotency-Key.",
            status=422,
        )
    payments.require_cashier_role(request.auth)
    paid_at = body.paid_at or clock.now()
    if paid_at.tzinfo is None:
        paid_at = paid_at.replace(tzinfo=clock.LOCAL_TZ)
    payment, created = payments.post_payment(
        account_no=body.account_no,
        viewer=request.auth,
        channel=body.channel,
        reference=reference,
        amount=body.amount,
        paid_at=paid_at,
        operator=request.auth,
        fingerprint=request_fingerprint(request),
    )
    # Answered from what the posting holds or the retry read: its customer, allocations and bills.
    return Status(201 if created else 200, PaymentOut.of(payment))


class PaymentFilters(Schema):
    account_no: Code


PaymentPage = paging.mapped(lambda rows: [PaymentOut.of(p) for p in rows])


@router.get("", response=list[PaymentOut], summary="A customer's payments, newest first")
@paginate(PaymentPage)
def list_payments(request: ApiRequest, filters: Query[PaymentFilters]) -> QuerySet[Any]:
    customer = get_customer_for_intake(request.auth, filters.account_no)
    return (
        Payment.objects.filter(customer=customer)
        .select_related("customer")
        .prefetch_related("allocations__bill")
        .order_by("-paid_at", "-id")
    )


@router.get("/{receipt_no}", response=PaymentOut, summary="A receipt: the payment and what it paid")
def get_payment(request: ApiRequest, receipt_no: str) -> PaymentOut:
    return PaymentOut.of(_payment(request, receipt_no))


class ReversalIn(Schema):
    reason: CleanLine = Field(min_length=1, max_length=200)


@router.post("/{receipt_no}/reversal", response=PaymentOut, summary="Reverse a payment (冲正)")
def reverse(request: ApiRequest, receipt_no: str, body: ReversalIn) -> PaymentOut:
    payments.reverse_payment(_payment(request, receipt_no), actor=request.auth, reason=body.reason)
    return PaymentOut.of(_payment(request, receipt_no))


class FileOut(Schema):
    id: int
    kind: str
    name: str
    state: str
    rows: int
    total: Decimal
    report: list[dict[str, Any]]


@files_router.post("", response={201: FileOut}, summary="Import a channel's or the system of record's file")
def upload(request: ApiRequest, kind: Form[PaymentFile.Kind], file: File[UploadedFile]) -> Status[FileOut]:
    """All or nothing: one bad row rejects the whole file (422 `bad_file`, `rows` names each bad
    row); the same file twice → 409 `file_already_imported`."""
    content = file.read(imports.MAX_BYTES + 1)
    record = imports.import_file(kind=kind, name=file.name or "upload", content=content, actor=request.auth)
    return Status(
        201,
        FileOut(
            id=record.pk,
            kind=record.kind,
            name=record.name,
            state=record.state,
            rows=record.rows,
            total=record.total,
            report=record.report,
        ),
    )


class TheirRow(Schema):
    reference: Code
    amount: Decimal = Field(max_digits=12, decimal_places=2)


class ReconcileIn(Schema):
    unit: Code = Field(description="the code of the unit whose collection account is reconciled")
    channel: Channel
    business_day: dt.date
    their_count: int = Field(ge=0, le=10_000_000)
    their_total: Decimal = Field(max_digits=14, decimal_places=2)
    rows: list[TheirRow] | None = Field(None, max_length=100_000)


class ReconcileOut(Schema):
    unit: str
    channel: str
    business_day: dt.date
    our_count: int
    our_total: Decimal
    their_count: int | None
    their_total: Decimal | None
    balanced: bool
    differences: list[dict[str, str]]


@reconciliations_router.post("", response=ReconcileOut, summary="Reconcile a channel's day (日对账)")
def reconcile(request: ApiRequest, body: ReconcileIn) -> ReconcileOut:
    unit = scoping.unit_by_code(request.auth, body.unit)
    if unit is None:
        raise ApiError(ErrorCode.INVALID_UNIT, "Unknown unit, or outside your scope.", status=422)
    result = payments.reconcile(
        body.channel,
        body.business_day,
        body.their_count,
        body.their_total,
        actor=request.auth,
        unit=unit,
        their_rows=[(r.reference, r.amount) for r in body.rows] if body.rows is not None else None,
    )
    return ReconcileOut(
        unit=unit.code,
        channel=result.channel,
        business_day=result.business_day,
        our_count=result.our_count,
        our_total=result.our_total,
        their_count=result.their_count,
        their_total=result.their_total,
        balanced=result.balanced,
        differences=result.differences,
    )


class LateFeeWaiverIn(Schema):
    bill: Code = Field(description="the number of the bill whose late fee is to be waived")
    reason: CleanLine = Field(min_length=1, max_length=200)


class LateFeeWaiverDecisionIn(Schema):
    note: CleanLine = Field("", max_length=200, description="the decision's note; required to reject")


class LateFeeWaiverOut(Schema):
    id: int
    bill: str
    account_no: str
    state: str
    reason: str
    amount: Decimal = Field(description="what was waived (set when approved)")
    requested_by: str
    requested_at: dt.datetime
    decided_by: str | None
    decided_at: dt.datetime | None
    note: str

    @classmethod
    def of(cls, w: LateFeeWaiver) -> "LateFeeWaiverOut":
        return cls(
            id=w.pk,
            bill=w.bill.number,
            account_no=w.bill.customer.account_no,
            state=w.state,
            reason=w.reason,
            amount=w.amount,
            requested_by=w.requested_by.username,
            requested_at=w.at,
            decided_by=w.approved_by.username if w.approved_by else None,
            decided_at=w.decided_at,
            note=w.decision_note,
        )


def _waivers() -> QuerySet[LateFeeWaiver]:
    return LateFeeWaiver.objects.select_related("bill__customer", "requested_by", "approved_by")


def _waiver(request: ApiRequest, pk: int) -> LateFeeWaiver:
    waiver = get_object_or_404(_waivers(), pk=pk)
    scoping.require_in_scope(waiver.bill.customer, request.auth, "station_id")
    return waiver


@waivers_router.post(
    "", response={201: LateFeeWaiverOut}, summary="Request a late-fee waiver (违约金减免申请)"
)
def request_waiver(request: ApiRequest, body: LateFeeWaiverIn) -> Status[LateFeeWaiverOut]:
    """By a billing clerk or manager over the customer, on an open bill owing a late fee; another
    person decides it. A second request while one stands → 409 `invalid_state`."""
    bill = answers.bill_for(request.auth, body.bill)
    waiver = latefees.request_waiver(bill, actor=request.auth, reason=body.reason)
    return Status(201, LateFeeWaiverOut.of(_waiver(request, waiver.pk)))


class WaiverFilters(Schema):
    # Spelled out, not ``LateFeeWaiver.State``: OpenAPI names an enum component after its class,
    # and ``DisconnectionCase.State`` is a "State" too (one would replace the other).
    state: Literal["requested", "approved", "rejected"] | None = None


WaiverPage = paging.mapped(lambda rows: [LateFeeWaiverOut.of(w) for w in rows])


@waivers_router.get(
    "", response=list[LateFeeWaiverOut], summary="Late-fee waivers in your scope, newest first"
)
@paginate(WaiverPage)
def list_waivers(request: ApiRequest, filters: Query[WaiverFilters]) -> QuerySet[Any]:
    rows = scoping.restrict(_waivers(), request.auth, "bill__customer__station_id")
    if filters.state:
        rows = rows.filter(state=filters.state)
    return rows.order_by("-at", "-id")


@waivers_router.post("/{pk}/approval", response=LateFeeWaiverOut, summary="Approve a late-fee waiver")
def approve_waiver(request: ApiRequest, pk: int, body: LateFeeWaiverDecisionIn) -> LateFeeWaiverOut:
    """By another billing clerk or manager than the requester (the requester → 403
    `self_approval`): the bill's late fee stops and what is unpaid is dropped."""
    latefees.approve_waiver(_waiver(request, pk), actor=request.auth, note=body.note)
    return LateFeeWaiverOut.of(_waiver(request, pk))


@waivers_router.post("/{pk}/rejection", response=LateFeeWaiverOut, summary="Reject a late-fee waiver")
def reject_waiver(request: ApiRequest, pk: int, body: LateFeeWaiverDecisionIn) -> LateFeeWaiverOut:
    """By another person than the requester, with a note (422 `reason_required` without)."""
    latefees.reject_waiver(_waiver(request, pk), actor=request.auth, note=body.note)
    return LateFeeWaiverOut.of(_waiver(request, pk))
