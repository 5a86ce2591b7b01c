"""Call events from the CTI/IVR (``POST /api/v1/calls``): who may report them, which agent and
unit a call belongs to, and what each event does to the call's times, outcome and figures.

The events, as a switch's CTI reports a call (Asterisk's queue log: ENTERQUEUE, RINGNOANSWER,
CONNECT, TRANSFER, COMPLETECALLER, ABANDON; FreeSWITCH: answer, bridge, hangup):

    queued       the call entered the agent queue (the IVR is done): the wait starts
    ringing      the call rings at an agent
    answered     an agent answered
    transferred  the agent passed the call on (to an agent, a skill queue, an outside line)
    abandoned    the caller hung up before an agent answered (in the queue, or while ringing)
    ended        the call is over (the caller or the agent hung up, or the system gave up:
                 ``cause="no_agent"`` — nobody was ready to take it)

Each event sets the time it reports once (a replay changes nothing), then the call's derived
columns are worked out again from all its times (``Call.derive_figures``), so events that arrive
out of order end in the same row as in order. An event that contradicts what the call already
did is refused (409) with a code naming why; times that contradict each other are 422
``invalid_times``. After each event the call-back list follows the call's outcome
(``return_calls``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from gridcare.core import clock
from gridcare.core.api_errors import ApiError, ErrorCode
from gridcare.customers.queries import CustomerQuery, search_customers
from gridcare.org import scoping
from gridcare.org.models import Role, RoleAssignment, Unit, User
from gridcare.org.types import Actor, Viewer

from . import return_calls
from .models import AgentState, AgentStateSpell, Call, CallStatisticsSetting, CallTransfer

if TYPE_CHECKING:
    from gridcare.customers.models import Customer

CALL_EVENTS = ("queued", "ringing", "answered", "abandoned", "transferred", "ended")
# ``ended`` on a call nobody answered: the caller hung up (an abandon), or the system ended it
# because no agent was ready to take it (a missed call).
NO_AGENT = "no_agent"
END_CAUSES = ("", NO_AGENT)

# Who may report call events (the CTI integration account, the agents' softphones).
CALL_EVENT_ROLES = (Role.AGENT, Role.SHIFT_LEADER, Role.ADMIN)


def find_agent(ref: str) -> User:
    """The agent a CTI event names: username, employee number or extension."""
    ref = (ref or "").strip()
    user = (
        User.objects.filter(is_active=True, username=ref).first()
        or User.objects.filter(is_active=True, employee_no=ref).exclude(employee_no="").first()
    )
    if user is None:
        state = AgentState.objects.select_related("agent").filter(extension=ref).exclude(extension="").first()
        user = state.agent if state else None
    if user is None:
        raise ApiError(
            "unknown_agent", f"No active agent {ref!r} (username, employee number or extension).", status=422
        )
    return user


def set_agent_state(*, agent: User, state: str, at: dt.datetime | None = None) -> AgentState:
    if state not in AgentState.State.values:
        raise ApiError("invalid_state", f"Unknown agent state {state!r}.", status=422)
    at = at or clock.now()
    row, created = AgentState.objects.get_or_create(agent=agent, defaults={"state": state, "since": at})
    if created:
        _open_spell(agent, state, at)
    elif row.state != state:
        _close_spell(agent, at)
        row.state, row.since = state, at
        row.save(update_fields=["state", "since"])
        _open_spell(agent, state, at)
    return row


def _open_spell(agent: User, state: str, at: dt.datetime) -> None:
    """Start the agent's spell in ``state`` (none is kept for being signed out)."""
    if state == AgentState.State.OFFLINE:
        return
    unit = (
        RoleAssignment.objects.filter(user=agent, role=Role.AGENT)
        .order_by("unit__path")
        .values_list("unit_id", flat=True)
        .first()
    )
    AgentStateSpell.objects.create(agent=agent, unit_id=unit, state=state, started_at=at)


