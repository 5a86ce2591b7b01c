"""Working-day arithmetic across Spring Festival and National Day (2025 and 2026)."""

import datetime as dt

import pytest

from gridcare.core import calendar
from gridcare.core.clock import LOCAL_TZ
from gridcare.core.models import CalendarDay, CalendarYear

pytestmark = pytest.mark.django_db


def at(y, m, d, h=10, mi=0):
    return dt.datetime(y, m, d, h, mi, tzinfo=LOCAL_TZ)


def test_spring_festival_2025_is_skipped_and_makeup_sunday_counts():
    # 2025 Spring Festival: 1/28–2/4 off; Sun 1/26 and Sat 2/8 are 调休 working days.
    assert calendar.is_working_day(dt.date(2025, 1, 26))
    assert not calendar.is_working_day(dt.date(2025, 1, 29))
    # Mon 1/27 10:00 + 1 working day: 1/28..2/4 are off, so Wed 2/5.
    assert calendar.add_working_days(at(2025, 1, 27), 1) == calendar.Deadline(at(2025, 2, 5), False)
    # Fri 2/7 + 1 → Sat 2/8 (调休 workday).
    assert calendar.add_working_days(at(2025, 2, 7), 1).at == at(2025, 2, 8)


def test_national_day_2025_complaint_reply_of_five_working_days():
    # Accepted Tue 2025-09-30 10:00; 10/1–10/8 off, Sat 10/11 is a working day.
    deadline = calendar.add_working_days(at(2025, 9, 30), 5)
    # 10/9 Thu, 10/10 Fri, 10/11 Sat(调休), 10/13 Mon, 10/14 Tue
    assert deadline.at == at(2025, 10, 14)
    assert not deadline.provisional


def test_spring_festival_2026():
    # 2026 Spring Festival: 2/15–2/23 off; Sat 2/14 and Sat 2/28 are working days.
    assert calendar.is_working_day(dt.date(2026, 2, 14))
    assert not calendar.is_working_day(dt.date(2026, 2, 16))
    assert calendar.add_working_days(at(2026, 2, 13), 2).at == at(2026, 2, 24)


def test_national_day_2026():
    assert not calendar.is_working_day(dt.date(2026, 10, 1))
    assert not calendar.is_working_day(dt.date(2026, 10, 7))
    assert calendar.add_working_days(at(2026, 9, 30), 1).at == at(2026, 10, 8)


def test_start_on_a_holiday_counts_from_next_working_morning():
    # Reported on National Day 2026 at 15:00 → counting starts 10/8 08:30.
    assert calendar.add_working_days(at(2026, 10, 3, 15), 1).at == at(2026, 10, 9, 8, 30)


def test_working_hours_skip_nights_and_holidays():
    # Tue 2025-09-30 16:30 + 2 working hours → 1h that day, 1h on 10/9 from 08:30.
    assert calendar.add_working_hours(at(2025, 9, 30, 16, 30), 2).at == at(2025, 10, 9, 9, 30)


def test_unpublished_year_is_provisional_mon_to_fri_until_entered():
    assert not CalendarYear.objects.filter(year=2027, published=True).exists()
    # Thu 2026-12-31 + 2 working days: 2027 unknown → Mon–Fri: 1/1 Fri, 1/4 Mon.
    deadline = calendar.add_working_days(at(2026, 12, 31), 2)
    assert deadline.at == at(2027, 1, 4)
    assert deadline.provisional

    received = []
    calendar.calendar_changed.connect(lambda sender, years, **kw: received.append(years), weak=False)
    CalendarDay.objects.create(date=dt.date(2027, 1, 1), kind=CalendarDay.Kind.HOLIDAY, name="元旦")
    CalendarYear.objects.create(year=2027, published=True)
    calendar.invalidate([2027])
    deadline = calendar.add_working_days(at(2026, 12, 31), 2)
    assert deadline.at == at(2027, 1, 5)
    assert not deadline.provisional


def test_admin_is_warned_about_unpublished_next_year(world, client):
    from gridcare.core import clock

    world.agent.is_superuser = True
    world.agent.save()
    client.force_login(world.agent)
    with clock.frozen(dt.datetime(2026, 12, 1, 9)):
        page = client.get("/").content.decode()
    assert "2027 年的法定节假日安排尚未录入" in page


def test_holidays_are_told_apart_from_weekends_and_listed_newest_first():
    """What staffing forecasts holidays by: 2025's Dragon Boat holiday (5/31–6/2) is a holiday,
    a plain Sunday is not, a 调休 working Sunday is not."""
    assert calendar.is_holiday(dt.date(2025, 6, 2))
    assert not calendar.is_holiday(dt.date(2025, 6, 8))  # a plain Sunday
    assert not calendar.is_holiday(dt.date(2025, 1, 26))  # 调休: worked
    assert (
        calendar.holiday_name(dt.date(2025, 6, 2)) == "端午节"
    )  # stored as the schedule names it, shown in Chinese
    assert calendar.holiday_name(dt.date(2025, 6, 3)) == ""
    assert calendar.holidays_before(dt.date(2025, 6, 2), 3) == [
        dt.date(2025, 6, 1),
        dt.date(2025, 5, 31),
        dt.date(2025, 5, 5),
    ]
