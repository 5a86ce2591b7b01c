"""电费违约金: late fees by rule version (``LateFeeRule`` rows: the 1996 and 2024 《供电营业规则》).

- A bill is overdue from the day after its due date; the fee accrues day by day "从逾期之日起计算至
  交纳日止" — the payment day counts — on what the bill still owes that day, at the rate of the
  rule in force **that day** (a rule change inside the period splits it).
- Residential customers at the residential rate; others at the current-year rate for the days in
  the calendar year of the bill's due date and the prior-years rate for the days after it
  (arrears carried across a year boundary).
- No compounding: a late fee accrues no late fee.
- A partial payment lowers the principal from the day after the payment day (the payment day
  still accrues on what was owed that morning): the fee is *crystallised* up to the payment day
  (``Bill.late_fee_charged``, ``late_fee_from`` = the next day to count).
- A bill's total late fee above 0 and under the rule's minimum (1 yuan) is charged as the minimum.
- ``BillingAccount.late_fee_exempt`` and an approved ``LateFeeWaiver`` stop it (a waiver also drops
  what was charged and not paid). A waiver is requested by one billing clerk or manager and
  approved or rejected by another (``request_waiver``, ``approve_waiver``, ``reject_waiver``).
- A reversed payment (冲正) takes its fee with it: ``replay`` works the fee out again from the due
  date over the payments that stand.

Daily amounts are summed at full precision and the total rounded to the cent.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils.translation import gettext as _

from gridcare.core import clock
from gridcare.core.api_errors import ApiError, ErrorCode
from gridcare.core.memo import Memo
from gridcare.customers.models import Customer
from gridcare.org import scoping

from .models import BILLING_ROLES, CASHIER_ROLES, Bill, BillingAccount, BillState, LateFeeRule, LateFeeWaiver

CENT = Decimal("0.01")
ZERO = Decimal("0")


class Rules:
    """The late-fee rules, read once (ascending by date), and the one in force on a day."""

    def __init__(self) -> None:
        self.rows = list(LateFeeRule.objects.order_by("effective_from"))

    @classmethod
    def current(cls) -> Rules:
        """The rules as this process last read them, for at most ``_RULES_SECONDS`` (a payment
        reads them on every posting; a rule is edited years ahead of its date, and a change
        saved in this process is seen at once)."""
        return _rules.get("all", cls)

    def on(self, day: dt.date) -> LateFeeRule | None:
        found = None
        for rule in self.rows:
            if rule.effective_from <= day:
                found = rule
            else:
                break
        return found


_RULES_SECONDS = 60
_rules: Memo[Rules] = Memo(_RULES_SECONDS)


@receiver([post_save, post_delete], sender=LateFeeRule)
def _rules_changed(**_kwargs) -> None:
    _rules.forget_on_change()


def forget_late_fee_rules() -> None:
    _rules.forget()


def _accrued(
    principal: Decimal, first: dt.date, last: dt.date, due_year: int, residential: bool, rules: Rules
) -> Decimal:
    """The fee on ``principal`` for each day from ``first`` to ``last`` (inclusive), unrounded."""
    total = ZERO
    day = first
    while day <= last:
        rule = rules.on(day)
        if rule is not None:
            if residential:
                rate = rule.residential_per_day
            elif day.year == due_year:
                rate = rule.current_year_per_day
            else:
                rate = rule.prior_years_per_day
            total += principal * rate
        day += dt.timedelta(days=1)
    return total


def _stopped(bill: Bill, account: BillingAccount | None) -> bool:
    return bill.late_fee_waived or (account is not None and account.late_fee_exempt)


def charged_through(
    bill: Bill, day: dt.date, *, residential: bool, account: BillingAccount | None, rules: Rules
) -> Decimal:
    """The bill's total late fee if crystallised through ``day`` (the minimum applied)."""
    if bill.due_on is None or bill.state not in (BillState.OPEN, BillState.PAID) or _stopped(bill, account):
        return bill.late_fee_charged
    first = bill.late_fee_from or bill.due_on + dt.timedelta(days=1)
    owed = bill.amount - bill.paid
    total = bill.late_fee_charged
    if owed > 0 and day >= first:
        total += _accrued(owed, first, day, bill.due_on.year, residential, rules)
    total = total.quantize(CENT, rounding=ROUND_HALF_UP)
    if total > 0:
        rule = rules.on(day)
        if rule is not None and total < rule.minimum:
            total = rule.minimum
    return total


