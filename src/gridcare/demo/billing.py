"""The demo county's billing: a billing account for every customer on the tariff of its category,
13 months of meter readings (on the 25th, with each category's seasons, time-of-use registers
for TOU and business meters, reactive energy and maximum demand for large industry, a few months
unread), and every month calculated, reviewed and released by the county's billing clerk through
``billing.runs`` at the time it would have happened (``clock.frozen``) — so the bills, their
lines, estimates and anomalies are what production makes. Payment points: a service hall per
station, a post office and a bank agent per county.

Payments, arrears, disconnections and prepaid accounts follow in ``pay_and_owe`` once bills exist.
"""

from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction
from django.db.models import F, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce

from gridcare.billing import arrears, latefees, payments, prepaid, runs
from gridcare.billing.calculation import month_end, previous_month
from gridcare.billing.models import (
    Allocation,
    Anomaly,
    Bill,
    BillingAccount,
    BillingRun,
    BillState,
    DailyUsage,
    MeterReading,
    Payment,
    PaymentPoint,
    PrepaidAccount,
    ReadingKind,
    TariffSchedule,
)
from gridcare.core import bulk, clock, numbering
from gridcare.customers.models import Customer, Meter
from gridcare.org.models import Role, RoleAssignment, Unit

SCHEDULE_OF: dict[str, str] = {
    Customer.TariffCategory.RESIDENTIAL_TIERED: "zj-residential",
    Customer.TariffCategory.RESIDENTIAL_TOU: "zj-residential-tou",
    Customer.TariffCategory.GENERAL_BUSINESS: "demo-business",
    Customer.TariffCategory.LARGE_INDUSTRY_TWO_PART: "demo-large-industry",
    Customer.TariffCategory.AGRICULTURE: "demo-agriculture",
}
# Monthly usage against the year's average, by month (air conditioning in summer, heating in winter).
SEASON = {
    1: 1.3,
    2: 1.2,
    3: 1.0,
    4: 0.85,
    5: 0.9,
    6: 1.1,
    7: 1.5,
    8: 1.6,
    9: 1.1,
    10: 0.85,
    11: 0.95,
    12: 1.2,
}
FARM_SEASON = {
    1: 0.5,
    2: 0.5,
    3: 0.8,
    4: 1.2,
    5: 1.4,
    6: 1.6,
    7: 1.8,
    8: 1.6,
    9: 1.2,
    10: 0.8,
    11: 0.6,
    12: 0.5,
}
READ_DAY = 25
UNREAD_SHARE = 0.004


@dataclass
class BillingReport:
    accounts: int = 0
    readings: int = 0
    runs: int = 0
    bills: int = 0
    estimated: int = 0
    prepaid: int = 0
    payments: int = 0
    cases: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


def _months(today: dt.date) -> list[dt.date]:
    last = previous_month(today.replace(day=1))
    months = [last]
    for _ in range(12):
        months.append(previous_month(months[-1]))
    return list(reversed(months))


def _monthly_kwh(rng: random.Random, category: str, capacity: Decimal) -> float:
    if category == Customer.TariffCategory.LARGE_INDUSTRY_TWO_PART:
        return float(capacity or 630) * rng.uniform(120, 380)
    if category == Customer.TariffCategory.GENERAL_BUSINESS:
        return rng.uniform(500, 8000)
    if category == Customer.TariffCategory.AGRICULTURE:
        return rng.uniform(200, 3000)
    base = rng.lognormvariate(5.3, 0.45)  # most households 120–400 kWh, a few far above
    return min(base, 1500)


def make_billing(*, seed: int = 95598, progress=None) -> BillingReport:
    """The county's billing (see the module's docstring), in one transaction: the runs' own
    transactions become savepoints, so SQLite does not commit (and sync) after every verb."""
    started = time.perf_counter()
    with transaction.atomic():
        report = _make_billing(seed, progress or (lambda _message: None))
    report.seconds["total"] = time.perf_counter() - started
    return report


