"""Payments (缴费): money received by a channel — counter, POS/UnionPay, bank withholding, agents,
online — applied to the customer's oldest debt first, with a receipt; and the daily
reconciliation of each channel.

``post_payment`` is idempotent by the channel's own reference (its transaction number): the first
request posts and applies the money; a retry with the same reference and the same request answers
the first payment unchanged (nothing applied twice, also when the two arrive at once — the
customer's billing account is locked first, and the unique (channel, reference) constraint backs
it); the same reference with another request is refused (409 ``idempotency_key_reused``).

Applied oldest debt first: the open bills by due date, each its late fee owed on the payment day
first (``latefees.crystallise``), then its amount; what is left is the customer's credit (预存) —
or, for a 费控 customer, a purchase on the prepaid balance (``prepaid.on_purchase``). Then
``arrears.on_paid`` cancels a disconnection not yet made or starts the reconnection clock. All in
one transaction.
"""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Q, Sum
from django.utils.translation import gettext as _

from gridcare.core import clock, joined, prepared
from gridcare.core.api_errors import ApiError, ErrorCode
from gridcare.core.joined import Children, JoinedRows, Related
from gridcare.customers.models import Customer
from gridcare.customers.queries import get_customer_for_intake
from gridcare.org import scoping

from . import arrears, latefees, prepaid
from .models import (
    BILLING_ROLES,
    CASHIER_ROLES,
    Allocation,
    Bill,
    BillingAccount,
    BillState,
    Channel,
    Payment,
    Reconciliation,
)

ZERO = Decimal("0")
CENT = Decimal("0.01")
RECEIPT_PREFIX = "SK"


def _check_amount(amount: Decimal) -> Decimal:
    if amount <= 0 or amount != amount.quantize(CENT):
        raise ApiError(ErrorCode.INVALID_AMOUNT, _("缴费金额须大于0且最多两位小数"), status=422)
    if amount >= Decimal("1000000000"):
        raise ApiError(ErrorCode.INVALID_AMOUNT, _("缴费金额过大"), status=422)
    return amount.quantize(CENT)  # "100" is 100.00, in the receipt and every answer


def acting_unit(actor, active_unit=None):
    """The unit a cashier or billing clerk acts for (the payment's 收费单位, a file's 导入单位):
    the unit switched to, else the unit of their first such role; None for someone without one."""
    if active_unit is not None:
        return active_unit
    held = [a.unit for a in scoping.assignments_of(actor) if a.role in CASHIER_ROLES]
    return min(held, key=lambda u: u.path) if held else None


def require_cashier_role(actor) -> None:
    """A payment by a person: a cashier, a billing clerk or a manager."""
    if not scoping.has_role(actor, *CASHIER_ROLES):
        raise ApiError(ErrorCode.FORBIDDEN_ROLE, _("只有收费员、电费核算员或管理人员可以收费"), status=403)


def require_cashier(actor, customer: Customer) -> None:
    """A payment by a person: a cashier, billing clerk or manager over the customer's station
    (404 outside)."""
    require_cashier_role(actor)
    scoping.require_in_scope(customer, actor, "station_id")


def counted_as_money(channel: str = "") -> Q:
    """The payments a day's figures count: posted ones, and not a correcting bill's refund
    (退补冲抵, no money moved) — unless that is the channel asked for."""
    posted = Q(state=Payment.State.POSTED)
    return posted if channel == Channel.OFFSET else posted & ~Q(channel=Channel.OFFSET)


def may_reverse(actor) -> bool:
    """Whether ``actor``'s role lets them reverse a payment (冲正): a billing clerk or a manager,
    not the cashier, who answers for the money taken."""
    return scoping.has_role(actor, *BILLING_ROLES)


def require_reverser(actor, customer: Customer) -> None:
    """A reversal: ``may_reverse`` over the customer's station (404 outside the scope)."""
    if not may_reverse(actor):
        raise ApiError(ErrorCode.FORBIDDEN_ROLE, _("冲正须由电费核算员或管理人员办理"), status=403)
    scoping.require_in_scope(customer, actor, "station_id")