def _close_spell(agent: User, at: dt.datetime) -> None:
    """End the agent's running spell at ``at`` (a late event never makes a spell negative)."""
    running = (
        AgentStateSpell.objects.filter(agent=agent, ended_at__isnull=True).order_by("-started_at").first()
    )
    if running is not None:
        running.ended_at = max(at, running.started_at)
        running.seconds = int((running.ended_at - running.started_at).total_seconds())
        running.save(update_fields=["ended_at", "seconds"])


def caller_candidates(agent: User, caller_number: str) -> list[Customer]:
    if not caller_number:
        return []
    return search_customers(agent, CustomerQuery(phone=caller_number), limit=10)


def call_account_no(call: Call, viewer: Viewer) -> str | None:
    """The account number of the call's customer, for a viewer whose scope covers that customer."""
    if call.customer is not None and scoping.in_scope(call.customer, viewer, "station_id"):
        return call.customer.account_no
    return None


# --- who may report, and on which calls ---------------------------------------------------------


def _check_call_event_actor(actor: Actor | None, agent: User | None) -> None:
    """The reporter holds a hotline role and the named agent is within the reporter's scope."""
    if actor is None or getattr(actor, "is_superuser", False):
        return
    if not scoping.has_role(actor, *CALL_EVENT_ROLES):
        raise ApiError("forbidden_role", gettext("您的岗位不能上报来电事件"), status=403)
    if agent is not None and agent.pk != actor.pk and not _agent_in_scope(agent, actor):
        raise ApiError("unknown_agent", gettext("您的管辖范围内没有该坐席"), status=422)


def _agent_in_scope(agent: User, actor: Actor) -> bool:
    return any(scoping.unit_in_scope(actor, a.unit_id) for a in scoping.assignments_of(agent))


def _call_in_scope(call: Call, actor: Actor | None) -> bool:
    """Whether ``actor`` may act on an existing call: its unit (the answering agent's unit) lies in
    the actor's scope; a call not yet placed at a unit is covered through its agent."""
    if actor is None or getattr(actor, "is_superuser", False):
        return True
    if call.unit_id is not None:
        return scoping.in_scope(call, actor, "unit_id")
    if call.agent_id is not None:
        return call.agent_id == actor.pk or (call.agent is not None and _agent_in_scope(call.agent, actor))
    return True


def _call_unit(agent: User | None, actor: Actor | None) -> Unit | None:
    """The unit a new call belongs to (座席单位, what the figures count per unit): the agent's the
    first event names, else the reporting account's (the CTI integration's center)."""
    for user in (agent, actor):
        if user is not None and getattr(user, "is_authenticated", False):
            units = scoping.root_units(user)
            if units:
                return units[0]
    return None


# --- the events -----------------------------------------------------------------------------------


@dataclass
class _Event:
    """One event being applied to a locked call."""

    name: str
    at: dt.datetime
    agent: User | None
    cause: str = ""
    to_agent: User | None = None
    to_kind: str = ""
    target: str = ""


def _refuse(code: ErrorCode, message: str, call: Call, status: int = 409) -> ApiError:
    return ApiError(code, message, status=status, state=call.state, outcome=call.outcome)


def _not_before(event: _Event, call: Call, *times: dt.datetime | None) -> None:
    """An event's time is not earlier than the times that must come before it."""
    if any(t is not None and event.at < t for t in times):
        raise _refuse(
            ErrorCode.INVALID_TIMES,
            gettext("事件时间早于该来电此前的事件，请核对时间"),
            call,
            status=422,
        )


def _abandoned_for_good(call: Call) -> bool:
    """The CTI said the caller abandoned, or the system ended the call unanswered: no answer can
    follow. (An abandon inferred from a bare hang-up may still meet a late ``answered``.)"""
    return call.outcome == Call.Outcome.MISSED or (
        call.outcome == Call.Outcome.ABANDONED and not call.abandon_inferred
    )


