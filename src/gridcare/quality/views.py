"""Statistics pages: every area's figures for a unit and period, one metric's trend and ranking,
and the rows behind any figure (drill-down), each exportable to Excel."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridcare.core import excel, pdf
from gridcare.core.api_errors import ApiError
from gridcare.core.clock import local, local_now
from gridcare.core.masking import mask_phone
from gridcare.core.replica import reads_from_replica
from gridcare.org import scoping
from gridcare.org.models import Unit
from gridcare.org.types import Actor, StaffRequest

from . import evaluation, inspection, metrics, staffing, statistics
from .forms import SelectionForm, StaffingForm
from .models import AgentAssessment, Area, Bulletin, CalibrationSession, Inspection, Metric

ARROWS = {
    "flat": ("→", "text-muted"),
    "up-good": ("↑", "text-success"),
    "down-good": ("↓", "text-success"),
    "up-bad": ("↑", "text-danger"),
    "down-bad": ("↓", "text-danger"),
}


def _selected(
    request: StaffRequest, default_period: str = "month"
) -> tuple[SelectionForm, Any, statistics.Span, str]:
    """The pickers, the unit and period they name, and an error to show ("" when none)."""
    viewer = scoping.signed_in(request.user)
    try:
        statistics.require_reader(viewer)
    except ApiError as exc:
        raise PermissionDenied(exc.message) from exc
    data = request.GET.copy()
    if data and "period" not in data:
        data["period"] = default_period
    form = SelectionForm(data or None, viewer=viewer)
    error, chosen = "", {}
    if form.is_bound:
        if form.is_valid():
            chosen = form.selection()
        elif "unit" in form.errors:
            raise Http404(_("您的管辖范围内没有该单位"))  # outside the scope: as if it did not exist
        else:
            error = _("请检查筛选条件")
    try:
        unit, span = statistics.select(viewer, **({"period": default_period} | chosen))
    except ApiError as exc:
        if exc.status == 404:
            raise Http404(exc.message) from exc
        error = exc.message
        unit, span = statistics.select(viewer, unit_id=chosen.get("unit_id"))
    if not form.is_bound:
        form = SelectionForm(
            initial={"unit": unit.pk, "period": default_period, "date": span.start}, viewer=viewer
        )
    return form, unit, span, error


def _fmt(value: Any, metric: Metric) -> str:
    if value is None:
        return "—"
    return f"{value:,.{metric.decimals}f}"


def _row(report: statistics.Report, query: str) -> dict[str, Any]:
    f, m = report.figure, report.figure.metric
    sign, tone = ARROWS[report.arrow]
    base = reverse("quality:metric", args=[m.code])
    return {
        "metric": m,
        "value": _fmt(f.value, m),
        "target": _fmt(m.target, m) if m.target is not None else "",
        "met": f.met,
        "previous": _fmt(report.previous.value, m),
        "change": report.change,
        "year_before": _fmt(report.year_before.value, m),
        "yoy": report.year_on_year,
        "share": report.share_of_parent,
        "arrow": sign,
        "tone": tone,
        "rows": f.numerator_rows,
        "url": f"{base}?{query}",
        "rows_url": f"{reverse('quality:rows', args=[m.code])}?{query}",
    }


@login_required
@reads_from_replica
def overview(request: StaffRequest) -> HttpResponse:
    """统计报表: every metric of one area for a unit and period, with the previous period, the
    same period a year before and the share of the parent unit."""
    form, unit, span, error = _selected(request)
    area = request.GET.get("area", Area.COMPLAINTS)
    if area not in Area.values:
        area = Area.COMPLAINTS
    viewer = scoping.signed_in(request.user)
    query = _query(request, exclude=("area",))
    chosen = [m for m in statistics.in_force(span.start) if m.area == area]
    reports = statistics.reports(chosen, viewer, unit, span)
    rows = [_row(r, query) for r in reports]
    if request.GET.get("format") == "xlsx":
        return excel.workbook_response(
            title=f"{Area(area).label}统计",
            subtitle=f"{unit.name} {span.label()}",
            headers=[
                _("指标"),
                _("本期"),
                _("单位"),
                _("目标"),
                _("上期"),
                _("环比%"),
                _("去年同期"),
                _("同比%"),
                _("占上级%"),
            ],
            rows=[
                [
                    r["metric"].name,
                    r["value"],
                    r["metric"].unit_label,
                    r["target"],
                    r["previous"],
                    r["change"],
                    r["year_before"],
                    r["yoy"],
                    r["share"],
                ]
                for r in rows
            ],
            filename=f"statistics-{area}",
            user=viewer,
            request=request,
        )
    return render(
        request,
        "quality/overview.html",
        {
            "form": form,
            "unit": unit,
            "span": span,
            "error": error,
            "areas": [(a.value, a.label, a.value == area) for a in Area],
            "area": area,
            "rows": rows,
            "query": query,
            "to_date": any(r.to_date for r in reports),
        },
    )


@login_required
@reads_from_replica
def metric(request: StaffRequest, code: str) -> HttpResponse:
    """One metric: its definition, figure and comparisons, the last 12 periods, and the units one
    level down ranked against the previous period."""
    form, unit, span, error = _selected(request)
    found = statistics.metric_in_force(code, span.start)
    if found is None:
        raise Http404(_("没有该统计指标"))
    viewer = scoping.signed_in(request.user)
    report = statistics.report(found, viewer, unit, span)
    query = _query(request)
    trend = statistics.trend(found, viewer, unit, span)
    ranking = statistics.ranking(found, viewer, statistics.children(viewer, unit), span)
    ranked = [
        {
            "position": r.position,
            "unit": r.figure.unit,
            "unit_name": r.figure.unit.name,
            "value": _fmt(r.figure.value, found),
            "previous": _fmt(r.previous.value, found),
            "moved": r.moved,
            "arrow": ARROWS[r.arrow][0],
            "tone": ARROWS[r.arrow][1],
            "url": f"{reverse('quality:metric', args=[code])}?{_query(request, unit=r.figure.unit.pk)}",
            "rows": r.figure.numerator_rows,
            "rows_url": f"{reverse('quality:rows', args=[code])}?{_query(request, unit=r.figure.unit.pk)}",
        }
        for r in ranking
    ]
    if request.GET.get("format") == "xlsx":
        return excel.workbook_response(
            title=found.name,
            subtitle=f"{unit.name} {span.label()}",
            headers=[_("名次"), _("单位"), _("本期"), _("上期"), _("名次变化"), _("明细条数")],
            rows=[
                [r["position"], r["unit_name"], r["value"], r["previous"], r["moved"], r["rows"]]
                for r in ranked
            ],
            filename=f"statistics-{code}",
            user=viewer,
            request=request,
        )
    chart = {
        "name": found.name,
        "unit_label": found.unit_label,
        "trend": {
            "labels": [
                f.span.start.isoformat()[:7] if f.span.days >= 28 else f.span.start.isoformat() for f in trend
            ],
            "values": [None if f.value is None else float(f.value) for f in trend],
            "target": None if found.target is None else float(found.target),
        },
        "units": {
            "labels": [r["unit_name"] for r in ranked],
            "values": [None if r.figure.value is None else float(r.figure.value) for r in ranking],
        },
    }
    return render(
        request,
        "quality/metric.html",
        {
            "form": form,
            "unit": unit,
            "span": span,
            "error": error,
            "m": found,
            "row": _row(report, query),
            "ranked": ranked,
            "chart": chart,
            "query": query,
            "overview_url": f"{reverse('quality:overview')}?{_query(request)}&area={found.area}",
        },
    )


ROWS_PAGE = 50


@login_required
@reads_from_replica
def rows(request: StaffRequest, code: str) -> HttpResponse:
    """The rows behind a figure: as many as it counts; personal data masked; an order's number
    opens the order."""
    form, unit, span, error = _selected(request)
    found = statistics.metric_in_force(code, span.start)
    part = request.GET.get("part", "numerator")
    if (
        found is None
        or part not in ("numerator", "denominator")
        or (part == "denominator" and found.denominator is None)
    ):
        raise Http404(_("没有该统计指标"))
    viewer = scoping.signed_in(request.user)
    qs = statistics.drill_down(found, part, viewer, unit, span).order_by("pk")
    spec = found.numerator if part == "numerator" else found.denominator
    assert spec is not None
    source = metrics.SOURCES[spec["source"]]
    fields = [f for f, _label in source.columns]
    if request.GET.get("format") == "xlsx":
        return excel.workbook_response(
            title=f"{found.name}明细",
            subtitle=f"{unit.name} {span.label()}",
            headers=[label for _f, label in source.columns],
            rows=[
                [_shown(f, v) for f, v in zip(fields, r, strict=True)]
                for r in qs.values_list(*fields)[:100_000]
            ],
            filename=f"statistics-{code}-rows",
            user=viewer,
            request=request,
        )
    page = Paginator(qs.values_list(*fields), ROWS_PAGE).get_page(request.GET.get("page"))
    link_index = fields.index(source.link) if source.link in fields else None
    table = []
    for r in page.object_list:
        cells = [_shown(f, v) for f, v in zip(fields, r, strict=True)]
        href = reverse("workorders:detail", args=[r[link_index]]) if link_index is not None else ""
        table.append({"cells": cells, "href": href, "link_index": link_index})
    return render(
        request,
        "quality/rows.html",
        {
            "form": form,
            "unit": unit,
            "span": span,
            "error": error,
            "m": found,
            "part": part,
            "headers": [label for _f, label in source.columns],
            "table": table,
            "page": page,
            "count": page.paginator.count,
            "query": _query(request, exclude=("page",)),
            "metric_url": f"{reverse('quality:metric', args=[code])}?{_query(request, exclude=('page', 'part'))}",
        },
    )


def _shown(field: str, value: Any) -> Any:
    value = metrics.masked(field, value)
    if isinstance(value, dt.datetime):
        return local(value).strftime("%Y-%m-%d %H:%M")
    return "" if value is None else value


def _query(request: StaffRequest, exclude: tuple[str, ...] = (), **override: Any) -> str:
    params = request.GET.copy()
    for key in (*exclude, "format"):
        params.pop(key, None)
    for key, value in override.items():
        params[key] = str(value)
    return params.urlencode()


BULLETIN_LISTS = (
    ("overdue", gettext_lazy("超期工单")),
    ("near_due", gettext_lazy("临期工单")),
    ("urged", gettext_lazy("被催办工单")),
    ("escalated", gettext_lazy("已升级工单")),
)
BULLETIN_HEADERS = (
    gettext_lazy("工单编号"),
    gettext_lazy("类型"),
    gettext_lazy("状态"),
    gettext_lazy("承办单位"),
    gettext_lazy("责任人"),
    gettext_lazy("最早到期"),
    gettext_lazy("超期（小时）"),
    gettext_lazy("催办次数"),
    gettext_lazy("升级层级"),
)
BULLETIN_KEYS = ("number", "type", "state", "unit", "responsible", "due_at", "overdue_hours", "urged", "tier")
# The columns' relative widths on an A4 page: an order number, a time and a state of six
# characters (已回单待审核) each fit on one line.
BULLETIN_PDF_WIDTHS = (4, 2.2, 2.6, 2.3, 1.6, 3.4, 2.6, 1.9, 1.9)
BULLETIN_COUNTS = (
    ("open", gettext_lazy("在途工单")),
    ("overdue", gettext_lazy("超期")),
    ("near", gettext_lazy("临期")),
    ("urged", gettext_lazy("被催办")),
    ("escalated", gettext_lazy("已升级")),
    ("warnings", gettext_lazy("新增预警")),
)


@login_required
def bulletins(request: StaffRequest) -> HttpResponse:
    """督办通报: the bulletins issued for the units in scope, newest first."""
    viewer = scoping.signed_in(request.user)
    _require_reader(viewer)
    qs = scoping.restrict(Bulletin.objects.select_related("unit"), viewer, "unit", request.active_unit)
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    return render(request, "quality/bulletins.html", {"page": page})


@login_required
def bulletin(request: StaffRequest, pk: int) -> HttpResponse:
    """One bulletin as issued: its counts, each list of orders (linked), the complaint hot spots;
    Excel export (``?format=xlsx``) and a printable PDF (``?format=pdf``), both audited."""
    viewer = scoping.signed_in(request.user)
    _require_reader(viewer)
    found = scoping.get_for_user(Bulletin.objects.select_related("unit"), viewer, "unit_id", pk=pk)
    data = found.data
    export = request.GET.get("format")
    if export == "xlsx":
        return _bulletin_workbook(request, viewer, found)
    if export == "pdf":
        return _bulletin_pdf(request, viewer, found)
    lists = [
        {
            "key": key,
            "label": label,
            "rows": data[key],
            "count": _list_count(data, key),
        }
        for key, label in BULLETIN_LISTS
    ]
    return render(
        request,
        "quality/bulletin.html",
        {"b": found, "data": data, "lists": lists, "headers": BULLETIN_HEADERS},
    )


def _list_count(data: dict[str, Any], key: str) -> int:
    """How many orders a list has (the count is whole; the list names at most ROWS_PER_LIST)."""
    return data["counts"].get(_COUNT_OF[key], len(data[key]))


def _bulletin_workbook(request: StaffRequest, viewer: Actor, found: Bulletin) -> HttpResponse:
    data = found.data
    rows: list[list[Any]] = []
    for key, label in BULLETIN_LISTS:
        rows.append([f"{label}（{len(data[key])}）"])
        rows.extend([[r[k] for k in BULLETIN_KEYS] for r in data[key]])
    rows.append([_("投诉热点")])
    rows.extend([[h["where"], h["complaints"]] for h in data["hot_spots"]])
    return excel.workbook_response(
        title=_("督办通报"),
        subtitle=f"{found.unit.name} {data['slot']}",
        headers=[str(h) for h in BULLETIN_HEADERS],
        rows=rows,
        filename=f"bulletin-{found.number}",
        user=viewer,
        request=request,
        object_type="quality.bulletin",
        object_id=str(found.pk),
    )


def _bulletin_pdf(request: StaffRequest, viewer: Actor, found: Bulletin) -> HttpResponse:
    """The bulletin as the page shows it, on A4 to print and file: the same stored rows (staff
    names, order numbers, areas; no customer's personal data is kept in a bulletin)."""
    data = found.data
    counts = data["counts"]
    sections: list[pdf.Section] = [
        pdf.Table(
            headers=[str(label) for _key, label in BULLETIN_COUNTS],
            rows=[[counts.get(key, 0) for key, _label in BULLETIN_COUNTS]],
        )
    ]
    for key, label in BULLETIN_LISTS:
        shown = [[r[k] for k in BULLETIN_KEYS] for r in data[key]]
        for row in shown:
            row[4] = row[4] or "—"  # no one responsible yet, as on the page
            row[6] = row[6] or ""  # not overdue: blank, as on the page
        count = _list_count(data, key)
        heading = f"{label}（{count}）"
        if count > len(shown):
            heading += _("，列出前 %(shown)s 件") % {"shown": len(shown)}
        sections.append(
            pdf.Table(
                heading=heading,
                headers=[str(h) for h in BULLETIN_HEADERS],
                rows=shown,
                widths=BULLETIN_PDF_WIDTHS,
                empty=_("无"),
            )
        )
    sections.append(
        pdf.Table(
            heading=_("投诉热点"),
            headers=[_("台区"), _("投诉件数")],
            rows=[[h["where"], h["complaints"]] for h in data["hot_spots"]],
            widths=(4, 1),
            empty=_("无"),
        )
    )
    return pdf.document_response(
        title=_("督办通报"),
        lines=[
            f"{data['unit']} {data['slot']}",
            _("编号 %(number)s · 统计自上次通报 %(since)s 起的新增预警")
            % {"number": found.number, "since": data["since"]},
        ],
        sections=sections,
        reference=found.number,
        filename=f"bulletin-{found.number}",
        user=viewer,
        request=request,
        object_type="quality.bulletin",
        object_id=str(found.pk),
    )


_COUNT_OF = {"overdue": "overdue", "near_due": "near", "urged": "urged", "escalated": "escalated"}


def _require_reader(viewer) -> None:
    try:
        statistics.require_reader(viewer)
    except ApiError as exc:
        raise PermissionDenied(exc.message) from exc


def _scored_rows(scores: list[evaluation.AgentScore], query: str) -> list[dict[str, Any]]:
    rows = []
    for position, s in enumerate(scores, start=1):
        rows.append(
            {
                "position": position,
                "agent": s.agent,
                "score": s.score,
                "stars": "★" * s.stars + "☆" * (5 - s.stars) if s.score is not None else "",
                "cells": [
                    {
                        "value": _fmt(p.value, p.metric),
                        "unit": p.metric.unit_label,
                        "points": p.points,
                    }
                    for p in s.indicators
                ],
                "url": f"{reverse('quality:agent', args=[s.agent.pk])}?{query}",
            }
        )
    return rows


@login_required
def agents(request: StaffRequest) -> HttpResponse:
    """个人服务品质评价: the agents of a unit scored over a period (default: this quarter)."""
    form, unit, span, error = _selected(request, default_period="quarter")
    viewer = scoping.signed_in(request.user)
    scores = evaluation.evaluate(viewer, unit, span)
    scheme = evaluation.scheme_in_force(span.start)
    query = _query(request)
    rows = _scored_rows(scores, query)
    headers = [p.metric.name for p in scores[0].indicators] if scores else []
    if request.GET.get("format") == "xlsx":
        return excel.workbook_response(
            title=_("个人服务品质评价"),
            subtitle=f"{unit.name} {span.label()}",
            headers=[_("名次"), _("座席"), *headers, _("得分"), _("星级")],
            rows=[
                [
                    r["position"],
                    r["agent"].display_name,
                    *[c["value"] for c in r["cells"]],
                    r["score"],
                    r["stars"],
                ]
                for r in rows
            ],
            filename="agent-evaluation",
            user=viewer,
            request=request,
        )
    return render(
        request,
        "quality/agents.html",
        {
            "form": form,
            "unit": unit,
            "span": span,
            "error": error,
            "rows": rows,
            "headers": headers,
            "scheme": scheme,
            "query": query,
        },
    )


@login_required
def me(request: StaffRequest) -> HttpResponse:
    """An agent's own evaluation."""

    return redirect(reverse("quality:agent", args=[request.user.pk]))


@login_required
def agent(request: StaffRequest, pk: int) -> HttpResponse:
    """One agent's figures for a period, the points each gives and the score; their quarterly
    assessments; for a leader, the form to assess this quarter."""
    viewer = scoping.signed_in(request.user)
    try:
        found = evaluation.visible_agent(viewer, pk)
    except ApiError as exc:
        raise PermissionDenied(exc.message) from exc
    unit = evaluation.agent_unit(found)
    if unit is None:
        raise Http404
    own = viewer.pk == found.pk
    day = _date_param(request.GET.get("date"))
    period = request.GET.get("period", "quarter")
    if period not in ("month", "quarter", "year"):
        period = "quarter"
    span = statistics.period_of(period, day)
    error = ""
    may_assess = evaluation.may_assess(viewer, found)
    if request.method == "POST" and may_assess:
        try:
            evaluation.assess(actor=viewer, agent=found, day=day, remarks=request.POST.get("remarks", ""))
        except ApiError as exc:
            error = exc.message
        else:
            from django.shortcuts import redirect

            return redirect(
                f"{reverse('quality:agent', args=[found.pk])}?period={period}&date={day.isoformat()}"
            )
    scored = evaluation.evaluate(viewer, unit, span, agents=[found])
    score = scored[0] if scored else None
    assessments = AgentAssessment.objects.filter(agent=found).select_related("assessed_by")[:8]
    year, quarter, _span = evaluation.quarter_of(day)
    return render(
        request,
        "quality/agent.html",
        {
            "a": found,
            "unit": unit,
            "span": span,
            "period": period,
            "day": day,
            "score": score,
            "stars": "★" * score.stars + "☆" * (5 - score.stars) if score and score.score is not None else "",
            "indicators": [
                {"p": p, "value": _fmt(p.value, p.metric)} for p in (score.indicators if score else [])
            ],
            "assessments": assessments,
            "may_assess": may_assess
            and not AgentAssessment.objects.filter(agent=found, year=year, quarter=quarter).exists(),
            "quarter_label": evaluation.quarter_label(year, quarter),
            "error": error,
            "own": own,
        },
    )


def _date_param(value: str | None) -> dt.date:
    try:
        return dt.date.fromisoformat(value) if value else local_now().date()
    except ValueError:
        return local_now().date()


@login_required
def inspections(request: StaffRequest) -> HttpResponse:
    """质检: the calls to inspect and inspected in scope (inspectors and leaders); an agent sees
    their own."""
    viewer = scoping.signed_in(request.user)
    qs = inspection.visible(viewer, request.active_unit).order_by("-week", "state", "pk")
    state = request.GET.get("state", "")
    if state in Inspection.State.values:
        qs = qs.filter(state=state)
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(
        request,
        "quality/inspections.html",
        {
            "page": page,
            "states": Inspection.State.choices,
            "state": state,
            "staff": inspection.is_inspector(viewer),
        },
    )


INSPECTION_ACTIONS = {
    "score": lambda viewer, pk, post: inspection.score(
        actor=viewer, pk=pk, deductions=post.getlist("deduct"), notes=post.get("notes", "")
    ),
    "appeal": lambda viewer, pk, post: inspection.appeal(actor=viewer, pk=pk, text=post.get("appeal", "")),
    "review": lambda viewer, pk, post: inspection.review(
        actor=viewer, pk=pk, deductions=post.getlist("deduct"), note=post.get("review", "")
    ),
}


@login_required
def inspection_detail(request: StaffRequest, pk: int) -> HttpResponse:
    """One inspected call: the call, its orders and recording, the form; scoring (inspector),
    appeal (the agent), review (a leader or another inspector)."""
    viewer = scoping.signed_in(request.user)
    found = inspection.visible_one(viewer, pk)
    error = ""
    if request.method == "POST":
        act = INSPECTION_ACTIONS.get(request.POST.get("action", ""))
        try:
            if act is None:
                raise ApiError("invalid_input", _("未知操作"), status=422)
            act(viewer, found.pk, request.POST)
        except ApiError as exc:
            error = exc.message
        else:
            return redirect(reverse("quality:inspection", args=[found.pk]))
    form = found.form or inspection.form_in_force()
    call = found.call
    recording = call.recording_ref
    # A participant of an open calibration on this call does not see its score yet (blind).
    blind = inspection.blind_to(viewer, found)
    may = {action: ok and not blind for action, ok in inspection.allowed(viewer, found).items()}
    return render(
        request,
        "quality/inspection.html",
        {
            "x": found,
            "call": call,
            "caller": mask_phone(call.caller_number),
            "recording": recording,
            "recording_is_link": recording.startswith(("http://", "https://")),
            "orders": list(call.work_orders.all()),
            "sections": inspection.form_items(form, [] if blind else found.deductions) if form else [],
            **{f"may_{action}": ok for action, ok in may.items()},
            "blind": blind,
            "may_calibrate": inspection.may_open_calibration(viewer, found) and found.agent_id != viewer.pk,
            "error": error,
            "own": found.agent_id == viewer.pk,
        },
    )


# --- Calibration sessions (质检校准): /quality/calibrations/ -----------------------------------------


def _calibrating(request: StaffRequest) -> Actor:
    """The signed-in inspector or leader; anyone else (an agent) is refused with 403."""
    viewer = scoping.signed_in(request.user)
    if not inspection.is_inspector(viewer):
        raise PermissionDenied(_("您的岗位不能参加质检校准"))
    return viewer


@login_required
def calibrations(request: StaffRequest) -> HttpResponse:
    """质检校准: the sessions the viewer opened or scores in (a leader: all of their scope)."""
    viewer = _calibrating(request)
    qs = inspection.calibrations(viewer, request.active_unit).order_by("-opened_at", "-pk")
    page = Paginator(qs, 50).get_page(request.GET.get("page"))
    return render(request, "quality/calibrations.html", {"page": page})


@login_required
def calibration_new(request: StaffRequest, inspection_pk: int) -> HttpResponse:
    """Open a session on an inspection's call: pick the inspectors (at least two)."""
    viewer = _calibrating(request)
    found = inspection.visible_one(viewer, inspection_pk)
    if not inspection.may_open_calibration(viewer, found):
        raise Http404
    error = ""
    chosen: list[str] = []
    if request.method == "POST":
        chosen = request.POST.getlist("inspector")
        try:
            session = inspection.open_calibration(
                actor=viewer,
                inspection_pk=found.pk,
                inspectors=[int(v) for v in chosen if v.isdigit()],
                note=request.POST.get("note", "")[:2000],
            )
        except ApiError as exc:
            error = exc.message
        else:
            return redirect(reverse("quality:calibration", args=[session.pk]))
    return render(
        request,
        "quality/calibration_new.html",
        {
            "x": found,
            "candidates": list(inspection.calibration_candidates(found)),
            "chosen": chosen,
            "error": error,
        },
    )


CALIBRATION_ACTIONS = {
    "score": lambda viewer, pk, post: inspection.score_calibration(
        actor=viewer, pk=pk, deductions=post.getlist("deduct"), notes=post.get("notes", "")
    ),
    "close": lambda viewer, pk, post: inspection.close_calibration(actor=viewer, pk=pk),
}


@login_required
def calibration_detail(request: StaffRequest, pk: int) -> HttpResponse:
    """One session: the call and the form; a participant scores it, blind to the others, until it
    closes; then the scores, the spread per section and each inspector's deviation from the median."""
    viewer = _calibrating(request)
    session = inspection.calibration(viewer, pk, request.active_unit)
    error = ""
    if request.method == "POST":
        act = CALIBRATION_ACTIONS.get(request.POST.get("action", ""))
        try:
            if act is None:
                raise ApiError("invalid_input", _("未知操作"), status=422)
            act(viewer, session.pk, request.POST)
        except ApiError as exc:
            error = exc.message
        else:
            return redirect(reverse("quality:calibration", args=[session.pk]))
        session = inspection.calibration(viewer, pk, request.active_unit)
    people = inspection.participants(viewer, session)
    mine = next((p for p in people if p.own), None)
    found = session.inspection
    call = found.call
    results = inspection.calibration_results(session)
    return render(
        request,
        "quality/calibration.html",
        {
            "session": session,
            "x": found,
            "call": call,
            "caller": mask_phone(call.caller_number),
            "recording": call.recording_ref,
            "recording_is_link": call.recording_ref.startswith(("http://", "https://")),
            "people": people,
            "mine": mine,
            "may_score": mine is not None and session.state == CalibrationSession.State.OPEN,
            "may_close": inspection.may_close_calibration(viewer, session),
            "sections": inspection.form_items(session.form, mine.deductions if mine else []),
            "results": results,
            "rows": [
                {"r": r, "sections": list(zip(results.sections, r.sections, strict=True))}
                for r in results.inspectors
            ]
            if results
            else [],
            "error": error,
        },
    )


# --- Staffing (排班测算, Erlang C): /quality/staffing/ -------------------------------------------------
# (Issue 17 item 8; the form is forms.StaffingForm.)


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
                "agents": _("所需座席"),
                "positions": _("排班人数（含缩减）"),
                "calls": _("预测来电"),
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
