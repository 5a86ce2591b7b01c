"""The queue of fault calls taken over the API (来电登记): ``queue_fault_call`` records a call with
one INSERT and answers at once; ``process_queued_calls`` runs the queue through
``intake.report_fault_call`` in arrival order; ``retry_reported_call`` puts a failed call back.
"""

from __future__ import annotations

import datetime as dt
import time
from contextlib import nullcontext
from dataclasses import dataclass
from functools import cache
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils.translation import gettext

from gridcare.core import clock, dbstats, prepared
from gridcare.core.api_errors import ApiError, ErrorCode, check_same_request, stored_idempotency_key
from gridcare.customers.models import Customer
from gridcare.customers.queries import customer_with_area
from gridcare.org import scoping
from gridcare.org.models import User
from gridcare.org.types import Actor
from gridcare.repair import analysis, open_events
from gridcare.repair.models import FaultEvent, RepairSetting, ReportedCall, TroubleCall
from gridcare.repair.wakeups import wake_analysis
from gridcare.workorders import services as engine
from gridcare.workorders.models import OrderType

from .common import _require_dispatcher, log
from .intake import _EVENT_FOR_ANSWER, answer_for, report_fault_call

# How far ahead of GridCare's clock a call's ``reported_at`` may be (the client's clock runs a little
# fast): taken as now. Further ahead is refused.
REPORTED_AT_CLOCK_SKEW = dt.timedelta(seconds=60)


@dataclass
class QueuedCall:
    call: ReportedCall
    created: bool  # False: the same Idempotency-Key again (nothing written)
    event: FaultEvent | None
    answer: str  # what the caller hears at once


def queue_fault_call(
    *,
    actor: Actor,
    content: str,
    customer: Customer | None = None,
    caller_name: str = "",
    caller_phone: str = "",
    address: str = "",
    channel: str = "hotline",
    idempotency_key: str | None = None,
    hazard: bool = False,
    request_fingerprint: str = "",
    reported_at: dt.datetime | None = None,
) -> QueuedCall:
    """来电登记 (the API's intake): validate, record the call durably with one INSERT and answer at
    once with what is known (the open event covering the customer's area or feeder); the work order
    follows when the call is processed (``process_queued_calls``). The same Idempotency-Key
    returns the first call and writes nothing (with another request body: 422
    ``idempotency_key_reused``).

    ``reported_at``: when the customer called, given by an IVR batch or a storm replay; the call's
    trouble call takes it as its time (the analysis counts it in its window by it). It may not be
    ahead of now by more than ``REPORTED_AT_CLOCK_SKEW`` (within it: taken as now) nor older than
    the analysis window (``RepairSetting.window_minutes``): else 422 ``invalid_reported_at`` and
    nothing written — unless the Idempotency-Key was used before, which answers the first call."""
    key = stored_idempotency_key(actor, idempotency_key)
    engine.validate_intake(
        engine.Intake(
            order_type=OrderType.FAULT_REPAIR,
            channel=channel,
            content=content,
            customer=customer,
            caller_name=caller_name,
            caller_phone=caller_phone,
            address=address,
        )
    )
    engine.check_intake_role(actor)
    unit = engine.acting_unit(actor)
    if unit is None:
        raise ApiError("no_unit", gettext("受理人没有所属单位"), status=403)
    if customer is not None:
        scoping.require_in_scope(customer, actor, "station_id")
    now = clock.now()
    if reported_at is not None:
        try:
            reported_at = bounded_reported_at(reported_at, now)
        except ApiError:
            first = _call_by_key(key) if key else None
            if first is None:
                raise
            # A retry of a call recorded before, its time now past the window: the first call.
            check_same_request(first.idempotency_fingerprint, request_fingerprint)
            return _queued(first, created=False)
    call = ReportedCall(
        actor=actor,
        unit_id=customer.station_id if customer is not None else unit.pk,
        received_at=now,
        reported_at=reported_at,
        channel=channel,
        content=content,
        customer=customer,
        caller_name=caller_name,
        caller_phone=caller_phone,
        address=address,
        hazard=hazard,
        caller_key=f"c{customer.pk}" if customer is not None else f"p{caller_phone.strip()}"[:40],
        idempotency_key=key,
        idempotency_fingerprint=request_fingerprint if key else "",
    )
    # One INSERT, committed by itself (a savepoint only inside a caller's transaction). A key used
    # before is found by its unique index in the same statement, which then writes nothing.
    with transaction.atomic() if connection.in_atomic_block else nullcontext():
        written = _insert_call(call)
    if not written:
        first = _call_by_key(key)
        check_same_request(first.idempotency_fingerprint, request_fingerprint)
        return _queued(first, created=False)
    wake_analysis()
    return _queued(call, created=True)


