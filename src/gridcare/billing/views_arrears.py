"""Arrears control and prepaid pages under /billing/ for billing clerks, account managers and
managers: 欠费停电 cases (list, one case with its actions, opening one), 保电, the "533"
bulletins and 费控 accounts.

Thin: every read goes through the scoping door (cases by their unit, customers and accounts by
their station, bulletin rows by their unit), every change through a verb of ``arrears`` or
``guarantees``; a refusal is shown as a message on the page it came from, never an error page.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Q, QuerySet
from django.http import Http404, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.core.masking import mask_address, mask_name, mask_phone
from gridcare.customers.models import Customer
from gridcare.customers.queries import get_customer
from gridcare.org import scoping
from gridcare.org.types import Actor, StaffRequest

from . import arrears, guarantees, prepaid
from .forms import CallForm, EndGuaranteeForm, GuaranteeForm, NoticeForm, WhenForm
from .models import (
    Bill,
    BillingSetting,
    BillState,
    DailyUsage,
    DisconnectionCase,
    PrepaidAccount,
    SupervisionRun,
    SupplyGuarantee,
)

State = DisconnectionCase.State
PAGE_SIZE = 50
USAGE_DAYS_SHOWN = 30
RUNS_SHOWN = 30
GUARANTEES_SHOWN = 200

# What the history's actions are called on the case page.
ACTION_LABELS = {
    "propose": gettext_lazy("发起停电"),
    "notice": gettext_lazy("通知送达"),
    "call": gettext_lazy("电话告知"),
    "disconnect": gettext_lazy("执行停电"),
    "paid": gettext_lazy("欠费缴清"),
    "cancel": gettext_lazy("撤销"),
    "reconnect": gettext_lazy("复电"),
    "warning": gettext_lazy("复电预警"),
}


def _reader(request: StaffRequest) -> Actor:
    """The signed-in user if their role reads arrears pages; 403 otherwise."""
    user = scoping.signed_in(request.user)
    if not scoping.has_role(user, *arrears.CASE_READERS):
        raise PermissionDenied(_("您的岗位不能查看欠费停复电"))
    return user


def _may_act(user: Actor) -> bool:
    return scoping.has_role(user, *arrears.BILLING_ROLES)


def _fail(request: StaffRequest, form: Any) -> None:
    """The form's first error as a message (the field's label with it)."""
    for name, errors in form.errors.items():
        field = form.fields.get(name)
        label = f"{field.label}：" if field is not None and field.label else ""
        messages.error(request, f"{label}{errors[0]}")
        return


# --- 欠费停电: the list -------------------------------------------------------------------------


def _case_filters(now: dt.datetime) -> list[tuple[str, str, Q]]:
    """(key, label, condition) of the list's filters, in the order of the work."""
    residential = Q(customer__customer_class=Customer.CustomerClass.RESIDENTIAL)
    return [
        ("", _("在办"), Q(state__in=arrears.IN_PROGRESS)),
        ("pending_cut", _("待停电"), Q(state__in=arrears.BEFORE_CUT)),
        ("notice_pending", _("待送达通知"), Q(state=State.PROPOSED)),
        ("notified", _("已送达通知"), Q(state=State.NOTIFIED)),
        ("call_due", _("待电话告知"), Q(state=State.NOTIFIED) & ~residential),
        ("cut_due", _("可执行停电"), Q(state__in=(State.NOTIFIED, State.CALLED), earliest_cut_at__lte=now)),
        ("disconnected", _("已停电"), Q(state=State.DISCONNECTED)),
        ("reconnecting", _("待复电"), Q(state=State.RECONNECTING)),
        ("reconnect_overdue", _("复电超时"), Q(state=State.RECONNECTING, reconnect_due_at__lt=now)),
        ("reconnected", _("已复电"), Q(state=State.RECONNECTED)),
        ("cancelled", _("已撤销"), Q(state=State.CANCELLED)),
        ("all", _("全部"), Q()),
    ]


