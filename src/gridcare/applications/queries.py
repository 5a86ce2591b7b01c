"""Scoped reads of business applications, through the scoping door (``org.scoping``): a station
sees the applications it supplies or accepted, and everything below it; anyone else gets 404.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import Exists, F, OuterRef, Q, QuerySet

from gridcare.core.joined import JoinedRows, Related
from gridcare.org import scoping
from gridcare.org.models import Unit
from gridcare.org.types import Viewer
from gridcare.workorders.models import Priority

from .models import RECORDED_STARTS, Application, ApplicationNode, NodeState, NodeWait, PathNode

UNIT_FIELDS = ("supply_unit_id", "accepted_unit_id")


def visible_applications(user: Viewer, active_unit: Unit | None = None) -> QuerySet[Application]:
    return scoping.restrict(
        Application.objects.select_related("supply_unit", "accepted_unit", "customer"),
        user,
        ("supply_unit", "accepted_unit"),
        active_unit,
    )


def get_application(user: Viewer, number: str, active_unit: Unit | None = None) -> Application:
    """One application in the user's scope by its number, or 404."""
    return scoping.get_for_user(
        Application.objects.select_related("supply_unit", "accepted_unit", "customer", "accepted_by"),
        user,
        UNIT_FIELDS,
        active_unit,
        number=number,
    )


# The nodes of an application with their definitions and owner units: one statement, built
# once and prepared (core.joined) — the progress answer is the 95598 agent's and the customer's
# most frequent read.
_NODES = JoinedRows(
    ApplicationNode,
    related=(Related(PathNode, "d", "definition_id"), Related(Unit, "u", "owner_unit_id")),
    order_by="{table}.seq",
)
MAX_NODES = 50


def nodes_of(application: Application) -> list[ApplicationNode]:
    """The nodes in order, their definitions and owner units loaded (the application is in the
    caller's scope already)."""
    return _NODES.fetch(None, ["{table}.application_id = %s"], [application.pk], MAX_NODES)


@dataclass(frozen=True)
class Progress:
    """Where an application stands, as the customer (and the 95598 agent) should hear it."""

    application: Application
    nodes: list[ApplicationNode]
    current: ApplicationNode | None
    waits: dict[int, NodeWait]  # node id → its open wait
    customer_action: str  # what the customer has to do now ("" when nothing)


def progress(application: Application) -> Progress:
    nodes = nodes_of(application)
    current = next((n for n in nodes if n.kind == application.current_node), None)
    # An open wait belongs to a waiting node: no query when none is waiting (most of the time).
    waiting_ids = [n.pk for n in nodes if n.state == NodeState.WAITING]
    waits = (
        {
            w.node_id: w
            for w in NodeWait.objects.filter(node_id__in=waiting_ids, ended_at__isnull=True).order_by(
                "started_at"
            )
        }
        if waiting_ids
        else {}
    )
    action = ""
    waiting = [n for n in nodes if n.state == NodeState.WAITING and n.pk in waits]
    if waiting:
        wait = waits[waiting[0].pk]
        action = f"{wait.get_reason_display()}：{wait.note}" if wait.note else wait.get_reason_display()
    elif (
        current is not None
        and current.started_at is None
        and current.definition.clock_starts in RECORDED_STARTS
        and current.definition.customer_action
    ):
        action = current.definition.customer_action
    return Progress(application, nodes, current, waits, action)


def overdue(node: ApplicationNode, now: dt.datetime) -> bool:
    left = node.seconds_left(now)
    return left is not None and left < 0


def my_customers(viewer: Viewer) -> Q:
    """The applications an account manager follows: their key customers' and those they handed in
    (优先办理权)."""
    return Q(customer__account_manager=viewer) | Q(accepted_by=viewer, priority=Priority.ACCOUNT_MANAGER)


def overdue_q(now: dt.datetime) -> Q:
    """A node not finished whose clock passed its due time (a clock paused before it is not late)."""
    return Q(finished_at__isnull=True, due_at__lt=now) & (
        Q(paused_at__isnull=True) | Q(paused_at__gt=F("due_at"))
    )


def near_due_q(now: dt.datetime) -> Q:
    """A running clock past its first warning, not yet due."""
    return Q(finished_at__isnull=True, paused_at__isnull=True, due_at__gte=now, warning_level__gte=1)


def _nodes() -> QuerySet[ApplicationNode]:
    return ApplicationNode.objects.filter(application=OuterRef("pk"))


def overdue_only(qs: QuerySet[Application], now: dt.datetime) -> QuerySet[Application]:
    """Applications with an overdue node (the home tile's 已超时)."""
    return qs.filter(Exists(_nodes().filter(overdue_q(now))))


def near_due_only(qs: QuerySet[Application], now: dt.datetime) -> QuerySet[Application]:
    """Applications with a node near its due time and none overdue (the home tile's 临近超时)."""
    return qs.filter(Exists(_nodes().filter(near_due_q(now)))).exclude(
        Exists(_nodes().filter(overdue_q(now)))
    )
