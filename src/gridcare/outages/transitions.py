"""The outage lifecycle (planned, temporary and fault outages) as one readable table: per action,
the states it starts from, the state it leads to, who may do it, its guards, its effects and its
follow-ups (``rules.py``), in the order they run. The verbs of ``services`` lock the outage and run
its row; creating an outage (a draft, or a fault outage opened in progress) is not a transition.

"Already in that state" (publish, start, cancel, restore again) returns the outage as it is: the
verbs check that before running the row (idempotence, not a rule of the table).

Print it: ``gridcare workflow_table outages``.
"""

from __future__ import annotations

from typing import Any

from gridcare.core.api_errors import ApiError, unknown_action
from gridcare.core.workflow import Action, Step, Transition, Workflow
from gridcare.org.types import Actor

from .models import Outage, OutageState
from .rules import (
    EDITOR_ROLES,
    a_fault_outage,
    a_key_customer_of_the_outage,
    began_as_planned,
    customer_in_scope,
    editors_only,
    estimate_after_start,
    illegal,
    is_editor,
    merge_target_open_fault,
    merge_target_scope_visible,
    notice_long_enough,
    queue_customer_notices,
    queue_merge_target_notices,
    queue_restoration_notices,
    reason_given,
    record_cancel_reason,
    record_phone_call,
    record_short_notice_override,
    replace_fault_scope,
    restored_after_it_began,
    scope_chosen,
    set_estimate,
    stamp_actual_start,
    stamp_publication,
    stamp_restoration,
    start_as_planned,
    take_over_source_scope,
    tell_customers_of_cancellation,
    tell_customers_of_scope_change,
    whole_scope_visible,
)


class OutageAction(Action):
    """The actions on an outage (the pages' ``/outages/{number}/{action}``, history rows)."""

    PUBLISH = "publish"
    START = "start"
    ESTIMATE = "estimate"
    UPDATE_SCOPE = "update_scope"
    MERGE = "merge"
    RESTORE = "restore"
    CANCEL = "cancel"
    KEY_CALL = "key_call"


S = OutageState
EDITORS = frozenset(EDITOR_ROLES)
LIVE = frozenset({S.PUBLISHED, S.IN_PROGRESS})

A = OutageAction
TRANSITIONS = (
    Transition(
        A.PUBLISH, "发布", frozenset({S.DRAFT}), S.PUBLISHED, EDITORS,
        guards=(whole_scope_visible, scope_chosen, notice_long_enough),
        effects=(stamp_publication, record_short_notice_override),
        then=(queue_customer_notices,),
        fields=("override_reason",),
    ),
    Transition(
        A.START, "开始停电", frozenset({S.PUBLISHED}), S.IN_PROGRESS, EDITORS,
        guards=(whole_scope_visible,),
        effects=(stamp_actual_start,),
        fields=("at",),
    ),
    Transition(
        A.ESTIMATE, "更新预计恢复时间", LIVE, None, EDITORS,
        guards=(whole_scope_visible, estimate_after_start),
        effects=(set_estimate,),
        fields=("estimated_end",),
    ),
    Transition(
        A.UPDATE_SCOPE, "调整故障范围", frozenset({S.IN_PROGRESS}), None, EDITORS,
        guards=(whole_scope_visible, a_fault_outage),
        effects=(replace_fault_scope,),
        then=(tell_customers_of_scope_change,),
        fields=("feeders", "transformer_areas", "reason", "estimated_end"),
    ),
    Transition(
        A.MERGE, "合并", frozenset({S.IN_PROGRESS}), S.MERGED, EDITORS,
        guards=(whole_scope_visible, merge_target_scope_visible, a_fault_outage, merge_target_open_fault),
        effects=(take_over_source_scope,),
        then=(queue_merge_target_notices,),
        fields=("into",),
        records_as="merged",
    ),
    Transition(
        A.RESTORE, "恢复送电", LIVE, S.RESTORED, EDITORS,
        guards=(whole_scope_visible, began_as_planned, restored_after_it_began),
        effects=(start_as_planned, stamp_restoration),
        then=(queue_restoration_notices,),
        fields=("at",),
    ),
    Transition(
        A.CANCEL, "取消", frozenset({S.DRAFT, S.PUBLISHED}), S.CANCELLED, EDITORS,
        guards=(whole_scope_visible, reason_given),
        effects=(record_cancel_reason,),
        then=(tell_customers_of_cancellation,),
        fields=("reason",),
    ),
    Transition(
        A.KEY_CALL, "电话告知重要客户", frozenset({S.DRAFT, *LIVE, S.RESTORED}), None, EDITORS,
        guards=(a_key_customer_of_the_outage, customer_in_scope),
        effects=(record_phone_call,),
        fields=("customer", "at"),
        records_as="key_customer_called",
    ),
)  # fmt: skip

# How a refusal names what could not be done, when it is not the label.
REFUSED_AS: dict[str, str] = {A.KEY_CALL: "再登记电话告知"}


def _holds(actor: Actor, transition: Transition, outage: Outage) -> bool:
    return not transition.roles or is_editor(actor)


def _refuse_state(transition: Transition, outage: Outage) -> ApiError:
    return illegal(outage, REFUSED_AS.get(transition.action, transition.label))


def _refuse_role(transition: Transition, outage: Outage) -> ApiError:
    return editors_only()


OUTAGES: Workflow[Outage] = Workflow(
    name="outages",
    actions=OutageAction,
    transitions=TRANSITIONS,
    state_of=lambda outage: outage.state,
    holds=_holds,
    refuse_state=_refuse_state,
    refuse_role=_refuse_role,
    refuse_unknown=unknown_action,
    refusals=(ApiError,),
    state_labels=dict(S.choices),
)
WORKFLOWS = (OUTAGES,)
TABLE = OUTAGES.by_action


def check_first(
    action: OutageAction, outage: Outage, actor: Actor, *guards: Any, payload: Any = None
) -> Transition:
    """What a verb checks before it locks the outage, as it always has: the row's roles and the
    ``guards`` named (the row lists them too; they pass again under the lock). Returns the row."""
    transition = OUTAGES.transition(action)
    if not OUTAGES.holds(actor, transition, outage):
        raise OUTAGES.refuse_role(transition, outage)
    step: Step[Outage] = Step(transition, outage, actor, before=outage.state, target=outage.state,
                              payload=payload or {})  # fmt: skip
    for guard in guards:
        guard(step)
    return transition
