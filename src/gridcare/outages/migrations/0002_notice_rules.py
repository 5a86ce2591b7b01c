"""Seed the notice rules (docs/outages.md): planned outages 7 days ahead, temporary maintenance
24 hours ahead; fault outages have no notice rule but key customers are phoned."""

from django.db import migrations

RULES = [
    ("planned", 168, False, "计划检修停电提前7天公告（供电监管办法）"),
    ("temporary", 24, False, "临时检修停电提前24小时通知重要用户"),
    ("fault", 0, True, "故障停电：无提前通知要求，须电话告知受影响的重要客户并登记"),
]


def seed(apps, schema_editor):
    NoticeRule = apps.get_model("outages", "NoticeRule")
    for kind, hours, phone, note in RULES:
        NoticeRule.objects.update_or_create(
            kind=kind, defaults={"min_notice_hours": hours, "phone_key_customers": phone, "note": note}
        )


def unseed(apps, schema_editor):
    apps.get_model("outages", "NoticeRule").objects.filter(kind__in=[r[0] for r in RULES]).delete()


class Migration(migrations.Migration):
    dependencies = [("outages", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
