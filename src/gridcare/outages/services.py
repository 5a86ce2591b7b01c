"""Verbs of outage information: every state change of an outage is one function here, in one
transaction — guard, change, history row, notices queued in the outbox in the same transaction.

Pages, the API and the repair app call these functions; docs/outages.md documents the stable ones
(``open_fault_outage``, ``update_fault_scope``, ``set_estimated_end``, ``restore``).

``actor`` is the staff user acting, or None for the system (the repair app's automatic fault
roll-up): a user must hold one of ``EDITOR_ROLES`` and see every feeder and area of the scope.

Each verb runs its row of the lifecycle table (``transitions.py``; its guards, effects and
notices are the functions of ``rules.py``): it checks who before locking, locks, runs the row,
saves, queues the notices and writes the history row.

Over 500 lines for now, with reason: planned and fault outages share the history row at the top,
and ``create_outage`` opens a fault outage too, so fault outages cannot move to their own module
before the history rows' one shape (issue #16 item 6).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.db import IntegrityError, transaction

from gridcare.core import clock, numbering
from gridcare.core.api_errors import ApiError, check_same_request
from gridcare.customers.models import Customer
from gridcare.org.models import Unit
from gridcare.org.types import Actor

from .models import (
    Outage,
    OutageCustomer,
    OutageEvent,
    OutageKind,
    OutageState,
)
from .notices import ABOUT_TYPE, Purpose, dedup_key, queue_notices, queue_or_defer
from .rules import (
    EDITOR_ROLES,
    editors_only,
    is_editor,
    merge_target_scope_visible,
    notice_check,
    notice_rule,
    reason_given,
    whole_scope_visible,
)
from .scope import (
    check_scope_visible,
    data_scope,
    expand_areas,
    materialize,
    owning_unit,
    resolve_scope,
    set_declared_scope,
)
from .transitions import OUTAGES, check_first
from .transitions import OutageAction as A

__all__ = [
    "ABOUT_TYPE",
    "EDITOR_ROLES",
    "Purpose",
    "cancel",
    "create_outage",
    "dedup_key",
    "notice_check",
    "notice_rule",
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

NUMBER_PREFIX = "TD"


def _check_actor(actor: Actor) -> None:
    """The actor holds an editor role (creating an outage; the table's rows check the same)."""
    if not is_editor(actor):
        raise editors_only()


# --- History --------------------------------------------------------------------------------


def _event(
    outage: Outage, action: str, actor: Actor, before: str, note: str = "", at=None, **data: Any
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
    actor: Actor,
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


def publish(*, outage: Outage, actor: Actor, override_reason: str = "") -> Outage:
    """Publish a draft and queue a notice to every affected customer (key customers first).

    Less notice than the rule requires (planned 7 days, temporary 24 h) is refused with
    ``notice_too_short`` (422) unless ``override_reason`` says why; the override is recorded (who,
    why, when) on the outage and in its history. Publishing again is a no-op:
    nothing is queued twice."""
    check_first(A.PUBLISH, outage, actor, whole_scope_visible)
    with transaction.atomic():
        outage = _locked(outage)
        if outage.state in (OutageState.PUBLISHED, OutageState.IN_PROGRESS, OutageState.RESTORED):
            return outage
        payload = {"override_reason": override_reason}
        step = OUTAGES.run(A.PUBLISH, outage, actor, payload=payload, now=clock.now())
        outage.state = step.target
        outage.save()
        OUTAGES.follow_up(step)
        short = step.found["short"]
        _event(
            outage,
            step.transition.history_action,
            actor,
            step.before,
            step.found["override_reason"] if short else "",
            notice_hours=float(step.found["hours"]),
            required_hours=step.found["required"],
            override=bool(short),
            queued=step.found["queued"],
        )
    return outage


def start(*, outage: Outage, actor: Actor, at: dt.datetime | None = None, note: str = "") -> Outage:
    """The power is cut (实际停电): a published outage becomes in progress."""
    check_first(A.START, outage, actor, whole_scope_visible)
    with transaction.atomic():
        outage = _locked(outage)
        if outage.state == OutageState.IN_PROGRESS:
            return outage
        step = OUTAGES.run(A.START, outage, actor, note=note, payload={"at": _aware(at)}, now=clock.now())
        outage.state = step.target
        outage.save()
        _event(outage, step.transition.history_action, actor, step.before, note, at=outage.actual_start)
    return outage


def cancel(*, outage: Outage, actor: Actor, reason: str) -> Outage:
    """Cancel a draft or published outage; customers already told get a cancellation notice."""
    payload = {"reason": (reason or "").strip()}
    check_first(A.CANCEL, outage, actor, whole_scope_visible, reason_given, payload=payload)
    with transaction.atomic():
        outage = _locked(outage)
        if outage.state == OutageState.CANCELLED:
            return outage
        step = OUTAGES.run(A.CANCEL, outage, actor, payload=payload, now=clock.now())
        outage.state = step.target
        outage.save()
        OUTAGES.follow_up(step)
        _event(
            outage,
            step.transition.history_action,
            actor,
            step.before,
            payload["reason"],
            queued=step.found["queued"],
        )
    return outage


# --- Fault outages (called by the repair app) -----------------------------------------------


def open_fault_outage(
    *,
    transformer_areas: Iterable[Any] = (),
    feeders: Iterable[Any] = (),
    reason: str,
    started_at: dt.datetime,
    actor: Actor,
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
    actor: Actor,
    transformer_areas: Iterable[Any] = (),
    feeders: Iterable[Any] = (),
    reason: str | None = None,
    estimated_end: dt.datetime | None = None,
    note: str = "",
) -> Outage:
    """Replace the scope of an open fault outage (the suspect device was re-assigned, the event
    grew to the whole feeder …). Each customer the change concerns gets one message: those told
    of the outage a correction saying what is now known (still or again in the scope) or that it
    does not concern them (no longer in it), those newly in it the fault notice; customers who
    left are dropped (no restoration notice). The same scope again changes and sends nothing (no
    history row). The history row counts the messages (``corrected``, ``withdrawn``,
    ``notified``, ``managers``)."""
    check_first(A.UPDATE_SCOPE, outage, actor, whole_scope_visible)
    feeder_objs, area_objs = resolve_scope(feeders=feeders, transformer_areas=transformer_areas)
    areas = expand_areas(feeder_objs, area_objs)
    if not areas:
        raise ApiError("scope_required", "请选择停电范围（线路或台区）。", status=422)
    check_scope_visible(actor, feeder_objs, area_objs)
    payload = {
        "feeders": feeder_objs,
        "areas": area_objs,
        "expanded": areas,
        "reason": reason,
        "estimated_end": _aware(estimated_end),
    }
    with transaction.atomic():
        outage = _locked(outage)
        step = OUTAGES.run(A.UPDATE_SCOPE, outage, actor, note=note, payload=payload, now=clock.now())
        if not step.found["changed"]:
            return outage
        outage.save()
        OUTAGES.follow_up(step)
        told: dict[str, int] = step.found["told"]
        summary = "更正{corrected}条、撤回{withdrawn}条、新通知{notified}条".format(**told) if told else ""
        _event(
            outage,
            step.transition.history_action,
            actor,
            outage.state,
            "；".join(part for part in (note or data_scope(feeder_objs, area_objs), summary) if part),
            queued=step.found["queued"],
            customers=outage.customer_count,
            **step.found["change"],
            **told,
        )
    return outage


def merge_fault_outage(*, source: Outage, into: Outage, actor: Actor, note: str = "") -> Outage:
    """Two open fault outages turn out to be one (their repair events were merged): ``into`` takes
    over the scope and the customers of ``source``; whoever was already told of either is not told
    again, now or at the restoration; ``source`` leaves the lookups as 已并入. Returns ``into``."""
    check_first(
        A.MERGE, source, actor, whole_scope_visible, merge_target_scope_visible, payload={"into": into}
    )
    if source.pk == into.pk:
        raise ApiError("invalid_merge", "不能并入自身。", status=422)
    with transaction.atomic():
        # Both rows locked, in id order, so two merges cannot wait on each other.
        locked = {
            o.pk: o
            for o in Outage.objects.select_for_update().filter(pk__in=[source.pk, into.pk]).order_by("pk")
        }
        source, into = locked[source.pk], locked[into.pk]
        step = OUTAGES.run(A.MERGE, source, actor, note=note, payload={"into": into}, now=clock.now())
        into.save()
        OUTAGES.follow_up(step)
        source.state = step.target
        source.merged_into = into
        source.save(update_fields=["state", "merged_into"])
        _event(source, step.transition.history_action, actor, step.before, note, into=into.number)
        _event(
            into,
            "merge_in",
            actor,
            into.state,
            note,
            source=source.number,
            queued=step.found["queued"],
            customers=into.customer_count,
            **step.found["change"],
        )
    return into


def set_estimated_end(*, outage: Outage, estimated_end: dt.datetime, actor: Actor, note: str = "") -> Outage:
    """A new estimate of the restoration time (the lookup answers "until when" with it)."""
    check_first(A.ESTIMATE, outage, actor, whole_scope_visible)
    estimated_end = _aware(estimated_end)
    with transaction.atomic():
        outage = _locked(outage)
        payload = {"estimated_end": estimated_end}
        step = OUTAGES.run(A.ESTIMATE, outage, actor, note=note, payload=payload, now=clock.now())
        outage.save()
        _event(
            outage,
            step.transition.history_action,
            actor,
            outage.state,
            note,
            estimated_end=clock.local(estimated_end).isoformat(),
        )
    return outage


def restore(*, outage: Outage, at: dt.datetime | None = None, actor: Actor, note: str = "") -> Outage:
    """Power is back (恢复送电): the outage is restored at ``at`` and every affected customer is
    sent a restoration notice, key customers first. Restoring again is a no-op."""
    check_first(A.RESTORE, outage, actor, whole_scope_visible)
    with transaction.atomic():
        outage = _locked(outage)
        if outage.state == OutageState.RESTORED:
            return outage
        at = _aware(at) or clock.now()
        step = OUTAGES.run(A.RESTORE, outage, actor, note=note, payload={"at": at}, now=clock.now())
        outage.state = step.target
        outage.save()
        OUTAGES.follow_up(step)
        _event(
            outage,
            step.transition.history_action,
            actor,
            step.before,
            note,
            at=at,
            queued=step.found["queued"],
        )
    return outage


def record_key_customer_call(
    *, outage: Outage, customer: Customer, actor: Actor, note: str = "", at: dt.datetime | None = None
) -> OutageCustomer:
    """Tick the phone checklist: a key customer of the outage was told by phone (电话告知)."""
    check_first(A.KEY_CALL, outage, actor)
    with transaction.atomic():
        outage = _locked(outage)
        # Not on a cancelled or merged outage: a merged outage's customers and marks live on the
        # one it joined, a mark here would never reach that checklist (phoned twice).
        payload = {"customer": customer, "at": _aware(at)}
        step = OUTAGES.run(A.KEY_CALL, outage, actor, note=note, payload=payload, now=clock.now())
        row: OutageCustomer = step.found["row"]
        row.save(update_fields=["phoned_at", "phoned_by", "phone_note"])
        _event(
            outage, step.transition.history_action, actor, outage.state, note, account_no=customer.account_no
        )
    return row
