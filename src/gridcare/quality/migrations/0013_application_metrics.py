"""业扩报装 KPIs in the metric registry (issue 18, item 9), read from the ``app_nodes`` source
(quality/metrics.py): one row per application node, put in a period by its finish time.

- 高压/低压业扩时限达标率: the energization nodes of connection applications (a path with a
  promised total) finished in the period; HV met when every timed node was on time
  (``nodes_on_time``), LV when energized by the promised date (both net of customer waits: due
  dates move with every wait).
- 业扩平均接电时间: accept → energize in **natural days**, waits included — the registry's
  aggregates add up row fields, and a working day is a date of the official calendar
  (core.calendar, holidays as data), which no sum of two timestamps can count. The net
  working-day figure is on the 业扩报装统计 page and API (applications/figures.py).

The roll-ups' triggers are installed again: the node table is now stamped (and through the
application, every change of one of its nodes)."""

from decimal import Decimal

from django.db import migrations, models

CONNECTION = {"kind": "energize", "application__total_days__isnull": False}
LV = ["residential", "lv_non_residential"]
SG186 = "省公司业扩时限规则（SG186考核口径）"

METRICS = [
    dict(
        code="yk_hv_on_time",
        name="高压业扩时限达标率",
        area="applications",
        description=(
            "本期装表接电完成的高压新装增容申请中，供电方案答复、设计审核、中间检查、竣工检验、装表接电"
            "五个环节均在时限内完成的件数 ÷ 装表接电完成件数 × 100%。环节时限已扣除客户原因中止的工作日。"
        ),
        numerator={
            "source": "app_nodes",
            "where": {**CONNECTION, "application__category": "hv", "nodes_on_time": True},
            "agg": "count",
        },
        denominator={"source": "app_nodes", "where": {**CONNECTION, "application__category": "hv"}, "agg": "count"},
        scale=Decimal(100),
        unit_label="%",
        decimals=2,
        target=Decimal(100),
        better="higher",
        source=SG186,
        sort=60,
    ),
    dict(
        code="yk_lv_on_time",
        name="低压业扩时限达标率",
        area="applications",
        description=(
            "本期装表接电完成的低压新装增容申请中，自受理至装表接电（含配套电网工程）在承诺全流程时限"
            "（工作日，扣除客户原因中止）内完成的件数 ÷ 装表接电完成件数 × 100%。"
        ),
        numerator={
            "source": "app_nodes",
            "where": {
                **CONNECTION,
                "application__category__in": LV,
                "finished_at__lte": {"F": "application__total_due_at"},
            },
            "agg": "count",
        },
        denominator={
            "source": "app_nodes",
            "where": {**CONNECTION, "application__category__in": LV},
            "agg": "count",
        },
        scale=Decimal(100),
        unit_label="%",
        decimals=2,
        target=Decimal(100),
        better="higher",
        source="国家电网供电服务“十项承诺”（2023年版）：低压业扩全过程时限",
        sort=61,
    ),
    dict(
        code="yk_avg_connect_days",
        name="业扩平均接电时间",
        area="applications",
        description=(
            "本期装表接电完成的新装增容申请自受理至装表接电的平均时长（自然日，含客户原因中止）。"
            "按工作日并扣除客户原因中止的口径见“业扩报装统计”页。"
        ),
        numerator={
            "source": "app_nodes",
            "where": CONNECTION,
            "agg": "avg_minutes:application__accepted_at:finished_at",
        },
        scale=Decimal("0.000694444"),  # minutes → days
        unit_label="天",
        decimals=1,
        better="lower",
        source="获得电力：接电时间按自然日计",
        formula_known=False,
        sort=62,
    ),
]


def seed(apps, schema_editor):
    Metric = apps.get_model("quality", "Metric")
    for row in METRICS:
        Metric.objects.update_or_create(code=row["code"], version=1, defaults=row)


def unseed(apps, schema_editor):
    apps.get_model("quality", "Metric").objects.filter(code__in=[m["code"] for m in METRICS]).delete()


def install_triggers(apps, schema_editor):
    from gridcare.quality import rollups

    rollups.install_triggers(schema_editor)


def drop_application_triggers(apps, schema_editor):
    tables = ("applications_applicationnode", "applications_application")
    with schema_editor.connection.cursor() as cursor:
        for table in tables:
            if schema_editor.connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER IF EXISTS gc_rollup_{table} ON {table}")
            else:
                for n in "iud":
                    cursor.execute(f"DROP TRIGGER IF EXISTS gc_rollup_{table}_{n}")


class Migration(migrations.Migration):
    # 0014_stock_rollups (already on main) is listed too, so that quality has one leaf; the lead
    # may re-point it at merge.
    dependencies = [
        ("quality", "0012_bucket_digest"),
        ("quality", "0014_stock_rollups"),
        ("applications", "0003_channel_choices"),
    ]
    operations = [
        migrations.AlterField(
            model_name="metric",
            name="area",
            field=models.CharField(
                choices=[
                    ("hotline", "热线话务"),
                    ("orders", "工单"),
                    ("repair", "故障抢修"),
                    ("complaints", "投诉"),
                    ("callbacks", "回访"),
                    ("applications", "业扩报装"),
                ],
                max_length=12,
                verbose_name="统计专题",
            ),
        ),
        migrations.RunPython(seed, unseed),
        migrations.RunPython(install_triggers, drop_application_triggers),
    ]