@login_required
def case_list(request: StaffRequest) -> HttpResponse:
    """欠费停电管理: the cases in scope by state, each with its deadline and warning level."""
    user = _reader(request)
    now = clock.now()
    filters = _case_filters(now)
    chosen = request.GET.get("state", "")
    if chosen not in {key for key, _label, _q in filters}:
        chosen = ""
    scoped = arrears.visible_cases(user, request.active_unit)
    counts = scoped.aggregate(**{key or "open": Count("id", filter=q) for key, _label, q in filters})
    qs = scoped.filter(next(q for key, _label, q in filters if key == chosen))
    account_no = (request.GET.get("account_no") or "").strip()[:20]
    if account_no:
        qs = qs.filter(customer__account_no=account_no)
    page = Paginator(qs.order_by("-proposed_at", "-id"), PAGE_SIZE).get_page(request.GET.get("page"))
    for case in page:
        case.masked_name = mask_name(case.customer.name)  # type: ignore[attr-defined]
    return render(
        request,
        "billing/cases.html",
        {
            "tabs": [
                {"key": key, "label": label, "count": counts[key or "open"]} for key, label, _q in filters
            ],
            "chosen": chosen,
            "account_no": account_no,
            "page": page,
            "now": now,
            "may_act": _may_act(user),
            "query": urlencode({"state": chosen, "account_no": account_no}),
        },
    )


# --- Opening a case -----------------------------------------------------------------------------


@login_required
def case_new(request: StaffRequest) -> HttpResponseBase:
    """发起欠费停电: the customer's arrears, overdue bills, reminders and exemptions, then the
    proposal — refused by the verb with its reasons when the rules do not allow it."""
    user = _reader(request)
    account_no = (request.POST.get("account_no") or request.GET.get("account_no") or "").strip()[:20]
    customer = None
    if account_no:
        try:
            customer = get_customer(user, account_no, active_unit=request.active_unit)
        except Http404:
            messages.error(request, _("在您的管辖范围内没有该户号"))
    if request.method == "POST" and customer is not None:
        try:
            case = arrears.propose_disconnection(customer, actor=user)
        except ApiError as exc:
            messages.error(request, exc.message)
            return redirect(f"{reverse('billing:case_new')}?{urlencode({'account_no': account_no})}")
        messages.success(request, _("已发起欠费停电 %(number)s，请送达停电通知") % {"number": case.number})
        return redirect("billing:case", number=case.number)
    context: dict[str, Any] = {"account_no": account_no, "customer": customer, "may_act": _may_act(user)}
    if customer is not None:
        now = clock.now()
        bills = list(Bill.objects.filter(customer=customer, state=BillState.OPEN).order_by("due_on", "id"))
        sent = arrears.reminded([b.number for b in bills])
        today = clock.local(now).date()
        context |= {
            "name": mask_name(customer.name),
            "arrears": arrears.arrears_of(customer),
            "bills": [_bill_row(b, today, sent) for b in bills],
            "exemptions": arrears.exemptions(customer, now),
            "open_case": DisconnectionCase.objects.filter(customer=customer, state__in=arrears.IN_PROGRESS)
            .order_by("-proposed_at")
            .first(),
        }
        context["blocked"] = any(e.blocks for e in context["exemptions"])
    return render(request, "billing/case_new.html", context)


def _bill_row(bill: Bill, today: dt.date, reminded: set[str]) -> dict[str, Any]:
    owed = bill.amount - bill.paid
    late = owed > 0 and bill.due_on is not None and bill.due_on < today
    return {
        "bill": bill,
        "owed": owed,
        "overdue_days": (today - bill.due_on).days if late and bill.due_on else 0,
        "reminded": bill.number in reminded,
    }


# --- One case -----------------------------------------------------------------------------------


def _case(request: StaffRequest, number: str) -> tuple[Actor, DisconnectionCase]:
    user = _reader(request)
    found = arrears.visible_cases(user, request.active_unit).filter(number=number).first()
    if found is None:
        raise Http404("not found")
    return user, found


