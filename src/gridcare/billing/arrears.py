"""Arrears (欠费): reminders, disconnection (停电) when the rules allow it, reconnection (复电)
within the promised hours of payment, and the "533" control.

The rules are data (``BillingSetting``): a reminder SMS once a bill is ``reminder_after_days``
overdue; a case may be proposed once an open bill is more than ``disconnect_after_days`` overdue
and its reminder was sent, unless an exemption blocks it (``exemptions``: 保电 for the customer or
any unit above its station — extreme weather among its reasons —, a vulnerable household, an open
bill query or complaint of the customer). An important user (重要客户 or 一类负荷) is shown too
but does not block: its notice is copied to the power authority (电力管理部门), as the 供电营业规则
require for important users, and the case's history says so.

The notice's proof of delivery is recorded; the cut may come ``residential_notice_days`` after
delivery for a residential customer, ``other_notice_days`` for others, who are also called at
least ``call_before_minutes`` before the cut — a call older than
``settings.GRIDCARE_BILLING_CALL_VALID_HOURS`` (24 h) no longer counts: the customer is called
again, as a call the day before does not tell them the cut is an hour away. The cut re-checks the
exemptions at its moment (a 保电 that began after the notice blocks it) and is made by a field
work order (业务办理, accepted through the work orders' one intake) or, for a remote prepaid meter,
a trip command.

Payment (``on_paid``, called by ``payments`` after a payment commits) cancels a case not yet cut
and puts a cut one into reconnection, due ``reconnect_hours`` later; a remote meter is closed at
once. ``raise_reconnection_warnings`` raises the work-order engine's three levels on the promise.

"533" (``run_533``): the last five days of a month and the first three of the next, three runs a
day. "The 5th-last day" is the last day − 4: the 26th of a 30-day month, the 27th of a 31-day
month, the 24th of a 28-day February and the 25th of a 29-day one; the window runs to the 3rd of
the next month, 8 days in all.
"""

from __future__ import annotations

import calendar as month_calendar
import datetime as dt
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext as _

from gridcare.core import clock, numbering
from gridcare.core.api_errors import ApiError, ErrorCode
from gridcare.customers.models import Customer
from gridcare.notify import services as notify
from gridcare.notify.models import Message
from gridcare.org import scoping
from gridcare.org.models import Role, Unit
from gridcare.org.types import Actor, Viewer
from gridcare.workorders.escalation import TIER_KINDS
from gridcare.workorders.intake import Intake, create_work_order
from gridcare.workorders.models import DEFAULT_WARNING_FRACTIONS, OPEN_STATES, OrderType, WorkOrder
from gridcare.workorders.models import Channel as OrderChannel

from . import contact, guarantees
from .models import (
    Bill,
    BillingAccount,
    BillingSetting,
    BillState,
    DisconnectionCase,
    DisconnectionEvent,
    PrepaidAccount,
    PrepaidCommand,
    SupervisionRun,
    SupplyGuarantee,
)

State = DisconnectionCase.State
CASE_PREFIX = "TD"
ABOUT_CASE = "billing.disconnectioncase"
ABOUT_BILL = "billing.bill"
# Who works on cases; a field cut is a work order, accepted by someone who takes requests.
BILLING_ROLES = frozenset({Role.BILLING_CLERK, Role.MANAGER, Role.ADMIN})
FIELD_CUT_ROLES = frozenset({Role.BILLING_CLERK, Role.ADMIN})
# Who may read cases, the "533" bulletins and prepaid accounts (pages and API): billing staff, and
# account managers, who chase the arrears of the customers they look after.
CASE_READERS = BILLING_ROLES | {Role.ACCOUNT_MANAGER}
BEFORE_CUT = (State.PROPOSED, State.NOTIFIED, State.CALLED)
# How many cases a payment would move (``on_paid``), as SQL on a ``{customer}`` id expression —
# for a reader that asks it with another row (billing.payments reads it with the account).
_CASE_STATES = ", ".join(f"'{state}'" for state in (*BEFORE_CUT, State.DISCONNECTED))  # the enum's own
OPEN_CASES_SQL = f"SELECT COUNT(*) FROM billing_disconnectioncase c WHERE c.customer_id = {{customer}} AND c.state IN ({_CASE_STATES})"  # noqa: S608, E501
IN_PROGRESS = (*BEFORE_CUT, State.DISCONNECTED, State.RECONNECTING)
# A bill query or complaint still open stands for a dispute about the bill.
DISPUTE_TYPES = (OrderType.BILL_QUERY, OrderType.COMPLAINT)
REMINDER_LOOKBACK_DAYS = 90  # bills overdue longer were reminded by an earlier sweep (or never can be)
BULLETIN_CASES_PER_UNIT = 100  # the bulletin lists this many cases of a unit; its counts are complete


