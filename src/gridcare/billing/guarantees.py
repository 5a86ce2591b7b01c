"""保电 (supply guarantees): no disconnection and no prepaid cut for a customer, or for every
customer under a unit, between two instants.

``in_force`` answers which guarantees cover a customer at an instant — the customer's own, or
one for any unit its station lies under (a county's extreme-weather guarantee covers every
station of the county). Both the disconnection rules (``arrears``) and the prepaid cut
(``prepaid``) ask here, so neither imports the other.

The verbs: ``add_guarantee`` (a billing clerk or manager for a customer in scope; a manager for
a whole unit, since a unit-wide 保电 is a management decision) and ``end_guarantee`` (ended early:
its end moves to now, and who ended it, when and why are kept). ``visible_guarantees``
is what a user sees: those of customers and units in scope and those of the units above
(which cover the user's customers too)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from gridcare.core import clock
from gridcare.core.api_errors import ApiError, ErrorCode
from gridcare.customers.models import Customer
from gridcare.org import scoping
from gridcare.org.models import Role, Unit
from gridcare.org.types import Actor, Viewer

from .models import SupplyGuarantee

# Who records a 保电 for a customer; a unit-wide one is a manager's decision.
GUARANTEE_ROLES = (Role.BILLING_CLERK, Role.MANAGER, Role.ADMIN)
UNIT_GUARANTEE_ROLES = (Role.MANAGER, Role.ADMIN)
NOTE_MAX = 200
END_REASON_MAX = 100


def unit_and_above(unit_id: int) -> list[int]:
    """The ids of the unit and every unit above it (its materialized path)."""
    path = Unit.objects.filter(pk=unit_id).values_list("path", flat=True).first() or ""
    ids = [int(part) for part in path.strip("/").split("/") if part]
    return ids or [unit_id]


def in_force(customer: Customer, at: dt.datetime) -> list[SupplyGuarantee]:
    """The guarantees covering ``customer`` at ``at`` (started, not yet ended), the latest start
    first."""
    target = Q(customer_id=customer.pk) | Q(unit_id__in=unit_and_above(customer.station_id))
    return list(
        SupplyGuarantee.objects.filter(target, starts_at__lte=at, ends_at__gt=at)
        .select_related("unit")
        .order_by("-starts_at", "id")
    )


def covering_q(at: dt.datetime, customer_field: str = "customer") -> Q:
    """The condition, on rows with a customer at ``customer_field``, that a guarantee covers that
    customer at ``at`` (for lists: one query for the guarantees in force, then a plain filter)."""
    running = SupplyGuarantee.objects.filter(starts_at__lte=at, ends_at__gt=at)
    customers = [pk for pk in running.values_list("customer_id", flat=True) if pk is not None]
    condition = Q(**{f"{customer_field}_id__in": customers})
    for unit in Unit.objects.filter(pk__in=running.filter(unit__isnull=False).values("unit_id")):
        condition |= Q(**{f"{customer_field}__station__in": unit.subtree()})
    return condition


def visible_guarantees(viewer: Viewer, active_unit: Unit | None = None) -> QuerySet[SupplyGuarantee]:
    """The guarantees a user sees: for customers and units in scope, and for the units above the
    user's own (they cover the user's customers too)."""
    above: set[int] = set()
    for root in scoping.root_units(viewer, active_unit):
        above.update(unit_and_above(root.pk))
    qs = SupplyGuarantee.objects.select_related("unit", "customer", "created_by", "ended_by")
    if getattr(viewer, "is_superuser", False) and active_unit is None:
        return qs
    return qs.filter(
        scoping.scope_q(viewer, ("unit_id", "customer__station_id"), active_unit) | Q(unit_id__in=above)
    )


def _refuse(code: ErrorCode, message: str, status: int = 422) -> ApiError:
    return ApiError(code, message, status=status)


def add_guarantee(
    *,
    actor: Actor,
    reason: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    note: str = "",
    customer: Customer | None = None,
    unit: Unit | None = None,
) -> SupplyGuarantee:
    """保电登记 for one customer or one unit (exactly one); refused with the reason otherwise."""
    if not scoping.has_role(actor, *GUARANTEE_ROLES):
        raise _refuse(ErrorCode.FORBIDDEN_ROLE, _("您的岗位不能登记保电"), 403)
    if (customer is None) == (unit is None):
        raise _refuse(ErrorCode.INVALID_INPUT, _("请选择保电的客户或单位（二选一）"))
    if unit is not None and not scoping.has_role(actor, *UNIT_GUARANTEE_ROLES):
        raise _refuse(ErrorCode.FORBIDDEN_ROLE, _("整个单位的保电须由管理人员登记"), 403)
    not_found = _refuse(ErrorCode.NOT_FOUND, _("您的管辖范围内没有该客户或单位"), 404)
    scoping.require_unit_in_scope(actor, customer.station_id if customer else unit, error=not_found)
    if reason not in SupplyGuarantee.Reason.values:
        raise _refuse(ErrorCode.INVALID_INPUT, _("请选择保电原因"))
    note = " ".join((note or "").split())[:NOTE_MAX]
    if reason == SupplyGuarantee.Reason.OTHER and not note:
        raise _refuse(ErrorCode.INVALID_INPUT, _("原因为“其他”时请填写说明"))
    if ends_at <= starts_at:
        raise _refuse(ErrorCode.INVALID_TIMES, _("保电结束时间须晚于开始时间"))
    if ends_at <= clock.now():
        raise _refuse(ErrorCode.INVALID_TIMES, _("保电结束时间须晚于当前时间"))
    return SupplyGuarantee.objects.create(
        customer=customer,
        unit=unit,
        reason=reason,
        note=note,
        starts_at=starts_at,
        ends_at=ends_at,
        created_by=actor,
    )


def _target_unit_id(guarantee: SupplyGuarantee) -> int:
    """The unit a guarantee belongs to: its own, or its customer's station."""
    if guarantee.unit_id is not None:
        return guarantee.unit_id
    assert guarantee.customer is not None  # the check constraint: a customer or a unit
    return guarantee.customer.station_id