def bounded_reported_at(reported_at: dt.datetime, now: dt.datetime) -> dt.datetime:
    """``reported_at`` within its bounds (up to ``REPORTED_AT_CLOCK_SKEW`` ahead: now), or 422
    ``invalid_reported_at``: ahead of now by more, or older than the analysis window."""
    if reported_at > now + REPORTED_AT_CLOCK_SKEW:
        raise ApiError(
            ErrorCode.INVALID_REPORTED_AT,
            gettext("来电时间 %(at)s 晚于当前时间，请核对来电方时钟")
            % {"at": clock.local(reported_at).strftime("%Y-%m-%d %H:%M:%S")},
            status=422,
        )
    window = RepairSetting.current().window_minutes
    if reported_at < now - dt.timedelta(minutes=window):
        raise ApiError(
            ErrorCode.INVALID_REPORTED_AT,
            gettext("来电时间 %(at)s 早于研判时间窗（%(minutes)s 分钟），请作为新来电登记")
            % {"at": clock.local(reported_at).strftime("%Y-%m-%d %H:%M:%S"), "minutes": window},
            status=422,
        )
    return min(reported_at, now)


_INSERT_FIELDS = [f for f in ReportedCall._meta.concrete_fields if not f.primary_key]


@cache
def _insert_call_sql(vendor: str) -> str:
    """The INSERT of ``_insert_call`` (composed once per database vendor)."""
    quote = connection.ops.quote_name  # names from the model, values as parameters
    table, columns = quote(ReportedCall._meta.db_table), ", ".join(quote(f.column) for f in _INSERT_FIELDS)
    values, pk = ", ".join(["%s"] * len(_INSERT_FIELDS)), quote(ReportedCall._meta.pk.column)
    key = quote("idempotency_key")
    return (
        f"INSERT INTO {table} ({columns}) VALUES ({values}) "  # noqa: S608
        f"ON CONFLICT ({key}) WHERE {key} IS NOT NULL DO NOTHING RETURNING {pk}"
    )


def _insert_call(call: ReportedCall) -> bool:
    """``call.save()`` as a prepared statement (the intake's only write: parsed once per
    connection, no SQL composed per call). Each value is prepared by its model field. False, and
    nothing written, when the call's idempotency key was used before."""
    params = [f.get_db_prep_save(getattr(call, f.attname), connection) for f in _INSERT_FIELDS]
    rows = prepared.fetch(_insert_call_sql(connection.vendor), params)
    if not rows:
        return False
    ((call.pk,),) = rows
    call._state.adding, call._state.db = False, connection.alias
    return True


def _call_by_key(key: str) -> ReportedCall | None:
    return (
        ReportedCall.objects.filter(idempotency_key=key).select_related("customer__transformer_area").first()
    )


def _queued(call: ReportedCall, *, created: bool) -> QueuedCall:
    event = reported_call_event(call)
    return QueuedCall(call, created, event, answer_for(event, hazard=call.hazard))


def reported_call_event(call: ReportedCall) -> FaultEvent | None:
    """The event a reported call is about: once processed, its order's event; before, the open
    event covering its customer (the short per-process view, no query of its own)."""
    if call.state == ReportedCall.State.DONE and call.order_id:
        trouble = (
            TroubleCall.objects.filter(order_id=call.order_id).select_related(*_EVENT_FOR_ANSWER).first()
        )
        return analysis.follow_merges(trouble.event) if trouble and trouble.event_id else None
    if call.state == ReportedCall.State.QUEUED and call.customer_id:
        return open_events.covering(call.customer)
    return None


@dataclass
class QueueReport:
    processed: int = 0
    failed: int = 0
    left: bool = False  # queued calls remain (the limit or the time budget was reached)


