"""Tariffs: the rule document of a tariff version (``TariffRules``, checked when a version is saved)
and the pricing of one bill's usage into bill lines (``price``). Pure: no database access — the
caller passes the versions in force and the usage; ``calculation`` reads and writes.

What the rules can say (each a field below; the seeded versions are in migration 0002):

- **Tiers (阶梯)** by year (``annual``: the year's cumulative kWh decides the band, counted from
  ``tier_year_start_month``) or by month (``monthly``: per bill, with season limits, e.g. summer
  May–Oct above 260 / 600 kWh, other months above 200 / 400). 一户多人口 raises the limits by
  ``multi_person_extra_kwh`` a month (× 12 for annual tiers) for households of at least
  ``multi_person_persons``, on the first band or on every band (``multi_person_scope``).
- **Time of use (分时)** combined with tiers either way: ``per_tier`` (each band has its own peak /
  valley prices; a band's kWh are split by the month's period shares) or ``tier_increment`` (every
  kWh at its period's price, plus the band's increment over band 1 on the kWh of bands 2 and 3);
  ``periods`` prices the periods alone (non-residential).
- **Two-part (两部制)**: a basic charge by capacity (yuan per kVA a month) or by demand (yuan per
  kW a month on the month's maximum demand, not below ``demand_floor_share`` of the capacity), and
  the power-factor adjustment (力调电费) on basic + energy charges from the table of the customer's
  standard.
- **Surcharges**: per-kWh charges listed on the bill.

A period that spans a version change is priced in segments by days: each segment takes its share
of the kWh (and, for monthly tiers and the basic charge, its share of the month), and each line
names its version.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

CENT = Decimal("0.01")
PERIODS = ("sharp", "peak", "flat", "valley")
PERIOD_LABELS = {"sharp": "尖", "peak": "峰", "flat": "平", "valley": "谷"}
Period = Literal["sharp", "peak", "flat", "valley"]


def money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


class Season(BaseModel):
    model_config = ConfigDict(extra="forbid")
    months: list[int] = Field(min_length=1)
    limits: list[int]


class Window(BaseModel):
    """A time-of-use window: ``period`` from ``start`` to ``end`` (HH:MM, end may pass midnight)."""

    model_config = ConfigDict(extra="forbid")
    months: list[int] = Field(default_factory=lambda: list(range(1, 13)))
    period: Period
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    end: str = Field(pattern=r"^([01]\d|2[0-4]):[0-5]\d$")


class Surcharge(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str = Field(min_length=1, max_length=40)
    name: str = Field(min_length=1, max_length=60)
    price: Decimal = Field(ge=0)


class TariffRules(BaseModel):
    """The rule document of one tariff version (``TariffVersion.rules``)."""

    model_config = ConfigDict(extra="forbid")

    tier_basis: Literal["none", "annual", "monthly"] = "none"
    tier_prices: list[Decimal] = Field(min_length=1)
    tier_limits: list[int] = Field(default_factory=list)
    tier_year_start_month: int = Field(default=1, ge=1, le=12)
    seasons: list[Season] = Field(default_factory=list)
    multi_person_persons: int = Field(default=5, ge=1)
    multi_person_extra_kwh: int = Field(default=0, ge=0)
    multi_person_scope: Literal["first", "all"] = "all"
    tou_mode: Literal["none", "per_tier", "tier_increment", "periods"] = "none"
    tou_prices: dict[Period, Decimal] = Field(default_factory=dict)
    tou_tier_prices: list[dict[Period, Decimal]] = Field(default_factory=list)
    tou_windows: list[Window] = Field(default_factory=list)
    capacity_price: Decimal | None = Field(default=None, ge=0)
    demand_price: Decimal | None = Field(default=None, ge=0)
    demand_floor_share: Decimal = Field(default=Decimal("0.4"), ge=0, le=1)
    surcharges: list[Surcharge] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> TariffRules:
        bands = len(self.tier_prices)
        if self.tier_basis == "none" and bands != 1:
            raise ValueError("a tariff without tiers has exactly one price")
        if self.tier_basis != "none":
            if len(self.tier_limits) != bands - 1:
                raise ValueError("tier_limits needs one limit fewer than tier_prices")
            for limits in [self.tier_limits, *(s.limits for s in self.seasons)]:
                if len(limits) != bands - 1 or any(b <= a for a, b in zip(limits, limits[1:], strict=False)):
                    raise ValueError("tier limits must rise, one fewer than the prices")
        months = [m for s in self.seasons for m in s.months]
        if len(months) != len(set(months)) or any(not 1 <= m <= 12 for m in months):
            raise ValueError("season months are 1–12, each in one season at most")
        if self.tou_mode in ("tier_increment", "periods") and not self.tou_prices:
            raise ValueError("this time-of-use mode needs tou_prices")
        if self.tou_mode == "per_tier":
            if len(self.tou_tier_prices) != bands:
                raise ValueError("per_tier needs one set of period prices per tier")
            if any(set(p) != set(self.tou_tier_prices[0]) for p in self.tou_tier_prices):
                raise ValueError("every tier prices the same periods")
        return self

    def limits_for(self, month: int, persons: int) -> list[int]:
        """The band limits of a bill of ``month`` (monthly) or of the year (annual)."""
        limits = list(self.tier_limits)
        if self.tier_basis == "monthly":
            for season in self.seasons:
                if month in season.months:
                    limits = list(season.limits)
        if self.multi_person_extra_kwh and persons >= self.multi_person_persons:
            extra = self.multi_person_extra_kwh * (12 if self.tier_basis == "annual" else 1)
            limits = [
                limit + extra if (self.multi_person_scope == "all" or i == 0) else limit
                for i, limit in enumerate(limits)
            ]
        return limits

    def period_prices(self) -> set[str]:
        if self.tou_mode == "per_tier":
            return set(self.tou_tier_prices[0])
        return set(self.tou_prices)


@dataclass(frozen=True, slots=True)
class VersionInForce:
    """A tariff version applying to ``start``–``end`` (inclusive) of a bill's period."""

    id: int | None
    label: str
    rules: TariffRules
    start: dt.date
    end: dt.date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(slots=True)
