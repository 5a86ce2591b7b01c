"""业扩回访 work and 稽查 cases: the callback work list, a call and its answers, and what a finding
raises — one report (举报) work order through the work orders' one intake, and an audit case per
finding for the auditors of the unit whose staff it concerns.

The calls keep the callback rules of the work orders (``workorders.CallbackSetting``: calling
hours, the minimum interval between two calls, the number of attempts, a refusal ending the
callback); a reached callback records an answer to every question of its node and the customer's
overall satisfaction (满意 / 基本满意 / 不满意, the work orders' scale), which the quality figures
count.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.db.models import QuerySet
from django.utils.translation import gettext

from gridcare.core import clock, numbering
from gridcare.core.api_errors import ApiError, ErrorCode
from gridcare.notify import services as notify
from gridcare.org import scoping
from gridcare.org.models import Role, RoleAssignment, Unit, User
from gridcare.org.types import Actor, Viewer
from gridcare.workorders import calling
from gridcare.workorders.intake import Intake, create_work_order
from gridcare.workorders.models import CallbackSetting, Channel, OrderType, Satisfaction

from . import callbacks
from .models import (
    Answer,
    Application,
    ApplicationCallback,
    ApplicationEvent,
    ApplicationNode,
    AuditCase,
    AuditState,
    CallbackCall,
    CallbackOutcome,
    CallbackQuestion,
    CallbackState,
    NodeKind,
)

CALLBACK_ROLES = frozenset({Role.AGENT, Role.SHIFT_LEADER, Role.ADMIN})
AUDIT_ROLES = frozenset({Role.AUDITOR, Role.MANAGER, Role.ADMIN})
CASE_PREFIX = "SJ"
ABOUT_TYPE = "applications.application"


def _require(actor: Actor, roles: frozenset[str], message: str) -> None:
    if getattr(actor, "is_superuser", False):
        return
    if not scoping.roles_of(actor) & roles:
        raise ApiError(ErrorCode.FORBIDDEN_ROLE, message, status=403)


# --- Reading -------------------------------------------------------------------------------------


def visible_callbacks(viewer: Viewer, active_unit: Unit | None = None) -> QuerySet[ApplicationCallback]:
    return scoping.restrict(
        ApplicationCallback.objects.select_related("application", "unit"), viewer, "unit", active_unit
    )


def work_list(
    viewer: Viewer, *, state: str = CallbackState.DUE, overdue: bool = False, now: dt.datetime | None = None
) -> QuerySet[ApplicationCallback]:
    """回访工作单: the callbacks in the viewer's scope, the nearest limit first, then the
    application's priority (优先办理权 and 绿色通道 first)."""
    qs = visible_callbacks(viewer)
    if state:
        qs = qs.filter(state=state)
    if overdue:
        qs = qs.filter(state=CallbackState.DUE, due_at__lt=now or clock.now())
    return qs.order_by("due_at", "-application__priority", "id")


def get_callback(viewer: Viewer, pk: int) -> ApplicationCallback:
    found = visible_callbacks(viewer).filter(pk=pk).first()
    if found is None:
        raise ApiError(ErrorCode.NOT_FOUND, gettext("您的管辖范围内没有该回访"), status=404)
    return found


def visible_cases(viewer: Viewer, active_unit: Unit | None = None) -> QuerySet[AuditCase]:
    return scoping.restrict(
        AuditCase.objects.select_related("application", "unit", "callback", "report_order"),
        viewer,
        "unit",
        active_unit,
    )


def get_case(viewer: Viewer, number: str) -> AuditCase:
    found = visible_cases(viewer).filter(number=number).first()
    if found is None:
        raise ApiError(ErrorCode.NOT_FOUND, gettext("您的管辖范围内没有该稽查案件"), status=404)
    return found


# --- A call --------------------------------------------------------------------------------------


def _check_call_allowed(callback: ApplicationCallback, setting: CallbackSetting, now: dt.datetime) -> None:
    if callback.state != CallbackState.DUE:
        raise ApiError(ErrorCode.CALLBACK_CLOSED, gettext("该回访已结束"), status=409)
    if now < callback.due_from:
        raise ApiError(
            ErrorCode.CALLBACK_NOT_YET,
            gettext("该回访应在环节完成后次一工作日进行（%(at)s 起）")
            % {"at": f"{clock.local(callback.due_from):%Y-%m-%d %H:%M}"},
            status=409,
            due_from=clock.local(callback.due_from).isoformat(),
        )
    calling.require_calling_hours(now, setting)
    calling.require_interval(callback.last_call_at, now, setting)


