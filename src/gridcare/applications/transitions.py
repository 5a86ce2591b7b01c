"""The application tables, read top to bottom (the mechanism: ``core/workflow.py``, ADR 0007; how
the node engine splits the rules: ADR 0011).

Which nodes an application has, who owns each, what starts its clock and its limit are **data**
(``NodePath`` / ``PathNode``, see ``paths.py``); what may be done to any node is this one table,
``NODES``, over the node's state. Who may act on a node is its owner role (from the data) plus the
roles a row lists. ``APPLICATIONS`` holds what is done to the application as a whole. Accepting an
application creates it (``services.accept_application``) and is not a transition.

Print them: ``gridcare workflow_table applications``.
"""

from __future__ import annotations

from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from gridcare.core.api_errors import ApiError, ErrorCode, unknown_action
from gridcare.core.workflow import Transition, Workflow
from gridcare.org import scoping
from gridcare.org.models import Role
from gridcare.org.types import Actor

from .models import (
    Application,
    ApplicationAction,
    ApplicationNode,
    ApplicationState,
    NodeAction,
    NodeState,
)
from .rules import (
    back_to_state_before_wait,
    clock_awaits_request,
    clock_to_stop,
    close_wait,
    energization_recorded,
    inspection_passed,
    move_due_date_by_wait,
    note_given,
    open_next_node,
    owner_unit_within_reach,
    plan_chosen,
    record_wait,
    remember_state_before_wait,
    request_recorded,
    schedule_callback,
    stamp_cancelled,
    stamp_finished,
    start_clock,
    stop_every_clock,
    stop_the_clock,
    survey_recorded,
    tell_customer_clock_started,
    tell_customer_node_done,
    tell_customer_of_cancellation,
    tell_customer_of_resumption,
    tell_customer_of_wait,
    wait_reason_given,
)

# Besides the node's owner role: the one window to the customer (一口对外) records what the
# customer brings or asks, and managers supervise.
WINDOW = frozenset({Role.BUSINESS_CLERK, Role.ACCOUNT_MANAGER, Role.MANAGER, Role.ADMIN})
SUPERVISORS = frozenset({Role.MANAGER, Role.ADMIN})

N = NodeAction
S = NodeState
NODE_TRANSITIONS = (
    Transition(
        N.START, _("登记起算事件"), frozenset({S.OPEN}), None, WINDOW,
        guards=(clock_awaits_request,),
        effects=(start_clock,),
        then=(tell_customer_clock_started,),
    ),
    Transition(
        N.FINISH, _("完成环节"), frozenset({S.OPEN}), S.DONE, SUPERVISORS,
        guards=(
            owner_unit_within_reach,
            request_recorded,
            survey_recorded,
            plan_chosen,
            inspection_passed,
            energization_recorded,
        ),
        effects=(stamp_finished, open_next_node),
        then=(tell_customer_node_done, schedule_callback),
    ),
    Transition(
        N.WAIT, _("客户原因中止"), frozenset({S.OPEN, S.PENDING}), S.WAITING, WINDOW,
        guards=(clock_to_stop, wait_reason_given),
        effects=(remember_state_before_wait, stop_the_clock),
        then=(record_wait, tell_customer_of_wait),
        fields=("reason",),
    ),
    Transition(
        N.RESUME, _("恢复计时"), frozenset({S.WAITING}), None, WINDOW,
        effects=(back_to_state_before_wait, move_due_date_by_wait),
        then=(close_wait, tell_customer_of_resumption),
        or_to=(S.OPEN, S.PENDING),
    ),
)  # fmt: skip

A = ApplicationAction
APPLICATION_TRANSITIONS = (
    Transition(
        A.CANCEL, _("终止申请"), frozenset({ApplicationState.IN_PROGRESS}), ApplicationState.CANCELLED,
        frozenset({Role.BUSINESS_CLERK, Role.ACCOUNT_MANAGER, Role.MANAGER, Role.ADMIN}),
        guards=(note_given,),
        effects=(stamp_cancelled,),
        then=(stop_every_clock, tell_customer_of_cancellation),
        fields=("note",),
    ),
)  # fmt: skip


def _node_holds(actor: Actor, transition: Transition, node: ApplicationNode) -> bool:
    return scoping.has_role(actor, node.owner_role, *transition.roles)


def _app_holds(actor: Actor, transition: Transition, application: Application) -> bool:
    return scoping.has_role(actor, *transition.roles)


def _closed(application: Application) -> ApiError:
    return ApiError(
        ErrorCode.APPLICATION_CLOSED,
        gettext("申请已%(state)s，不能再办理") % {"state": application.get_state_display()},
        status=409,
        state=application.state,
    )


def _refuse_node_state(transition: Transition, node: ApplicationNode) -> ApiError:
    if not node.application.is_open:
        return _closed(node.application)
    return ApiError(
        ErrorCode.ILLEGAL_TRANSITION,
        gettext("环节“%(node)s”当前状态“%(state)s”不能执行“%(action)s”")
        % {"node": node.get_kind_display(), "state": node.get_state_display(), "action": transition.label},
        status=409,
        state=node.state,
    )


def _refuse_app_state(transition: Transition, application: Application) -> ApiError:
    return _closed(application)


def _refuse_role(transition: Transition, obj: object) -> ApiError:
    return ApiError(
        ErrorCode.FORBIDDEN_ROLE,
        gettext("您的岗位不能执行“%(action)s”") % {"action": transition.label},
        status=403,
    )


NODES: Workflow[ApplicationNode] = Workflow(
    name="applications: nodes",
    actions=NodeAction,
    transitions=NODE_TRANSITIONS,
    state_of=lambda node: node.state,
    holds=_node_holds,
    refuse_state=_refuse_node_state,
    refuse_role=_refuse_role,
    refuse_unknown=unknown_action,
    refusals=(ApiError,),
    state_labels=dict(NodeState.choices),
)
APPLICATIONS: Workflow[Application] = Workflow(
    name="applications: application",
    actions=ApplicationAction,
    transitions=APPLICATION_TRANSITIONS,
    state_of=lambda application: application.state,
    holds=_app_holds,
    refuse_state=_refuse_app_state,
    refuse_role=_refuse_role,
    refuse_unknown=unknown_action,
    refusals=(ApiError,),
    state_labels=dict(ApplicationState.choices),
)
WORKFLOWS = (NODES, APPLICATIONS)

# History rows that are not actions of the tables.
EVENT_LABELS = {
    "accept": _("受理"),
    "warning": _("时限预警"),
    "survey": _("登记勘查结论"),
    "plan_option": _("拟定供电方案"),
    "plan_chosen": _("客户选定方案"),
    "inspection": _("登记检验结论"),
    "energization": _("登记装表接电"),
    "callback": _("业扩回访"),
    "green_channel_on": _("开通绿色通道"),
    "green_channel_off": _("关闭绿色通道"),
}
