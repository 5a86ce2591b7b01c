"""Verbs of the agent workspace: the call on screen, orders taken on a call, wrap-up, handover.

The CTI's call events and the agent's state are ``calls`` (re-exported here), the call-back list
``return_calls``. The one intake verb (``take_call_request``) is to become an ``intake`` module
when the next channel (WeChat, web) adds its own intake door.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext
from django.utils.translation import gettext as _

from gridcare.core import clock
from gridcare.core.api_errors import ApiError, ErrorCode
from gridcare.org.models import User
from gridcare.workorders import services as workorders
from gridcare.workorders.models import OPEN_STATES, OrderType, State, WorkOrder

from .calls import (
    CALL_EVENTS,
    call_account_no,
    caller_candidates,
    find_agent,
    record_call_event,
    set_agent_state,
)
from .models import AgentState, Call, CallStatisticsSetting, ShiftHandover, WrapUpCode

if TYPE_CHECKING:
    from gridcare.customers.models import Customer
    from gridcare.repair.models import FaultEvent
    from gridcare.repair.services.intake import CallResult

__all__ = [
    "CALL_EVENTS",
    "CallIntakeResult",
    "CallRequest",
    "IntakePanel",
    "Outcome",
    "acknowledge_handover",
    "call_account_no",
    "caller_candidates",
    "current_call",
    "find_agent",
    "hand_over",
    "identify_customer",
    "intake_customer",
    "intake_panel",
    "known_outage_event",
    "open_items_for",
    "record_call_event",
    "record_on_call",
    "set_agent_state",
    "take_call_request",
    "take_fault_call_on_call",
    "take_order_on_call",
    "urge_on_call",
    "wrap_up",
]


def current_call(agent: User) -> Call | None:
    """The call on the agent's screen: ringing or talking, or ended and not yet wrapped up (an
    abandoned or missed call, never answered, needs no wrap-up)."""
    return (
        Call.objects.select_related("customer", "wrap_up")
        .filter(agent=agent, wrapped_up_at__isnull=True)
        .exclude(state=Call.State.QUEUED)
        .exclude(state=Call.State.ENDED, answered_at__isnull=True)
        .order_by("-arrived_at")
        .first()
    )


def _agent_call(call: Call, actor: User) -> None:
    if call.agent_id != actor.pk:
        raise ApiError("not_your_call", gettext("这不是您的来电"), status=403)


@transaction.atomic
def identify_customer(*, call: Call, customer: Customer | None, actor: User) -> Call:
    _agent_call(call, actor)
    call.customer = customer
    call.save(update_fields=["customer"])
    return call


def _check_call_customer(call: Call, actor: User, intake: workorders.Intake) -> None:
    """An order taken on a call belongs to the customer the agent confirmed for *this* call (the
    screen pop's single match or the agent's choice), never to one a stale form still names."""
    _agent_call(call, actor)
    customer_id = intake.customer.pk if intake.customer is not None else None
    if customer_id != call.customer_id:
        raise ApiError(
            "caller_not_confirmed",
            _("工单客户与本次来电确认的客户不一致，请重新确认来电客户"),
            status=409,
        )


# --- take this call's request: the one verb of the intake --------------------------------------


@dataclass(frozen=True)
class CallRequest:
    """What the agent hands in for the call on screen, as the view parsed it.

    ``data``: the intake form's cleaned data, its content and subtype already composed (the keys of
    ``workorders.Intake``, plus ``account_no``: the customer the form was filled for).
    ``confirm_duplicate``: the agent confirmed a new matter despite an open order of the same type.
    ``hazard``: 有安全隐患, for a fault call."""

    data: Mapping[str, Any]
    idempotency_key: str | None = None
    confirm_duplicate: bool = False
    hazard: bool = False


class Outcome(StrEnum):
    SAVED = "saved"  # a new order (a fault call: placed on the topology, maybe linked to an event)
    URGED = "urged"  # a repeated fault call urged the open order (已催办), no new order
    CONFIRM_DUPLICATE = "confirm_duplicate"  # an open order of the same matter: urge it, or confirm
    REFUSED = "refused"  # a guard refused the request: nothing was written


@dataclass
class CallIntakeResult:
    """What ``take_call_request`` did, for the view to render."""

    outcome: Outcome
    customer: Any = None  # the customer the order belongs to (the call's confirmed one)
    order: WorkOrder | None = None  # saved or urged
    duplicate: WorkOrder | None = None  # CONFIRM_DUPLICATE: the open order to urge instead
    event: Any = None  # a fault call: the outage event it hangs on
    answer: str = ""  # a fault call: what to read to the caller
    error: ApiError | None = None  # REFUSED / CONFIRM_DUPLICATE: why

    @property
    def taken(self) -> bool:
        return self.outcome in (Outcome.SAVED, Outcome.URGED)


def intake_customer(
    actor: User, call: Call | None, account_no: str, active_unit: Any = None
) -> Customer | None:
    """The customer an order taken now belongs to. On a call: the one the agent confirmed for this
    call (whatever a form still names); without a call: the account number asked for, in scope
    (else None)."""
    from django.http import Http404

    from gridcare.customers.queries import get_customer

    if call is not None:
        account_no = call.customer.account_no if call.customer is not None else ""
    if not account_no:
        return None
    try:
        return get_customer(actor, account_no, active_unit=active_unit)
    except Http404:
        return None


def take_call_request(
    *, actor: User, call: Call | None, request: CallRequest, active_unit: Any = None
) -> CallIntakeResult:
    """受理 in the agent workspace: take this call's request, a fault call or any other order.

    Guards first, then the writes, all in one transaction (a failure part-way leaves nothing):
    the intake roles; the customer — on a call the one confirmed for this call, a form filled for
    another is refused (without a call: the account number must be in scope); then, before any row
    is written, the intake service's rules (``workorders.validate_intake``: content, a complaint's
    class…) and the open order of the same matter, looked up once: a fault call urges it (repair's trouble-call analysis,
    ``report_fault_call``: 已催办, or linked to the open outage event of its device with the advice
    to read), any other type is refused with ``CONFIRM_DUPLICATE`` unless the agent confirmed a new
    matter. The order taken is recorded against the call. Refusals are returned, not raised."""
    data = request.data
    customer = intake_customer(actor, call, data.get("account_no") or "", active_unit)
    try:
        workorders.check_intake_role(actor)
        if (data.get("account_no") or "") != (customer.account_no if customer is not None else ""):
            # On a call: the form was filled for another customer than the one confirmed for this
            # call (a previous caller's form). Without a call: the account is not in scope.
            if call is not None:
                raise ApiError(
                    "caller_not_confirmed", _("本次来电的客户已变化，请核对后重新保存。"), status=409
                )
            raise ApiError("not_found", _("在您的管辖范围内没有该户号"), status=404)
        intake = workorders.Intake.of(
            data,
            customer=customer,
            caller_phone=data.get("caller_phone") or (call.caller_number if call else ""),
        )
        with transaction.atomic():
            if intake.order_type == OrderType.FAULT_REPAIR:
                fault = take_fault_call_on_call(
                    call=call,
                    actor=actor,
                    intake=intake,
                    idempotency_key=request.idempotency_key,
                    hazard=request.hazard,
                )
                outcome = Outcome.URGED if fault.repeated else Outcome.SAVED
                return CallIntakeResult(
                    outcome, customer, order=fault.order, event=fault.event, answer=fault.answer
                )
            order = take_order_on_call(
                call=call,
                actor=actor,
                intake=intake,
                idempotency_key=request.idempotency_key,
                confirm_duplicate=request.confirm_duplicate,
                active_unit=active_unit,
            )
            return CallIntakeResult(Outcome.SAVED, customer, order=order)
    except workorders.DuplicateOrder as exc:
        return CallIntakeResult(Outcome.CONFIRM_DUPLICATE, customer, duplicate=exc.order, error=exc)
    except ApiError as exc:
        return CallIntakeResult(Outcome.REFUSED, customer, error=exc)


@transaction.atomic
def take_order_on_call(
    *,
    call: Call | None,
    actor: User,
    intake: workorders.Intake,
    idempotency_key: str | None = None,
    confirm_duplicate: bool = False,
    active_unit: Any = None,
) -> WorkOrder:
    """Create a work order (not a fault call) while on a call and record it against the call, in
    one transaction, the call's customer checked first. An open order of the same matter is refused
    unless the agent confirmed a new one (``workorders.accept_request``). The workspace calls it
    through ``take_call_request``."""
    if call is not None:
        _check_call_customer(call, actor, intake)
    order, _created = workorders.accept_request(
        actor=actor,
        intake=intake,
        idempotency_key=idempotency_key,
        confirm_duplicate=confirm_duplicate,
        active_unit=active_unit,
    )
    record_on_call(call, order)
    return order


@transaction.atomic
def take_fault_call_on_call(
    *,
    call: Call | None,
    actor: User,
    intake: workorders.Intake,
    idempotency_key: str | None = None,
    hazard: bool = False,
) -> CallResult:
    """A fault call goes through the repair command's trouble-call analysis (which looks up the
    open fault order once): a repeated call urges the open order (``result.repeated``), a new one
    is linked to the open outage event of its device (no new field work). ``hazard`` (有安全隐患):
    an urgent event dispatched at once, the answer starts with safety advice. One transaction, the
    call's customer checked first. The workspace calls it through ``take_call_request``."""
    from gridcare.repair.services import report_fault_call

    if call is not None:
        _check_call_customer(call, actor, intake)
    result = report_fault_call(
        actor=actor,
        content=intake.content,
        customer=intake.customer,
        caller_name=intake.caller_name,
        caller_phone=intake.caller_phone,
        address=intake.address,
        channel=intake.channel,
        idempotency_key=idempotency_key,
        hazard=hazard,
    )
    record_on_call(call, result.order)
    return result