def _on_queued(call: Call, event: _Event) -> None:
    if call.queued_at is not None:
        return  # a replay, or queued again after a transfer to a queue: the wait keeps its start
    reached = [t for t in (call.ringing_at, call.answered_at, call.abandoned_at) if t is not None]
    if not reached or event.at <= min(reached):
        call.queued_at = event.at
    # else: queued after the call had reached an agent — a transfer back to a queue.


def _on_ringing(call: Call, event: _Event) -> None:
    if call.ringing_at is not None:
        return  # rings again (at another agent): the first ring is kept
    if call.answered_at is not None and event.at > call.answered_at:
        return  # rings at the agent a transfer goes to: the call's ring was before its answer
    _not_before(event, call, call.queued_at)
    call.ringing_at = event.at


def _on_answered(call: Call, event: _Event) -> None:
    if _abandoned_for_good(call):
        raise _refuse(ErrorCode.CALL_ABANDONED, gettext("该来电已放弃或未接通，不能再记为接听"), call)
    if call.answered_at is not None:
        return  # a replay
    _not_before(event, call, call.queued_at, call.ringing_at)
    if call.outcome == Call.Outcome.ABANDONED:
        # The hang-up came in first and was read as an abandon; the answer before it stands.
        call.abandoned_at, call.abandon_inferred = None, False
    call.answered_at = event.at
    call.answered_by = call.agent
    call.outcome = Call.Outcome.ANSWERED
    if call.agent is not None:
        live = call.ended_at is None
        state = AgentState.State.ON_CALL if live else AgentState.State.AFTER_CALL
        set_agent_state(agent=call.agent, state=state, at=event.at if live else call.ended_at)


def _on_abandoned(call: Call, event: _Event) -> None:
    if call.answered_at is not None:
        raise _refuse(ErrorCode.CALL_ANSWERED, gettext("该来电已由座席接听，不能记为放弃"), call)
    if call.outcome == Call.Outcome.MISSED:
        raise _refuse(ErrorCode.CALL_ENDED, gettext("该来电已因无座席接听结束，不能记为放弃"), call)
    if call.outcome == Call.Outcome.ABANDONED and not call.abandon_inferred:
        return  # a replay
    _not_before(event, call, call.queued_at, call.ringing_at)
    if call.abandon_inferred and call.ended_at is not None:
        # The hang-up came first; the CTI's abandon confirms it (its time, never after the end).
        call.abandoned_at, call.abandon_inferred = min(event.at, call.ended_at), False
        return
    call.outcome = Call.Outcome.ABANDONED
    call.abandoned_at = event.at
    call.ended_at = call.ended_at or event.at


def _on_ended(call: Call, event: _Event) -> None:
    if call.ended_at is not None:
        return  # a replay (or the hang-up after an abandon, which already ended the call)
    _not_before(event, call, call.queued_at, call.ringing_at, call.answered_at)
    call.ended_at = event.at
    if call.answered_at is not None:
        if call.agent is not None:
            set_agent_state(agent=call.agent, state=AgentState.State.AFTER_CALL, at=event.at)
    elif event.cause == NO_AGENT:
        call.outcome = Call.Outcome.MISSED
    else:
        # Hung up before any agent answered, without an ``abandoned`` event (a switch that reports
        # only the hang-up): an abandon, at the hang-up.
        call.outcome = Call.Outcome.ABANDONED
        call.abandoned_at, call.abandon_inferred = event.at, True