@login_required
def case_page(request: StaffRequest, number: str) -> HttpResponse:
    """One case: the customer (masked), the bills owed, the exemptions checked and why, the
    notice and its proof, the call, the cut and the reconnection, the history, and the actions
    of its state."""
    user, case = _case(request, number)
    customer = case.customer
    now = clock.now()
    events = list(case.events.select_related("actor").order_by("at", "id"))
    proposal = next((e for e in events if e.action == "propose"), None)
    for event in events:
        event.label = ACTION_LABELS.get(event.action, event.action)  # type: ignore[attr-defined]
        event.to_label = State(event.to_state).label if event.to_state in State.values else ""  # type: ignore[attr-defined]
    bills_named = (proposal.data.get("bills") if proposal else None) or []
    bills = list(
        Bill.objects.filter(Q(number__in=bills_named) | Q(customer=customer, state=BillState.OPEN))
        .filter(customer=customer)
        .order_by("due_on", "id")
    )
    today = clock.local(now).date()
    phone = customer.phones.order_by("-is_primary", "id").first()
    address = customer.addresses.order_by("-is_primary", "id").first()
    in_progress = case.state in arrears.IN_PROGRESS
    return render(
        request,
        "billing/case.html",
        {
            "case": case,
            "name": mask_name(customer.name),
            "phone": mask_phone(phone.number if phone else ""),
            "address": mask_address(address.address if address else ""),
            "residential": arrears.is_residential(customer),
            "important": arrears.is_important(customer),
            "bills": [_bill_row(b, today, set()) for b in bills],
            "shown_at_proposal": (proposal.data.get("shown") if proposal else None) or [],
            "exemptions_now": arrears.exemptions(customer, now) if in_progress else [],
            "copy_to_authority": bool(proposal and proposal.data.get("copy_to_authority")),
            "events": events,
            "now": now,
            "may_act": _may_act(user),
            "too_early": case.earliest_cut_at is not None and case.earliest_cut_at > now,
            "overdue": case.state == State.RECONNECTING
            and case.reconnect_due_at is not None
            and case.reconnect_due_at < now,
            "default_time": f"{clock.local(now):%Y-%m-%dT%H:%M}",
        },
    )


def _act(request: StaffRequest, number: str, form_class: type, do: Any, done: str) -> HttpResponseBase:
    """POST of one action of a case: the form's shape, then the verb; its refusal as a message."""
    user, case = _case(request, number)
    form = form_class(request.POST)
    if not form.is_valid():
        _fail(request, form)
    else:
        try:
            do(case, user, form.cleaned_data)
        except ApiError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, done)
    return redirect("billing:case", number=case.number)


@login_required
@require_POST
def record_notice(request: StaffRequest, number: str) -> HttpResponseBase:
    return _act(
        request,
        number,
        NoticeForm,
        lambda case, user, data: arrears.record_notice(
            case, delivered_at=data["delivered_at"], proof=data["proof"], actor=user
        ),
        _("已登记停电通知送达"),
    )


@login_required
@require_POST
def record_call(request: StaffRequest, number: str) -> HttpResponseBase:
    return _act(
        request,
        number,
        CallForm,
        lambda case, user, data: arrears.record_call(case, data["called_at"], user),
        _("已登记电话告知"),
    )


@login_required
@require_POST
def execute(request: StaffRequest, number: str) -> HttpResponseBase:
    return _act(
        request,
        number,
        WhenForm,
        lambda case, user, data: arrears.execute(case, actor=user, at=data["at"] or clock.now()),
        _("已执行停电"),
    )


@login_required
@require_POST
def record_reconnected(request: StaffRequest, number: str) -> HttpResponseBase:
    return _act(
        request,
        number,
        WhenForm,
        lambda case, user, data: arrears.record_reconnected(case, data["at"] or clock.now(), user),
        _("已登记复电"),
    )


# --- 保电 ----------------------------------------------------------------------------------------


@login_required
def guarantee_list(request: StaffRequest) -> HttpResponseBase:
    """保电: those in force and coming (or ended, or all) in scope, and a form to add one."""
    user = _reader(request)
    if request.method == "POST":
        return _add_guarantee(request, user)
    now = clock.now()
    show = request.GET.get("show", "")
    qs = guarantees.visible_guarantees(user, request.active_unit)
    if show == "ended":
        qs = qs.filter(ends_at__lte=now).order_by("-ends_at", "-id")
    elif show != "all":
        show = ""
        qs = qs.filter(ends_at__gt=now).order_by("starts_at", "id")
    else:
        qs = qs.order_by("-starts_at", "-id")
    rows = list(qs[:GUARANTEES_SHOWN])
    for g in rows:
        g.phase = (  # type: ignore[attr-defined]
            "ended" if g.ends_at <= now else "running" if g.starts_at <= now else "upcoming"
        )
        g.masked_name = mask_name(g.customer.name) if g.customer else ""  # type: ignore[attr-defined]
        g.may_end = g.ends_at > now and guarantees.may_end(user, g)  # type: ignore[attr-defined]
    unit_manager = scoping.has_role(user, *guarantees.UNIT_GUARANTEE_ROLES)
    return render(
        request,
        "billing/guarantees.html",
        {
            "rows": rows,
            "show": show,
            "may_add": scoping.has_role(user, *guarantees.GUARANTEE_ROLES),
            "units": list(scoping.visible_units(user, request.active_unit).order_by("path")[:500])
            if unit_manager
            else [],
            "reasons": SupplyGuarantee.Reason.choices,
            "default_start": f"{clock.local(now):%Y-%m-%dT%H:%M}",
            "default_end": f"{clock.local(now) + dt.timedelta(days=1):%Y-%m-%dT%H:%M}",
        },
    )


