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

from django.utils.translation import gettext as _

from gridcare.core import clock
from gridcare.notify import services as notify
from gridcare.notify.models import Channel
from gridcare.notify.models import Priority as MessagePriority
from gridcare.org.models import Role, RoleAssignment, Unit, User
from gridcare.workorders.escalation import TIER_KINDS
from gridcare.workorders.models import Priority

from .models import Application, ApplicationNode, NodeWait

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


class Recipients:
    """Who hears of node warnings, for a batch of nodes at once: the holders of each (owner unit,
    role) and the managers of each unit's tiers above, each read in one query for the batch."""

    def __init__(self, nodes: list[ApplicationNode]) -> None:
        units = {n.owner_unit_id: n.owner_unit for n in nodes}
        pairs = {(n.owner_unit_id, n.owner_role) for n in nodes}
        self.holders: dict[tuple[int, str], list[User]] = {pair: [] for pair in pairs}
        self.ancestors: dict[int, list[int]] = {
            pk: [int(p) for p in unit.path.strip("/").split("/") if p] or [pk] for pk, unit in units.items()
        }
        for a in RoleAssignment.objects.filter(
            unit_id__in=units, role__in={role for _u, role in pairs}, user__is_active=True
        ).select_related("user"):
            if (a.unit_id, a.role) in self.holders:
                self.holders[(a.unit_id, a.role)].append(a.user)
        above = {pk for ids in self.ancestors.values() for pk in ids}
        self.kind: dict[int, str] = dict(Unit.objects.filter(pk__in=above).values_list("pk", "kind"))
        self.managers: dict[int, list[User]] = {}
        for a in RoleAssignment.objects.filter(
            role=Role.MANAGER, unit_id__in=above, user__is_active=True
        ).select_related("user"):
            self.managers.setdefault(a.unit_id, []).append(a.user)

    def of(self, application: Application, node: ApplicationNode, level: int) -> list[User]:
        """Level 1: the node's owner role at its owner unit and the customer's account manager;
        each level L adds the managers of tier L above the owner unit."""
        people = list(self.holders.get((node.owner_unit_id, node.owner_role), []))
        customer = application.customer
        if customer is not None and customer.account_manager is not None:
            people.append(customer.account_manager)
        for tier in range(2, min(level, 4) + 1):
            kinds = TIER_KINDS[min(tier, 4)]
            for unit_id in self.ancestors.get(node.owner_unit_id, []):
                if self.kind.get(unit_id) in kinds:
                    people += self.managers.get(unit_id, [])
        seen: set[int] = set()
        unique = []
        for person in people:
            if person.pk not in seen:
                seen.add(person.pk)
                unique.append(person)
        return unique


def warning_recipients(application: Application, node: ApplicationNode, level: int) -> list[User]:
    return Recipients([node]).of(application, node, level)


def warning_items(
    application: Application, node: ApplicationNode, level: int, people: list[User], label: str = ""
) -> list[notify.Outgoing]:
    """The staff notice of one node warning (inbox and SMS per person; no database access)."""
    label = label or node.get_kind_display()
    what = _("已超期") if level == 3 else _("即将到期")
    subject = _("【%(level)s级预警】用电申请 %(number)s %(node)s时限%(what)s") % {
        "level": level,
        "number": application.number,
        "node": label,
        "what": what,
    }
    body = _("用电申请 %(number)s 的“%(node)s”环节时限%(what)s，到期时间 %(due)s，请及时办理。") % {
        "number": application.number,
        "node": label,
        "what": what,
        "due": clock.local(node.due_at).strftime("%Y-%m-%d %H:%M") if node.due_at else "",
    }
    return notify.staff_notice(
        people,
        subject=subject,
        body=body,
        about=(ABOUT_TYPE, application.number),
        dedup=f"application-warning:{application.pk}:{node.seq}:{level}",
    )


def warning(application: Application, node: ApplicationNode, level: int) -> int:
    items = warning_items(application, node, level, warning_recipients(application, node, level))
    notify.enqueue_many(items)
    return len({item.recipient for item in items})
