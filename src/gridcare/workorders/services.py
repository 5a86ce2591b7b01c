"""Every state change of a work order: ``create_work_order`` and ``perform`` (one per action).

Each call is one transaction: guard → change → one history row → follow-up work on commit.
Pages, the API, commands and tasks all call these functions.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils.translation import gettext as _

from gridcare.core import clock, numbering
from gridcare.core.api_errors import ApiError, check_same_request
from gridcare.customers.models import AreaClass, Customer
from gridcare.org import scoping
from gridcare.org.models import Role, Unit

from . import deadlines, intake_sql, policies, queries
from .models import (
    NUMBER_PREFIX,
    OPEN_STATES,
    CallbackRule,
    Channel,
    ComplaintClass,
    OrderType,
    Priority,
    Satisfaction,
    State,
    SupervisionSetting,
    WorkOrder,
    WorkOrderEvent,
)
from .transitions import ANSWERABLE_AT_ONCE, FIELD_WORK_TYPES, TABLE, Transition


@dataclass
class Intake:
    """What the agent (or a channel) hands in; validated by the caller's schema or form."""

    order_type: str
    channel: str
    content: str
    customer: Customer | None = None
    caller_name: str = ""
    caller_phone: str = ""
    address: str = ""
    subtype: str = ""
    complaint_class: str = ""
    handed_in_by_account_manager: bool = False

    @classmethod
    def of(cls, fields: Any, *, customer: Customer | None = None, **overrides: Any) -> Intake:
        """The one way to build an intake from what a channel parsed: a form's cleaned data (a
        mapping) or an API schema (attributes). Fields it lacks take their defaults; ``overrides``
        (the composed content, the call's number…) win over what ``fields`` holds."""
        if isinstance(fields, (dict, Mapping)):
            values = {name: fields.get(name) for name in _INTAKE_FIELDS}
        else:
            values = {name: getattr(fields, name, None) for name in _INTAKE_FIELDS}
        if overrides:
            values.update(overrides)
        return cls(
            order_type=values["order_type"] or "",
            channel=values["channel"] or "",
            content=values["content"] or "",
            customer=customer,
            caller_name=values["caller_name"] or "",
            caller_phone=values["caller_phone"] or "",
            address=values["address"] or "",
            subtype=values["subtype"] or "",
            complaint_class=values["complaint_class"] or "",
            handed_in_by_account_manager=bool(values["handed_in_by_account_manager"]),
        )


_INTAKE_FIELDS = (
    "order_type",
    "channel",
    "content",
    "caller_name",
    "caller_phone",
    "address",
    "subtype",
    "complaint_class",
    "handed_in_by_account_manager",
)


def acting_unit(user: Any, active_unit: Unit | None = None) -> Unit | None:
    """The unit a person acts for: the one they narrowed to with the unit switcher, else their
    first unit."""
    units = scoping.root_units(user, active_unit)
    return units[0] if units else None


def _priority(intake: Intake, user: Any) -> int:
    customer = intake.customer
    if (
        customer is not None
        and customer.account_manager_id
        and (intake.handed_in_by_account_manager or customer.account_manager_id == getattr(user, "pk", None))
    ):
        return Priority.ACCOUNT_MANAGER
    if customer is not None and (customer.is_key or customer.is_vip):
        return Priority.GREEN_CHANNEL
    return Priority.NORMAL


_ORDER_TYPES, _CHANNELS = frozenset(OrderType.values), frozenset(Channel.values)
_COMPLAINT_CLASSES = frozenset(ComplaintClass.values)

# Who takes requests (受理): the hotline, the counters, account managers handing in their customers'
# requests, the repair command taking fault calls. Integration accounts (IVR/CTI, app, WeChat) are
# provisioned as accounts holding the 座席员 role at the unit whose requests they take.
INTAKE_ROLES = (
    Role.AGENT,
    Role.SHIFT_LEADER,
    Role.DISPATCHER,
    Role.ACCOUNT_MANAGER,
    Role.BUSINESS_CLERK,
    Role.BILLING_CLERK,
    Role.ADMIN,
)
_INTAKE_ROLE_SET = frozenset(INTAKE_ROLES)


