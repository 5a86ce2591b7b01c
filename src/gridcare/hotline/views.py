"""The agent workspace (one screen): call strip, customer card, orders, intake, knowledge panel."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from gridcare.core.api_errors import ApiError
from gridcare.core.masking import mask_address, mask_id_number, mask_phone
from gridcare.customers.queries import CustomerQuery, get_customer, search_customers
from gridcare.org import scoping
from gridcare.workorders import services as workorders
from gridcare.workorders.models import OPEN_STATES, OrderType
from gridcare.workorders.queries import visible_orders

from . import queries, return_calls, services
from .forms import SmartIntakeForm
from .models import AgentState, Call, ReturnCall, ShiftHandover, WrapUpCode
from .transitions import RETURN_CALLS, ReturnCallAction


def _token(call: Call | None) -> str:
    if call is None:
        return "none"
    return f"{call.pk}:{call.state}:{call.customer_id or 0}:{call.work_orders.count()}"


def _call_context(request, call: Call | None) -> dict:
    candidates = []
    if call is not None and call.customer_id is None:
        candidates = services.caller_candidates(request.user, call.caller_number)
    return {
        "call": call,
        "token": _token(call),
        "caller": mask_phone(call.caller_number) if call else "",
        "candidates": candidates,
        "wrapups": WrapUpCode.objects.filter(is_active=True),
        "agent_state": AgentState.objects.filter(agent=request.user).first(),
        "agent_states": AgentState.State.choices,
    }


@login_required
def workspace(request):
    call = services.current_call(request.user)
    context = _call_context(request, call)
    context["order_types"] = OrderType.choices
    context["open_return_calls"] = _open_return_calls_count(request)
    account_no = request.GET.get("account_no") or (
        call.customer.account_no if call and call.customer_id else ""
    )
    if account_no:
        try:
            context.update(_customer_context(request, account_no))
        except Http404:
            if request.GET.get("account_no"):
                raise  # asked for by number: not in scope
    return render(request, "hotline/workspace.html", context)


@login_required
def pop(request):
    """Polled by the call strip: 204 when nothing changed, else the strip (+ the customer, out of band)."""
    call = services.current_call(request.user)
    if request.GET.get("v") == _token(call):
        return HttpResponse(status=204)
    context = _call_context(request, call)
    # A new call (ringing) starts from a clean screen: the previous caller's card and intake form
    # go, whether or not this caller is identified (an unknown or shared number shows no card).
    shown_call = request.GET.get("v", "").split(":", 1)[0]
    context["new_call"] = call is not None and shown_call != str(call.pk)
    if call is not None and call.customer_id:
        try:
            context.update(_customer_context(request, call.customer.account_no))
            context["oob_customer"] = True
        except Http404:
            pass  # the caller is outside the unit the agent narrowed to: the strip shows the call only
    return render(request, "hotline/_call_strip.html", context)


def _customer_context(request, account_no: str) -> dict:
    customer = get_customer(request.user, account_no, active_unit=request.active_unit)
    orders = (
        visible_orders(request.user, request.active_unit)
        .filter(customer=customer)
        .select_related("assigned_unit")
    )
    return {
        "customer": customer,
        "phones": [mask_phone(p.number) for p in customer.phones.all()],
        "addresses": [mask_address(a.address) for a in customer.addresses.all()],
        "id_number": mask_id_number(customer.id_number),
        "open_orders": list(orders.filter(state__in=OPEN_STATES).order_by("-created_at")[:10]),
        "recent_orders": list(orders.exclude(state__in=OPEN_STATES).order_by("-created_at")[:5]),
    }


@login_required
def customer(request, account_no: str):
    context = _customer_context(request, account_no)
    call = services.current_call(request.user)
    identified = call is not None and call.customer_id is None and bool(request.GET.get("identify"))
    if call is not None and identified:
        services.identify_customer(call=call, customer=context["customer"], actor=request.user)
    response = render(request, "hotline/_customer.html", context)
    if identified:
        response["HX-Trigger"] = "caller-identified"  # the intake form follows the confirmed caller
    return response


@login_required
def search(request):
    q = request.GET.get("q", "").strip()
    results = (
        search_customers(request.user, CustomerQuery(q=q), active_unit=request.active_unit, limit=10)
        if q
        else []
    )
    rows = [
        {
            "c": c,
            "phone": mask_phone(next(iter(c.phones.all()), None).number) if c.phones.all() else "",
            "address": mask_address(c.addresses.all()[0].address) if c.addresses.all() else "",
        }
        for c in results
    ]
    return render(request, "hotline/_search_results.html", {"rows": rows, "q": q})


@login_required
def intake(request):
    """GET: the intake form for a type (adapts); POST: take this call's request
    (``services.take_call_request``) and show the order taken, or the form again with why not."""
    if not scoping.has_role(request.user, *workorders.INTAKE_ROLES):
        raise PermissionDenied
    call = services.current_call(request.user)
    if request.method != "POST":
        order_type = request.GET.get("type", OrderType.FAULT_REPAIR)
        panel = _panel(request, call, order_type, request.GET.get("account_no", ""))
        # The caller's number is not pre-filled (personal data stays masked); an empty field means
        # "the number of this call" when the order is saved.
        form = SmartIntakeForm(initial={"order_type": order_type, "account_no": _account_no(panel.customer)})
        return _render_form(request, call, form, panel)
    form = SmartIntakeForm(request.POST)
    if not form.is_valid():
        return _render_form(request, call, form, _panel(request, call, form.data.get("order_type") or ""))
    result = services.take_call_request(
        actor=request.user,
        call=call,
        request=services.CallRequest(
            data=form.intake_data(),
            idempotency_key=request.POST.get("idempotency_key") or None,
            confirm_duplicate=bool(request.POST.get("confirm_new")),
            hazard=bool(form.cleaned_data.get("hazard")),
        ),
        active_unit=request.active_unit,
    )
    if result.taken:
        response = render(
            request,
            "hotline/_order_created.html",
            {
                "order": result.order,
                "customer": result.customer,
                "answer": result.answer,
                "event": result.event,
                "repeated": result.outcome == services.Outcome.URGED,
            },
        )
        response["HX-Trigger"] = "orders-changed"
        return response
    if result.outcome == services.Outcome.CONFIRM_DUPLICATE:
        panel = services.IntakePanel(result.customer, duplicate=result.duplicate)
        form.add_error(None, result.error.message)
        return _render_form(request, call, form, panel, confirm_duplicate=True)
    form.add_error(_FIELD_OF_ERROR.get(result.error.code), result.error.message)
    return _render_form(request, call, form, _panel(request, call, form.data.get("order_type") or ""))


# Service errors that concern one field of the form are shown at that field.
_FIELD_OF_ERROR = {"complaint_class_required": "complaint_class"}


def _account_no(customer) -> str:
    return customer.account_no if customer is not None else ""


def _panel(request, call: Call | None, order_type: str, account_no: str | None = None):
    """What the form shows beside its fields; a posted form is shown for the account it names."""
    if account_no is None:
        account_no = request.POST.get("account_no") or ""
    return services.intake_panel(
        actor=request.user,
        call=call,
        order_type=order_type,
        account_no=account_no,
        active_unit=request.active_unit,
    )


def _render_form(request, call: Call | None, form, panel, *, confirm_duplicate: bool = False):
    context = {
        "form": form,
        "order_type": (form.data.get("order_type") or "") if form.is_bound else form.initial["order_type"],
        "customer": panel.customer,
        "account_no": _account_no(panel.customer),
        "duplicate": panel.duplicate,
        "known_event": panel.known_event,
        "known_answer": panel.known_answer,
        "confirm_duplicate": confirm_duplicate,
        "caller_masked": mask_phone(call.caller_number) if call else "",
    }
    return render(request, "hotline/_intake.html", context, status=422 if form.is_bound else 200)


@login_required
@require_POST
def urge(request, number: str):
    order = get_object_or_404(visible_orders(request.user, request.active_unit), number=number)
    call = services.current_call(request.user)
    try:
        order = services.urge_on_call(
            call=call, actor=request.user, order=order, note=request.POST.get("note", "")
        )
    except ApiError as exc:
        return render(request, "hotline/_message.html", {"error": exc.message}, status=exc.status)
    response = render(
        request,
        "hotline/_message.html",
        {"message": f"已催办工单 {order.number}（第 {order.urge_count} 次），未重复建单。"},
    )
    response["HX-Trigger"] = "orders-changed"
    return response


@login_required
@require_POST
def agent_state(request):
    try:
        services.set_agent_state(agent=request.user, state=request.POST.get("state", ""))
    except ApiError as exc:
        return HttpResponse(exc.message, status=exc.status)
    call = services.current_call(request.user)
    return render(request, "hotline/_call_strip.html", _call_context(request, call))


@login_required
@require_POST
def wrap_up(request):
    call = services.current_call(request.user)
    if call is None:
        return HttpResponse(status=204)
    try:
        services.wrap_up(
            call=call,
            actor=request.user,
            code=request.POST.get("code", ""),
            note=request.POST.get("note", ""),
        )
    except ApiError as exc:
        return HttpResponse(exc.message, status=exc.status)
    return render(
        request, "hotline/_call_strip.html", _call_context(request, services.current_call(request.user))
    )


@login_required
def handover(request):
    """交接班: hand my open items to the next shift, or receive a waiting handover."""
    error = None
    if request.method == "POST":
        try:
            services.hand_over(actor=request.user, notes=request.POST.get("notes", ""))
        except ApiError as exc:
            error = exc.message
        else:
            return redirect("hotline:handover")
    handovers = scoping.restrict(ShiftHandover.objects.all(), request.user, "unit_id", request.active_unit)
    waiting = handovers.filter(received_at__isnull=True)
    recent = handovers.select_related("handed_by", "received_by")[:20]
    return render(
        request,
        "hotline/handover.html",
        {
            "open_items": services.open_items_for(request.user),
            "waiting": waiting.exclude(handed_by=request.user),
            "recent": recent,
            "error": error,
        },
    )


@login_required
@require_POST
def acknowledge(request, pk: int):
    handover = scoping.get_for_user(ShiftHandover.objects.all(), request.user, "unit_id", pk=pk)
    try:
        services.acknowledge_handover(
            handover=handover, actor=request.user, note=request.POST.get("note", "")
        )
    except ApiError as exc:
        return HttpResponse(exc.message, status=exc.status)
    return redirect("hotline:handover")


# --- the call-back list (回拨清单) -----------------------------------------------------------------


BIGINT_MAX = 2**63 - 1


def _open_return_calls_count(request) -> int | None:
    """How many callers wait for a call-back in the agent's units (None for other roles)."""
    try:
        return queries.return_calls(request.user, request.active_unit).count()
    except ApiError:
        return None


