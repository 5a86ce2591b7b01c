"""Seed the analysis and dispatch parameters (editable data, see docs/repair.md)."""

from django.db import migrations


def seed(apps, schema_editor):
    Setting = apps.get_model("repair", "RepairSetting")
    if not Setting.objects.exists():
        Setting.objects.create()


def unseed(apps, schema_editor):
    apps.get_model("repair", "RepairSetting").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("repair", "0001_initial")]
    operations = [migrations.RunPython(seed, unseed)]
