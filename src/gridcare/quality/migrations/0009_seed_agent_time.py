"""Occupancy and signed-in time from the agents' state spells (issue 17, items 1 and 5)."""

from decimal import Decimal

from django.db import migrations

WORKING = ["ready", "on_call", "after_call"]

METRICS = [
    dict(
        code="occupancy",
        name="座席占用率",
        area="hotline",
        description="通话中与话后处理时长 ÷（空闲＋通话中＋话后处理）时长 × 100%，按开始于统计期内的状态记录计；小休不计入分母。",
        numerator={"source": "agent_time", "where": {"state__in": ["on_call", "after_call"]}, "agg": "sum:seconds"},
        denominator={"source": "agent_time", "where": {"state__in": WORKING}, "agg": "sum:seconds"},
        scale=Decimal(100),
        unit_label="%",
        decimals=1,
        better="higher",
        source="呼叫中心运营指标",
        sort=95,
    ),
    dict(
        code="signed_in_hours",
        name="签入工作时长",
        area="hotline",
        description="座席签入后处于空闲、通话中、话后处理、小休状态的时长合计（小时）。",
        numerator={
            "source": "agent_time",
            "where": {"state__in": [*WORKING, "break"]},
            "agg": "sum:seconds",
        },
        scale=Decimal("0.000277778"),  # seconds → hours
        unit_label="小时",
        decimals=1,
        better="higher",
        source="呼叫中心考勤",
        sort=96,
    ),
]


def seed(apps, schema_editor):
    Metric = apps.get_model("quality", "Metric")
    for row in METRICS:
        Metric.objects.update_or_create(code=row["code"], version=1, defaults=row)


def unseed(apps, schema_editor):
    apps.get_model("quality", "Metric").objects.filter(code__in=[m["code"] for m in METRICS]).delete()


class Migration(migrations.Migration):
    dependencies = [("quality", "0008_seed_inspection"), ("hotline", "0005_agent_state_spells")]
    operations = [migrations.RunPython(seed, unseed)]