def _make_billing(seed: int, say) -> BillingReport:
    report = BillingReport()
    lap = time.perf_counter()
    rng = random.Random(seed + 19)
    today = clock.local(clock.now()).date()
    months = _months(today)
    schedules = {s.code: s for s in TariffSchedule.objects.all()}
    rows = list(
        Customer.objects.exclude(status=Customer.Status.CLOSED)
        .order_by("pk")
        .values_list("pk", "tariff_category", "contracted_capacity_kva", "customer_class")
    )
    accounts = []
    profile: dict[int, tuple[str, float, Decimal]] = {}
    for pk, category, capacity, customer_class in rows:
        code = SCHEDULE_OF.get(category, "zj-residential")
        large = category == Customer.TariffCategory.LARGE_INDUSTRY_TWO_PART
        accounts.append(
            BillingAccount(
                customer_id=pk,
                schedule=schedules[code],
                household_persons=rng.choice([1, 2, 3, 3, 4, 4, 5, 6])
                if customer_class == "residential"
                else 0,
                power_factor_standard=Decimal("0.90") if large else None,
                demand_basis=BillingAccount.DemandBasis.CAPACITY,
            )
        )
        profile[pk] = (
            category,
            _monthly_kwh(rng, category, capacity or Decimal("0")),
            capacity or Decimal("0"),
        )
    BillingAccount.objects.bulk_create(accounts, batch_size=5000, ignore_conflicts=True)
    report.accounts = len(accounts)
    report.prepaid = _prepaid_accounts(rng, profile)
    report.readings = _readings(rng, months, profile)
    _payment_points()
    report.seconds["accounts and readings"], lap = time.perf_counter() - lap, time.perf_counter()
    say(f"billing: {report.accounts:,} accounts, {report.readings:,} readings; calculating 13 months")
    counties = list(Unit.objects.filter(kind=Unit.Kind.COUNTY).order_by("pk"))
    for month in months:
        for county in counties:
            clerk = (
                RoleAssignment.objects.filter(role=Role.BILLING_CLERK, unit=county)
                .select_related("user")
                .first()
            )
            if clerk is None:
                continue
            release_day = month_end(month) + dt.timedelta(days=2)
            with clock.frozen(dt.datetime.combine(release_day, dt.time(9, 0), tzinfo=clock.LOCAL_TZ)):
                run = runs.calculate_month(actor=clerk.user, unit=county, period=month)
                report.estimated += Anomaly.objects.filter(run=run, kind=Anomaly.Kind.READING_MISSING).count()
                runs.accept_all(actor=clerk.user, run=run, note="演示：已逐户核实")
                # The past months' customers were told at the time: only the last month's
                # release queues its bill SMS (thousands of back-dated texts would only flood
                # the outbox the demo's worker then delivers).
                runs.release(
                    actor=clerk.user, run=BillingRun.objects.get(pk=run.pk), notify=month == months[-1]
                )
            report.runs += 1
            report.bills += run.bills
        say(f"billing: {month:%Y-%m} calculated and released ({time.perf_counter() - lap:.0f} s)")
    report.seconds["runs"], lap = time.perf_counter() - lap, time.perf_counter()
    chosen = _case_customers()
    report.payments = _pay_history(rng, months, chosen)
    report.cases = _cases(chosen)
    report.seconds["payments and cases"] = time.perf_counter() - lap
    return report


def check_billing() -> list[str]:
    """What does not add up in the billing written (empty when all does): every account's arrears
    is what its open bills still owe; every posted payment's allocations add up to it; every bill
    of a customer who is not prepaid has been paid what was allocated to it (a 费控 customer's
    bill is settled against the balance, without an allocation). Aggregates, not a walk."""
    problems = []
    owed = dict(
        Bill.objects.filter(state=BillState.OPEN)
        .order_by()
        .values("customer_id")
        .annotate(total=Sum(F("amount") - F("paid")))
        .values_list("customer_id", "total")
    )
    for customer_id, arrears_now in BillingAccount.objects.values_list("customer_id", "arrears"):
        if arrears_now != owed.get(customer_id, Decimal("0")):
            problems.append(
                f"customer {customer_id}: arrears {arrears_now} but open bills owe {owed.get(customer_id, 0)}"
            )
    allocated = dict(
        Allocation.objects.order_by()
        .values("payment_id")
        .annotate(total=Sum("amount"))
        .values_list("payment_id", "total")
    )
    for payment_id, amount in Payment.objects.filter(state=Payment.State.POSTED).values_list("pk", "amount"):
        if allocated.get(payment_id, Decimal("0")) != amount:
            problems.append(f"payment {payment_id}: {amount} but {allocated.get(payment_id, 0)} allocated")
    paid_by_allocation = dict(
        Allocation.objects.filter(part=Allocation.Part.BILL)
        .order_by()
        .values("bill_id")
        .annotate(total=Sum("amount"))
        .values_list("bill_id", "total")
    )
    for bill_id, paid in Bill.objects.filter(customer__prepaid__isnull=True).values_list("pk", "paid"):
        if paid != paid_by_allocation.get(bill_id, Decimal("0")):
            problems.append(f"bill {bill_id}: paid {paid} but {paid_by_allocation.get(bill_id, 0)} allocated")
    return problems