def _answers(node: str, answers: dict[str, str]) -> tuple[dict[str, str], list[CallbackQuestion]]:
    """The answers to the node's questions (every one required) and the questions whose answer is
    a finding."""
    asked = callbacks.questions(node)
    missing = [q.code for q in asked if answers.get(q.code) not in Answer.values]
    if missing:
        raise ApiError(
            ErrorCode.ANSWERS_REQUIRED,
            gettext("请逐项记录客户的回答：%(missing)s")
            % {"missing": "；".join(q.text for q in asked if q.code in missing)},
            status=422,
            missing=missing,
        )
    kept = {q.code: answers[q.code] for q in asked}
    found = [q for q in asked if q.finding and kept[q.code] == (q.finding_when or Answer.YES)]
    return kept, found


def _node_unit(application: Application, node: str) -> Unit:
    """The unit whose staff a finding at ``node`` concerns: the node's owner (the accepting
    window for 受理)."""
    if node == NodeKind.ACCEPT:
        return application.accepted_unit
    owner = (
        ApplicationNode.objects.filter(application=application, kind=node)
        .select_related("owner_unit")
        .first()
    )
    return owner.owner_unit if owner is not None else application.supply_unit


def _auditors(unit: Unit) -> list[User]:
    """The auditors of the unit and of every unit above it (稽查 is done from above)."""
    units = [*unit.ancestors(), unit]
    return [
        a.user
        for a in RoleAssignment.objects.filter(role=Role.AUDITOR, unit__in=units, user__is_active=True)
        .select_related("user")
        .order_by("user_id")
        .distinct()
    ]


def _raise_findings(
    callback: ApplicationCallback, found: list[CallbackQuestion], actor: Actor, note: str, now: dt.datetime
) -> None:
    """One report order for the callback, one audit case per finding, the auditors told."""
    application = callback.application
    names = [q.finding for q in found]
    content = gettext(
        "业扩回访发现问题线索：%(findings)s。用电申请 %(number)s，回访环节：%(node)s。客户反映：%(note)s"
    ) % {
        "findings": "、".join(names),
        "number": application.number,
        "node": callback.get_node_display(),
        "note": note or gettext("（无）"),
    }
    order, _created = create_work_order(
        actor=actor,
        intake=Intake(
            order_type=OrderType.REPORT,
            channel=Channel.CALLBACK,
            content=content,
            customer=application.customer,
            caller_name=application.contact_name,
            caller_phone=application.contact_phone,
            address=application.address,
        ),
        idempotency_key=f"application-callback:{callback.pk}:report",
    )
    callback.report_order = order
    unit = _node_unit(application, callback.node)
    period = clock.local(now).strftime("%Y%m%d")
    for question in found:
        case = AuditCase.objects.create(
            number=numbering.next_number(CASE_PREFIX, period),
            application=application,
            callback=callback,
            finding=question.finding,
            detail=f"{question.text} {gettext('客户回答')}：{Answer(callback.answers[question.code]).label}。{note}".strip(),
            unit=unit,
            report_order=order,
            opened_at=now,
        )
        notify.tell_staff(
            _auditors(unit),
            subject=gettext("【稽查】业扩回访线索：%(finding)s（%(number)s）")
            % {"finding": case.finding, "number": application.number},
            body=gettext(
                "用电申请 %(number)s 的%(node)s回访中客户反映“%(finding)s”，已立稽查案件 %(case)s、举报工单 %(order)s，请核查。"
            )
            % {
                "number": application.number,
                "node": callback.get_node_display(),
                "finding": case.finding,
                "case": case.number,
                "order": order.number,
            },
            about=(ABOUT_TYPE, application.number),
            dedup=f"audit-case:{case.number}",
        )


