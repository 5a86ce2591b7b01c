"""业扩报装统计 page (``applications:figures``): 达标率, average working days per node and per type,
by unit, and the overdue lists for a unit and a period — the same ``figures`` service as the API;
``?format=xlsx`` downloads it as an Excel workbook (audited, ``core.exports``)."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.core.exports import audited_attachment
from gridcare.org import scoping
from gridcare.org.types import StaffRequest

from . import figures

LIST_ROWS = 100  # rows of each overdue list shown on the page (the workbook has them all)
DATE = forms.DateInput(attrs={"type": "date", "class": "form-control form-control-sm"}, format="%Y-%m-%d")


class FiguresForm(forms.Form):
    unit = forms.IntegerField(label=gettext_lazy("单位"), required=False)
    start = forms.DateField(label=gettext_lazy("开始"), required=False, widget=DATE)
    end = forms.DateField(label=gettext_lazy("结束"), required=False, widget=DATE)


def _units(request: StaffRequest) -> list[tuple[int, str]]:
    """The units of the viewer's scope, indented by depth (stations and up)."""
    units = list(
        scoping.visible_units(request.user, request.active_unit)
        .exclude(kind="team")
        .order_by("path")
        .values_list("pk", "depth", "name")[:1000]
    )
    top = min((d for _, d, _ in units), default=0)
    return [(pk, "\u3000" * (depth - top) + name) for pk, depth, name in units]


def _chart(found: figures.Figures) -> str:
    return json.dumps(
        {
            "labels": [a.label for a in found.nodes],
            "days": [float(a.average) if a.average is not None else None for a in found.nodes],
            "late": [a.late for a in found.nodes],
            "names": {"days": _("平均工作日"), "late": _("超期件数")},
        },
        ensure_ascii=False,
    )


@login_required
def figures_page(request: StaffRequest) -> HttpResponse:
    viewer = scoping.signed_in(request.user)
    form = FiguresForm(request.GET or None)
    error = ""
    chosen: dict[str, Any] = {}
    if form.is_bound:
        if form.is_valid():
            chosen = {k: v for k, v in form.cleaned_data.items() if v is not None}
        else:
            error = _("请检查筛选条件")
    try:
        selection = figures.select(
            viewer,
            unit_id=chosen.get("unit"),
            start=chosen.get("start"),
            end=chosen.get("end"),
            active_unit=request.active_unit,
        )
    except ApiError as exc:
        if exc.status == 404:
            raise Http404(exc.message) from exc
        error = exc.message
        selection = figures.select(viewer, unit_id=chosen.get("unit"), active_unit=request.active_unit)
    now = clock.now()
    found = figures.figures(viewer, selection, now=now, active_unit=request.active_unit)
    running_qs = figures.overdue_nodes(
        viewer, selection, figures.RUNNING, now=now, active_unit=request.active_unit
    )
    late_qs = figures.overdue_nodes(
        viewer, selection, figures.FINISHED, now=now, active_unit=request.active_unit
    )
    if request.GET.get("format") == "xlsx":
        running = [figures.overdue_row(n, now) for n in running_qs]
        late = [figures.overdue_row(n, now) for n in late_qs]
        return audited_attachment(
            figures.workbook(found, running, late),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            filename="yekuo-figures",
            extension="xlsx",
            title=_("业扩报装统计") + f" {selection.unit.name} {selection.label}",
            user=request.user,
            request=request,
            object_type="applications.figures",
            object_id=str(selection.unit.pk),
            detail={
                "rows": len(running) + len(late),
                "start": str(selection.start),
                "end": str(selection.end),
            },
        )
    if not form.is_bound or error:
        form = FiguresForm(
            initial={"unit": selection.unit.pk, "start": selection.start, "end": selection.end}
        )
    query = request.GET.copy()
    query["format"] = "xlsx"
    context = {
        "form": form,
        "error": error,
        "found": found,
        "selection": selection,
        "units": _units(request),
        "running": [figures.overdue_row(n, now) for n in running_qs[:LIST_ROWS]],
        "late": [figures.overdue_row(n, now) for n in late_qs[:LIST_ROWS]],
        "list_rows": LIST_ROWS,
        "chart": _chart(found),
        "export_query": query.urlencode(),
    }
    return render(request, "applications/figures.html", context)
