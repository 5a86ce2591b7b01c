"""The call-back list (回拨清单): the verbs that put a missed call on it, close an entry when the
caller got through later, record a call-back's result, and reveal the caller's full number.

- ``sync_return_call(call)``: after every event of a call (``calls.record_call_event``) the call
  is on the list exactly when it needs a call-back — abandoned (not a short abandon) or missed (no
  agent was ready) and from a number one can call. A further missed call of the same caller, unit
  and day joins the open entry (``missed_count``); an event that turns out the call was answered
  after all (a late ``answered``) or a short abandon (a late ``queued``) takes it off again.
- ``close_answered_again(call)``: a call answered from the same number closes the open entries
  missed before it (无需回拨: 客户已再次来电并接通).
- ``perform``: an agent's result (已回拨 / 回拨未接通 / 无需回拨), by the table of
  ``transitions.py``, with the entry's version (409 when stale) and one history row.
- ``reveal_caller_number``: the full number, for a role that may see personal data, audited.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils.translation import gettext

from gridcare.core import audit, clock
from gridcare.core.api_errors import ApiError, ErrorCode
from gridcare.core.models import AuditLog
from gridcare.core.validation import InvalidPhone, parse_phone
from gridcare.org import scoping
from gridcare.org.types import Actor

from .models import Call, ReturnCall, ReturnCallEvent
from .transitions import RETURN_CALLS, ReturnCallAction

_SEPARATORS = re.compile(r"[\s\-()（）]")


def callable_number(number: str) -> str | None:
    """The number to call back (normalized as ``core.validation.parse_phone`` does), or None for
    one that cannot be dialled (a withheld number, "anonymous"). A local number without its area
    code, as a switch may report it, is kept as its digits."""
    try:
        return parse_phone(number)[0]
    except InvalidPhone:
        digits = _SEPARATORS.sub("", number or "")
        return digits if digits.isascii() and digits.isdigit() and 7 <= len(digits) <= 20 else None


def needs_return_call(call: Call) -> bool:
    """Abandoned (not a short abandon: the caller hardly waited) or missed (nobody could take it)."""
    if call.outcome == Call.Outcome.MISSED:
        return True
    return call.outcome == Call.Outcome.ABANDONED and not call.short_abandon


def missed_at(call: Call) -> dt.datetime | None:
    return call.abandoned_at or call.ended_at


def sync_return_call(call: Call) -> None:
    """Put ``call`` on the list or take it off, as its outcome now says (in the caller's
    transaction; sets ``call.return_call``, the caller saves the call)."""
    number = callable_number(call.caller_number)
    when = missed_at(call)
    wanted = needs_return_call(call) and number is not None and when is not None and call.unit_id is not None
    if wanted and call.return_call_id is None and number is not None and when is not None:
        entry = _list_missed_call(call, number, when)
        call.return_call = entry
        _close_if_answered_since(entry, number)
    elif not wanted and call.return_call_id is not None:
        _unlist(call)


def _list_missed_call(call: Call, number: str, when: dt.datetime) -> ReturnCall:
    reason = ReturnCall.Reason.MISSED if call.outcome == Call.Outcome.MISSED else ReturnCall.Reason.ABANDONED
    day = clock.local(when).date()
    assert call.unit_id is not None  # checked by the caller
    open_entry = (
        ReturnCall.objects.select_for_update()
        .filter(unit_id=call.unit_id, caller_number=number, missed_date=day, state__in=ReturnCall.OPEN_STATES)
        .first()
    )
    if open_entry is None:
        try:
            with transaction.atomic():
                entry = ReturnCall.objects.create(
                    unit_id=call.unit_id,
                    caller_number=number,
                    missed_date=day,
                    reason=reason,
                    first_missed_at=when,
                    last_missed_at=when,
                )
        except IntegrityError:  # another missed call of this caller listed it a moment ago
            open_entry = ReturnCall.objects.select_for_update().get(
                unit_id=call.unit_id, caller_number=number, missed_date=day, state__in=ReturnCall.OPEN_STATES
            )
        else:
            _history(entry, "listed", to_state=entry.state, call=call, reason=reason)
            return entry
    open_entry.missed_count += 1
    open_entry.first_missed_at = min(open_entry.first_missed_at, when)
    open_entry.last_missed_at = max(open_entry.last_missed_at, when)
    open_entry.version += 1
    open_entry.save(update_fields=["missed_count", "first_missed_at", "last_missed_at", "version"])
    _history(open_entry, "joined", call=call, reason=reason, missed_count=open_entry.missed_count)
    return open_entry


def _unlist(call: Call) -> None:
    """The call needs no call-back after all (answered, or a short abandon once its queue time
    came in): it leaves its entry; an entry left with no call and no attempt goes."""
    entry = ReturnCall.objects.select_for_update().get(pk=call.return_call_id or 0)
    call.return_call = None
    others = [
        abandoned or ended
        for abandoned, ended in Call.objects.filter(return_call=entry)
        .exclude(pk=call.pk)
        .values_list("abandoned_at", "ended_at")
    ]
    if not others and entry.attempts == 0 and entry.is_open:
        Call.objects.filter(pk=call.pk).update(return_call=None)  # before the entry goes
        entry.delete()
        return
    times = [t for t in others if t is not None]
    entry.missed_count = max(len(others), 1)
    if times:
        entry.first_missed_at, entry.last_missed_at = min(times), max(times)
    entry.version += 1
    entry.save(update_fields=["missed_count", "first_missed_at", "last_missed_at", "version"])
    _history(entry, "left", call=call, missed_count=entry.missed_count)


def _close_if_answered_since(entry: ReturnCall, number: str) -> None:
    """A missed call reported after the same caller's later answered call: closed at once."""
    later = (
        Call.objects.filter(caller_number=number, answered_at__gt=entry.last_missed_at)
        .order_by("answered_at")
        .first()
    )
    if later is not None and entry.is_open:
        _auto_close(entry, later)