# The statements of a payment, built once (``core.joined``, ``core.prepared``): a channel's
# payment is the hot path of billing (bench/billing (c)), and compiling its ORM queries cost more
# than running them.
_ACCOUNT_EXTRAS: tuple[tuple[str, str | dict[str, str]], ...] = (
    # The new payment's id, reserved with the lock, so its row and receipt number can be
    # written at the end with the rest (``prepared.Writes.insert_numbered``).
    (
        "payment_id",
        {"postgresql": "SELECT nextval(pg_get_serial_sequence('billing_payment', 'id'))", "default": "NULL"},
    ),
)
_IS_PREPAID_SQL = "SELECT 1 FROM billing_prepaidaccount p WHERE {customer}"
# The customer of a channel's payment, by its account number (unique), as a condition on a table.
_CUSTOMER_BY_NUMBER = "{table}.customer_id = (SELECT c.id FROM customers_customer c WHERE c.account_no = %s)"
_OPEN_CASES_SQL = arrears.OPEN_CASES_SQL.format(customer="%s")
# Nothing is locked for a (channel, reference) already posted: a retry is answered from what was
# posted, in a transaction that only read (no rollback, which would also cost the connection its
# prepared statements: psycopg deallocates them all on a rollback).
_NOT_POSTED = "NOT EXISTS (SELECT 1 FROM billing_payment p WHERE p.channel = %s AND p.reference = %s)"
_BY_REFERENCE_WHERE = ["{table}.channel = %s", "{table}.reference = %s"]
_ACCOUNT = JoinedRows(BillingAccount, extras=_ACCOUNT_EXTRAS)
# The same with the customer, by account number (a channel's request: one statement less).
_ACCOUNT_BY_NUMBER = JoinedRows(
    BillingAccount, related=(Related(Customer, "c", "customer_id"),), extras=_ACCOUNT_EXTRAS
)
# A posted payment by its (channel, reference), answered as it was the first time: with its
# customer, its allocations and their bills' numbers — one statement (a retry's answer).
_BILL_NUMBERS = (
    "SELECT {agg}(a.bill_id, b.number) FROM billing_allocation a "
    "JOIN billing_bill b ON b.id = a.bill_id WHERE a.payment_id = {{table}}.id"
)
_BY_REFERENCE = JoinedRows(
    Payment,
    related=(Related(Customer, "c", "customer_id"),),
    children=(Children(Allocation, "allocations", "payment_id", ("id",)),),
    extras=(
        (
            "bill_numbers",
            {
                "postgresql": _BILL_NUMBERS.format(agg="json_object_agg"),
                "default": _BILL_NUMBERS.format(agg="json_group_object"),
            },
        ),
    ),
)
_OPEN_BILLS = JoinedRows(Bill, order_by="{table}.due_on, {table}.period, {table}.id")
# The state written into the statement (not a parameter), so that its plan can always use the
# partial index of open bills.
_OPEN_STATE = f"{{table}}.state = '{BillState.OPEN}'"
_ALL = 1_000_000
_BILL_PAID_FIELDS = ("paid", "state", "paid_on", "late_fee_charged", "late_fee_paid", "late_fee_from")
_PAYMENT_FIELDS = (
    "customer",
    "channel",
    "reference",
    "amount",
    "paid_at",
    "business_day",
    "state",
    "operator",
    "unit",
    "fingerprint",
    "note",
    "created_at",
)


def _by_reference(channel: str, reference: str) -> Payment | None:
    return _answer(_BY_REFERENCE.fetch(None, _BY_REFERENCE_WHERE, [channel, reference], 1))


def _answer(found: list[Payment]) -> Payment | None:
    """The posted payment read by ``_BY_REFERENCE`` (if any), with its allocations' bills."""
    if not found:
        return None
    payment = found[0]
    numbers = joined.extra_value(payment, "bill_numbers") or {}
    if isinstance(numbers, str):  # SQLite gives the JSON's text
        numbers = json.loads(numbers)
    for allocation in payment.allocations.all():
        Allocation.payment.field.set_cached_value(allocation, payment)
        if allocation.bill_id is not None:  # the bill as far as a receipt shows it (the rest loads if asked)
            bill = Bill.from_db(
                connection.alias, ["id", "number"], [allocation.bill_id, numbers[str(allocation.bill_id)]]
            )
            Allocation.bill.field.set_cached_value(allocation, bill)
    return payment


