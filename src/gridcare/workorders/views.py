from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.core.masking import mask_name, mask_phone
from gridcare.customers.queries import get_customer
from gridcare.org import scoping
from gridcare.org.types import Actor, StaffRequest

from . import bulletin, callbacks, queries, services
from .forms import ActionForm, IntakeForm
from .models import OPEN_STATES, CallOutcome, OrderAction, OrderType, Satisfaction, State, WorkOrder
from .search_form import OrderSearchForm
from .transitions import TABLE, WORK_ORDERS, event_label


def _deadline_rows(order: WorkOrder) -> list[dict[str, Any]]:
    now = clock.now()
    rows = []
    for d in order.deadlines.all():
        left = d.seconds_left(now)
        rows.append({"d": d, "left": left, "overdue": (left is not None and left < 0) or d.met_late})
    return rows


def _nearest_left(order: WorkOrder) -> int | None:
    running = [r["left"] for r in _deadline_rows(order) if r["left"] is not None]
    return min(running) if running else None


@login_required
def queue(request: StaffRequest) -> HttpResponse:
    """我的工单 / 本单位工单: priority first, then warnings, then age."""
    mine = request.GET.get("scope") == "mine"
    accepted = request.GET.get("scope") == "accepted"
    order_type = request.GET.get("type", "")
    state = request.GET.get("state", "")
    warning = request.GET.get("warning", "")
    # A closed state (已归档/已合并/已作废) chosen in the filter is searched among closed orders.
    qs = queries.queue(
        request.user,
        mine=mine,
        accepted=accepted,
        active_unit=request.active_unit,
        order_type=order_type,
        state=state,
        warning_level=int(warning) if warning.isdigit() else None,
        open_only=not state or state in OPEN_STATES,
    )
    orders = list(qs[:200])
    rows = [
        {
            "o": o,
            "left": _nearest_left(o),
            "customer": mask_name(o.customer.name) if o.customer is not None else mask_phone(o.caller_phone),
        }
        for o in orders
    ]
    context = {
        "rows": rows,
        "mine": mine,
        "accepted": accepted,
        "types": OrderType.choices,
        "states": State.choices,
        "f": {"type": order_type, "state": state, "warning": warning},
    }
    template = "workorders/_queue_table.html" if request.htmx else "workorders/queue.html"
    return render(request, template, context)


CALLBACK_PAGE_SIZE = 50


@login_required
def callback_list(request: StaffRequest) -> HttpResponse:
    """回访工作单: orders waiting for their callback, most urgent first, with the time left."""
    order_type = request.GET.get("type", "")
    unit = request.GET.get("unit", "")
    qs = callbacks.waiting(
        request.user,
        active_unit=request.active_unit,
        order_type=order_type if order_type in OrderType.values else "",
        unit=int(unit) if unit.isdigit() else None,
    )
    page = Paginator(qs, CALLBACK_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "r": r,
            "customer": mask_name(r.order.customer.name)
            if r.order.customer is not None
            else mask_name(r.order.caller_name),
            "phone": mask_phone(r.order.caller_phone),
        }
        for r in callbacks.rows(list(page.object_list))
    ]
    context = {
        "rows": rows,
        "page": page,
        "types": OrderType.choices,
        "units": _unit_choices(scoping.signed_in(request.user)),
        "outcomes": CallOutcome.choices,
        "satisfactions": Satisfaction.choices,
        "f": {"type": order_type, "unit": unit},
    }
    return render(request, "workorders/callbacks.html", context)


@login_required
@require_POST
def callback_call(request: StaffRequest, number: str) -> HttpResponse:
    """One callback call from the work list (``callback_call``): its outcome, and the customer's
    satisfaction when reached. A refusal (hours, interval, …) is shown on the list."""
    order = queries.get_order(request.user, number, request.active_unit)
    version = request.POST.get("version", "")
    try:
        done = services.perform(
            order=order,
            action=OrderAction.CALLBACK_CALL,
            actor=scoping.signed_in(request.user),
            version=int(version) if version.isdigit() else None,
            note=request.POST.get("note", "")[:2000],
            active_unit=request.active_unit,
            outcome=request.POST.get("outcome", ""),
            satisfaction=request.POST.get("satisfaction", ""),
        )
    except ApiError as exc:
        messages.error(request, f"{order.number}：{exc.message}")
    else:
        messages.success(
            request,
            _("工单 %(number)s：%(state)s") % {"number": order.number, "state": done.get_state_display()},
        )
    return redirect(reverse("workorders:callbacks") + "?" + request.GET.urlencode())


@login_required
def detail(request: StaffRequest, number: str) -> HttpResponse:
    order = queries.get_order(request.user, number, request.active_unit)
    return render(request, "workorders/detail.html", _detail_context(request, order))


