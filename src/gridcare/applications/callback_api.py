"""业扩回访 and 稽查案件 over the API (``/api/v1/application-callbacks``, ``/api/v1/audit-cases``):
thin — parse, call a verb of ``callback_work``, answer. Errors are ``{code, message}`` (4xx)."""

import datetime as dt
from typing import Literal

from django.db.models import QuerySet
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from gridcare.core import clock, masking, paging
from gridcare.core.validation import CleanLine, CleanText, Flag
from gridcare.org.types import ApiRequest

from . import callback_work, callbacks
from .models import Answer, ApplicationCallback, AuditCase, CallbackOutcome, CallbackState

router = Router(tags=["applications"])
cases_router = Router(tags=["applications"])


class QuestionOut(Schema):
    code: str
    text: str
    answer: str = ""


class CallbackOut(Schema):
    id: int
    version: int
    application: str
    applicant: str = Field(description="masked")
    contact_phone: str = Field(description="masked")
    node: str
    node_label: str
    state: str
    state_label: str
    due_from: dt.datetime
    due_at: dt.datetime
    overdue: bool
    attempts: int
    last_call_at: dt.datetime | None
    satisfaction: str
    findings: list[str]
    report_order: str | None
    questions: list[QuestionOut]

    @classmethod
    def of(cls, c: ApplicationCallback, now: dt.datetime) -> "CallbackOut":
        a = c.application
        return cls(
            id=c.pk,
            version=c.version,
            application=a.number,
            applicant=masking.mask_name(a.applicant_name),
            contact_phone=masking.mask_phone(a.contact_phone),
            node=c.node,
            node_label=c.get_node_display(),
            state=c.state,
            state_label=c.get_state_display(),
            due_from=clock.local(c.due_from),
            due_at=clock.local(c.due_at),
            overdue=c.state == CallbackState.DUE and c.due_at < now,
            attempts=c.attempts,
            last_call_at=clock.local(c.last_call_at) if c.last_call_at else None,
            satisfaction=c.satisfaction,
            findings=list(c.findings or []),
            report_order=c.report_order.number if c.report_order_id and c.report_order else None,
            questions=[
                QuestionOut(code=q.code, text=q.text, answer=(c.answers or {}).get(q.code, ""))
                for q in callbacks.questions(c.node)
            ],
        )


class CallIn(Schema):
    version: int | None = Field(None, ge=1, le=2**31 - 1, description="the callback's version you read")
    outcome: CallbackOutcome
    answers: dict[CleanLine, Answer] = Field(
        default_factory=dict, description="question code → yes / no / unclear"
    )
    satisfaction: Literal["satisfied", "basically", "dissatisfied", ""] = ""
    note: CleanText = Field("", max_length=2000)


class CallbackFilters(Schema):
    state: Literal["due", "done", "failed", ""] = "due"
    overdue: Flag = False


def _callback_rows(rows: list[ApplicationCallback]) -> list[CallbackOut]:
    now = clock.now()
    return [CallbackOut.of(c, now) for c in rows]


@router.get("", response=list[CallbackOut], summary="业扩回访工作单")
@paginate(paging.mapped(_callback_rows))
def list_callbacks(request: ApiRequest, filters: Query[CallbackFilters]) -> QuerySet[ApplicationCallback]:
    """The callbacks in your scope, the nearest limit first (then 优先办理权 and 绿色通道)."""
    qs = callback_work.work_list(request.auth, state=filters.state, overdue=filters.overdue)
    return qs.select_related("report_order")


@router.get("/{callback_id}", response=CallbackOut, summary="One callback with its questions")
def get_callback(request: ApiRequest, callback_id: int) -> CallbackOut:
    return CallbackOut.of(callback_work.get_callback(request.auth, callback_id), clock.now())


@router.post("/{callback_id}/calls", response=CallbackOut, summary="Record a call (接通回访 / 未接通 / 拒绝)")
def record_call(request: ApiRequest, callback_id: int, body: CallIn) -> CallbackOut:
    """A reached call records an answer to every question of the node and the satisfaction; a
    "yes" to 吃拿卡要 or 三指定 (a "no" to the contractor's licence) raises a report (举报) work order
    and an audit case. Calling hours, the minimum interval and the attempts follow the callback
    settings of the work orders."""
    callback = callback_work.get_callback(request.auth, callback_id)
    done = callback_work.record_call(
        callback=callback,
        actor=request.auth,
        outcome=body.outcome,
        version=body.version,
        answers={k: str(v) for k, v in body.answers.items()},
        satisfaction=body.satisfaction,
        note=body.note,
    )
    return CallbackOut.of(callback_work.get_callback(request.auth, done.pk), clock.now())


class CaseOut(Schema):
    number: str
    version: int
    application: str
    finding: str
    detail: str
    unit: str
    state: str
    state_label: str
    report_order: str | None
    opened_at: dt.datetime
    substantiated: bool | None
    conclusion: str
    closed_at: dt.datetime | None

    @classmethod
    def of(cls, c: AuditCase) -> "CaseOut":
        return cls(
            number=c.number,
            version=c.version,
            application=c.application.number,
            finding=c.finding,
            detail=c.detail,
            unit=c.unit.name,
            state=c.state,
            state_label=c.get_state_display(),
            report_order=c.report_order.number if c.report_order else None,
            opened_at=clock.local(c.opened_at),
            substantiated=c.substantiated,
            conclusion=c.conclusion,
            closed_at=clock.local(c.closed_at) if c.closed_at else None,
        )


class CaseFilters(Schema):
    state: Literal["open", "investigating", "closed", ""] = ""


class CaseActionIn(Schema):
    version: int | None = Field(None, ge=1, le=2**31 - 1)
    substantiated: Flag | None = None
    conclusion: CleanText = Field("", max_length=4000)


@cases_router.get("", response=list[CaseOut], summary="稽查案件")
@paginate(paging.mapped(lambda rows: [CaseOut.of(c) for c in rows]))
def list_cases(request: ApiRequest, filters: Query[CaseFilters]) -> QuerySet[AuditCase]:
    qs = callback_work.visible_cases(request.auth)
    return qs.filter(state=filters.state) if filters.state else qs


@cases_router.get("/{number}", response=CaseOut, summary="One audit case")
def get_case(request: ApiRequest, number: str) -> CaseOut:
    return CaseOut.of(callback_work.get_case(request.auth, number))


@cases_router.post("/{number}/investigate", response=CaseOut, summary="Start the investigation (核查中)")
def investigate(request: ApiRequest, number: str, body: CaseActionIn) -> CaseOut:
    case = callback_work.get_case(request.auth, number)
    callback_work.start_investigation(case=case, actor=request.auth, version=body.version)
    return CaseOut.of(callback_work.get_case(request.auth, number))


@cases_router.post("/{number}/close", response=CaseOut, summary="Close with the conclusion (办结)")
def close(request: ApiRequest, number: str, body: CaseActionIn) -> CaseOut:
    case = callback_work.get_case(request.auth, number)
    callback_work.close_case(
        case=case,
        actor=request.auth,
        substantiated=body.substantiated,
        conclusion=body.conclusion,
        version=body.version,
    )
    return CaseOut.of(callback_work.get_case(request.auth, number))