def post_payment(
    *,
    customer: Customer | None = None,
    account_no: str = "",
    viewer: Any = None,
    channel: str,
    reference: str,
    amount: Decimal,
    paid_at: dt.datetime,
    operator=None,
    unit=None,
    fingerprint: str = "",
    note: str = "",
    refund: bool = False,
) -> tuple[Payment, bool]:
    """Post and apply a payment (see the module's docstring); returns (payment, created). A new
    payment comes back with its customer and its allocations (each with its bill) loaded.

    The customer is given, or (a channel's request) found by ``account_no`` in ``viewer``'s
    scope — read with its locked billing account in one statement (404 outside the scope)."""
    if channel not in Channel.values:
        raise ApiError(ErrorCode.INVALID_INPUT, _("未知的缴费渠道"), status=422)
    if (channel == Channel.OFFSET) != refund:  # 退补冲抵 is a correcting bill's refund, and only that
        raise ApiError(ErrorCode.INVALID_INPUT, _("退补冲抵只由更正账单的退费产生"), status=422)
    reference = reference.strip()
    if not reference or len(reference) > 64:
        raise ApiError(ErrorCode.INVALID_INPUT, _("缺少渠道流水号"), status=422)
    amount = _check_amount(amount)
    if paid_at > clock.now() + dt.timedelta(minutes=5):
        raise ApiError(ErrorCode.INVALID_INPUT, _("缴费时间不能晚于当前时间"), status=422)
    try:
        with prepared.atomic():
            # One round trip: the account locked (with its customer, when found by number); then,
            # once that lock is granted, the open bills locked and whether the customer is
            # prepaid; and a payment already posted with this reference. Each statement starts
            # after the one before it, so it sees what a payment that held the account committed.
            who: str | int
            if customer is None:
                whose, who = _CUSTOMER_BY_NUMBER, account_no
                locking = _ACCOUNT_BY_NUMBER.statement(
                    None, ["c.account_no = %s", _NOT_POSTED], [account_no, channel, reference], 1, lock=True
                )
            else:
                whose, who = "{table}.customer_id = %s", customer.pk
                locking = _ACCOUNT.statement(
                    None,
                    ["{table}.customer_id = %s", _NOT_POSTED],
                    [customer.pk, channel, reference],
                    1,
                    lock=True,
                )
            bills_read = _OPEN_BILLS.statement(
                None, [whose, _OPEN_STATE, _NOT_POSTED], [who, channel, reference], _ALL, lock=True
            )
            posted_read = _BY_REFERENCE.statement(None, _BY_REFERENCE_WHERE, [channel, reference], 1)
            if locking is None or bills_read is None or posted_read is None:  # unscoped: never
                raise AssertionError("an unscoped statement is always built")
            account_rows, bill_rows, prepaid_rows, posted_rows = prepared.fetch_together(
                [
                    locking,
                    bills_read,
                    (_IS_PREPAID_SQL.format(customer=whose.format(table="p")), [who]),
                    posted_read,
                ]
            )
            posted = _answer(_BY_REFERENCE.build(posted_rows))
            if posted is not None:  # a retry (or a twin that committed while this one waited)
                return _retried(posted, customer, account_no, viewer, amount, fingerprint), False
            found = (_ACCOUNT_BY_NUMBER if customer is None else _ACCOUNT).build(account_rows)
            if customer is None:
                if not found:  # no such customer in scope (404), or one without a billing account
                    get_customer_for_intake(viewer, account_no)
                    raise ApiError(ErrorCode.NO_BILLING_ACCOUNT, _("该户没有计费档案"), status=422)
                customer = scoping.require_in_scope(found[0].customer, viewer, "station_id")
            elif not found:
                raise ApiError(ErrorCode.NO_BILLING_ACCOUNT, _("该户没有计费档案"), status=422)
            account = found[0]
            payment = Payment(
                customer=customer,
                channel=channel,
                reference=reference,
                amount=amount,
                paid_at=paid_at,
                business_day=clock.local(paid_at).date(),
                operator=operator,
                unit=unit,
                fingerprint=fingerprint[:64],
                note=note[:200],
            )
            writes = prepared.Writes()  # the payment, bills, allocations, account: one round trip
            writes.insert_numbered(
                payment,
                _PAYMENT_FIELDS,
                number="receipt_no",
                prefix=RECEIPT_PREFIX,
                period=f"{clock.local(paid_at):%Y%m%d}",
                width=6,
                pk=joined.extra_value(account, "payment_id"),
            )
            allocations = _apply(
                account,
                payment,
                amount,
                clock.local(paid_at).date(),
                customer,
                writes,
                _OPEN_BILLS.build(bill_rows),
                bool(prepaid_rows),
            )
            # With the writes, how many disconnection cases the payment may move — read after
            # the lock, so a case opened while this payment waited for it is seen.
            cases = writes.run(select=(_OPEN_CASES_SQL, [customer.pk]))
            joined.hold(payment, "allocations", Allocation, allocations)
            if cases:
                arrears.on_paid(customer.pk, paid_at)
            return payment, True
    except IntegrityError:
        # The (channel, reference) was posted by another request that committed after this one
        # looked: answer as a retry is answered (or refuse another request).
        first = _by_reference(channel, reference)
        if first is None:
            raise
        return _retried(first, customer, account_no, viewer, amount, fingerprint), False


