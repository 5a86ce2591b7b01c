"""The live in-flight monitor (在途工单监控) per handling unit, as a page and an Excel file: the same
counts the twice-daily 督办通报 (quality/bulletins.py) freezes and sends."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q
from django.http import HttpResponse

from gridcare.core import clock, excel
from gridcare.org.types import Actor

from . import queries
from .models import OPEN_STATES


@dataclass
class BulletinRow:
    unit: str
    in_transit: int
    near_due: int
    overdue: int
    urged: int
    escalated: int


def by_unit(user: Actor, active_unit: Any = None) -> list[BulletinRow]:
    qs = queries.visible_orders(user, active_unit).filter(state__in=OPEN_STATES)
    # Grouped by unit id (names are not unique); a row is the handling unit, or the accepting unit
    # for orders not yet dispatched.
    grouped = qs.values(
        "assigned_unit_id", "assigned_unit__name", "accepted_unit_id", "accepted_unit__name"
    ).annotate(
        in_transit=Count("id"),
        near_due=Count("id", filter=Q(warning_level__in=[1, 2])),
        overdue=Count("id", filter=Q(warning_level__gte=3)),
        urged=Count("id", filter=Q(urge_count__gt=0)),
        escalated=Count("id", filter=Q(escalation_tier__gt=0)),
    )
    merged: dict[tuple[str, int], BulletinRow] = {}
    for g in grouped:
        if g["assigned_unit_id"]:
            key, name = ("assigned", g["assigned_unit_id"]), g["assigned_unit__name"]
        else:
            key, name = ("accepted", g["accepted_unit_id"]), f"{g['accepted_unit__name']}（待派单）"
        row = merged.setdefault(key, BulletinRow(name, 0, 0, 0, 0, 0))
        row.in_transit += g["in_transit"]
        row.near_due += g["near_due"]
        row.overdue += g["overdue"]
        row.urged += g["urged"]
        row.escalated += g["escalated"]
    return sorted(merged.values(), key=lambda r: (-r.overdue, -r.near_due, r.unit))


def totals(rows: list[BulletinRow]) -> BulletinRow:
    return BulletinRow(
        "合计",
        sum(r.in_transit for r in rows),
        sum(r.near_due for r in rows),
        sum(r.overdue for r in rows),
        sum(r.urged for r in rows),
        sum(r.escalated for r in rows),
    )


HEADERS = ["承办单位", "在途工单", "临期预警", "超期", "被催办", "已升级"]


def excel_response(rows: list[BulletinRow], *, user: Actor, request: Any = None) -> HttpResponse:
    return excel.workbook_response(
        title="在途工单监控",
        subtitle=f"{clock.local_now():%Y-%m-%d %H:%M}",
        headers=HEADERS,
        rows=[
            [row.unit, row.in_transit, row.near_due, row.overdue, row.urged, row.escalated]
            for row in [*rows, totals(rows)]
        ],
        filename="supervision",
        user=user,
        request=request,
        object_type="workorders.bulletin",
    )