def _residential(customer: Customer) -> bool:
    return customer.customer_class == Customer.CustomerClass.RESIDENTIAL


def owed(bill: Bill, day: dt.date, *, rules: Rules | None = None) -> Decimal:
    """The late fee still to pay if the bill were paid in full on ``day`` (what is charged and
    unpaid, plus what accrues to that day)."""
    account = BillingAccount.objects.filter(customer_id=bill.customer_id).first()
    if bill.late_fee_waived:
        return ZERO
    total = charged_through(
        bill, day, residential=_residential(bill.customer), account=account, rules=rules or Rules()
    )
    return max(total - bill.late_fee_paid, ZERO)


def owed_for_customer(customer_id: int, day: dt.date) -> Decimal:
    """The late fees a customer would pay on ``day`` over all their open bills."""
    rules = Rules()
    bills = Bill.objects.filter(customer_id=customer_id, state=BillState.OPEN).select_related("customer")
    return sum((owed(b, day, rules=rules) for b in bills), ZERO)


def crystallise(bill: Bill, day: dt.date, *, account: BillingAccount | None, rules: Rules) -> Decimal:
    """Charge the fee accrued through ``day`` on the bill (in memory; the caller saves the bill's
    ``late_fee_charged`` and ``late_fee_from``); returns what is charged and not yet paid."""
    if bill.late_fee_waived:
        return ZERO
    if bill.due_on is not None and day > bill.due_on and not _stopped(bill, account):
        bill.late_fee_charged = charged_through(
            bill, day, residential=_residential(bill.customer), account=account, rules=rules
        )
        bill.late_fee_from = max(bill.late_fee_from or day, day + dt.timedelta(days=1))
    return max(bill.late_fee_charged - bill.late_fee_paid, ZERO)


def replay(
    bill: Bill,
    touches: list[tuple[dt.date, Decimal]],
    *,
    account: BillingAccount | None,
    rules: Rules,
) -> None:
    """Work the bill's late fee out again from its due date, as if only ``touches`` — the
    payments still standing that reached the bill, each (its day, what it paid of the bill), in
    the order they were applied — had been made: each crystallises the fee to its day, then
    lowers the principal (in memory; the caller saves ``late_fee_charged``, ``late_fee_from`` and
    ``paid``). Used by a reversal (冲正): a payment that is undone never happened, so neither did
    the fee charged on its day — its minimum and rounding included — and the principal it paid
    owes its fee again from the day it was paid. A waived bill stays waived: nothing is owed on
    it beyond what was paid."""
    if bill.late_fee_waived:
        bill.late_fee_charged = min(bill.late_fee_charged, bill.late_fee_paid)
        return
    if account is not None and account.late_fee_exempt:
        return
    final_paid = bill.paid
    bill.late_fee_charged, bill.late_fee_from, bill.paid = ZERO, None, ZERO
    for day, principal in touches:
        crystallise(bill, day, account=account, rules=rules)
        bill.paid += principal
    bill.paid = final_paid


def _may_waive(person, bill: Bill, *, asking: bool = False) -> None:
    """A billing clerk or manager over the customer decides a waiver; a cashier may also ask for
    one (the customer is at the counter)."""
    if not scoping.has_role(person, *(CASHIER_ROLES if asking else BILLING_ROLES)):
        message = (
            _("只有收费员、电费核算员或管理人员可以申请减免")
            if asking
            else _("只有电费核算员或管理人员可以审批减免")
        )
        raise ApiError(ErrorCode.FORBIDDEN_ROLE, message, status=403)
    scoping.require_in_scope(bill.customer, person, "station_id")


