"""Seed billing's rule data (all editable in the admin; each row keeps its source): tariffs with
their first versions, the power-factor tables, the late-fee rules of 1996 and 2024, and the
calculation's thresholds. See docs/billing.md for the choices made."""

from decimal import Decimal

from django.db import migrations

ZJ = "浙江省居民生活用电年阶梯电价：≤2760 / 2761–4800 / ≥4801千瓦时，0.538 / 0.588 / 0.838元（docs/billing.md“电价来源”）"
ZJ_TOU = "浙江省居民峰谷分时电价（按阶梯）：峰 0.568/0.618/0.868，谷 0.288/0.338/0.588元；峰8:00–22:00，谷22:00–次日8:00"
SOUTH = (
    "南方某省居民月阶梯（分季节）：夏季（5–10月）第二档260、第三档600千瓦时以上，其余月份200/400；"
    "阶梯价0.60886875/0.65886875/0.90886875；峰1.02896875（10–12、14–19时）谷0.23676875（0–8时）；"
    "执行峰谷的，在峰谷电价基础上叠加阶梯加价（docs/billing.md“电价来源”）"
)
DEMO = "演示县示例价格：结构按现行分时/两部制电价，数值为示意，部署时按本省价格文件录入"

ZJ_WINDOWS = [
    {"period": "peak", "start": "08:00", "end": "22:00"},
    {"period": "valley", "start": "22:00", "end": "08:00"},
]
SOUTH_WINDOWS = [
    {"period": "valley", "start": "00:00", "end": "08:00"},
    {"period": "flat", "start": "08:00", "end": "10:00"},
    {"period": "peak", "start": "10:00", "end": "12:00"},
    {"period": "flat", "start": "12:00", "end": "14:00"},
    {"period": "peak", "start": "14:00", "end": "19:00"},
    {"period": "flat", "start": "19:00", "end": "24:00"},
]
BUSINESS_WINDOWS = [
    {"period": "valley", "start": "00:00", "end": "08:00"},
    {"period": "peak", "start": "08:00", "end": "11:00"},
    {"period": "flat", "start": "11:00", "end": "13:00"},
    {"period": "peak", "start": "13:00", "end": "22:00"},
    {"period": "valley", "start": "22:00", "end": "24:00"},
]

SCHEDULES = [
    # (code, name, province, kind, category, version label, effective from, rules, source)
    (
        "zj-residential",
        "浙江居民阶梯电价",
        "浙江",
        "residential",
        "residential_tiered",
        "浙江居民年阶梯",
        "2012-07-01",
        {
            "tier_basis": "annual",
            "tier_prices": ["0.538", "0.588", "0.838"],
            "tier_limits": [2760, 4800],
            "multi_person_persons": 5,
            "multi_person_extra_kwh": 100,
            "multi_person_scope": "all",
            "tou_windows": ZJ_WINDOWS,
        },
        ZJ,
    ),
    (
        "zj-residential-tou",
        "浙江居民峰谷分时电价",
        "浙江",
        "residential",
        "residential_tou",
        "浙江居民峰谷（按阶梯）",
        "2012-07-01",
        {
            "tier_basis": "annual",
            "tier_prices": ["0.538", "0.588", "0.838"],
            "tier_limits": [2760, 4800],
            "multi_person_persons": 5,
            "multi_person_extra_kwh": 100,
            "multi_person_scope": "all",
            "tou_mode": "per_tier",
            "tou_tier_prices": [
                {"peak": "0.568", "valley": "0.288"},
                {"peak": "0.618", "valley": "0.338"},
                {"peak": "0.868", "valley": "0.588"},
            ],
            "tou_windows": ZJ_WINDOWS,
        },
        ZJ_TOU,
    ),
    (
        "south-residential",
        "南方某省居民月阶梯电价（分季节，峰谷叠加阶梯加价）",
        "南方某省",
        "residential",
        "residential_tou",
        "月阶梯+峰谷",
        "2021-01-01",
        {
            "tier_basis": "monthly",
            "tier_prices": ["0.60886875", "0.65886875", "0.90886875"],
            "tier_limits": [200, 400],
            "seasons": [{"months": [5, 6, 7, 8, 9, 10], "limits": [260, 600]}],
            "multi_person_persons": 5,
            "multi_person_extra_kwh": 100,
            "multi_person_scope": "first",
            "tou_mode": "tier_increment",
            "tou_prices": {"peak": "1.02896875", "flat": "0.60886875", "valley": "0.23676875"},
            "tou_windows": SOUTH_WINDOWS,
        },
        SOUTH,
    ),
    (
        "demo-business",
        "一般工商业分时电价（单一制，演示）",
        "演示县",
        "single_rate",
        "general_business",
        "演示版",
        "2023-06-01",
        {
            "tier_prices": ["0.6523"],
            "tou_mode": "periods",
            "tou_prices": {"peak": "1.0437", "flat": "0.6523", "valley": "0.3262"},
            "tou_windows": BUSINESS_WINDOWS,
        },
        DEMO,
    ),
    (
        "demo-agriculture",
        "农业生产电价（演示）",
        "演示县",
        "single_rate",
        "agriculture",
        "演示版",
        "2023-06-01",
        {"tier_prices": ["0.4970"]},
        DEMO,
    ),
    (
        "demo-large-industry",
        "大工业两部制电价 1–10kV（演示）",
        "演示县",
        "two_part",
        "large_industry",
        "演示版",
        "2023-06-01",
        {
            "tier_prices": ["0.6100"],
            "tou_mode": "periods",
            "tou_prices": {"peak": "0.9760", "flat": "0.6100", "valley": "0.3050"},
            "tou_windows": BUSINESS_WINDOWS,
            "capacity_price": "30",
            "demand_price": "40",
            "demand_floor_share": "0.4",
        },
        DEMO,
    ),
]