def _on_transferred(call: Call, event: _Event) -> None:
    if call.outcome in (Call.Outcome.ABANDONED, Call.Outcome.MISSED):
        raise _refuse(ErrorCode.CALL_ABANDONED, gettext("该来电已放弃或未接通，不能转接"), call)
    if call.answered_at is None:
        raise _refuse(ErrorCode.CALL_NOT_ANSWERED, gettext("该来电尚未接听，不能转接"), call)
    _not_before(event, call, call.answered_at)
    kind = CallTransfer.Kind.AGENT if event.to_agent is not None else event.to_kind or CallTransfer.Kind.QUEUE
    if call.transfers.filter(at=event.at, kind=kind, to_agent=event.to_agent, target=event.target).exists():
        return  # a replay
    if event.agent is not None and event.agent.pk != call.agent_id:
        raise _refuse(ErrorCode.CALL_AGENT_MISMATCH, gettext("该来电不在转出座席处"), call)
    from_agent = call.agent
    CallTransfer.objects.create(
        call=call, at=event.at, kind=kind, from_agent=from_agent, to_agent=event.to_agent, target=event.target
    )
    call.transfers_count += 1
    if event.to_agent is not None:
        call.agent = event.to_agent
        if call.ended_at is None:
            set_agent_state(agent=event.to_agent, state=AgentState.State.ON_CALL, at=event.at)
            if from_agent is not None and from_agent.pk != event.to_agent.pk:
                set_agent_state(agent=from_agent, state=AgentState.State.READY, at=event.at)


_HANDLERS: dict[str, Callable[[Call, _Event], None]] = {
    "queued": _on_queued,
    "ringing": _on_ringing,
    "answered": _on_answered,
    "abandoned": _on_abandoned,
    "transferred": _on_transferred,
    "ended": _on_ended,
}


def _assign_agent(call: Call, event: _Event) -> None:
    """The agent an event names. Before the answer the call is with the agent it is offered to
    last (it may ring at several); after it, only a transfer moves it (to the agent named, or to
    whoever answers it from the skill queue it went to). Naming an agent the call was never with
    is refused."""
    agent = event.agent
    if agent is None or event.name == "transferred" or call.agent_id == agent.pk:
        return
    if call.answered_at is None:
        call.agent = agent
        return
    waiting = (
        call.transfers.filter(kind=CallTransfer.Kind.QUEUE, to_agent__isnull=True).order_by("-at").first()
    )
    if waiting is not None and event.name == "answered" and call.ended_at is None:
        waiting.to_agent = agent
        waiting.save(update_fields=["to_agent"])
        previous, call.agent = call.agent, agent
        set_agent_state(agent=agent, state=AgentState.State.ON_CALL, at=event.at)
        if previous is not None:
            set_agent_state(agent=previous, state=AgentState.State.READY, at=event.at)
        return
    parties = {call.answered_by_id}
    for from_id, to_id in call.transfers.values_list("from_agent_id", "to_agent_id"):
        parties |= {from_id, to_id}
    if agent.pk not in parties:
        raise _refuse(ErrorCode.CALL_AGENT_MISMATCH, gettext("该来电由其他座席处理"), call)


@transaction.atomic
def record_call_event(
    *,
    actor: Actor | None = None,
    call_id: str,
    event: str,
    caller_number: str = "",
    called_line: str = "",
    agent_ref: str = "",
    at: dt.datetime | None = None,
    cause: str = "",
    to_agent_ref: str = "",
    to_kind: str = "",
    target: str = "",
    recording_ref: str = "",
) -> Call:
    """Apply one CTI event (see the module's docstring). Replays are harmless; events arriving out
    of order end in the same row; nothing is written when the event is refused."""
    if event not in CALL_EVENTS:
        raise ApiError("invalid_event", f"event must be one of {', '.join(CALL_EVENTS)}.", status=422)
    if not call_id.strip():
        raise ApiError("call_id_required", "call_id is required.", status=422)
    if cause not in END_CAUSES:
        raise ApiError("invalid_input", f"cause must be empty or {NO_AGENT!r}.", status=422)
    if event == "transferred":
        _check_transfer(to_agent_ref, to_kind, target, at)
    given = _Event(event, at or clock.now(), find_agent(agent_ref) if agent_ref else None, cause=cause)
    given.to_agent = find_agent(to_agent_ref) if to_agent_ref else None
    given.to_kind, given.target = to_kind, target.strip()
    _check_call_event_actor(actor, given.agent)
    _check_call_event_actor(actor, given.to_agent)
    call, created = _find_or_open(actor, call_id, given, caller_number, called_line)
    answered_before = call.answered_at is not None
    if call.ended_at is not None and event not in ("ended", "abandoned") and given.at > call.ended_at:
        raise _refuse(ErrorCode.CALL_ENDED, gettext("该来电已结束，不能再记录此后的事件"), call)
    previous_agent = call.agent_id
    _assign_agent(call, given)
    _HANDLERS[event](call, given)
    if call.agent is not None and call.agent_id != previous_agent and call.customer_id is None:
        _pop_customer(call, call.agent)  # the screen pop for the agent the call reaches
    if called_line and not call.called_line:
        call.called_line = called_line
    if recording_ref and not call.recording_ref:
        call.recording_ref = recording_ref
    call.derive_figures(CallStatisticsSetting.current().short_abandon_seconds)
    return_calls.sync_return_call(call)
    call.save()
    if call.answered_at is not None and not answered_before:
        return_calls.close_answered_again(call)
    return call


