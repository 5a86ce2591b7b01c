"""Every state change of a work order: ``create_work_order`` (in ``intake``, re-exported here),
``accept_request`` and ``perform`` (one per action).

Each call is one transaction: guard → change → one history row → follow-up work on commit.
Pages, the API, commands and tasks all call these functions.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext

from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.customers.models import Customer
from gridcare.org import scoping
from gridcare.org.models import Unit
from gridcare.org.types import Actor

from . import queries
from .intake import INTAKE_ROLES as INTAKE_ROLES
from .intake import TYPE_REQUIREMENTS as TYPE_REQUIREMENTS
from .intake import Intake as Intake
from .intake import acting_unit as acting_unit
from .intake import check_intake_role as check_intake_role
from .intake import create_work_order as create_work_order
from .intake import validate_intake as validate_intake
from .models import OPEN_STATES, WorkOrder, WorkOrderEvent

# Re-exported: callers and tests reach these as ``services.…``.
from .rules import callback_rate as callback_rate
from .rules import dispatch_targets as dispatch_targets
from .rules import in_callback_sample as in_callback_sample
from .rules import sampled_for_callback as sampled_for_callback
from .transitions import WORK_ORDERS


class DuplicateOrder(ApiError):
    """An open order of the same matter exists: urge it, or confirm that this is a new matter."""

    def __init__(self, order: WorkOrder) -> None:
        super().__init__(
            "duplicate_open_order",
            f"已有在途同类工单 {order.number}（{order.get_state_display()}）：重复来电请催办；"
            "确属新诉求请确认后再保存。",
            status=409,
            number=order.number,
        )
        self.order = order


def accept_request(
    *,
    actor: Actor,
    intake: Intake,
    idempotency_key: str | None = None,
    confirm_duplicate: bool = False,
    active_unit: Unit | None = None,
) -> tuple[WorkOrder, bool]:
    """受理 by a person on a page (the plain form, the agent workspace): the same rule everywhere —
    an open order of the same type for the same customer (or caller) is refused with
    ``DuplicateOrder`` unless ``confirm_duplicate``; then ``create_work_order``."""
    validate_intake(intake)
    check_intake_role(actor)
    replay = bool(idempotency_key) and WorkOrder.objects.filter(idempotency_key=idempotency_key).exists()
    if not confirm_duplicate and not replay:
        duplicate = find_open_duplicate(
            customer=intake.customer,
            caller_phone="" if intake.customer is not None else intake.caller_phone.strip(),
            order_type=intake.order_type,
            user=actor,
            active_unit=active_unit,
        )
        if duplicate is not None:
            raise DuplicateOrder(duplicate)
    return create_work_order(
        actor=actor, intake=intake, idempotency_key=idempotency_key, active_unit=active_unit
    )


def find_open_duplicate(
    *, customer: Customer | None, caller_phone: str, order_type: str, user: Actor, active_unit: Any = None
) -> WorkOrder | None:
    """重复来电: an open order of the same type for the same customer (or caller) to urge instead,
    among the orders ``user`` may see (a caller's number must not reveal orders elsewhere).

    The customer's (or number's) open orders are few: they are read by their index and the scope
    is checked in Python, as ``scoping.get_for_user`` does, rather than planned with the scope's
    whole list of unit ids (every fault call runs this)."""
    qs = WorkOrder.objects.filter(order_type=order_type, state__in=OPEN_STATES)
    if customer is not None:
        qs = qs.filter(customer=customer)
    elif caller_phone:
        qs = qs.filter(caller_phone=caller_phone)
    else:
        return None
    ordered = qs.order_by("-created_at", "-id")
    return next(
        (o for o in ordered if scoping.in_scope(o, user, queries.ORDER_UNIT_FIELDS, active_unit)), None
    )


# --- perform: one entry point for every action of the table (transitions.py) -----------------


def perform(
    *,
    order: WorkOrder,
    action: str,
    actor: Actor,
    version: int | None = None,
    note: str = "",
    active_unit: Unit | None = None,
    **payload: Any,
) -> WorkOrder:
    """Carry out ``action`` on ``order`` for ``actor``. Raises ApiError (4xx) when it may not happen.

    The lock, the version check, the conditional write and the history row are here; the state,
    who, guards, effects and follow-ups are the action's row in ``transitions.WORK_ORDERS``."""
    transition = WORK_ORDERS.transition(action)
    now = clock.now()
    with transaction.atomic():
        # The order row alone: the few guards that read a related row (提级审核, escalation) load
        # it themselves, and the busiest actions (urging, dispatch) need none.
        current = WorkOrder.objects.select_for_update().get(pk=order.pk)
        if version is not None and version != current.version:
            raise ApiError(
                "version_conflict",
                gettext("工单已被他人更新，请刷新后重试"),
                status=409,
                current_version=current.version,
            )
        step = WORK_ORDERS.run(transition, current, actor, note=note, payload=payload, now=now)
        changes, target = step.changes, step.target
        won = WorkOrder.objects.filter(pk=current.pk, version=current.version).update(
            state=target, version=F("version") + 1, updated_at=now, **changes
        )
        if not won:
            raise ApiError(
                "version_conflict",
                gettext("工单已被他人更新，请刷新后重试"),
                status=409,
            )
        for name, value in changes.items():
            setattr(current, name, value)
        current.state = target
        WorkOrderEvent.objects.create(
            order=current,
            action=transition.history_action,
            at=now,
            actor=actor if getattr(actor, "pk", None) else None,
            actor_unit=acting_unit(actor, active_unit),
            from_state=step.before,
            to_state=target,
            note=note.strip(),
            # The changed fields, and what an effect asked to record besides (a call's outcome).
            data={k: (v.pk if hasattr(v, "pk") else v) for k, v in changes.items()}
            | step.found.get("history", {}),
        )
        WORK_ORDERS.follow_up(step)
    # The row now holds what the conditional UPDATE wrote: the changes set above, the next version.
    current.version += 1
    current.updated_at = now
    return current
