"""The guards and effects of the work-order table (``transitions.py``), one small function per rule.

A **guard** reads the ``Step`` (the locked order, the actor, the note, the payload) and raises
``ApiError`` with a stable code when its rule is not met. An **effect** writes the field changes
(``step.changes``) or picks the next state (``step.target``). A **follow-up** (the table's
``then``) runs after the order row and its history row are written: clocks and notifications.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db.models import F, QuerySet
from django.utils.translation import gettext, override

from gridcare.core.api_errors import ApiError
from gridcare.core.workflow import Step
from gridcare.org import scoping
from gridcare.org.models import Role, Unit
from gridcare.org.types import Actor

from . import calling, deadlines, intake
from .escalation import notify_escalation
from .models import (
    OPEN_STATES,
    CallbackMethod,
    CallbackResult,
    CallbackRule,
    CallbackSetting,
    CallOutcome,
    Channel,
    ComplaintClass,
    Milestone,
    OrderAction,
    OrderType,
    Satisfaction,
    State,
    SupervisionSetting,
    WhenDissatisfied,
    WorkOrder,
    WorkOrderEvent,
)
from .queries import visible_orders

OrderStep = Step[WorkOrder]

# Types an agent may answer on the call (回单 straight from 受理).
ANSWERABLE_AT_ONCE = frozenset(
    {OrderType.CONSULTATION, OrderType.BILL_QUERY, OrderType.PRAISE, OrderType.OPINION}
)
FIELD_WORK_TYPES = frozenset(
    {
        OrderType.FAULT_REPAIR,
        OrderType.BUSINESS,
        OrderType.SERVICE_REQUEST,
        OrderType.VERIFICATION,
        OrderType.REPORT,
        OrderType.COMPLAINT,
    }
)
COMPLAINT_ITEMS = ("problem_solved", "cause_analysis", "preventive_measures", "accountability")
UPPER_REVIEW_ROLES = frozenset({Role.SHIFT_LEADER, Role.MANAGER, Role.AUDITOR, Role.ADMIN})
# Where an order can be sent to be handled (承办单位): not a city or province company.
DISPATCHABLE_KINDS = (Unit.Kind.COUNTY, Unit.Kind.STATION, Unit.Kind.DEPARTMENT, Unit.Kind.TEAM)


def _superuser(actor: Actor) -> bool:
    return bool(getattr(actor, "is_superuser", False))


# --- Lookups the rules share ----------------------------------------------------------------


def dispatch_targets(user: Actor) -> QuerySet[Unit]:
    """The units ``user`` may send orders to (in their scope, of a handling kind)."""
    return scoping.restrict(Unit.objects.filter(kind__in=DISPATCHABLE_KINDS), user, "id")


def callback_rule(order: WorkOrder) -> CallbackRule | None:
    """The order's 回访比例 row: its subtype's, else its type's (blank subtype)."""
    rules = {r.subtype: r for r in CallbackRule.objects.filter(order_type=order.order_type)}
    return rules.get(order.subtype) or rules.get("")


def callback_rate(order: WorkOrder) -> Decimal:
    rule = callback_rule(order)
    return rule.rate if rule is not None else Decimal("1")


def when_dissatisfied(order: WorkOrder) -> str:
    """What a 不满意 callback does to ``order`` (``CallbackRule.when_dissatisfied``). A complaint is
    never complained about again: the complaint rule reopens it instead."""
    rule = callback_rule(order)
    found = rule.when_dissatisfied if rule is not None else WhenDissatisfied.REVIEW
    if found == WhenDissatisfied.COMPLAINT and order.order_type == OrderType.COMPLAINT:
        return WhenDissatisfied.REOPEN
    return found


def by_phone(step: OrderStep) -> bool:
    """Whether the callback result of ``step`` comes from a phone call: every 回访拨打, and a plain
    回访 unless it is recorded as a visit or a written reply (``CallbackMethod``)."""
    if step.action == OrderAction.CALLBACK_CALL:
        return True
    return (step.payload.get("method") or CallbackMethod.PHONE) == CallbackMethod.PHONE


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


def is_upper_reviewer(actor: Actor, order: WorkOrder) -> bool:
    """提级审核: the reviewer holds a reviewing role at a unit strictly above the handling unit."""
    handling = order.assigned_unit or order.accepted_unit
    if _superuser(actor):
        return True
    for assignment in scoping.assignments_of(actor):
        if (
            assignment.role in UPPER_REVIEW_ROLES
            and handling.is_within(assignment.unit)
            and handling.pk != assignment.unit.pk
        ):
            return True
    return False


