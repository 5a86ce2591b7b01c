"""The call-back list's lifecycle (回拨清单) as one readable table: per action, the states it
starts from, the state it leads to, who may do it, its guards and effects (``rules.py``). Listing
a missed call (and a further missed call joining an entry) is not a transition: the call events
do it (``return_calls.sync_return_call``).

Print it: ``gridcare workflow_table hotline``.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext, gettext_lazy

from gridcare.core.api_errors import ApiError, ErrorCode, unknown_action
from gridcare.core.workflow import Action, Transition, Workflow
from gridcare.org import scoping

from .models import ReturnCall
from .rules import (
    RETURN_CALL_ROLES,
    SYSTEM,
    close_as_answered_again,
    count_attempt,
    reason_given,
    record_close_reason,
    stamp_closed,
)


class ReturnCallAction(Action):
    """What happens to an open entry (the page's buttons, the API's ``result``, history rows)."""

    CALLED_BACK = "called_back"
    UNREACHABLE = "unreachable"
    NOT_NEEDED = "not_needed"
    AUTO_CLOSE = "auto_close"


S = ReturnCall.State
OPEN = frozenset(ReturnCall.OPEN_STATES)
A = ReturnCallAction
TRANSITIONS = (
    Transition(
        A.CALLED_BACK, gettext_lazy("已回拨"), OPEN, S.DONE, RETURN_CALL_ROLES,
        effects=(count_attempt, stamp_closed),
        fields=("note",),
    ),
    Transition(
        A.UNREACHABLE, gettext_lazy("回拨未接通"), OPEN, S.UNREACHABLE, RETURN_CALL_ROLES,
        effects=(count_attempt,),
        fields=("note",),
    ),
    Transition(
        A.NOT_NEEDED, gettext_lazy("无需回拨"), OPEN, S.NOT_NEEDED, RETURN_CALL_ROLES,
        guards=(reason_given,),
        effects=(record_close_reason, stamp_closed),
        fields=("note",),
    ),
    Transition(
        A.AUTO_CLOSE, gettext_lazy("客户已再次来电并接通"), OPEN, S.NOT_NEEDED, SYSTEM,
        effects=(close_as_answered_again, stamp_closed),
    ),
)  # fmt: skip


def _holds(actor: Any, transition: Transition, entry: ReturnCall) -> bool:
    if transition.roles == SYSTEM:
        return actor is None
    return actor is None or scoping.has_role(actor, *transition.roles)


def _refuse_state(transition: Transition, entry: ReturnCall) -> ApiError:
    return ApiError(
        ErrorCode.RETURN_CALL_CLOSED,
        gettext("该回拨已处理（%(state)s），不能再登记") % {"state": entry.get_state_display()},
        status=409,
        state=entry.state,
    )


def _refuse_role(transition: Transition, entry: ReturnCall) -> ApiError:
    return ApiError(ErrorCode.FORBIDDEN_ROLE, gettext("您的岗位不能处理回拨清单"), status=403)


RETURN_CALLS: Workflow[ReturnCall] = Workflow(
    name="return_calls",
    actions=ReturnCallAction,
    transitions=TRANSITIONS,
    state_of=lambda entry: entry.state,
    holds=_holds,
    refuse_state=_refuse_state,
    refuse_role=_refuse_role,
    refuse_unknown=unknown_action,
    refusals=(ApiError,),
    state_labels=dict(ReturnCall.State.choices),
)

WORKFLOWS = (RETURN_CALLS,)
