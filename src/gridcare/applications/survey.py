"""What the nodes record (issue 18, items 3 and 4): the survey (现场勘查), the supply-plan options and
the customer's signed choice (供电方案), the inspections of four-level acceptance (中间检查, 竣工检验:
a failed one issues a rectification notice and stops only that node's clock as a customer wait;
the customer's "rectified" resumes it and a re-inspection follows) and energization (装表接电:
meters, first readings, CT/PT ratios).

Each verb is one transaction that locks the application row and checks its ``version`` (every
change of an application goes through that row), writes its record and one ``ApplicationEvent``.
Finishing a node needs its record: the guards ``survey_recorded``, ``plan_chosen``,
``inspection_passed`` and ``energization_recorded`` in ``rules`` read what is written here.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext

from gridcare.core import clock
from gridcare.core.api_errors import ApiError, ErrorCode
from gridcare.org import scoping
from gridcare.org.models import Role, Unit
from gridcare.org.types import Actor

from . import paths, services
from .models import (
    AcceptanceInspection,
    AcceptanceRule,
    Application,
    ApplicationEvent,
    ApplicationNode,
    Energization,
    InspectionResult,
    Metering,
    NodeKind,
    NodeState,
    PlanOption,
    SignedVia,
    Supply,
    Survey,
    Voltage,
    WaitReason,
)

INSPECTED_NODES = (NodeKind.MID_INSPECTION, NodeKind.COMPLETION_INSPECTION)
RATIO = re.compile(r"^\d+(\.\d+)?/\d+(\.\d+)?$")  # 互感器变比: primary/secondary, e.g. 200/5
RECORDING_ROLES = frozenset(
    {Role.BUSINESS_CLERK, Role.ACCOUNT_MANAGER, Role.METERING, Role.MANAGER, Role.ADMIN}
)


def _invalid(message: str, **extra: Any) -> ApiError:
    return ApiError(ErrorCode.INVALID_INPUT, message, status=422, **extra)


def _node(application: Application, kind: str) -> ApplicationNode:
    node = (
        ApplicationNode.objects.select_related("owner_unit", "definition")
        .filter(application=application, kind=kind)
        .first()
    )
    if node is None:
        raise ApiError(ErrorCode.UNKNOWN_NODE, gettext("该申请没有此环节"), status=404)
    return node


def _require_open(node: ApplicationNode, message: str) -> None:
    if node.state not in (NodeState.OPEN, NodeState.WAITING):
        raise ApiError(ErrorCode.ILLEGAL_TRANSITION, message, status=409, state=node.state)


def _check_actor(actor: Actor) -> None:
    if not scoping.has_role(actor, *RECORDING_ROLES):
        raise ApiError(ErrorCode.FORBIDDEN_ROLE, gettext("您的岗位不能登记业扩环节记录"), status=403)


def _event(
    application: Application, node: str, actor: Actor, action: str, note: str, data: dict[str, Any]
) -> None:
    units = scoping.root_units(actor)
    ApplicationEvent.objects.create(
        application=application,
        node=node,
        action=action,
        at=clock.now(),
        actor=actor,
        actor_unit=units[0] if units else None,
        note=note,
        data=data,
    )


def _bump(application: Application) -> None:
    application.version += 1
    application.updated_at = clock.now()
    application.save(update_fields=["version", "updated_at"])


def _kva(value: Any, what: str) -> Decimal:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise _invalid(gettext("%(what)s须为数字") % {"what": what}) from exc
    if not amount.is_finite() or amount <= 0 or amount >= Decimal("1e8"):
        raise _invalid(gettext("%(what)s须大于零") % {"what": what})
    return amount.quantize(Decimal("0.1"))


# --- 现场勘查 ---------------------------------------------------------------------------------------


@dataclass
class SurveyIn:
    possible: bool
    voltage: str
    supply: str = Supply.SINGLE
    approved_kva: Any = None
    impossible_reason: str = ""
    grid_works: bool = False
    grid_works_note: str = ""
    notes: str = ""


def record_survey(
    *, application: Application, actor: Actor, survey: SurveyIn, version: int | None = None
) -> Survey:
    """The survey's findings (recorded again: the latest stands, until the plan is replied)."""
    _check_actor(actor)
    if survey.voltage not in Voltage.values or survey.supply not in Supply.values:
        raise _invalid(gettext("供电电压或电源无效"))
    if survey.supply == Supply.DUAL and survey.voltage == Voltage.LV:
        raise _invalid(gettext("双电源仅用于高压客户"))
    if survey.possible:
        approved = _kva(survey.approved_kva, gettext("核定容量"))
        reason = ""
    else:
        approved = None
        reason = survey.impossible_reason.strip()
        if not reason:
            raise _invalid(gettext("不具备供电条件时须说明原因"))
    with transaction.atomic():
        current = services.lock(application, version)
        node = _node(current, NodeKind.SURVEY)
        if node.state == NodeState.DONE and _node(current, NodeKind.PLAN_REPLY).state == NodeState.DONE:
            raise ApiError(
                ErrorCode.ILLEGAL_TRANSITION, gettext("供电方案已答复，勘查结论不能再改"), status=409
            )
        found, _created = Survey.objects.update_or_create(
            application=current,
            defaults={
                "possible": survey.possible,
                "impossible_reason": reason,
                "approved_kva": approved,
                "supply": survey.supply,
                "voltage": survey.voltage,
                "grid_works": survey.grid_works,
                "grid_works_note": survey.grid_works_note.strip()[:300],
                "notes": survey.notes.strip(),
                "surveyor": actor,
                "surveyed_at": clock.now(),
            },
        )
        _bump(current)
        _event(
            current,
            NodeKind.SURVEY,
            actor,
            "survey",
            reason or survey.notes.strip(),
            {
                "possible": survey.possible,
                "approved_kva": str(approved) if approved else None,
                "grid_works": survey.grid_works,
            },
        )
    return found


