"""Arrears disconnection and reconnection over the API (``/api/v1/disconnections``): thin — parse,
call a verb of ``arrears``, answer. Cases are scoped by their responsible unit; customers by
their station. Errors are ``{code, message}`` (4xx); a refusal for an exempt customer adds
``exemptions``."""

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from gridcare.core import clock, paging
from gridcare.core.api_errors import ApiError, ErrorCode
from gridcare.core.validation import CleanLine, LocalDateTime
from gridcare.customers.queries import get_customer
from gridcare.org import scoping
from gridcare.org.types import ApiRequest, Viewer

from . import arrears
from .models import DisconnectionCase

router = Router(tags=["billing"])


class ExemptionOut(Schema):
    code: str
    label: str
    detail: str
    blocks: bool
    until: dt.datetime | None


class EventOut(Schema):
    at: dt.datetime
    action: str
    from_state: str
    to_state: str
    note: str
    data: dict[str, Any]


class DisconnectionCaseOut(Schema):
    number: str
    account_no: str
    customer_name: str
    unit: str
    state: DisconnectionCase.State
    state_label: str
    method: DisconnectionCase.Method
    arrears: Decimal
    oldest_due_on: dt.date
    proposed_at: dt.datetime
    notice_delivered_at: dt.datetime | None
    notice_proof: str
    earliest_cut_at: dt.datetime | None
    called_at: dt.datetime | None
    disconnected_at: dt.datetime | None
    paid_at: dt.datetime | None
    reconnect_due_at: dt.datetime | None
    reconnected_at: dt.datetime | None
    warning_level: int
    cancel_reason: str
    field_order: str | None

    @staticmethod
    def of(case: DisconnectionCase) -> "DisconnectionCaseOut":
        local = clock.local
        return DisconnectionCaseOut(
            number=case.number,
            account_no=case.customer.account_no,
            customer_name=case.customer.name,
            unit=case.unit.name,
            state=DisconnectionCase.State(case.state),
            state_label=case.get_state_display(),
            method=DisconnectionCase.Method(case.method),
            arrears=case.arrears,
            oldest_due_on=case.oldest_due_on,
            proposed_at=local(case.proposed_at),
            notice_delivered_at=local(case.notice_delivered_at),
            notice_proof=case.notice_proof,
            earliest_cut_at=local(case.earliest_cut_at),
            called_at=local(case.called_at),
            disconnected_at=local(case.disconnected_at),
            paid_at=local(case.paid_at),
            reconnect_due_at=local(case.reconnect_due_at),
            reconnected_at=local(case.reconnected_at),
            warning_level=case.warning_level,
            cancel_reason=case.cancel_reason,
            field_order=case.field_order.number if case.field_order_id and case.field_order else None,
        )


class CaseDetailOut(DisconnectionCaseOut):
    events: list[EventOut]


def _require_reader(viewer: Viewer) -> None:
    if not scoping.has_role(viewer, *arrears.CASE_READERS):
        raise ApiError(ErrorCode.FORBIDDEN_ROLE, _("您的岗位不能查看欠费停复电"), status=403)


def _case(request: ApiRequest, number: str) -> DisconnectionCase:
    _require_reader(request.auth)
    found = arrears.visible_cases(request.auth).filter(number=number).first()
    if found is None:
        raise ApiError(ErrorCode.NOT_FOUND, _("您的管辖范围内没有该停复电工单"), status=404)
    return found


def _detail(request: ApiRequest, number: str) -> CaseDetailOut:
    case = _case(request, number)
    events = [
        EventOut(
            at=clock.local(e.at),
            action=e.action,
            from_state=e.from_state,
            to_state=e.to_state,
            note=e.note,
            data=e.data,
        )
        for e in case.events.order_by("at", "id")
    ]
    return CaseDetailOut(**DisconnectionCaseOut.of(case).model_dump(), events=events)


class DisconnectionFilters(Schema):
    state: DisconnectionCase.State | None = None
    account_no: CleanLine = Field("", max_length=20)
    open_only: bool = Field(True, description="only cases in progress (when no state is given)")