def reminder_key(bill_number: str) -> str:
    return f"billing:reminder:{bill_number}"


def _require(actor: Actor, roles: frozenset[str], message: str) -> None:
    if getattr(actor, "is_superuser", False):
        return
    if not scoping.roles_of(actor) & roles:
        raise ApiError(ErrorCode.FORBIDDEN_ROLE, message, status=403)


def _in_scope(actor: Actor, customer: Customer) -> None:
    scoping.require_unit_in_scope(
        actor,
        customer.station_id,
        error=ApiError(ErrorCode.NOT_FOUND, _("在您的管辖范围内没有该户号"), status=404),
    )


def _local(at: dt.datetime) -> str:
    return f"{clock.local(at):%Y-%m-%d %H:%M}"


def _not_future(at: dt.datetime, what: str) -> None:
    if at > clock.now() + dt.timedelta(minutes=1):
        raise ApiError(ErrorCode.INVALID_WHEN, _("%(what)s不能晚于当前时间") % {"what": what}, status=422)


def is_residential(customer: Customer) -> bool:
    return customer.customer_class == Customer.CustomerClass.RESIDENTIAL


def is_important(customer: Customer) -> bool:
    return bool(customer.is_key or customer.load_class == Customer.LoadClass.FIRST)


# --- Exemptions ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Exemption:
    """One reason a customer may not be cut now (``blocks``), or must be handled with care (an
    important user: the notice copied to the power authority)."""

    code: str
    label: str
    detail: str
    blocks: bool = True
    until: dt.datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "label": self.label,
            "detail": self.detail,
            "blocks": self.blocks,
            "until": clock.local(self.until).isoformat() if self.until else None,
        }


def _guarantee_exemption(found: SupplyGuarantee) -> Exemption:
    weather = found.reason == SupplyGuarantee.Reason.WEATHER
    scope = found.unit.name if found.unit is not None else _("本户")
    return Exemption(
        code="extreme_weather" if weather else "guarantee",
        label=_("极端天气保电") if weather else _("保电"),
        detail=_("%(reason)s（%(scope)s，%(start)s 至 %(end)s）%(note)s")
        % {
            "reason": found.get_reason_display(),
            "scope": scope,
            "start": _local(found.starts_at),
            "end": _local(found.ends_at),
            "note": found.note,
        },
        until=found.ends_at,
    )


def exemptions(customer: Customer, at: dt.datetime) -> list[Exemption]:
    """Every reason that stands against cutting ``customer`` at ``at`` (see the module's
    docstring); the blocking ones refuse a proposal or a cut."""
    found: list[Exemption] = []
    if is_important(customer):
        found.append(
            Exemption(
                code="important_user",
                label=_("重要用户"),
                detail=_("重要客户或一类负荷：停电通知须同时抄送电力管理部门"),
                blocks=False,
            )
        )
    found.extend(_guarantee_exemption(g) for g in guarantees.in_force(customer, at))
    if customer.vulnerable_kind:
        found.append(
            Exemption(
                code="vulnerable",
                label=_("特殊群体"),
                detail=_("%(kind)s：不得欠费停电，请联系帮扶")
                % {"kind": customer.get_vulnerable_kind_display()},
            )
        )
    disputes = list(
        WorkOrder.objects.filter(customer=customer, order_type__in=DISPUTE_TYPES, state__in=OPEN_STATES)
        .order_by("created_at")
        .values_list("number", "order_type")
    )
    for number, order_type in disputes:
        found.append(
            Exemption(
                code="dispute",
                label=_("电费争议未结"),
                detail=_("%(type)s工单 %(number)s 尚未办结")
                % {"type": OrderType(order_type).label, "number": number},
            )
        )
    return found


def _refuse_if_exempt(customer: Customer, at: dt.datetime, message: str) -> list[Exemption]:
    found = exemptions(customer, at)
    blocking = [e for e in found if e.blocks]
    if blocking:
        raise ApiError(
            ErrorCode.DISCONNECTION_EXEMPT,
            f"{message}：{'；'.join(f'{e.label}（{e.detail}）' for e in blocking)}",
            status=409,
            exemptions=[e.as_dict() for e in found],
        )
    return found


