"""Verbs of outage information: every state change of an outage is one function here, in one
transaction — guard, change, history row, notices queued in the outbox in the same transaction.

Pages, the API and the repair app call these functions; docs/outages.md documents the stable ones
(``open_fault_outage``, ``update_fault_scope``, ``set_estimated_end``, ``restore``).

``actor`` is the staff user acting, or None for the system (the repair app's automatic fault
roll-up): a user must hold one of ``EDITOR_ROLES`` and see every feeder and area of the scope.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Q

from gridcare.core import clock, numbering
from gridcare.core.api_errors import ApiError
from gridcare.customers.models import Customer, CustomerPhone, Feeder, TransformerArea
from gridcare.notify.models import Channel, Priority
from gridcare.notify.services import Outgoing, enqueue_many
from gridcare.org import scoping
from gridcare.org.models import Role, Unit

from . import wording
from .models import (
    NoticeRule,
    Outage,
    OutageArea,
    OutageCustomer,
    OutageEvent,
    OutageKind,
    OutageState,
)

EDITOR_ROLES = frozenset({Role.DISPATCHER, Role.SHIFT_LEADER, Role.MANAGER, Role.ADMIN})
ABOUT_TYPE = "outages.outage"
NUMBER_PREFIX = "TD"


class Purpose:
    """What an outage message says; part of its dedup key, so each is queued once per customer."""

    NOTICE = "notice"
    RESTORED = "restored"
    CANCELLED = "cancelled"

    LABELS = {NOTICE: "停电通知", RESTORED: "恢复送电通知", CANCELLED: "停电取消通知"}
    QUEUED_FIELD = {NOTICE: "notice_queued_at", RESTORED: "restore_queued_at", CANCELLED: "cancel_queued_at"}


def dedup_key(outage: Outage, purpose: str, kind: str, ident: Any) -> str:
    return f"outage:{outage.number}:{purpose}:{kind}:{ident}"


# --- Scope ----------------------------------------------------------------------------------


def resolve_scope(
    *, feeders: Iterable[Any] = (), transformer_areas: Iterable[Any] = ()
) -> tuple[list[Feeder], list[TransformerArea]]:
    """Feeders and transformer areas given as objects, ids or codes → objects.
    An unknown code answers ``unknown_feeder`` / ``unknown_area`` (422)."""
    return (
        _resolve(Feeder, feeders, "unknown_feeder", "线路"),
        _resolve(TransformerArea, transformer_areas, "unknown_area", "台区"),
    )


def _resolve(model, items: Iterable[Any], code: str, label: str) -> list:
    objects, ids, codes = [], set(), set()
    for item in items:
        if isinstance(item, model):
            objects.append(item)
        elif isinstance(item, int):
            ids.add(item)
        elif str(item).strip():
            codes.add(str(item).strip())
    found = list(model.objects.filter(Q(pk__in=ids) | Q(code__in=codes)))
    missing = (ids - {o.pk for o in found}) | (codes - {o.code for o in found})
    if missing:
        names = "、".join(sorted(str(m) for m in missing))
        raise ApiError(code, f"{label}不存在：{names}", status=422, missing=sorted(str(m) for m in missing))
    by_pk = {o.pk: o for o in [*objects, *found]}
    return sorted(by_pk.values(), key=lambda o: o.code)


def expand_areas(feeders: list[Feeder], areas: list[TransformerArea]) -> list[TransformerArea]:
    """A feeder in scope means every transformer area it supplies."""
    by_pk = {a.pk: a for a in areas}
    if feeders:
        for area in TransformerArea.objects.filter(feeder__in=feeders):
            by_pk.setdefault(area.pk, area)
    return sorted(by_pk.values(), key=lambda a: a.code)


def _check_actor(actor: Any) -> None:
    if actor is None:
        return
    if not scoping.has_role(actor, *EDITOR_ROLES):
        raise ApiError("forbidden", "您的岗位不能发布或维护停电信息 (editor role required).", status=403)


def _check_scope_visible(actor: Any, feeders: list[Feeder], areas: list[TransformerArea]) -> None:
    if actor is None or getattr(actor, "is_superuser", False):
        return
    visible = set(scoping.visible_unit_ids(actor))
    outside = [f.code for f in feeders if f.unit_id not in visible] + [
        a.code for a in areas if a.station_id not in visible
    ]
    if outside:
        raise ApiError(
            "scope_not_allowed",
            f"停电范围超出您的管辖范围：{'、'.join(outside)}",
            status=403,
            outside=outside,
        )


def owning_unit(areas: list[TransformerArea]) -> Unit | None:
    """The lowest unit whose subtree holds every affected station (the station itself when only
    one is affected)."""
    station_ids = {a.station_id for a in areas}
    if not station_ids:
        return None
    paths = list(Unit.objects.filter(pk__in=station_ids).values_list("path", flat=True))
    common = paths[0].strip("/").split("/")
    for path in paths[1:]:
        parts = path.strip("/").split("/")
        n = 0
        while n < min(len(common), len(parts)) and common[n] == parts[n]:
            n += 1
        common = common[:n]
    return Unit.objects.get(pk=int(common[-1])) if common else None


def _materialize(outage: Outage, areas: list[TransformerArea]) -> dict[str, int]:
    """Make the outage's affected areas and customers match ``areas``: rows of areas that left the
    scope are deleted, customers of new areas inserted with one INSERT … SELECT per chunk."""
    existing = set(OutageArea.objects.filter(outage=outage).values_list("transformer_area_id", flat=True))
    wanted = {a.pk: a for a in areas}
    removed = existing - wanted.keys()
    added = [a for pk, a in wanted.items() if pk not in existing]
    if removed:
        OutageCustomer.objects.filter(outage=outage, transformer_area_id__in=removed).delete()
        OutageArea.objects.filter(outage=outage, transformer_area_id__in=removed).delete()
    if added:
        OutageArea.objects.bulk_create(
            [
                OutageArea(outage=outage, transformer_area=a, feeder_id=a.feeder_id, station_id=a.station_id)
                for a in added
            ]
        )
        _insert_customers(outage, [a.pk for a in added])
    counts = dict(
        OutageCustomer.objects.filter(outage=outage)
        .values("transformer_area_id")
        .annotate(n=Count("id"))
        .values_list("transformer_area_id", "n")
    )
    rows = list(OutageArea.objects.filter(outage=outage))
    for row in rows:
        row.customer_count = counts.get(row.transformer_area_id, 0)
    OutageArea.objects.bulk_update(rows, ["customer_count"], batch_size=500)
    outage.customer_count = sum(counts.values())
    outage.key_customer_count = OutageCustomer.objects.filter(outage=outage, is_key=True).count()
    return {"areas_added": len(added), "areas_removed": len(removed)}


def _insert_customers(outage: Outage, area_ids: list[int]) -> None:
    qn = connection.ops.quote_name
    target = qn(OutageCustomer._meta.db_table)
    source = qn(Customer._meta.db_table)
    with connection.cursor() as cursor:
        for start in range(0, len(area_ids), 500):
            chunk = area_ids[start : start + 500]
            marks = ", ".join(["%s"] * len(chunk))
            # Table names come from the models' metadata, values are parameters.
            cursor.execute(
                f"INSERT INTO {target} (outage_id, customer_id, transformer_area_id, is_key, phone_note) "  # noqa: S608
                f"SELECT %s, id, transformer_area_id, is_key, '' FROM {source} "
                f"WHERE transformer_area_id IN ({marks}) AND status <> %s",
                [outage.pk, *chunk, Customer.Status.CLOSED],
            )


def _set_declared_scope(outage: Outage, feeders: list[Feeder], areas: list[TransformerArea]) -> None:
    outage.feeders.set(feeders)
    outage.transformer_areas.set(areas)


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
) -> tuple[Outage, bool]:
    """Create a planned or temporary outage as a draft (a fault outage opens at once: see
    :func:`open_fault_outage`). Returns ``(outage, created)``; the same ``idempotency_key``
    returns the first outage."""
    if idempotency_key:
        first = Outage.objects.filter(idempotency_key=idempotency_key).first()
        if first is not None:
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
    _check_scope_visible(actor, feeder_objs, area_objs)
    unit = unit or owning_unit(areas)
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
        )
        outage.refresh_window()
        outage.save()
        _set_declared_scope(outage, feeder_objs, area_objs)
        _materialize(outage, areas)
        outage.save(update_fields=["customer_count", "key_customer_count"])
        _event(outage, "create", actor, "", data_scope(feeder_objs, area_objs))
    return outage, True


def data_scope(feeders: list[Feeder], areas: list[TransformerArea]) -> str:
    parts = []
    if feeders:
        parts.append("线路 " + "、".join(f.code for f in feeders))
    if areas:
        parts.append("台区 " + "、".join(a.code for a in areas[:20]) + ("…" if len(areas) > 20 else ""))
    return "；".join(parts)


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
    _check_actor(actor)
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
    _check_actor(actor)
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
    _check_actor(actor)
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
    _check_scope_visible(actor, feeder_objs, area_objs)
    started_at = _aware(started_at) or clock.now()
    estimated_end = _aware(estimated_end)
    if estimated_end is not None and estimated_end <= started_at:
        raise ApiError("invalid_times", "预计恢复时间须晚于停电时间。", status=422)
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
        )
        outage.refresh_window()
        outage.save()
        _set_declared_scope(outage, feeder_objs, area_objs)
        _materialize(outage, areas)
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
    _check_actor(actor)
    feeder_objs, area_objs = resolve_scope(feeders=feeders, transformer_areas=transformer_areas)
    areas = expand_areas(feeder_objs, area_objs)
    if not areas:
        raise ApiError("scope_required", "请选择停电范围（线路或台区）。", status=422)
    _check_scope_visible(actor, feeder_objs, area_objs)
    with transaction.atomic():
        outage = _locked(outage)
        if outage.kind != OutageKind.FAULT or outage.state != OutageState.IN_PROGRESS:
            raise _illegal(outage, "调整故障范围")
        if reason is not None and reason.strip():
            outage.reason = reason.strip()[:200]
        if estimated_end is not None:
            outage.estimated_end = _aware(estimated_end)
        _set_declared_scope(outage, feeder_objs, area_objs)
        change = _materialize(outage, areas)
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


def set_estimated_end(*, outage: Outage, estimated_end: dt.datetime, actor: Any, note: str = "") -> Outage:
    """A new estimate of the restoration time (the lookup answers "until when" with it)."""
    _check_actor(actor)
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
        _event(outage, "estimate", actor, outage.state, note, estimated_end=estimated_end.isoformat())
    return outage


def restore(*, outage: Outage, at: dt.datetime | None = None, actor: Any, note: str = "") -> Outage:
    """Power is back (恢复送电): the outage is restored at ``at`` and every affected customer is
    sent a restoration notice, key customers first. Restoring again is a no-op."""
    _check_actor(actor)
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
        row = (
            OutageCustomer.objects.select_for_update()
            .filter(outage=outage, customer=customer, is_key=True)
            .first()
        )
        if row is None:
            raise ApiError("not_a_key_customer", "该客户不是本次停电影响的重要客户。", status=422)
        row.phoned_at = _aware(at) or clock.now()
        row.phoned_by = actor if getattr(actor, "is_authenticated", False) else None
        row.phone_note = (note or "")[:200]
        row.save(update_fields=["phoned_at", "phoned_by", "phone_note"])
        _event(outage, "key_customer_called", actor, outage.state, note, account_no=customer.account_no)
    return row


# --- Notices --------------------------------------------------------------------------------


DEFAULT_INLINE_NOTICES = 5000


def inline_limit() -> int:
    """Outages with more affected customers than this queue their ordinary customers' notices in
    the background task (``GRIDCARE_OUTAGE_INLINE_NOTICES`` in settings, default 5,000)."""
    return int(getattr(settings, "GRIDCARE_OUTAGE_INLINE_NOTICES", DEFAULT_INLINE_NOTICES))


def purpose_still_due(outage: Outage, purpose: str) -> bool:
    """A deferred notice is not sent once it no longer applies (a notice after the restoration)."""
    if purpose == Purpose.NOTICE:
        return outage.state in (OutageState.PUBLISHED, OutageState.IN_PROGRESS)
    if purpose == Purpose.RESTORED:
        return outage.state == OutageState.RESTORED
    return outage.state == OutageState.CANCELLED


def queue_or_defer(outage: Outage, purpose: str) -> int:
    """Queue ``purpose`` now for a small outage; for a big one queue the key customers now (they
    come first) and everyone else in ``tasks.queue_outage_notices`` after this transaction
    commits, so publishing or restoring 100,000 customers does not hold the request."""
    if outage.customer_count <= inline_limit():
        return queue_notices(outage, purpose)
    queued = queue_notices(outage, purpose, key_only=True)
    from . import tasks

    outage_id = outage.pk
    transaction.on_commit(lambda: tasks.queue_outage_notices.enqueue(outage_id, purpose), robust=True)
    return queued


def queue_notices(outage: Outage, purpose: str, *, key_only: bool = False) -> int:
    """Queue ``purpose`` (notice / restored / cancelled) by SMS to the primary mobile of every
    affected customer not yet sent it, key customers first, plus an e-mail to the account manager
    of each affected key customer. Idempotent: dedup keys and the per-customer ``*_queued_at``
    mark make a second call queue nothing. Returns how many messages were written."""
    field = Purpose.QUEUED_FIELD[purpose]
    company = wording.company_of(outage.unit)
    body = {
        Purpose.NOTICE: wording.customer_notice,
        Purpose.RESTORED: wording.restoration_notice,
        Purpose.CANCELLED: wording.cancellation_notice,
    }[purpose](outage, company)
    label = Purpose.LABELS[purpose]
    waiting = OutageCustomer.objects.filter(outage=outage, **{f"{field}__isnull": True})
    if key_only:
        waiting = waiting.filter(is_key=True)
    if purpose == Purpose.CANCELLED:
        waiting = waiting.filter(notice_queued_at__isnull=False)  # only those who were told
    key_ids = set(waiting.filter(is_key=True).values_list("customer_id", flat=True))
    mobiles = _primary_mobiles(waiting)
    ordinary = (
        Priority.BULK if outage.kind != OutageKind.FAULT and purpose == Purpose.NOTICE else Priority.NORMAL
    )
    about = (ABOUT_TYPE, outage.number)

    def messages() -> Iterator[Outgoing]:
        for customer_id in sorted(mobiles, key=lambda pk: (pk not in key_ids, pk)):
            number, name = mobiles[customer_id]
            yield Outgoing(
                channel=Channel.SMS,
                to=number,
                to_name=name,
                subject=label,
                body=body,
                priority=Priority.KEY_CUSTOMER if customer_id in key_ids else ordinary,
                dedup_key=dedup_key(outage, purpose, "sms", customer_id),
                recipient=("customers.customer", str(customer_id)),
                about=about,
            )

    queued = enqueue_many(messages())
    if mobiles:
        waiting.filter(customer_id__in=_mobile_owner_ids()).update(**{field: clock.now()})
    queued += _queue_manager_emails(outage, purpose, key_ids, label)
    return queued


def _mobile_owner_ids():
    return CustomerPhone.objects.filter(kind=CustomerPhone.Kind.MOBILE).values("customer_id")


def _primary_mobiles(rows) -> dict[int, tuple[str, str]]:
    """customer id → (primary mobile, customer name) for the customers of ``rows``."""
    found: dict[int, tuple[str, str]] = {}
    phones = (
        CustomerPhone.objects.filter(
            kind=CustomerPhone.Kind.MOBILE, customer_id__in=rows.values("customer_id")
        )
        .order_by("customer_id", "-is_primary", "id")
        .values_list("customer_id", "number", "customer__name")
    )
    for customer_id, number, name in phones.iterator(chunk_size=5000):
        if customer_id not in found and number.strip():
            found[customer_id] = (number.strip(), name)
    return found


def _queue_manager_emails(outage: Outage, purpose: str, key_ids: set[int], label: str) -> int:
    """The account manager (客户经理) of each affected key customer hears by e-mail, once per
    outage and purpose, with the list of their customers affected."""
    if not key_ids:
        return 0
    customers = (
        Customer.objects.filter(pk__in=key_ids, account_manager__isnull=False)
        .exclude(account_manager__email="")
        .select_related("account_manager")
        .order_by("account_no")
    )
    by_manager: dict[int, list[Customer]] = {}
    for customer in customers:
        by_manager.setdefault(customer.account_manager_id, []).append(customer)
    items = []
    for manager_id, theirs in by_manager.items():
        manager = theirs[0].account_manager
        listing = "\n".join(f"  {c.account_no} {c.name}" for c in theirs)
        body = (
            f"{manager.display_name}您好：\n\n"
            f"停电信息 {outage.number}（{outage.get_kind_display()}，{outage.reason}）"
            f"{wording.status_line(outage)}。\n"
            f"您负责的以下重要客户在影响范围内，请及时联系客户做好安排：\n{listing}\n\n"
            f"停电范围：{wording.scope_text(outage)}\n"
            f"{wording.company_of(outage.unit)}"
        )
        items.append(
            Outgoing(
                channel=Channel.EMAIL,
                to=manager.email,
                to_name=manager.display_name,
                subject=f"【{label}】重要客户停电告知 {outage.number}",
                body=body,
                priority=Priority.KEY_CUSTOMER,
                dedup_key=dedup_key(outage, purpose, "manager", manager_id),
                recipient=("org.user", str(manager_id)),
                about=(ABOUT_TYPE, outage.number),
            )
        )
    return enqueue_many(items)