class Usage:
    """What a bill prices: the period (inclusive dates) and the month it is billed for, kWh in all
    and by time-of-use period (empty for a meter without periods), kWh already counted in this
    tier year before the bill (annual tiers), and for two-part customers capacity, demand, reactive
    energy and the power-factor steps of their standard."""

    period_month: int
    start: dt.date
    end: dt.date
    kwh: Decimal
    by_period: dict[str, Decimal] = field(default_factory=dict)
    year_kwh_before: Decimal = Decimal("0")
    persons: int = 0
    capacity_kva: Decimal = Decimal("0")
    demand_basis: Literal["capacity", "demand"] = "capacity"
    max_demand_kw: Decimal | None = None
    reactive_kvarh: Decimal | None = None
    power_factor_steps: dict[str, Decimal] | None = None

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


@dataclass(slots=True)
class Line:
    item: str
    label: str
    quantity: Decimal
    unit: str
    price: Decimal
    amount: Decimal
    version_id: int | None
    tier: int | None = None
    tou_period: str = ""


def split(total: Decimal, weights: list[Decimal]) -> list[Decimal]:
    """``total`` shared by ``weights`` to the hundredth; the rounding remainder goes to the last
    part with weight, so the parts add up to ``total`` exactly."""
    whole = sum(weights, Decimal("0"))
    if not weights:
        return []
    if whole == 0:
        return [total if i == len(weights) - 1 else Decimal("0") for i in range(len(weights))]
    parts = [(total * w / whole).quantize(CENT, rounding=ROUND_HALF_UP) for w in weights]
    last = max(i for i, w in enumerate(weights) if w)
    parts[last] += total - sum(parts, Decimal("0"))
    return parts


def bands(kwh: Decimal, position: Decimal, limits: list[int]) -> list[Decimal]:
    """``kwh`` counted from ``position`` shared among the bands whose upper limits are ``limits``
    (the last band open): the kWh that fall in each band."""
    out = []
    low = Decimal("0")
    start, stop = position, position + kwh
    for upper in [*(Decimal(limit) for limit in limits), None]:
        top = stop if upper is None else min(stop, upper)
        bottom = max(start, low)
        out.append(max(top - bottom, Decimal("0")))
        if upper is not None:
            low = upper
    return out


