"""Statistics, evaluation, inspection and staffing pages."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from gridcare.core import clock
from gridcare.core.validation import YEAR_MAX, YEAR_MIN
from gridcare.org import scoping
from gridcare.org.models import Unit
from gridcare.org.types import Actor, StaffRequest

from . import staffing

# --- Staffing (排班测算, Erlang C): /quality/staffing/ -------------------------------------------------
# (Issue 17 item 8; kept in one block so that the statistics pages above merge beside it.)


class StaffingForm(forms.Form):
    """The page's question, in the units a planner thinks in (percentages); the API takes shares."""

    date = forms.DateField(label=_("日期"), widget=forms.DateInput(attrs={"type": "date"}))
    unit = forms.IntegerField(label=_("单位"), required=False)
    service_level = forms.FloatField(label=_("服务水平目标（%）"), min_value=1, max_value=99.9)
    target_seconds = forms.IntegerField(
        label=_("目标应答时间（秒）"), min_value=0, max_value=staffing.TARGET_SECONDS_MAX
    )
    shrinkage = forms.FloatField(label=_("缩减率（%）"), min_value=0, max_value=staffing.SHRINKAGE_MAX * 100)
    storm = forms.FloatField(label=_("风暴倍数"), min_value=staffing.STORM_MIN, max_value=staffing.STORM_MAX)
    weeks = forms.IntegerField(
        label=_("历史周数"), min_value=staffing.WEEKS_MIN, max_value=staffing.WEEKS_MAX
    )
    max_occupancy = forms.FloatField(label=_("最高占用率（%）"), min_value=1, max_value=100, required=False)
    max_asa = forms.FloatField(
        label=_("平均应答速度上限（秒）"), min_value=1, max_value=staffing.TARGET_SECONDS_MAX, required=False
    )

    @staticmethod
    def defaults() -> dict[str, str]:
        return {
            "date": (clock.today() + dt.timedelta(days=1)).isoformat(),
            "service_level": f"{staffing.DEFAULT_SERVICE_LEVEL * 100:g}",
            "target_seconds": str(staffing.DEFAULT_TARGET_SECONDS),
            "shrinkage": f"{staffing.DEFAULT_SHRINKAGE * 100:g}",
            "storm": "1",
            "weeks": str(staffing.DEFAULT_WEEKS),
        }

    def clean_date(self) -> dt.date:
        date: dt.date = self.cleaned_data["date"]
        if not YEAR_MIN <= date.year <= YEAR_MAX:
            raise forms.ValidationError(
                _("年份必须在 %(min)s 到 %(max)s 之间") % {"min": YEAR_MIN, "max": YEAR_MAX}
            )
        return date

    def targets(self) -> staffing.Targets:
        d = self.cleaned_data
        return staffing.Targets(
            service_level=d["service_level"] / 100,
            target_seconds=d["target_seconds"],
            shrinkage=d["shrinkage"] / 100,
            max_occupancy=d["max_occupancy"] / 100 if d["max_occupancy"] is not None else None,
            max_asa_seconds=d["max_asa"],
        )


def _staffing_rows(plan: staffing.StaffingPlan) -> list[dict[str, Any]]:
    return [
        {
            "label": row.label,
            "calls": row.staffing.calls,
            "aht": row.staffing.aht_seconds,
            "erlangs": row.staffing.erlangs,
            "agents": row.staffing.agents,
            "positions": row.staffing.positions,
            "service_level": row.staffing.service_level * 100,
            "asa": row.staffing.asa_seconds,
            "occupancy": row.staffing.occupancy * 100,
            "busy": row.staffing.agents > 0,
        }
        for row in plan.rows
    ]


def _staffing_chart(plan: staffing.StaffingPlan) -> str:
    """What the bar chart draws (static/quality/staffing.js reads it from a data attribute)."""
    return json.dumps(
        {
            "labels": [row.start_label for row in plan.rows],
            "agents": [row.staffing.agents for row in plan.rows],
            "positions": [row.staffing.positions for row in plan.rows],
            "calls": [round(row.staffing.calls, 1) for row in plan.rows],
            "names": {
                "agents": gettext("所需座席"),
                "positions": gettext("排班人数（含缩减）"),
                "calls": gettext("预测来电"),
            },
        },
        ensure_ascii=False,
    )


def _percent(share: float | None) -> float | None:
    return None if share is None else share * 100


def _unit_choices(actor: Actor, active_unit: Unit | None) -> list[tuple[int, str]]:
    """The units of the viewer's scope for the unit select, indented by their depth in the tree."""
    units = list(scoping.restrict(Unit.objects.all(), actor, "id", active_unit).order_by("path")[:300])
    top = min((u.depth for u in units), default=0)
    return [(u.pk, "\u3000" * (u.depth - top) + u.name) for u in units]


@login_required
def staffing_page(request: StaffRequest) -> HttpResponse:
    """排班测算: the chosen day's forecast calls per half hour and the agents and positions Erlang C
    needs for them. Shift leaders and managers (403 for others); a unit outside the scope is 404."""
    actor = scoping.signed_in(request.user)
    if not scoping.has_role(actor, *staffing.STAFFING_ROLES):
        raise PermissionDenied
    form = StaffingForm(request.GET if request.GET.get("date") else StaffingForm.defaults())
    plan, error = None, ""
    if form.is_valid():
        unit = staffing.unit_for(actor, form.cleaned_data["unit"], request.active_unit)
        try:
            plan = staffing.staffing_plan(
                actor,
                date=form.cleaned_data["date"],
                targets=form.targets(),
                unit=unit,
                weeks=form.cleaned_data["weeks"],
                storm=form.cleaned_data["storm"],
                active_unit=request.active_unit,
            )
        except staffing.StaffingInputError as exc:
            error = exc.message
    context: dict[str, Any] = {"form": form, "plan": plan, "error": error}
    if not request.htmx:
        context["units"] = _unit_choices(actor, request.active_unit)
    if plan is not None:
        t, totals = plan.targets, plan.totals
        context["rows"] = _staffing_rows(plan)
        context["chart"] = _staffing_chart(plan)
        context["totals"] = totals
        context["totals_sl"] = _percent(totals.service_level)
        context["totals_occupancy"] = _percent(totals.occupancy)
        context["targets"] = {
            "service_level": _percent(t.service_level),
            "shrinkage": _percent(t.shrinkage),
            "max_occupancy": _percent(t.max_occupancy),
        }
    template = "quality/staffing_result.html" if request.htmx else "quality/staffing.html"
    return render(request, template, context)