def record_on_call(call: Call | None, order: WorkOrder) -> None:
    """The order taken (or urged) is recorded against the call (the last write of an intake)."""
    if call is not None:
        call.work_orders.add(order)


@dataclass
class IntakePanel:
    """What the intake form shows beside its fields: the customer it is for, the open order of the
    same type to urge instead, and for a fault call the known outage event with its answer."""

    customer: Any
    duplicate: WorkOrder | None = None
    known_event: Any = None
    known_answer: str = ""


def intake_panel(
    *, actor: User, call: Call | None, order_type: str, account_no: str, active_unit: Any = None
) -> IntakePanel:
    """For showing the form (not for taking the request: ``take_call_request`` decides)."""
    customer = intake_customer(actor, call, account_no, active_unit)
    panel = IntakePanel(customer)
    if order_type in OrderType.values:
        panel.duplicate = workorders.find_open_duplicate(
            customer=customer,
            caller_phone="" if customer else (call.caller_number if call else ""),
            order_type=order_type,
            user=actor,
            active_unit=active_unit,
        )
    if order_type == OrderType.FAULT_REPAIR and customer is not None and panel.duplicate is None:
        from gridcare.repair.services import answer_for

        panel.known_event = known_outage_event(customer)
        if panel.known_event is not None:
            panel.known_answer = answer_for(panel.known_event)
    return panel


