"""Working-day calendar (工作日历): official holidays and 调休 working weekends.

Rules
- A date listed as ``holiday`` is a rest day, one listed as ``workday`` (调休) a working day;
  any other date is a working day when it falls Monday–Friday.
- ``add_working_days(start, n)``: the deadline falls at the same local clock time on the n-th
  working day after the start's date. A start outside a working day counts from the beginning
  of the next working day (``GRIDCARE_WORKDAY_START``).
- ``add_working_hours(start, h)``: walks the working hours (``GRIDCARE_WORKDAY_START``–``END``)
  of working days only.
- A year whose holiday schedule has not been entered (``CalendarYear.published``) is computed
  Mon–Fri and the result is marked *provisional*; entering that year's schedule sends the
  ``calendar_changed`` signal so open deadlines can be recomputed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.dispatch import Signal
from django.utils.translation import gettext_lazy

from . import clock
from .memo import Memo

calendar_changed = Signal()  # sent with years=[...] after holiday data changes

# Other processes (web workers, task workers) see an admin's edit within this many seconds.
CACHE_SECONDS = 300
_years: Memo[tuple[bool, frozenset[dt.date], frozenset[dt.date]]] = Memo(CACHE_SECONDS)


@dataclass(frozen=True)
class Deadline:
    at: dt.datetime
    provisional: bool = False


def changed(years: list[int], sender: type = object) -> None:
    """Holiday data of ``years`` changed: forget them here and tell every listener
    (``calendar_changed``: running deadlines are counted again)."""
    invalidate(years)
    if years:
        calendar_changed.send(sender=sender, years=years)


def invalidate(years: list[int] | None = None) -> None:
    if years is None:
        _years.forget()
    else:
        for year in years:
            _years.forget(year)


def _year(year: int) -> tuple[bool, frozenset[dt.date], frozenset[dt.date]]:
    return _years.get(year, lambda: _load_year(year))


def _load_year(year: int) -> tuple[bool, frozenset[dt.date], frozenset[dt.date]]:
    from .models import CalendarDay, CalendarYear

    published = CalendarYear.objects.filter(year=year, published=True).exists()
    holidays: set[dt.date] = set()
    workdays: set[dt.date] = set()
    for date, kind in CalendarDay.objects.filter(date__year=year).values_list("date", "kind"):
        (holidays if kind == CalendarDay.Kind.HOLIDAY else workdays).add(date)
    return published, frozenset(holidays), frozenset(workdays)


def is_published(year: int) -> bool:
    return _year(year)[0]


def is_holiday(date: dt.date) -> bool:
    """Whether ``date`` is an official holiday (法定节假日, a rest day of the entered schedule); a
    plain weekend is not one."""
    return date in _year(date.year)[1]


# The official holidays by the names the State Council's schedule (through chinese_calendar) stores.
_HOLIDAY_NAMES = {
    "New Year's Day": gettext_lazy("元旦"),
    "Spring Festival": gettext_lazy("春节"),
    "Tomb-sweeping Day": gettext_lazy("清明节"),
    "Labour Day": gettext_lazy("劳动节"),
    "Dragon Boat Festival": gettext_lazy("端午节"),
    "Mid-autumn Festival": gettext_lazy("中秋节"),
    "National Day": gettext_lazy("国庆节"),
}


def holiday_name(date: dt.date) -> str:
    """The name of the holiday ``date`` falls on ("国庆节", in the user's language), "" when it is
    none."""
    from .models import CalendarDay

    row = CalendarDay.objects.filter(date=date, kind=CalendarDay.Kind.HOLIDAY).only("name").first()
    if row is None:
        return ""
    return str(_HOLIDAY_NAMES.get(row.name, row.name))


def holidays_before(date: dt.date, count: int) -> list[dt.date]:
    """The ``count`` most recent official holidays before ``date``, newest first."""
    from .models import CalendarDay

    rows = CalendarDay.objects.filter(date__lt=date, kind=CalendarDay.Kind.HOLIDAY).order_by("-date")
    return list(rows.values_list("date", flat=True)[:count])


def is_working_day(date: dt.date) -> bool:
    _published, holidays, workdays = _year(date.year)
    if date in workdays:
        return True
    if date in holidays:
        return False
    return date.weekday() < 5


def _hm(value: str) -> dt.time:
    hours, minutes = value.split(":")
    return dt.time(int(hours), int(minutes))


def working_hours() -> tuple[dt.time, dt.time]:
    return _hm(settings.GRIDCARE_WORKDAY_START), _hm(settings.GRIDCARE_WORKDAY_END)


def next_working_day(date: dt.date) -> dt.date:
    date += dt.timedelta(days=1)
    while not is_working_day(date):
        date += dt.timedelta(days=1)
    return date


def add_working_days(start: dt.datetime, days: int) -> Deadline:
    """The deadline ``days`` working days after ``start`` (timezone-aware)."""
    if days < 0:
        raise ValueError("days must be >= 0")
    local = start.astimezone(clock.LOCAL_TZ)
    date, time_of_day = local.date(), local.timetz().replace(tzinfo=None)
    provisional = not is_published(date.year)
    if not is_working_day(date):
        date = next_working_day(date)
        time_of_day = working_hours()[0]
        provisional = provisional or not is_published(date.year)
    for _ in range(days):
        date = next_working_day(date)
        provisional = provisional or not is_published(date.year)
    at = dt.datetime.combine(date, time_of_day, tzinfo=clock.LOCAL_TZ)
    return Deadline(at=at, provisional=provisional)


def add_working_hours(start: dt.datetime, hours: float) -> Deadline:
    """The instant after ``hours`` of working time from ``start`` (timezone-aware)."""
    if hours < 0:
        raise ValueError("hours must be >= 0")
    day_start, day_end = working_hours()
    remaining = dt.timedelta(hours=hours)
    local = start.astimezone(clock.LOCAL_TZ)
    date = local.date()
    provisional = False
    cursor = local
    while True:
        provisional = provisional or not is_published(date.year)
        opens = dt.datetime.combine(date, day_start, tzinfo=clock.LOCAL_TZ)
        closes = dt.datetime.combine(date, day_end, tzinfo=clock.LOCAL_TZ)
        if is_working_day(date) and cursor < closes:
            cursor = max(cursor, opens)
            available = closes - cursor
            if remaining <= available:
                return Deadline(at=cursor + remaining, provisional=provisional)
            remaining -= available
        date += dt.timedelta(days=1)
        cursor = dt.datetime.combine(date, day_start, tzinfo=clock.LOCAL_TZ)


def working_days_between(start: dt.datetime, end: dt.datetime) -> int:
    """How many working days begin after ``start`` up to ``end`` (local dates, ``start``'s day
    excluded, ``end``'s included): a clock counted in working days that stops at ``start`` and
    starts again at ``end`` has lost that many days. Friday to Monday is one, Saturday to Sunday
    none, the last working day before National Day to the first one after it one."""
    first = start.astimezone(clock.LOCAL_TZ).date()
    last = end.astimezone(clock.LOCAL_TZ).date()
    count = 0
    date = first
    while date < last:
        date += dt.timedelta(days=1)
        if is_working_day(date):
            count += 1
    return count


def working_hours_between(start: dt.datetime, end: dt.datetime) -> float:
    """The working time, in hours, between ``start`` and ``end`` (working hours of working days)."""
    if end <= start:
        return 0.0
    day_start, day_end = working_hours()
    total = dt.timedelta(0)
    date = start.astimezone(clock.LOCAL_TZ).date()
    last = end.astimezone(clock.LOCAL_TZ).date()
    while date <= last:
        if is_working_day(date):
            opens = max(dt.datetime.combine(date, day_start, tzinfo=clock.LOCAL_TZ), start)
            closes = min(dt.datetime.combine(date, day_end, tzinfo=clock.LOCAL_TZ), end)
            if closes > opens:
                total += closes - opens
        date += dt.timedelta(days=1)
    return total.total_seconds() / 3600


def years_awaiting_schedule(horizon_days: int = 60) -> list[int]:
    """Years a deadline may soon run into whose holidays have not been entered yet."""
    today = clock.today()
    years = {today.year, (today + dt.timedelta(days=horizon_days)).year}
    return sorted(year for year in years if not is_published(year))


def load_official_schedule(years: list[int] | None = None) -> list[int]:
    """Copy the official schedule from the ``chinese_calendar`` package into the tables.

    Returns the years loaded. Years the package has no data for are left untouched.
    """
    import chinese_calendar

    from .models import CalendarDay, CalendarYear

    holidays: dict[dt.date, str] = dict(chinese_calendar.holidays)
    workdays: dict[dt.date, str] = dict(chinese_calendar.workdays)
    available = sorted({d.year for d in holidays} | {d.year for d in workdays})
    wanted = [y for y in (years or available) if y in available]
    for year in wanted:
        for date, name in holidays.items():
            if date.year == year:
                CalendarDay.objects.update_or_create(
                    date=date,
                    defaults={
                        "kind": CalendarDay.Kind.HOLIDAY,
                        "name": str(name),
                        "source": "chinese_calendar",
                    },
                )
        for date, name in workdays.items():
            if date.year == year:
                CalendarDay.objects.update_or_create(
                    date=date,
                    defaults={
                        "kind": CalendarDay.Kind.WORKDAY,
                        "name": str(name),
                        "source": "chinese_calendar",
                    },
                )
        CalendarYear.objects.update_or_create(
            year=year, defaults={"published": True, "note": "国务院办公厅放假安排（chinese_calendar）"}
        )
    invalidate()
    changed(wanted, sender=CalendarYear)
    return wanted