def _retried(
    first: Payment, customer: Customer | None, account_no: str, viewer: Any, amount: Decimal, fingerprint: str
) -> Payment:
    """The answer to a reference posted before: the first payment when the request is the same
    one (customer, amount, fingerprint), else 409; a customer named by number is looked up in
    ``viewer``'s scope (404 outside it)."""
    if customer is None:
        if first.customer.account_no == account_no:
            customer = scoping.require_in_scope(first.customer, viewer, "station_id")
        else:
            customer = get_customer_for_intake(viewer, account_no)
    return _same(first, customer, amount, fingerprint)


def _same(first: Payment, customer: Customer, amount: Decimal, fingerprint: str) -> Payment:
    if (
        first.customer_id != customer.pk
        or first.amount != amount
        or (fingerprint and first.fingerprint and fingerprint[:64] != first.fingerprint)
    ):
        raise ApiError(
            ErrorCode.IDEMPOTENCY_KEY_REUSED,
            _("该渠道流水号已用于另一笔缴费"),
            status=409,
        )
    return first


def _apply(
    account: BillingAccount,
    payment: Payment,
    amount: Decimal,
    day: dt.date,
    customer: Customer,
    writes: prepared.Writes,
    bills: list[Bill],
    is_prepaid: bool,
) -> list[Allocation]:
    """Oldest debt first over ``bills`` (the account's open bills, locked, oldest due first):
    each bill's late fee, then its amount; the rest to credit (or to the prepaid balance).
    Writes the allocations and moves the account's figures; returns the allocations."""
    rules = latefees.Rules.current()
    left = amount
    allocations: list[Allocation] = []
    for bill in bills:
        if left <= 0:
            break
        Bill.customer.field.set_cached_value(bill, customer)
        fee = latefees.crystallise(bill, day, account=account, rules=rules)
        pay_fee = min(left, fee)
        if pay_fee > 0:
            bill.late_fee_paid += pay_fee
            left -= pay_fee
            allocations.append(
                Allocation(payment=payment, bill=bill, part=Allocation.Part.LATE_FEE, amount=pay_fee)
            )
        pay_bill = min(left, bill.amount - bill.paid)
        if pay_bill > 0:
            bill.paid += pay_bill
            left -= pay_bill
            account.arrears -= pay_bill
            allocations.append(
                Allocation(payment=payment, bill=bill, part=Allocation.Part.BILL, amount=pay_bill)
            )
        if bill.paid >= bill.amount and bill.late_fee_paid >= bill.late_fee_charged:
            bill.state, bill.paid_on = BillState.PAID, day
        writes.update(bill, _BILL_PAID_FIELDS)
    if left > 0:
        allocations.append(Allocation(payment=payment, bill=None, part=Allocation.Part.CREDIT, amount=left))
        if is_prepaid:
            prepaid.on_purchase(account.customer_id, left, payment.paid_at)
        else:
            account.credit += left
    writes.insert(allocations, ("payment", "bill", "part", "amount"))
    writes.update(account, ("arrears", "credit"))
    return allocations