# --- 供电方案 ---------------------------------------------------------------------------------------


@dataclass
class OptionIn:
    label: str
    source: str
    voltage: str
    property_boundary: str
    metering: str
    cost_yuan: Any
    construction_days: int
    note: str = ""


def _plan_open(application: Application) -> ApplicationNode:
    node = _node(application, NodeKind.PLAN_REPLY)
    if node.state in (NodeState.DONE, NodeState.CANCELLED):
        raise ApiError(ErrorCode.ILLEGAL_TRANSITION, gettext("供电方案已答复"), status=409)
    survey = Survey.objects.filter(application=application).first()
    if survey is None:
        raise ApiError(ErrorCode.SURVEY_MISSING, gettext("请先登记现场勘查结论"), status=409)
    if not survey.possible:
        raise ApiError(
            ErrorCode.SUPPLY_IMPOSSIBLE, gettext("勘查结论为不具备供电条件，不能拟定供电方案"), status=409
        )
    return node


def add_option(
    *, application: Application, actor: Actor, option: OptionIn, version: int | None = None
) -> PlanOption:
    """One more option beside the others (电源点, 电压, 产权分界点, 计量方式, 投资, 工期)."""
    _check_actor(actor)
    if option.voltage not in Voltage.values or option.metering not in Metering.values:
        raise _invalid(gettext("供电电压或计量方式无效"))
    if not (option.label.strip() and option.source.strip() and option.property_boundary.strip()):
        raise _invalid(gettext("请填写方案名称、电源点和产权分界点"))
    try:
        cost = Decimal(str(option.cost_yuan)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError) as exc:
        raise _invalid(gettext("估算投资须为数字")) from exc
    if not cost.is_finite() or cost < 0 or cost >= Decimal("1e10"):
        raise _invalid(gettext("估算投资须为非负数"))
    if not (0 < int(option.construction_days) <= 3650):
        raise _invalid(gettext("估算工期须在 1–3650 天之间"))
    with transaction.atomic():
        current = services.lock(application, version)
        _plan_open(current)
        made = PlanOption.objects.create(
            application=current,
            label=option.label.strip()[:40],
            source=option.source.strip()[:120],
            voltage=option.voltage,
            property_boundary=option.property_boundary.strip()[:120],
            metering=option.metering,
            cost_yuan=cost,
            construction_days=int(option.construction_days),
            note=option.note.strip()[:300],
            created_at=clock.now(),
        )
        _bump(current)
        _event(current, NodeKind.PLAN_REPLY, actor, "plan_option", made.label, {"option": made.pk})
    return made


