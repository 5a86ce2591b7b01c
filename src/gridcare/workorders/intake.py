"""受理 (intake): the ``Intake`` a channel hands in, its rules (``validate_intake``, who may take
requests) and ``create_work_order``, the one writer of a new order.

Below the workflow's rules, so that a rule may file an order too (a 不满意 callback raising a
complaint, ``rules.raise_complaint_when_dissatisfied``) through the same intake as every door;
``services`` re-exports all of it (callers use ``services.Intake``, ``services.create_work_order``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from gridcare.core import clock, numbering
from gridcare.core.api_errors import ApiError, check_same_request
from gridcare.customers.models import AreaClass, Customer
from gridcare.org import scoping
from gridcare.org.models import Role, Unit
from gridcare.org.types import Actor

from . import deadlines, intake_sql, policies, queries
from .models import (
    NUMBER_PREFIX,
    Channel,
    ComplaintClass,
    OrderType,
    Priority,
    State,
    WorkOrder,
    WorkOrderEvent,
)


@dataclass
class Intake:
    """What the agent (or a channel) hands in; validated by the caller's schema or form."""

    order_type: str
    channel: str
    content: str
    customer: Customer | None = None
    caller_name: str = ""
    caller_phone: str = ""
    address: str = ""
    subtype: str = ""
    complaint_class: str = ""
    handed_in_by_account_manager: bool = False
    # Set by the rule that raises a complaint from a 不满意 callback (never by a form or the API).
    raised_from: WorkOrder | None = None

    @classmethod
    def of(cls, fields: Any, *, customer: Customer | None = None, **overrides: Any) -> Intake:
        """The one way to build an intake from what a channel parsed: a form's cleaned data (a
        mapping) or an API schema (attributes). Fields it lacks take their defaults; ``overrides``
        (the composed content, the call's number…) win over what ``fields`` holds."""
        if isinstance(fields, (dict, Mapping)):
            values = {name: fields.get(name) for name in _INTAKE_FIELDS}
        else:
            values = {name: getattr(fields, name, None) for name in _INTAKE_FIELDS}
        if overrides:
            values.update(overrides)
        return cls(
            order_type=values["order_type"] or "",
            channel=values["channel"] or "",
            content=values["content"] or "",
            customer=customer,
            caller_name=values["caller_name"] or "",
            caller_phone=values["caller_phone"] or "",
            address=values["address"] or "",
            subtype=values["subtype"] or "",
            complaint_class=values["complaint_class"] or "",
            handed_in_by_account_manager=bool(values["handed_in_by_account_manager"]),
        )


_INTAKE_FIELDS = (
    "order_type",
    "channel",
    "content",
    "caller_name",
    "caller_phone",
    "address",
    "subtype",
    "complaint_class",
    "handed_in_by_account_manager",
)


def acting_unit(user: Actor, active_unit: Unit | None = None) -> Unit | None:
    """The unit a person acts for: the one they narrowed to with the unit switcher, else their
    first unit."""
    units = scoping.root_units(user, active_unit)
    return units[0] if units else None


def _priority(intake: Intake, user: Actor) -> int:
    customer = intake.customer
    if (
        customer is not None
        and customer.account_manager_id
        and (intake.handed_in_by_account_manager or customer.account_manager_id == getattr(user, "pk", None))
    ):
        return Priority.ACCOUNT_MANAGER
    if customer is not None and (customer.is_key or customer.is_vip):
        return Priority.GREEN_CHANNEL
    return Priority.NORMAL


_ORDER_TYPES, _CHANNELS = frozenset(OrderType.values), frozenset(Channel.values)
_COMPLAINT_CLASSES = frozenset(ComplaintClass.values)

# Who takes requests (受理): the hotline, the counters, account managers handing in their customers'
# requests, the repair command taking fault calls. Integration accounts (IVR/CTI, app, WeChat) are
# provisioned as accounts holding the 座席员 role at the unit whose requests they take.
INTAKE_ROLES = (
    Role.AGENT,
    Role.SHIFT_LEADER,
    Role.DISPATCHER,
    Role.ACCOUNT_MANAGER,
    Role.BUSINESS_CLERK,
    Role.BILLING_CLERK,
    Role.ADMIN,
)
_INTAKE_ROLE_SET = frozenset(INTAKE_ROLES)


def _complaint_requirements(intake: Intake) -> None:
    if intake.complaint_class not in _COMPLAINT_CLASSES:
        raise ApiError("complaint_class_required", _("请选择投诉分类"), status=422)


# What each order type needs besides the common fields (checked in memory: every intake runs it).
TYPE_REQUIREMENTS: dict[str, Callable[[Intake], None]] = {OrderType.COMPLAINT: _complaint_requirements}