def _add_guarantee(request: StaffRequest, user: Actor) -> HttpResponseBase:
    form = GuaranteeForm(request.POST)
    if not form.is_valid():
        _fail(request, form)
        return redirect("billing:guarantees")
    data = form.cleaned_data
    customer = unit = None
    if data["target"] == "customer":
        try:
            customer = get_customer(user, data["account_no"] or "", active_unit=request.active_unit)
        except Http404:
            messages.error(request, _("在您的管辖范围内没有该户号"))
            return redirect("billing:guarantees")
    else:
        unit = scoping.visible_units(user, request.active_unit).filter(pk=data["unit"] or 0).first()
        if unit is None:
            messages.error(request, _("请选择您管辖范围内的单位"))
            return redirect("billing:guarantees")
    try:
        guarantees.add_guarantee(
            actor=user,
            customer=customer,
            unit=unit,
            reason=data["reason"],
            note=data["note"] or "",
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
        )
    except ApiError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("已登记保电：%(target)s") % {"target": customer.account_no if customer else unit.name},  # type: ignore[union-attr]
        )
    return redirect("billing:guarantees")


@login_required
@require_POST
def end_guarantee(request: StaffRequest, pk: int) -> HttpResponseBase:
    user = _reader(request)
    found = guarantees.visible_guarantees(user, request.active_unit).filter(pk=pk).first()
    if found is None:
        raise Http404("not found")
    form = EndGuaranteeForm(request.POST)
    if not form.is_valid():
        _fail(request, form)
        return redirect("billing:guarantees")
    try:
        guarantees.end_guarantee(found, actor=user, why=form.cleaned_data["why"])
    except ApiError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("保电已结束"))
    return redirect("billing:guarantees")


# --- "533" 督办 ----------------------------------------------------------------------------------


def _rows_in_scope(request: StaffRequest, user: Actor, run: SupervisionRun) -> list[dict[str, Any]]:
    """The bulletin's rows of units in the user's scope (the rows are written for every unit)."""
    return [r for r in run.rows if scoping.unit_in_scope(user, r["unit_id"], request.active_unit)]


def _totals(rows: list[dict[str, Any]]) -> dict[str, int]:
    return {
        "cut": sum(r["disconnections"]["total"] for r in rows),
        "back": sum(r["reconnections"]["total"] for r in rows),
        "late": sum(r["reconnections"]["overdue"] for r in rows),
    }


@login_required
def supervision_list(request: StaffRequest) -> HttpResponse:
    """ "533" 督办: the latest runs, each with its figures for the user's units."""
    user = _reader(request)
    runs = list(SupervisionRun.objects.order_by("-day", "-ran_at")[:RUNS_SHOWN])
    for run in runs:
        run.totals = _totals(_rows_in_scope(request, user, run))  # type: ignore[attr-defined]
    today = clock.local(clock.now()).date()
    return render(
        request,
        "billing/supervision.html",
        {"runs": runs, "in_window": arrears.in_533_window(today), "window_start": _next_window(today)},
    )


def _next_window(today: dt.date) -> dt.date:
    start = arrears.window_start(today.year, today.month)
    return start if today <= start else today


def _run_context(request: StaffRequest, pk: int) -> dict[str, Any]:
    user = _reader(request)
    run = get_object_or_404(SupervisionRun, pk=pk)
    rows = _rows_in_scope(request, user, run)
    for row in rows:
        for item in row["cases"]:
            item["state_label"] = (
                State(item["state"]).label if item["state"] in State.values else item["state"]
            )
            if item.get("due_at"):
                item["due_at_text"] = item["due_at"][:16].replace("T", " ")
    return {"run": run, "rows": rows, "totals": _totals(rows)}


@login_required
def supervision_run(request: StaffRequest, pk: int) -> HttpResponse:
    """One run's bulletin per unit: pending disconnections and reconnections, overdue ones red."""
    return render(request, "billing/supervision_run.html", _run_context(request, pk))


@login_required
def supervision_print(request: StaffRequest, pk: int) -> HttpResponse:
    """The bulletin as staff print it (a page of its own with a print stylesheet)."""
    return render(request, "billing/supervision_print.html", _run_context(request, pk))