def _entries(request, **filters):
    try:
        return queries.return_calls(request.user, request.active_unit, **filters)
    except ApiError as exc:
        raise PermissionDenied(exc.message) from exc


def _entry(request, pk: int) -> ReturnCall:
    if pk > BIGINT_MAX:
        raise Http404("not found")
    try:
        return queries.get_return_call(request.user, pk, request.active_unit)
    except ApiError as exc:
        raise PermissionDenied(exc.message) from exc


def _row(request, entry: ReturnCall, *, error: str = "", status: int = 200):
    return render(
        request,
        "hotline/_return_call_row.html",
        {"entry": entry, "error": error, "actions": _actions(entry, request.user)},
        status=status,
    )


def _actions(entry: ReturnCall, user) -> list:
    return [t for t in RETURN_CALLS.available(entry, user) if t.action != ReturnCallAction.AUTO_CLOSE]


@login_required
def return_call_list(request):
    """回拨清单: the open call-backs of the agent's units, oldest missed first."""
    entries = list(_entries(request).order_by("first_missed_at", "id")[:500])
    rows = [{"entry": e, "actions": _actions(e, request.user)} for e in entries]
    return render(request, "hotline/return_calls.html", {"rows": rows})


@login_required
@require_POST
def return_call_result(request, pk: int):
    """htmx: record a call-back's result on one entry; answers the entry's row."""
    entry = _entry(request, pk)
    version = request.POST.get("version", "")
    try:
        entry = return_calls.perform(
            entry=entry,
            action=request.POST.get("action", ""),
            actor=scoping.signed_in(request.user),
            note=request.POST.get("note", ""),
            version=int(version) if version.isdigit() else None,
        )
    except ApiError as exc:
        return _row(request, _entry(request, pk), error=exc.message, status=exc.status)
    return _row(request, _entry(request, pk))


@login_required
@require_POST
def return_call_number(request, pk: int):
    """htmx: the caller's full number, for a role that may see it; the read is audited."""
    entry = _entry(request, pk)
    try:
        number = return_calls.reveal_caller_number(
            actor=scoping.signed_in(request.user), entry=entry, request=request
        )
    except PermissionDenied as exc:
        return HttpResponse(str(exc), status=403)
    return render(request, "hotline/_return_call_number.html", {"entry": entry, "number": number})