def _complaint_requirements(intake: Intake) -> None:
    if intake.complaint_class not in _COMPLAINT_CLASSES:
        raise ApiError("complaint_class_required", _("请选择投诉分类"), status=422)


# What each order type needs besides the common fields (checked in memory: every intake runs it).
TYPE_REQUIREMENTS = {OrderType.COMPLAINT: _complaint_requirements}


def validate_intake(intake: Intake) -> None:
    if intake.order_type not in _ORDER_TYPES:
        raise ApiError("invalid_order_type", f"Unknown order type {intake.order_type!r}.", status=422)
    if intake.channel not in _CHANNELS:
        raise ApiError("invalid_channel", f"Unknown channel {intake.channel!r}.", status=422)
    if not intake.content.strip():
        raise ApiError("content_required", "诉求内容不能为空 (content is required).", status=422)
    if intake.customer is None and not (intake.caller_phone.strip() and intake.address.strip()):
        raise ApiError(
            "caller_required",
            "客户不明时须登记来电号码和地址 (unknown customer: caller phone and address required).",
            status=422,
        )
    check = TYPE_REQUIREMENTS.get(intake.order_type)
    if check is not None:
        check(intake)


def check_intake_role(actor: Any) -> None:
    """受理 is for the roles that take requests (``INTAKE_ROLES``); read from the actor's cached
    assignments, no query on the intake path."""
    if actor is None or getattr(actor, "is_superuser", False):
        return
    roles = scoping.roles_of(actor)
    if roles and not roles & _INTAKE_ROLE_SET:  # no role at all: answered as ``no_unit`` (403)
        raise ApiError("forbidden_role", _("您的岗位不能受理工单"), status=403)


class DuplicateOrder(ApiError):
    """An open order of the same matter exists: urge it, or confirm that this is a new matter."""

    def __init__(self, order: WorkOrder) -> None:
        super().__init__(
            "duplicate_open_order",
            f"已有在途同类工单 {order.number}（{order.get_state_display()}）：重复来电请催办；"
            "确属新诉求请确认后再保存。",
            status=409,
            number=order.number,
        )
        self.order = order


def accept_request(
    *,
    actor: Any,
    intake: Intake,
    idempotency_key: str | None = None,
    confirm_duplicate: bool = False,
    active_unit: Unit | None = None,
) -> tuple[WorkOrder, bool]:
    """受理 by a person on a page (the plain form, the agent workspace): the same rule everywhere —
    an open order of the same type for the same customer (or caller) is refused with
    ``DuplicateOrder`` unless ``confirm_duplicate``; then ``create_work_order``."""
    validate_intake(intake)
    check_intake_role(actor)
    replay = bool(idempotency_key) and WorkOrder.objects.filter(idempotency_key=idempotency_key).exists()
    if not confirm_duplicate and not replay:
        duplicate = find_open_duplicate(
            customer=intake.customer,
            caller_phone="" if intake.customer is not None else intake.caller_phone.strip(),
            order_type=intake.order_type,
            user=actor,
            active_unit=active_unit,
        )
        if duplicate is not None:
            raise DuplicateOrder(duplicate)
    return create_work_order(
        actor=actor, intake=intake, idempotency_key=idempotency_key, active_unit=active_unit
    )


