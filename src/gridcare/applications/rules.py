"""The guards, effects and follow-ups of the application tables (``transitions.py``), one small
function per rule.

A **guard** reads the ``Step`` (the locked node or application, the actor, the note, the payload)
and raises ``ApiError`` with a stable code. An **effect** changes the node and its application in
memory (the verb writes them, and any node an effect put in ``step.found["also"]``). A
**follow-up** (``then``) runs after they and the history row are written: the wait rows and the
customer's SMS.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext

from gridcare.core.api_errors import ApiError, ErrorCode
from gridcare.core.workflow import Step
from gridcare.org import scoping

from . import callbacks, clocks, notices
from .models import (
    RECORDED_STARTS,
    AcceptanceInspection,
    Application,
    ApplicationNode,
    ApplicationState,
    ClockStart,
    Energization,
    InspectionResult,
    NodeKind,
    NodeState,
    NodeWait,
    PlanOption,
    Survey,
    WaitReason,
)

NodeStep = Step[ApplicationNode]
AppStep = Step[Application]


def _now(step: Step[Any]) -> Any:
    assert step.now is not None  # the verb always passes its reading of the clock
    return step.now


# --- Guards ------------------------------------------------------------------------------------


def owner_unit_within_reach(step: NodeStep) -> None:
    """Only the node's owner unit (or a unit above it) finishes it."""
    if not scoping.unit_in_scope(step.actor, step.obj.owner_unit_id):
        raise ApiError(
            ErrorCode.NOT_NODE_OWNER,
            gettext("该环节由%(unit)s办理") % {"unit": step.obj.owner_unit.name},
            status=403,
        )


def clock_awaits_request(step: NodeStep) -> None:
    """``start`` records the customer's request (or the formalities) on a node whose clock waits
    for it, once."""
    node = step.obj
    if node.definition.clock_starts not in RECORDED_STARTS or node.started_at is not None:
        raise ApiError(
            ErrorCode.CLOCK_NOT_AWAITED,
            gettext("该环节的计时不需要登记起算事件，或已开始计时"),
            status=409,
        )


def request_recorded(step: NodeStep) -> None:
    """A node whose clock starts on the customer's request is finished only after it started."""
    node = step.obj
    if node.definition.clock_starts in RECORDED_STARTS and node.started_at is None:
        raise ApiError(
            ErrorCode.CLOCK_NOT_STARTED,
            gettext("请先登记“%(event)s”") % {"event": node.definition.get_clock_starts_display()},
            status=409,
        )


def survey_recorded(step: NodeStep) -> None:
    """现场勘查 is finished with its findings recorded, and only where supply is possible (where it
    is not, the application is cancelled with the survey's reason)."""
    if step.obj.kind != NodeKind.SURVEY:
        return
    survey = Survey.objects.filter(application_id=step.obj.application_id).first()
    if survey is None:
        raise ApiError(ErrorCode.SURVEY_MISSING, gettext("请先登记现场勘查结论"), status=409)
    if not survey.possible:
        raise ApiError(
            ErrorCode.SUPPLY_IMPOSSIBLE,
            gettext("勘查结论为不具备供电条件（%(reason)s），请以此终止申请并告知客户")
            % {"reason": survey.impossible_reason},
            status=409,
        )


def plan_chosen(step: NodeStep) -> None:
    """供电方案答复 is finished with one option chosen and signed off by the customer."""
    if step.obj.kind != NodeKind.PLAN_REPLY:
        return
    if (
        not PlanOption.objects.filter(application_id=step.obj.application_id, chosen=True)
        .exclude(signed_by="")
        .exists()
    ):
        raise ApiError(ErrorCode.PLAN_NOT_CHOSEN, gettext("客户尚未选定并签字确认供电方案"), status=409)


def inspection_passed(step: NodeStep) -> None:
    """中间检查 and 竣工检验 are finished after an inspection passed."""
    if step.obj.kind not in (NodeKind.MID_INSPECTION, NodeKind.COMPLETION_INSPECTION):
        return
    last = (
        AcceptanceInspection.objects.filter(application_id=step.obj.application_id, node=step.obj.kind)
        .order_by("-round")
        .first()
    )
    if last is None or last.result != InspectionResult.PASSED:
        raise ApiError(ErrorCode.INSPECTION_NOT_PASSED, gettext("检验合格后才能完成该环节"), status=409)


def energization_recorded(step: NodeStep) -> None:
    """装表接电 is finished with the meters and their first readings recorded."""
    if step.obj.kind != NodeKind.ENERGIZE:
        return
    if not Energization.objects.filter(application_id=step.obj.application_id).exists():
        raise ApiError(ErrorCode.ENERGIZATION_MISSING, gettext("请先登记装接的电能表和起度"), status=409)


def clock_to_stop(step: NodeStep) -> None:
    """A wait stops the current node, or a later node whose clock already runs (the supply-plan
    reply counted from acceptance while the survey is under way)."""
    node = step.obj
    if node.state != NodeState.OPEN and not node.clock_running:
        raise ApiError(
            ErrorCode.NO_RUNNING_CLOCK,
            gettext("该环节尚未到达且未开始计时，不能登记客户原因中止"),
            status=409,
        )