# How customers pay (the mix of channels), and the share who pay a bill late or not yet.
CHANNEL_MIX = [("withholding", 35), ("online", 40), ("counter", 12), ("agent", 8), ("pos", 5)]
LATE_SHARE = 0.03
OWING_CUSTOMERS = 0.02


def _case_customers() -> list[tuple[int, str]]:
    """The two customers whose cases the demo walks: the first household and the first shop (by
    account number) with a mobile on file, not prepaid, and nothing that exempts them from a
    disconnection now (an open complaint from the history, a vulnerable household …)."""
    now = clock.now()
    chosen = []
    for customer_class, step in (("residential", "notified"), ("non_residential", "reconnecting")):
        candidates = (
            Customer.objects.filter(
                customer_class=customer_class,
                billing__isnull=False,
                prepaid__isnull=True,
                is_key=False,
                phones__kind="mobile",
            )
            .exclude(vulnerable_kind__gt="")
            .select_related("station")
            .order_by("account_no")[:200]
        )
        for customer in candidates:
            if not any(e.blocks for e in arrears.exemptions(customer, now)):
                chosen.append((customer.pk, step))
                break
    return chosen


def _pay_history(rng: random.Random, months: list[dt.date], chosen: list[tuple[int, str]]) -> int:
    """Every bill of the past months paid — most before the due date, a few late with their late
    fee — except those of a few customers who owe one to three months; the last month's bills
    paid by about half the customers so far (bank withholding goes first). Written in bulk as
    the history the channels left (payments, their allocations, the bills paid, the accounts'
    arrears recomputed from the open bills)."""
    today = clock.local(clock.now()).date()
    rules = latefees.Rules()
    channels = [c for c, weight in CHANNEL_MIX for _ in range(weight)]
    customers = list(BillingAccount.objects.order_by("customer_id").values_list("customer_id", flat=True))
    owing = {c: rng.randint(1, 3) for c in customers if rng.random() < OWING_CUSTOMERS}
    # The customers whose cases the demo walks (``_cases``) owe three months.
    for pk, _step in chosen:
        owing[pk] = 3
    last = months[-1]
    written = 0
    for month in months:
        with transaction.atomic():
            written += _pay_month(rng, month, last, today, owing, channels, rules)
    owed = (
        Bill.objects.filter(customer_id=OuterRef("customer_id"), state=BillState.OPEN)
        .order_by()
        .values("customer_id")
        .annotate(total=Sum(F("amount") - F("paid")))
        .values("total")
    )
    BillingAccount.objects.update(arrears=Coalesce(Subquery(owed), Decimal("0")))
    return written


