"""The rules of the call-back list's table (``transitions.py``): guards and effects, one small
function each, named for its rule, each taking the ``Step`` the workflow runner is carrying out.
Effects change the entry in memory (``step.changes``); the verb (``return_calls.perform``) writes
it and its history row."""

from __future__ import annotations

from django.utils.translation import gettext

from gridcare.core.api_errors import ApiError, ErrorCode
from gridcare.core.workflow import Step
from gridcare.org.models import Role

from .models import ReturnCall

# Who works the call-back list (the hotline's roles; the CTI integration account is an agent).
RETURN_CALL_ROLES = frozenset({Role.AGENT, Role.SHIFT_LEADER, Role.ADMIN})
# The automatic closing is GridCare's own (no person performs it).
SYSTEM = frozenset({"system"})

# Why an open entry closes by itself: the caller called again and an agent answered.
ANSWERED_AGAIN = "客户已再次来电并接通"

ReturnCallStep = Step[ReturnCall]


def reason_given(step: ReturnCallStep) -> None:
    """无需回拨 says why (a wrong number, the matter settled another way…)."""
    if not step.note.strip():
        raise ApiError(ErrorCode.REASON_REQUIRED, gettext("请填写无需回拨的原因"), status=422)


def count_attempt(step: ReturnCallStep) -> None:
    """A call-back was tried: one more attempt, by whom and when."""
    step.changes["attempts"] = step.obj.attempts + 1
    step.changes["called_back_by"] = step.actor
    step.changes["called_back_at"] = step.now
    if step.note.strip():
        step.changes["note"] = step.note.strip()


def stamp_closed(step: ReturnCallStep) -> None:
    step.changes["closed_at"] = step.now


def record_close_reason(step: ReturnCallStep) -> None:
    step.changes["close_reason"] = step.note.strip()[:200]


def close_as_answered_again(step: ReturnCallStep) -> None:
    step.changes["close_reason"] = ANSWERED_AGAIN