# --- 费控 ----------------------------------------------------------------------------------------

PREPAID_FILTERS = [
    ("", gettext_lazy("全部")),
    (PrepaidAccount.State.NORMAL, PrepaidAccount.State.NORMAL.label),
    (PrepaidAccount.State.LOW, PrepaidAccount.State.LOW.label),
    (PrepaidAccount.State.NEGATIVE, PrepaidAccount.State.NEGATIVE.label),
    (PrepaidAccount.State.CUT, PrepaidAccount.State.CUT.label),
    ("protected", gettext_lazy("保电中")),
]


def _visible_accounts(user: Actor, request: StaffRequest) -> QuerySet[PrepaidAccount]:
    return scoping.restrict(
        PrepaidAccount.objects.select_related("customer__station"),
        user,
        "customer__station_id",
        request.active_unit,
    )


@login_required
def prepaid_list(request: StaffRequest) -> HttpResponse:
    """费控: the accounts in scope, the lowest balance first, with days left and state."""
    user = _reader(request)
    now = clock.now()
    chosen = request.GET.get("state", "")
    if chosen not in {str(key) for key, _label in PREPAID_FILTERS}:
        chosen = ""
    qs = _visible_accounts(user, request)
    if chosen == "protected":
        qs = qs.filter(guarantees.covering_q(now))
    elif chosen:
        qs = qs.filter(state=chosen)
    account_no = (request.GET.get("account_no") or "").strip()[:20]
    if account_no:
        qs = qs.filter(customer__account_no=account_no)
    page = Paginator(qs.order_by("balance", "id"), PAGE_SIZE).get_page(request.GET.get("page"))
    accounts = list(page)
    ids = [a.customer_id for a in accounts]
    days = prepaid.estimated_days_left_many(ids, clock.local(now).date())
    covered = set(
        PrepaidAccount.objects.filter(pk__in=[a.pk for a in accounts])
        .filter(guarantees.covering_q(now))
        .values_list("pk", flat=True)
    )
    for a in accounts:
        a.masked_name = mask_name(a.customer.name)  # type: ignore[attr-defined]
        a.days_left = days.get(a.customer_id)  # type: ignore[attr-defined]
        a.protected = a.pk in covered  # type: ignore[attr-defined]
    return render(
        request,
        "billing/prepaid.html",
        {
            "accounts": accounts,
            "page": page,
            "filters": PREPAID_FILTERS,
            "chosen": chosen,
            "account_no": account_no,
            "query": urlencode({"state": chosen, "account_no": account_no}),
        },
    )


@login_required
def prepaid_account(request: StaffRequest, account_no: str) -> HttpResponse:
    """One 费控 account: balance, state, days left, 保电 in force, the daily usage of the last
    30 days (chart and table), the commands sent and what came back, its disconnection cases."""
    user = _reader(request)
    account = _visible_accounts(user, request).filter(customer__account_no=account_no).first()
    if account is None:
        raise Http404("not found")
    customer = account.customer
    now = clock.now()
    today = clock.local(now).date()
    usage = list(
        DailyUsage.objects.filter(
            customer=customer, day__gte=today - dt.timedelta(days=USAGE_DAYS_SHOWN)
        ).order_by("day")
    )
    chart = {
        "labels": [f"{u.day:%m-%d}" for u in usage],
        "kwh": [float(u.kwh) for u in usage],
        "peak": [float(u.peak_kwh) for u in usage],
        "flat": [float(u.flat_kwh) for u in usage],
        "valley": [float(u.valley_kwh) for u in usage],
        "names": {"peak": _("峰"), "flat": _("平"), "valley": _("谷"), "kwh": _("电量(kWh)")},
    }
    covering = guarantees.in_force(customer, now)
    return render(
        request,
        "billing/prepaid_account.html",
        {
            "account": account,
            "name": mask_name(customer.name),
            "days_left": prepaid.estimated_days_left(customer.pk, today),
            "threshold": prepaid.threshold(account, BillingSetting.current(today)),
            "guarantees": covering,
            "usage": list(reversed(usage)),
            "chart": chart,
            "commands": list(account.commands.order_by("-sent_at", "-id")[:50]),
            "cases": list(
                arrears.visible_cases(user, request.active_unit)
                .filter(customer=customer)
                .order_by("-proposed_at")[:10]
            ),
        },
    )