def close_answered_again(call: Call) -> int:
    """The caller got through (``call`` answered): their open entries missed before it close
    (无需回拨, 客户已再次来电并接通), in any unit. Returns how many closed."""
    number = callable_number(call.caller_number)
    if number is None or call.answered_at is None:
        return 0
    entries = list(
        ReturnCall.objects.select_for_update()
        .filter(caller_number=number, state__in=ReturnCall.OPEN_STATES, last_missed_at__lt=call.answered_at)
        .order_by("pk")
    )
    for entry in entries:
        _auto_close(entry, call)
    return len(entries)


def _auto_close(entry: ReturnCall, answered: Call) -> None:
    _apply(entry, ReturnCallAction.AUTO_CLOSE, actor=None, data={"call_id": answered.call_id})


def perform(
    *,
    entry: ReturnCall,
    action: str,
    actor: Actor,
    note: str = "",
    version: int | None = None,
) -> ReturnCall:
    """Record a call-back's result on an entry the caller already found in the actor's scope:
    已回拨 (``called_back``), 回拨未接通 (``unreachable``, stays open) or 无需回拨 (``not_needed``,
    with the reason in ``note``). 409 ``version_conflict`` when ``version`` is stale, 409
    ``return_call_closed`` on a closed entry."""
    with transaction.atomic():
        current = ReturnCall.objects.select_for_update().get(pk=entry.pk)
        if version is not None and version != current.version:
            raise ApiError(
                ErrorCode.VERSION_CONFLICT,
                gettext("回拨记录已被他人更新，请刷新后重试"),
                status=409,
                current_version=current.version,
            )
        return _apply(current, action, actor=actor, note=note)


def _apply(
    entry: ReturnCall, action: str, *, actor: Actor | None, note: str = "", data: dict[str, Any] | None = None
) -> ReturnCall:
    """Run the action's row on a locked entry, write it and its history row."""
    now = clock.now()
    step = RETURN_CALLS.run(action, entry, actor, note=note, now=now)
    for name, value in step.changes.items():
        setattr(entry, name, value)
    entry.state = step.target
    entry.version += 1
    entry.save(update_fields=[*step.changes, "state", "version"])
    ReturnCallEvent.objects.create(
        return_call=entry,
        at=now,
        actor=actor,
        action=step.transition.history_action,
        from_state=step.before,
        to_state=step.target,
        note=note.strip(),
        data={**(data or {}), "attempts": entry.attempts},
    )
    RETURN_CALLS.follow_up(step)
    return entry


def _history(entry: ReturnCall, action: str, *, to_state: str = "", call: Call, **data: Any) -> None:
    ReturnCallEvent.objects.create(
        return_call=entry,
        at=clock.now(),
        action=action,
        to_state=to_state,
        data={"call_id": call.call_id, **data},
    )


def reveal_caller_number(*, actor: Actor, entry: ReturnCall, request: Any = None) -> str:
    """The full number of an entry (already found in the actor's scope), for a role that may see
    personal data; the read is written to the audit log."""
    if not scoping.can_see_personal_data(actor):
        raise PermissionDenied(gettext("您的岗位无权查看完整个人信息"))
    with transaction.atomic():
        audit.record(
            action=AuditLog.Action.VIEW_SENSITIVE,
            actor=actor,
            obj=entry,
            request=request,
            detail={"fields": ["caller_number"]},
        )
    return entry.caller_number