def _pay_month(
    rng: random.Random,
    month: dt.date,
    last: dt.date,
    today: dt.date,
    owing: dict[int, int],
    channels: list[str],
    rules: latefees.Rules,
) -> int:
    """One month's payments (see ``_pay_history``); returns how many. Read and written as rows
    (no model instances but for the few bills paid late, whose fee ``latefees`` works out)."""
    bills = list(
        Bill.objects.filter(period=month, state=BillState.OPEN, kind=Bill.Kind.ORIGINAL)
        .order_by("id")
        .values_list("pk", "customer_id", "amount", "issued_on", "due_on", "customer__customer_class", "paid")
    )
    months_back = (last.year - month.year) * 12 + last.month - month.month
    rows, fees = [], {}
    # Bills part-settled already (an estimate refunded at the next month's release, 退补冲抵):
    # what is left is paid through ``payments.post_payment`` itself, its late fee and all.
    settled_in_part: list[tuple[int, str, dt.datetime]] = []
    for bill_id, customer_id, amount, issued_on, due_on, customer_class, paid in bills:
        if owing.get(customer_id, -1) > months_back:
            continue  # owes this month and the ones after it
        channel = rng.choice(channels)
        if month == last and not (channel == "withholding" or rng.random() < 0.35):
            continue  # not paid yet
        late = rng.random() < LATE_SHARE and month != last
        assert issued_on is not None and due_on is not None
        day = (
            due_on + dt.timedelta(days=rng.randint(3, 25))
            if late
            else issued_on + dt.timedelta(days=rng.randint(0, (due_on - issued_on).days))
        )
        day = min(day, today)
        fee = Decimal("0")
        if day > due_on:
            fee = latefees.charged_through(
                _unpaid(bill_id, amount, due_on),
                day,
                residential=customer_class == "residential",
                account=None,
                rules=rules,
            )
            fees[bill_id] = (fee, day)
        paid_at = dt.datetime.combine(
            day, dt.time(rng.randint(8, 20), rng.randint(0, 59)), tzinfo=clock.LOCAL_TZ
        )
        if paid:
            fees.pop(bill_id, None)
            settled_in_part.append((bill_id, channel, paid_at))
            continue
        rows.append((bill_id, customer_id, amount, channel, paid_at, fee))
    for bill_id, channel, paid_at in settled_in_part:
        bill = Bill.objects.select_related("customer").get(pk=bill_id)
        owed = bill.amount - bill.paid + latefees.owed(bill, clock.local(paid_at).date(), rules=rules)
        payments.post_payment(
            customer=bill.customer, channel=channel, reference=f"H{bill.number}", amount=owed, paid_at=paid_at
        )
    if not rows:
        return len(settled_in_part)
    first = numbering.next_block("SKH", f"{month:%Y%m}", len(rows))
    numbers = [f"SKH{month:%Y%m}{first + i:07d}" for i in range(len(rows))]
    bulk.insert_rows(
        Payment._meta.db_table,
        (
            "receipt_no",
            "customer_id",
            "channel",
            "reference",
            "amount",
            "paid_at",
            "business_day",
            "state",
            "fingerprint",
            "note",
            "created_at",
        ),
        [
            (
                number,
                customer_id,
                channel,
                f"H{number}",
                amount + fee,
                paid_at,
                clock.local(paid_at).date(),
                Payment.State.POSTED.value,
                "",
                "",
                paid_at,
            )
            for number, (_bill, customer_id, amount, channel, paid_at, fee) in zip(numbers, rows, strict=True)
        ],
    )
    ids = dict(
        Payment.objects.filter(receipt_no__gte=numbers[0], receipt_no__lte=numbers[-1]).values_list(
            "receipt_no", "id"
        )
    )
    allocations = []
    for number, (bill_id, _customer, amount, _channel, _paid_at, fee) in zip(numbers, rows, strict=True):
        if fee:
            allocations.append((ids[number], bill_id, Allocation.Part.LATE_FEE.value, fee))
        allocations.append((ids[number], bill_id, Allocation.Part.BILL.value, amount))
    bulk.insert_rows(Allocation._meta.db_table, ("payment_id", "bill_id", "part", "amount"), allocations)
    _mark_paid(
        [(clock.local(paid_at).date(), bill_id) for bill_id, _c, _a, _ch, paid_at, _fee in rows],
        [(fee, fee, day + dt.timedelta(days=1), bill_id) for bill_id, (fee, day) in fees.items()],
    )
    return len(rows) + len(settled_in_part)


def _unpaid(bill_id: int, amount: Decimal, due_on: dt.date) -> Bill:
    """A bill just issued, nothing paid and no late fee charged yet (as ``latefees`` reads it)."""
    return Bill(pk=bill_id, amount=amount, due_on=due_on, state=BillState.OPEN)


def _mark_paid(paid: list[tuple[dt.date, int]], fees: list[tuple[Decimal, Decimal, dt.date, int]]) -> None:
    """The bills paid in full (``paid``: (paid on, bill id)) and the late fees charged and paid
    with them (``fees``: (charged, paid, charged through + 1 day, bill id)), one prepared
    statement each."""
    ops, quote = connection.ops, connection.ops.quote_name
    table = quote(Bill._meta.db_table)
    day, money = ops.adapt_datefield_value, ops.adapt_decimalfield_value
    with connection.cursor() as cursor:
        cursor.executemany(
            f"UPDATE {table} SET state = %s, paid = amount, paid_on = %s WHERE id = %s",  # noqa: S608
            [(BillState.PAID.value, day(on), pk) for on, pk in paid],
        )
        if fees:
            cursor.executemany(
                f"UPDATE {table} SET late_fee_charged = %s, late_fee_paid = %s, late_fee_from = %s "  # noqa: S608
                "WHERE id = %s",
                [(money(charged), money(fee), day(since), pk) for charged, fee, since, pk in fees],
            )


