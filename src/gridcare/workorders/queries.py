"""Scoped reads of work orders: queues, one order, its history."""

from __future__ import annotations

from typing import Any

from django.db.models import Prefetch, QuerySet

from gridcare.org import scoping

from .models import OPEN_STATES, Deadline, WorkOrder

# An order is visible to the accepting unit's subtree (首问负责) and the assigned unit's subtree.
ORDER_UNIT_FIELDS = ("accepted_unit_id", "assigned_unit_id")


def visible_orders(user: Any, active_unit: Any = None) -> QuerySet[WorkOrder]:
    return scoping.restrict(WorkOrder.objects.all(), user, ORDER_UNIT_FIELDS, active_unit)


def _with_relations(qs: QuerySet[WorkOrder]) -> QuerySet[WorkOrder]:
    return qs.select_related("customer", "accepted_unit", "assigned_unit", "assignee").prefetch_related(
        Prefetch("deadlines", queryset=Deadline.objects.order_by("due_at"))
    )


def with_relations(**lookup: Any) -> WorkOrder | None:
    """The order of a unique ``lookup`` with what its page and answer show (no scope check)."""
    # No ORDER BY for a unique lookup: composing it was a third of this query's cost.
    found = list(_with_relations(WorkOrder.objects.filter(**lookup).order_by())[:1])
    return found[0] if found else None


def get_order(user: Any, number: str, active_unit: Any = None) -> WorkOrder:
    qs = _with_relations(WorkOrder.objects.all())
    return scoping.get_for_user(qs, user, ORDER_UNIT_FIELDS, active_unit, number=number)


def queue(
    user: Any,
    *,
    mine: bool = False,
    accepted: bool = False,
    active_unit: Any = None,
    order_type: str = "",
    state: str = "",
    warning_level: int | None = None,
    open_only: bool = True,
) -> QuerySet[WorkOrder]:
    """My queue / my unit's queue: priority first, then the nearest deadline."""
    qs = visible_orders(user, active_unit)
    if mine:
        qs = qs.filter(assignee=user)
    if accepted:
        qs = qs.filter(accepted_by=user)
    if open_only:
        qs = qs.filter(state__in=OPEN_STATES)
    if order_type:
        qs = qs.filter(order_type=order_type)
    if state:
        qs = qs.filter(state=state)
    if warning_level is not None:
        qs = qs.filter(warning_level__gte=warning_level)
    return _with_relations(qs).order_by("-priority", "-warning_level", "created_at")