def choose_option(
    *,
    application: Application,
    actor: Actor,
    option_id: int,
    signed_by: str,
    signed_via: str,
    version: int | None = None,
) -> PlanOption:
    """The customer's choice, signed off (on site or online); choosing again switches it."""
    _check_actor(actor)
    if not signed_by.strip() or signed_via not in SignedVia.values:
        raise _invalid(gettext("请登记客户签字确认人和确认方式"))
    with transaction.atomic():
        current = services.lock(application, version)
        node = _plan_open(current)
        if node.state != NodeState.OPEN:
            # The customer chooses once the plan reply is under way (the survey done), and not
            # while the plan reply waits for them.
            raise ApiError(
                ErrorCode.ILLEGAL_TRANSITION,
                gettext("供电方案答复环节办理中才能登记客户选定的方案"),
                status=409,
                state=node.state,
            )
        option = PlanOption.objects.filter(application=current, pk=option_id).first()
        if option is None:
            raise ApiError(ErrorCode.NOT_FOUND, gettext("该申请没有此供电方案"), status=404)
        now = clock.now()
        PlanOption.objects.filter(application=current).exclude(pk=option.pk).update(
            chosen=False, signed_by="", signed_at=None, signed_via=""
        )
        option.chosen, option.signed_by, option.signed_at, option.signed_via = (
            True,
            signed_by.strip()[:60],
            now,
            signed_via,
        )
        option.save(update_fields=["chosen", "signed_by", "signed_at", "signed_via"])
        _bump(current)
        _event(
            current,
            NodeKind.PLAN_REPLY,
            actor,
            "plan_chosen",
            option.label,
            {"option": option.pk, "via": signed_via},
        )
    return option


def chosen_option(application: Application) -> PlanOption | None:
    return PlanOption.objects.filter(application=application, chosen=True).first()


# --- 四级验收 ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Acceptor:
    unit: Unit
    departments: list[str]
    rule: AcceptanceRule


def capacity(application: Application) -> Decimal:
    """The capacity acceptance is routed by: the surveyed approval, else the request."""
    survey = Survey.objects.filter(application=application).first()
    if survey is not None and survey.approved_kva is not None:
        return survey.approved_kva
    return application.requested_kva


def acceptor(application: Application) -> Acceptor:
    """Who accepts the customer's works (``AcceptanceRule``): the most specific active rule whose
    capacity range holds the application's capacity."""
    kva = capacity(application)
    rules = [
        r
        for r in AcceptanceRule.objects.filter(is_active=True)
        if r.min_kva <= kva
        and (r.max_kva is None or kva < r.max_kva)
        and r.voltage in ("", application.voltage)
    ]
    if not rules:
        raise ApiError(ErrorCode.NO_NODE_PATH, gettext("没有适用的验收分级规则"), status=422)
    rule = max(rules, key=lambda r: (bool(r.voltage), r.min_kva))
    unit = paths.unit_for(application.supply_unit, rule.level, rule.function)
    return Acceptor(unit, list(rule.departments or []), rule)


