"""Answers for the agent, the IVR and the app while the customer is on the line: the money position
(``position``), a bill with its lines, and "why is my bill high" (``explain``) — usage against last
month and the same month last year, the days in the period, where the customer stands in the
tiers and how many kWh are left in the current band, the time-of-use split, price changes and
estimated readings, each reason with what it cost in yuan where that can be worked out, the
largest first.

Reads only; every answer starts from a customer in the user's scope (the scoping door:
``customers.queries.get_customer_for_intake``) or a bill of such a customer.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.http import Http404
from django.utils.translation import gettext as _

from gridcare.core.joined import Children, JoinedRows, Related, extra_value
from gridcare.core.memo import Memo
from gridcare.customers.models import Customer
from gridcare.customers.queries import get_customer_for_intake
from gridcare.org import scoping

from . import calculation, tariffs
from .models import Bill, BillingAccount, BillLine, BillState, DisconnectionCase, PaymentPoint, TariffVersion

ZERO = Decimal("0")
RELEASED = (BillState.OPEN, BillState.PAID)


def _pct(new: Decimal, old: Decimal) -> Decimal | None:
    if not old:
        return None
    return ((new - old) * 100 / old).quantize(Decimal("1"), rounding=ROUND_HALF_UP)


def _daily(bill: Bill) -> Decimal:
    days = (bill.period_end - bill.period_start).days + 1
    return (bill.kwh / days).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) if days > 0 else ZERO


@dataclass
class Reason:
    code: str
    text: str
    yuan: Decimal | None = None


@dataclass
class TierPosition:
    basis: str
    limits: list[int]
    position_kwh: Decimal
    tier: int
    kwh_left_in_tier: Decimal | None
    next_price: Decimal | None


@dataclass
class Explanation:
    bill: Bill
    previous: Bill | None
    last_year: Bill | None
    days: int
    daily_kwh: Decimal
    kwh_change: Decimal | None
    kwh_change_percent: Decimal | None
    amount_change: Decimal | None
    tier: TierPosition | None
    tou_share: dict[str, Decimal]
    previous_tou_share: dict[str, Decimal]
    versions: list[str]
    reasons: list[Reason] = field(default_factory=list)

    @property
    def previous_days(self) -> int | None:
        if self.previous is None:
            return None
        return (self.previous.period_end - self.previous.period_start).days + 1


# The reads of an answer on the line, built once (``core.joined``: prepared, no ORM compiling —
# which cost more than the reads themselves): a bill with its customer, its lines and the terms
# of the customer's billing account; and the customer's earlier bills it is compared with.
_ACCOUNT_TERM = "SELECT a.{column} FROM billing_billingaccount a WHERE a.customer_id = {{table}}.customer_id"
_BILL = JoinedRows(
    Bill,
    related=(Related(Customer, "c", "customer_id"),),
    children=(Children(BillLine, "lines", "bill_id", ("seq",)),),
    extras=(
        ("account_schedule_id", _ACCOUNT_TERM.format(column="schedule_id")),
        ("account_persons", _ACCOUNT_TERM.format(column="household_persons")),
    ),
)
_VERSIONS_SECONDS = 60
_versions: Memo[TariffVersion] = Memo(_VERSIONS_SECONDS, max_size=2_000)


@receiver([post_save, post_delete], sender=TariffVersion)
def _version_changed(**_kwargs) -> None:
    _versions.forget_on_change()


def forget_versions() -> None:
    _versions.forget()


def _with_versions(lines: list[BillLine]) -> None:
    """Each line's tariff version, from this process's memo (versions are few and rarely edited;
    an edit saved in this process is seen at once, elsewhere within a minute)."""
    missing = {ln.version_id for ln in lines if ln.version_id and _versions.peek(ln.version_id) is None}
    for version in TariffVersion.objects.filter(pk__in=missing) if missing else ():
        _versions.put(version.pk, version)
    for ln in lines:
        if ln.version_id:
            version = _versions.peek(ln.version_id) or TariffVersion.objects.get(pk=ln.version_id)
            BillLine.version.field.set_cached_value(ln, version)


# The bill of a number and, in the same statement, the customer's bills it is compared with (the
# previous month's and the same month's last year): date arithmetic in each database's words.
_MONTHS_BEFORE = {
    "postgresql": "(SELECT (t.period - interval '{months} month')::date FROM billing_bill t WHERE t.number = %s)",
    "sqlite": "(SELECT date(t.period, '-{months} month') FROM billing_bill t WHERE t.number = %s)",
}
_WITH_EARLIER = (
    "{{table}}.customer_id = (SELECT t.customer_id FROM billing_bill t WHERE t.number = %s) AND ("
    "({{table}}.number = %s AND {{table}}.state <> %s) OR ({{table}}.period IN ({previous}, {last_year}) "
    "AND {{table}}.kind IN (%s, %s) AND {{table}}.state IN (%s, %s)))"
)


def bill_for(user: Any, number: str) -> Bill:
    """A released (or imported) bill of a customer in the user's scope, with its customer, its
    lines and their tariff versions, and the earlier bills ``explain`` compares it with — one
    statement; else 404."""
    months = _MONTHS_BEFORE[connection.vendor]
    condition = _WITH_EARLIER.format(previous=months.format(months=1), last_year=months.format(months=12))
    rows = _BILL.fetch(
        None,
        [condition],
        [number, number, BillState.DRAFT, number, number, Bill.Kind.ORIGINAL, Bill.Kind.IMPORTED, *RELEASED],
        10,
    )
    bill = next((b for b in rows if b.number == number), None)
    if bill is None:
        raise Http404("not found")
    scoping.require_in_scope(bill.customer, user, "station_id")
    earlier: dict[dt.date, Bill] = {}
    for other in sorted(rows, key=lambda b: b.pk):
        if other is not bill:
            earlier.setdefault(other.period, other)
    bill.__dict__["_earlier"] = earlier
    _with_versions([ln for b in rows for ln in b.lines.all()])
    return bill


def _earlier(bill: Bill) -> dict[dt.date, Bill]:
    """The previous month's and last year's bills (read with the bill by ``bill_for``)."""
    return bill.__dict__["_earlier"]


def _share(bill: Bill) -> dict[str, Decimal]:
    parts = {"peak": bill.peak_kwh, "flat": bill.flat_kwh, "valley": bill.valley_kwh}
    whole = sum(parts.values(), ZERO)
    if not whole:
        return {}
    return {
        k: (v * 100 / whole).quantize(Decimal("1"), rounding=ROUND_HALF_UP) for k, v in parts.items() if v
    }


def _tier_extra(bill: Bill) -> tuple[Decimal, Decimal]:
    """kWh of the bill above band 1, and what they cost above band 1's price."""
    lines = [ln for ln in bill.lines.all() if ln.item in ("energy", "tier_increment")]
    base = {ln.version_id: ln.price for ln in lines if ln.tier == 1 and ln.item == "energy"}
    kwh, extra = ZERO, ZERO
    for ln in lines:
        if ln.tier and ln.tier > 1:
            if ln.item == "tier_increment":
                kwh += ln.quantity
                extra += ln.amount
            elif not ln.tou_period and ln.version_id in base:
                kwh += ln.quantity
                extra += ln.quantity * (ln.price - base[ln.version_id])
    return kwh, extra.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@functools.lru_cache(maxsize=256)