def apply_credit(customer_ids: list[int] | None = None, *, run=None, day: dt.date | None = None) -> int:
    """Money paid ahead (预存) applied to newly released bills, oldest first: each payment's credit
    allocation (oldest payment first) is turned into allocations to the bills it now pays — so a
    payment's allocations always add up to its amount. Returns how many customers it touched."""
    day = day or clock.local(clock.now()).date()
    touched = 0
    accounts = BillingAccount.objects.select_for_update().filter(credit__gt=0)
    if run is not None:
        accounts = accounts.filter(
            customer_id__in=Bill.objects.filter(run=run, state=BillState.OPEN).values("customer_id")
        )
    else:
        accounts = accounts.filter(customer_id__in=customer_ids or [])
    for account in accounts:
        credits = list(
            Allocation.objects.select_for_update()
            .filter(payment__customer_id=account.customer_id, part=Allocation.Part.CREDIT, amount__gt=0)
            .exclude(payment__state=Payment.State.REVERSED)
            .order_by("payment__paid_at", "id")
        )
        bills = list(
            Bill.objects.select_for_update()
            .filter(customer_id=account.customer_id, state=BillState.OPEN)
            .order_by("due_on", "period", "id")
        )
        made: list[Allocation] = []
        for bill in bills:
            while bill.paid < bill.amount and credits and account.credit > 0:
                credit = credits[0]
                take = min(credit.amount, bill.amount - bill.paid, account.credit)
                credit.amount -= take
                credit.save(update_fields=["amount"])
                made.append(
                    Allocation(
                        payment_id=credit.payment_id, bill=bill, part=Allocation.Part.BILL, amount=take
                    )
                )
                bill.paid += take
                account.credit -= take
                account.arrears -= take
                if credit.amount <= 0:
                    credits.pop(0)
            if bill.paid >= bill.amount:
                bill.state, bill.paid_on = BillState.PAID, day
            bill.save(update_fields=["paid", "state", "paid_on"])
        if made:
            Allocation.objects.bulk_create(made)
            Allocation.objects.filter(
                payment__customer_id=account.customer_id, part=Allocation.Part.CREDIT, amount=0
            ).delete()
            account.save(update_fields=["credit", "arrears"])
            touched += 1
    return touched


def reverse_payment(payment: Payment, *, actor, reason: str) -> Payment:
    """冲正: undo a payment — its bills owe again (reopened), its late fees unpaid, its credit
    taken back (refused when that credit was spent since). The allocations stay as history."""
    require_reverser(actor, payment.customer)
    if not reason.strip():
        raise ApiError(ErrorCode.INVALID_INPUT, _("请填写冲正原因"), status=422)
    with transaction.atomic():
        account = BillingAccount.objects.select_for_update().get(customer_id=payment.customer_id)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        if payment.state == Payment.State.REVERSED:
            raise ApiError(ErrorCode.INVALID_STATE, _("该笔缴费已冲正"), status=409)
        parts = list(payment.allocations.all())
        credit = sum((a.amount for a in parts if a.part == Allocation.Part.CREDIT), ZERO)
        if credit > account.credit:
            raise ApiError(ErrorCode.INVALID_STATE, _("该笔缴费的预存已被使用，不能直接冲正"), status=409)
        rules = latefees.Rules()
        bills = (
            Bill.objects.select_for_update()
            .select_related("customer")
            .in_bulk({a.bill_id for a in parts if a.bill_id is not None})
        )
        for bill in bills.values():
            mine = [a for a in parts if a.bill_id == bill.pk]
            principal = sum((a.amount for a in mine if a.part == Allocation.Part.BILL), ZERO)
            bill.paid -= principal
            bill.late_fee_paid -= sum((a.amount for a in mine if a.part == Allocation.Part.LATE_FEE), ZERO)
            account.arrears += principal
            # The fee charged on the reversed payment's day goes with it: worked out again from
            # the due date over the payments that stand (latefees.replay).
            latefees.replay(bill, _touches(bill, payment), account=account, rules=rules)
            if bill.paid < bill.amount or bill.late_fee_paid < bill.late_fee_charged:
                bill.state, bill.paid_on = BillState.OPEN, None
            bill.save(
                update_fields=[
                    "paid",
                    "late_fee_paid",
                    "late_fee_charged",
                    "late_fee_from",
                    "state",
                    "paid_on",
                ]
            )
        account.credit -= credit
        account.save(update_fields=["arrears", "credit"])
        payment.state = Payment.State.REVERSED
        payment.note = (_("冲正：%(reason)s") % {"reason": reason.strip()})[:200]
        payment.save(update_fields=["state", "note"])
    return payment


