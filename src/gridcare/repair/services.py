"""Business actions of fault repair command. Pages, the API, commands and tasks all call these.

Intake: ``report_fault_call`` (synchronous: the hotline), ``queue_fault_call`` (the API: 来电登记, one
INSERT) and ``process_queued_calls`` (the queue through ``report_fault_call``, in arrival order),
``retry_reported_call``. Analysis: ``run_analysis`` (queue, roll-up, dispatch of new events).
Dispatcher: ``confirm_event``, ``reassign_device``, ``split_event``, ``merge_events``,
``dispatch_to_crew``, ``send_reinforcement``, ``answer_support_request``, ``release_to_self_check``.
Crew: ``report_arrival``, ``report_progress``, ``report_eta``, ``request_support``, ``report_restored``.
Watch: ``raise_long_outage_warnings``. Customers hear about the outage through the
outages app (``outage_link``).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from contextlib import nullcontext
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from django.db import connection, transaction
from django.db.models import F, Q

from gridcare.core import clock, dbstats, prepared
from gridcare.core.api_errors import ApiError, check_same_request, stored_idempotency_key
from gridcare.customers.models import Customer, Feeder, TransformerArea
from gridcare.customers.queries import customer_with_area
from gridcare.org import scoping
from gridcare.org.models import Role, Unit, User
from gridcare.workorders import services as engine
from gridcare.workorders.models import OPEN_STATES, OrderType, State, WorkOrder

from . import analysis, open_events, outage_link
from .dispatching import (
    SYSTEM_USERNAME,
    auto_dispatch,
    candidate_crews,
    dispatch_event,
    perform_on_order,
    release_crews,
    set_crew_status,
    sync_order,
    sync_orders,
    system_actor,
    target_unit,
)
from .models import (
    AnalysisWakeup,
    Crew,
    CrewAssignment,
    DeviceLevel,
    EventUpdate,
    FaultEvent,
    RepairSetting,
    ReportedCall,
    SupportRequest,
    TroubleCall,
)

log = logging.getLogger(__name__)

DISPATCH_ROLES = (Role.DISPATCHER, Role.SHIFT_LEADER, Role.MANAGER, Role.ADMIN)
ROLLUP_DELAY_SECONDS = 3

SELF_CHECK_GUIDE = (
    "请客户先自查：1. 家中总开关、漏电保护器是否跳闸，复位后能否送电；2. 邻居家是否有电；"
    "3. 预付费电表是否欠费或余额不足。自查后仍无法恢复的，安排电工上门。"
)


def _user(actor: Any) -> Any:
    return actor if getattr(actor, "pk", None) else None


def _require_dispatcher(actor: Any) -> None:
    if not scoping.has_role(actor, *DISPATCH_ROLES):
        raise ApiError("forbidden_role", "只有抢修指挥人员可以执行此操作 (dispatchers only).", status=403)


def _note(event: FaultEvent, action: str, actor: Any, note: str = "", **data) -> EventUpdate:
    return EventUpdate.objects.create(
        event=event, action=action, at=clock.now(), actor=_user(actor), note=note, data=data
    )


def _lock(event: FaultEvent) -> FaultEvent:
    return (
        FaultEvent.objects.select_for_update(of=("self",))
        .select_related("station", "crew__team_unit")
        .get(pk=event.pk)
    )


def _open(event: FaultEvent) -> None:
    if not event.is_open:
        raise ApiError(
            "event_closed",
            f"事件已{event.get_state_display()}，不能再操作 (the event is closed).",
            status=409,
        )


# --- intake ------------------------------------------------------------------------------------


@dataclass
class CallResult:
    order: WorkOrder
    created: bool  # False: the same idempotency key, or a repeated call urging the open order
    repeated: bool
    event: FaultEvent | None
    answer: str  # what the agent tells the caller


# What a caller reporting a hazard is told first, whatever else is known.
SAFETY_ADVICE = (
    "请您和家人立即远离断落的电线和冒火、放电的地点（至少 10 米），不要触碰或靠近，"
    "不要用手或潮湿物品挪动电线，看护好老人、小孩和牲畜，提醒过往行人绕行。"
)


def answer_for(event: FaultEvent | None, *, hazard: bool = False) -> str:
    """What a later caller hears: we know, crew on the way, ETA. A caller reporting a hazard
    (``hazard``) hears the safety advice first and whether a crew is on its way."""
    if hazard:
        if event is None:
            return SAFETY_ADVICE + "已按紧急抢修受理，抢修指挥人员正在确认位置，将立即安排抢修人员赶赴现场。"
        if event.state == FaultEvent.State.ON_SITE:
            status = "抢修人员已到达现场处理"
        elif event.crew_id:
            status = f"{event.crew.name}正在赶赴现场（事件 {event.number}）"
        else:
            status = f"已按紧急抢修处理，正在调派抢修人员赶赴现场（事件 {event.number}）"
        return f"{SAFETY_ADVICE}{status}。"
    if event is None:
        return "已受理您的报修，正在研判故障范围，抢修人员将尽快与您联系。"
    if event.level == DeviceLevel.CUSTOMER and event.state == FaultEvent.State.SELF_CHECK:
        return "周边未发现停电报修，可能是您家内部故障。" + SELF_CHECK_GUIDE
    parts = [
        f"我们已掌握{event.device_label}故障停电（事件 {event.number}，影响约 {event.affected_count} 户）"
    ]
    if event.state == FaultEvent.State.ON_SITE:
        parts.append("抢修人员已到达现场处理")
    elif event.crew_id:
        parts.append(f"{event.crew.name}正在赶赴现场")
    else:
        parts.append("正在安排抢修队伍")
    if event.estimated_restore_at:
        parts.append(f"预计 {event.estimated_restore_at.astimezone(clock.LOCAL_TZ):%m-%d %H:%M} 恢复送电")
    return "，".join(parts) + "。"


# What the answer to a caller reads of the event (device name, crew) in the same query as the call.
_EVENT_FOR_ANSWER = ("event__crew", "event__transformer_area", "event__feeder", "event__customer")


def report_fault_call(
    *,
    actor: Any,
    content: str,
    customer: Customer | None = None,
    caller_name: str = "",
    caller_phone: str = "",
    address: str = "",
    channel: str = "hotline",
    idempotency_key: str | None = None,
    received_at: dt.datetime | None = None,
    wake: bool = True,
    hazard: bool = False,
) -> CallResult:
    """故障报修受理: one fault call. A repeated call of a customer with an open fault order urges it
    (重复来电 → 催办); a new order is placed on the topology and linked at once to the open event of
    its device if there is one (and dispatched with it) — else the roll-up decides.

    ``hazard`` (有安全隐患: line down, sparks, risk of shock): the call is urgent whatever the
    call count — it joins the open event of its device or the open hazard event of its place, else
    it gets its own event; that event is marked hazard and dispatched at once (``_make_urgent``),
    and the caller hears the safety advice.

    ``received_at``: when the call came in, if earlier than now (a queued call: the roll-up counts
    it in its time window by that time). ``wake=False``: the caller runs the roll-up next itself."""
    engine.check_intake_role(actor)  # 受理 is for the roles that take requests (issue #14)
    key = stored_idempotency_key(actor, idempotency_key, scope="repair")
    if key:
        existing = WorkOrder.objects.filter(idempotency_key=key).first()
        if existing is not None:
            call = TroubleCall.objects.filter(order=existing).select_related("event").first()
            event = analysis.follow_merges(call.event) if call and call.event_id else None
            hazard = hazard or bool(call and call.hazard)
            return CallResult(existing, False, False, event, answer_for(event, hazard=hazard))
    duplicate = engine.find_open_duplicate(
        customer=customer,
        caller_phone=caller_phone if customer is None else "",
        order_type=OrderType.FAULT_REPAIR,
        user=actor,
    )
    if duplicate is not None and duplicate.state != State.SUSPENDED:
        duplicate = engine.perform(
            order=duplicate, action="urge", actor=actor, note=f"重复来电：{content.strip()[:200]}"
        )
        call = TroubleCall.objects.filter(order=duplicate).select_related(*_EVENT_FOR_ANSWER).first()
        event = analysis.follow_merges(call.event) if call and call.event_id else None
        if hazard:  # the customer calls again, now reporting a hazard: the open order becomes urgent
            with transaction.atomic():
                event = _escalate_call(duplicate, call, received_at)
        return CallResult(duplicate, False, True, event, answer_for(event, hazard=hazard))
    intake = engine.Intake(
        order_type=OrderType.FAULT_REPAIR,
        channel=channel,
        content=content,
        customer=customer,
        caller_name=caller_name,
        caller_phone=caller_phone,
        address=address,
    )
    order, created = engine.create_work_order(actor=actor, intake=intake, idempotency_key=key)
    call = (
        None
        if created
        else TroubleCall.objects.filter(order=order).select_related(*_EVENT_FOR_ANSWER).first()
    )
    # Placing the call, linking it, dispatching the order with its event and counting the event's
    # calls: one transaction. The event row is updated last, so concurrent calls about one outage
    # queue on it only for the commit.
    with transaction.atomic():
        if call is None:
            # One INSERT, already linked to the open event of its device when there is one; a
            # roll-up that placed the order meanwhile wins (ON CONFLICT DO NOTHING).
            call = analysis.build_trouble_call(order, hazard=hazard)
            if received_at is not None:
                call.received_at = received_at
            event = _hazard_event(call) if hazard else analysis.open_event_for(call)
            if event is not None:
                call.event, call.linked_at = event, clock.now()
            TroubleCall.objects.bulk_create([call], ignore_conflicts=True)
            call = TroubleCall.objects.select_related(*_EVENT_FOR_ANSWER).get(order=order)
        event = call.event
        if event is not None and call.hazard:
            event = _make_urgent(event)
            order.refresh_from_db()
        if event is not None:
            note = (
                "单户报修，派至抢修班引导自查"
                if event.state == FaultEvent.State.SELF_CHECK
                else f"关联抢修事件 {event.number}"
            )
            order, _done = sync_order(
                event, order, unit=target_unit(event), actor=None, system=system_actor(), note=note
            )
            analysis.refresh_call_counts(event)
        elif wake:
            _wake_analysis()
    return CallResult(order, created, False, event, answer_for(event, hazard=hazard or call.hazard))


def _hazard_event(call: TroubleCall) -> FaultEvent | None:
    """The open event a hazard call joins — its device's (an ordinary outage event of its
    transformer or feeder stays the one event, now marked urgent) or an open hazard event of the
    same place — else a new hazard event at the most precise place known (the customer, else the
    transformer area, else the feeder). None for a call that could not be placed. Hazard calls are
    serialized on the setting row (as the roll-up is), so two calls about one place make one event."""
    RepairSetting.objects.select_for_update().order_by("id").first()
    event = analysis.open_event_for(call)
    if event is not None or call.station_id is None:
        return event
    if call.transformer_area_id is None and call.feeder_id is None:
        return None
    area = (
        TransformerArea.objects.only("area_class").get(pk=call.transformer_area_id)
        if call.transformer_area_id
        else None
    )
    if call.customer_id:
        level = DeviceLevel.CUSTOMER
    else:
        level = DeviceLevel.AREA if area is not None else DeviceLevel.FEEDER
    return analysis.new_event(
        level=level,
        station_id=call.station_id,
        area_id=call.transformer_area_id,
        feeder_id=call.feeder_id,
        customer_id=call.customer_id,
        area_class=area.area_class if area is not None else "",
        now=clock.now(),
        note="来电报告安全隐患（断线、冒火、触电风险），紧急事件，立即派工",
        hazard=True,
    )


def _make_urgent(event: FaultEvent) -> FaultEvent:
    """Mark ``event`` as a hazard and, when no crew is on it yet, dispatch it now through the
    ordinary dispatch (the best available crew of the owning station; with none free the orders go
    to the station's repair team and the event waits, red and urgent on the board). A customer-side
    event waiting for self-check is no longer left to the customer."""
    now = clock.now()
    event = _lock(analysis.follow_merges(event))
    if not event.hazard:
        event.hazard = True
        FaultEvent.objects.filter(pk=event.pk).update(hazard=True, updated_at=now)
        _note(event, "hazard", None, "来电报告安全隐患，事件转为紧急抢修")
    if event.crew_id is None and event.is_open:
        if event.state == FaultEvent.State.SELF_CHECK:
            event.state = FaultEvent.State.WAITING
        crews = candidate_crews(event, at=now)
        dispatch_event(
            event=event,
            crew=crews[0] if crews else None,
            actor=None,
            note="安全隐患，立即派工" if crews else "安全隐患：本所暂无可用队伍，工单派至抢修班待派工",
            now=now,
        )
    return FaultEvent.objects.select_related(*(f.split("__", 1)[1] for f in _EVENT_FOR_ANSWER)).get(
        pk=event.pk
    )


def _escalate_call(order: WorkOrder, call: TroubleCall | None, received_at=None) -> FaultEvent | None:
    """A repeated call reporting a hazard on an open fault order: its trouble call is marked and
    its event (or a new hazard event) made urgent and dispatched."""
    if call is None:
        call = analysis.build_trouble_call(order, hazard=True)
        if received_at is not None:
            call.received_at = received_at
        TroubleCall.objects.bulk_create([call], ignore_conflicts=True)
        call = TroubleCall.objects.get(order=order)
    TroubleCall.objects.filter(pk=call.pk).update(hazard=True)
    call.hazard = True
    event = analysis.follow_merges(call.event) if call.event_id else None
    if event is None or not event.is_open:
        event = _hazard_event(call)
    if event is None:
        return None
    if call.event_id != event.pk:
        TroubleCall.objects.filter(pk=call.pk).update(event=event, linked_at=clock.now())
    event = _make_urgent(event)
    sync_orders(
        event,
        None,
        note=f"安全隐患，随事件 {event.number} 派工",
        orders=WorkOrder.objects.filter(pk=order.pk),
    )
    analysis.refresh_call_counts(event)
    return event


# A roll-up this process knows to be due (clock time): while it is, a call wakes nothing and
# touches no row, so a storm of calls reads the wakeup row at most once per roll-up and process.
_ROLLUP_DUE: dict[str, dt.datetime | None] = {"at": None}
# How long one analysis run processes queued calls before it rolls up (then it goes on).
PROCESS_SECONDS = 2.0


def forget_wakeups() -> None:
    _ROLLUP_DUE["at"] = None


def _wake_analysis() -> dt.datetime:
    """Make sure one roll-up (which processes the queued calls first) runs a few seconds from now,
    unless one is already due (debounced): no database work while this process knows one is due,
    else a read of the one wakeup row and a write only when none is due. Returns when it is due;
    the process remembers it once the caller's transaction has committed."""
    from .tasks import roll_up_fault_calls

    now = clock.now()
    known = _ROLLUP_DUE["at"]
    if known is not None and now < known:
        return known
    when = now + dt.timedelta(seconds=ROLLUP_DELAY_SECONDS)
    wakeup = AnalysisWakeup.objects.order_by("id").first()
    if wakeup is None:
        AnalysisWakeup.objects.create(run_after=when)
    elif (
        not AnalysisWakeup.objects.filter(pk=wakeup.pk)
        .filter(Q(run_after__isnull=True) | Q(run_after__lt=now))
        .update(run_after=when)
    ):
        when = wakeup.run_after or when
        transaction.on_commit(lambda: _ROLLUP_DUE.update(at=when))
        return when
    transaction.on_commit(lambda: roll_up_fault_calls.using(run_after=when).enqueue(), robust=True)
    transaction.on_commit(lambda: _ROLLUP_DUE.update(at=when))
    return when


@dataclass
class QueuedCall:
    call: ReportedCall
    created: bool  # False: the same Idempotency-Key again (nothing written)
    event: FaultEvent | None
    answer: str  # what the caller hears at once


def queue_fault_call(
    *,
    actor: Any,
    content: str,
    customer: Customer | None = None,
    caller_name: str = "",
    caller_phone: str = "",
    address: str = "",
    channel: str = "hotline",
    idempotency_key: str | None = None,
    hazard: bool = False,
    request_fingerprint: str = "",
) -> QueuedCall:
    """来电登记 (the API's intake): validate, record the call durably with one INSERT and answer at
    once with what is known (the open event covering the customer's area or feeder); the work order
    follows when the call is processed (``process_queued_calls``). The same Idempotency-Key
    returns the first call and writes nothing (with another request body: 422
    ``idempotency_key_reused``)."""
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
        raise ApiError("no_unit", "受理人没有所属单位 (the actor holds no role at any unit).", status=403)
    if customer is not None:
        scoping.require_in_scope(customer, actor, "station_id")
    call = ReportedCall(
        actor=actor,
        unit_id=customer.station_id if customer is not None else unit.pk,
        received_at=clock.now(),
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
    _wake_analysis()
    return _queued(call, created=True)


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
                received_at=call.received_at,
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


def retry_reported_call(*, call: ReportedCall, actor: Any) -> ReportedCall:
    """重新处理: a dispatcher puts a failed call back in the queue (processed within seconds)."""
    _require_dispatcher(actor)
    with transaction.atomic():
        queued = ReportedCall.objects.filter(pk=call.pk, state=ReportedCall.State.FAILED).update(
            state=ReportedCall.State.QUEUED, processed_at=None
        )
        if not queued:
            raise ApiError(
                "not_failed",
                "只有处理失败的来电可以重新处理 (only a failed call can be retried).",
                status=409,
            )
        _wake_analysis()
    call.refresh_from_db()
    return call


# --- analysis -----------------------------------------------------------------------------------


def run_analysis(
    now: dt.datetime | None = None, *, process_seconds: float | None = PROCESS_SECONDS
) -> analysis.RollupReport:
    """研判: process the queued calls (for ``process_seconds`` at most; None: all of them), roll
    calls up into events, then dispatch the new area/feeder events (when automatic dispatch is on)
    and bring every linked order to its event's unit. Calls left in the queue wake another run."""
    AnalysisWakeup.objects.update(run_after=None)
    forget_wakeups()  # this run is the one that was due: a call from here on wakes the next
    queue = process_queued_calls(seconds=process_seconds)
    now = now or clock.now()
    report = analysis.roll_up(now)
    report.processed, report.failed, report.queue_left = queue.processed, queue.failed, queue.left
    setting = RepairSetting.current()
    for event in FaultEvent.objects.filter(
        pk__in=report.created, state__in=FaultEvent.OPEN_STATES
    ).select_related("station", "crew__team_unit"):
        with transaction.atomic():
            if event.level != DeviceLevel.CUSTOMER and setting.auto_dispatch and event.crew_id is None:
                auto_dispatch(event, now)
            else:
                sync_orders(event, None, note="单户报修，派至抢修班引导自查")
            if event.level != DeviceLevel.CUSTOMER:
                outage_link.sync_fault_outage(event)
                _schedule_outage_watch(event)
    # Orders linked by the roll-up to existing events follow them.
    stale = (
        FaultEvent.objects.filter(state__in=FaultEvent.OPEN_STATES, calls__order__state=State.ACCEPTED)
        .select_related("station", "crew__team_unit")
        .distinct()
    )
    for event in stale:
        with transaction.atomic():
            sync_orders(
                event,
                None,
                note=f"关联抢修事件 {event.number}",
                orders=WorkOrder.objects.filter(state=State.ACCEPTED),
            )
    open_events.forget()
    if queue.left:
        _wake_analysis()
    return report


def _schedule_outage_watch(event: FaultEvent) -> None:
    from .tasks import check_long_outage

    setting = RepairSetting.current()
    when = event.created_at + dt.timedelta(hours=float(setting.outage_warning_hours))
    pk = event.pk
    transaction.on_commit(lambda: check_long_outage.using(run_after=when).enqueue(pk), robust=True)


# --- dispatcher decisions ------------------------------------------------------------------------


@transaction.atomic
def confirm_event(*, event: FaultEvent, actor: Any, note: str = "") -> FaultEvent:
    """确认研判: the dispatcher agrees with the suspect device; the roll-up will not move it."""
    _require_dispatcher(actor)
    event = _lock(event)
    _open(event)
    now = clock.now()
    event.confirmed_by = _user(actor)
    event.confirmed_at = now
    event.confidence = Decimal("1.00")
    if event.state == FaultEvent.State.SELF_CHECK and event.level != DeviceLevel.CUSTOMER:
        event.state = FaultEvent.State.WAITING
    event.updated_at = now
    event.save(update_fields=["confirmed_by", "confirmed_at", "confidence", "state", "updated_at"])
    _note(event, "confirm", actor, note)
    return event


@transaction.atomic
def reassign_device(
    *,
    event: FaultEvent,
    actor: Any,
    level: str,
    area: TransformerArea | None = None,
    feeder: Feeder | None = None,
    note: str = "",
) -> FaultEvent:
    """改判: put the event on another device (a transformer area or a feeder). Confirms it."""
    _require_dispatcher(actor)
    event = _lock(event)
    _open(event)
    now = clock.now()
    old = {"level": event.level, "device": event.device_label}
    if level == DeviceLevel.AREA:
        if area is None:
            raise ApiError("area_required", "请指定台区 (transformer area required).", status=422)
        event.level, event.transformer_area, event.feeder = level, area, area.feeder
        event.station_id, event.area_class, event.customer = area.station_id, area.area_class, None
    elif level == DeviceLevel.FEEDER:
        if feeder is None:
            raise ApiError("feeder_required", "请指定线路 (feeder required).", status=422)
        sample = TransformerArea.objects.filter(feeder=feeder).first()
        event.level, event.feeder, event.transformer_area, event.customer = level, feeder, None, None
        event.station_id = analysis._feeder_station(feeder.pk, sample)
        event.area_class = sample.area_class if sample else event.area_class
    else:
        raise ApiError("invalid_level", "只能改判为台区或线路 (area or feeder).", status=422)
    if event.state == FaultEvent.State.SELF_CHECK:
        event.state = FaultEvent.State.WAITING
    event.confirmed_by, event.confirmed_at = _user(actor), now
    event.updated_at = now
    event.save()
    _note(event, "reassign", actor, note, old=old, new={"level": event.level, "device": event.device_label})
    analysis.refresh_event(event, now)
    # Other open events on the new device join this one.
    others = FaultEvent.objects.filter(state__in=FaultEvent.OPEN_STATES, confirmed_at__isnull=True).exclude(
        pk=event.pk
    )
    if event.level == DeviceLevel.FEEDER:
        others = others.filter(feeder_id=event.feeder_id)
    else:
        others = others.filter(transformer_area_id=event.transformer_area_id)
    for other in others:
        analysis.absorb(source=other, target=event, now=now, actor=actor, note="随改判并入")
    analysis.refresh_event(event, now)
    sync_orders(event, actor, note=f"事件 {event.number} 改判")
    outage_link.sync_fault_outage(event)
    return event


@transaction.atomic
def split_event(*, event: FaultEvent, actor: Any, order_numbers: list[str], note: str = "") -> FaultEvent:
    """拆分: move some calls to a new event, placed on their own customer's area (confirmed)."""
    _require_dispatcher(actor)
    event = _lock(event)
    _open(event)
    calls = list(TroubleCall.objects.filter(event=event, order__number__in=order_numbers))
    if not calls or len(calls) >= TroubleCall.objects.filter(event=event).count():
        raise ApiError(
            "invalid_split",
            "请选择部分来电拆分（不能为空，也不能是全部）(choose some of the calls).",
            status=422,
        )
    now = clock.now()
    first = calls[0]
    area = first.transformer_area or event.transformer_area
    station_id = area.station_id if area else event.station_id
    level = DeviceLevel.AREA if area else event.level
    new = analysis.new_event(
        level=level,
        station_id=station_id,
        area_id=area.pk if area else None,
        feeder_id=area.feeder_id if area else event.feeder_id,
        area_class=area.area_class if area else event.area_class,
        now=now,
        note=f"由事件 {event.number} 拆分",
        hazard=any(c.hazard for c in calls),
    )
    new.confirmed_by, new.confirmed_at = _user(actor), now
    new.save(update_fields=["confirmed_by", "confirmed_at"])
    TroubleCall.objects.filter(pk__in=[c.pk for c in calls]).update(event=new, linked_at=now)
    _note(event, "split", actor, note, into=new.number, orders=order_numbers)
    if event.primary_order_id in {c.order_id for c in calls}:
        event.primary_order = None
        event.save(update_fields=["primary_order"])
    analysis.refresh_event(event, now)
    analysis.refresh_event(new, now)
    outage_link.sync_fault_outage(new)
    if new.hazard:  # a hazard split off is dispatched at once, as at intake
        new = _make_urgent(new)
    return new


@transaction.atomic
def merge_events(*, source: FaultEvent, target: FaultEvent, actor: Any, note: str = "") -> FaultEvent:
    """合并: the source event's calls and crews join the target."""
    _require_dispatcher(actor)
    if source.pk == target.pk:
        raise ApiError("invalid_merge", "不能与自身合并 (same event).", status=422)
    # Both rows locked in id order, so two opposite merges cannot wait on each other.
    if source.pk < target.pk:
        source, target = _lock(source), _lock(target)
    else:
        target, source = _lock(target), _lock(source)
    _open(source)
    _open(target)
    now = clock.now()
    analysis.absorb(source=source, target=target, now=now, actor=actor, note=note)
    analysis.refresh_event(target, now)
    sync_orders(target, actor, note=f"事件 {source.number} 并入 {target.number}")
    outage_link.sync_fault_outage(target)
    return target


@transaction.atomic
def dispatch_to_crew(
    *, event: FaultEvent, crew: Crew, actor: Any, note: str = "", replace: bool = False
) -> FaultEvent:
    """派工 by hand (also for a customer-side fault the customer could not fix). ``replace``: the
    crew takes over from the current primary crew, which is released."""
    _require_dispatcher(actor)
    event = _lock(event)
    _open(event)
    if not crew.is_active or crew.status == Crew.Status.OFF:
        raise ApiError("crew_unavailable", f"{crew.name}不在岗 (the crew is off duty).", status=409)
    scoping.require_unit_in_scope(
        actor,
        crew.station_id,
        error=ApiError("crew_out_of_scope", "该队伍不在您的管辖范围内 (crew out of scope).", status=422),
    )
    if replace and event.crew_id and event.crew_id != crew.pk:
        now = clock.now()
        old = event.crew
        CrewAssignment.objects.filter(event=event, crew=old, released_at__isnull=True).update(released_at=now)
        set_crew_status(old, now)
        event.crew = None
    return dispatch_event(event=event, crew=crew, actor=actor, note=note or "调度员派工")


@transaction.atomic
def send_reinforcement(*, event: FaultEvent, crew: Crew, actor: Any, note: str = "") -> FaultEvent:
    """支援: a crew of a neighbouring station joins the event."""
    _require_dispatcher(actor)
    event = _lock(event)
    _open(event)
    if event.crew_id is None:
        return dispatch_event(event=event, crew=crew, actor=actor, note=note or "邻所支援派工")
    now = clock.now()
    CrewAssignment.objects.get_or_create(
        event=event,
        crew=crew,
        released_at=None,
        defaults={"role": CrewAssignment.Role.REINFORCEMENT, "assigned_at": now, "assigned_by": _user(actor)},
    )
    set_crew_status(crew, now)
    _note(event, "reinforce", actor, note, crew=crew.code, station=crew.station.name)
    SupportRequest.objects.filter(
        event=event, kind=SupportRequest.Kind.CREW, state=SupportRequest.State.OPEN
    ).update(
        state=SupportRequest.State.GRANTED,
        handled_by=_user(actor),
        handled_at=now,
        answer=f"已派{crew.name}支援",
    )
    from .dispatching import _tell_crew

    _tell_crew(event, crew)
    return event


@transaction.atomic
def answer_support_request(
    *, request: SupportRequest, actor: Any, granted: bool, answer: str = ""
) -> SupportRequest:
    _require_dispatcher(actor)
    if request.state != SupportRequest.State.OPEN:
        raise ApiError("already_answered", "该申请已处理 (already answered).", status=409)
    request.state = SupportRequest.State.GRANTED if granted else SupportRequest.State.DECLINED
    request.handled_by, request.handled_at, request.answer = _user(actor), clock.now(), answer
    request.save()
    _note(request.event, "support_answer", actor, answer, kind=request.kind, granted=granted)
    return request


# --- the crew ---------------------------------------------------------------------------------------


def crew_of(actor: Any, event: FaultEvent) -> Crew | None:
    """The actor's crew among those working on the event."""
    return (
        Crew.objects.filter(
            Q(members=actor) | Q(leader=actor),
            assignments__event=event,
            assignments__released_at__isnull=True,
        )
        .distinct()
        .first()
    )


def _require_crew_or_dispatcher(actor: Any, event: FaultEvent) -> Crew | None:
    crew = crew_of(actor, event)
    if crew is None and not scoping.has_role(actor, *DISPATCH_ROLES):
        raise ApiError("not_your_job", "该事件未派给您的队伍 (not your crew's job).", status=403)
    return crew


@transaction.atomic
def report_arrival(*, event: FaultEvent, actor: Any, note: str = "") -> FaultEvent:
    """到达现场: time recorded; the linked orders are taken and marked on site."""
    event = _lock(event)
    _open(event)
    crew = _require_crew_or_dispatcher(actor, event)
    now = clock.now()
    if crew is not None:
        CrewAssignment.objects.filter(
            event=event, crew=crew, released_at__isnull=True, arrived_at__isnull=True
        ).update(arrived_at=now)
        set_crew_status(crew, now)
    if event.state in (FaultEvent.State.DISPATCHED, FaultEvent.State.WAITING, FaultEvent.State.SELF_CHECK):
        event.state = FaultEvent.State.ON_SITE
        event.arrived_at = event.arrived_at or now
        event.updated_at = now
        event.save(update_fields=["state", "arrived_at", "updated_at"])
    _note(event, "arrive", actor, note, crew=crew.code if crew else None)
    sync_orders(event, actor, note=note or "抢修人员到达现场")
    return event


@transaction.atomic
def report_progress(
    *, event: FaultEvent, actor: Any, situation: str, cause: str = "", note: str = ""
) -> FaultEvent:
    """现场进展: situation and cause, also written to the primary order's history."""
    event = _lock(event)
    _open(event)
    _require_crew_or_dispatcher(actor, event)
    if not situation.strip():
        raise ApiError("situation_required", "请填写现场情况 (situation required).", status=422)
    event.situation = situation.strip()
    if cause.strip():
        event.cause = cause.strip()[:200]
    event.updated_at = clock.now()
    event.save(update_fields=["situation", "cause", "updated_at"])
    _note(event, "progress", actor, situation.strip(), cause=cause.strip())
    if event.primary_order_id:
        order = WorkOrder.objects.get(pk=event.primary_order_id)
        if order.state in (State.IN_PROGRESS, State.ON_SITE):
            perform_on_order(order, "handle", actor, system_actor(), note=f"现场进展：{situation.strip()}")
    return event


@transaction.atomic
def report_eta(
    *, event: FaultEvent, actor: Any, estimated_restore_at: dt.datetime, note: str = ""
) -> FaultEvent:
    """预计恢复送电时间: later callers hear it."""
    event = _lock(event)
    _open(event)
    _require_crew_or_dispatcher(actor, event)
    event.estimated_restore_at = estimated_restore_at
    event.updated_at = clock.now()
    event.save(update_fields=["estimated_restore_at", "updated_at"])
    _note(event, "eta", actor, note, eta=clock.local(estimated_restore_at).isoformat())
    outage_link.set_eta(event)
    return event


@transaction.atomic
def request_support(*, event: FaultEvent, actor: Any, kind: str, note: str) -> SupportRequest:
    """申请支援: reinforcement from neighbouring stations, materials, or an emergency generator."""
    event = _lock(event)
    _open(event)
    _require_crew_or_dispatcher(actor, event)
    if kind not in SupportRequest.Kind.values:
        raise ApiError("invalid_kind", "支援类别应为 crew / materials / generator.", status=422)
    if not note.strip():
        raise ApiError("note_required", "请说明需要的支援 (a note is required).", status=422)
    request = SupportRequest.objects.create(
        event=event, kind=kind, note=note.strip(), requested_by=_user(actor), requested_at=clock.now()
    )
    _note(event, "support_request", actor, note.strip(), kind=kind)
    _tell_dispatchers(
        event,
        f"【支援申请】{event.number} {request.get_kind_display()}",
        note.strip(),
        dedup=f"repair:{event.number}:support:{request.pk}",
    )
    return request


def report_restored(*, event: FaultEvent, actor: Any, result: str, cause: str = "") -> FaultEvent:
    """恢复送电: the event closes, crews are released, every linked order is replied with the
    result (and reviewed when the setting says so), which puts it in the callback queue; the
    affected customers are told that power is back."""
    if not result.strip():
        raise ApiError("result_required", "请填写处理结果 (result required).", status=422)
    with transaction.atomic():
        event = _lock(event)
        _open(event)
        _require_crew_or_dispatcher(actor, event)
        now = clock.now()
        event.state = FaultEvent.State.RESTORED
        event.restored_at = now
        event.result = result.strip()
        if cause.strip():
            event.cause = cause.strip()[:200]
        event.arrived_at = event.arrived_at or now
        event.updated_at = now
        event.save(update_fields=["state", "restored_at", "result", "cause", "arrived_at", "updated_at"])
        release_crews(event, now)
        _note(event, "restore", actor, result.strip(), cause=event.cause)
        # The public outage is restored (and its customers' notices queued) with the event, or not
        # at all; the orders follow after, one transaction each.
        outage_link.restore_outages(event, event.result)
    closed = close_linked_orders(event, actor)
    log.info("event %s restored, %d orders replied", event.number, closed)
    return event


def close_linked_orders(event: FaultEvent, actor: Any) -> int:
    """回单 every open order of the event with the result (one transaction per order, so a large
    event is not one giant transaction), then 审核 so each waits in the callback queue."""
    system = system_actor()
    setting = RepairSetting.current()
    reply = f"{event.result}（抢修事件 {event.number}，{event.device_label}，恢复送电时间 {event.restored_at.astimezone(clock.LOCAL_TZ):%Y-%m-%d %H:%M}）"
    unit = target_unit(event)
    closed = 0
    for order in WorkOrder.objects.filter(trouble_call__event=event, state__in=OPEN_STATES).order_by(
        "created_at"
    ):
        try:
            with transaction.atomic():
                # Each step returns the order as it left it: no re-reading between steps.
                if order.state == State.SUSPENDED:
                    order = perform_on_order(order, "resume", actor, system)
                if order.state == State.ACCEPTED:
                    order = perform_on_order(order, "dispatch", actor, system, unit=unit)
                if order.state == State.DISPATCHED:
                    order = perform_on_order(order, "take", actor, system)
                if order.state in (State.IN_PROGRESS, State.ON_SITE):
                    order = perform_on_order(order, "reply", actor, system, reply=reply)
                    closed += 1
                if setting.auto_review_on_restore and order.state == State.REPLIED:
                    engine.perform(
                        order=order,
                        action="review",
                        actor=system,
                        note="抢修事件恢复送电，统一审核",
                        approve=True,
                    )
        except ApiError as exc:
            log.warning("order %s of event %s not closed: %s", order.number, event.number, exc.message)
    return closed


@transaction.atomic
def cancel_event(*, event: FaultEvent, actor: Any, note: str) -> FaultEvent:
    """撤销: e.g. the customer fixed it by self-check. Its open orders are replied with the note."""
    _require_dispatcher(actor)
    if not note.strip():
        raise ApiError("note_required", "请填写撤销原因 (a note is required).", status=422)
    event = _lock(event)
    _open(event)
    now = clock.now()
    event.state, event.result, event.updated_at = FaultEvent.State.CANCELLED, note.strip(), now
    event.restored_at = now
    event.save(update_fields=["state", "result", "restored_at", "updated_at"])
    release_crews(event, now)
    _note(event, "cancel", actor, note.strip())
    transaction.on_commit(lambda: close_linked_orders(event, actor))
    outage_link.restore_outages(event, f"事件撤销：{note.strip()}")
    return event


@transaction.atomic
def set_crew_duty(*, crew: Crew, actor: Any, on_duty: bool) -> Crew:
    """上岗 / 休息."""
    if not (
        scoping.has_role(actor, *DISPATCH_ROLES)
        or crew.members.filter(pk=getattr(actor, "pk", None)).exists()
    ):
        raise ApiError("forbidden_role", "无权修改该队伍的值班状态.", status=403)
    now = clock.now()
    if on_duty:
        crew.status = Crew.Status.ON_DUTY
        crew.save(update_fields=["status"])
        set_crew_status(crew, now)
    else:
        if CrewAssignment.objects.filter(crew=crew, released_at__isnull=True).exists():
            raise ApiError("crew_busy", "队伍仍有未完成的抢修任务 (the crew has open jobs).", status=409)
        Crew.objects.filter(pk=crew.pk).update(status=Crew.Status.OFF, status_since=now)
        crew.status = Crew.Status.OFF
    return crew


def best_crews(event: FaultEvent, neighbours: bool = False) -> list[Crew]:
    return candidate_crews(event, neighbours=neighbours)


# --- watch: the 12-hour outage warning -------------------------------------------------------------


def _station_and_county_managers(station: Unit) -> list[User]:
    units = [u for u in station.ancestors() if u.kind in (Unit.Kind.STATION, Unit.Kind.COUNTY)]
    if station.kind in (Unit.Kind.STATION, Unit.Kind.COUNTY):
        units.append(station)
    return list(
        User.objects.filter(
            is_active=True, assignments__role=Role.MANAGER, assignments__unit__in=units
        ).distinct()
    )


def _staff_message(people: list[User], subject: str, body: str, dedup: str, about: tuple[str, str]) -> int:
    """Inbox and SMS to each person once; returns how many people were told."""
    from gridcare.notify import services as notify

    return notify.tell_staff(people, subject=subject, body=body, about=about, dedup=dedup)


def _tell_dispatchers(event: FaultEvent, subject: str, body: str, dedup: str) -> None:
    people = list(
        User.objects.filter(
            is_active=True,
            assignments__role=Role.DISPATCHER,
            assignments__unit__in=[u.pk for u in event.station.ancestors()] + [event.station_id],
        )
        .exclude(username=SYSTEM_USERNAME)
        .distinct()
    )
    _staff_message(people, subject, body, dedup, ("repair.outageevent", event.number))


def raise_long_outage_warnings(now: dt.datetime | None = None) -> int:
    """二级服务预警: an outage (area or feeder event) still open after ``outage_warning_hours``
    is reported to the managers of its station and county and to the crew's leader, once."""
    now = now or clock.now()
    setting = RepairSetting.current()
    limit = now - dt.timedelta(hours=float(setting.outage_warning_hours))
    raised = 0
    due = FaultEvent.objects.filter(
        state__in=FaultEvent.OPEN_STATES,
        service_warning_level__lt=2,
        created_at__lte=limit,
    ).exclude(level=DeviceLevel.CUSTOMER)
    for event in due.select_related("station", "crew__leader", "feeder", "transformer_area", "customer"):
        with transaction.atomic():
            won = FaultEvent.objects.filter(pk=event.pk, service_warning_level__lt=2).update(
                service_warning_level=2, updated_at=now
            )
            if not won:
                continue
            hours = (now - event.created_at).total_seconds() / 3600
            subject = (
                f"【二级服务预警】{event.device_label}停电已超过{float(setting.outage_warning_hours):g}小时"
            )
            body = (
                f"抢修事件 {event.number}（{event.get_level_display()} {event.device_label}，影响 {event.affected_count} 户）"
                f"已停电 {hours:.1f} 小时仍未恢复送电，请督促抢修。"
            )
            people = _station_and_county_managers(event.station)
            if event.crew_id and event.crew.leader_id:
                people.append(event.crew.leader)
            _staff_message(
                people, subject, body, f"repair:{event.number}:warn2", ("repair.outageevent", event.number)
            )
            _note(event, "service_warning", None, subject, level=2, recipients=len(people))
            raised += 1
    return raised