def _rules(pk: int, document: str) -> tariffs.TariffRules:
    """A version's rule document checked once per process (keyed by its text: an edit is a new key)."""
    return tariffs.TariffRules.model_validate_json(document)


def rules_of(version: TariffVersion) -> tariffs.TariffRules:
    return _rules(version.pk, json.dumps(version.rules, sort_keys=True))


def tier_position(bill: Bill, schedule_id: int, persons: int) -> TierPosition | None:
    """Where the customer stands in the tiers after ``bill`` (annual: the tier year so far;
    monthly: this month) and the kWh left before the next band. The version is the one the bill's
    last line was priced by (the one in force at the period's end), else read."""
    priced = [ln.version for ln in bill.lines.all() if ln.version is not None]
    version = priced[-1] if priced else None
    if version is None:
        version = (
            TariffVersion.objects.filter(schedule_id=schedule_id, effective_from__lte=bill.period_end)
            .order_by("-effective_from")
            .first()
        )
    if version is None:
        return None
    rules = rules_of(version)
    if rules.tier_basis == "none":
        return None
    limits = rules.limits_for(bill.period.month, persons)
    position = bill.year_kwh_before + bill.kwh if rules.tier_basis == "annual" else bill.kwh
    tier = 1 + sum(1 for limit in limits if position > limit)
    left = Decimal(limits[tier - 1]) - position if tier <= len(limits) else None
    next_price = rules.tier_prices[tier] if tier < len(rules.tier_prices) else None
    return TierPosition(rules.tier_basis, limits, position, tier, left, next_price)