def _cases(chosen: list[tuple[int, str]]) -> int:
    """One disconnection under way (a household owing three months: reminded, proposed, the
    notice delivered — the cut may come in a few days) and one reconnection under way (a shop cut
    yesterday for arrears that paid this morning: to be reconnected within 24 hours)."""
    now = clock.now()
    made = 0
    for pk, step in chosen:
        customer = Customer.objects.select_related("station").get(pk=pk)
        clerk = (
            RoleAssignment.objects.filter(role=Role.BILLING_CLERK, unit__in=customer.station.ancestors())
            .select_related("user")
            .order_by("-unit__depth")
            .first()
        )
        if clerk is not None and _walk_case(customer, clerk.user, step, now):
            made += 1
    return made


def _walk_case(customer: Customer, clerk, step: str, now: dt.datetime) -> bool:
    """Walk one customer's case to ``step`` through the verbs, at past times."""
    from gridcare.core.api_errors import ApiError

    try:
        with clock.frozen(now - dt.timedelta(days=12)):
            arrears.send_reminders(clock.now())
            case = arrears.propose_disconnection(customer, actor=clerk)
        with clock.frozen(now - dt.timedelta(days=10)):
            case = arrears.record_notice(
                case, delivered_at=clock.now(), proof="挂号信回执 XB2026", actor=clerk
            )
        if step == "notified":
            return True
        with clock.frozen(now - dt.timedelta(days=1, hours=2)):
            case = arrears.record_call(case, clock.now(), clerk)
        with clock.frozen(now - dt.timedelta(days=1)):
            case = arrears.execute(case, actor=clerk, at=clock.now())
        owed = BillingAccount.objects.get(customer=customer).arrears
        fees = latefees.owed_for_customer(customer.pk, clock.local(now).date())
        with clock.frozen(now - dt.timedelta(hours=2)):
            payments.post_payment(
                customer=customer,
                channel="counter",
                reference=f"DEMO-RECONNECT-{customer.account_no}",
                amount=owed + fees,
                paid_at=clock.now(),
                operator=clerk,
            )
        return True
    except ApiError:
        return False


