"""Verbs of outage information: every state change of an outage is one function here, in one
transaction — guard, change, history row, notices queued in the outbox in the same transaction.

Pages, the API and the repair app call these functions; docs/outages.md documents the stable ones
(``open_fault_outage``, ``update_fault_scope``, ``set_estimated_end``, ``restore``).

``actor`` is the staff user acting, or None for the system (the repair app's automatic fault
roll-up): a user must hold one of ``EDITOR_ROLES`` and see every feeder and area of the scope.

Over 500 lines for now, with reason: planned and fault outages share the guards and the history
row at the top, and ``create_outage`` opens a fault outage too, so fault outages cannot move to
their own module without moving those helpers first — which waits for the history rows' one
shape (issue #16 item 6) and the outage workflow table (item 1) that will replace them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from gridcare.core import clock, numbering
from gridcare.core.api_errors import ApiError, check_same_request
from gridcare.customers.models import Customer
from gridcare.org import scoping
from gridcare.org.models import Role, Unit

from .models import (
    NoticeRule,
    Outage,
    OutageArea,
    OutageCustomer,
    OutageEvent,
    OutageKind,
    OutageState,
)
from .notices import ABOUT_TYPE, Purpose, dedup_key, queue_notices, queue_or_defer
from .scope import (
    check_scope_visible,
    data_scope,
    expand_areas,
    materialize,
    owning_unit,
    resolve_scope,
    set_declared_scope,
)

__all__ = [
    "ABOUT_TYPE",
    "EDITOR_ROLES",
    "Purpose",
    "cancel",
    "create_outage",
    "dedup_key",
    "open_fault_outage",
    "publish",
    "queue_notices",
    "queue_or_defer",
    "record_key_customer_call",
    "restore",
    "set_estimated_end",
    "start",
    "update_fault_scope",
]

EDITOR_ROLES = frozenset({Role.DISPATCHER, Role.SHIFT_LEADER, Role.MANAGER, Role.ADMIN})
NUMBER_PREFIX = "TD"


def _check_actor(actor: Any, *outages: Outage) -> None:
    """The actor holds an editor role and — for each outage acted on — their scope covers all of
    it (seeing one of its areas is enough to look at an outage, not to change it)."""
    if actor is None:
        return
    if not scoping.has_role(actor, *EDITOR_ROLES):
        raise ApiError("forbidden", "您的岗位不能发布或维护停电信息 (editor role required).", status=403)
    for outage in outages:
        check_scope_visible(actor, list(outage.feeders.all()), list(outage.transformer_areas.all()))


# --- History --------------------------------------------------------------------------------


def _event(
    outage: Outage, action: str, actor: Any, before: str, note: str = "", at=None, **data: Any
) -> OutageEvent:
    return OutageEvent.objects.create(
        outage=outage,
        action=action,
        at=at or clock.now(),
        actor=actor if getattr(actor, "is_authenticated", False) else None,
        from_state=before,
        to_state=outage.state,
        note=note[:300],
        data=data,
    )


def _locked(outage: Outage) -> Outage:
    return Outage.objects.select_for_update().get(pk=outage.pk)


def _illegal(outage: Outage, action: str) -> ApiError:
    return ApiError(
        "illegal_transition",
        f"{outage.get_state_display()}的停电信息不能{action}。",
        status=409,
        state=outage.state,
    )


def _new_number() -> str:
    return numbering.next_number(NUMBER_PREFIX, clock.today().strftime("%Y%m%d"), width=4)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=clock.LOCAL_TZ)
    return value


class _AlreadyCreated(Exception):
    def __init__(self, outage: Outage) -> None:
        super().__init__(outage.number)
        self.outage = outage


def _save_new(outage: Outage) -> None:
    """Insert a new outage; a concurrent request with the same idempotency key that committed
    first wins, and this one answers with its outage (raised as ``_AlreadyCreated``)."""
    try:
        with transaction.atomic():
            outage.save(force_insert=True)
    except IntegrityError:
        first = (
            Outage.objects.filter(idempotency_key=outage.idempotency_key).first()
            if outage.idempotency_key
            else None
        )
        if first is None:
            raise
        raise _AlreadyCreated(first) from None


# --- Planned and temporary outages --------------------------------------------------------


def create_outage(
    *,
    kind: str,
    reason: str,
    actor: Any,
    planned_start: dt.datetime | None = None,
    planned_end: dt.datetime | None = None,
    feeders: Iterable[Any] = (),
    transformer_areas: Iterable[Any] = (),
    area_text: str = "",
    unit: Unit | None = None,
    estimated_end: dt.datetime | None = None,
    idempotency_key: str | None = None,
    request_fingerprint: str = "",
) -> tuple[Outage, bool]:
    """Create a planned or temporary outage as a draft (a fault outage opens at once: see
    :func:`open_fault_outage`). Returns ``(outage, created)``; the same ``idempotency_key``
    returns the first outage (with another request body, ``request_fingerprint``: 422
    ``idempotency_key_reused``)."""
    if idempotency_key:
        first = Outage.objects.filter(idempotency_key=idempotency_key).first()
        if first is not None:
            check_same_request(first.idempotency_fingerprint, request_fingerprint)
            return first, False
    if kind == OutageKind.FAULT:
        outage = open_fault_outage(
            transformer_areas=transformer_areas,
            feeders=feeders,
            reason=reason,
            started_at=planned_start or clock.now(),
            actor=actor,
            estimated_end=estimated_end or planned_end,
            area_text=area_text,
            unit=unit,
            idempotency_key=idempotency_key,
            request_fingerprint=request_fingerprint,
        )
        return outage, True
    if kind not in OutageKind.values:
        raise ApiError("invalid_kind", f"未知的停电类型 {kind!r}。", status=422)
    _check_actor(actor)
    reason = (reason or "").strip()
    if not reason:
        raise ApiError("reason_required", "请填写停电原因。", status=422)
    planned_start, planned_end = _aware(planned_start), _aware(planned_end)
    if planned_start is None or planned_end is None:
        raise ApiError("times_required", "计划停电须填写计划停电时间和计划送电时间。", status=422)
    if planned_end <= planned_start:
        raise ApiError("invalid_times", "计划送电时间须晚于计划停电时间。", status=422)
    feeder_objs, area_objs = resolve_scope(feeders=feeders, transformer_areas=transformer_areas)
    areas = expand_areas(feeder_objs, area_objs)
    if not areas:
        raise ApiError("scope_required", "请选择停电范围（线路或台区）。", status=422)
    check_scope_visible(actor, feeder_objs, area_objs)
    unit = unit or owning_unit(areas)
    try:
        outage = _create_draft(
            kind,
            reason,
            area_text,
            unit,
            planned_start,
            planned_end,
            actor,
            idempotency_key,
            feeder_objs,
            area_objs,
            areas,
            fingerprint=request_fingerprint if idempotency_key else "",
        )
    except _AlreadyCreated as duplicate:
        check_same_request(duplicate.outage.idempotency_fingerprint, request_fingerprint)
        return duplicate.outage, False
    return outage, True


def _create_draft(
    kind,
    reason,
    area_text,
    unit,
    planned_start,
    planned_end,
    actor,
    idempotency_key,
    feeder_objs,
    area_objs,
    areas,
    fingerprint="",
) -> Outage:
    with transaction.atomic():
        outage = Outage(
            number=_new_number(),
            kind=kind,
            reason=reason[:200],
            area_text=(area_text or "").strip()[:300],
            unit=unit,
            planned_start=planned_start,
            planned_end=planned_end,
            created_by=actor if getattr(actor, "is_authenticated", False) else None,
            created_at=clock.now(),
            idempotency_key=idempotency_key or None,
            idempotency_fingerprint=fingerprint,
        )
        outage.refresh_window()
        _save_new(outage)
        set_declared_scope(outage, feeder_objs, area_objs)
        materialize(outage, areas)
        outage.save(update_fields=["customer_count", "key_customer_count"])
        _event(outage, "create", actor, "", data_scope(feeder_objs, area_objs))
    return outage


def notice_rule(kind: str) -> NoticeRule | None:
    return NoticeRule.objects.filter(kind=kind).first()


def notice_check(outage: Outage, at: dt.datetime | None = None) -> tuple[Decimal, int]:
    """(hours of notice the customers get if published at ``at``, hours the rule requires)."""
    at = at or clock.now()
    rule = notice_rule(outage.kind)
    required = rule.min_notice_hours if rule else 0
    if outage.planned_start is None:
        return Decimal(0), required
    hours = Decimal((outage.planned_start - at).total_seconds() / 3600).quantize(Decimal("0.1"))
    return hours, required


def publish(*, outage: Outage, actor: Any, override_reason: str = "") -> Outage:
    """Publish a draft and queue a notice to every affected customer (key customers first).

    Less notice than the rule requires (planned 7 days, temporary 24 h) is refused with
    ``notice_too_short`` (422) unless ``override_reason`` says why; the override is recorded (who,
    why, when) on the outage and in its history. Publishing again is a no-op:
    nothing is queued twice."""
    _check_actor(actor, outage)
    with transaction.atomic():
        outage = _locked(outage)
        if outage.state in (OutageState.PUBLISHED, OutageState.IN_PROGRESS, OutageState.RESTORED):
            return outage
        if outage.state != OutageState.DRAFT:
            raise _illegal(outage, "发布")
        if not OutageArea.objects.filter(outage=outage).exists():
            raise ApiError("scope_required", "请选择停电范围（线路或台区）。", status=422)
        now = clock.now()
        hours, required = notice_check(outage, now)
        override_reason = (override_reason or "").strip()
        short = required and hours < required
        if short and not override_reason:
            raise ApiError(
                "notice_too_short",
                f"{outage.get_kind_display()}须提前{_hours_text(required)}发布，"
                f"当前距停电仅{_hours_text(hours)}；如确需发布，请填写不足时限发布的理由。",
                status=422,
                required_hours=required,
                notice_hours=float(hours),
            )
        before = outage.state
        outage.state = OutageState.PUBLISHED
        outage.published_at = now
        outage.published_by = actor if getattr(actor, "is_authenticated", False) else None
        outage.notice_hours = hours
        outage.required_notice_hours = required
        if short:
            outage.override_reason = override_reason[:300]
            outage.override_by = outage.published_by
            outage.override_at = now
        outage.save()
        queued = queue_or_defer(outage, Purpose.NOTICE)
        _event(
            outage,
            "publish",
            actor,
            before,
            override_reason if short else "",
            notice_hours=float(hours),
            required_hours=required,
            override=bool(short),
            queued=queued,
        )
    return outage


def _hours_text(hours) -> str:
    hours = Decimal(hours)
    if hours >= 48 and hours % 24 == 0:
        return f"{int(hours // 24)}天"
    return f"{hours.normalize():f}小时"


def start(*, outage: Outage, actor: Any, at: dt.datetime | None = None, note: str = "") -> Outage:
    """The power is cut (实际停电): a published outage becomes in progress."""
    _check_actor(actor, outage)
    with transaction.atomic():
        outage = _locked(outage)
        if outage.state == OutageState.IN_PROGRESS:
            return outage
        if outage.state != OutageState.PUBLISHED:
            raise _illegal(outage, "开始停电")
        before = outage.state
        outage.state = OutageState.IN_PROGRESS
        outage.actual_start = _aware(at) or clock.now()
        outage.refresh_window()
        outage.save()
        _event(outage, "start", actor, before, note, at=outage.actual_start)
    return outage


def cancel(*, outage: Outage, actor: Any, reason: str) -> Outage:
    """Cancel a draft or published outage; customers already told get a cancellation notice."""
    _check_actor(actor, outage)
    reason = (reason or "").strip()
    if not reason:
        raise ApiError("reason_required", "请填写取消原因。", status=422)
    with transaction.atomic():
        outage = _locked(outage)
        if outage.state == OutageState.CANCELLED:
            return outage
        if outage.state not in (OutageState.DRAFT, OutageState.PUBLISHED):
            raise _illegal(outage, "取消")
        before = outage.state
        outage.state = OutageState.CANCELLED
        outage.cancel_reason = reason[:300]
        outage.save()
        queued = queue_or_defer(outage, Purpose.CANCELLED) if before == OutageState.PUBLISHED else 0
        _event(outage, "cancel", actor, before, reason, queued=queued)
    return outage


# --- Fault outages (called by the repair app) -----------------------------------------------


def open_fault_outage(
    *,
    transformer_areas: Iterable[Any] = (),
    feeders: Iterable[Any] = (),
    reason: str,
    started_at: dt.datetime,
    actor: Any,
    estimated_end: dt.datetime | None = None,
    area_text: str = "",
    unit: Unit | None = None,
    idempotency_key: str | None = None,
    request_fingerprint: str = "",
) -> Outage:
    """A fault outage (故障停电): in progress from ``started_at``, no notice rule. Its affected
    customers are materialized and each is sent a fault notice (key customers first); key
    customers are listed for the phone checklist (:func:`record_key_customer_call`)."""
    _check_actor(actor)
    reason = (reason or "").strip() or "线路故障"
    feeder_objs, area_objs = resolve_scope(feeders=feeders, transformer_areas=transformer_areas)
    areas = expand_areas(feeder_objs, area_objs)
    if not areas:
        raise ApiError("scope_required", "请选择停电范围（线路或台区）。", status=422)
    check_scope_visible(actor, feeder_objs, area_objs)
    started_at = _aware(started_at) or clock.now()
    estimated_end = _aware(estimated_end)
    if estimated_end is not None and estimated_end <= started_at:
        raise ApiError("invalid_times", "预计恢复时间须晚于停电时间。", status=422)
    if idempotency_key:
        first = Outage.objects.filter(idempotency_key=idempotency_key).first()
        if first is not None:
            check_same_request(first.idempotency_fingerprint, request_fingerprint)
            return first
    try:
        return _open_fault(
            reason,
            area_text,
            unit,
            areas,
            started_at,
            estimated_end,
            actor,
            idempotency_key,
            feeder_objs,
            area_objs,
            fingerprint=request_fingerprint if idempotency_key else "",
        )
    except _AlreadyCreated as duplicate:
        check_same_request(duplicate.outage.idempotency_fingerprint, request_fingerprint)
        return duplicate.outage


def _open_fault(
    reason,
    area_text,
    unit,
    areas,
    started_at,
    estimated_end,
    actor,
    idempotency_key,
    feeder_objs,
    area_objs,
    fingerprint="",
) -> Outage:
    with transaction.atomic():
        now = clock.now()
        user = actor if getattr(actor, "is_authenticated", False) else None
        rule = notice_rule(OutageKind.FAULT)
        outage = Outage(
            number=_new_number(),
            kind=OutageKind.FAULT,
            state=OutageState.IN_PROGRESS,
            reason=reason[:200],
            area_text=(area_text or "").strip()[:300],
            unit=unit or owning_unit(areas),
            actual_start=started_at,
            estimated_end=estimated_end,
            created_by=user,
            created_at=now,
            published_at=now,
            published_by=user,
            required_notice_hours=rule.min_notice_hours if rule else 0,
            idempotency_key=idempotency_key or None,
            idempotency_fingerprint=fingerprint,
        )
        outage.refresh_window()
        _save_new(outage)
        set_declared_scope(outage, feeder_objs, area_objs)
        materialize(outage, areas)
        outage.save(update_fields=["customer_count", "key_customer_count"])
        queued = queue_or_defer(outage, Purpose.NOTICE)
        _event(outage, "open_fault", actor, "", data_scope(feeder_objs, area_objs), at=now, queued=queued)
    return outage


def update_fault_scope(
    *,
    outage: Outage,
    actor: Any,
    transformer_areas: Iterable[Any] = (),
    feeders: Iterable[Any] = (),
    reason: str | None = None,
    estimated_end: dt.datetime | None = None,
    note: str = "",
) -> Outage:
    """Replace the scope of an open fault outage (the suspect device was re-assigned, the event
    grew to the whole feeder …). Customers that left the scope are dropped; customers that joined
    are sent the fault notice; nobody is notified twice."""
    _check_actor(actor, outage)
    feeder_objs, area_objs = resolve_scope(feeders=feeders, transformer_areas=transformer_areas)
    areas = expand_areas(feeder_objs, area_objs)
    if not areas:
        raise ApiError("scope_required", "请选择停电范围（线路或台区）。", status=422)
    check_scope_visible(actor, feeder_objs, area_objs)
    with transaction.atomic():
        outage = _locked(outage)
        if outage.kind != OutageKind.FAULT or outage.state != OutageState.IN_PROGRESS:
            raise _illegal(outage, "调整故障范围")
        if reason is not None and reason.strip():
            outage.reason = reason.strip()[:200]
        if estimated_end is not None:
            outage.estimated_end = _aware(estimated_end)
        set_declared_scope(outage, feeder_objs, area_objs)
        change = materialize(outage, areas)
        outage.refresh_window()
        outage.save()
        queued = queue_or_defer(outage, Purpose.NOTICE)
        _event(
            outage,
            "update_scope",
            actor,
            outage.state,
            note or data_scope(feeder_objs, area_objs),
            queued=queued,
            customers=outage.customer_count,
            **change,
        )
    return outage


def merge_fault_outage(*, source: Outage, into: Outage, actor: Any, note: str = "") -> Outage:
    """Two open fault outages turn out to be one (their repair events were merged): ``into`` takes
    over the scope and the customers of ``source``; whoever was already told of either is not told
    again, now or at the restoration; ``source`` leaves the lookups as 已并入. Returns ``into``."""
    _check_actor(actor, source, into)
    if source.pk == into.pk:
        raise ApiError("invalid_merge", "不能并入自身。", status=422)
    with transaction.atomic():
        # Both rows locked, in id order, so two merges cannot wait on each other.
        locked = {
            o.pk: o
            for o in Outage.objects.select_for_update().filter(pk__in=[source.pk, into.pk]).order_by("pk")
        }
        source, into = locked[source.pk], locked[into.pk]
        for outage in (source, into):
            if outage.kind != OutageKind.FAULT or outage.state != OutageState.IN_PROGRESS:
                raise _illegal(outage, "合并")
        feeders = sorted({*into.feeders.all(), *source.feeders.all()}, key=lambda f: f.pk)
        areas = sorted({*into.transformer_areas.all(), *source.transformer_areas.all()}, key=lambda a: a.pk)
        set_declared_scope(into, feeders, areas)
        change = materialize(into, expand_areas(feeders, areas))
        _carry_notice_marks(source, into)
        if source.actual_start and (into.actual_start is None or source.actual_start < into.actual_start):
            into.actual_start = source.actual_start
        into.refresh_window()
        into.save()
        queued = queue_or_defer(into, Purpose.NOTICE)
        before = source.state
        source.state = OutageState.MERGED
        source.merged_into = into
        source.save(update_fields=["state", "merged_into"])
        _event(source, "merged", actor, before, note, into=into.number)
        _event(
            into,
            "merge_in",
            actor,
            into.state,
            note,
            source=source.number,
            queued=queued,
            customers=into.customer_count,
            **change,
        )
    return into


def _carry_notice_marks(source: Outage, into: Outage) -> None:
    """What ``source`` already did for a customer counts for ``into``: notice queued, phone call."""
    same = OutageCustomer.objects.filter(outage=source, customer_id=OuterRef("customer_id"))
    rows = OutageCustomer.objects.filter(outage=into)
    rows.filter(notice_queued_at__isnull=True).update(
        notice_queued_at=Subquery(same.values("notice_queued_at")[:1])
    )
    rows.filter(phoned_at__isnull=True).update(
        phoned_at=Subquery(same.values("phoned_at")[:1]),
        phoned_by=Subquery(same.values("phoned_by")[:1]),
        phone_note=Coalesce(Subquery(same.values("phone_note")[:1]), Value("")),
    )


def set_estimated_end(*, outage: Outage, estimated_end: dt.datetime, actor: Any, note: str = "") -> Outage:
    """A new estimate of the restoration time (the lookup answers "until when" with it)."""
    _check_actor(actor, outage)
    with transaction.atomic():
        outage = _locked(outage)
        if outage.state not in (OutageState.PUBLISHED, OutageState.IN_PROGRESS):
            raise _illegal(outage, "更新预计恢复时间")
        estimated_end = _aware(estimated_end)
        if outage.starts_at and estimated_end <= outage.starts_at:
            raise ApiError("invalid_times", "预计恢复时间须晚于停电时间。", status=422)
        outage.estimated_end = estimated_end
        outage.refresh_window()
        outage.save()
        _event(
            outage,
            "estimate",
            actor,
            outage.state,
            note,
            estimated_end=clock.local(estimated_end).isoformat(),
        )
    return outage


def restore(*, outage: Outage, at: dt.datetime | None = None, actor: Any, note: str = "") -> Outage:
    """Power is back (恢复送电): the outage is restored at ``at`` and every affected customer is
    sent a restoration notice, key customers first. Restoring again is a no-op."""
    _check_actor(actor, outage)
    with transaction.atomic():
        outage = _locked(outage)
        if outage.state == OutageState.RESTORED:
            return outage
        at = _aware(at) or clock.now()
        if outage.state == OutageState.PUBLISHED and outage.planned_start and outage.planned_start <= at:
            outage.actual_start = outage.planned_start  # nobody pressed "start": it began as planned
        elif outage.state != OutageState.IN_PROGRESS:
            raise _illegal(outage, "恢复送电")
        if outage.actual_start and at < outage.actual_start:
            raise ApiError("invalid_times", "送电时间不能早于停电时间。", status=422)
        before = outage.state
        outage.state = OutageState.RESTORED
        outage.actual_end = at
        outage.restore_note = (note or "")[:300]
        outage.refresh_window()
        outage.save()
        queued = queue_or_defer(outage, Purpose.RESTORED)
        _event(outage, "restore", actor, before, note, at=at, queued=queued)
    return outage


def record_key_customer_call(
    *, outage: Outage, customer: Customer, actor: Any, note: str = "", at: dt.datetime | None = None
) -> OutageCustomer:
    """Tick the phone checklist: a key customer of the outage was told by phone (电话告知)."""
    _check_actor(actor)
    with transaction.atomic():
        outage = _locked(outage)
        if outage.state in (OutageState.CANCELLED, OutageState.MERGED):
            # A merged outage's customers and marks live on the one it joined: a mark here would
            # never reach that checklist, and the customer would be phoned twice.
            raise _illegal(outage, "再登记电话告知")
        row = (
            OutageCustomer.objects.select_for_update()
            .filter(outage=outage, customer=customer, is_key=True)
            .first()
        )
        if row is None:
            raise ApiError("not_a_key_customer", "该客户不是本次停电影响的重要客户。", status=422)
        check_scope_visible(actor, [], [row.transformer_area])  # the customer is in the caller's scope
        row.phoned_at = _aware(at) or clock.now()
        row.phoned_by = actor if getattr(actor, "is_authenticated", False) else None
        row.phone_note = (note or "")[:200]
        row.save(update_fields=["phoned_at", "phoned_by", "phone_note"])
        _event(outage, "key_customer_called", actor, outage.state, note, account_no=customer.account_no)
    return row
