"""What the customer and the staff hear, through the ``notify`` outbox (written in the caller's
transaction; delivered by the worker; SMS to customers held by the quiet hours).

- The customer: an SMS at every node change (accepted, a node done and the next one open, the
  clock started on their request, a wait for them and its end, archived, cancelled). Each has a
  dedup key naming the fact, so a repeated call queues nothing twice.
- The staff: node warnings (levels 1–3, the work-order engine's levels) go to the owner unit —
  the people holding the node's role there — and, from level 2, to the managers of the tiers
  above it (``workorders.escalation.TIER_KINDS``: station head, county/department manager, city).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import NamedTuple

from django.utils.translation import gettext as _

from gridcare.core import clock
from gridcare.notify import services as notify
from gridcare.notify.models import Channel
from gridcare.notify.models import Priority as MessagePriority
from gridcare.org.models import Role, RoleAssignment, Unit, User
from gridcare.workorders.escalation import TIER_KINDS
from gridcare.workorders.models import Priority

from .models import Application, ApplicationNode, NodeKind, NodeWait

ABOUT_TYPE = "applications.application"


def _day(at: dt.datetime | None) -> str:
    return clock.local(at).strftime("%Y-%m-%d") if at is not None else ""


def _sms(application: Application, body: str, dedup: str) -> None:
    if not application.contact_phone:
        return
    notify.enqueue(
        channel=Channel.SMS,
        to=application.contact_phone,
        to_name=application.contact_name,
        body=body,
        priority=(
            MessagePriority.KEY_CUSTOMER if application.priority > Priority.NORMAL else MessagePriority.NORMAL
        ),
        about=(ABOUT_TYPE, application.number),
        dedup_key=f"application:{application.number}:{dedup}",
    )


def accepted(application: Application, current: ApplicationNode | None) -> None:
    body = _("【国网】您的用电申请（编号%(number)s）已受理。") % {"number": application.number}
    if application.total_due_at is not None:
        body += _("承诺%(date)s前办结（不含客户原因中止时间）。") % {"date": _day(application.total_due_at)}
    if current is not None:
        body += _("当前环节：%(node)s。") % {"node": current.get_kind_display()}
    _sms(application, body, "accepted")


def node_done(application: Application, node: ApplicationNode, following: ApplicationNode | None) -> None:
    body = _("【国网】您的用电申请%(number)s已完成“%(node)s”。") % {
        "number": application.number,
        "node": node.get_kind_display(),
    }
    if following is not None:
        body += _("下一环节：%(node)s。") % {"node": following.get_kind_display()}
        if following.due_at is not None:
            body += _("预计%(date)s前完成。") % {"date": _day(following.due_at)}
        elif following.definition.customer_action:
            body += _("需要您办理：%(action)s。") % {"action": following.definition.customer_action}
    _sms(application, body, f"node:{node.seq}:done")


def clock_started(application: Application, node: ApplicationNode) -> None:
    body = _("【国网】您的用电申请%(number)s“%(node)s”已受理，将于%(date)s前完成。") % {
        "number": application.number,
        "node": node.get_kind_display(),
        "date": _day(node.due_at),
    }
    _sms(application, body, f"node:{node.seq}:started")


def wait_started(application: Application, node: ApplicationNode, wait: NodeWait) -> None:
    body = _("【国网】您的用电申请%(number)s“%(node)s”因%(reason)s暂停计时，请您尽快办理后告知我们。") % {
        "number": application.number,
        "node": node.get_kind_display(),
        "reason": wait.get_reason_display(),
    }
    if wait.note:
        body += _("说明：%(note)s") % {"note": wait.note}
    _sms(application, body, f"wait:{wait.pk}:start")


def wait_ended(application: Application, node: ApplicationNode, wait: NodeWait) -> None:
    body = _("【国网】您的用电申请%(number)s“%(node)s”已恢复办理，预计%(date)s前完成。") % {
        "number": application.number,
        "node": node.get_kind_display(),
        "date": _day(node.due_at),
    }
    _sms(application, body, f"wait:{wait.pk}:end")


def archived(application: Application) -> None:
    body = _("【国网】您的用电申请%(number)s已办结归档，感谢您的支持。") % {"number": application.number}
    _sms(application, body, "archived")


def cancelled(application: Application) -> None:
    body = _("【国网】您的用电申请%(number)s已终止办理：%(note)s") % {
        "number": application.number,
        "note": application.close_note,
    }
    _sms(application, body, "cancelled")


# --- Staff: node warnings ------------------------------------------------------------------------


class Person(NamedTuple):
    """A staff member as a notice needs them (``notify.staff_notice``)."""

    pk: int
    display_name: str
    mobile: str


def _people(users: Iterable[tuple[int, str, str, str]]) -> list[Person]:
    return [Person(pk, full_name or username, mobile) for pk, full_name, username, mobile in users]


_USER = ("user_id", "user__full_name", "user__username", "user__mobile")


class Recipients:
    """Who hears of node warnings, for a batch of nodes at once: the holders of each (owner unit,
    role), the customers' account managers, and the managers of each unit's tiers above — each
    read in one query for the batch, as plain tuples."""

    def __init__(
        self, places: Iterable[tuple[int, str]], account_managers: Iterable[int | None] = ()
    ) -> None:
        pairs = set(places)
        unit_ids = {unit_id for unit_id, _role in pairs}
        self.holders: dict[tuple[int, str], list[Person]] = {pair: [] for pair in pairs}
        self.ancestors: dict[int, list[int]] = {
            pk: [int(p) for p in path.strip("/").split("/") if p] or [pk]
            for pk, path in Unit.objects.filter(pk__in=unit_ids).values_list("pk", "path")
        }
        for unit_id, role, *user in RoleAssignment.objects.filter(
            unit_id__in=unit_ids, role__in={role for _u, role in pairs}, user__is_active=True
        ).values_list("unit_id", "role", *_USER):
            if (unit_id, role) in self.holders:
                self.holders[(unit_id, role)] += _people([tuple(user)])
        above = {pk for ids in self.ancestors.values() for pk in ids}
        self.kind: dict[int, str] = dict(Unit.objects.filter(pk__in=above).values_list("pk", "kind"))
        self.managers: dict[int, list[Person]] = {}
        for unit_id, *user in RoleAssignment.objects.filter(
            role=Role.MANAGER, unit_id__in=above, user__is_active=True
        ).values_list("unit_id", *_USER):
            self.managers.setdefault(unit_id, []).extend(_people([tuple(user)]))
        wanted = {pk for pk in account_managers if pk is not None}
        self.users: dict[int, Person] = {
            person.pk: person
            for person in _people(
                User.objects.filter(pk__in=wanted, is_active=True).values_list(
                    "pk", "full_name", "username", "mobile"
                )
            )
        }

    def of(self, unit_id: int, role: str, account_manager_id: int | None, level: int) -> list[Person]:
        """Level 1: the node's owner role at its owner unit and the customer's account manager;
        each level L adds the managers of tier L above the owner unit. Each person once."""
        people = list(self.holders.get((unit_id, role), []))
        if account_manager_id in self.users:
            people.append(self.users[account_manager_id])
        for tier in range(2, min(level, 4) + 1):
            kinds = TIER_KINDS[min(tier, 4)]
            for above in self.ancestors.get(unit_id, []):
                if self.kind.get(above) in kinds:
                    people += self.managers.get(above, [])
        seen: set[int] = set()
        unique = []
        for person in people:
            if person.pk not in seen:
                seen.add(person.pk)
                unique.append(person)
        return unique


class WarningWording:
    """The wording of node warnings, translated once (per sweep) and filled per notice."""

    def __init__(self) -> None:
        self.subject = _("【%(level)s级预警】用电申请 %(number)s %(node)s时限%(what)s")
        self.body = _("用电申请 %(number)s 的“%(node)s”环节时限%(what)s，到期时间 %(due)s，请及时办理。")
        self.what = {level: _("已超期") if level == 3 else _("即将到期") for level in (1, 2, 3)}
        self.labels = {value: str(label) for value, label in NodeKind.choices}

    def items(
        self,
        *,
        application_id: int,
        number: str,
        kind: str,
        seq: int,
        due_at: dt.datetime | None,
        level: int,
        people: list[Person],
    ) -> list[notify.Outgoing]:
        """The staff notice of one node warning (inbox and SMS per person; no database access)."""
        values = {
            "level": level,
            "number": number,
            "node": self.labels.get(kind, kind),
            "what": self.what[level],
            "due": clock.local(due_at).strftime("%Y-%m-%d %H:%M") if due_at else "",
        }
        return notify.staff_notice(
            people,
            subject=self.subject % values,
            body=self.body % values,
            about=(ABOUT_TYPE, number),
            dedup=f"application-warning:{application_id}:{seq}:{level}",
        )
