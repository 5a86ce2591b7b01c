"""Scoped reads of work orders: queues, one order, its history."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo

from django.contrib.auth import get_user_model
from django.db.models import Prefetch, Q, QuerySet

from gridcare.core.joined import Children, JoinedRows, Related
from gridcare.customers.models import Customer, CustomerPhone
from gridcare.customers.queries import normalize_phone
from gridcare.org import scoping
from gridcare.org.models import Unit
from gridcare.org.types import Viewer

from .models import OPEN_STATES, Deadline, State, WorkOrder

# An order is visible to the accepting unit's subtree (首问负责) and the assigned unit's subtree.
ORDER_UNIT_FIELDS = ("accepted_unit_id", "assigned_unit_id")


def visible_orders(user: Viewer, active_unit: Any = None) -> QuerySet[WorkOrder]:
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


def get_order(user: Viewer, number: str, active_unit: Any = None) -> WorkOrder:
    qs = _with_relations(WorkOrder.objects.all())
    return scoping.get_for_user(qs, user, ORDER_UNIT_FIELDS, active_unit, number=number)


def linked_by_callback(user: Viewer, order: WorkOrder, active_unit: Any = None) -> dict[str, Any]:
    """The orders a 不满意 callback linked to ``order`` that ``user`` may see: the original it was
    raised from (``raised_from``) and the complaints raised from it (``raised``)."""
    visible = visible_orders(user, active_unit)
    source = visible.filter(pk=order.raised_from_id).first() if order.raised_from_id else None
    raised = list(visible.filter(raised_from=order)) if order.satisfaction else []
    return {"raised_from": source, "raised": raised}


def queue(
    user: Viewer,
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
        qs = qs.filter(assignee_id=user.pk)  # an anonymous viewer's (None) within an empty scope
    if accepted:
        qs = qs.filter(accepted_by_id=user.pk)
    if open_only:
        qs = qs.filter(state__in=OPEN_STATES)
    if order_type:
        qs = qs.filter(order_type=order_type)
    if state:
        qs = qs.filter(state=state)
    if warning_level is not None:
        qs = qs.filter(warning_level__gte=warning_level)
    return _with_relations(qs).order_by("-priority", "-warning_level", "created_at")


# 工单查询 -----------------------------------------------------------------------------------------

SHANGHAI = ZoneInfo("Asia/Shanghai")
# ``state`` of a search may also name a group of states.
STATE_GROUPS = {
    "open": frozenset(OPEN_STATES),
    "closed": frozenset({State.ARCHIVED, State.MERGED, State.CANCELLED}),
}


@dataclass
class OrderSearch:
    """The filters of 工单查询 (page and API alike); empty fields do not filter."""

    number: str = ""  # exact, or a prefix
    customer: str = ""  # account number (exact) or the start of the customer's name
    phone: str = ""  # the caller's number or one of the customer's numbers (exact, normalized)
    order_type: str = ""
    state: str = ""  # one state, or "open" / "closed"
    unit: int | None = None  # accepting or handling unit within this unit's subtree
    created_from: dt.date | None = None  # Asia/Shanghai calendar days, both ends included
    created_to: dt.date | None = None


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=SHANGHAI)


def search(user: Viewer, s: OrderSearch, active_unit: Any = None) -> QuerySet[WorkOrder]:
    """Any order in the user's scope (closed ones too) by the filters of ``s``, newest first with
    the id as tie-breaker (stable paging). Every filter is one indexed condition: the number
    (``wo_number_unique``), the customer (``wo_customer_state``), the phones (``wo_caller_state``
    and the customer phones' index), the created range (``created_at``)."""
    qs = visible_orders(user, active_unit)
    number = s.number.strip().upper()
    if number:
        qs = qs.filter(number__startswith=number)
    customer = s.customer.strip()
    if customer:
        # Digits are an account number (exact); anything else the start of the customer's name.
        match = Q(account_no=customer) if customer.isdigit() else Q(name__startswith=customer)
        qs = qs.filter(customer_id__in=Customer.objects.filter(match).values("id"))
    if s.phone.strip():
        phone = normalize_phone(s.phone)
        if not phone:
            return qs.none()
        qs = qs.filter(
            Q(caller_phone=phone)
            | Q(customer_id__in=CustomerPhone.objects.filter(number=phone).values("customer_id"))
        )
    if s.order_type:
        qs = qs.filter(order_type=s.order_type)
    if s.state:
        group = STATE_GROUPS.get(s.state)
        qs = qs.filter(state__in=group) if group else qs.filter(state=s.state)
    if s.unit is not None:
        # Only a unit in the user's own scope narrows; any other answers nothing.
        unit = Unit.objects.filter(pk=s.unit).first()
        if unit is None or not scoping.unit_in_scope(user, unit, active_unit):
            return qs.none()
        subtree = unit.subtree().values("id")
        qs = qs.filter(Q(accepted_unit_id__in=subtree) | Q(assigned_unit_id__in=subtree))
    if s.created_from:
        qs = qs.filter(created_at__gte=_day_start(s.created_from))
    if s.created_to:
        qs = qs.filter(created_at__lt=_day_start(s.created_to + dt.timedelta(days=1)))
    return _with_relations(qs).order_by("-created_at", "-id")