def _detail_context(
    request: StaffRequest,
    order: WorkOrder,
    form: ActionForm | None = None,
    open_action: str | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    state_labels = dict(State.choices)
    # Offer only what this user's roles allow; the service checks again (and the unit) on submit.
    available = WORK_ORDERS.available(order, scoping.signed_in(request.user))
    return {
        "o": order,
        "deadlines": _deadline_rows(order),
        "events": [
            {
                "e": e,
                "label": event_label(e.action),
                "from": state_labels.get(e.from_state, ""),
                "to": state_labels.get(e.to_state, ""),
            }
            for e in order.events.select_related("actor", "actor_unit")
        ],
        "actions": available,
        "form": form,
        "open_action": open_action,
        "error": error,
        "linked": queries.linked_by_callback(request.user, order, request.active_unit),
        "customer_name": mask_name(order.customer.name) if order.customer is not None else order.caller_name,
        "caller_phone": mask_phone(order.caller_phone),
    }


def _unit_choices(user: Actor) -> list[tuple[str, str]]:
    return [(str(u.pk), u.name) for u in services.dispatch_targets(user).order_by("path")[:300]]


@login_required
def action(request: StaffRequest, number: str, action: str) -> HttpResponseBase:
    """GET: the form of one action (htmx); POST: carry it out through the service."""
    order = queries.get_order(request.user, number, request.active_unit)
    transition = TABLE.get(action)
    if transition is None:
        raise Http404("unknown action")
    actor = scoping.signed_in(request.user)
    unit_choices = _unit_choices(actor)
    if request.method != "POST":
        form = ActionForm(
            initial={"version": order.version}, fields=transition.fields, unit_choices=unit_choices
        )
        return render(request, "workorders/_action_form.html", {"o": order, "t": transition, "form": form})
    form = ActionForm(request.POST, fields=transition.fields, unit_choices=unit_choices)
    error: str | None = None
    status = 422
    if form.is_valid():
        try:
            services.perform(
                order=order,
                action=action,
                actor=actor,
                version=form.cleaned_data["version"],
                note=form.cleaned_data.get("note") or "",
                active_unit=request.active_unit,
                **form.payload(),
            )
        except ApiError as exc:
            error, status = exc.message, exc.status
        else:
            messages.success(request, _("已%(action)s") % {"action": transition.label})
            response = HttpResponse(status=204)
            response["HX-Redirect"] = reverse("workorders:detail", args=[order.number])
            if not request.htmx:
                return redirect("workorders:detail", number=order.number)
            return response
    else:
        error = _("请检查填写的内容")
    return render(
        request,
        "workorders/_action_form.html",
        {"o": order, "t": transition, "form": form, "error": error},
        status=status,
    )


@login_required
def new(request: StaffRequest) -> HttpResponse:
    """受理: a plain intake form (the agent workspace has the smart one). The service decides:
    per-type requirements, who may take requests, and the open order of the same matter (shown
    here to urge instead, or confirmed as a new matter)."""
    actor = scoping.signed_in(request.user)
    if not scoping.has_role(actor, *services.INTAKE_ROLES):
        raise PermissionDenied
    form = IntakeForm(request.POST or None, initial={"account_no": request.GET.get("account_no", "")})
    duplicate = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            customer = get_customer(actor, data["account_no"]) if data["account_no"] else None
        except Http404:
            form.add_error("account_no", _("在您的管辖范围内没有该户号"))
            customer = None
        if form.is_valid():
            intake = services.Intake.of(data, customer=customer)
            try:
                order, _created = services.accept_request(
                    actor=actor,
                    intake=intake,
                    confirm_duplicate=bool(request.POST.get("confirm_new")),
                    active_unit=request.active_unit,
                )
            except services.DuplicateOrder as exc:
                duplicate = exc.order
            except ApiError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(request, _("工单 %(number)s 已受理") % {"number": order.number})
                return redirect("workorders:detail", number=order.number)
    return render(request, "workorders/new.html", {"form": form, "duplicate": duplicate})


@login_required
@require_POST
def urge_instead(request: StaffRequest, number: str) -> HttpResponse:
    """重复来电: urge the open order instead of creating a duplicate."""
    order = queries.get_order(request.user, number, request.active_unit)
    try:
        services.perform(
            order=order,
            action=OrderAction.URGE,
            actor=scoping.signed_in(request.user),
            note=request.POST.get("note", "客户再次来电催办"),
            active_unit=request.active_unit,
        )
    except ApiError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("已对工单 %(number)s 催办") % {"number": order.number})
    return redirect("workorders:detail", number=order.number)


@login_required
def supervision(request: StaffRequest) -> HttpResponse:
    """督办通报: in-transit, near-due and overdue orders per handling unit."""
    actor = scoping.signed_in(request.user)
    rows = bulletin.by_unit(actor, request.active_unit)
    if request.GET.get("format") == "xlsx":
        return bulletin.excel_response(rows, user=actor, request=request)
    return render(
        request,
        "workorders/supervision.html",
        {"rows": rows, "at": clock.local_now(), "totals": bulletin.totals(rows)},
    )


SEARCH_PAGE_SIZE = 50


@login_required
def search(request: StaffRequest) -> HttpResponse:
    """工单查询: any order in the user's scope, closed ones too, by number, customer, phone, type,
    state, unit and created-date range; paged, newest first. The phone is never shown unmasked."""
    form = OrderSearchForm(request.GET or None, user=request.user, active_unit=request.active_unit)
    page = None
    rows: list[dict[str, Any]] = []
    if form.is_bound and form.is_valid() and form.has_filters():
        qs = queries.search(request.user, form.query(), request.active_unit)
        page = Paginator(qs, SEARCH_PAGE_SIZE).get_page(request.GET.get("page"))
        rows = [
            {
                "o": o,
                "customer": mask_name(o.customer.name)
                if o.customer is not None
                else mask_name(o.caller_name),
                "phone": mask_phone(o.caller_phone),
            }
            for o in page.object_list
        ]
    params = request.GET.copy()
    params.pop("page", None)
    context = {"form": form, "page": page, "rows": rows, "params": params.urlencode()}
    template = "workorders/_search_results.html" if request.htmx else "workorders/search.html"
    return render(request, template, context)