def urging(order: WorkOrder) -> dict[str, int]:
    """One more urging (催办) of ``order``: the count, and a warning level more every N urgings."""
    count = order.urge_count + 1
    changes = {"urge_count": count}
    every = SupervisionSetting.current().urgings_to_raise_warning
    if every and count % every == 0:
        changes["warning_level"] = min(order.warning_level + 1, 3)
    return changes


# --- Guards ---------------------------------------------------------------------------------


def actor_in_assigned_unit(step: OrderStep) -> None:
    """Only the handling unit (承办单位) — a unit in the actor's scope — acts on the order."""
    if not scoping.unit_in_scope(step.actor, step.obj.assigned_unit_id):
        raise ApiError(
            "not_assigned_unit",
            gettext("只有承办单位可以执行此操作"),
            status=403,
        )


def note_given(step: OrderStep) -> None:
    if not step.note.strip():
        raise ApiError(
            "note_required",
            gettext("“%(action)s”须填写说明") % {"action": step.transition.label},
            status=422,
        )


def unit_within_reach(step: OrderStep) -> None:
    """The unit named in ``unit`` (a Unit, its id or its code) is one of the actor's
    ``dispatch_targets``; found as ``step.found["unit"]``."""
    wanted = step.payload.get("unit")
    ref: Any = wanted.pk if isinstance(wanted, Unit) else wanted
    targets = dispatch_targets(step.actor)
    unit = targets.filter(pk=ref).first() if str(ref).isdigit() else None
    if unit is None:
        unit = targets.filter(code=str(ref)).first()
    if unit is None:
        raise ApiError("invalid_unit", gettext("派往的单位不存在或不在您的管辖范围内"), status=422)
    step.found["unit"] = unit


def has_field_work(step: OrderStep) -> None:
    if step.obj.order_type not in FIELD_WORK_TYPES:
        raise ApiError("not_field_work", gettext("此类工单无现场环节"), status=409)


def reply_text_given(step: OrderStep) -> None:
    if not str(step.payload.get("reply") or "").strip():
        raise ApiError("reply_required", gettext("回单须填写处理结果"), status=422)


def answerable_on_the_call(step: OrderStep) -> None:
    """Straight from 受理, only the types an agent may answer on the call."""
    if step.before == State.ACCEPTED and step.obj.order_type not in ANSWERABLE_AT_ONCE:
        raise ApiError("illegal_transition", gettext("此类工单须派单处理后回单"), status=409)


def accepting_agent_answers(step: OrderStep) -> None:
    """Straight from 受理, the agent who took the call answers (or a shift leader)."""
    order, actor = step.obj, step.actor
    if (
        step.before == State.ACCEPTED
        and order.accepted_by_id != getattr(actor, "pk", None)
        and not scoping.has_role(actor, Role.SHIFT_LEADER)
    ):
        raise ApiError("forbidden_role", gettext("只有受理人可直接答复"), status=403)


def assigned_unit_replies(step: OrderStep) -> None:
    """After dispatch, the handling unit replies."""
    if step.before != State.ACCEPTED and not scoping.unit_in_scope(step.actor, step.obj.assigned_unit_id):
        raise ApiError("not_assigned_unit", gettext("只有承办单位可以回单"), status=403)


def fault_decided_for_complaint(step: OrderStep) -> None:
    """A complaint's reply says whether the company was at fault (是否有责)."""
    if step.obj.order_type == OrderType.COMPLAINT and step.payload.get("at_fault") is None:
        raise ApiError("at_fault_required", gettext("投诉回单须认定是否有责"), status=422)


def _approves(step: OrderStep) -> bool:
    return bool(step.payload.get("approve", True))


def approver_is_upper_unit(step: OrderStep) -> None:
    """提级审核: an at-fault complaint is approved one level above the handling unit."""
    order = step.obj
    at_fault_complaint = order.order_type == OrderType.COMPLAINT and order.at_fault
    if at_fault_complaint and _approves(step) and not is_upper_reviewer(step.actor, order):
        raise ApiError(
            "upper_review_required",
            gettext("有责投诉须由上一级单位审核"),
            status=403,
        )


def reason_given_for_sending_back(step: OrderStep) -> None:
    if not _approves(step) and not step.note.strip():
        raise ApiError("note_required", gettext("审核退回须填写原因"), status=422)


def satisfaction_given(step: OrderStep) -> None:
    if step.payload.get("satisfaction") not in Satisfaction.values:
        raise ApiError("satisfaction_required", "请选择满意度：满意/基本满意/不满意.", status=422)


