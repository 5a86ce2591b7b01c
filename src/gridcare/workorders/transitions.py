"""The lifecycle as one readable table: action → (from states, to state, roles, guard).

``to_state`` None keeps the state. ``needs_assigned_unit``: the actor must hold a role whose
scope covers the order's assigned unit (承办单位). Guards raise ``ApiError`` with a stable code.
Everything here is data the service ``perform`` reads; no view decides a transition.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext_lazy as _

from gridcare.org.models import Role

from .models import OPEN_STATES, OrderType, State

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
ANY_STAFF = frozenset()  # any role, as long as the order is in the actor's scope

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
WORKING = frozenset({State.IN_PROGRESS, State.ON_SITE})
UNCLOSED = frozenset(OPEN_STATES - {State.SUSPENDED})


@dataclass(frozen=True)
class Transition:
    action: str
    label: str
    sources: frozenset[str]
    target: str | None
    roles: frozenset[str]
    needs_assigned_unit: bool = False
    note_required: bool = False
    fields: tuple[str, ...] = field(default_factory=tuple)


TABLE: dict[str, Transition] = {
    t.action: t
    for t in [
        Transition(
            "dispatch", _("派单"), frozenset({State.ACCEPTED}), State.DISPATCHED, FRONT_DESK, fields=("unit",)
        ),
        Transition(
            "take",
            _("接单"),
            frozenset({State.DISPATCHED}),
            State.IN_PROGRESS,
            ANY_STAFF,
            needs_assigned_unit=True,
        ),
        Transition(
            "arrive",
            _("到达现场"),
            frozenset({State.IN_PROGRESS}),
            State.ON_SITE,
            ANY_STAFF,
            needs_assigned_unit=True,
        ),
        Transition(
            "contact",
            _("联系客户"),
            frozenset({State.DISPATCHED, State.IN_PROGRESS, State.ON_SITE}),
            None,
            ANY_STAFF,
            needs_assigned_unit=True,
            note_required=True,
        ),
        Transition(
            "handle", _("处理进展"), WORKING, None, ANY_STAFF, needs_assigned_unit=True, note_required=True
        ),
        Transition(
            "reply",
            _("回单"),
            WORKING | {State.ACCEPTED},
            State.REPLIED,
            ANY_STAFF,
            fields=("reply", "at_fault"),
        ),
        Transition(
            "review", _("审核"), frozenset({State.REPLIED}), State.REVIEWED, REVIEWERS, fields=("approve",)
        ),
        Transition(
            "callback",
            _("回访"),
            frozenset({State.REVIEWED}),
            State.CALLED_BACK,
            CALLBACK_STAFF,
            fields=("satisfaction",),
        ),
        Transition(
            "archive",
            _("归档"),
            frozenset({State.REVIEWED, State.CALLED_BACK}),
            State.ARCHIVED,
            REVIEWERS | CALLBACK_STAFF,
        ),
        Transition(
            "return",
            _("退单"),
            frozenset({State.DISPATCHED, State.IN_PROGRESS}),
            State.ACCEPTED,
            ANY_STAFF,
            needs_assigned_unit=True,
            note_required=True,
        ),
        Transition(
            "redispatch",
            _("转派"),
            frozenset({State.DISPATCHED, State.IN_PROGRESS}),
            State.DISPATCHED,
            FRONT_DESK,
            note_required=True,
            fields=("unit",),
        ),
        Transition("urge", _("催办"), UNCLOSED | {State.SUSPENDED}, None, FRONT_DESK),
        Transition(
            "merge",
            _("合并"),
            frozenset({State.ACCEPTED, State.DISPATCHED, State.IN_PROGRESS, State.ON_SITE}),
            State.MERGED,
            FRONT_DESK,
            fields=("into",),
        ),
        Transition(
            "suspend",
            _("挂起"),
            frozenset({State.DISPATCHED, State.IN_PROGRESS, State.ON_SITE}),
            State.SUSPENDED,
            ANY_STAFF,
            needs_assigned_unit=True,
            note_required=True,
        ),
        Transition(
            "resume", _("解挂"), frozenset({State.SUSPENDED}), None, ANY_STAFF, needs_assigned_unit=True
        ),
        Transition(
            "escalate",
            _("升级"),
            UNCLOSED | {State.SUSPENDED},
            None,
            REVIEWERS | {Role.AGENT},
            note_required=True,
        ),
        Transition(
            "cancel",
            _("作废"),
            frozenset({State.ACCEPTED, State.DISPATCHED}),
            State.CANCELLED,
            FRONT_DESK,
            note_required=True,
        ),
        Transition(
            "complaint_items",
            _("录入四不销单"),
            frozenset({State.IN_PROGRESS, State.ON_SITE, State.REPLIED, State.REVIEWED, State.CALLED_BACK}),
            None,
            ANY_STAFF,
            fields=("problem_solved", "cause_analysis", "preventive_measures", "accountability"),
        ),
    ]
}


# History rows that are not actions of the table.
EVENT_LABELS = {"accept": _("受理"), "warning": _("时限预警"), "merge_in": _("合并重复工单")}


def event_label(action: str) -> str:
    transition = TABLE.get(action)
    return str(transition.label) if transition else str(EVENT_LABELS.get(action, action))


def actions_from(state: str) -> list[Transition]:
    return [t for t in TABLE.values() if state in t.sources]
