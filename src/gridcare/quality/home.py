"""The statistics tile of the 工作台 for leaders and supervisors: today's figures, each linked to
the statistics page (and its rows) of today."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from gridcare.core.clock import local_now
from gridcare.org import scoping
from gridcare.org.home import Figure, Tile
from gridcare.org.types import StaffRequest

from . import statistics

TODAY = ("complaints", "calls_offered", "answer_rate", "dispatch_within_limit")


def tile(request: StaffRequest) -> Tile | None:
    user = request.user
    if not scoping.authenticated(user) or not (
        user.is_superuser or scoping.has_role(user, *statistics.READERS)
    ):
        return None
    viewer = scoping.signed_in(user)
    unit = request.active_unit or statistics.home_unit(viewer)
    today = statistics.period_of("day", local_now().date())
    query = f"unit={unit.pk}&period=day&date={today.start.isoformat()}"
    in_force = {m.code: m for m in statistics.in_force(today.start)}
    chosen = [in_force[code] for code in TODAY if code in in_force]
    figures = []
    for metric, f in zip(chosen, statistics.figures([(m, unit, today) for m in chosen], viewer), strict=True):
        label = f"{_('今日')}{metric.name}" + (f"（{metric.unit_label}）" if metric.unit_label == "%" else "")
        value = 0 if f.value is None else int(f.value.to_integral_value())
        tone = "danger" if f.met is False else ""
        figures.append(Figure(label, value, f"{reverse('quality:metric', args=[metric.code])}?{query}", tone))
    return Tile(title=_("今日统计"), figures=figures, link=f"{reverse('quality:overview')}?{query}", order=5)