def validate_intake(intake: Intake) -> None:
    if intake.order_type not in _ORDER_TYPES:
        raise ApiError("invalid_order_type", f"Unknown order type {intake.order_type!r}.", status=422)
    if intake.channel not in _CHANNELS:
        raise ApiError("invalid_channel", f"Unknown channel {intake.channel!r}.", status=422)
    if not intake.content.strip():
        raise ApiError("content_required", gettext("诉求内容不能为空"), status=422)
    if intake.customer is None and not (intake.caller_phone.strip() and intake.address.strip()):
        raise ApiError(
            "caller_required",
            gettext("客户不明时须登记来电号码和地址"),
            status=422,
        )
    check = TYPE_REQUIREMENTS.get(intake.order_type)
    if check is not None:
        check(intake)


def check_intake_role(actor: Actor) -> None:
    """受理 is for the roles that take requests (``INTAKE_ROLES``); read from the actor's cached
    assignments, no query on the intake path."""
    if actor is None or getattr(actor, "is_superuser", False):
        return
    roles = scoping.roles_of(actor)
    if roles and not roles & _INTAKE_ROLE_SET:  # no role at all: answered as ``no_unit`` (403)
        raise ApiError("forbidden_role", _("您的岗位不能受理工单"), status=403)


def create_work_order(
    *,
    actor: Actor,
    intake: Intake,
    idempotency_key: str | None = None,
    active_unit: Unit | None = None,
    request_fingerprint: str = "",
) -> tuple[WorkOrder, bool]:
    """受理: create an order; returns (order, created). The same idempotency key returns the first order
    (with what its answer shows: customer, units, assignee, deadlines) — when the request is the
    same (``request_fingerprint``, a hash of its body): with another, 422 ``idempotency_key_reused``.
    The accepting unit (首问负责) is the one the actor acts for (``active_unit`` from the switcher)."""
    validate_intake(intake)
    check_intake_role(actor)
    unit = acting_unit(actor, active_unit)
    if unit is None:
        raise ApiError("no_unit", gettext("受理人没有所属单位"), status=403)
    if intake.customer is not None:
        scoping.require_unit_in_scope(
            actor,
            intake.customer.station_id,
            error=ApiError("not_found", gettext("在您的管辖范围内没有该户号"), status=404),
        )
    now = clock.now()
    customer = intake.customer
    area = customer.transformer_area if customer is not None else None
    order = WorkOrder(
        order_type=intake.order_type,
        subtype=intake.subtype,
        channel=intake.channel,
        priority=_priority(intake, actor),
        customer=customer,
        caller_name=intake.caller_name,
        caller_phone=intake.caller_phone,
        address=intake.address,
        transformer_area=area,
        area_class=area.area_class if area is not None else AreaClass.URBAN,
        customer_class=customer.customer_class if customer is not None else "",
        content=intake.content.strip(),
        complaint_class=intake.complaint_class,
        raised_from=intake.raised_from,
        accepted_by=actor if getattr(actor, "pk", None) else None,
        accepted_unit=unit,
        idempotency_key=idempotency_key or None,
        idempotency_fingerprint=request_fingerprint if idempotency_key else "",
        created_at=now,
        updated_at=now,
    )
    event = WorkOrderEvent(
        order=order,
        action="accept",
        at=now,
        actor=order.accepted_by,
        actor_unit=unit,
        from_state="",
        to_state=State.ACCEPTED,
        note="",
        data={"channel": intake.channel, "priority": order.priority}
        | ({"raised_from": intake.raised_from.number} if intake.raised_from is not None else {}),
    )
    # The number's date is the acceptance time's local date (one reading of the clock, also at midnight).
    prefix, period = NUMBER_PREFIX[intake.order_type], now.astimezone(clock.LOCAL_TZ).strftime("%Y%m%d")
    try:
        if intake_sql.available():
            # PostgreSQL: number, order, history row, deadlines and their checks in one statement.
            started = policies.new_deadlines(order, "accept", now)
            with transaction.atomic() if connection.in_atomic_block else nullcontext():
                prior = intake_sql.insert(
                    order, event, started, intake_sql.checks_for(started), prefix=prefix, period=period
                )
            if prior is not None:  # the key was taken before: that order, and nothing written
                check_same_request(prior[1], request_fingerprint)
                answer = queries.answer(pk=prior[0])
                assert answer is not None  # the order the statement found by its key
                return answer, False
        else:
            with transaction.atomic():
                # The number is taken in the order's own transaction: the counter row stays locked
                # only for the few inserts below; a rolled-back intake frees its number.
                order.number = numbering.next_number(prefix, period)
                order.save(force_insert=True)
                event.save(force_insert=True)
                started = deadlines.start(order, "accept", now)
        # Kept on the order so the answer can show them without reading them back.
        order.started_deadlines = started
    except IntegrityError:
        # A repeated idempotency key is found here, by the unique index, rather than by a query
        # before every insert: the first order is answered and this attempt leaves no trace.
        if idempotency_key:
            existing = queries.answer(idempotency_key=idempotency_key)
            if existing is not None:
                check_same_request(existing.idempotency_fingerprint, request_fingerprint)
                return existing, False
        raise
    return order, True