def sampled_for_a_callback(step: OrderStep) -> None:
    if not step.obj.callback_required:
        raise ApiError("callback_not_required", "此工单未抽中回访.", status=409)


def call_outcome_given(step: OrderStep) -> None:
    """A callback call says what it came to; a reached customer gives a satisfaction."""
    outcome = step.payload.get("outcome")
    if outcome not in CallOutcome.values:
        raise ApiError(
            "call_outcome_required",
            gettext("请选择拨打结果：已接通/未接通/客户拒绝回访/号码错误"),
            status=422,
        )
    if outcome == CallOutcome.REACHED:
        satisfaction_given(step)


def callback_method_known(step: OrderStep) -> None:
    """A callback result says how it was obtained: by phone (the default), a visit or in writing."""
    if step.payload.get("method") not in (None, "", *CallbackMethod.values):
        raise ApiError(
            "invalid_callback_method",
            gettext("请选择回访方式：电话回访/上门回访/书面回复"),
            status=422,
        )


def within_calling_hours(step: OrderStep) -> None:
    """A customer is called only in the allowed hours (``CallbackSetting``), Asia/Shanghai time:
    every call of the work list, and a callback result recorded as a phone call (``by_phone``)."""
    if by_phone(step):
        calling.require_calling_hours(_now(step))


def next_call_allowed_at(order: WorkOrder, setting: CallbackSetting) -> dt.datetime | None:
    """The earliest time the next callback call of ``order`` may be made (the minimum interval)."""
    return calling.next_call_at(order.last_callback_at, setting)


def call_interval_passed(step: OrderStep) -> None:
    """Two callback calls of one order are at least the minimum interval apart (a callback result
    recorded as a phone call is a call too; a visit or a written reply is not)."""
    if by_phone(step):
        calling.require_interval(step.obj.last_callback_at, _now(step))


def callback_done(step: OrderStep) -> None:
    """An order sampled for a callback (回访) is archived only after it."""
    if step.before == State.REVIEWED and step.obj.callback_required:
        raise ApiError("callback_pending", gettext("须先完成回访才能归档"), status=409)


def complaint_items_recorded(step: OrderStep) -> None:
    """四不销单: a complaint is archived only with all four items recorded."""
    order = step.obj
    if order.order_type == OrderType.COMPLAINT and not order.complaint_items_complete:
        raise ApiError(
            "complaint_items_incomplete",
            "四不销单：问题解决、原因分析、整改措施、责任人处理须全部录入后才能归档.",
            status=409,
        )


def upper_review_done(step: OrderStep) -> None:
    """An at-fault complaint is archived only after its upper-level review (提级审核)."""
    order = step.obj
    if order.order_type == OrderType.COMPLAINT and order.at_fault and order.upper_reviewed_by_id is None:
        raise ApiError("upper_review_required", "有责投诉须经上一级审核后归档.", status=409)


def merge_target_open_and_visible(step: OrderStep) -> None:
    """Only into another open order the actor may see (the same answer whether it is elsewhere or
    absent); found as ``step.found["into"]``."""
    number = str(step.payload.get("into") or "")
    target = visible_orders(step.actor).filter(number=number).first()
    if target is None or target.pk == step.obj.pk or target.state not in OPEN_STATES:
        raise ApiError("invalid_merge_target", "合并目标工单不存在或已办结.", status=422)
    step.found["into"] = target


def below_top_tier(step: OrderStep) -> None:
    if step.obj.escalation_tier >= 4:
        raise ApiError("max_escalation", gettext("已升级至最高层级"), status=409)


def is_a_complaint(step: OrderStep) -> None:
    if step.obj.order_type != OrderType.COMPLAINT:
        raise ApiError("not_a_complaint", "只有投诉工单需要录入四不销单.", status=409)


def complaint_items_given(step: OrderStep) -> None:
    if all(step.payload.get(name) is None for name in COMPLAINT_ITEMS):
        raise ApiError("complaint_items_required", "请至少录入一项.", status=422)


# --- Effects (the order's field changes and next state) -------------------------------------


def send_to_unit(step: OrderStep) -> None:
    step.changes.update(assigned_unit=step.found["unit"], assignee=None)


def assign_to_actor(step: OrderStep) -> None:
    step.changes["assignee"] = step.actor


def record_reply(step: OrderStep) -> None:
    """The reply text, and whether the order is drawn for a callback (回访抽样)."""
    step.changes["reply"] = str(step.payload.get("reply") or "").strip()
    step.changes["callback_required"] = sampled_for_callback(step.obj)


def record_fault_finding(step: OrderStep) -> None:
    if step.obj.order_type == OrderType.COMPLAINT:
        step.changes["at_fault"] = bool(step.payload.get("at_fault"))


