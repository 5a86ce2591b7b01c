"""Pages for what the nodes record: the survey, the supply-plan options and the customer's signed
choice, the inspections (四级验收) and rectification, energization. Each GET shows what is recorded
and the form; each POST calls the verb of ``survey`` (as the API does) with the version the page
was read at, and goes back to the application with a message — a refusal is shown, never a 500."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from gridcare.core.api_errors import ApiError
from gridcare.org import scoping
from gridcare.org.types import StaffRequest

from . import queries, survey
from .models import (
    AcceptanceInspection,
    Application,
    ApplicationNode,
    Energization,
    InspectionResult,
    Metering,
    NodeKind,
    NodeState,
    PlanOption,
    SignedVia,
    Supply,
    Survey,
    Voltage,
)


def _version(request: StaffRequest) -> int | None:
    raw = request.POST.get("version", "")
    return int(raw) if raw.isdigit() else None


def _carry_out(
    request: StaffRequest, application: Application, verb: Callable[[], Any], done: str
) -> HttpResponse:
    try:
        verb()
    except ApiError as exc:
        messages.error(request, exc.message)
        return redirect(request.path)
    messages.success(request, done)
    return redirect("applications:detail", number=application.number)


def _page(request: StaffRequest, template: str, application: Application, **context: Any) -> HttpResponse:
    nodes = {n.kind: n for n in ApplicationNode.objects.filter(application=application)}
    return render(request, f"applications/records/{template}", {"a": application, "nodes": nodes, **context})


@login_required
@require_http_methods(["GET", "POST"])
def survey_page(request: StaffRequest, number: str) -> HttpResponse:
    application = queries.get_application(request.user, number, request.active_unit)
    if request.method == "POST":
        p = request.POST
        found = survey.SurveyIn(
            possible=p.get("possible") == "yes",
            voltage=p.get("voltage", ""),
            supply=p.get("supply", Supply.SINGLE),
            approved_kva=p.get("approved_kva") or None,
            impossible_reason=p.get("impossible_reason", "")[:2000],
            grid_works=p.get("grid_works") == "on",
            grid_works_note=p.get("grid_works_note", "")[:300],
            notes=p.get("notes", "")[:4000],
        )
        return _carry_out(
            request,
            application,
            lambda: survey.record_survey(
                application=application,
                actor=scoping.signed_in(request.user),
                survey=found,
                version=_version(request),
            ),
            _("勘查结论已登记"),
        )
    return _page(
        request,
        "survey.html",
        application,
        survey=Survey.objects.filter(application=application).first(),
        voltages=Voltage.choices,
        supplies=Supply.choices,
    )


@login_required
@require_http_methods(["GET", "POST"])
def plan_options(request: StaffRequest, number: str) -> HttpResponse:
    application = queries.get_application(request.user, number, request.active_unit)
    actor = scoping.signed_in(request.user)
    if request.method == "POST":
        p = request.POST
        if p.get("choose", "").isdigit():
            return _carry_out(
                request,
                application,
                lambda: survey.choose_option(
                    application=application,
                    actor=actor,
                    option_id=int(p["choose"]),
                    signed_by=p.get("signed_by", "")[:60],
                    signed_via=p.get("signed_via", ""),
                    version=_version(request),
                ),
                _("客户选定的供电方案已登记"),
            )
        days = p.get("construction_days", "")
        option = survey.OptionIn(
            label=p.get("label", ""),
            source=p.get("source", ""),
            voltage=p.get("voltage", ""),
            property_boundary=p.get("property_boundary", ""),
            metering=p.get("metering", ""),
            cost_yuan=p.get("cost_yuan", ""),
            construction_days=int(days) if days.isdigit() else 0,
            note=p.get("note", "")[:300],
        )
        return _carry_out(
            request,
            application,
            lambda: survey.add_option(
                application=application, actor=actor, option=option, version=_version(request)
            ),
            _("供电方案已添加"),
        )
    return _page(
        request,
        "plan.html",
        application,
        options=PlanOption.objects.filter(application=application),
        survey=Survey.objects.filter(application=application).first(),
        voltages=Voltage.choices,
        meterings=Metering.choices,
        vias=SignedVia.choices,
    )


@login_required
@require_http_methods(["GET", "POST"])
def inspections(request: StaffRequest, number: str) -> HttpResponse:
    application = queries.get_application(request.user, number, request.active_unit)
    actor = scoping.signed_in(request.user)
    if request.method == "POST":
        p = request.POST
        node = p.get("node", "")
        if p.get("rectified"):
            return _carry_out(
                request,
                application,
                lambda: survey.rectified(
                    application=application, actor=actor, node=node, version=_version(request)
                ),
                _("已登记客户整改完成，待复验"),
            )
        days = p.get("rectify_days", "")
        found = survey.InspectionIn(
            node=node,
            passed=p.get("passed") == "yes",
            defects=[line.strip() for line in p.get("defects", "").splitlines() if line.strip()][:50],
            rectify_days=int(days) if days.isdigit() else 0,
            note=p.get("note", "")[:2000],
        )
        return _carry_out(
            request,
            application,
            lambda: survey.record_inspection(
                application=application, actor=actor, inspection=found, version=_version(request)
            ),
            _("检验结论已登记"),
        )
    try:
        who: survey.Acceptor | None = survey.acceptor(application)
    except ApiError:
        who = None
    rounds = AcceptanceInspection.objects.filter(application=application).select_related("accepting_unit")
    waiting = [r for r in rounds if r.result == InspectionResult.FAILED and r.rectified_at is None]
    open_nodes = [
        n
        for n in ApplicationNode.objects.filter(application=application, kind__in=survey.INSPECTED_NODES)
        if n.state in (NodeState.OPEN, NodeState.WAITING)
    ]
    return _page(
        request,
        "inspections.html",
        application,
        who=who,
        rounds=rounds,
        waiting=waiting,
        open_nodes=open_nodes,
    )


@login_required
@require_http_methods(["GET", "POST"])
def energization(request: StaffRequest, number: str) -> HttpResponse:
    application = queries.get_application(request.user, number, request.active_unit)
    if request.method == "POST":
        p = request.POST
        meters = []
        for i in range(3):
            asset = p.get(f"asset_no_{i}", "").strip()
            if not asset:
                continue
            registers = []
            for part in p.get(f"registers_{i}", "").replace("，", ",").split(","):
                if "=" in part:
                    name, _sep, reading = part.partition("=")
                    registers.append({"name": name.strip(), "reading": reading.strip()})
            meters.append({"asset_no": asset, "kind": p.get(f"kind_{i}", ""), "registers": registers})
        found = survey.EnergizationIn(
            meters=meters,
            crew=p.get("crew", "")[:100],
            ct_ratio=p.get("ct_ratio", "")[:20],
            pt_ratio=p.get("pt_ratio", "")[:20],
        )
        return _carry_out(
            request,
            application,
            lambda: survey.record_energization(
                application=application,
                actor=scoping.signed_in(request.user),
                energization=found,
                version=_version(request),
            ),
            _("装表接电已登记"),
        )
    return _page(
        request,
        "energization.html",
        application,
        energized=Energization.objects.filter(application=application).first(),
        hv=application.voltage != Voltage.LV,
        kinds=NodeKind,
    )