def wait_reason_given(step: NodeStep) -> None:
    if step.payload.get("reason") not in WaitReason.values:
        raise ApiError(
            ErrorCode.REASON_REQUIRED,
            gettext("请选择客户原因：整改、资料不全或客户要求暂缓"),
            status=422,
        )


def note_given(step: Step[Any]) -> None:
    if not step.note.strip():
        raise ApiError(ErrorCode.NOTE_REQUIRED, gettext("请填写原因"), status=422)


# --- Effects -----------------------------------------------------------------------------------


def start_clock(step: NodeStep) -> None:
    clocks.start(step.obj, _now(step))


def stamp_finished(step: NodeStep) -> None:
    node = step.obj
    node.finished_at, node.finished_by = _now(step), step.actor
    node.next_warning_at = None


def open_next_node(step: NodeStep) -> None:
    """The next node of the path becomes current (its clock starts now when it starts with the
    node); after the last one the application is archived."""
    node, application = step.obj, step.obj.application
    following = (
        ApplicationNode.objects.select_related("definition", "owner_unit")
        .filter(application=application, seq__gt=node.seq)
        .order_by("seq")
        .first()
    )
    step.found["next"] = following
    if following is None:
        application.state, application.closed_at, application.current_node = (
            ApplicationState.ARCHIVED,
            _now(step),
            "",
        )
        return
    following.opened_at = _now(step)
    if following.state == NodeState.WAITING:
        following.waiting_from = NodeState.OPEN  # its clock waits for the customer: it stays so
    else:
        following.state = NodeState.OPEN
    if following.definition.clock_starts == ClockStart.NODE_OPENED and following.started_at is None:
        clocks.start(following, _now(step))
    application.current_node = following.kind
    step.found.setdefault("also", []).append(following)


def remember_state_before_wait(step: NodeStep) -> None:
    step.obj.waiting_from = step.before


def stop_the_clock(step: NodeStep) -> None:
    clocks.pause(step.obj, _now(step))


def back_to_state_before_wait(step: NodeStep) -> None:
    node = step.obj
    step.target = node.waiting_from or NodeState.OPEN
    node.waiting_from = ""


def move_due_date_by_wait(step: NodeStep) -> None:
    """The node's due date (and the promised whole-process date) move by the working days the
    customer made it wait; no other node's clock moves."""
    node = step.obj
    if node.paused_at is None:  # an untimed node waited: nothing was counting
        step.found["days"] = 0
        return
    days = clocks.resume(node, _now(step))
    clocks.moved_total(node.application, days)
    step.found["days"] = days


def stamp_cancelled(step: AppStep) -> None:
    application = step.obj
    application.closed_at, application.close_note = _now(step), step.note.strip()
    application.current_node = ""


# --- Follow-ups --------------------------------------------------------------------------------


def record_wait(step: NodeStep) -> None:
    step.found["wait"] = NodeWait.objects.create(
        node=step.obj,
        reason=step.payload["reason"],
        note=step.note.strip(),
        started_at=_now(step),
    )


def close_wait(step: NodeStep) -> None:
    wait = NodeWait.objects.filter(node=step.obj, ended_at__isnull=True).order_by("-started_at").first()
    if wait is not None:
        wait.ended_at, wait.working_days = _now(step), step.found.get("days", 0)
        wait.save(update_fields=["ended_at", "working_days"])
    step.found["wait"] = wait


def schedule_callback(step: NodeStep) -> None:
    """The working day after 受理, 供电方案答复, 中间检查 and 装表接电 the 95598 center calls the
    customer back (``callbacks``)."""
    callbacks.schedule(step.obj.application, step.obj.kind, _now(step))


def tell_customer_node_done(step: NodeStep) -> None:
    application = step.obj.application
    if application.state == ApplicationState.ARCHIVED:
        notices.archived(application)
    else:
        notices.node_done(application, step.obj, step.found.get("next"))


def tell_customer_clock_started(step: NodeStep) -> None:
    notices.clock_started(step.obj.application, step.obj)


def tell_customer_of_wait(step: NodeStep) -> None:
    notices.wait_started(step.obj.application, step.obj, step.found["wait"])


def tell_customer_of_resumption(step: NodeStep) -> None:
    if step.found.get("wait") is not None:
        notices.wait_ended(step.obj.application, step.obj, step.found["wait"])


def stop_every_clock(step: AppStep) -> None:
    ApplicationNode.objects.filter(application=step.obj, finished_at__isnull=True).update(
        state=NodeState.CANCELLED, next_warning_at=None, waiting_from=""
    )
    NodeWait.objects.filter(node__application=step.obj, ended_at__isnull=True).update(ended_at=_now(step))


def tell_customer_of_cancellation(step: AppStep) -> None:
    notices.cancelled(step.obj)
