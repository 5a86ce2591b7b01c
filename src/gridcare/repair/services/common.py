"""What the verbs of fault repair share: the dispatcher check of the verbs outside the event table
(a support request's answer), the event's lock, its note, and telling staff. Who counts as a
dispatcher, and the check that an event is still open, are the table's (``repair.transitions``).
"""

from __future__ import annotations

import logging

from gridcare.core import clock
from gridcare.notify import services as notify
from gridcare.org import scoping
from gridcare.org.models import Role, User
from gridcare.org.types import Actor
from gridcare.repair.dispatching import SYSTEM_USERNAME
from gridcare.repair.models import EventUpdate, FaultEvent
from gridcare.repair.rules import DISPATCH_ROLES, dispatchers_only
from gridcare.repair.rules import user_of as _user

log = logging.getLogger("gridcare.repair.services")

SELF_CHECK_GUIDE = (
    "请客户先自查：1. 家中总开关、漏电保护器是否跳闸，复位后能否送电；2. 邻居家是否有电；"
    "3. 预付费电表是否欠费或余额不足。自查后仍无法恢复的，安排电工上门。"
)


def _require_dispatcher(actor: Actor) -> None:
    if not scoping.has_role(actor, *DISPATCH_ROLES):
        raise dispatchers_only()


def _note(event: FaultEvent, action: str, actor: Actor, note: str = "", **data) -> EventUpdate:
    return EventUpdate.objects.create(
        event=event, action=action, at=clock.now(), actor=_user(actor), note=note, data=data
    )


def _lock(event: FaultEvent) -> FaultEvent:
    return (
        FaultEvent.objects.select_for_update(of=("self",))
        .select_related("station", "crew__team_unit")
        .get(pk=event.pk)
    )


def _staff_message(people: list[User], subject: str, body: str, dedup: str, about: tuple[str, str]) -> int:
    """Inbox and SMS to each person once; returns how many people were told."""
    return notify.tell_staff(people, subject=subject, body=body, about=about, dedup=dedup)


def _tell_dispatchers(event: FaultEvent, subject: str, body: str, dedup: str) -> None:
    people = list(
        User.objects.filter(
            is_active=True,
            assignments__role=Role.DISPATCHER,
            assignments__unit__in=[u.pk for u in event.station.ancestors()] + [event.station_id],
        )
        .exclude(username=SYSTEM_USERNAME)
        .distinct()
    )
    _staff_message(people, subject, body, dedup, ("repair.outageevent", event.number))
