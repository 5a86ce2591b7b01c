"""The verbs of the monthly calculation (电费核算组): calculate a unit's month, review what it held
back, release the bills, and correct a released bill.

- ``calculate_month`` opens the run of (month, unit) — or calculates again a run not yet released,
  its draft bills and estimated readings replaced — and prices every customer
  (``calculation``).
- ``review`` decides an anomaly: accepted as it is, or the reading corrected and the bill
  priced again.
- ``release`` issues the run's bills when no anomaly is open: open with a due date, the accounts'
  arrears raised, money paid ahead (预存) applied, each customer told by SMS (unless released
  with ``notify=False``: back-dated history).
- ``correct_bill`` prices a released bill again from a corrected reading and issues a correcting
  bill (退补) for the difference; the original stays as it was.

Only billing clerks and managers of a unit above the customers' stations act.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import F, Sum
from django.utils.translation import gettext as _

from gridcare.core import clock, numbering
from gridcare.core.api_errors import ApiError, ErrorCode
from gridcare.customers.models import CustomerPhone
from gridcare.notify import services as notify
from gridcare.notify.models import Channel
from gridcare.org import scoping
from gridcare.org.models import Unit

from . import calculation, payments
from .models import (
    BILLING_ROLES,
    Anomaly,
    Bill,
    BillingAccount,
    BillingRun,
    BillingSetting,
    BillLine,
    BillState,
    MeterReading,
    ReadingKind,
)
from .models import (
    Channel as PaymentChannel,
)

ZERO = Decimal("0")
CORRECTION_PREFIX = "TB"


def _require_clerk(actor, unit: Unit | int | None) -> None:
    if not scoping.has_role(actor, *BILLING_ROLES):
        raise ApiError(ErrorCode.FORBIDDEN_ROLE, _("只有电费核算员或管理人员可以办理"), status=403)
    scoping.require_unit_in_scope(actor, unit)


def first_of_month(day: dt.date) -> dt.date:
    return day.replace(day=1)


def calculate_month(*, actor, unit: Unit, period: dt.date) -> BillingRun:
    """Calculate ``period``'s bills of ``unit``'s customers (again, while not released)."""
    _require_clerk(actor, unit)
    period = first_of_month(period)
    today = clock.local(clock.now()).date()
    if period > first_of_month(today):
        raise ApiError(ErrorCode.INVALID_INPUT, _("不能核算尚未到来的月份"), status=422)
    with transaction.atomic():
        run, _created = BillingRun.objects.select_for_update().get_or_create(period=period, unit=unit)
        if run.state == BillingRun.State.RELEASED:
            raise ApiError(ErrorCode.INVALID_STATE, _("该月电费已发行，请通过更正账单调整"), status=409)
        drafts = Bill.objects.filter(run=run, state=BillState.DRAFT)
        MeterReading.objects.filter(kind=ReadingKind.ESTIMATED, source=f"run:{run.pk}").delete()
        Anomaly.objects.filter(run=run).delete()
        BillLine.objects.filter(bill__in=drafts).delete()
        drafts.delete()
        run.bills = run.anomalies = 0
        run.total_kwh = run.total_amount = ZERO
        run.started_at = clock.now()
        run.save()
        return calculation.calculate(run)


def review(
    *, actor, anomaly: Anomaly, accept: bool, note: str = "", corrected_total: Decimal | None = None
) -> Anomaly:
    """Decide an open anomaly: accepted (the bill stands), or the reading corrected
    (``corrected_total``, the meter's total on the bill's last day) and the bill priced again —
    what the new figures still show comes back as new open anomalies."""
    _require_clerk(actor, anomaly.run.unit)
    with transaction.atomic():
        anomaly = Anomaly.objects.select_for_update().select_related("bill", "run").get(pk=anomaly.pk)
        if anomaly.state != Anomaly.State.OPEN or anomaly.run.state != BillingRun.State.CALCULATED:
            raise ApiError(ErrorCode.INVALID_STATE, _("该异常已处理"), status=409)
        anomaly.reviewed_by = actor
        anomaly.reviewed_at = clock.now()
        anomaly.review_note = note[:200]
        if accept:
            anomaly.state = Anomaly.State.ACCEPTED
            anomaly.save(update_fields=["state", "reviewed_by", "reviewed_at", "review_note"])
        else:
            if corrected_total is None:
                raise ApiError(ErrorCode.INVALID_INPUT, _("请填写更正后的示数"), status=422)
            _correct_reading(anomaly.bill, corrected_total)
            anomaly.state = Anomaly.State.RECALCULATED
            anomaly.save(update_fields=["state", "reviewed_by", "reviewed_at", "review_note"])
            calculation.recalculate_draft(calculation.Context.of(anomaly.run), anomaly.bill)
        _refresh_run_figures(anomaly.run)
    return anomaly


def accept_all(*, actor, run: BillingRun, note: str, kinds: list[str] | None = None) -> int:
    """批量审核通过: accept every open anomaly of the run (of ``kinds``, when given) with one note,
    after the clerk has looked at the list. Returns how many were accepted."""
    _require_clerk(actor, run.unit)
    if not note.strip():
        raise ApiError(ErrorCode.INVALID_INPUT, _("批量审核须填写审核意见"), status=422)
    with transaction.atomic():
        run = BillingRun.objects.select_for_update().get(pk=run.pk)
        if run.state != BillingRun.State.CALCULATED:
            raise ApiError(ErrorCode.INVALID_STATE, _("该批次已发行"), status=409)
        open_ones = Anomaly.objects.filter(run=run, state=Anomaly.State.OPEN)
        if kinds:
            open_ones = open_ones.filter(kind__in=kinds)
        count = open_ones.update(
            state=Anomaly.State.ACCEPTED,
            reviewed_by=actor,
            reviewed_at=clock.now(),
            review_note=note.strip()[:200],
        )
        _refresh_run_figures(run)
    return count


def _correct_reading(bill: Bill, corrected_total: Decimal) -> None:
    reading = (
        MeterReading.objects.filter(customer_id=bill.customer_id, read_on=bill.period_end)
        .order_by("-read_on", "-pk")
        .first()
    )
    if reading is None:
        raise ApiError(ErrorCode.INVALID_STATE, _("找不到该账单的本次示数"), status=409)
    if bill.previous_total is not None and corrected_total < bill.previous_total:
        raise ApiError(ErrorCode.INVALID_INPUT, _("更正后的示数不能小于上次示数"), status=422)
    reading.total = corrected_total
    if reading.kind == ReadingKind.ESTIMATED:
        reading.kind = ReadingKind.ACTUAL
    reading.source = _("已更正")
    reading.save(update_fields=["total", "kind", "source"])


def _refresh_run_figures(run: BillingRun) -> None:
    figures = Bill.objects.filter(run=run).aggregate(kwh=Sum("kwh"), amount=Sum("amount"))
    run.bills = Bill.objects.filter(run=run).count()
    run.anomalies = Anomaly.objects.filter(run=run, state=Anomaly.State.OPEN).count()
    run.total_kwh = figures["kwh"] or ZERO
    run.total_amount = figures["amount"] or ZERO
    run.save(update_fields=["bills", "anomalies", "total_kwh", "total_amount"])


def release(*, actor, run: BillingRun, notify: bool = True) -> BillingRun:
    """Issue the run's bills: refused while an anomaly is open (409 ``anomalies_open``).
    ``notify=False`` issues them without the bill SMS: for a month released after the fact
    (the demo county's back-dated history, an import of past months), whose customers were
    told at the time."""
    _require_clerk(actor, run.unit)
    with transaction.atomic():
        run = BillingRun.objects.select_for_update().get(pk=run.pk)
        if run.state != BillingRun.State.CALCULATED:
            raise ApiError(ErrorCode.INVALID_STATE, _("该批次已发行"), status=409)
        still_open = Anomaly.objects.filter(run=run, state=Anomaly.State.OPEN).count()
        if still_open:
            raise ApiError(
                ErrorCode.ANOMALIES_OPEN,
                _("还有%(count)s条核算异常未审核，不能发行") % {"count": still_open},
                status=409,
            )
        now = clock.now()
        today = clock.local(now).date()
        setting = BillingSetting.current(today)
        due = today + dt.timedelta(days=setting.due_days)
        drafts = Bill.objects.filter(run=run, state=BillState.DRAFT)
        drafts.filter(amount__lte=0).update(state=BillState.PAID, issued_on=today, due_on=due, paid_on=today)
        # 费控 customers: the balance was drawn day by day from the collection system's usage
        # (``prepaid.draw_down``); the month's bill is their statement, settled against it.
        prepaid = drafts.filter(customer__prepaid__isnull=False)
        prepaid.update(
            state=BillState.PAID,
            issued_on=today,
            due_on=due,
            paid_on=today,
            paid=F("amount"),
            note=_("费控预付费结算"),
        )
        owed = list(drafts.filter(amount__gt=0).values_list("customer_id", "amount", "number", "kwh"))
        drafts.filter(amount__gt=0).update(state=BillState.OPEN, issued_on=today, due_on=due)
        _raise_arrears(run)
        if notify:
            _tell_customers(run, owed, due)
        run.state = BillingRun.State.RELEASED
        run.released_at = now
        run.released_by = actor
        run.save(update_fields=["state", "released_at", "released_by"])
        for anomaly in Anomaly.objects.filter(
            run=run, kind=Anomaly.Kind.OVERSHOOT, state=Anomaly.State.ACCEPTED
        ).select_related("bill"):
            refund_estimate(actor=actor, bill=anomaly.bill)
        payments.apply_credit(run=run)
    return run


def refund_estimate(*, actor, bill: Bill) -> Bill | None:
    """多退少补 of an estimate: ``bill`` counts from a total below the previous month's estimated
    reading (``calculation.corrected_estimate``); the previous bill is corrected to that total —
    priced again in the tiers and at the prices it was charged at — and the difference issued as
    a correcting bill, refunded (``correct_bill``). Returns it (None when there is nothing to
    refund)."""
    if bill.previous_total is None:
        return None
    previous = (
        Bill.objects.filter(
            customer_id=bill.customer_id,
            period=calculation.previous_month(bill.period),
            kind=Bill.Kind.ORIGINAL,
            estimated=True,
        )
        .exclude(state=BillState.DRAFT)
        .first()
    )
    if previous is None or previous.current_total is None or bill.previous_total >= previous.current_total:
        return None
    return correct_bill(
        actor=actor,
        bill=previous,
        corrected_total=bill.previous_total,
        reason=_("估抄多计：%(number)s实抄后多退少补") % {"number": bill.number},
    )


def _raise_arrears(run: BillingRun) -> None:
    """Every account of the run's open bills owes their sum more: one statement (UPDATE … FROM,
    PostgreSQL and SQLite ≥ 3.33), not one per customer."""
    account, bill = BillingAccount._meta.db_table, Bill._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""UPDATE {account} SET arrears = {account}.arrears + s.total
                  FROM (SELECT customer_id, SUM(amount) AS total FROM {bill}
                         WHERE run_id = %s AND state = %s GROUP BY customer_id) AS s
                 WHERE {account}.customer_id = s.customer_id""",  # noqa: S608 - names from the models
            [run.pk, BillState.OPEN.value],
        )