@dataclass
class InspectionIn:
    node: str
    passed: bool
    defects: list[str] = field(default_factory=list)
    rectify_days: int = 0
    note: str = ""


def record_inspection(
    *, application: Application, actor: Actor, inspection: InspectionIn, version: int | None = None
) -> AcceptanceInspection:
    """One round of 中间检查 or 竣工检验 by the accepting unit the rules name. A failed round lists
    its defects and a rectification deadline, and puts the node into the customer's wait
    (客户整改): only that node's clock stops."""
    _check_actor(actor)
    if inspection.node not in INSPECTED_NODES:
        raise _invalid(gettext("只有中间检查和竣工检验登记检验结论"))
    defects = [d.strip()[:200] for d in inspection.defects if d and d.strip()]
    if not inspection.passed and (not defects or not 1 <= inspection.rectify_days <= 180):
        raise _invalid(gettext("不合格时须列明缺陷并给出整改期限（1–180 天）"))
    with transaction.atomic():
        current = services.lock(application, version)
        node = _node(current, inspection.node)
        if node.state != NodeState.OPEN or node.started_at is None:
            raise ApiError(ErrorCode.CLOCK_NOT_STARTED, gettext("客户报验后才能检验"), status=409)
        who = acceptor(current)
        if not scoping.unit_in_scope(actor, who.unit):
            raise ApiError(
                ErrorCode.NOT_NODE_OWNER,
                gettext("该工程由%(unit)s组织验收") % {"unit": who.unit.name},
                status=403,
            )
        last = (
            AcceptanceInspection.objects.filter(application=current, node=inspection.node)
            .order_by("-round")
            .first()
        )
        if last is not None and last.result == InspectionResult.PASSED:
            raise ApiError(ErrorCode.ILLEGAL_TRANSITION, gettext("已检验合格"), status=409)
        now = clock.now()
        rectify_by = None
        if not inspection.passed:
            rectify_by = clock.local(now).date() + dt.timedelta(days=inspection.rectify_days)
        made = AcceptanceInspection.objects.create(
            application=current,
            node=inspection.node,
            round=(last.round + 1) if last else 1,
            result=InspectionResult.PASSED if inspection.passed else InspectionResult.FAILED,
            defects=defects,
            accepting_unit=who.unit,
            departments=who.departments,
            inspector=actor,
            inspected_at=now,
            rectify_by=rectify_by,
            note=inspection.note.strip(),
        )
        _event(
            current,
            inspection.node,
            actor,
            "inspection",
            "；".join(defects),
            {"round": made.round, "result": made.result, "unit": who.unit.name},
        )
        _bump(current)
        if rectify_by is not None:
            # The rectification notice: only this node's clock waits for the customer.
            notice = gettext("整改通知（第%(round)s次检验）：%(defects)s；请于%(date)s前整改完毕后报验") % {
                "round": made.round,
                "defects": "；".join(defects),
                "date": f"{rectify_by:%Y-%m-%d}",
            }
            services.act_on_node(
                application=current,
                node=inspection.node,
                action="wait",
                actor=actor,
                note=notice,
                reason=WaitReason.RECTIFICATION,
            )
    return made


def rectified(
    *,
    application: Application,
    actor: Actor,
    node: str = "",
    inspection_id: int | None = None,
    version: int | None = None,
) -> AcceptanceInspection:
    """The customer reports the rectification done (named by the failed inspection, or by its
    node): the node's clock resumes (its due date moved by the working days the customer took) and
    the re-inspection is due. The application row is locked first, so a double click resumes once
    (the second answers 409)."""
    _check_actor(actor)
    with transaction.atomic():
        current = services.lock(application, version)
        if inspection_id is not None:
            named = AcceptanceInspection.objects.filter(application=current, pk=inspection_id).first()
            if named is None:
                raise ApiError(ErrorCode.NOT_FOUND, gettext("该申请没有此检验记录"), status=404)
            node = named.node
        last = AcceptanceInspection.objects.filter(application=current, node=node).order_by("-round").first()
        if (
            last is None
            or last.result != InspectionResult.FAILED
            or last.rectified_at is not None
            or (inspection_id is not None and last.pk != inspection_id)
        ):
            raise ApiError(ErrorCode.ILLEGAL_TRANSITION, gettext("没有待整改的检验"), status=409)
        services.act_on_node(
            application=current,
            node=node,
            action="resume",
            actor=actor,
            note=gettext("客户报整改完成，待复验"),
        )
        last.rectified_at = clock.now()
        last.save(update_fields=["rectified_at"])
    return last


