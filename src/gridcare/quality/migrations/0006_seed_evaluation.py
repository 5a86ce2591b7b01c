"""The first 个人服务品质评价方案 (issue 17, item 5). The weights and scales are GridCare's starting
point, editable in the admin as a new version; inspection scores join when quality inspection is
built (item 6)."""

from django.db import migrations

INDICATORS = [
    # Volume: answered calls against the average of the agents compared.
    {"metric": "calls_answered", "weight": 25, "mode": "relative"},
    # Average handling time (talk + wrap-up): full points at 4 minutes, none at 8.
    {"metric": "average_handling_time", "weight": 20, "mode": "linear", "full_at": 240, "zero_at": 480},
    # Wrap-up discipline: full points at 30 s of after-call work, none at 2 minutes.
    {"metric": "wrap_up_seconds", "weight": 10, "mode": "linear", "full_at": 30, "zero_at": 120},
    # Callback satisfaction of the orders the agent accepted: full at 98 %, none at 80 %.
    {"metric": "satisfaction_rate", "weight": 30, "mode": "linear", "full_at": 98, "zero_at": 80},
    # Resolved at the first contact (consultations and bill queries): full at 90 %, none at 50 %.
    {"metric": "first_contact_resolution", "weight": 15, "mode": "linear", "full_at": 90, "zero_at": 50},
]

AGENT_METRICS = [
    dict(
        code="calls_answered",
        name="接通量",
        area="hotline",
        description="座席接通的来电数（按接听座席计）。",
        numerator={"source": "calls", "where": {"outcome": "answered"}, "agg": "count"},
        unit_label="通",
        decimals=0,
        better="higher",
        source="呼叫中心运营指标",
        sort=15,
    ),
    dict(
        code="wrap_up_seconds",
        name="平均话后处理时长",
        area="hotline",
        description="已接通来电挂机后到完成话后小结的平均秒数。",
        numerator={"source": "calls", "where": {"outcome": "answered"}, "agg": "avg_seconds:wrap_up_seconds"},
        unit_label="秒",
        decimals=0,
        better="lower",
        source="呼叫中心运营指标",
        sort=75,
    ),
]


def seed(apps, schema_editor):
    Metric = apps.get_model("quality", "Metric")
    for row in AGENT_METRICS:
        Metric.objects.update_or_create(code=row["code"], version=1, defaults=row)
    apps.get_model("quality", "EvaluationScheme").objects.update_or_create(
        version=1,
        defaults={
            "name": "座席个人服务品质评价",
            "indicators": INDICATORS,
            "stars": [90, 80, 70, 60],
        },
    )


def unseed(apps, schema_editor):
    apps.get_model("quality", "EvaluationScheme").objects.filter(version=1).delete()
    apps.get_model("quality", "Metric").objects.filter(code__in=[m["code"] for m in AGENT_METRICS]).delete()


class Migration(migrations.Migration):
    dependencies = [("quality", "0005_evaluation")]
    operations = [migrations.RunPython(seed, unseed)]