def record_upper_review(step: OrderStep) -> None:
    order = step.obj
    if order.order_type == OrderType.COMPLAINT and order.at_fault and _approves(step):
        step.changes["upper_reviewed_by"] = step.actor


def send_back_when_refused(step: OrderStep) -> None:
    """审核退回: a refused reply goes back to the handling unit."""
    if not _approves(step):
        step.target = State.IN_PROGRESS


def record_satisfaction(step: OrderStep) -> None:
    """A reached customer's satisfaction ends the callback as 回访成功."""
    step.changes["satisfaction"] = step.payload.get("satisfaction")
    step.changes["callback_result"] = CallbackResult.REACHED


def record_callback_method(step: OrderStep) -> None:
    """How the callback result came, in its history row. By phone it is a reached call of the
    round, counted as 回访拨打 counts one (so the interval rule sees it)."""
    method = step.payload.get("method") or CallbackMethod.PHONE
    if method != CallbackMethod.PHONE:
        step.found["history"] = {"method": method}
        return
    attempt = step.obj.callback_attempts + 1
    step.changes.update(callback_attempts=attempt, last_callback_at=_now(step))
    step.found["history"] = {"method": method, "outcome": CallOutcome.REACHED, "attempt": attempt}


def open_callback_round(step: OrderStep) -> None:
    """An approved review of an order drawn for a callback opens a new callback round."""
    if step.target == State.REVIEWED and step.obj.callback_required:
        step.changes.update(callback_attempts=0, last_callback_at=None, callback_result="")


def count_call(step: OrderStep) -> None:
    """One more call of this callback round; its outcome goes in the call's history row."""
    attempt = step.obj.callback_attempts + 1
    step.changes.update(callback_attempts=attempt, last_callback_at=_now(step))
    step.found["history"] = {"outcome": step.payload.get("outcome"), "attempt": attempt}


def record_reached_call(step: OrderStep) -> None:
    """A call that reached the customer is the callback: its satisfaction is recorded."""
    if step.payload.get("outcome") == CallOutcome.REACHED:
        record_satisfaction(step)
        step.target = State.CALLED_BACK


def close_unreached_when_attempts_run_out(step: OrderStep) -> None:
    """回访不成功: after the last allowed call without reaching the customer — or at once when the
    customer refuses, where the setting says so — the callback ends, not reached."""
    outcome = step.payload.get("outcome")
    if outcome == CallOutcome.REACHED:
        return
    setting = CallbackSetting.current()
    refused = outcome == CallOutcome.REFUSED and setting.refusal_ends_callback
    if refused or step.obj.callback_attempts + 1 >= setting.max_attempts:
        step.changes["callback_result"] = CallbackResult.UNREACHED
        step.target = State.CALLED_BACK


def reopen_when_dissatisfied(step: OrderStep) -> None:
    """A 不满意 callback does what the order's ``CallbackRule.when_dissatisfied`` says: back to
    review (审核); reopened — back in the handling unit's hands (处理中) to be handled again; or
    called back as it is, with a complaint raised (``raise_complaint_when_dissatisfied``)."""
    if step.changes.get("satisfaction") != Satisfaction.DISSATISFIED:
        return
    rule = when_dissatisfied(step.obj)
    if rule == WhenDissatisfied.COMPLAINT:
        step.target = State.CALLED_BACK
        step.found["raise_complaint"] = True
    elif rule == WhenDissatisfied.REOPEN and step.obj.assigned_unit_id is not None:
        step.target = State.IN_PROGRESS
    else:
        step.target = State.REPLIED


def stamp_closed(step: OrderStep) -> None:
    step.changes["closed_at"] = step.now


def clear_assignment(step: OrderStep) -> None:
    step.changes.update(assigned_unit=None, assignee=None)


def count_urging(step: OrderStep) -> None:
    step.changes.update(urging(step.obj))


def merge_into_target(step: OrderStep) -> None:
    step.changes.update(merged_into=step.found["into"], closed_at=step.now)


def remember_state_before_suspension(step: OrderStep) -> None:
    step.changes["suspended_from"] = step.before


def back_to_state_before_suspension(step: OrderStep) -> None:
    step.target = step.obj.suspended_from or State.IN_PROGRESS
    step.changes["suspended_from"] = ""


def raise_tier(step: OrderStep) -> None:
    step.changes["escalation_tier"] = step.obj.escalation_tier + 1


def record_complaint_items(step: OrderStep) -> None:
    step.changes.update(
        {
            name: str(step.payload[name]).strip()
            for name in COMPLAINT_ITEMS
            if step.payload.get(name) is not None
        }
    )