def explain(bill: Bill) -> Explanation:
    """Why this bill is what it is, against the previous month and the same month last year."""
    periods = [calculation.previous_month(bill.period), bill.period.replace(year=bill.period.year - 1)]
    earlier = _earlier(bill)
    previous = earlier.get(periods[0])
    last_year = earlier.get(periods[1])
    schedule_id = extra_value(bill, "account_schedule_id")  # read with the bill (``bill_for``)
    days = (bill.period_end - bill.period_start).days + 1
    daily = _daily(bill)
    reasons: list[Reason] = []
    kwh_change = amount_change = pct = None
    if previous is not None:
        kwh_change = bill.kwh - previous.kwh
        amount_change = bill.amount - previous.amount
        pct = _pct(bill.kwh, previous.kwh)
        prev_days = (previous.period_end - previous.period_start).days + 1
        avg_price = (previous.amount / previous.kwh) if previous.kwh else None
        if kwh_change:
            more = _("多") if kwh_change > 0 else _("少")
            reasons.append(
                Reason(
                    "usage",
                    _("本期用电%(kwh)s千瓦时，比上期%(more)s%(diff)s千瓦时（%(pct)s）。")
                    % {
                        "kwh": bill.kwh,
                        "more": more,
                        "diff": abs(kwh_change),
                        "pct": f"{pct:+}%" if pct is not None else "—",
                    },
                    (kwh_change * avg_price).quantize(Decimal("0.01")) if avg_price else None,
                )
            )
        if abs(days - prev_days) >= 3:
            reasons.append(
                Reason(
                    "days",
                    _(
                        "本期计费%(days)s天，上期%(prev)s天；日均用电%(daily)s千瓦时，上期%(prev_daily)s千瓦时。"
                    )
                    % {"days": days, "prev": prev_days, "daily": daily, "prev_daily": _daily(previous)},
                )
            )
        if previous.estimated and not bill.estimated:
            reasons.append(
                Reason("estimate_caught_up", _("上期为估抄电量，本期按实际示数抄表，补足了上期少估的电量。"))
            )
    if bill.estimated:
        reasons.append(Reason("estimated", _("本期未抄到表，电量为估抄，下次实抄后多退少补。")))
    tier_kwh, tier_cost = _tier_extra(bill)
    if tier_kwh:
        reasons.append(
            Reason(
                "tier",
                _("本期有%(kwh)s千瓦时按第二档及以上阶梯电价计费，比第一档多%(cost)s元。")
                % {"kwh": tier_kwh, "cost": tier_cost},
                tier_cost,
            )
        )
    position = (
        tier_position(bill, schedule_id, extra_value(bill, "account_persons"))
        if schedule_id is not None
        else None
    )
    share, prev_share = _share(bill), (_share(previous) if previous else {})
    if share and prev_share and share.get("peak", ZERO) - prev_share.get("peak", ZERO) >= 10:
        reasons.append(
            Reason(
                "peak_share",
                _("峰段用电占比%(now)s%%，上期%(before)s%%：峰段电价较高。")
                % {"now": share.get("peak", ZERO), "before": prev_share.get("peak", ZERO)},
            )
        )
    versions = sorted({ln.version.label for ln in bill.lines.all() if ln.version is not None})
    prev_versions = {ln.version_id for ln in previous.lines.all() if ln.version_id} if previous else set()
    if prev_versions and {ln.version_id for ln in bill.lines.all()} - prev_versions - {None}:
        reasons.append(
            Reason(
                "price_change",
                _("本期执行的电价版本有变化：%(versions)s。") % {"versions": "、".join(versions)},
            )
        )
    if last_year is not None:
        reasons.append(
            Reason(
                "last_year",
                _("去年同期用电%(kwh)s千瓦时、电费%(amount)s元，本期%(pct)s。")
                % {
                    "kwh": last_year.kwh,
                    "amount": last_year.amount,
                    "pct": (
                        _("与去年同期基本持平")
                        if (p := _pct(bill.kwh, last_year.kwh)) is not None and abs(p) < 10
                        else (f"{p:+}%" if p is not None else "—")
                    ),
                },
            )
        )
    reasons.sort(key=lambda r: -(abs(r.yuan) if r.yuan is not None else ZERO))
    return Explanation(
        bill=bill,
        previous=previous,
        last_year=last_year,
        days=days,
        daily_kwh=daily,
        kwh_change=kwh_change,
        kwh_change_percent=pct,
        amount_change=amount_change,
        tier=position,
        tou_share=share,
        previous_tou_share=prev_share,
        versions=versions,
        reasons=reasons,
    )


@dataclass
class Position:
    customer: Customer
    account: BillingAccount | None
    bills: list[Bill]
    open_bills: list[Bill]
    disconnection: DisconnectionCase | None
    payment_points: list[PaymentPoint]


def position(user: Any, account_no: str, *, active_unit: Any = None) -> Position:
    """The customer's money position in one screen: account (arrears, credit), the last 13
    bills, what is still open, any disconnection or reconnection under way, and where to pay."""
    customer = get_customer_for_intake(user, account_no, active_unit=active_unit)
    account = BillingAccount.objects.select_related("schedule").filter(customer=customer).first()
    bills = list(
        Bill.objects.filter(customer=customer).exclude(state=BillState.DRAFT).order_by("-period", "-id")[:13]
    )
    open_bills = [b for b in bills if b.state == BillState.OPEN]
    case = (
        DisconnectionCase.objects.filter(customer=customer)
        .exclude(state__in=[DisconnectionCase.State.RECONNECTED, DisconnectionCase.State.CANCELLED])
        .order_by("-proposed_at")
        .first()
    )
    return Position(customer, account, bills, open_bills, case, payment_points_near(customer))


def payment_points_near(customer: Customer, limit: int = 5) -> list[PaymentPoint]:
    """Payment points of the customer's station first, then of the units above it."""
    station = customer.station
    if station is None:
        return []
    ranked: list[PaymentPoint] = []
    for unit in [station, *reversed(list(station.ancestors().exclude(pk=station.pk)))]:
        ranked += [p for p in PaymentPoint.objects.filter(unit=unit, is_active=True) if p not in ranked]
        if len(ranked) >= limit:
            break
    return ranked[:limit]