PF_SOURCE = (
    "水利电力部、国家物价局《功率因数调整电费办法》（1983）附表：以0.90/0.85/0.80为标准值的功率因数调整电费表"
)


def seed(apps, schema_editor):
    from gridcare.billing.tariffs import TariffRules, power_factor_steps

    Schedule = apps.get_model("billing", "TariffSchedule")
    Version = apps.get_model("billing", "TariffVersion")
    PowerFactorTable = apps.get_model("billing", "PowerFactorTable")
    LateFeeRule = apps.get_model("billing", "LateFeeRule")
    BillingSetting = apps.get_model("billing", "BillingSetting")
    for code, name, province, kind, category, label, start, rules, source in SCHEDULES:
        TariffRules.model_validate(rules)  # the seed obeys its own rules
        schedule = Schedule.objects.create(code=code, name=name, province=province, kind=kind, category=category)
        Version.objects.create(schedule=schedule, label=label, effective_from=start, rules=rules, source=source)
    for standard in ("0.90", "0.85", "0.80"):
        steps = {pf: str(percent) for pf, percent in power_factor_steps(Decimal(standard)).items()}
        PowerFactorTable.objects.create(standard=Decimal(standard), steps=steps, source=PF_SOURCE)
    LateFeeRule.objects.create(
        effective_from="1996-10-08",
        label="《供电营业规则》（1996，电力工业部令第8号）第九十八条",
        residential_per_day=Decimal("0.001"),
        current_year_per_day=Decimal("0.002"),
        prior_years_per_day=Decimal("0.003"),
        minimum=Decimal("1"),
        note="从逾期之日起计算至交纳日止；居民每日千分之一；其他用户当年欠费每日千分之二、跨年度欠费每日千分之三；不足1元按1元收取。",
    )
    LateFeeRule.objects.create(
        effective_from="2024-06-01",
        label="《供电营业规则》（2024，国家发展改革委令第14号）",
        residential_per_day=Decimal("0.001"),
        current_year_per_day=Decimal("0.002"),
        prior_years_per_day=Decimal("0.003"),
        minimum=Decimal("1"),
        note=(
            "2024年6月1日起施行。费率沿用1996年版数值：新规则条文未能在本系统离线核对，"
            "上线前请按条文原文核对并在此修改（修改只影响生效日期之后的计息日）。"
        ),
    )
    BillingSetting.objects.create(effective_from="2000-01-01")


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
