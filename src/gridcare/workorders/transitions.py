"""The work-order lifecycle as one readable table: per action, the states it starts from, the state
it leads to, who may do it, its guards, its effects and its follow-ups (``rules.py``), in the order
they run. ``perform`` (services) locks the order and runs the row; no view decides a transition.

Print it: ``gridcare workflow_table workorders``.
"""

from __future__ import annotations

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from gridcare.core.api_errors import ApiError, unknown_action
from gridcare.core.workflow import Transition, Workflow
from gridcare.org import scoping
from gridcare.org.models import Role
from gridcare.org.types import Actor

from .models import OPEN_STATES, OrderAction, State, WorkOrder
from .rules import (
    accepting_agent_answers,
    actor_in_assigned_unit,
    answerable_on_the_call,
    approver_is_upper_unit,
    assign_to_actor,
    assigned_unit_replies,
    back_to_state_before_suspension,
    below_top_tier,
    call_interval_passed,
    call_outcome_given,
    callback_clock_stops,
    callback_done,
    callback_method_known,
    clear_assignment,
    close_all_clocks,
    close_unreached_when_attempts_run_out,
    complaint_items_given,
    complaint_items_recorded,
    count_call,
    count_urging,
    fault_decided_for_complaint,
    has_field_work,
    is_a_complaint,
    merge_into_target,
    merge_target_open_and_visible,
    milestones_met,
    move_deadlines_after_suspension,
    note_given,
    open_callback_round,
    pause_clocks,
    raise_complaint_when_dissatisfied,
    raise_tier,
    reason_given_for_sending_back,
    record_callback_method,
    record_complaint_items,
    record_fault_finding,
    record_reached_call,
    record_reply,
    record_satisfaction,
    record_upper_review,
    remember_state_before_suspension,
    reopen_when_dissatisfied,
    reply_text_given,
    sampled_for_a_callback,
    satisfaction_given,
    send_back_when_refused,
    send_to_unit,
    stamp_closed,
    start_callback_clock,
    start_on_site_clocks,
    tell_escalation_tier,
    unit_within_reach,
    upper_review_done,
    urge_merge_target,
    within_calling_hours,
)

FRONT_DESK = frozenset(
    {
        Role.AGENT,
        Role.SHIFT_LEADER,
        Role.DISPATCHER,
        Role.BUSINESS_CLERK,
        Role.ACCOUNT_MANAGER,
        Role.MANAGER,
        Role.ADMIN,
    }
)
REVIEWERS = frozenset({Role.SHIFT_LEADER, Role.MANAGER, Role.AUDITOR, Role.ADMIN})
CALLBACK_STAFF = frozenset({Role.AGENT, Role.SHIFT_LEADER, Role.ADMIN})
ANY_STAFF: frozenset[str] = frozenset()  # any role, as long as the order is in the actor's scope

WORKING = frozenset({State.IN_PROGRESS, State.ON_SITE})
UNCLOSED = frozenset(OPEN_STATES - {State.SUSPENDED})
HANDLING = frozenset({State.DISPATCHED, State.IN_PROGRESS, State.ON_SITE})