def passed(application: Application, node: str) -> bool:
    last = AcceptanceInspection.objects.filter(application=application, node=node).order_by("-round").first()
    return last is not None and last.result == InspectionResult.PASSED


# --- 装表接电 ---------------------------------------------------------------------------------------


@dataclass
class EnergizationIn:
    meters: list[dict[str, Any]]
    crew: str
    ct_ratio: str = ""
    pt_ratio: str = ""


def _meters(meters: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for meter in meters:
        asset = str(meter.get("asset_no", "")).strip()
        registers = meter.get("registers") or []
        if not asset or not registers:
            raise _invalid(gettext("每块电能表须登记资产编号和各示数的起度"))
        rows = []
        for register in registers:
            name = str(register.get("name", "")).strip()
            try:
                reading = Decimal(str(register.get("reading")))
            except (InvalidOperation, ValueError) as exc:
                raise _invalid(gettext("起度须为数字")) from exc
            if not name or not reading.is_finite() or reading < 0 or reading >= Decimal("1e9"):
                raise _invalid(gettext("起度须为非负数并注明示数类型"))
            rows.append({"name": name[:20], "reading": str(reading)})
        out.append(
            {"asset_no": asset[:30], "kind": str(meter.get("kind", "")).strip()[:30], "registers": rows}
        )
    if not out:
        raise _invalid(gettext("请登记装接的电能表"))
    return out


def record_energization(
    *, application: Application, actor: Actor, energization: EnergizationIn, version: int | None = None
) -> Energization:
    """The meters fitted and their first readings (HV: the CT ratio too), once the formalities are
    complete (the energization clock has started)."""
    _check_actor(actor)
    meters = _meters(energization.meters)
    for ratio in (energization.ct_ratio.strip(), energization.pt_ratio.strip()):
        if ratio and not RATIO.match(ratio):
            raise _invalid(gettext("互感器变比应写作 一次/二次，如 200/5"))
    if not energization.crew.strip():
        raise _invalid(gettext("请登记装接人员"))
    with transaction.atomic():
        current = services.lock(application, version)
        node = _node(current, NodeKind.ENERGIZE)
        if node.state != NodeState.OPEN or node.started_at is None:
            raise ApiError(
                ErrorCode.CLOCK_NOT_STARTED, gettext("检验合格且手续完备后才能装表接电"), status=409
            )
        if current.voltage != Voltage.LV and not energization.ct_ratio.strip():
            raise _invalid(gettext("高压客户须登记电流互感器变比"))
        chosen = chosen_option(current)
        if chosen is not None and chosen.metering == Metering.HV_HV and not energization.pt_ratio.strip():
            raise _invalid(gettext("高供高计须登记电压互感器变比"))
        found, _created = Energization.objects.update_or_create(
            application=current,
            defaults={
                "meters": meters,
                "crew": energization.crew.strip()[:100],
                "ct_ratio": energization.ct_ratio.strip()[:20],
                "pt_ratio": energization.pt_ratio.strip()[:20],
                "energized_at": clock.now(),
                "recorded_by": actor,
            },
        )
        _bump(current)
        _event(
            current,
            NodeKind.ENERGIZE,
            actor,
            "energization",
            "",
            {"meters": [m["asset_no"] for m in meters]},
        )
    return found
