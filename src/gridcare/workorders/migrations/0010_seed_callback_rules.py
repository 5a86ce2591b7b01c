"""Seed the callback rules (editable data; sources in docs/workorders.md, "Callbacks"):

- the callback limit (milestone ``callback``, counted from the approved review) for every type
  that is called back: 1 working day — the next-day callback (次日回访) of seed 004's callback
  practice, applied to every type (no published figure for the others was found);
- a dissatisfied complaint is reopened (back to its handling unit), the others go back to review;
- the callback calls: 3 attempts, 2 hours apart, 08:00–20:00 (GridCare's defaults, no published
  figure found; a refusal ends the callback as not reached).
"""

import datetime as dt

from django.db import migrations

CALLED_BACK_TYPES = [
    "fault_repair",
    "complaint",
    "report",
    "business",
    "service_request",
    "consultation",
    "bill_query",
    "opinion",
]
CALLBACK_LIMIT_SOURCE = "审核后 1 个工作日内回访（seed 004 次日回访）"
SETTING_SOURCE = "GridCare 默认值（未找到公开规定）"


def seed(apps, schema_editor):
    Policy = apps.get_model("workorders", "TimeLimitPolicy")
    CallbackRule = apps.get_model("workorders", "CallbackRule")
    Setting = apps.get_model("workorders", "CallbackSetting")
    for order_type in CALLED_BACK_TYPES:
        Policy.objects.create(
            order_type=order_type,
            milestone="callback",
            amount=1,
            unit="working_days",
            starts_on="review",
            pauses_when_suspended=False,
            source=CALLBACK_LIMIT_SOURCE,
            warning_fractions=[0.5, 0.8, 1.0],
        )
    CallbackRule.objects.filter(order_type="complaint").update(when_dissatisfied="reopen")
    if not Setting.objects.exists():
        Setting.objects.create(
            max_attempts=3,
            min_interval_minutes=120,
            calls_from=dt.time(8, 0),
            calls_until=dt.time(20, 0),
            refusal_ends_callback=True,
            source=SETTING_SOURCE,
        )


def unseed(apps, schema_editor):
    apps.get_model("workorders", "TimeLimitPolicy").objects.filter(milestone="callback").delete()
    apps.get_model("workorders", "CallbackRule").objects.update(when_dissatisfied="review")
    apps.get_model("workorders", "CallbackSetting").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("workorders", "0009_callback_rounds")]
    operations = [migrations.RunPython(seed, unseed)]
