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
- ``BillingAccount.late_fee_exempt`` and a ``LateFeeWaiver`` stop it (a waiver also drops what was
  charged and not paid).

Daily amounts are summed at full precision and the total rounded to the cent.
"""

from __future__ import annotations

import datetime as dt
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils.translation import gettext as _

from gridcare.core.api_errors import ApiError, ErrorCode
from gridcare.core.memo import Memo
from gridcare.customers.models import Customer
from gridcare.org import scoping

from .models import BILLING_ROLES, Bill, BillingAccount, BillState, LateFeeRule, LateFeeWaiver

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


def waive(bill: Bill, *, reason: str, requested_by, approved_by) -> LateFeeWaiver:
    """违约金减免: the bill's late fee stops, and what is charged and unpaid is dropped. The
    approver is another person than the requester, a billing clerk or manager over the customer."""
    if not reason.strip():
        raise ApiError(ErrorCode.INVALID_INPUT, _("请填写减免原因"), status=422)
    if approved_by.pk == requested_by.pk:
        raise ApiError(ErrorCode.FORBIDDEN_ROLE, _("减免须由申请人以外的人审批"), status=403)
    for person in (requested_by, approved_by):
        if not scoping.has_role(person, *BILLING_ROLES):
            raise ApiError(ErrorCode.FORBIDDEN_ROLE, _("只有电费核算员或管理人员可以办理减免"), status=403)
        scoping.require_in_scope(bill.customer, person, "station_id")
    with transaction.atomic():
        bill = Bill.objects.select_for_update().select_related("customer").get(pk=bill.pk)
        if bill.late_fee_waived:
            raise ApiError(ErrorCode.INVALID_STATE, _("该账单的违约金已减免"), status=409)
        unpaid = max(bill.late_fee_charged - bill.late_fee_paid, ZERO)
        # What accrued to today and was never charged is waived too (the waiver's amount).
        from gridcare.core import clock

        today = clock.local(clock.now()).date()
        account = BillingAccount.objects.filter(customer_id=bill.customer_id).first()
        accrued = charged_through(
            bill, today, residential=_residential(bill.customer), account=account, rules=Rules()
        )
        waived = max(accrued - bill.late_fee_paid, unpaid)
        bill.late_fee_waived = True
        bill.late_fee_charged = bill.late_fee_paid
        bill.save(update_fields=["late_fee_waived", "late_fee_charged"])
        return LateFeeWaiver.objects.create(
            bill=bill,
            reason=reason.strip()[:200],
            amount=waived,
            requested_by=requested_by,
            approved_by=approved_by,
        )