A = OrderAction
TRANSITIONS = (
    Transition(
        A.DISPATCH, _("派单"), frozenset({State.ACCEPTED}), State.DISPATCHED, FRONT_DESK,
        guards=(unit_within_reach,),
        effects=(send_to_unit,),
        then=(milestones_met,),
        fields=("unit",),
    ),
    Transition(
        A.TAKE, _("接单"), frozenset({State.DISPATCHED}), State.IN_PROGRESS, ANY_STAFF,
        guards=(actor_in_assigned_unit,),
        effects=(assign_to_actor,),
    ),
    Transition(
        A.ARRIVE, _("到达现场"), frozenset({State.IN_PROGRESS}), State.ON_SITE, ANY_STAFF,
        guards=(actor_in_assigned_unit, has_field_work),
        then=(milestones_met, start_on_site_clocks),
    ),
    Transition(
        A.CONTACT, _("联系客户"), HANDLING, None, ANY_STAFF,
        guards=(actor_in_assigned_unit, note_given),
        then=(milestones_met,),
    ),
    Transition(
        A.HANDLE, _("处理进展"), WORKING, None, ANY_STAFF,
        guards=(actor_in_assigned_unit, note_given),
    ),
    Transition(
        A.REPLY, _("回单"), WORKING | {State.ACCEPTED}, State.REPLIED, ANY_STAFF,
        guards=(
            reply_text_given,
            answerable_on_the_call,
            accepting_agent_answers,
            assigned_unit_replies,
            fault_decided_for_complaint,
        ),
        effects=(record_reply, record_fault_finding),
        then=(milestones_met,),
        fields=("reply", "at_fault"),
    ),
    Transition(
        A.REVIEW, _("审核"), frozenset({State.REPLIED}), State.REVIEWED, REVIEWERS,
        guards=(approver_is_upper_unit, reason_given_for_sending_back),
        effects=(record_upper_review, send_back_when_refused, open_callback_round),
        then=(start_callback_clock,),
        fields=("approve",),
        or_to=(State.IN_PROGRESS,),
    ),
    Transition(
        A.CALLBACK, _("回访"), frozenset({State.REVIEWED}), State.CALLED_BACK, CALLBACK_STAFF,
        guards=(satisfaction_given, sampled_for_a_callback, callback_method_known, within_calling_hours,
                call_interval_passed),
        effects=(record_callback_method, record_satisfaction, reopen_when_dissatisfied),
        then=(callback_clock_stops, raise_complaint_when_dissatisfied),
        fields=("satisfaction", "method"),
        or_to=(State.REPLIED, State.IN_PROGRESS),
    ),
    Transition(
        A.CALLBACK_CALL, _("回访拨打"), frozenset({State.REVIEWED}), None, CALLBACK_STAFF,
        guards=(sampled_for_a_callback, call_outcome_given, within_calling_hours, call_interval_passed),
        effects=(count_call, record_reached_call, close_unreached_when_attempts_run_out,
                 reopen_when_dissatisfied),
        then=(callback_clock_stops, raise_complaint_when_dissatisfied),
        fields=("outcome", "satisfaction"),
        or_to=(State.CALLED_BACK, State.REPLIED, State.IN_PROGRESS),
    ),
    Transition(
        A.ARCHIVE, _("归档"), frozenset({State.REVIEWED, State.CALLED_BACK}), State.ARCHIVED,
        REVIEWERS | CALLBACK_STAFF,
        guards=(callback_done, complaint_items_recorded, upper_review_done),
        effects=(stamp_closed,),
    ),
    Transition(
        A.RETURN, _("退单"), frozenset({State.DISPATCHED, State.IN_PROGRESS}), State.ACCEPTED, ANY_STAFF,
        guards=(actor_in_assigned_unit, note_given),
        effects=(clear_assignment,),
    ),
    Transition(
        A.REDISPATCH, _("转派"), frozenset({State.DISPATCHED, State.IN_PROGRESS}), State.DISPATCHED,
        FRONT_DESK,
        guards=(note_given, unit_within_reach),
        effects=(send_to_unit,),
        fields=("unit",),
    ),
    Transition(
        A.URGE, _("催办"), UNCLOSED | {State.SUSPENDED}, None, FRONT_DESK,
        effects=(count_urging,),
    ),
    Transition(
        A.MERGE, _("合并"), frozenset({State.ACCEPTED, *HANDLING}), State.MERGED, FRONT_DESK,
        guards=(merge_target_open_and_visible,),
        effects=(merge_into_target,),
        then=(close_all_clocks, urge_merge_target),
        fields=("into",),
    ),
    Transition(
        A.SUSPEND, _("挂起"), HANDLING, State.SUSPENDED, ANY_STAFF,
        guards=(actor_in_assigned_unit, note_given),
        effects=(remember_state_before_suspension,),
        then=(pause_clocks,),
    ),
    Transition(
        A.RESUME, _("解挂"), frozenset({State.SUSPENDED}), None, ANY_STAFF,
        guards=(actor_in_assigned_unit,),
        effects=(back_to_state_before_suspension,),
        then=(move_deadlines_after_suspension,),
        or_to=(State.DISPATCHED, State.IN_PROGRESS, State.ON_SITE),
    ),
    Transition(
        A.ESCALATE, _("升级"), UNCLOSED | {State.SUSPENDED}, None, REVIEWERS | {Role.AGENT},
        guards=(note_given, below_top_tier),
        effects=(raise_tier,),
        then=(tell_escalation_tier,),
    ),
    Transition(
        A.CANCEL, _("作废"), frozenset({State.ACCEPTED, State.DISPATCHED}), State.CANCELLED, FRONT_DESK,
        guards=(note_given,),
        effects=(stamp_closed,),
        then=(close_all_clocks,),
    ),
    Transition(
        A.COMPLAINT_ITEMS, _("录入四不销单"),
        frozenset({State.IN_PROGRESS, State.ON_SITE, State.REPLIED, State.REVIEWED, State.CALLED_BACK}),
        None, ANY_STAFF,
        guards=(is_a_complaint, complaint_items_given),
        effects=(record_complaint_items,),
        fields=("problem_solved", "cause_analysis", "preventive_measures", "accountability"),
    ),
)  # fmt: skip


def _holds(actor: Actor, transition: Transition, order: WorkOrder) -> bool:
    return not transition.roles or scoping.has_role(actor, *transition.roles)


def _refuse_state(transition: Transition, order: WorkOrder) -> ApiError:
    return ApiError(
        "illegal_transition",
        f"工单当前状态“{order.get_state_display()}”不能执行“{transition.label}”.",
        status=409,
        state=order.state,
    )


def _refuse_role(transition: Transition, order: WorkOrder) -> ApiError:
    return ApiError(
        "forbidden_role", gettext("您的岗位不能执行“%(action)s”") % {"action": transition.label}, status=403
    )


WORK_ORDERS: Workflow[WorkOrder] = Workflow(
    name="workorders",
    actions=OrderAction,
    transitions=TRANSITIONS,
    state_of=lambda order: order.state,
    holds=_holds,
    refuse_state=_refuse_state,
    refuse_role=_refuse_role,
    refuse_unknown=unknown_action,
    refusals=(ApiError,),
    state_labels=dict(State.choices),
)
WORKFLOWS = (WORK_ORDERS,)
TABLE = WORK_ORDERS.by_action


# History rows that are not actions of the table.
EVENT_LABELS = {
    "accept": _("受理"),
    "warning": _("时限预警"),
    "merge_in": _("合并重复工单"),
    "raise_complaint": _("回访不满意转投诉"),
}


def event_label(action: str) -> str:
    transition = TABLE.get(action)
    return str(transition.label) if transition else str(EVENT_LABELS.get(action, action))


def actions_from(state: str) -> list[Transition]:
    return WORK_ORDERS.from_state(state)