def _check_transfer(to_agent_ref: str, to_kind: str, target: str, at: dt.datetime | None) -> None:
    if at is None:
        # Two transfers of one call differ only by their time: without it a replay would count twice.
        raise ApiError(ErrorCode.TIMES_REQUIRED, gettext("转接事件须带时间（at）"), status=422)
    if to_kind and to_kind not in CallTransfer.Kind.values:
        raise ApiError(
            "invalid_input", f"to_kind must be one of {', '.join(CallTransfer.Kind.values)}.", status=422
        )
    if not to_agent_ref and (not target.strip() or to_kind == CallTransfer.Kind.AGENT):
        raise ApiError(
            ErrorCode.TRANSFER_TARGET_REQUIRED,
            gettext("转接事件须指明接手座席，或技能组/外线号码"),
            status=422,
        )


def _find_or_open(
    actor: Actor | None, call_id: str, event: _Event, caller_number: str, called_line: str
) -> tuple[Call, bool]:
    """The call, locked; a new one for the first event of a call (which carries the caller)."""
    call = Call.objects.select_for_update().filter(call_id=call_id).first()
    if call is not None:
        if not _call_in_scope(call, actor):
            # Another unit's call: answered as if it did not exist (its id must not be probed).
            raise ApiError("not_found", gettext("您的管辖范围内没有该来电"), status=404)
        return call, False
    if event.name == "transferred":
        raise ApiError("not_found", gettext("您的管辖范围内没有该来电"), status=404)
    if not caller_number.strip():
        raise ApiError(
            "caller_required", "The first event of a call must carry the caller number.", status=422
        )
    unit = _call_unit(event.agent, actor)
    if unit is None:
        raise ApiError(ErrorCode.NO_UNIT, gettext("无法确定来电所属的座席单位"), status=422)
    try:
        with transaction.atomic():
            call = Call.objects.create(
                call_id=call_id,
                caller_number=_stored_number(caller_number),
                called_line=called_line,
                unit=unit,
                arrived_at=event.at,
                call_date=clock.local(event.at).date(),
            )
    except IntegrityError:  # the same call's other event opened it a moment ago
        call = Call.objects.select_for_update().get(call_id=call_id)
        if not _call_in_scope(call, actor):
            raise ApiError("not_found", gettext("您的管辖范围内没有该来电"), status=404) from None
        return call, False
    return call, True


def _stored_number(number: str) -> str:
    """The caller's number as the call keeps it: normalized when it is a phone number (so that one
    caller's calls match), else as the switch gave it."""
    return return_calls.callable_number(number) or number.strip()


def _pop_customer(call: Call, agent: User) -> None:
    """The caller's customer when the number matches exactly one the agent may see."""
    candidates = caller_candidates(agent, call.caller_number)
    if len(candidates) == 1:
        call.customer = candidates[0]
