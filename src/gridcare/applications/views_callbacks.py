"""Pages of 业扩回访 and 稽查案件: the callback work list, one callback with its node's questions,
the audit cases. Thin: every write goes through ``callback_work``'s verbs, like the API."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.core.masking import mask_name, mask_phone
from gridcare.org import scoping
from gridcare.org.types import StaffRequest
from gridcare.workorders.models import Satisfaction

from . import callback_work, callbacks
from .models import Answer, ApplicationCallback, AuditCase, AuditState, CallbackOutcome, CallbackState

PAGE_SIZE = 50


def _get_callback(request: StaffRequest, pk: int) -> ApplicationCallback:
    try:
        return callback_work.get_callback(request.user, pk)
    except ApiError as exc:
        raise Http404(exc.message) from exc


def _get_case(request: StaffRequest, number: str) -> AuditCase:
    try:
        return callback_work.get_case(request.user, number)
    except ApiError as exc:
        raise Http404(exc.message) from exc


@login_required
def work_list(request: StaffRequest) -> HttpResponse:
    """业扩回访工作单: the callbacks due in your scope, the nearest limit first."""
    state = request.GET.get("state", CallbackState.DUE)
    if state not in CallbackState.values:
        state = CallbackState.DUE
    now = clock.now()
    qs = callback_work.work_list(
        request.user, state=state, overdue=request.GET.get("overdue") == "1", now=now
    )
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "c": c,
            "applicant": mask_name(c.application.applicant_name),
            "phone": mask_phone(c.application.contact_phone),
            "overdue": c.state == CallbackState.DUE and c.due_at < now,
            "not_yet": c.state == CallbackState.DUE and c.due_from > now,
        }
        for c in page.object_list
    ]
    return render(
        request,
        "applications/callbacks/list.html",
        {"rows": rows, "page": page, "state": state, "states": CallbackState.choices},
    )


@login_required
@require_http_methods(["GET", "POST"])
def callback(request: StaffRequest, pk: int) -> HttpResponse:
    """One callback: the node's questions, the outcome of the call, the answers."""
    found = _get_callback(request, pk)
    if request.method == "POST":
        version = request.POST.get("version", "")
        answers = {q.code: request.POST.get(f"q_{q.code}", "") for q in callbacks.questions(found.node)}
        try:
            done = callback_work.record_call(
                callback=found,
                actor=scoping.signed_in(request.user),
                outcome=request.POST.get("outcome", ""),
                version=int(version) if version.isdigit() else None,
                answers=answers,
                satisfaction=request.POST.get("satisfaction", ""),
                note=request.POST.get("note", "")[:2000],
            )
        except ApiError as exc:
            messages.error(request, exc.message)
            return redirect("applications:callback", pk=found.pk)
        text = _("回访已记录：%(state)s") % {"state": done.get_state_display()}
        if done.findings:
            text += _("。发现问题线索：%(f)s，已生成举报工单 %(order)s 和稽查案件") % {
                "f": "、".join(done.findings),
                "order": done.report_order.number if done.report_order else "",
            }
        messages.success(request, text)
        return redirect(reverse("applications:callbacks"))
    questions = [
        {"q": q, "answer": (found.answers or {}).get(q.code, "")} for q in callbacks.questions(found.node)
    ]
    return render(
        request,
        "applications/callbacks/callback.html",
        {
            "c": found,
            "applicant": mask_name(found.application.applicant_name),
            "phone": mask_phone(found.application.contact_phone),
            "questions": questions,
            "answers": Answer.choices,
            "outcomes": CallbackOutcome.choices,
            "satisfactions": Satisfaction.choices,
            "calls": found.calls.select_related("by"),
            "cases": found.audit_cases.all(),
            "open": found.state == CallbackState.DUE,
        },
    )


@login_required
def audit_cases(request: StaffRequest) -> HttpResponse:
    state = request.GET.get("state", "")
    qs = callback_work.visible_cases(request.user)
    if state in AuditState.values:
        qs = qs.filter(state=state)
    page = Paginator(qs, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "applications/callbacks/cases.html",
        {"page": page, "state": state, "states": AuditState.choices},
    )


@login_required
@require_http_methods(["GET", "POST"])
def audit_case(request: StaffRequest, number: str) -> HttpResponse:
    case = _get_case(request, number)
    if request.method == "POST":
        version = request.POST.get("version", "")
        actor = scoping.signed_in(request.user)
        try:
            if request.POST.get("action") == "investigate":
                callback_work.start_investigation(
                    case=case, actor=actor, version=int(version) if version.isdigit() else None
                )
            else:
                verdict = request.POST.get("substantiated", "")
                callback_work.close_case(
                    case=case,
                    actor=actor,
                    substantiated={"yes": True, "no": False}.get(verdict),
                    conclusion=request.POST.get("conclusion", "")[:4000],
                    version=int(version) if version.isdigit() else None,
                )
        except ApiError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("稽查案件 %(number)s 已更新") % {"number": case.number})
        return redirect("applications:audit_case", number=case.number)
    return render(request, "applications/callbacks/case.html", {"case": case})