def power_factor(kwh: Decimal, kvarh: Decimal) -> Decimal:
    """The month's power factor from active and reactive energy, to two places."""
    if kwh <= 0:
        return Decimal("0.00")
    value = float(kwh) / math.sqrt(float(kwh) ** 2 + float(kvarh) ** 2)
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


def _tier_label(tier: int, tiers: int) -> str:
    return f"第{tier}档" if tiers > 1 else ""


def price(usage: Usage, versions: list[VersionInForce]) -> list[Line]:
    """The bill lines of ``usage`` under ``versions`` (consecutive, covering the period)."""
    if not versions:
        raise ValueError("no tariff version in force for the period")
    lines: list[Line] = []
    shares = split(usage.kwh, [Decimal(v.days) for v in versions])
    period_names = [p for p in PERIODS if usage.by_period.get(p)]
    period_shares = {p: split(usage.by_period[p], [Decimal(v.days) for v in versions]) for p in period_names}
    position = usage.year_kwh_before
    basic_and_energy = Decimal("0")
    for index, version in enumerate(versions):
        rules = version.rules
        fraction = Decimal(version.days) / Decimal(usage.days)
        kwh = shares[index]
        by_period = {p: period_shares[p][index] for p in period_names}
        segment = _segment(rules, usage, version, kwh, by_period, position, fraction)
        position += kwh
        lines += segment
        basic_and_energy += sum(
            (ln.amount for ln in segment if ln.item in ("energy", "tier_increment", "capacity", "demand")),
            Decimal("0"),
        )
    last = versions[-1]
    if usage.power_factor_steps is not None and usage.reactive_kvarh is not None and usage.kwh > 0:
        pf = power_factor(usage.kwh, usage.reactive_kvarh)
        percent = usage.power_factor_steps.get(f"{pf:.2f}", Decimal("0"))
        if percent:
            lines.append(
                Line(
                    "power_factor",
                    f"功率因数调整（功率因数{pf:.2f}，{percent:+}%）",
                    basic_and_energy,
                    "元",
                    percent / 100,
                    money(basic_and_energy * percent / 100),
                    last.id,
                )
            )
    return lines


