"""Seed the working-day calendar with the official schedule the chinese_calendar package holds."""

from django.db import migrations


def load(apps, schema_editor):
    import chinese_calendar

    CalendarDay = apps.get_model("core", "CalendarDay")
    CalendarYear = apps.get_model("core", "CalendarYear")
    rows = []
    years = set()
    for kind, source in (("holiday", chinese_calendar.holidays), ("workday", chinese_calendar.workdays)):
        for date, name in source.items():
            if date.year >= 2020:
                rows.append(CalendarDay(date=date, kind=kind, name=str(name), source="chinese_calendar"))
                years.add(date.year)
    CalendarDay.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    for year in sorted(years):
        CalendarYear.objects.update_or_create(
            year=year, defaults={"published": True, "note": "国务院办公厅放假安排（chinese_calendar）"}
        )


def unload(apps, schema_editor):
    apps.get_model("core", "CalendarDay").objects.filter(source="chinese_calendar").delete()
    apps.get_model("core", "CalendarYear").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("core", "0002_initial")]
    operations = [migrations.RunPython(load, unload)]
