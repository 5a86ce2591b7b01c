"""The monthly calculation (电费核算) of a run's customers into draft bills, in batches.

For each customer with a billing account under the run's unit (and no bill of that month yet):

1. **Usage from the readings.** Each meter's usage is its last reading up to the month's end minus
   its last reading up to the previous bill's end, × its multiplier — registers alike (peak, flat,
   valley, sharp, reactive). A meter new since the last bill counts from its first reading (the
   installation's ``meter_change`` reading), an old one until its final reading, so a meter
   replaced in the month is billed for both and flagged. The period runs from the day after the
   previous bill's end to the last reading day.
2. **No reading this month** → an estimate (估抄): the previous bill's daily average × the days,
   recorded as an ``estimated`` reading on the first active meter (the next actual reading
   corrects it) and flagged.
3. **Pricing** (``tariffs.price``): the versions of the customer's tariff in force over the period,
   the kWh already counted in the tier year (annual tiers), household size, capacity, demand and
   the power-factor table of the customer's standard.
4. **Anomalies** held for review before release: usage swing beyond the threshold against the
   previous month, zero usage, meter replaced, reading missing (estimated), a register running
   backwards (usage 0 until reviewed).

Reads are a fixed number of queries per batch (accounts, readings, previous bills, tier-year sums,
meters); writes are one bulk insert each of bills, lines, anomalies and estimated readings.
"""

from __future__ import annotations

import datetime as dt
import functools
import gc
from collections import defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Sum

from gridcare.core import bulk, clock, numbering
from gridcare.customers.models import Customer, Meter

from . import tariffs
from .models import (
    Anomaly,
    Bill,
    BillingAccount,
    BillingRun,
    BillingSetting,
    BillLine,
    BillState,
    MeterReading,
    PowerFactorTable,
    ReadingKind,
    TariffVersion,
)

BATCH = 5000
REGISTERS = ("peak", "flat", "valley", "sharp")
LOOKBACK_DAYS = 75
BILL_PREFIX = "ZD"
ZERO = Decimal("0")


@functools.lru_cache(maxsize=512)
def month_end(first: dt.date) -> dt.date:
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


def previous_month(first: dt.date) -> dt.date:
    return (first - dt.timedelta(days=1)).replace(day=1)


def tier_year_start(period: dt.date, start_month: int) -> dt.date:
    year = period.year if period.month >= start_month else period.year - 1
    return dt.date(year, start_month, 1)


class Versions:
    """The tariff versions of each schedule (read once per run), and the ones in force over a period."""

    def __init__(self) -> None:
        self.by_schedule: dict[int, list[tuple[int, str, dt.date, tariffs.TariffRules]]] = defaultdict(list)
        # Most customers of a run share a period: the versions in force are worked out once per
        # (schedule, start, end) and the same (read-only) list handed to every one of them.
        self._in_force: dict[tuple[int, dt.date, dt.date], list[tariffs.VersionInForce]] = {}
        for pk, schedule_id, label, start, rules in TariffVersion.objects.order_by(
            "schedule_id", "effective_from"
        ).values_list("pk", "schedule_id", "label", "effective_from", "rules"):
            self.by_schedule[schedule_id].append(
                (pk, label, start, tariffs.TariffRules.model_validate(rules))
            )

    def in_force(self, schedule_id: int, start: dt.date, end: dt.date) -> list[tariffs.VersionInForce]:
        key = (schedule_id, start, end)
        found = self._in_force.get(key)
        if found is None:
            found = self._in_force[key] = self._in_force_uncached(schedule_id, start, end)
        return found

    def _in_force_uncached(
        self, schedule_id: int, start: dt.date, end: dt.date
    ) -> list[tariffs.VersionInForce]:
        rows = self.by_schedule.get(schedule_id, [])
        current = [r for r in rows if r[2] <= start]
        chosen = ([current[-1]] if current else []) + [r for r in rows if start < r[2] <= end]
        out = []
        for i, (pk, label, begins, rules) in enumerate(chosen):
            seg_start = max(begins, start)
            seg_end = chosen[i + 1][2] - dt.timedelta(days=1) if i + 1 < len(chosen) else end
            out.append(tariffs.VersionInForce(pk, label, rules, seg_start, seg_end))
        return out

    def first(self, schedule_id: int) -> tariffs.TariffRules | None:
        rows = self.by_schedule.get(schedule_id)
        return rows[-1][3] if rows else None