def known_outage_event(customer: Customer | None) -> FaultEvent | None:
    """The open outage event this customer's supply hangs on, if the repair command knows one."""
    from gridcare.repair.analysis import follow_merges, open_event_for
    from gridcare.repair.models import TroubleCall

    if customer is None:
        return None
    probe = TroubleCall(
        customer_id=customer.pk,
        transformer_area_id=customer.transformer_area_id,
        feeder_id=customer.transformer_area.feeder_id,
    )
    event = open_event_for(probe)
    return follow_merges(event) if event is not None else None


@transaction.atomic
def urge_on_call(*, call: Call | None, actor: User, order: WorkOrder, note: str = "") -> WorkOrder:
    """重复来电: link the call to the open order as an urging instead of a new order (the call
    checked first, one transaction)."""
    if call is not None:
        _agent_call(call, actor)
    order = workorders.perform(order=order, action="urge", actor=actor, note=note or "客户再次来电催办")
    record_on_call(call, order)
    return order


@transaction.atomic
def wrap_up(*, call: Call, actor: User, code: str, note: str = "") -> Call:
    _agent_call(call, actor)
    if call.answered_at is None:
        # Nobody talked to the caller (still ringing, or abandoned): nothing to wrap up.
        raise ApiError(ErrorCode.CALL_NOT_ANSWERED, gettext("该来电尚未接听，无需话后小结"), status=409)
    wrap = WrapUpCode.objects.filter(code=code, is_active=True).first()
    if wrap is None:
        raise ApiError("invalid_wrap_up", gettext("请选择话后小结代码"), status=422)
    now = clock.now()
    if call.ended_at is None:
        call.ended_at = now  # wrapped up before the CTI's hang-up came in
    call.wrap_up, call.note, call.wrapped_up_at = wrap, note.strip(), now
    call.derive_figures(CallStatisticsSetting.current().short_abandon_seconds)
    call.save()
    set_agent_state(agent=actor, state=AgentState.State.READY, at=now)
    return call


def open_items_for(agent: User) -> list[dict[str, str]]:
    """What an agent leaves open at shift end: orders they accepted still in transit, callbacks due."""
    items = []
    orders = WorkOrder.objects.filter(accepted_by=agent, state__in=OPEN_STATES).order_by("created_at")
    for order in orders.select_related("assigned_unit")[:200]:
        kind = "callback" if order.state == State.REVIEWED and order.callback_required else "in_transit"
        items.append(
            {
                "number": order.number,
                "kind": kind,
                "state": order.get_state_display(),
                "type": order.get_order_type_display(),
            }
        )
    return items


@transaction.atomic
def hand_over(*, actor: User, notes: str) -> ShiftHandover:
    from gridcare.org.scoping import root_units

    units = root_units(actor)
    if not units:
        raise ApiError("no_unit", gettext("没有所属班组，不能交班"), status=403)
    if not notes.strip():
        raise ApiError("notes_required", gettext("请填写交班说明"), status=422)
    now = clock.now()
    handover = ShiftHandover.objects.create(
        unit=units[0], handed_by=actor, handed_at=now, notes=notes.strip(), open_items=open_items_for(actor)
    )
    set_agent_state(agent=actor, state=AgentState.State.OFFLINE, at=now)
    return handover


@transaction.atomic
def acknowledge_handover(*, handover: ShiftHandover, actor: User, note: str = "") -> ShiftHandover:
    if handover.received_at is not None:
        raise ApiError("already_received", gettext("该交班记录已被接收"), status=409)
    if handover.handed_by_id == actor.pk:
        raise ApiError("own_handover", gettext("不能接收自己的交班"), status=409)
    handover.received_by, handover.received_at, handover.receive_note = actor, clock.now(), note.strip()
    handover.save(update_fields=["received_by", "received_at", "receive_note"])
    return handover