def create_work_order(
    *,
    actor: Any,
    intake: Intake,
    idempotency_key: str | None = None,
    active_unit: Unit | None = None,
    request_fingerprint: str = "",
) -> tuple[WorkOrder, bool]:
    """受理: create an order; returns (order, created). The same idempotency key returns the first order
    (with what its answer shows: customer, units, assignee, deadlines) — when the request is the
    same (``request_fingerprint``, a hash of its body): with another, 422 ``idempotency_key_reused``.
    The accepting unit (首问负责) is the one the actor acts for (``active_unit`` from the switcher)."""
    validate_intake(intake)
    check_intake_role(actor)
    unit = acting_unit(actor, active_unit)
    if unit is None:
        raise ApiError("no_unit", "受理人没有所属单位 (the actor holds no role at any unit).", status=403)
    if (
        intake.customer is not None
        and not getattr(actor, "is_superuser", False)
        and intake.customer.station_id not in scoping.visible_unit_ids(actor)
    ):
        raise ApiError("not_found", "No such customer in your scope.", status=404)
    now = clock.now()
    customer = intake.customer
    area = customer.transformer_area if customer is not None else None
    order = WorkOrder(
        order_type=intake.order_type,
        subtype=intake.subtype,
        channel=intake.channel,
        priority=_priority(intake, actor),
        customer=customer,
        caller_name=intake.caller_name,
        caller_phone=intake.caller_phone,
        address=intake.address,
        transformer_area=area,
        area_class=area.area_class if area is not None else AreaClass.URBAN,
        customer_class=customer.customer_class if customer is not None else "",
        content=intake.content.strip(),
        complaint_class=intake.complaint_class,
        accepted_by=actor if getattr(actor, "pk", None) else None,
        accepted_unit=unit,
        idempotency_key=idempotency_key or None,
        idempotency_fingerprint=request_fingerprint if idempotency_key else "",
        created_at=now,
        updated_at=now,
    )
    event = WorkOrderEvent(
        order=order,
        action="accept",
        at=now,
        actor=order.accepted_by,
        actor_unit=unit,
        from_state="",
        to_state=State.ACCEPTED,
        note="",
        data={"channel": intake.channel, "priority": order.priority},
    )
    # The number's date is the acceptance time's local date (one reading of the clock, also at midnight).
    prefix, period = NUMBER_PREFIX[intake.order_type], now.astimezone(clock.LOCAL_TZ).strftime("%Y%m%d")
    try:
        if intake_sql.available():
            # PostgreSQL: number, order, history row, deadlines and their checks in one statement.
            started = policies.new_deadlines(order, "accept", now)
            with transaction.atomic() if connection.in_atomic_block else nullcontext():
                prior = intake_sql.insert(
                    order, event, started, intake_sql.checks_for(started), prefix=prefix, period=period
                )
            if prior is not None:  # the key was taken before: that order, and nothing written
                check_same_request(prior[1], request_fingerprint)
                return queries.answer(pk=prior[0]), False
        else:
            with transaction.atomic():
                # The number is taken in the order's own transaction: the counter row stays locked
                # only for the few inserts below; a rolled-back intake frees its number.
                order.number = numbering.next_number(prefix, period)
                order.save(force_insert=True)
                event.save(force_insert=True)
                started = deadlines.start(order, "accept", now)
        # Kept on the order so the answer can show them without reading them back.
        order.started_deadlines = started
    except IntegrityError:
        # A repeated idempotency key is found here, by the unique index, rather than by a query
        # before every insert: the first order is answered and this attempt leaves no trace.
        if idempotency_key:
            existing = queries.answer(idempotency_key=idempotency_key)
            if existing is not None:
                check_same_request(existing.idempotency_fingerprint, request_fingerprint)
                return existing, False
        raise
    return order, True


def find_open_duplicate(
    *, customer: Customer | None, caller_phone: str, order_type: str, user: Any, active_unit: Any = None
) -> WorkOrder | None:
    """重复来电: an open order of the same type for the same customer (or caller) to urge instead,
    among the orders ``user`` may see (a caller's number must not reveal orders elsewhere).

    The customer's (or number's) open orders are few: they are read by their index and the scope
    is checked in Python, as ``scoping.get_for_user`` does, rather than planned with the scope's
    whole list of unit ids (every fault call runs this)."""
    qs = WorkOrder.objects.filter(order_type=order_type, state__in=OPEN_STATES)
    if customer is not None:
        qs = qs.filter(customer=customer)
    elif caller_phone:
        qs = qs.filter(caller_phone=caller_phone)
    else:
        return None
    ordered = qs.order_by("-created_at", "-id")
    return next(
        (o for o in ordered if scoping.in_scope(o, user, queries.ORDER_UNIT_FIELDS, active_unit)), None
    )


def callback_rate(order: WorkOrder) -> Decimal:
    rules = {
        (r.order_type, r.subtype): r.rate for r in CallbackRule.objects.filter(order_type=order.order_type)
    }
    return rules.get((order.order_type, order.subtype), rules.get((order.order_type, ""), Decimal("1")))