def process_queued_calls(*, limit: int | None = None, seconds: float | None = None) -> QueueReport:
    """Take queued calls in arrival order and run each through ``report_fault_call``; the order,
    ``repeated`` and the new state are written in the transaction that did the work. Several
    processes may run this at once: each claims one call at a time with ``FOR UPDATE SKIP LOCKED``,
    and a caller's later call waits until their earlier one is processed (so it urges the order the
    first one created). A call whose processing raises is marked failed with its error and kept."""
    report = QueueReport()
    actors: dict[int, Any] = {}
    deadline = time.monotonic() + seconds if seconds is not None else None
    # In a storm the queue grows from empty to thousands of calls within minutes; with statistics
    # that still counted a few rows each claim read the whole queue (8–35 ms at 10,000 queued).
    dbstats.analyze(ReportedCall, changed_share=0.1, at_least=500)
    while True:
        if (limit is not None and report.processed + report.failed >= limit) or (
            deadline is not None and time.monotonic() >= deadline
        ):
            report.left = ReportedCall.objects.filter(state=ReportedCall.State.QUEUED).exists()
            break
        with transaction.atomic():
            call = _claim_next_call()
            if call is None:
                break
            if _process_call(call, actors):
                report.processed += 1
            else:
                report.failed += 1
    return report


def _claim_next_call() -> ReportedCall | None:
    """The oldest queued call no other process holds and whose caller has no earlier queued call
    (locked until the caller's transaction ends). One statement written out, as the ORM spends
    more time composing it than the database running it; the customer follows by its key."""
    table = connection.ops.quote_name(ReportedCall._meta.db_table)
    lock = " FOR UPDATE OF r SKIP LOCKED" if connection.features.has_select_for_update_skip_locked else ""
    queued = ReportedCall.State.QUEUED
    # The earlier call of the same caller is looked for by a scalar subquery with LIMIT 1, which
    # PostgreSQL runs per candidate as one probe of the (caller_key, id) index. Written as NOT
    # EXISTS it may become an anti-join that reads every queued call for each claim — it did in a
    # storm, when the planner's statistics still counted the queue a few rows long.
    sql = (
        f"SELECT r.* FROM {table} r WHERE r.state = %s AND (SELECT e.id FROM {table} e "  # noqa: S608
        f"WHERE e.state = %s AND e.caller_key = r.caller_key AND e.id < r.id LIMIT 1) IS NULL "
        f"ORDER BY r.id LIMIT 1{lock}"
    )
    found = list(ReportedCall.objects.raw(sql, [queued, queued]))
    if not found:
        return None
    call = found[0]
    if call.customer_id:
        call.customer = customer_with_area(call.customer_id)
    return call


def _process_call(call: ReportedCall, actors: dict[int, Any]) -> bool:
    actor = actors.get(call.actor_id)
    if actor is None:
        actor = actors[call.actor_id] = User.objects.get(pk=call.actor_id)
    try:
        with transaction.atomic():
            result = report_fault_call(
                actor=actor,
                content=call.content,
                customer=call.customer,
                caller_name=call.caller_name,
                caller_phone=call.caller_phone,
                address=call.address,
                channel=call.channel,
                received_at=call.reported_at or call.received_at,
                wake=False,
                hazard=call.hazard,
            )
            ReportedCall.objects.filter(pk=call.pk).update(
                state=ReportedCall.State.DONE,
                order=result.order,
                repeated=result.repeated,
                error="",
                attempts=F("attempts") + 1,
                processed_at=clock.now(),
            )
        return True
    except Exception as exc:  # nothing is lost: the call is kept, failed, with its error
        error = f"{exc.code}: {exc.message}" if isinstance(exc, ApiError) else f"{type(exc).__name__}: {exc}"
        log.warning("reported call %s failed: %s", call.ref, error, exc_info=not isinstance(exc, ApiError))
        ReportedCall.objects.filter(pk=call.pk).update(
            state=ReportedCall.State.FAILED,
            error=error[:2000],
            attempts=F("attempts") + 1,
            processed_at=clock.now(),
        )
        return False


def retry_reported_call(*, call: ReportedCall, actor: Actor) -> ReportedCall:
    """重新处理: a dispatcher puts a failed call back in the queue (processed within seconds)."""
    _require_dispatcher(actor)
    with transaction.atomic():
        queued = ReportedCall.objects.filter(pk=call.pk, state=ReportedCall.State.FAILED).update(
            state=ReportedCall.State.QUEUED, processed_at=None
        )
        if not queued:
            raise ApiError(
                "not_failed",
                gettext("只有处理失败的来电可以重新处理"),
                status=409,
            )
        wake_analysis()
    call.refresh_from_db()
    return call