def record_call(
    *,
    callback: ApplicationCallback,
    actor: Actor,
    outcome: str,
    version: int | None = None,
    answers: dict[str, str] | None = None,
    satisfaction: str = "",
    note: str = "",
) -> ApplicationCallback:
    """One call of a callback: reached (answers and satisfaction recorded; a finding raises a
    report order and an audit case), or not (another attempt later, until they run out; a refusal
    ends it when the rules say so)."""
    _require(actor, CALLBACK_ROLES, gettext("您的岗位不能进行业扩回访"))
    if outcome not in CallbackOutcome.values:
        raise ApiError(ErrorCode.INVALID_INPUT, gettext("请选择拨打结果"), status=422)
    note = (note or "").strip()
    setting = CallbackSetting.current()
    now = clock.now()
    with transaction.atomic():
        current = (
            ApplicationCallback.objects.select_for_update(of=("self",))
            .select_related(
                "application",
                "application__customer",
                "application__accepted_unit",
                "application__supply_unit",
            )
            .get(pk=callback.pk)
        )
        if version is not None and version != current.version:
            raise ApiError(
                ErrorCode.VERSION_CONFLICT,
                gettext("该回访已被他人更新，请刷新后重试"),
                status=409,
                current_version=current.version,
            )
        _check_call_allowed(current, setting, now)
        found: list[CallbackQuestion] = []
        if outcome == CallbackOutcome.ANSWERED:
            kept, found = _answers(current.node, answers or {})
            if satisfaction not in Satisfaction.values:
                raise ApiError(ErrorCode.SATISFACTION_REQUIRED, gettext("请记录客户的满意度"), status=422)
            current.answers, current.satisfaction = kept, satisfaction
            current.findings = [q.finding for q in found]
            current.state, current.answered_at, current.answered_by = CallbackState.DONE, now, actor
            current.note = note
        current.attempts += 1
        current.last_call_at = now
        if (
            outcome == CallbackOutcome.REFUSED
            and setting.refusal_ends_callback
            or outcome != CallbackOutcome.ANSWERED
            and current.attempts >= setting.max_attempts
        ):
            current.state = CallbackState.FAILED
        CallbackCall.objects.create(callback=current, at=now, outcome=outcome, by=actor, note=note[:500])
        if found:
            _raise_findings(current, found, actor, note, now)
        current.version += 1
        current.save()
        units = scoping.root_units(actor)
        data: dict[str, Any] = {"outcome": outcome, "attempt": current.attempts}
        if current.state == CallbackState.DONE:
            data |= {"satisfaction": satisfaction, "findings": current.findings}
        if current.report_order is not None:
            data["report_order"] = current.report_order.number
        ApplicationEvent.objects.create(
            application=current.application,
            node=current.node,
            action="callback",
            at=now,
            actor=actor,
            actor_unit=units[0] if units else None,
            to_state=current.state,
            note=note,
            data=data,
        )
    return current


# --- Audit cases ---------------------------------------------------------------------------------


def close_case(
    *,
    case: AuditCase,
    actor: Actor,
    substantiated: bool | None,
    conclusion: str,
    version: int | None = None,
) -> AuditCase:
    """办结: the conclusion of the investigation and whether the finding was substantiated."""
    _require(actor, AUDIT_ROLES, gettext("您的岗位不能办理稽查案件"))
    conclusion = (conclusion or "").strip()
    if substantiated is None or not conclusion:
        raise ApiError(ErrorCode.CONCLUSION_REQUIRED, gettext("请填写核查结论并认定是否属实"), status=422)
    with transaction.atomic():
        current = AuditCase.objects.select_for_update().get(pk=case.pk)
        if version is not None and version != current.version:
            raise ApiError(
                ErrorCode.VERSION_CONFLICT,
                gettext("该案件已被他人更新，请刷新后重试"),
                status=409,
                current_version=current.version,
            )
        if current.state == AuditState.CLOSED:
            raise ApiError(ErrorCode.CASE_CLOSED, gettext("该稽查案件已办结"), status=409)
        current.state, current.substantiated, current.conclusion = (
            AuditState.CLOSED,
            substantiated,
            conclusion,
        )
        current.closed_at, current.closed_by = clock.now(), actor
        current.version += 1
        current.save()
    return current


def start_investigation(*, case: AuditCase, actor: Actor, version: int | None = None) -> AuditCase:
    _require(actor, AUDIT_ROLES, gettext("您的岗位不能办理稽查案件"))
    with transaction.atomic():
        current = AuditCase.objects.select_for_update().get(pk=case.pk)
        if version is not None and version != current.version:
            raise ApiError(
                ErrorCode.VERSION_CONFLICT, gettext("该案件已被他人更新，请刷新后重试"), status=409
            )
        if current.state != AuditState.OPEN:
            raise ApiError(ErrorCode.CASE_CLOSED, gettext("该案件已在核查或已办结"), status=409)
        current.state = AuditState.INVESTIGATING
        current.version += 1
        current.save(update_fields=["state", "version"])
    return current