# --- Reminders -----------------------------------------------------------------------------------


def send_reminders(now: dt.datetime | None = None) -> int:
    """催费: one SMS per open bill overdue by ``reminder_after_days`` (bills overdue longer than
    ``REMINDER_LOOKBACK_DAYS`` more are left to the sweeps that saw them); returns how many were
    queued. A second run queues nothing (dedup key per bill)."""
    now = now or clock.now()
    today = clock.local(now).date()
    setting = BillingSetting.current(today)
    cutoff = today - dt.timedelta(days=setting.reminder_after_days)
    bills = list(
        Bill.objects.filter(
            state=BillState.OPEN,
            due_on__lte=cutoff,
            due_on__gte=cutoff - dt.timedelta(days=REMINDER_LOOKBACK_DAYS),
        )
        .select_related("customer")
        .order_by("due_on", "id")
    )
    sent_before = set(
        Message.objects.filter(dedup_key__in=[reminder_key(b.number) for b in bills]).values_list(
            "dedup_key", flat=True
        )
    )
    queued = 0
    for bill in bills:
        if reminder_key(bill.number) in sent_before or bill.amount - bill.paid <= 0:
            continue
        body = _(
            "【国网】尊敬的客户%(account)s：您%(period)s电费%(owed)s元已于%(due)s到期未缴，请尽快缴纳，"
            "逾期将按规定收取违约金，长期欠费将依法停电。已缴请忽略。"
        ) % {
            "account": bill.customer.account_no,
            "period": f"{bill.period:%Y年%m月}",
            "owed": bill.amount - bill.paid,
            "due": f"{bill.due_on:%Y-%m-%d}",
        }
        with transaction.atomic():
            if contact.text_customer(
                bill.customer, body, dedup=reminder_key(bill.number), about=(ABOUT_BILL, bill.number)
            ):
                queued += 1
    return queued


def reminded(bill_numbers: list[str]) -> set[str]:
    """The bills among ``bill_numbers`` whose reminder was queued."""
    keys = {reminder_key(n): n for n in bill_numbers}
    found = Message.objects.filter(dedup_key__in=list(keys)).values_list("dedup_key", flat=True)
    return {keys[k] for k in found if k is not None}


# --- History -------------------------------------------------------------------------------------