def sampled_for_callback(order: WorkOrder) -> bool:
    return in_callback_sample(order.number, callback_rate(order))


def in_callback_sample(number: str, rate: Decimal) -> bool:
    """Reproducible sample: the order number's hash decides, so the same order is always (not) chosen."""
    if rate >= 1:
        return True
    if rate <= 0:
        return False
    bucket = int(hashlib.sha256(number.encode()).hexdigest()[:8], 16) % 10000
    return bucket < int(rate * 10000)


# --- perform: one entry point for every action of the table --------------------------------


def _check_roles(transition: Transition, order: WorkOrder, actor: Any) -> None:
    if getattr(actor, "is_superuser", False):
        return
    if transition.roles and not scoping.has_role(actor, *transition.roles):
        raise ApiError(
            "forbidden_role", f"您的岗位不能执行“{transition.label}” (role not allowed).", status=403
        )
    if transition.needs_assigned_unit and (
        order.assigned_unit_id is None or order.assigned_unit_id not in scoping.visible_unit_ids(actor)
    ):
        raise ApiError(
            "not_assigned_unit",
            "只有承办单位可以执行此操作 (only the assigned unit may do this).",
            status=403,
        )


# Where an order can be sent to be handled (承办单位): not a city or province company.
DISPATCHABLE_KINDS = (Unit.Kind.COUNTY, Unit.Kind.STATION, Unit.Kind.DEPARTMENT, Unit.Kind.TEAM)


def dispatch_targets(user: Any) -> Any:
    """The units ``user`` may send orders to (in their scope, of a handling kind)."""
    return scoping.restrict(Unit.objects.filter(kind__in=DISPATCHABLE_KINDS), user, "id")


def _unit_in_scope(actor: Any, unit_id: Any) -> Unit:
    """The unit named by ``unit_id`` (a Unit, its id or its code) among the actor's
    ``dispatch_targets``."""
    ref = unit_id.pk if isinstance(unit_id, Unit) else unit_id
    targets = dispatch_targets(actor)
    unit = targets.filter(pk=ref).first() if str(ref).isdigit() else None
    if unit is None:
        unit = targets.filter(code=str(ref)).first()
    if unit is None:
        raise ApiError("invalid_unit", "派往的单位不存在或不在您的管辖范围内 (unknown unit).", status=422)
    return unit


def _is_upper_reviewer(actor: Any, order: WorkOrder) -> bool:
    """提级审核: the reviewer holds a reviewing role at a unit strictly above the handling unit."""
    handling = order.assigned_unit or order.accepted_unit
    if getattr(actor, "is_superuser", False):
        return True
    for assignment in scoping.assignments_of(actor):
        if (
            assignment.role in {Role.SHIFT_LEADER, Role.MANAGER, Role.AUDITOR, Role.ADMIN}
            and handling.path.startswith(assignment.unit.path)
            and handling.path != assignment.unit.path
        ):
            return True
    return False


