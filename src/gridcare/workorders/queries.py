"""Scoped reads of work orders: queues, one order, its history."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, QuerySet

from gridcare.core.joined import Children, JoinedRows, Related
from gridcare.customers.models import Customer
from gridcare.org import scoping
from gridcare.org.models import Unit

from .models import OPEN_STATES, Deadline, WorkOrder

# An order is visible to the accepting unit's subtree (首问负责) and the assigned unit's subtree.
ORDER_UNIT_FIELDS = ("accepted_unit_id", "assigned_unit_id")


def visible_orders(user: Any, active_unit: Any = None) -> QuerySet[WorkOrder]:
    return scoping.restrict(WorkOrder.objects.all(), user, ORDER_UNIT_FIELDS, active_unit)


def _with_relations(qs: QuerySet[WorkOrder]) -> QuerySet[WorkOrder]:
    return qs.select_related("customer", "accepted_unit", "assigned_unit", "assignee").prefetch_related(
        Prefetch("deadlines", queryset=Deadline.objects.order_by("due_at"))
    )


# What ``_with_relations`` loads, read by one prepared statement (``core.joined``).
_ANSWER = JoinedRows(
    WorkOrder,
    related=(
        Related(Customer, "c", "customer_id", nullable=True),
        Related(Unit, "au", "accepted_unit_id"),
        Related(Unit, "su", "assigned_unit_id", nullable=True),
        Related(get_user_model(), "u", "assignee_id", nullable=True),
    ),
    children=(Children(Deadline, "deadlines", "order_id", ("due_at", "id")),),
)


def answer(*, pk: int | None = None, idempotency_key: str | None = None) -> WorkOrder | None:
    """The order of ``pk`` or ``idempotency_key`` with what its answer shows (customer, units,
    assignee, deadlines), no scope check: the first order of a repeated intake, read by one
    statement (every retry is answered with it)."""
    column, value = ("id", pk) if pk is not None else ("idempotency_key", idempotency_key)
    found = _ANSWER.fetch(None, [f"{{table}}.{column} = %s"], [value], 1)
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
