"""Watch: the 12-hour outage warning (二级服务预警) to the station's and county's managers and the
crew's leader.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction

from gridcare.core import clock
from gridcare.org.models import Role, Unit, User
from gridcare.repair.models import DeviceLevel, FaultEvent, RepairSetting

from .common import _note, _staff_message


def _station_and_county_managers(station: Unit) -> list[User]:
    units = [u for u in station.ancestors() if u.kind in (Unit.Kind.STATION, Unit.Kind.COUNTY)]
    if station.kind in (Unit.Kind.STATION, Unit.Kind.COUNTY):
        units.append(station)
    return list(
        User.objects.filter(
            is_active=True, assignments__role=Role.MANAGER, assignments__unit__in=units
        ).distinct()
    )


def raise_long_outage_warnings(now: dt.datetime | None = None) -> int:
    """二级服务预警: an outage (area or feeder event) still open after ``outage_warning_hours``
    is reported to the managers of its station and county and to the crew's leader, once."""
    now = now or clock.now()
    setting = RepairSetting.current()
    limit = now - dt.timedelta(hours=float(setting.outage_warning_hours))
    raised = 0
    due = FaultEvent.objects.filter(
        state__in=FaultEvent.OPEN_STATES,
        service_warning_level__lt=2,
        created_at__lte=limit,
    ).exclude(level=DeviceLevel.CUSTOMER)
    for event in due.select_related("station", "crew__leader", "feeder", "transformer_area", "customer"):
        with transaction.atomic():
            won = FaultEvent.objects.filter(pk=event.pk, service_warning_level__lt=2).update(
                service_warning_level=2, updated_at=now
            )
            if not won:
                continue
            hours = (now - event.created_at).total_seconds() / 3600
            subject = (
                f"【二级服务预警】{event.device_label}停电已超过{float(setting.outage_warning_hours):g}小时"
            )
            body = (
                f"抢修事件 {event.number}（{event.get_level_display()} {event.device_label}，影响 {event.affected_count} 户）"
                f"已停电 {hours:.1f} 小时仍未恢复送电，请督促抢修。"
            )
            people = _station_and_county_managers(event.station)
            if event.crew_id and event.crew.leader_id:
                people.append(event.crew.leader)
            _staff_message(
                people, subject, body, f"repair:{event.number}:warn2", ("repair.outageevent", event.number)
            )
            _note(event, "service_warning", None, subject, level=2, recipients=len(people))
            raised += 1
    return raised