def _tell_customers(run: BillingRun, owed: list[tuple[int, Decimal, str, Decimal]], due: dt.date) -> None:
    phones: dict[int, str] = {}
    for customer_id, number in (
        CustomerPhone.objects.filter(
            customer__bills__run=run, customer__bills__state=BillState.OPEN, kind=CustomerPhone.Kind.MOBILE
        )
        .order_by("customer_id", "-is_primary", "id")
        .values_list("customer_id", "number")
    ):
        phones.setdefault(customer_id, number)
    text = _("【国网】您%(month)s电费%(amount)s元（%(kwh)s千瓦时），账单号%(number)s，请于%(due)s前缴纳。")
    month = f"{run.period:%Y年%m月}"
    items = [
        notify.Outgoing(
            channel=Channel.SMS,
            to=phones[customer_id],
            body=text
            % {"month": month, "amount": amount, "kwh": kwh, "number": number, "due": f"{due:%Y-%m-%d}"},
            about=("billing.bill", number),
            dedup_key=f"bill:{number}:issued",
        )
        for customer_id, amount, number, kwh in owed
        if customer_id in phones
    ]
    if items:
        notify.enqueue_prepared([notify.prepare_many(items)], fresh_keys=True)


def correct_bill(*, actor, bill: Bill, corrected_total: Decimal, reason: str) -> Bill:
    """Price a released bill again with its last reading corrected to ``corrected_total`` and
    issue a correcting bill for the difference (positive: owed, due in the usual days; negative:
    refunded — posted as a 退补冲抵 payment, which settles what the customer owes oldest first as
    money would, the rest kept as credit). The original bill is kept as it was."""
    customer_station = bill.customer.station_id
    _require_clerk(actor, customer_station)
    if not reason.strip():
        raise ApiError(ErrorCode.INVALID_INPUT, _("请填写更正原因"), status=422)
    with transaction.atomic():
        # The account first, then the bill: the order a payment locks them in (a refund is
        # posted as one), so a payment at the same moment waits instead of deadlocking.
        BillingAccount.objects.select_for_update().filter(customer_id=bill.customer_id).first()
        bill = Bill.objects.select_for_update().get(pk=bill.pk)
        if bill.state == BillState.DRAFT or bill.kind != Bill.Kind.ORIGINAL or bill.run is None:
            raise ApiError(ErrorCode.INVALID_STATE, _("只能更正已发行的正常账单"), status=409)
        if bill.previous_total is not None and corrected_total < bill.previous_total:
            raise ApiError(ErrorCode.INVALID_INPUT, _("更正后的示数不能小于上次示数"), status=422)
        lines = list(bill.lines.all())
        _correct_reading(bill, corrected_total)
        redo = _priced_again(bill)
        now = clock.now()
        today = clock.local(now).date()
        difference = redo.bill.amount - bill.amount
        correction = Bill.objects.create(
            number=numbering.next_number(CORRECTION_PREFIX, f"{bill.period:%Y%m}", 8),
            customer_id=bill.customer_id,
            period=bill.period,
            kind=Bill.Kind.CORRECTION,
            corrects=bill,
            state=BillState.OPEN if difference > 0 else BillState.PAID,
            period_start=bill.period_start,
            period_end=bill.period_end,
            previous_total=bill.previous_total,
            current_total=corrected_total,
            kwh=redo.bill.kwh - bill.kwh,
            amount=difference,
            issued_on=today,
            due_on=today + dt.timedelta(days=BillingSetting.current(today).due_days),
            paid_on=None if difference > 0 else today,
            note=reason.strip()[:200],
        )
        new_lines = calculation.line_rows(redo.lines, correction)
        new_lines += [
            BillLine(
                bill=correction,
                seq=len(new_lines) + i,
                item=BillLine.Item.ADJUSTMENT,
                label=_("冲减原账单%(number)s：%(label)s") % {"number": bill.number, "label": ln.label},
                tier=ln.tier,
                tou_period=ln.tou_period,
                quantity=-ln.quantity,
                unit=ln.unit,
                price=ln.price,
                amount=-ln.amount,
                version_id=ln.version_id,
            )
            for i, ln in enumerate(lines, start=1)
        ]
        BillLine.objects.bulk_create(new_lines)
        if difference > 0:
            account = BillingAccount.objects.select_for_update().get(customer_id=bill.customer_id)
            account.arrears += difference
            account.save(update_fields=["arrears"])
            payments.apply_credit([bill.customer_id])
        elif difference < 0:
            payments.post_payment(
                customer=bill.customer,
                channel=PaymentChannel.OFFSET,
                reference=correction.number,
                amount=-difference,
                paid_at=now,
                operator=actor,
                unit=payments.acting_unit(actor),
                note=_("更正账单%(number)s退费冲抵") % {"number": correction.number},
                refund=True,
            )
    return correction


def _priced_again(bill: Bill) -> calculation.Priced:
    """The bill priced again as the calculation prices it, from the readings as they are now."""
    assert bill.run is not None
    return calculation.price_batch(calculation.Context.of(bill.run), [bill.customer_id])[0]
