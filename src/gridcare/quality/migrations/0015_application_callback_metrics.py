"""业扩回访 in the metric registry (issue 18, item 5: "answers feed the quality figures"), from the
``app_callbacks`` source: the callbacks reached in the period, put there by their answer time.

- 业扩回访满意率: 满意 + 基本满意 ÷ callbacks reached (the work orders' scale).
- 业扩回访问题线索: callbacks whose answers were a finding (吃拿卡要, 三指定, 无证施工) and raised a
  report order.

The roll-ups' triggers are installed again: the callbacks' table is now stamped."""

from decimal import Decimal

from django.db import migrations

SOURCE = "案例：供电所95598对业扩报装业务实行全部回访（seeds/004）"
REACHED = {"state": "done"}

METRICS = [
    dict(
        code="yk_callback_satisfaction",
        name="业扩回访满意率",
        area="applications",
        description="本期回访成功的业扩回访中，客户评价“满意”“基本满意”的件数 ÷ 回访成功件数 × 100%。",
        numerator={
            "source": "app_callbacks",
            "where": {**REACHED, "satisfaction__in": ["satisfied", "basically"]},
            "agg": "count",
        },
        denominator={"source": "app_callbacks", "where": REACHED, "agg": "count"},
        scale=Decimal(100),
        unit_label="%",
        decimals=2,
        target=Decimal(98),
        better="higher",
        source=SOURCE,
        formula_known=False,
        sort=63,
    ),
    dict(
        code="yk_callback_findings",
        name="业扩回访问题线索",
        area="applications",
        description="本期回访中客户反映“吃拿卡要”“三指定”、无证施工等问题、已生成举报工单和稽查案件的件数。",
        numerator={
            "source": "app_callbacks",
            "where": {**REACHED, "report_order__isnull": False},
            "agg": "count",
        },
        scale=Decimal(1),
        unit_label="件",
        decimals=0,
        target=Decimal(0),
        better="lower",
        source=SOURCE,
        sort=64,
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


def drop_callback_triggers(apps, schema_editor):
    table = "applications_applicationcallback"
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "postgresql":
            cursor.execute(f"DROP TRIGGER IF EXISTS gc_rollup_{table} ON {table}")
        else:
            for n in "iud":
                cursor.execute(f"DROP TRIGGER IF EXISTS gc_rollup_{table}_{n}")


class Migration(migrations.Migration):
    dependencies = [("quality", "0013_application_metrics"), ("applications", "0005_callbacks")]
    operations = [
        migrations.RunPython(seed, unseed),
        migrations.RunPython(install_triggers, drop_callback_triggers),
    ]