def _prepaid_accounts(rng: random.Random, profile: dict[int, tuple[str, float, Decimal]]) -> int:
    """费控 accounts for the customers marked prepaid (remote mode mostly; a few local meters),
    with the last 30 days of daily usage from the collection system and a balance — most
    comfortable, some low; the sweep (``prepaid.check_prepaid``) sends the low-balance SMS."""
    today = clock.local(clock.now()).date()
    ids = list(
        Customer.objects.filter(is_prepaid=True, pk__in=list(profile))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    accounts: list[PrepaidAccount] = []
    days: list[tuple] = []
    for n, pk in enumerate(ids):
        daily = Decimal(str(profile[pk][1] / 30)).quantize(Decimal("0.01"))
        balance = Decimal(rng.choice([12, 25, 60, 120, 180, 260, 400])) if n % 9 else Decimal("8.50")
        accounts.append(
            PrepaidAccount(
                customer_id=pk,
                mode=PrepaidAccount.Mode.LOCAL if n % 7 == 3 else PrepaidAccount.Mode.REMOTE,
                balance=balance,
            )
        )
        for back in range(30, 0, -1):
            kwh = (daily * Decimal(str(rng.uniform(0.7, 1.3)))).quantize(Decimal("0.01"))
            peak = (kwh * Decimal("0.55")).quantize(Decimal("0.01"))
            days.append((pk, today - dt.timedelta(days=back), kwh, peak, Decimal("0"), kwh - peak))
    PrepaidAccount.objects.bulk_create(accounts, batch_size=5000)
    bulk.insert_rows(
        DailyUsage._meta.db_table, ("customer_id", "day", "kwh", "peak_kwh", "flat_kwh", "valley_kwh"), days
    )
    prepaid.check_prepaid(clock.now())
    return len(accounts)


def _readings(
    rng: random.Random, months: list[dt.date], profile: dict[int, tuple[str, float, Decimal]]
) -> int:
    meters = {}
    for pk, customer_id, multiplier in (
        Meter.objects.filter(customer_id__in=profile, is_active=True)
        .order_by("pk")
        .values_list("pk", "customer_id", "multiplier")
    ):
        meters.setdefault(customer_id, (pk, multiplier))
    readings: list[tuple] = []
    now = clock.now()
    q = Decimal("0.01")
    first_day = previous_month(months[0]).replace(day=READ_DAY)
    for customer_id, (category, monthly, _capacity) in profile.items():
        if customer_id not in meters:
            continue
        meter_id, multiplier = meters[customer_id]
        season = FARM_SEASON if category == Customer.TariffCategory.AGRICULTURE else SEASON
        tou = (
            category != Customer.TariffCategory.RESIDENTIAL_TIERED
            and category != Customer.TariffCategory.AGRICULTURE
        )
        large = category == Customer.TariffCategory.LARGE_INDUSTRY_TWO_PART
        peak_share = rng.uniform(0.45, 0.7) if category == Customer.TariffCategory.RESIDENTIAL_TOU else 0.45
        valley_share = 1 - peak_share if category == Customer.TariffCategory.RESIDENTIAL_TOU else 0.25
        pf = rng.uniform(0.83, 0.97)
        total = Decimal(rng.randint(1000, 30000))
        registers = {
            "peak": total * Decimal("0.5"),
            "flat": total * Decimal("0.3"),
            "valley": total * Decimal("0.2"),
        }
        reactive = Decimal("0")
        readings.append(
            _reading(
                meter_id,
                customer_id,
                first_day,
                total,
                registers if tou else None,
                reactive if large else None,
                at=now,
            )
        )
        for month in months:
            if rng.random() < UNREAD_SHARE and month != months[-1]:
                continue  # not read this month: the run estimates it
            kwh = monthly * season[month.month] * rng.uniform(0.88, 1.12) / multiplier
            step = Decimal(str(kwh)).quantize(q, rounding=ROUND_HALF_UP)
            total += step
            if tou:
                peak = (step * Decimal(str(peak_share))).quantize(q)
                valley = (step * Decimal(str(valley_share))).quantize(q)
                registers = {
                    "peak": registers["peak"] + peak,
                    "valley": registers["valley"] + valley,
                    "flat": registers["flat"] + (step - peak - valley),
                }
            if large:
                reactive += (step * Decimal(str((1 / pf**2 - 1) ** 0.5))).quantize(q)
            demand = (
                (Decimal(str(kwh)) * multiplier / Decimal(400)).quantize(Decimal("0.001")) if large else None
            )
            readings.append(
                _reading(
                    meter_id,
                    customer_id,
                    month.replace(day=READ_DAY),
                    total,
                    registers if tou else None,
                    reactive if large else None,
                    demand,
                    at=now,
                )
            )
    for start in range(0, len(readings), ROWS_PER_INSERT):
        bulk.insert_rows(
            MeterReading._meta.db_table, READING_COLUMNS, readings[start : start + ROWS_PER_INSERT]
        )
    return len(readings)


# The readings' rows, written without model instances (``core.bulk.insert_rows``).
READING_COLUMNS = (
    "meter_id",
    "customer_id",
    "read_on",
    "kind",
    "total",
    "peak",
    "flat",
    "valley",
    "reactive",
    "max_demand_kw",
    "source",
    "recorded_at",
)
ROWS_PER_INSERT = 50_000


def _reading(meter_id, customer_id, day, total, registers, reactive, demand=None, *, at) -> tuple:
    registers = registers or {}
    return (
        meter_id,
        customer_id,
        day,
        ReadingKind.REMOTE.value,
        total,
        registers.get("peak"),
        registers.get("flat"),
        registers.get("valley"),
        reactive,
        demand,
        "用电信息采集",
        at,
    )


def _payment_points() -> None:
    points = []
    for unit in Unit.objects.filter(kind__in=[Unit.Kind.STATION, Unit.Kind.COUNTY]).order_by("pk"):
        if unit.kind == Unit.Kind.STATION:
            points.append(
                PaymentPoint(
                    name=f"{unit.name}营业厅",
                    kind=PaymentPoint.Kind.HALL,
                    unit=unit,
                    address=f"{unit.name}所在地",
                    hours="周一至周日 8:30-17:30",
                    phone=unit.phone if hasattr(unit, "phone") else "",
                )
            )
        else:
            points += [
                PaymentPoint(
                    name=f"{unit.name.replace('供电公司', '')}邮政代收点",
                    kind=PaymentPoint.Kind.POST,
                    unit=unit,
                    address="县城人民路邮政局",
                    hours="8:00-18:00",
                ),
                PaymentPoint(
                    name=f"{unit.name.replace('供电公司', '')}农商银行代收",
                    kind=PaymentPoint.Kind.BANK,
                    unit=unit,
                    address="县城各农商银行网点",
                    hours="9:00-17:00",
                ),
            ]
    PaymentPoint.objects.bulk_create(points)
