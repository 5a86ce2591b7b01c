"""Every change of a business application: ``accept_application`` (受理), ``act_on_node`` (a row of
``transitions.NODES``) and ``act`` (a row of ``transitions.APPLICATIONS``).

Each is one transaction: the application row is locked (every node change goes through it, so
one version guards them all), the version checked (409), the row of the table run, the node and
the application written, one history row added, then the row's follow-ups (waits, SMS).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from gridcare.core import clock, numbering
from gridcare.core.api_errors import ApiError, ErrorCode, check_same_request
from gridcare.customers.models import Customer
from gridcare.org import scoping
from gridcare.org.models import Role, Unit
from gridcare.org.types import Actor
from gridcare.workorders.models import Channel, Priority

from . import callbacks, notices, paths
from .models import (
    Application,
    ApplicationDocument,
    ApplicationEvent,
    ApplicationNode,
    ApplicationState,
    DocumentKind,
    IdType,
    NodeKind,
    NodeState,
    Supply,
)
from .transitions import APPLICATIONS, NODES

NUMBER_PREFIX = "YK"

# Who accepts applications (受理): the business window, account managers handing in their
# customers' applications, the hotline and the channels' integration accounts.
ACCEPT_ROLES = frozenset({Role.BUSINESS_CLERK, Role.ACCOUNT_MANAGER, Role.AGENT, Role.MANAGER, Role.ADMIN})


@dataclass
class Document:
    kind: str
    via_shared_data: bool = False
    note: str = ""


@dataclass
class Intake:
    """What the applicant hands in (validated for shape by the API schema or a form)."""

    app_type: str
    applicant_name: str
    id_type: str
    id_number: str
    address: str
    contact_name: str
    contact_phone: str
    usage_class: str
    requested_kva: Decimal
    supply: str = Supply.SINGLE
    industry: str = ""
    load_nature: int = Customer.LoadClass.THIRD
    households: int = 1
    equipment: list[dict[str, Any]] = field(default_factory=list)
    documents: list[Document] = field(default_factory=list)
    channel: str = Channel.HALL
    high_risk: bool = False
    dishonest: bool = False
    green_channel: bool = False
    handed_in_by_account_manager: bool = False
    customer: Customer | None = None
    supply_unit: Unit | None = None


def _check_role(actor: Actor) -> None:
    if not scoping.has_role(actor, *ACCEPT_ROLES):
        raise ApiError(ErrorCode.FORBIDDEN_ROLE, gettext("您的岗位不能受理用电申请"), status=403)


def _priority(intake: Intake, actor: Actor) -> int:
    customer = intake.customer
    if (
        customer is not None
        and customer.account_manager_id
        and (intake.handed_in_by_account_manager or customer.account_manager_id == actor.pk)
    ):
        return Priority.ACCOUNT_MANAGER  # 优先办理权
    if intake.green_channel or (customer is not None and (customer.is_key or customer.is_vip)):
        return Priority.GREEN_CHANNEL
    return Priority.NORMAL


def _supply_unit(intake: Intake, accepting: Unit) -> Unit:
    """The unit that supplies the applicant: as given, else the existing customer's station, else
    the accepting unit."""
    if intake.supply_unit is not None:
        return intake.supply_unit
    if intake.customer is not None:
        return intake.customer.station
    return accepting


def _validate(intake: Intake) -> None:
    if intake.requested_kva <= 0:
        raise ApiError(ErrorCode.INVALID_INPUT, gettext("申请容量须大于零"), status=422)
    if not intake.contact_phone.strip():
        raise ApiError(ErrorCode.INVALID_INPUT, gettext("请登记联系电话"), status=422)
    if intake.id_type not in IdType.values:
        raise ApiError(ErrorCode.INVALID_INPUT, gettext("证件类型无效"), status=422)
    if any(d.kind not in DocumentKind.values for d in intake.documents):
        raise ApiError(ErrorCode.INVALID_INPUT, gettext("资料类型无效"), status=422)


def accept_application(
    *,
    actor: Actor,
    intake: Intake,
    idempotency_key: str | None = None,
    request_fingerprint: str = "",
    active_unit: Unit | None = None,
) -> tuple[Application, bool]:
    """受理: create the application and its nodes from the path the rule data gives; returns
    (application, created). The same idempotency key answers the first application (422
    ``idempotency_key_reused`` when the request differs)."""
    _check_role(actor)
    _validate(intake)
    units = scoping.root_units(actor, active_unit)
    if not units:
        raise ApiError(ErrorCode.NO_UNIT, gettext("受理人没有所属单位"), status=403)
    accepting = units[0]
    if idempotency_key:
        prior = Application.objects.filter(idempotency_key=idempotency_key).first()
        if prior is not None:
            check_same_request(prior.idempotency_fingerprint, request_fingerprint)
            return prior, False
    supply_unit = _supply_unit(intake, accepting)
    scoping.require_unit_in_scope(
        actor,
        supply_unit,
        active_unit,
        error=ApiError(ErrorCode.INVALID_UNIT, gettext("供电单位不在您的管辖范围内"), status=422),
    )
    route = paths.route(
        app_type=intake.app_type,
        requested_kva=intake.requested_kva,
        usage_class=intake.usage_class,
        supply=intake.supply,
    )
    now = clock.now()
    application = Application(
        app_type=intake.app_type,
        category=route.category,
        supply=intake.supply,
        voltage=route.voltage,
        path=route.path,
        channel=intake.channel,
        priority=_priority(intake, actor),
        green_channel=intake.green_channel,
        customer=intake.customer,
        applicant_name=intake.applicant_name.strip(),
        id_type=intake.id_type,
        id_number=intake.id_number.strip(),
        address=intake.address.strip(),
        contact_name=intake.contact_name.strip(),
        contact_phone=intake.contact_phone,
        usage_class=intake.usage_class,
        industry=intake.industry.strip(),
        load_nature=intake.load_nature,
        requested_kva=intake.requested_kva,
        households=intake.households,
        equipment=intake.equipment,
        supply_unit=supply_unit,
        high_risk=intake.high_risk,
        dishonest=intake.dishonest,
        accepted_by=actor,
        accepted_unit=accepting,
        accepted_at=now,
        idempotency_key=idempotency_key or None,
        idempotency_fingerprint=request_fingerprint if idempotency_key else "",
        updated_at=now,
    )
    application.total_days = route.path.total_days  # copied: a later edit of the path leaves it be
    total = paths.promised_total(route.path, now)
    if total is not None:
        application.total_due_at, application.total_provisional = total.at, total.provisional
    period = now.astimezone(clock.LOCAL_TZ).strftime("%Y%m%d")
    try:
        with transaction.atomic():
            application.number = numbering.next_number(NUMBER_PREFIX, period)
            nodes = paths.build_nodes(application, now)
            current = next((n for n in nodes if n.state == NodeState.OPEN), None)
            application.current_node = current.kind if current is not None else ""
            application.save(force_insert=True)
            ApplicationNode.objects.bulk_create(nodes)
            ApplicationDocument.objects.bulk_create(
                ApplicationDocument(
                    application=application,
                    kind=d.kind,
                    via_shared_data=d.via_shared_data,
                    note=d.note,
                    received_at=now,
                )
                for d in intake.documents
            )
            ApplicationEvent.objects.create(
                application=application,
                node=nodes[0].kind if nodes else "",
                action="accept",
                at=now,
                actor=actor,
                actor_unit=accepting,
                to_state=ApplicationState.IN_PROGRESS,
                data={
                    "path": route.path.name,
                    "voltage": route.voltage,
                    "category": route.category,
                    "priority": application.priority,
                    "shared_documents": sum(d.via_shared_data for d in intake.documents),
                },
            )
            notices.accepted(application, current)
            callbacks.schedule(application, NodeKind.ACCEPT, now, new_application=True)
    except IntegrityError:
        if idempotency_key:  # two retries at the same instant: the other one won
            existing = Application.objects.filter(idempotency_key=idempotency_key).first()
            if existing is not None:
                check_same_request(existing.idempotency_fingerprint, request_fingerprint)
                return existing, False
        raise
    return application, True


def lock(application: Application, version: int | None) -> Application:
    """The application row locked for a change (every change of an application goes through it),
    409 ``version_conflict`` when ``version`` is not the current one."""
    current = (
        Application.objects.select_for_update(of=("self",)).select_related("customer").get(pk=application.pk)
    )
    if version is not None and version != current.version:
        raise ApiError(
            ErrorCode.VERSION_CONFLICT,
            gettext("申请已被他人更新，请刷新后重试"),
            status=409,
            current_version=current.version,
        )
    return current


def _history(
    application: Application,
    *,
    node: str,
    actor: Actor,
    action: str,
    before: str,
    after: str,
    note: str,
    data: dict[str, Any],
) -> None:
    units = scoping.root_units(actor)
    ApplicationEvent.objects.create(
        application=application,
        node=node,
        action=action,
        at=application.updated_at,
        actor=actor,
        actor_unit=units[0] if units else None,
        from_state=before,
        to_state=after if after != before else "",
        note=note.strip(),
        data=data,
    )


NODE_FIELDS = [
    "state",
    "waiting_from",
    "opened_at",
    "started_at",
    "counted_from",
    "due_at",
    "provisional",
    "paused_at",
    "paused_days",
    "finished_at",
    "finished_by",
    "warning_level",
    "next_warning_at",
]
APPLICATION_FIELDS = [
    "state",
    "current_node",
    "total_due_at",
    "total_provisional",
    "closed_at",
    "close_note",
    "version",
    "updated_at",
]


def act_on_node(
    *,
    application: Application,
    node: str,
    action: str,
    actor: Actor,
    version: int | None = None,
    note: str = "",
    **payload: Any,
) -> Application:
    """Carry out ``action`` on the application's node ``node`` (its kind, e.g. ``design_review``)."""
    transition = NODES.transition(action)
    now = clock.now()
    with transaction.atomic():
        current = lock(application, version)
        target = (
            ApplicationNode.objects.select_related("definition", "owner_unit")
            .filter(application=current, kind=node)
            .first()
        )
        if target is None:
            raise ApiError(ErrorCode.UNKNOWN_NODE, gettext("该申请没有此环节"), status=404)
        target.application = current
        step = NODES.run(transition, target, actor, note=note, payload=payload, now=now)
        target.state = step.target
        target.save(update_fields=NODE_FIELDS)
        for other in step.found.get("also", []):
            other.save(update_fields=NODE_FIELDS)
        current.version += 1
        current.updated_at = now
        current.save(update_fields=APPLICATION_FIELDS)
        data: dict[str, Any] = {"due_at": clock.local(target.due_at)} if target.due_at else {}
        if "reason" in payload and action == "wait":
            data["reason"] = payload["reason"]
        if "days" in step.found:
            data["working_days"] = step.found["days"]
        _history(
            current,
            node=target.kind,
            actor=actor,
            action=transition.history_action,
            before=step.before,
            after=step.target,
            note=note,
            data=data,
        )
        NODES.follow_up(step)
    return current


