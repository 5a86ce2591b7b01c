"""Tariff pricing with amounts worked out by hand (the seeded rule documents, read from the
database as the calculation reads them)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from pydantic import ValidationError

from gridcare.billing.models import PowerFactorTable, TariffVersion
from gridcare.billing.tariffs import TariffRules, Usage, VersionInForce, bands, power_factor, price, split

D = Decimal


def version(code: str, start=dt.date(2026, 7, 1), end=dt.date(2026, 7, 31)) -> VersionInForce:
    row = TariffVersion.objects.filter(schedule__code=code).order_by("-effective_from").first()
    return VersionInForce(row.pk, row.label, TariffRules.model_validate(row.rules), start, end)


def total(lines) -> Decimal:
    return sum((ln.amount for ln in lines), D("0"))


def july(kwh, **kw) -> Usage:
    return Usage(period_month=7, start=dt.date(2026, 7, 1), end=dt.date(2026, 7, 31), kwh=D(kwh), **kw)


@pytest.mark.django_db
def test_an_annual_tier_household_crossing_both_boundaries_in_one_bill():
    # 2,700 kWh this tier year before the bill; 2,200 kWh now: 60 in band 1 (to 2,760), 2,040 in
    # band 2 (to 4,800), 100 in band 3.
    lines = price(july(2200, year_kwh_before=D(2700)), [version("zj-residential")])
    assert [(ln.tier, ln.quantity, ln.price, ln.amount) for ln in lines] == [
        (1, D(60), D("0.538"), D("32.28")),
        (2, D(2040), D("0.588"), D("1199.52")),
        (3, D(100), D("0.838"), D("83.80")),
    ]
    assert total(lines) == D("1315.60")
    assert {ln.version_id for ln in lines} == {version("zj-residential").id}


@pytest.mark.django_db
def test_a_large_household_gets_its_bands_raised():
    # Five people: +100 kWh a month on every band, ×12 for annual tiers → 3,960 / 6,000.
    lines = price(july(200, year_kwh_before=D(3900), persons=5), [version("zj-residential")])
    assert [(ln.tier, ln.quantity, ln.amount) for ln in lines] == [
        (1, D(60), D("32.28")),
        (2, D(140), D("82.32")),
    ]
    # Four people: no change — all 200 kWh are in band 2 (from 2,760).
    lines = price(july(200, year_kwh_before=D(3900), persons=4), [version("zj-residential")])
    assert [(ln.tier, ln.amount) for ln in lines] == [(2, D("117.60"))]


@pytest.mark.django_db
def test_time_of_use_priced_per_tier():
    # Zhejiang: each band has its own peak and valley price; each band's kWh split 60/40 as the
    # month's peak/valley.
    usage = july(2200, year_kwh_before=D(2700), by_period={"peak": D(1320), "valley": D(880)})
    lines = price(usage, [version("zj-residential-tou")])
    assert [(ln.tier, ln.tou_period, ln.quantity, ln.amount) for ln in lines] == [
        (1, "peak", D(36), D("20.45")),  # 36 × 0.568 = 20.448
        (1, "valley", D(24), D("6.91")),  # 24 × 0.288 = 6.912
        (2, "peak", D(1224), D("756.43")),  # 1,224 × 0.618 = 756.432
        (2, "valley", D(816), D("275.81")),  # 816 × 0.338 = 275.808
        (3, "peak", D(60), D("52.08")),
        (3, "valley", D(40), D("23.52")),
    ]
    assert total(lines) == D("1135.20")


@pytest.mark.django_db
def test_time_of_use_with_the_tier_increment_on_top_summer_and_winter():
    by_period = {"peak": D(300), "flat": D(250), "valley": D(150)}
    energy = D("308.69") + D("152.22") + D("35.52")  # 300 × 1.02896875, 250 × 0.60886875, 150 × 0.23676875
    summer = price(july(700, by_period=by_period), [version("south-residential")])
    # July: bands above 260 and 600 → 260 / 340 / 100; +0.05 on 340 and +0.30 on 100.
    increments = [(ln.tier, ln.quantity, ln.amount) for ln in summer if ln.item == "tier_increment"]
    assert increments == [(2, D(340), D("17.00")), (3, D(100), D("30.00"))]
    assert total(summer) == energy + D("47.00") == D("543.43")
    january = Usage(
        period_month=1, start=dt.date(2026, 1, 1), end=dt.date(2026, 1, 31), kwh=D(700), by_period=by_period
    )
    winter = price(january, [version("south-residential", dt.date(2026, 1, 1), dt.date(2026, 1, 31))])
    # January: above 200 and 400 → 200 / 200 / 300: 10.00 + 90.00.
    assert total(winter) == energy + D("100.00") == D("596.43")


@pytest.mark.django_db
def test_a_two_part_large_industry_bill_with_the_power_factor_adjustment():
    steps = {k: D(v) for k, v in PowerFactorTable.objects.get(standard=D("0.90")).steps.items()}
    usage = july(
        120_000,
        by_period={"peak": D(40_000), "flat": D(50_000), "valley": D(30_000)},
        capacity_kva=D(630),
        reactive_kvarh=D(72_000),
        power_factor_steps=steps,
    )
    lines = price(usage, [version("demo-large-industry")])
    got = {(ln.item, ln.tou_period): ln.amount for ln in lines}
    assert got[("energy", "peak")] == D("39040.00")  # 40,000 × 0.976
    assert got[("energy", "flat")] == D("30500.00")
    assert got[("energy", "valley")] == D("9150.00")
    assert got[("capacity", "")] == D("18900.00")  # 630 kVA × 30
    # cos φ = 120,000 / √(120,000² + 72,000²) = 0.857 → 0.86: four hundredths under 0.90, +2 %
    # of basic + energy (97,590.00).
    assert power_factor(D(120_000), D(72_000)) == D("0.86")
    assert got[("power_factor", "")] == D("1951.80")
    assert total(lines) == D("99541.80")
    # The same month for a customer on the 0.85 standard: 0.86 earns 0.1 % off.
    steps85 = {k: D(v) for k, v in PowerFactorTable.objects.get(standard=D("0.85")).steps.items()}
    usage.power_factor_steps = steps85
    assert {ln.item: ln.amount for ln in price(usage, [version("demo-large-industry")])}["power_factor"] == D(
        "-97.59"
    )


@pytest.mark.django_db
def test_demand_basis_charges_the_months_maximum_demand_not_below_its_floor():
    v = version("demo-large-industry")
    high = july(10_000, capacity_kva=D(630), demand_basis="demand", max_demand_kw=D(400))
    assert [ln.amount for ln in price(high, [v]) if ln.item == "demand"] == [D("16000.00")]  # 400 × 40
    low = july(10_000, capacity_kva=D(630), demand_basis="demand", max_demand_kw=D(100))
    assert [ln.quantity for ln in price(low, [v]) if ln.item == "demand"] == [D("252.0")]  # 40 % of 630


def _rules(prices):
    return TariffRules(tier_basis="monthly", tier_prices=[D(p) for p in prices], tier_limits=[200, 400])


def test_a_tariff_change_inside_the_period_prices_each_part_by_its_version():
    # 600 kWh over June (30 days); the new version applies from the 16th: 15 days each, 300 kWh
    # each, the monthly limits halved (100 / 200) for each part.
    old = VersionInForce(
        1, "old", _rules(["0.50", "0.55", "0.80"]), dt.date(2026, 6, 1), dt.date(2026, 6, 15)
    )
    new = VersionInForce(
        2, "new", _rules(["0.60", "0.65", "0.90"]), dt.date(2026, 6, 16), dt.date(2026, 6, 30)
    )
    usage = Usage(period_month=6, start=dt.date(2026, 6, 1), end=dt.date(2026, 6, 30), kwh=D(600))
    lines = price(usage, [old, new])
    assert [(ln.version_id, ln.tier, ln.quantity, ln.amount) for ln in lines] == [
        (1, 1, D(100), D("50.00")),
        (1, 2, D(100), D("55.00")),
        (1, 3, D(100), D("80.00")),
        (2, 1, D(100), D("60.00")),
        (2, 2, D(100), D("65.00")),
        (2, 3, D(100), D("90.00")),
    ]
    assert total(lines) == D("400.00")


def test_splits_add_up_and_bands_cover_the_usage():
    assert split(D("100"), [D(1), D(1), D(1)]) == [D("33.33"), D("33.33"), D("33.34")]
    assert bands(D(500), D(0), [200, 400]) == [D(200), D(200), D(100)]
    assert bands(D(50), D(4900), [2760, 4800]) == [D(0), D(0), D(50)]


def test_a_rule_document_that_does_not_add_up_is_refused():
    with pytest.raises(ValidationError):
        TariffRules(tier_basis="annual", tier_prices=[D("0.5"), D("0.6")], tier_limits=[])
    with pytest.raises(ValidationError):
        TariffRules(tier_basis="monthly", tier_prices=[D("0.5"), D("0.6"), D("0.7")], tier_limits=[400, 200])
    with pytest.raises(ValidationError):
        TariffRules(tier_prices=[D("0.5")], tou_mode="periods")