# --- Follow-ups (after the order row and its history are written) ---------------------------


def milestones_met(step: OrderStep) -> None:
    """The deadlines this action meets (``deadlines.MET_BY``) stop."""
    deadlines.meet(step.obj, step.action, _now(step))


def start_on_site_clocks(step: OrderStep) -> None:
    """On arrival, the limits counted from arrival (e.g. 修复) start."""
    deadlines.start(step.obj, "arrive", _now(step))


def close_all_clocks(step: OrderStep) -> None:
    deadlines.close_all(step.obj, _now(step))


def pause_clocks(step: OrderStep) -> None:
    deadlines.pause(step.obj, _now(step))


def move_deadlines_after_suspension(step: OrderStep) -> None:
    deadlines.resume(step.obj, _now(step))


def start_callback_clock(step: OrderStep) -> None:
    """An approved review of an order drawn for a callback starts its callback limit (the
    ``callback`` milestone's policies, counted from the review)."""
    if step.target == State.REVIEWED and step.obj.callback_required:
        deadlines.restart(step.obj, "review", _now(step))


def callback_clock_stops(step: OrderStep) -> None:
    """The callback limit is met once the callback ends (reached, or not reached)."""
    if step.target != State.REVIEWED:
        deadlines.meet_milestones(step.obj, {Milestone.CALLBACK}, _now(step))


def raise_complaint_when_dissatisfied(step: OrderStep) -> None:
    """转投诉: a 不满意 callback under the complaint rule raises a complaint (投诉, channel 回访)
    about the original: its customer and caller, the original's number and the callback's notes in
    the content, linked by ``raised_from``, accepted at the original's accepting unit when the
    actor may act for it (else where the actor acts). It is filed through the intake every door
    uses (``intake.create_work_order``), inside the callback's transaction: if it cannot be
    filed, the callback result is not recorded either. One per original: the original is locked,
    a complaint already raised is not raised again (and the database holds one at most)."""
    if not step.found.get("raise_complaint"):
        return
    original, now = step.obj, _now(step)
    if WorkOrder.objects.filter(raised_from=original).exists():
        return
    handling = original.assigned_unit or original.accepted_unit
    # Stored text (the order's content and history), in Chinese whatever the actor's language.
    with override(settings.LANGUAGE_CODE):
        order_type = str(original.get_order_type_display())
    content = (
        f"回访不满意转投诉。原工单 {original.number}（{order_type}，承办单位 {handling.name}）。"
        f"回访记录：{step.note.strip() or '（无）'}"
    )
    accepted_at = (
        original.accepted_unit if scoping.unit_in_scope(step.actor, original.accepted_unit) else None
    )
    complaint, _created = intake.create_work_order(
        actor=step.actor,
        intake=intake.Intake(
            order_type=OrderType.COMPLAINT,
            channel=Channel.CALLBACK,
            content=content,
            customer=original.customer,
            caller_name=original.caller_name,
            caller_phone=original.caller_phone,
            address=original.address,
            complaint_class=ComplaintClass.SERVICE,
            raised_from=original,
        ),
        active_unit=accepted_at,
    )
    step.found["complaint"] = complaint
    WorkOrderEvent.objects.create(
        order=original,
        action="raise_complaint",
        at=now,
        actor=step.actor if getattr(step.actor, "pk", None) else None,
        actor_unit=intake.acting_unit(step.actor),
        from_state="",
        to_state="",
        note=f"已转投诉工单 {complaint.number}",
        data={"complaint": complaint.number},
    )


def tell_escalation_tier(step: OrderStep) -> None:
    notify_escalation(step.obj, step.obj.escalation_tier, step.note)


def urge_merge_target(step: OrderStep) -> None:
    """The duplicate's caller is now waiting on the target: it counts as an urging there, with
    the urging rule (a warning level more every N) and a new version for whoever holds it."""
    order, now, into_id = step.obj, _now(step), step.obj.merged_into_id
    assert into_id is not None, "merge_into_target set it"
    target = WorkOrder.objects.select_for_update().get(pk=into_id)
    urged = urging(target)
    WorkOrder.objects.filter(pk=target.pk).update(version=F("version") + 1, updated_at=now, **urged)
    WorkOrderEvent.objects.create(
        order_id=into_id,
        action="merge_in",
        at=now,
        from_state="",
        to_state="",
        note=f"合并重复工单 {order.number}",
        data={"from": order.number, **urged},
    )


def _now(step: OrderStep) -> Any:
    assert step.now is not None, "perform passes the time"
    return step.now
