"""Seed time limits and callback rates (editable data; sources in docs/workorders.md, "Time limits")."""

from django.db import migrations

SEED = "PRODUCT.md / 95598 practice"

# (order_type, milestone, area_class, amount, unit, starts_on, pauses_when_suspended, source)
POLICIES = [
    ("fault_repair", "dispatch", "", 5, "minutes", "accept", False, "派单 5 分钟（seed 002）"),
    ("fault_repair", "arrive", "urban", 45, "minutes", "accept", False, "城区 45 分钟（十项承诺）"),
    ("fault_repair", "arrive", "rural", 90, "minutes", "accept", False, "农村 90 分钟（十项承诺）"),
    ("fault_repair", "arrive", "remote", 120, "minutes", "accept", False, "特殊边远 2 小时（十项承诺）"),
    ("fault_repair", "restore", "urban", 3, "hours", "arrive", False, "到达后城区 3 小时恢复"),
    ("fault_repair", "restore", "rural", 4, "hours", "arrive", False, "到达后农村 4 小时恢复"),
    ("fault_repair", "restore", "remote", 4, "hours", "arrive", False, "到达后特殊边远 4 小时恢复"),
    ("complaint", "contact", "", 1, "working_days", "accept", False, "1 个工作日内联系客户"),
    ("complaint", "reply", "", 5, "working_days", "accept", False, "5 天内答复（seed 003/004）"),
    ("report", "reply", "", 10, "working_days", "accept", False, "举报 10 个工作日答复"),
    ("consultation", "reply", "", 1, "working_days", "accept", True, "咨询 1 个工作日答复"),
    ("bill_query", "reply", "", 1, "working_days", "accept", True, "电费查询 1 个工作日答复"),
    ("opinion", "reply", "", 5, "working_days", "accept", True, "意见建议 5 个工作日答复"),
    ("praise", "reply", "", 5, "working_days", "accept", True, "表扬 5 个工作日内核实反馈"),
    ("service_request", "reply", "", 5, "working_days", "accept", True, "服务申请 5 个工作日"),
    ("verification", "reply", "", 5, "working_days", "accept", True, "业务核查 5 个工作日"),
    ("business", "contact", "", 1, "working_days", "accept", True, "业务办理 1 个工作日内联系"),
    ("business", "reply", "", 5, "working_days", "accept", True, "业务办理答复 5 个工作日"),
]

CALLBACK_RATES = [
    ("fault_repair", "", "1.000"),
    ("complaint", "", "1.000"),
    ("report", "", "1.000"),
    ("business", "", "1.000"),  # appointments / applications
    ("service_request", "", "1.000"),
    ("consultation", "outage_query", "0.200"),
    ("consultation", "policy", "0.200"),
    ("consultation", "", "0.200"),
    ("bill_query", "", "0.200"),
    ("opinion", "", "0.200"),
    ("praise", "", "0.000"),
    ("verification", "", "0.000"),
]


def seed(apps, schema_editor):
    Policy = apps.get_model("workorders", "TimeLimitPolicy")
    CallbackRule = apps.get_model("workorders", "CallbackRule")
    Setting = apps.get_model("workorders", "SupervisionSetting")
    for order_type, milestone, area, amount, unit, starts_on, pauses, source in POLICIES:
        Policy.objects.create(
            order_type=order_type, milestone=milestone, area_class=area, amount=amount, unit=unit,
            starts_on=starts_on, pauses_when_suspended=pauses, source=source, warning_fractions=[0.5, 0.8, 1.0],
        )
    # County towns with a 30-minute arrival commitment (seed 004): an inactive alternative to enable.
    Policy.objects.create(
        order_type="fault_repair", milestone="arrive", area_class="urban", customer_class="residential",
        amount=30, unit="minutes", source="县城 30 分钟（seed 004，可选）", is_active=False,
        warning_fractions=[0.5, 0.8, 1.0],
    )
    for order_type, subtype, rate in CALLBACK_RATES:
        CallbackRule.objects.create(order_type=order_type, subtype=subtype, rate=rate)
    Setting.objects.create(urgings_to_raise_warning=2)


def unseed(apps, schema_editor):
    apps.get_model("workorders", "TimeLimitPolicy").objects.all().delete()
    apps.get_model("workorders", "CallbackRule").objects.all().delete()
    apps.get_model("workorders", "SupervisionSetting").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("workorders", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
