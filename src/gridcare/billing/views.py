"""Billing pages under /billing/: the agent's card slot (money position, last bills, "why is my bill
high"), the bill page, and the billing clerks' monthly runs (calculate, review, release). Thin:
the same answers and verbs as the API; a refusal is shown as a message, never an error page."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.core.masking import mask_name
from gridcare.org import scoping
from gridcare.org.models import Role, Unit
from gridcare.org.types import StaffRequest

from . import answers, documents, runs
from .models import CASHIER_ROLES, Anomaly, BillingRun

CARD_BILLS = 6


@login_required
def customer_card(request: StaffRequest, account_no: str) -> HttpResponse:
    """The agent's card slot: balance and arrears, the last bills, a disconnection or reconnection
    under way, and the button that loads "why is my bill high" for the latest bill."""
    user = scoping.signed_in(request.user)
    position = answers.position(user, account_no, active_unit=request.active_unit)
    return render(
        request,
        "billing/_card.html",
        {
            "p": position,
            "bills": position.bills[:CARD_BILLS],
            "latest": position.bills[0] if position.bills else None,
        },
    )


@login_required
def explanation(request: StaffRequest, number: str) -> HttpResponse:
    """The "why is my bill high" answer of one bill (an htmx fragment for the card and the page)."""
    bill = answers.bill_for(scoping.signed_in(request.user), number)
    return render(request, "billing/_explanation.html", {"e": answers.explain(bill)})


@login_required
def bill_page(request: StaffRequest, number: str) -> HttpResponse:
    """The bill as the customer receives it (seed 000): account, period, readings, kWh and its
    split, every line with its price and tariff version, the total, the due date, the payment
    prompt and reminders, where to pay — and why it is what it is."""
    user = scoping.signed_in(request.user)
    bill = answers.bill_for(user, number)
    position = answers.position(user, bill.customer.account_no, active_unit=request.active_unit)
    return render(
        request,
        "billing/bill.html",
        {
            "bill": bill,
            "name": mask_name(bill.customer.name),
            "lines": list(bill.lines.all()),
            "e": answers.explain(bill),
            "p": position,
            "can_take_payments": scoping.has_role(user, *CASHIER_ROLES),
        },
    )


@login_required
def bill_pdf(request: StaffRequest, number: str) -> HttpResponse:
    user = scoping.signed_in(request.user)
    return documents.response(answers.bill_for(user, number), user, request)


# Who may open the runs (电费核算, and its anomalies naming customers): the menu's roles.
RUN_READERS = (Role.BILLING_CLERK, Role.MANAGER, Role.ADMIN)


def _run_reader(request: StaffRequest):
    """The signed-in billing clerk, manager or administrator; anyone else 403 (the verbs refuse
    all but billing clerks and managers on their own)."""
    user = scoping.signed_in(request.user)
    if not scoping.has_role(user, *RUN_READERS):
        raise PermissionDenied
    return user


def _clerk_units(user) -> list[Unit]:
    return list(scoping.visible_units(user).order_by("path")[:500])


@login_required
def run_list(request: StaffRequest) -> HttpResponseBase:
    """电费核算: the runs in the clerk's scope and a form to calculate a unit's month."""
    user = _run_reader(request)
    if request.method == "POST":
        unit = scoping.unit_by_id(user, request.POST.get("unit"))
        try:
            period = dt.date.fromisoformat((request.POST.get("period") or "") + "-01")
        except ValueError:
            messages.error(request, _("请选择电费年月"))
            return redirect("billing:runs")
        if unit is None:
            messages.error(request, _("请选择您管辖范围内的单位"))
            return redirect("billing:runs")
        try:
            run = runs.calculate_month(actor=user, unit=unit, period=period)
        except ApiError as exc:
            messages.error(request, exc.message)
            return redirect("billing:runs")
        messages.success(
            request,
            _("已核算%(count)s户，%(anomalies)s条异常待审核")
            % {"count": run.bills, "anomalies": run.anomalies},
        )
        return redirect("billing:run", pk=run.pk)
    rows = scoping.restrict(BillingRun.objects.select_related("unit"), user, "unit_id").order_by(
        "-period", "unit__path"
    )[:60]
    today = clock.local(clock.now()).date()
    last_month = (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)
    return render(
        request,
        "billing/runs.html",
        {"runs": rows, "units": _clerk_units(user), "default_period": f"{last_month:%Y-%m}"},
    )


def _run(request: StaffRequest, pk: int) -> BillingRun:
    run = get_object_or_404(BillingRun.objects.select_related("unit"), pk=pk)
    return scoping.require_in_scope(run, _run_reader(request), "unit_id")


@login_required
def run_page(request: StaffRequest, pk: int) -> HttpResponse:
    """A run: its figures and the anomalies to review (accept, or correct the reading)."""
    run = _run(request, pk)
    anomalies = (
        Anomaly.objects.filter(run=run)
        .select_related("bill__customer", "reviewed_by")
        .order_by("state", "kind", "id")[:300]
    )
    return render(request, "billing/run.html", {"run": run, "anomalies": anomalies})


@login_required
@require_POST
def review(request: StaffRequest, pk: int, anomaly_id: int) -> HttpResponseBase:
    run = _run(request, pk)
    anomaly = get_object_or_404(Anomaly.objects.select_related("bill", "run__unit"), pk=anomaly_id, run=run)
    user = scoping.signed_in(request.user)
    decision = request.POST.get("decision")
    corrected: Decimal | None = None
    if decision == "correct":
        try:
            corrected = Decimal((request.POST.get("corrected_total") or "").strip())
        except InvalidOperation:
            messages.error(request, _("请填写正确的示数"))
            return redirect("billing:run", pk=run.pk)
    try:
        runs.review(
            actor=user,
            anomaly=anomaly,
            accept=decision != "correct",
            note=(request.POST.get("note") or "").strip(),
            corrected_total=corrected,
        )
    except ApiError as exc:
        messages.error(request, exc.message)
    return redirect("billing:run", pk=run.pk)


@login_required
@require_POST
def accept_all(request: StaffRequest, pk: int) -> HttpResponseBase:
    run = _run(request, pk)
    try:
        count = runs.accept_all(
            actor=scoping.signed_in(request.user), run=run, note=request.POST.get("note") or ""
        )
        messages.success(request, _("已批量审核通过%(count)s条") % {"count": count})
    except ApiError as exc:
        messages.error(request, exc.message)
    return redirect("billing:run", pk=run.pk)


@login_required
@require_POST
def release(request: StaffRequest, pk: int) -> HttpResponseBase:
    run = _run(request, pk)
    try:
        runs.release(actor=scoping.signed_in(request.user), run=run)
        messages.success(request, _("电费已发行，已通知客户"))
    except ApiError as exc:
        messages.error(request, exc.message)
    return redirect("billing:run", pk=run.pk)
