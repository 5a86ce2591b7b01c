"""The repair-event (故障停电事件) lifecycle as one readable table: per action, the states it starts
from, the state it leads to, who may do it, its guards, its effects and its follow-ups
(``rules.py``), in the order they run. The verbs of ``services`` lock the event and run its row;
``actions.act_on_event`` only turns the API's and the pages' payload into objects.

Print it: ``gridcare workflow_table repair``.
"""

from __future__ import annotations

from typing import Any

from gridcare.core.api_errors import ApiError, unknown_action
from gridcare.core.workflow import Action, Step, Transition, Workflow
from gridcare.org import scoping
from gridcare.org.types import Actor

from .models import FaultEvent
from .rules import (
    DISPATCH_ROLES,
    absorb_into_target,
    absorb_open_events_on_device,
    bring_orders_in_step,
    bring_target_in_step,
    cancel_reason_given,
    confirm_device,
    crew_has_people,
    crew_in_scope,
    crew_of_the_event,
    crew_on_duty,
    device_given,
    dispatchers_only,
    event_closed,
    full_confidence,
    leave_self_check,
    link_new_event_outage,
    mark_crew_arrived,
    merge_target_open,
    move_to_device,
    not_the_same_event,
    record_cancel_reason,
    record_result,
    record_situation,
    refresh_both_events,
    release_all_crews,
    release_moved_primary_order,
    restore_public_outages,
    result_given,
    set_estimated_restore,
    situation_given,
    some_of_the_calls,
    split_off_calls,
    stamp_arrival,
    support_described,
    support_kind_known,
    sync_public_outage,
    take_over_from_primary_crew,
    tell_outage_eta,
)


class FaultEventAction(Action):
    """The actions on an event: ``/api/v1/repair/events/{number}/actions/{action}`` and the pages."""

    CONFIRM = "confirm"
    REASSIGN = "reassign"
    SPLIT = "split"
    MERGE = "merge"
    DISPATCH = "dispatch"
    REINFORCE = "reinforce"
    ARRIVE = "arrive"
    PROGRESS = "progress"
    ETA = "eta"
    SUPPORT = "support"
    RESTORE = "restore"
    CANCEL = "cancel"


S = FaultEvent.State
OPEN = frozenset(FaultEvent.OPEN_STATES)
DISPATCHERS = frozenset(DISPATCH_ROLES)
CREW_OR_DISPATCHER: frozenset[str] = frozenset()  # any role: the guard crew_of_the_event decides

A = FaultEventAction
TRANSITIONS = (
    Transition(
        A.CONFIRM, "确认研判", OPEN, None, DISPATCHERS,
        effects=(confirm_device, full_confidence, leave_self_check),
        or_to=(S.WAITING,),
    ),
    Transition(
        A.REASSIGN, "改判设备", OPEN, None, DISPATCHERS,
        guards=(device_given,),
        effects=(move_to_device, leave_self_check, confirm_device),
        then=(absorb_open_events_on_device, bring_orders_in_step, sync_public_outage),
        fields=("level", "transformer_area", "feeder"),
        or_to=(S.WAITING,),
    ),
    Transition(
        A.SPLIT, "拆分事件", OPEN, None, DISPATCHERS,
        guards=(some_of_the_calls,),
        effects=(split_off_calls,),
        then=(release_moved_primary_order, refresh_both_events, link_new_event_outage),
        fields=("orders",),
    ),
    Transition(
        A.MERGE, "合并到事件", OPEN, None, DISPATCHERS,
        guards=(not_the_same_event, merge_target_open),
        effects=(absorb_into_target,),
        then=(bring_target_in_step,),
        fields=("into",),
        or_to=(S.MERGED,),
    ),
    Transition(
        A.DISPATCH, "派工", OPEN, None, DISPATCHERS,
        guards=(crew_on_duty, crew_in_scope, crew_has_people),
        effects=(take_over_from_primary_crew,),
        fields=("crew", "replace"),
        or_to=(S.DISPATCHED,),
    ),
    Transition(
        A.REINFORCE, "邻所支援", OPEN, None, DISPATCHERS,
        guards=(crew_has_people,),
        fields=("crew",),
        or_to=(S.DISPATCHED,),
    ),
    Transition(
        A.ARRIVE, "到达现场", OPEN, S.ON_SITE, CREW_OR_DISPATCHER,
        guards=(crew_of_the_event,),
        effects=(mark_crew_arrived, stamp_arrival),
        then=(bring_orders_in_step,),
    ),
    Transition(
        A.PROGRESS, "现场进展", OPEN, None, CREW_OR_DISPATCHER,
        guards=(crew_of_the_event, situation_given),
        effects=(record_situation,),
        fields=("situation", "cause"),
    ),
    Transition(
        A.ETA, "预计恢复时间", OPEN, None, CREW_OR_DISPATCHER,
        guards=(crew_of_the_event,),
        effects=(set_estimated_restore,),
        then=(tell_outage_eta,),
        fields=("estimated_restore_at",),
    ),
    Transition(
        A.SUPPORT, "申请支援", OPEN, None, CREW_OR_DISPATCHER,
        guards=(crew_of_the_event, support_kind_known, support_described),
        fields=("kind",),
        records_as="support_request",
    ),
    Transition(
        A.RESTORE, "恢复送电", OPEN, S.RESTORED, CREW_OR_DISPATCHER,
        guards=(result_given, crew_of_the_event),
        effects=(record_result,),
        then=(release_all_crews, restore_public_outages),
        fields=("result", "cause"),
    ),
    Transition(
        A.CANCEL, "撤销事件", OPEN, S.CANCELLED, DISPATCHERS,
        guards=(cancel_reason_given,),
        effects=(record_cancel_reason,),
        then=(release_all_crews, restore_public_outages),
    ),
)  # fmt: skip


def _holds(actor: Actor, transition: Transition, event: FaultEvent) -> bool:
    return not transition.roles or scoping.has_role(actor, *transition.roles)


def _refuse_state(transition: Transition, event: FaultEvent) -> ApiError:
    return event_closed(event)


def _refuse_role(transition: Transition, event: FaultEvent) -> ApiError:
    return dispatchers_only()


EVENTS: Workflow[FaultEvent] = Workflow(
    name="repair",
    actions=FaultEventAction,
    transitions=TRANSITIONS,
    state_of=lambda event: event.state,
    holds=_holds,
    refuse_state=_refuse_state,
    refuse_role=_refuse_role,
    refuse_unknown=unknown_action,
    refusals=(ApiError,),
    state_labels=dict(S.choices),
)
WORKFLOWS = (EVENTS,)
TABLE = EVENTS.by_action
# action → label (the pages show these). Plain strings, as the pages have always shown them; the
# refusals quote them.
ACTIONS = {str(t.action): str(t.label) for t in EVENTS}


def check_first(
    action: FaultEventAction,
    event: FaultEvent,
    actor: Actor,
    *guards: Any,
    note: str = "",
    payload: Any = None,
) -> Transition:
    """What a verb checks before it locks the event, as it always has: the row's roles (a
    non-dispatcher hears ``forbidden_role`` even about a closed event) and the input ``guards``
    named (the row lists them too; they pass again under the lock). Returns the row."""
    transition = EVENTS.transition(action)
    if not EVENTS.holds(actor, transition, event):
        raise EVENTS.refuse_role(transition, event)
    step: Step[FaultEvent] = Step(transition, event, actor, before=event.state, target=event.state,
                                  note=note, payload=payload or {})  # fmt: skip
    for guard in guards:
        guard(step)
    return transition