def perform(
    *,
    order: WorkOrder,
    action: str,
    actor: Any,
    version: int | None = None,
    note: str = "",
    active_unit: Unit | None = None,
    **payload: Any,
) -> WorkOrder:
    """Carry out ``action`` on ``order`` for ``actor``. Raises ApiError (4xx) when it may not happen."""
    transition = TABLE.get(action)
    if transition is None:
        raise ApiError("unknown_action", f"Unknown action {action!r}.", status=404)
    now = clock.now()
    with transaction.atomic():
        # The order row alone: the few guards that read a related row (提级审核, escalation) load
        # it themselves, and the busiest actions (urging, dispatch) need none.
        current = WorkOrder.objects.select_for_update().get(pk=order.pk)
        if version is not None and version != current.version:
            raise ApiError(
                "version_conflict",
                "工单已被他人更新，请刷新后重试 (the order changed meanwhile).",
                status=409,
                current_version=current.version,
            )
        if current.state not in transition.sources:
            raise ApiError(
                "illegal_transition",
                f"工单当前状态“{current.get_state_display()}”不能执行“{transition.label}”.",
                status=409,
                state=current.state,
            )
        _check_roles(transition, current, actor)
        if transition.note_required and not note.strip():
            raise ApiError(
                "note_required", f"“{transition.label}”须填写说明 (a note is required).", status=422
            )
        before = current.state
        changes = _apply(transition, current, actor, note, now, payload)
        target = changes.pop("_state", transition.target) or before
        won = WorkOrder.objects.filter(pk=current.pk, version=current.version).update(
            state=target, version=F("version") + 1, updated_at=now, **changes
        )
        if not won:
            raise ApiError(
                "version_conflict",
                "工单已被他人更新，请刷新后重试 (the order changed meanwhile).",
                status=409,
            )
        for name, value in changes.items():
            setattr(current, name, value)
        current.state = target
        WorkOrderEvent.objects.create(
            order=current,
            action=action,
            at=now,
            actor=actor if getattr(actor, "pk", None) else None,
            actor_unit=acting_unit(actor, active_unit),
            from_state=before,
            to_state=target,
            note=note.strip(),
            data={k: (v.pk if hasattr(v, "pk") else v) for k, v in changes.items()},
        )
        _after(transition, current, before, target, now, note)
    # The row now holds what the conditional UPDATE wrote: the changes set above, the next version.
    current.version += 1
    current.updated_at = now
    return current


def _apply(transition: Transition, order: WorkOrder, actor: Any, note: str, now, payload: dict) -> dict:
    """The per-action guard and field changes (returned as a dict for the conditional UPDATE)."""
    action = transition.action
    if action in {"dispatch", "redispatch"}:
        unit = _unit_in_scope(actor, payload.get("unit"))
        return {"assigned_unit": unit, "assignee": None}
    if action == "take":
        return {"assignee": actor}
    if action == "arrive":
        if order.order_type not in FIELD_WORK_TYPES:
            raise ApiError("not_field_work", "此类工单无现场环节 (no field work for this type).", status=409)
        return {}
    if action == "reply":
        reply = str(payload.get("reply") or "").strip()
        if not reply:
            raise ApiError("reply_required", "回单须填写处理结果 (reply text is required).", status=422)
        if order.state == State.ACCEPTED:
            if order.order_type not in ANSWERABLE_AT_ONCE:
                raise ApiError("illegal_transition", "此类工单须派单处理后回单 (dispatch first).", status=409)
            if order.accepted_by_id != getattr(actor, "pk", None) and not scoping.has_role(
                actor, Role.SHIFT_LEADER
            ):
                raise ApiError(
                    "forbidden_role", "只有受理人可直接答复 (only the accepting agent).", status=403
                )
        elif order.assigned_unit_id not in scoping.visible_unit_ids(actor) and not getattr(
            actor, "is_superuser", False
        ):
            raise ApiError(
                "not_assigned_unit", "只有承办单位可以回单 (only the assigned unit may reply).", status=403
            )
        changes: dict[str, Any] = {"reply": reply, "callback_required": sampled_for_callback(order)}
        if order.order_type == OrderType.COMPLAINT:
            at_fault = payload.get("at_fault")
            if at_fault is None:
                raise ApiError(
                    "at_fault_required", "投诉回单须认定是否有责 (at_fault is required).", status=422
                )
            changes["at_fault"] = bool(at_fault)
        return changes
    if action == "review":
        approve = payload.get("approve", True)
        if order.order_type == OrderType.COMPLAINT and order.at_fault and approve:
            if not _is_upper_reviewer(actor, order):
                raise ApiError(
                    "upper_review_required",
                    "有责投诉须由上一级单位审核 (at-fault complaint: review one level up).",
                    status=403,
                )
            return {"upper_reviewed_by": actor}
        if not approve:
            if not note.strip():
                raise ApiError("note_required", "审核退回须填写原因 (a note is required).", status=422)
            return {"_state": State.IN_PROGRESS}
        if not order.callback_required:
            return {"_state": State.REVIEWED}
        return {}
    if action == "callback":
        satisfaction = payload.get("satisfaction")
        if satisfaction not in Satisfaction.values:
            raise ApiError("satisfaction_required", "请选择满意度：满意/基本满意/不满意.", status=422)
        if not order.callback_required:
            raise ApiError("callback_not_required", "此工单未抽中回访.", status=409)
        if satisfaction == Satisfaction.DISSATISFIED:
            return {"satisfaction": satisfaction, "_state": State.REPLIED}  # reopened for review
        return {"satisfaction": satisfaction}
    if action == "archive":
        if order.state == State.REVIEWED and order.callback_required:
            raise ApiError("callback_pending", "须先完成回访才能归档 (callback pending).", status=409)
        if order.order_type == OrderType.COMPLAINT:
            if not order.complaint_items_complete:
                raise ApiError(
                    "complaint_items_incomplete",
                    "四不销单：问题解决、原因分析、整改措施、责任人处理须全部录入后才能归档.",
                    status=409,
                )
            if order.at_fault and order.upper_reviewed_by_id is None:
                raise ApiError("upper_review_required", "有责投诉须经上一级审核后归档.", status=409)
        return {"closed_at": now}
    if action == "return":
        return {"assigned_unit": None, "assignee": None}
    if action == "urge":
        return _urging(order)
    if action == "merge":
        from .queries import visible_orders

        # Only into an order the actor may see: the same answer whether it is elsewhere or absent.
        target = visible_orders(actor).filter(number=str(payload.get("into") or "")).first()
        if target is None or target.pk == order.pk or target.state not in OPEN_STATES:
            raise ApiError("invalid_merge_target", "合并目标工单不存在或已办结.", status=422)
        return {"merged_into": target, "closed_at": now}
    if action == "suspend":
        return {"suspended_from": order.state}
    if action == "resume":
        return {"_state": order.suspended_from or State.IN_PROGRESS, "suspended_from": ""}
    if action == "escalate":
        if order.escalation_tier >= 4:
            raise ApiError("max_escalation", "已升级至最高层级 (already at the top tier).", status=409)
        return {"escalation_tier": order.escalation_tier + 1}
    if action == "cancel":
        return {"closed_at": now}
    if action == "complaint_items":
        if order.order_type != OrderType.COMPLAINT:
            raise ApiError("not_a_complaint", "只有投诉工单需要录入四不销单.", status=409)
        fields = ("problem_solved", "cause_analysis", "preventive_measures", "accountability")
        changes = {f: str(payload[f]).strip() for f in fields if payload.get(f) is not None}
        if not changes:
            raise ApiError("complaint_items_required", "请至少录入一项.", status=422)
        return changes
    return {}