@dataclass(slots=True)
class Reading:
    meter_id: int
    read_on: dt.date
    kind: str
    total: Decimal
    registers: tuple[Decimal | None, ...]  # in the order of ``REGISTERS``; all None on a plain meter
    reactive: Decimal | None
    max_demand_kw: Decimal | None


@dataclass(slots=True)
class Measured:
    """A customer's usage over a period, measured or estimated, and what looked wrong."""

    start: dt.date
    end: dt.date
    kwh: Decimal = ZERO
    by_period: dict[str, Decimal] = field(default_factory=dict)
    reactive: Decimal | None = None
    max_demand_kw: Decimal | None = None
    previous_total: Decimal | None = None
    current_total: Decimal | None = None
    estimated: bool = False
    meter_changed: bool = False
    backwards: bool = False
    estimate_on: tuple[int, Decimal, dt.date] | None = None  # (meter, new total, day)
    # 估抄多计: the last bill's estimated total, above this actual reading, and the total it is
    # corrected to (``corrected_estimate``) — counted from here, refunded at release (多退少补).
    overshoot: tuple[Decimal, Decimal] | None = None  # (estimated total, corrected total)


def corrected_estimate(prior: Reading | None, estimate: Reading, actual: Reading) -> Decimal | None:
    """An estimated total that an actual reading shows too high, corrected: the meter's total on
    the estimate's day as the straight line from the reading before the estimate (an actual one)
    to this actual reading puts it. None when that cannot be said (no actual reading before the
    estimate in reach, or the actual reading below it too: a register running backwards)."""
    if (
        prior is None
        or prior.kind == ReadingKind.ESTIMATED
        or estimate.kind != ReadingKind.ESTIMATED
        or not (prior.read_on < estimate.read_on < actual.read_on)
        or actual.total < prior.total
    ):
        return None
    share = Decimal((estimate.read_on - prior.read_on).days) / Decimal((actual.read_on - prior.read_on).days)
    return (prior.total + (actual.total - prior.total) * share).quantize(
        Decimal("0.01"), rounding=ROUND_HALF_UP
    )