def act(
    *, application: Application, action: str, actor: Actor, version: int | None = None, note: str = ""
) -> Application:
    """Carry out ``action`` (a row of ``transitions.APPLICATIONS``, e.g. ``cancel``)."""
    transition = APPLICATIONS.transition(action)
    now = clock.now()
    with transaction.atomic():
        current = lock(application, version)
        step = APPLICATIONS.run(transition, current, actor, note=note, now=now)
        current.state = step.target
        current.version += 1
        current.updated_at = now
        current.save(update_fields=APPLICATION_FIELDS)
        _history(
            current,
            node="",
            actor=actor,
            action=transition.history_action,
            before=step.before,
            after=step.target,
            note=note,
            data={},
        )
        APPLICATIONS.follow_up(step)
    return current


GREEN_CHANNEL_ROLES = (Role.MANAGER, Role.ADMIN)


def set_green_channel(
    *, application: Application, actor: Actor, on: bool, reason: str, version: int | None = None
) -> Application:
    """绿色通道 for a key project (a manager's decision, with its reason): the application goes
    before ordinary ones in every queue; closing it leaves 优先办理权 and a key customer's priority
    as they were."""
    if not scoping.has_role(actor, *GREEN_CHANNEL_ROLES):
        raise ApiError(ErrorCode.FORBIDDEN_ROLE, gettext("只有管理人员可以开通绿色通道"), status=403)
    reason = (reason or "").strip()
    if not reason:
        raise ApiError(ErrorCode.REASON_REQUIRED, gettext("请说明开通或关闭绿色通道的理由"), status=422)
    now = clock.now()
    with transaction.atomic():
        current = lock(application, version)
        before = current.priority
        current.green_channel = on
        customer = current.customer
        if current.priority != Priority.ACCOUNT_MANAGER:
            key = customer is not None and (customer.is_key or customer.is_vip)
            current.priority = Priority.GREEN_CHANNEL if (on or key) else Priority.NORMAL
        current.version += 1
        current.updated_at = now
        current.save(update_fields=["green_channel", "priority", "version", "updated_at"])
        _history(
            current,
            node="",
            actor=actor,
            action="green_channel_on" if on else "green_channel_off",
            before="",
            after="",
            note=reason,
            data={"priority": [before, current.priority]},
        )
    return current