def _urging(order: WorkOrder) -> dict:
    """One more urging (催办) of ``order``: the count, and a warning level more every N urgings."""
    count = order.urge_count + 1
    changes = {"urge_count": count}
    every = SupervisionSetting.current().urgings_to_raise_warning
    if every and count % every == 0:
        changes["warning_level"] = min(order.warning_level + 1, 3)
    return changes


def _after(transition: Transition, order: WorkOrder, before: str, target: str, now, note: str) -> None:
    """Deadlines and notifications that follow an action (same transaction; sends on commit)."""
    action = transition.action
    deadlines.meet(order, action, now)
    if action == "arrive":
        deadlines.start(order, "arrive", now)
    elif action in {"cancel", "merge"}:
        deadlines.close_all(order, now)
    elif action == "suspend":
        deadlines.pause(order, now)
    elif action == "resume":
        deadlines.resume(order, now)
    elif action == "escalate":
        from .escalation import notify_escalation

        notify_escalation(order, order.escalation_tier, note)
    if action == "merge" and order.merged_into_id:
        # The duplicate's caller is now waiting on the target: it counts as an urging there, with
        # the urging rule (a warning level more every N) and a new version for whoever holds it.
        target = WorkOrder.objects.select_for_update().get(pk=order.merged_into_id)
        urged = _urging(target)
        WorkOrder.objects.filter(pk=target.pk).update(version=F("version") + 1, updated_at=now, **urged)
        WorkOrderEvent.objects.create(
            order_id=order.merged_into_id,
            action="merge_in",
            at=now,
            from_state="",
            to_state="",
            note=f"合并重复工单 {order.number}",
            data={"from": order.number, **urged},
        )