def measure(
    readings: list[Reading],
    multipliers: dict[int, int],
    active_meters: list[int],
    previous_end: dt.date | None,
    period: dt.date,
    previous_daily_kwh: Decimal | None,
) -> Measured:
    """The usage of one customer for the month ``period`` (see the module's docstring)."""
    last_day = month_end(period)
    by_meter: dict[int, list[Reading]] = defaultdict(list)
    for r in readings:
        if r.read_on <= last_day:
            by_meter[r.meter_id].append(r)
    parts: list[tuple[Reading, Reading, int]] = []
    prior_of: dict[int, Reading] = {}  # the reading before a part's base (a corrected estimate's anchor)
    for meter_id, rows in by_meter.items():
        rows.sort(key=lambda r: r.read_on)
        now_rows = [
            r for r in rows if r.read_on >= period and (previous_end is None or r.read_on > previous_end)
        ]
        if not now_rows:
            continue
        current = now_rows[-1]
        before = [r for r in rows if previous_end is not None and r.read_on <= previous_end]
        base = before[-1] if before else rows[0]
        if base is current:
            continue
        if len(before) >= 2:
            prior_of[meter_id] = before[-2]
        parts.append((base, current, multipliers.get(meter_id, 1)))
    start = previous_end + dt.timedelta(days=1) if previous_end else period
    if not parts:
        # Estimated: the previous bill's daily average over the month's remaining days.
        end = last_day
        days = Decimal((end - start).days + 1)
        kwh = ((previous_daily_kwh or ZERO) * days).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
        measured = Measured(start=start, end=end, kwh=kwh, estimated=True)
        meter = active_meters[0] if active_meters else None
        if meter is not None:
            last = max((r for r in readings if r.meter_id == meter), key=lambda r: r.read_on, default=None)
            total = last.total if last else ZERO
            step = (kwh / multipliers.get(meter, 1)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
            measured.previous_total, measured.current_total = total, total + step
            measured.estimate_on = (meter, total + step, end)
        return measured
    end = max(current.read_on for _b, current, _m in parts)
    if previous_end is None:
        start = min(base.read_on for base, _c, _m in parts) + dt.timedelta(days=1)
    measured = Measured(start=start, end=end)
    reactive = ZERO
    has_reactive = True
    demand: Decimal | None = None
    registers: dict[str, Decimal] = defaultdict(lambda: ZERO)
    all_registers = True
    for base, current, multiplier in parts:
        diff = current.total - base.total
        if diff < 0:
            corrected = (
                corrected_estimate(prior_of.get(base.meter_id), base, current) if len(parts) == 1 else None
            )
            if corrected is None:
                measured.backwards = True
                diff = ZERO
            else:
                measured.overshoot = (base.total, corrected)
                diff = current.total - corrected
        measured.kwh += diff * multiplier
        if base.kind == ReadingKind.METER_CHANGE or current.kind == ReadingKind.METER_CHANGE:
            measured.meter_changed = True
        if current.kind == ReadingKind.ESTIMATED:
            measured.estimated = True
        seen = False
        if all_registers:  # a plain meter in the parts: no split at all, no need to read more
            for name, a, b in zip(REGISTERS, base.registers, current.registers, strict=True):
                if a is not None and b is not None:
                    registers[name] += max(b - a, ZERO) * multiplier
                    seen = True
        all_registers = all_registers and seen
        if base.reactive is not None and current.reactive is not None:
            reactive += max(current.reactive - base.reactive, ZERO) * multiplier
        else:
            has_reactive = False
        if current.max_demand_kw is not None:
            demand = max(demand or ZERO, current.max_demand_kw)
    if len(parts) == 1:
        measured.previous_total, measured.current_total = parts[0][0].total, parts[0][1].total
        if measured.overshoot is not None:
            measured.previous_total = measured.overshoot[1]
    if all_registers and registers:
        # Registers are the time-of-use split; the total is what is billed, so the split is
        # scaled to it when the registers' sum differs by rounding.
        measured.by_period = {k: v for k, v in registers.items() if v}
        register_sum = sum(measured.by_period.values(), ZERO)
        if register_sum and register_sum != measured.kwh:
            names = list(measured.by_period)
            measured.by_period = dict(
                zip(names, tariffs.split(measured.kwh, [measured.by_period[n] for n in names]), strict=True)
            )
    measured.reactive = reactive if has_reactive else None
    measured.max_demand_kw = demand
    return measured


@dataclass
class Context:
    """What a run reads once: settings, tariffs, power-factor tables."""

    run: BillingRun
    setting: BillingSetting
    versions: Versions
    power_factor: dict[str, dict[str, Decimal]]

    @classmethod
    def of(cls, run: BillingRun) -> Context:
        tables = {
            f"{t.standard:.2f}": {k: Decimal(str(v)) for k, v in t.steps.items()}
            for t in PowerFactorTable.objects.all()
        }
        return cls(run, BillingSetting.current(month_end(run.period)), Versions(), tables)


def customers_of(run: BillingRun) -> list[int]:
    """The run's customers: billed (an account), under its unit, not closed, no bill of the month."""
    billed = Bill.objects.filter(period=run.period, kind__in=[Bill.Kind.ORIGINAL, Bill.Kind.IMPORTED]).values(
        "customer_id"
    )
    return list(
        BillingAccount.objects.filter(customer__station__in=run.unit.subtree())
        .exclude(customer__status=Customer.Status.CLOSED)
        .exclude(customer_id__in=billed)
        .order_by("customer_id")
        .values_list("customer_id", flat=True)
    )


_ACCOUNT_FIELDS = (
    "customer_id",
    "customer__customer_class",
    "schedule_id",
    "household_persons",
    "demand_basis",
    "customer__contracted_capacity_kva",
    "power_factor_standard",
)


def line_rows(lines: list[tariffs.Line], bill: Bill | None = None, first_seq: int = 1) -> list[BillLine]:
    """``BillLine`` rows (unsaved) of priced lines, numbered from ``first_seq``."""
    return [
        BillLine(
            bill=bill,
            seq=i,
            item=ln.item,
            label=ln.label,
            tier=ln.tier,
            tou_period=ln.tou_period,
            quantity=ln.quantity,
            unit=ln.unit,
            price=ln.price,
            amount=ln.amount,
            version_id=ln.version_id,
        )
        for i, ln in enumerate(lines, start=first_seq)
    ]


@dataclass(slots=True)
class Draft:
    """The figures of one customer's draft bill (no model instance: a batch makes thousands)."""

    customer_id: int
    period: dt.date
    period_start: dt.date
    period_end: dt.date
    previous_total: Decimal | None
    current_total: Decimal | None
    estimated: bool
    kwh: Decimal
    peak_kwh: Decimal
    flat_kwh: Decimal
    valley_kwh: Decimal
    amount: Decimal
    year_kwh_before: Decimal
    number: str = ""
    pk: int | None = None


@dataclass(slots=True)
class Priced:
    """One customer's draft bill (unsaved), its lines, its anomalies and any estimated reading."""

    bill: Draft
    lines: list[tariffs.Line]
    flags: list[tuple[str, str]]
    estimate: MeterReading | None


def price_batch(ctx: Context, customer_ids: list[int]) -> list[Priced]:
    """The draft bills of ``customer_ids`` for the run, unsaved (no database writes)."""
    run, period = ctx.run, ctx.run.period
    last_day = month_end(period)
    prev_period = previous_month(period)
    # Batches are runs of ascending ids: read each table by the id range (no long IN list) and
    # keep the batch's own rows.
    wanted = set(customer_ids)
    lo, hi = min(customer_ids), max(customer_ids)
    accounts = [
        row
        for row in BillingAccount.objects.filter(customer_id__gte=lo, customer_id__lte=hi).values_list(
            *_ACCOUNT_FIELDS
        )
        if row[0] in wanted
    ]
    readings: dict[int, list[Reading]] = defaultdict(list)
    for row in (
        MeterReading.objects.filter(
            customer_id__gte=lo,
            customer_id__lte=hi,
            read_on__gt=period - dt.timedelta(days=LOOKBACK_DAYS),
            read_on__lte=last_day,
        )
        .order_by()
        .values_list(
            "customer_id",
            "meter_id",
            "read_on",
            "kind",
            "total",
            "peak",
            "flat",
            "valley",
            "sharp",
            "reactive",
            "max_demand_kw",
        )
    ):
        if row[0] not in wanted:
            continue
        readings[row[0]].append(Reading(row[1], row[2], row[3], row[4], row[5:9], row[9], row[10]))
    multipliers: dict[int, int] = {}
    active: dict[int, list[int]] = defaultdict(list)
    for pk, customer_id, multiplier, is_active in (
        Meter.objects.filter(customer_id__gte=lo, customer_id__lte=hi)
        .order_by("pk")
        .values_list("pk", "customer_id", "multiplier", "is_active")
    ):
        if customer_id not in wanted:
            continue
        multipliers[pk] = multiplier
        if is_active:
            active[customer_id].append(pk)
    previous: dict[int, tuple[dt.date, Decimal, int]] = {}
    for customer_id, end, kwh, start in Bill.objects.filter(
        customer_id__gte=lo,
        customer_id__lte=hi,
        period=prev_period,
        kind__in=[Bill.Kind.ORIGINAL, Bill.Kind.IMPORTED],
    ).values_list("customer_id", "period_end", "kwh", "period_start"):
        if customer_id in wanted:
            previous[customer_id] = (end, kwh, (end - start).days + 1)
    year_before = _tier_year_sums(ctx, customer_ids, accounts)

    out: list[Priced] = []
    now = clock.now()
    for customer_id, _class, schedule_id, persons, basis, capacity, pf_standard in accounts:
        prev = previous.get(customer_id)
        daily = (prev[1] / prev[2]) if prev and prev[2] else None
        m = measure(
            readings.get(customer_id, []),
            multipliers,
            active.get(customer_id, []),
            prev[0] if prev else None,
            period,
            daily,
        )
        if m.end < m.start:
            m.end = m.start
        versions = ctx.versions.in_force(schedule_id, m.start, m.end)
        usage = tariffs.Usage(
            period_month=period.month,
            start=m.start,
            end=m.end,
            kwh=m.kwh,
            by_period=m.by_period,
            year_kwh_before=year_before.get(customer_id, ZERO),
            persons=persons,
            capacity_kva=capacity or ZERO,
            demand_basis=basis,
            max_demand_kw=m.max_demand_kw,
            reactive_kvarh=m.reactive,
            power_factor_steps=ctx.power_factor.get(f"{pf_standard:.2f}") if pf_standard else None,
        )
        priced = tariffs.price(usage, versions) if versions else []
        bill = Draft(
            customer_id=customer_id,
            period=period,
            period_start=m.start,
            period_end=m.end,
            previous_total=m.previous_total,
            current_total=m.current_total,
            estimated=m.estimated,
            kwh=m.kwh,
            peak_kwh=m.by_period.get("peak", ZERO) + m.by_period.get("sharp", ZERO),
            flat_kwh=m.by_period.get("flat", ZERO),
            valley_kwh=m.by_period.get("valley", ZERO),
            amount=sum((ln.amount for ln in priced), ZERO),
            year_kwh_before=usage.year_kwh_before,
        )
        bill_lines = priced
        estimate = None
        if m.estimate_on is not None:
            meter_id, total, day = m.estimate_on
            estimate = MeterReading(
                meter_id=meter_id,
                customer_id=customer_id,
                read_on=day,
                kind=ReadingKind.ESTIMATED,
                total=total,
                source=f"run:{run.pk}",
                recorded_at=now,
            )
        out.append(Priced(bill, bill_lines, _anomalies(ctx, m, prev, bool(versions)), estimate))
    return out


# A draft bill's row: its figures, then what every draft has (the run fills in ``run_id`` and
# ``created_at``).
_DRAFT_FIGURES = (
    "number",
    "customer_id",
    "period",
    "period_start",
    "period_end",
    "previous_total",
    "current_total",
    "estimated",
    "kwh",
    "peak_kwh",
    "flat_kwh",
    "valley_kwh",
    "amount",
    "year_kwh_before",
)
_DRAFT_CONSTANTS = {
    "kind": Bill.Kind.ORIGINAL.value,
    "state": BillState.DRAFT.value,
    "paid": ZERO,
    "late_fee_charged": ZERO,
    "late_fee_paid": ZERO,
    "late_fee_waived": False,
    "note": "",
}
_BILL_COLUMNS = [*_DRAFT_FIGURES, *_DRAFT_CONSTANTS, "run_id", "created_at"]
_LINE_COLUMNS = (
    "bill_id",
    "seq",
    "item",
    "label",
    "tier",
    "tou_period",
    "quantity",
    "unit",
    "price",
    "amount",
    "version_id",
)
_ANOMALY_COLUMNS = ("run_id", "bill_id", "kind", "detail", "state", "review_note")


def calculate_batch(ctx: Context, customer_ids: list[int]) -> tuple[int, int, Decimal, Decimal]:
    """Draft bills of ``customer_ids`` for the run, written; returns (bills, anomalies, kWh, amount).
    Rows go in without model instances (``core.bulk.insert_rows``: COPY on PostgreSQL); the bills'
    ids are read back by their numbers, taken as one block."""
    run, period = ctx.run, ctx.run.period
    priced = price_batch(ctx, customer_ids)
    if not priced:
        return 0, 0, ZERO, ZERO
    first = numbering.next_block(BILL_PREFIX, f"{period:%Y%m}", len(priced))
    numbers = [f"{BILL_PREFIX}{period:%Y%m}{first + i:08d}" for i in range(len(priced))]
    for p, number in zip(priced, numbers, strict=True):
        p.bill.number = number
    fixed = [*_DRAFT_CONSTANTS.values(), run.pk, clock.now()]
    bulk.insert_rows(
        Bill._meta.db_table,
        _BILL_COLUMNS,
        [[getattr(p.bill, name) for name in _DRAFT_FIGURES] + fixed for p in priced],
    )
    ids = dict(
        Bill.objects.filter(number__gte=numbers[0], number__lte=numbers[-1]).values_list("number", "id")
    )
    lines, anomalies = [], []
    for p in priced:
        bill_id = p.bill.pk = ids[p.bill.number]
        lines += [
            (
                bill_id,
                i,
                ln.item,
                ln.label,
                ln.tier,
                ln.tou_period,
                ln.quantity,
                ln.unit,
                ln.price,
                ln.amount,
                ln.version_id,
            )
            for i, ln in enumerate(p.lines, start=1)
        ]
        anomalies += [(run.pk, bill_id, kind, detail, Anomaly.State.OPEN, "") for kind, detail in p.flags]
    bulk.insert_rows(BillLine._meta.db_table, _LINE_COLUMNS, lines)
    bulk.insert_rows(Anomaly._meta.db_table, _ANOMALY_COLUMNS, anomalies)
    estimates = [p.estimate for p in priced if p.estimate is not None]
    if estimates:
        MeterReading.objects.bulk_create(estimates, batch_size=5000, ignore_conflicts=True)
    return (
        len(priced),
        len(anomalies),
        sum((p.bill.kwh for p in priced), ZERO),
        sum((p.bill.amount for p in priced), ZERO),
    )


def _tier_year_sums(
    ctx: Context, customer_ids: list[int], accounts: Iterable[tuple[Any, ...]]
) -> dict[int, Decimal]:
    """kWh of each annual-tier customer's bills in the tier year before this month."""
    period = ctx.run.period
    starts: dict[dt.date, list[int]] = defaultdict(list)
    for customer_id, _class, schedule_id, *_rest in accounts:
        rules = ctx.versions.first(schedule_id)
        if rules is not None and rules.tier_basis == "annual":
            starts[tier_year_start(period, rules.tier_year_start_month)].append(customer_id)
    sums: dict[int, Decimal] = {}
    for start, ids in starts.items():
        members = set(ids)
        for customer_id, kwh in (
            Bill.objects.filter(
                customer_id__gte=min(ids), customer_id__lte=max(ids), period__gte=start, period__lt=period
            )
            .exclude(state=BillState.DRAFT)
            .values("customer_id")
            .annotate(kwh=Sum("kwh"))
            .values_list("customer_id", "kwh")
        ):
            if customer_id in members:
                sums[customer_id] = kwh or ZERO
    return sums


def _anomalies(
    ctx: Context, m: Measured, prev: tuple[dt.date, Decimal, int] | None, priced: bool
) -> list[tuple[str, str]]:
    s = ctx.setting
    found: list[tuple[str, str]] = []
    if not priced:
        found.append((Anomaly.Kind.READING_MISSING, "电价表在计费期内无生效版本，未计价"))
    if m.estimated:
        found.append((Anomaly.Kind.READING_MISSING, f"本月未抄到示数，按上月日均估抄 {m.kwh} kWh"))
    if m.backwards:
        found.append((Anomaly.Kind.NEGATIVE, "示数小于上次示数，电量按0计，请核实"))
    if m.overshoot is not None:
        estimated, corrected = m.overshoot
        found.append(
            (
                Anomaly.Kind.OVERSHOOT,
                f"上月估抄示数{estimated}高于本次实抄示数{m.current_total}：按实抄插值，上月示数更正为"
                f"{corrected}，本月自{corrected}起算；审核通过后，发行时出更正账单退还上月多收电费",
            )
        )
    if m.meter_changed:
        found.append((Anomaly.Kind.METER_CHANGED, "计费期内换表，新旧表电量合并计算"))
    if m.kwh == 0 and not m.estimated:
        found.append((Anomaly.Kind.ZERO, "本月电量为零"))
    if prev is not None and not m.estimated:
        last = prev[1]
        if last >= s.swing_min_kwh and abs(m.kwh - last) * 100 > last * s.swing_percent:
            change = ((m.kwh - last) * 100 / last).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
            found.append((Anomaly.Kind.SWING, f"电量{last}→{m.kwh} kWh，波动{change:+}%"))
        elif last < s.swing_min_kwh and m.kwh >= s.swing_min_kwh and last == 0:
            found.append((Anomaly.Kind.SWING, f"上月电量为零，本月{m.kwh} kWh"))
    return found


BILL_FIGURES = (
    "period_start",
    "period_end",
    "previous_total",
    "current_total",
    "estimated",
    "kwh",
    "peak_kwh",
    "flat_kwh",
    "valley_kwh",
    "amount",
    "year_kwh_before",
)


def recalculate_draft(ctx: Context, bill: Bill) -> list[Anomaly]:
    """Price one draft bill again in place (after its reading was corrected): its figures and
    lines replaced, its open anomalies replaced by what is found now (returned, saved)."""
    again = price_batch(ctx, [bill.customer_id])[0]
    for name in BILL_FIGURES:
        setattr(bill, name, getattr(again.bill, name))
    bill.save(update_fields=list(BILL_FIGURES))
    BillLine.objects.filter(bill=bill).delete()
    BillLine.objects.bulk_create(line_rows(again.lines, bill))
    Anomaly.objects.filter(bill=bill, state=Anomaly.State.OPEN).delete()
    return Anomaly.objects.bulk_create(
        [Anomaly(run=ctx.run, bill=bill, kind=kind, detail=detail) for kind, detail in again.flags]
    )


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while batches are priced: a batch makes hundreds of
    thousands of small objects (readings, lines, rows) that reference counting frees, and each
    automatic collection would walk them all (a fifth of a run's time). Collected at the end."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def calculate(run: BillingRun, customer_ids: list[int] | None = None) -> BillingRun:
    """Calculate the run's draft bills (all its customers, or ``customer_ids``), batch by batch,
    and add up its figures. The caller holds the transaction."""
    ctx = Context.of(run)
    ids = customers_of(run) if customer_ids is None else customer_ids
    with _cyclic_gc_paused():
        for start in range(0, len(ids), BATCH):
            bills, anomalies, kwh, amount = calculate_batch(ctx, ids[start : start + BATCH])
            run.bills += bills
            run.anomalies += anomalies
            run.total_kwh += kwh
            run.total_amount += amount
    run.calculated_at = clock.now()
    run.save(update_fields=["bills", "anomalies", "total_kwh", "total_amount", "calculated_at"])
    return run