def _event(
    case: DisconnectionCase,
    action: str,
    actor: Actor | None,
    at: dt.datetime,
    *,
    from_state: str = "",
    note: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    DisconnectionEvent.objects.create(
        case=case,
        action=action,
        actor=actor if getattr(actor, "pk", None) else None,
        at=at,
        from_state=from_state,
        to_state=case.state if case.state != from_state else "",
        note=note,
        data=data or {},
    )


def _locked(case: DisconnectionCase) -> DisconnectionCase:
    return DisconnectionCase.objects.select_for_update().select_related("customer").get(pk=case.pk)


def _illegal(case: DisconnectionCase, action: str) -> ApiError:
    return ApiError(
        ErrorCode.ILLEGAL_TRANSITION,
        _("该停复电工单当前状态为“%(state)s”，不能%(action)s")
        % {"state": case.get_state_display(), "action": action},
        status=409,
    )


# --- Proposal, notice, call, cut -----------------------------------------------------------------


def _remote_prepaid(customer: Customer) -> PrepaidAccount | None:
    return PrepaidAccount.objects.filter(customer=customer, mode=PrepaidAccount.Mode.REMOTE).first()


def propose_disconnection(customer: Customer, *, actor: Actor) -> DisconnectionCase:
    """拟停电: open a case when the rules allow it (see the module's docstring); refused with the
    reasons otherwise."""
    _require(actor, BILLING_ROLES, _("您的岗位不能发起欠费停电"))
    _in_scope(actor, customer)
    now = clock.now()
    today = clock.local(now).date()
    setting = BillingSetting.current(today)
    with transaction.atomic():
        account = BillingAccount.objects.select_for_update().filter(customer=customer).first()
        if account is None:
            raise ApiError(ErrorCode.NO_BILLING_ACCOUNT, _("该客户没有计费档案"), status=404)
        if DisconnectionCase.objects.filter(customer=customer, state__in=IN_PROGRESS).exists():
            raise ApiError(ErrorCode.DISCONNECTION_OPEN, _("该客户已有在办的欠费停复电工单"), status=409)
        if account.arrears <= 0:
            raise ApiError(ErrorCode.DISCONNECTION_NOT_DUE, _("该客户没有欠费"), status=409)
        limit = today - dt.timedelta(days=setting.disconnect_after_days)
        overdue = list(
            Bill.objects.filter(customer=customer, state=BillState.OPEN, due_on__lt=limit)
            .order_by("due_on", "id")
            .values_list("number", "due_on")
        )
        if not overdue:
            raise ApiError(
                ErrorCode.DISCONNECTION_NOT_DUE,
                _("没有逾期超过%(days)s天的未缴账单，不能停电") % {"days": setting.disconnect_after_days},
                status=409,
            )
        if not reminded([n for n, _due in overdue]):
            raise ApiError(
                ErrorCode.DISCONNECTION_NOT_DUE, _("逾期账单尚未催费，须先发送催费通知"), status=409
            )
        found = _refuse_if_exempt(customer, now, _("该客户不得停电"))
        oldest = overdue[0][1]  # the earliest due date of the open bills (the others are later)
        assert oldest is not None  # due_on__lt excludes bills without one
        case = DisconnectionCase.objects.create(
            number=numbering.next_number(CASE_PREFIX, f"{clock.local(now):%Y%m%d}"),
            customer=customer,
            unit_id=customer.station_id,
            state=State.PROPOSED,
            method=(
                DisconnectionCase.Method.REMOTE
                if _remote_prepaid(customer) is not None
                else DisconnectionCase.Method.FIELD
            ),
            arrears=account.arrears,
            oldest_due_on=oldest,
            proposed_at=now,
            proposed_by=actor,
        )
        important = is_important(customer)
        _event(
            case,
            "propose",
            actor,
            now,
            note=_("重要用户：停电通知须抄送电力管理部门") if important else "",
            data={
                "arrears": account.arrears,
                "bills": [n for n, _due in overdue],
                "copy_to_authority": important,
                "shown": [e.as_dict() for e in found],
            },
        )
    return case


def record_notice(
    case: DisconnectionCase, *, delivered_at: dt.datetime, proof: str, actor: Actor
) -> DisconnectionCase:
    """停电通知送达: the proof of delivery recorded; the cut may come the notice days after it."""
    _require(actor, BILLING_ROLES, _("您的岗位不能办理欠费停电"))
    proof = (proof or "").strip()
    if not proof:
        raise ApiError(ErrorCode.PROOF_REQUIRED, _("请登记停电通知的送达凭证"), status=422)
    _not_future(delivered_at, _("送达时间"))
    with transaction.atomic():
        current = _locked(case)
        if current.state != State.PROPOSED:
            raise _illegal(current, _("登记通知送达"))
        if delivered_at < current.proposed_at:
            raise ApiError(ErrorCode.INVALID_TIMES, _("送达时间不能早于发起时间"), status=422)
        setting = BillingSetting.current(clock.local(delivered_at).date())
        days = (
            setting.residential_notice_days if is_residential(current.customer) else setting.other_notice_days
        )
        current.notice_delivered_at, current.notice_proof = delivered_at, proof[:200]
        current.earliest_cut_at = delivered_at + dt.timedelta(days=days)
        current.state = State.NOTIFIED
        current.save(update_fields=["notice_delivered_at", "notice_proof", "earliest_cut_at", "state"])
        important = is_important(current.customer)
        _event(
            current,
            "notice",
            actor,
            clock.now(),
            from_state=State.PROPOSED,
            note=_("通知已同时抄送电力管理部门") if important else "",
            data={
                "delivered_at": clock.local(delivered_at).isoformat(),
                "proof": proof[:200],
                "notice_days": days,
                "earliest_cut_at": clock.local(current.earliest_cut_at).isoformat(),
                "copy_to_authority": important,
            },
        )
    return current


def record_call(case: DisconnectionCase, called_at: dt.datetime, actor: Actor) -> DisconnectionCase:
    """停电前电话告知 (required for non-residential customers; may be repeated when the cut moves)."""
    _require(actor, BILLING_ROLES, _("您的岗位不能办理欠费停电"))
    _not_future(called_at, _("电话告知时间"))
    with transaction.atomic():
        current = _locked(case)
        if current.state not in (State.NOTIFIED, State.CALLED):
            raise _illegal(current, _("登记电话告知"))
        assert current.notice_delivered_at is not None  # set with NOTIFIED
        if called_at < current.notice_delivered_at:
            raise ApiError(ErrorCode.INVALID_TIMES, _("电话告知应在停电通知送达之后"), status=422)
        before = current.state
        current.called_at, current.state = called_at, State.CALLED
        current.save(update_fields=["called_at", "state"])
        _event(
            current,
            "call",
            actor,
            clock.now(),
            from_state=before,
            data={"called_at": clock.local(called_at).isoformat()},
        )
    return current


def _check_call(case: DisconnectionCase, at: dt.datetime, setting: BillingSetting) -> None:
    if is_residential(case.customer):
        return
    before = dt.timedelta(minutes=setting.call_before_minutes)
    valid = dt.timedelta(hours=settings.GRIDCARE_BILLING_CALL_VALID_HOURS)
    if case.called_at is None:
        message = _("非居民客户停电前须电话告知（至少提前%(minutes)s分钟）")
    elif at - case.called_at < before:
        message = _("电话告知距停电不足%(minutes)s分钟")
    elif at - case.called_at > valid:
        message = _("电话告知已超过%(hours)s小时，请重新告知（至少提前%(minutes)s分钟）")
    else:
        return
    raise ApiError(
        ErrorCode.CALL_REQUIRED,
        message
        % {"minutes": setting.call_before_minutes, "hours": settings.GRIDCARE_BILLING_CALL_VALID_HOURS},
        status=409,
    )


def execute(case: DisconnectionCase, *, actor: Actor, at: dt.datetime) -> DisconnectionCase:
    """停电: after the notice period (and, for non-residential customers, the call), with the
    exemptions checked again at ``at``; by a field work order or a remote trip command."""
    _require(actor, BILLING_ROLES, _("您的岗位不能办理欠费停电"))
    _not_future(at, _("停电时间"))
    with transaction.atomic():
        current = _locked(case)
        customer = current.customer
        if current.state not in (State.NOTIFIED, State.CALLED):
            raise _illegal(current, _("执行停电"))
        assert current.earliest_cut_at is not None  # set with NOTIFIED
        if at < current.earliest_cut_at:
            raise ApiError(
                ErrorCode.CUT_TOO_EARLY,
                _("通知期未满，最早可于%(at)s停电") % {"at": _local(current.earliest_cut_at)},
                status=409,
                earliest_cut_at=clock.local(current.earliest_cut_at).isoformat(),
            )
        setting = BillingSetting.current(clock.local(at).date())
        _check_call(current, at, setting)
        account = BillingAccount.objects.select_for_update().filter(customer=customer).first()
        if account is None or account.arrears <= 0:
            raise ApiError(ErrorCode.ARREARS_CLEARED, _("该客户欠费已结清，不能停电"), status=409)
        _refuse_if_exempt(customer, at, _("停电时刻复核：该客户不得停电"))
        data: dict[str, Any] = {"at": clock.local(at).isoformat(), "arrears": account.arrears}
        if current.method == DisconnectionCase.Method.REMOTE and (prepaid := _remote_prepaid(customer)):
            PrepaidCommand.objects.create(
                account=prepaid,
                kind=PrepaidCommand.Kind.TRIP,
                reason=_("欠费停电 %(n)s") % {"n": current.number},
                sent_at=at,
            )
            data["command"] = "trip"
        else:
            _require(actor, FIELD_CUT_ROLES, _("现场停电工单须由电费核算员发起"))
            order, _created = create_work_order(
                actor=actor,
                intake=Intake(
                    order_type=OrderType.BUSINESS,
                    subtype="arrears_disconnection",
                    channel=OrderChannel.HALL,
                    customer=customer,
                    content=_(
                        "欠费停电（停复电工单 %(number)s）：户号%(account)s，欠费%(arrears)s元，"
                        "通知已于%(delivered)s送达，请现场实施停电并回单。"
                    )
                    % {
                        "number": current.number,
                        "account": customer.account_no,
                        "arrears": account.arrears,
                        "delivered": _local(current.notice_delivered_at or at),
                    },
                ),
                idempotency_key=f"billing-cut:{current.number}",
            )
            current.field_order = order
            data["field_order"] = order.number
        before = current.state
        current.state, current.disconnected_at, current.arrears = State.DISCONNECTED, at, account.arrears
        current.save(update_fields=["state", "disconnected_at", "arrears", "field_order"])
        Customer.objects.filter(pk=customer.pk).update(status=Customer.Status.DISCONNECTED)
        _event(current, "disconnect", actor, clock.now(), from_state=before, data=data)
    return current


# --- Reconnection --------------------------------------------------------------------------------


def on_paid(customer_id: int, at: datetime) -> None:
    """After a payment commits: once the customer's arrears are cleared, a case not yet cut is
    cancelled ("paid before the cut") and a cut one moves to reconnection, due
    ``reconnect_hours`` after ``at`` (a remote meter is closed at once). Idempotent. (A caller
    on a hot path may first ask ``OPEN_CASES_SQL`` whether there is a case at all.)"""
    with transaction.atomic():
        account = BillingAccount.objects.select_for_update().filter(customer_id=customer_id).first()
        if account is None or account.arrears > 0:
            return
        cases = list(
            DisconnectionCase.objects.select_for_update()
            .select_related("customer")
            .filter(customer_id=customer_id, state__in=(*BEFORE_CUT, State.DISCONNECTED))
            .order_by("id")
        )
        if not cases:
            return
        setting = BillingSetting.current(clock.local(at).date())
        for case in cases:
            before = case.state
            case.paid_at = at
            if before in BEFORE_CUT:
                case.state, case.cancel_reason = State.CANCELLED, _("停电前已缴清")
                case.save(update_fields=["state", "paid_at", "cancel_reason"])
                _event(case, "cancel", None, at, from_state=before, note=case.cancel_reason)
                continue
            case.reconnect_due_at = at + dt.timedelta(hours=setting.reconnect_hours)
            case.state, case.warning_level = State.RECONNECTING, 0
            prepaid = (
                _remote_prepaid(case.customer) if case.method == DisconnectionCase.Method.REMOTE else None
            )
            data: dict[str, Any] = {"due_at": clock.local(case.reconnect_due_at).isoformat()}
            if prepaid is not None:
                PrepaidCommand.objects.create(
                    account=prepaid,
                    kind=PrepaidCommand.Kind.CLOSE,
                    reason=_("缴清复电 %(n)s") % {"n": case.number},
                    sent_at=at,
                )
                data["command"] = "close"
            case.save(update_fields=["state", "paid_at", "reconnect_due_at", "warning_level"])
            _event(case, "paid", None, at, from_state=before, data=data)
            if prepaid is not None:
                _reconnected(case, at, None, note=_("远程合闸复电"))
            else:
                contact.text_customer(
                    case.customer,
                    _("【国网】您的户号%(account)s欠费已缴清，我们将于%(due)s前为您恢复供电。")
                    % {"account": case.customer.account_no, "due": _local(case.reconnect_due_at)},
                    dedup=f"billing:reconnect:{case.number}",
                    about=(ABOUT_CASE, case.number),
                )


def _reconnected(case: DisconnectionCase, at: dt.datetime, actor: Actor | None, note: str = "") -> None:
    before = case.state
    case.state, case.reconnected_at = State.RECONNECTED, at
    case.save(update_fields=["state", "reconnected_at"])
    still_cut = (
        DisconnectionCase.objects.filter(
            customer_id=case.customer_id, state__in=(State.DISCONNECTED, State.RECONNECTING)
        )
        .exclude(pk=case.pk)
        .exists()
    )
    if not still_cut:
        Customer.objects.filter(pk=case.customer_id, status=Customer.Status.DISCONNECTED).update(
            status=Customer.Status.ACTIVE
        )
    late = case.reconnect_due_at is not None and at > case.reconnect_due_at
    _event(
        case,
        "reconnect",
        actor,
        clock.now(),
        from_state=before,
        note=note + (_("（超过承诺时限）") if late else ""),
        data={"at": clock.local(at).isoformat(), "late": late},
    )


def record_reconnected(case: DisconnectionCase, at: dt.datetime, actor: Actor) -> DisconnectionCase:
    """复电完成 (the field crew's report)."""
    _require(actor, BILLING_ROLES, _("您的岗位不能办理复电"))
    _not_future(at, _("复电时间"))
    with transaction.atomic():
        current = _locked(case)
        if current.state != State.RECONNECTING:
            raise _illegal(current, _("登记复电"))
        assert current.paid_at is not None  # set with RECONNECTING
        if at < current.paid_at:
            raise ApiError(ErrorCode.INVALID_TIMES, _("复电时间不能早于缴清时间"), status=422)
        _reconnected(current, at, actor)
    return current


def warning_times(case: DisconnectionCase) -> list[dt.datetime]:
    """When the three warning levels of a reconnection fall due: half the time, 80 %, and the
    promise's end (the work orders' default fractions)."""
    assert case.paid_at is not None and case.reconnect_due_at is not None
    span = case.reconnect_due_at - case.paid_at
    return [case.paid_at + span * fraction for fraction in DEFAULT_WARNING_FRACTIONS]


def _warning_recipients(unit: Unit, level: int) -> list[Any]:
    """Level 1: the unit's billing clerks; 2: and its managers (the station head); 3: and the
    managers of the county (or department) above it."""
    people = contact.staff_at([unit.pk], [Role.BILLING_CLERK])
    if level >= 2:
        people += contact.staff_at([unit.pk], [Role.MANAGER])
    if level >= 3:
        above = [u.pk for u in unit.ancestors() if u.kind in TIER_KINDS[3]]
        people += contact.staff_at(above, [Role.MANAGER])
    return people


def raise_reconnection_warnings(now: dt.datetime | None = None) -> int:
    """复电时限预警: move each reconnection to the highest warning level due (levels passed over
    at once are recorded as skipped; only the highest is told); returns how many levels moved.
    A conditional UPDATE on the level read makes a second, concurrent sweep do nothing."""
    now = now or clock.now()
    moved = 0
    cases = DisconnectionCase.objects.filter(
        state=State.RECONNECTING, warning_level__lt=3, reconnect_due_at__isnull=False, paid_at__isnull=False
    ).select_related("customer", "unit")
    for case in cases.order_by("reconnect_due_at", "id"):
        times = warning_times(case)
        level = old = case.warning_level
        while level < 3 and times[level] <= now:
            level += 1
        if level == old:
            continue
        with transaction.atomic():
            if not DisconnectionCase.objects.filter(
                pk=case.pk, state=State.RECONNECTING, warning_level=old
            ).update(warning_level=level):
                continue
            assert case.reconnect_due_at is not None
            for raised in range(old + 1, level + 1):
                DisconnectionEvent.objects.create(
                    case=case,
                    action="warning",
                    at=now,
                    note=(
                        _("复电时限已超期（%(level)s级）")
                        if raised == 3
                        else _("复电时限预警（%(level)s级）")
                    )
                    % {"level": raised}
                    + (_("，已由更高级别预警取代，未单独通知") if raised < level else ""),
                    data={"level": raised, "due_at": clock.local(case.reconnect_due_at).isoformat()}
                    | ({"skipped": True} if raised < level else {}),
                )
            what = _("已超期") if level == 3 else _("即将到期")
            notify.tell_staff(
                _warning_recipients(case.unit, level),
                subject=_("【%(level)s级预警】复电 %(number)s 时限%(what)s")
                % {"level": level, "number": case.number, "what": what},
                body=_("户号%(account)s已于%(paid)s缴清欠费，承诺%(due)s前复电，目前尚未复电，请立即安排。")
                % {
                    "account": case.customer.account_no,
                    "paid": _local(case.paid_at or now),
                    "due": _local(case.reconnect_due_at),
                },
                about=(ABOUT_CASE, case.number),
                dedup=f"billing-reconnect:{case.number}:{level}",
            )
        moved += level - old
    return moved


# --- "533" ---------------------------------------------------------------------------------------


def window_start(year: int, month: int) -> dt.date:
    """The 5th-last day of the month: its last day − 4."""
    return dt.date(year, month, month_calendar.monthrange(year, month)[1] - 4)


def in_533_window(day: dt.date) -> bool:
    """From the 5th-last day of a month to the 3rd of the next."""
    return day.day <= 3 or day >= window_start(day.year, day.month)


def slot_times() -> list[tuple[str, dt.time]]:
    """The three runs a day (``settings.GRIDCARE_BILLING_533_SLOTS``: morning, noon, evening)."""
    slots = [SupervisionRun.Slot.MORNING, SupervisionRun.Slot.NOON, SupervisionRun.Slot.EVENING]
    return [
        (str(slot), dt.time.fromisoformat(text))
        for slot, text in zip(slots, settings.GRIDCARE_BILLING_533_SLOTS, strict=True)
    ]


def current_slot(now: dt.datetime) -> str | None:
    """The latest slot whose time has come today (local time); None before the morning's."""
    clock_time = clock.local(now).time()
    due = [slot for slot, at in slot_times() if at <= clock_time]
    return due[-1] if due else None


def _bulletin_rows(now: dt.datetime) -> list[dict[str, Any]]:
    by_unit: dict[int, dict[str, Any]] = {}
    cases = (
        DisconnectionCase.objects.filter(state__in=(*BEFORE_CUT, State.RECONNECTING))
        .select_related("unit", "customer")
        .order_by("unit__path", "proposed_at", "id")
    )
    for case in cases:
        row = by_unit.setdefault(
            case.unit_id,
            {
                "unit_id": case.unit_id,
                "unit_code": case.unit.code,
                "unit": case.unit.name,
                "disconnections": {"proposed": 0, "notified": 0, "called": 0, "total": 0, "oldest_days": 0},
                "reconnections": {"total": 0, "overdue": 0},
                "cases": [],
            },
        )
        item: dict[str, Any] = {
            "number": case.number,
            "account_no": case.customer.account_no,
            "state": case.state,
        }
        if case.state == State.RECONNECTING:
            overdue = case.reconnect_due_at is not None and case.reconnect_due_at < now
            row["reconnections"]["total"] += 1
            row["reconnections"]["overdue"] += int(overdue)
            item |= {
                "due_at": clock.local(case.reconnect_due_at).isoformat() if case.reconnect_due_at else None,
                "overdue": overdue,
            }
        else:
            age = (now - case.proposed_at).days
            counts = row["disconnections"]
            counts[case.state] += 1
            counts["total"] += 1
            counts["oldest_days"] = max(counts["oldest_days"], age)
            item["age_days"] = age
        if len(row["cases"]) < BULLETIN_CASES_PER_UNIT:
            row["cases"].append(item)
    return list(by_unit.values())


def run_533(now: dt.datetime | None = None) -> SupervisionRun | None:
    """One "533" supervision run: outside the window, or before the morning slot, nothing (None);
    else the run of today's latest slot, written once — a second call answers the run written
    before — with its bulletin per unit and a notice to each unit's billing clerks and managers
    about what is pending there."""
    now = now or clock.now()
    day = clock.local(now).date()
    if not in_533_window(day):
        return None
    slot = current_slot(now)
    if slot is None:
        return None
    existing = SupervisionRun.objects.filter(day=day, slot=slot).first()
    if existing is not None:
        return existing
    rows = _bulletin_rows(now)
    label = SupervisionRun.Slot(slot).label
    try:
        with transaction.atomic():
            run = SupervisionRun.objects.create(day=day, slot=slot, ran_at=now, rows=rows)
            for row in rows:
                unit_id = row["unit_id"]
                cut, back = row["disconnections"], row["reconnections"]
                notify.tell_staff(
                    contact.staff_at([unit_id], contact.BILLING_STAFF),
                    subject=_("【533督办】%(day)s%(slot)s：%(unit)s待办停复电")
                    % {"day": f"{day:%m-%d}", "slot": label, "unit": row["unit"]},
                    body=_(
                        "待停电%(cut)s户（最久%(days)s天），待复电%(back)s户，其中超时%(late)s户。请于今日处理。"
                    )
                    % {
                        "cut": cut["total"],
                        "days": cut["oldest_days"],
                        "back": back["total"],
                        "late": back["overdue"],
                    },
                    about=("billing.supervisionrun", str(run.pk)),
                    dedup=f"billing-533:{day:%Y%m%d}:{slot}:{unit_id}",
                )
    except IntegrityError:  # written by a concurrent run of the same slot
        return SupervisionRun.objects.get(day=day, slot=slot)
    return run


# --- Reading -------------------------------------------------------------------------------------


def visible_cases(viewer: Viewer, active_unit: Unit | None = None) -> QuerySet[DisconnectionCase]:
    return scoping.restrict(
        DisconnectionCase.objects.select_related("customer", "unit", "field_order"),
        viewer,
        "unit",
        active_unit,
    )


def arrears_of(customer: Customer) -> Decimal:
    return BillingAccount.objects.filter(customer=customer).values_list(
        "arrears", flat=True
    ).first() or Decimal("0")