def _touches(bill: Bill, reversed_payment: Payment) -> list[tuple[dt.date, Decimal]]:
    """The standing payments that reached ``bill`` (any part), in the order they were applied —
    posting order, which allocation ids follow (they are written under the account's lock; a
    payment dated earlier may have been posted later) — each (its business day, what it paid of
    the bill)."""
    touches: dict[int, list] = {}
    rows = (
        Allocation.objects.filter(bill=bill, payment__state=Payment.State.POSTED)
        .exclude(payment=reversed_payment)
        .order_by("id")
        .values_list("id", "payment_id", "payment__business_day", "part", "amount")
    )
    for allocation_id, payment_id, day, part, amount in rows:
        touch = touches.setdefault(payment_id, [allocation_id, day, ZERO])
        if part == Allocation.Part.BILL:
            touch[2] += amount
    return [(day, principal) for _first, day, principal in sorted(touches.values(), key=lambda t: t[0])]


def reconcile(
    channel: str,
    business_day: dt.date,
    their_count: int,
    their_total: Decimal,
    *,
    actor,
    unit,
    their_rows: list[tuple[str, Decimal]] | None = None,
) -> Reconciliation:
    """日对账: our posted payments of the channel and day against the channel's statement — the
    counts and totals, and with the channel's rows (reference, amount) each difference: on
    their side only, on ours only, or a different amount. Ours are the payments of the customers
    under ``unit`` (in the actor's scope). Re-running replaces the day's result."""
    if channel not in Channel.values:
        raise ApiError(ErrorCode.INVALID_INPUT, _("未知的缴费渠道"), status=422)
    if not scoping.has_role(actor, *BILLING_ROLES):
        raise ApiError(ErrorCode.FORBIDDEN_ROLE, _("只有电费核算员或管理人员可以对账"), status=403)
    scoping.require_unit_in_scope(actor, unit)
    ours_qs = Payment.objects.filter(
        channel=channel,
        business_day=business_day,
        state=Payment.State.POSTED,
        customer__station__in=unit.subtree(),
    )
    figures = ours_qs.aggregate(count=Count("id"), total=Sum("amount"))
    differences: list[dict[str, str]] = []
    if their_rows is not None:
        ours = dict(ours_qs.values_list("reference", "amount"))
        theirs = dict(their_rows)
        for ref, amount in sorted(theirs.items()):
            if ref not in ours:
                differences.append(
                    {"reference": ref, "kind": "missing_ours", "theirs": str(amount), "ours": ""}
                )
            elif ours[ref] != amount:
                differences.append(
                    {"reference": ref, "kind": "amount", "theirs": str(amount), "ours": str(ours[ref])}
                )
        for ref, amount in sorted(ours.items()):
            if ref not in theirs:
                differences.append(
                    {"reference": ref, "kind": "missing_theirs", "theirs": "", "ours": str(amount)}
                )
    our_total = figures["total"] or ZERO
    balanced = figures["count"] == their_count and our_total == their_total and not differences
    result, _created = Reconciliation.objects.update_or_create(
        channel=channel,
        business_day=business_day,
        unit=unit,
        defaults={
            "our_count": figures["count"],
            "our_total": our_total,
            "their_count": their_count,
            "their_total": their_total,
            "differences": differences,
            "balanced": balanced,
            "done_at": clock.now(),
            "done_by": actor,
        },
    )
    return result