CasePage = paging.mapped(lambda rows: [DisconnectionCaseOut.of(c) for c in rows])


@router.get("", response=list[DisconnectionCaseOut], summary="Disconnection cases in your scope (欠费停复电)")
@paginate(CasePage)
def list_cases(request: ApiRequest, filters: Query[DisconnectionFilters]) -> QuerySet[DisconnectionCase]:
    """The newest first; a case of a unit outside your scope never appears."""
    _require_reader(request.auth)
    qs = arrears.visible_cases(request.auth)
    if filters.state:
        qs = qs.filter(state=filters.state)
    elif filters.open_only:
        qs = qs.filter(state__in=arrears.IN_PROGRESS)
    if filters.account_no:
        qs = qs.filter(customer__account_no=filters.account_no)
    return qs.order_by("-proposed_at", "-id")


class ProposeIn(Schema):
    account_no: CleanLine = Field(min_length=1, max_length=20)


@router.post("", response={201: CaseDetailOut}, summary="Propose a disconnection (拟停电)")
def propose(request: ApiRequest, body: ProposeIn) -> Status[CaseDetailOut]:
    """Only when an open bill is overdue longer than the setting's days and its reminder was
    sent; 409 `disconnection_exempt` (with `exemptions`) for an exempt customer."""
    customer = get_customer(request.auth, body.account_no)
    case = arrears.propose_disconnection(customer, actor=request.auth)
    return Status(201, _detail(request, case.number))


@router.get(
    "/exemptions/{account_no}",
    response=list[ExemptionOut],
    summary="Why a customer may not be disconnected now (停电豁免)",
)
def get_exemptions(request: ApiRequest, account_no: str) -> list[ExemptionOut]:
    """Each reason with `blocks` (an important user is shown without blocking: its notice is
    copied to the power authority)."""
    _require_reader(request.auth)
    customer = get_customer(request.auth, account_no)
    return [ExemptionOut(**e.as_dict()) for e in arrears.exemptions(customer, clock.now())]


@router.get("/{number}", response=CaseDetailOut, summary="One case with its history")
def get_case(request: ApiRequest, number: str) -> CaseDetailOut:
    return _detail(request, number)


class NoticeIn(Schema):
    delivered_at: LocalDateTime
    proof: CleanLine = Field(min_length=1, max_length=200, description="送达凭证: receipt, photo reference…")


@router.post("/{number}/notice", response=CaseDetailOut, summary="Record the notice's delivery (通知送达)")
def record_notice(request: ApiRequest, number: str, body: NoticeIn) -> CaseDetailOut:
    arrears.record_notice(
        _case(request, number), delivered_at=body.delivered_at, proof=body.proof, actor=request.auth
    )
    return _detail(request, number)


class DisconnectionCallIn(Schema):
    called_at: LocalDateTime


@router.post("/{number}/call", response=CaseDetailOut, summary="Record the call before the cut (电话告知)")
def record_call(request: ApiRequest, number: str, body: DisconnectionCallIn) -> CaseDetailOut:
    arrears.record_call(_case(request, number), body.called_at, request.auth)
    return _detail(request, number)


class WhenIn(Schema):
    at: LocalDateTime | None = Field(None, description="default: now")


@router.post("/{number}/execute", response=CaseDetailOut, summary="Disconnect (执行停电)")
def execute(request: ApiRequest, number: str, body: WhenIn) -> CaseDetailOut:
    """After the notice period (and the call for a non-residential customer); the exemptions
    are checked again at the cut."""
    arrears.execute(_case(request, number), actor=request.auth, at=body.at or clock.now())
    return _detail(request, number)


@router.post("/{number}/reconnected", response=CaseDetailOut, summary="Record the reconnection (复电完成)")
def record_reconnected(request: ApiRequest, number: str, body: WhenIn) -> CaseDetailOut:
    arrears.record_reconnected(_case(request, number), body.at or clock.now(), request.auth)
    return _detail(request, number)