def _segment(
    rules: TariffRules,
    usage: Usage,
    version: VersionInForce,
    kwh: Decimal,
    by_period: dict[str, Decimal],
    position: Decimal,
    fraction: Decimal,
) -> list[Line]:
    lines: list[Line] = []
    vid = version.id
    tiers = len(rules.tier_prices)
    if rules.tier_basis == "annual":
        in_bands = bands(kwh, position, rules.limits_for(usage.period_month, usage.persons))
    elif rules.tier_basis == "monthly":
        limits = [
            int((Decimal(limit) * fraction).quantize(Decimal("1"), rounding=ROUND_HALF_UP))
            for limit in rules.limits_for(usage.period_month, usage.persons)
        ]
        in_bands = bands(kwh, Decimal("0"), limits)
    else:
        in_bands = [kwh]
    timed = rules.tou_mode != "none" and bool(by_period) and set(by_period) <= rules.period_prices()
    if rules.tou_mode == "per_tier" and timed:
        names = list(by_period)
        for tier, tier_kwh in enumerate(in_bands, start=1):
            if not tier_kwh:
                continue
            for name, part in zip(names, split(tier_kwh, [by_period[n] for n in names]), strict=True):
                if part:
                    unit_price = rules.tou_tier_prices[tier - 1][name]  # type: ignore[index]
                    lines.append(
                        Line(
                            "energy",
                            f"{_tier_label(tier, tiers)}{PERIOD_LABELS[name]}段电费",
                            part,
                            "kWh",
                            unit_price,
                            money(part * unit_price),
                            vid,
                            tier,
                            name,
                        )
                    )
    elif rules.tou_mode in ("tier_increment", "periods") and timed:
        for name in PERIODS:
            part = by_period.get(name, Decimal("0"))
            if part:
                unit_price = rules.tou_prices[name]  # type: ignore[index]
                lines.append(
                    Line(
                        "energy",
                        f"{PERIOD_LABELS[name]}段电费",
                        part,
                        "kWh",
                        unit_price,
                        money(part * unit_price),
                        vid,
                        None,
                        name,
                    )
                )
        if rules.tou_mode == "tier_increment":
            base = rules.tier_prices[0]
            for tier, tier_kwh in enumerate(in_bands, start=1):
                increment = rules.tier_prices[tier - 1] - base
                if tier > 1 and tier_kwh and increment:
                    lines.append(
                        Line(
                            "tier_increment",
                            f"第{tier}档加价",
                            tier_kwh,
                            "kWh",
                            increment,
                            money(tier_kwh * increment),
                            vid,
                            tier,
                        )
                    )
    else:
        for tier, tier_kwh in enumerate(in_bands, start=1):
            if tier_kwh or (tier == 1 and not any(in_bands)):
                unit_price = rules.tier_prices[tier - 1]
                lines.append(
                    Line(
                        "energy",
                        f"{_tier_label(tier, tiers)}电度电费",
                        tier_kwh,
                        "kWh",
                        unit_price,
                        money(tier_kwh * unit_price),
                        vid,
                        tier if tiers > 1 else None,
                    )
                )
    if usage.demand_basis == "demand" and rules.demand_price is not None:
        floor = usage.capacity_kva * rules.demand_floor_share
        demand = max(usage.max_demand_kw or Decimal("0"), floor)
        charge = rules.demand_price * fraction
        lines.append(Line("demand", "基本电费（按需量）", demand, "kW", charge, money(demand * charge), vid))
    elif rules.capacity_price is not None and usage.capacity_kva:
        charge = rules.capacity_price * fraction
        lines.append(
            Line(
                "capacity",
                "基本电费（按容量）",
                usage.capacity_kva,
                "kVA",
                charge,
                money(usage.capacity_kva * charge),
                vid,
            )
        )
    for surcharge in rules.surcharges:
        if kwh:
            lines.append(
                Line(
                    "surcharge",
                    surcharge.name,
                    kwh,
                    "kWh",
                    surcharge.price,
                    money(kwh * surcharge.price),
                    vid,
                )
            )
    return lines


def power_factor_steps(standard: Decimal) -> dict[str, Decimal]:
    """The 1983 《功率因数调整电费办法》 table of a standard (0.90, 0.85 or 0.80) as ``{pf: percent}``
    for every power factor 0.00–1.00: a reduction above the standard, nothing at it, an increase
    below it (0.5 % per 0.01 for the first twenty steps, 1 % per 0.01 for the next five, 2 % per
    0.01 below that). Seeded into ``PowerFactorTable`` rows, which are what the calculation reads."""
    reductions = {
        Decimal("0.90"): ["0.15", "0.30", "0.45", "0.60", "0.75"],
        Decimal("0.85"): ["0.1", "0.2", "0.3", "0.4", "0.5", "0.65", "0.80", "0.95", "1.10"],
        Decimal("0.80"): [
            "0.1",
            "0.2",
            "0.3",
            "0.4",
            "0.5",
            "0.6",
            "0.7",
            "0.8",
            "0.9",
            "1.0",
            "1.15",
            "1.30",
        ],
    }[standard]
    steps: dict[str, Decimal] = {}
    for hundredths in range(0, 101):
        pf = Decimal(hundredths) / 100
        above = int((pf - standard) * 100)
        if above > 0:
            steps[f"{pf:.2f}"] = -Decimal(reductions[min(above, len(reductions)) - 1])
        elif above == 0:
            steps[f"{pf:.2f}"] = Decimal("0")
        else:
            below = -above
            if below <= 20:
                percent = Decimal("0.5") * below
            elif below <= 25:
                percent = Decimal("10") + (below - 20)
            else:
                percent = Decimal("15") + 2 * (below - 25)
            steps[f"{pf:.2f}"] = percent
    return steps