def may_end(actor: Viewer, guarantee: SupplyGuarantee) -> bool:
    """Whether ``actor``'s role and scope let them end ``guarantee`` (a unit-wide one: a manager)."""
    roles = UNIT_GUARANTEE_ROLES if guarantee.unit_id is not None else GUARANTEE_ROLES
    return scoping.has_role(actor, *roles) and scoping.unit_in_scope(actor, _target_unit_id(guarantee))


def end_guarantee(guarantee: SupplyGuarantee, *, actor: Actor, why: str = "") -> SupplyGuarantee:
    """提前结束保电: the end moves to now (a guarantee not yet started ends before it begins);
    who ended it, when and why are kept (``ended_by``, ``ended_early_at``, ``end_reason``; the
    reason is required). Refused for one already over, and for a unit-wide one unless a manager
    ends it."""
    if not scoping.has_role(actor, *GUARANTEE_ROLES):
        raise _refuse(ErrorCode.FORBIDDEN_ROLE, _("您的岗位不能结束保电"), 403)
    if guarantee.unit_id is not None and not scoping.has_role(actor, *UNIT_GUARANTEE_ROLES):
        raise _refuse(ErrorCode.FORBIDDEN_ROLE, _("整个单位的保电须由管理人员结束"), 403)
    not_found = _refuse(ErrorCode.NOT_FOUND, _("您的管辖范围内没有该保电"), 404)
    scoping.require_unit_in_scope(actor, _target_unit_id(guarantee), error=not_found)
    why = " ".join((why or "").split())
    if not why:
        raise _refuse(ErrorCode.REASON_REQUIRED, _("请填写提前结束保电的原因"), 422)
    now = clock.now()
    with transaction.atomic():
        current = SupplyGuarantee.objects.select_for_update().get(pk=guarantee.pk)
        if current.ends_at <= now:
            raise _refuse(ErrorCode.ILLEGAL_TRANSITION, _("该保电已结束"), 409)
        current.ends_at = max(now, current.starts_at)
        current.ended_early_at, current.ended_by, current.end_reason = now, actor, why[:END_REASON_MAX]
        current.save(update_fields=["ends_at", "ended_early_at", "ended_by", "end_reason"])
    return current