def request_waiver(bill: Bill, *, actor, reason: str) -> LateFeeWaiver:
    """违约金减免申请: asked by a cashier, billing clerk or manager over the customer, with the
    reason, on an open bill that owes a late fee today; another person, a billing clerk or
    manager, decides (``approve_waiver``, ``reject_waiver``). One request at a time per bill, and
    none once one is approved."""
    _may_waive(actor, bill, asking=True)
    reason = reason.strip()
    if not reason:
        raise ApiError(ErrorCode.REASON_REQUIRED, _("请填写减免原因"), status=422)
    with transaction.atomic():
        bill = Bill.objects.select_for_update().select_related("customer").get(pk=bill.pk)
        standing = bill.waivers.filter(
            state__in=[LateFeeWaiver.State.REQUESTED, LateFeeWaiver.State.APPROVED]
        ).first()
        if bill.late_fee_waived or (standing is not None and standing.state == LateFeeWaiver.State.APPROVED):
            raise ApiError(ErrorCode.INVALID_STATE, _("该账单的违约金已减免"), status=409)
        if standing is not None:
            raise ApiError(ErrorCode.INVALID_STATE, _("该账单已有待审批的减免申请"), status=409)
        if bill.state != BillState.OPEN or owed(bill, clock.local(clock.now()).date()) <= 0:
            raise ApiError(ErrorCode.INVALID_STATE, _("该账单没有应缴的违约金"), status=409)
        return LateFeeWaiver.objects.create(bill=bill, reason=reason[:200], requested_by=actor)


def _deciding(waiver: LateFeeWaiver, actor) -> LateFeeWaiver:
    """The waiver locked for a decision by ``actor``: still requested, and not theirs."""
    _may_waive(actor, waiver.bill)
    waiver = LateFeeWaiver.objects.select_for_update().get(pk=waiver.pk)
    if waiver.state != LateFeeWaiver.State.REQUESTED:
        raise ApiError(ErrorCode.INVALID_STATE, _("该减免申请已审批"), status=409)
    if waiver.requested_by_id == actor.pk:
        raise ApiError(ErrorCode.SELF_APPROVAL, _("减免须由申请人以外的人审批"), status=403)
    return waiver


def approve_waiver(waiver: LateFeeWaiver, *, actor, note: str = "") -> LateFeeWaiver:
    """Approve a request: the bill's late fee stops, and what is charged and unpaid — with what
    accrued to today and was never charged — is dropped (the waiver's ``amount``)."""
    with transaction.atomic():
        waiver = _deciding(waiver, actor)
        bill = Bill.objects.select_for_update().select_related("customer").get(pk=waiver.bill_id)
        if bill.late_fee_waived:
            raise ApiError(ErrorCode.INVALID_STATE, _("该账单的违约金已减免"), status=409)
        today = clock.local(clock.now()).date()
        account = BillingAccount.objects.filter(customer_id=bill.customer_id).first()
        unpaid = max(bill.late_fee_charged - bill.late_fee_paid, ZERO)
        accrued = charged_through(
            bill, today, residential=_residential(bill.customer), account=account, rules=Rules()
        )
        waived = max(accrued - bill.late_fee_paid, unpaid)
        if bill.state != BillState.OPEN or waived <= 0:
            raise ApiError(ErrorCode.INVALID_STATE, _("该账单已没有应缴的违约金，请驳回此申请"), status=409)
        bill.late_fee_waived = True
        bill.late_fee_charged = bill.late_fee_paid
        if bill.paid >= bill.amount:
            bill.state, bill.paid_on = BillState.PAID, today
        bill.save(update_fields=["late_fee_waived", "late_fee_charged", "state", "paid_on"])
        waiver.state = LateFeeWaiver.State.APPROVED
        waiver.amount = waived
        waiver.approved_by = actor
        waiver.decided_at = clock.now()
        waiver.decision_note = note.strip()[:200]
        waiver.save(update_fields=["state", "amount", "approved_by", "decided_at", "decision_note"])
        return waiver


def reject_waiver(waiver: LateFeeWaiver, *, actor, note: str) -> LateFeeWaiver:
    """Reject a request, saying why: the fee runs on; a new request may be made."""
    if not note.strip():
        raise ApiError(ErrorCode.REASON_REQUIRED, _("请填写驳回理由"), status=422)
    with transaction.atomic():
        waiver = _deciding(waiver, actor)
        waiver.state = LateFeeWaiver.State.REJECTED
        waiver.approved_by = actor
        waiver.decided_at = clock.now()
        waiver.decision_note = note.strip()[:200]
        waiver.save(update_fields=["state", "approved_by", "decided_at", "decision_note"])
        return waiver


def waive(bill: Bill, *, reason: str, requested_by, approved_by) -> LateFeeWaiver:
    """A request and its approval at once (two people, as ever)."""
    if approved_by.pk == requested_by.pk:
        _may_waive(requested_by, bill)
        raise ApiError(ErrorCode.SELF_APPROVAL, _("减免须由申请人以外的人审批"), status=403)
    waiver = request_waiver(bill, actor=requested_by, reason=reason)
    return approve_waiver(waiver, actor=approved_by)
