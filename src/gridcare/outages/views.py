"""Pages of outage information (thin: the same services and queries as the API)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.core.masking import mask_phone
from gridcare.customers.queries import get_customer
from gridcare.org import scoping

from . import queries, services, wording
from .forms import LookupForm, OutageForm, codes
from .models import OutageKind, OutageState


def _can_edit(user) -> bool:
    return scoping.has_role(user, *services.EDITOR_ROLES)


def _when(request, default: str = "today") -> str:
    when = request.GET.get("when", default)
    return when if when in queries.WHEN_CHOICES else default


@login_required
def outage_list(request):
    """停电信息: today's, this week's, open fault outages (and all, newest first)."""
    when = _when(request)
    outages = list(queries.list_outages(request.user, when=when, active_unit=request.active_unit)[:200])
    scopes = wording.scope_texts(outages)
    rows = [{"o": o, "status": wording.status_line(o), "scope": scopes[o.pk]} for o in outages]
    return render(
        request,
        "outages/list.html",
        {
            "rows": rows,
            "when": when,
            "tabs": [(k, v) for k, v in queries.WHEN_CHOICES.items() if k != "current"],
            "can_edit": _can_edit(request.user),
        },
    )


@login_required
def lookup(request):
    """是否停电: by account number, address fragment, transformer area or feeder."""
    form = LookupForm(request.GET or None)
    when = _when(request, "week")
    result = None
    if form.is_valid():
        query = queries.OutageLookup(when=when, **form.cleaned_data)
        if not query.is_empty():
            result = queries.lookup(request.user, query, active_unit=request.active_unit)
    context = {
        "form": form,
        "when": when,
        "tabs": list(queries.WHEN_CHOICES.items()),
        "result": result,
    }
    template = "outages/_lookup_results.html" if request.htmx else "outages/lookup.html"
    return render(request, template, context)


@login_required
def customer_outages(request, account_no: str):
    """The reusable partial for the agent's customer view (hx-get it into any page)."""
    customer = get_customer(request.user, account_no, active_unit=request.active_unit)
    outages = queries.outages_for_customer(customer, when="week")
    rows = [{"o": o, "status": wording.status_line(o)} for o in outages]
    return render(request, "outages/_customer_outages.html", {"customer": customer, "rows": rows})


@login_required
def new(request):
    if not _can_edit(request.user):
        messages.error(request, "您的岗位不能发布停电信息。")
        return redirect("outages:list")
    form = OutageForm(request.POST or None, initial={"kind": request.GET.get("kind", OutageKind.PLANNED)})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            outage, _created = services.create_outage(
                kind=data["kind"],
                reason=data["reason"],
                area_text=data["area_text"],
                actor=request.user,
                planned_start=data["planned_start"],
                planned_end=data["planned_end"],
                estimated_end=data["estimated_end"],
                feeders=codes(data["feeders"]),
                transformer_areas=codes(data["transformer_areas"]),
            )
        except ApiError as exc:
            form.add_error(None, exc.message)
        else:
            messages.success(request, f"已创建停电信息 {outage.number}。")
            return redirect("outages:detail", number=outage.number)
    return render(request, "outages/new.html", {"form": form})


def _detail_context(request, outage) -> dict:
    hours, required = services.notice_check(outage)
    key_rows = queries.key_customers(outage)
    for row in key_rows:
        phones = [p.number for p in row.customer.phones.all()]
        row.masked_phone = mask_phone(phones[0]) if phones else ""
    progress = queries.delivery_progress(outage)
    rule = services.notice_rule(outage.kind)
    return {
        "o": outage,
        "status": wording.status_line(outage),
        "scope_text": wording.scope_text(outage),
        "areas": list(queries.areas_of(outage)),
        "feeders": list(outage.feeders.all()),
        "key_rows": key_rows,
        "phoned": sum(1 for r in key_rows if r.phoned_at),
        "progress": progress,
        "polling": any(p["pending"] or p["failed"] for p in progress),
        "without_mobile": queries.customers_without_mobile(outage),
        "events": list(outage.events.select_related("actor")),
        "notice_hours": hours,
        "required_hours": required,
        "notice_short": bool(required) and hours < required and outage.state == OutageState.DRAFT,
        "phone_required": bool(rule and rule.phone_key_customers),
        "can_edit": _can_edit(request.user),
        "now": clock.now(),
    }


@login_required
def detail(request, number: str):
    outage = queries.get_outage(request.user, number, active_unit=request.active_unit)
    return render(request, "outages/detail.html", _detail_context(request, outage))


@login_required
def progress(request, number: str):
    outage = queries.get_outage(request.user, number, active_unit=request.active_unit)
    rows = queries.delivery_progress(outage)
    return render(
        request,
        "outages/_progress.html",
        {"o": outage, "progress": rows, "polling": any(p["pending"] or p["failed"] for p in rows)},
    )


ACTIONS = {"publish", "start", "restore", "cancel", "estimate", "key_call"}


@login_required
@require_POST
def action(request, number: str, action: str):
    outage = queries.get_outage(request.user, number, active_unit=request.active_unit)
    if action not in ACTIONS:
        messages.error(request, "未知操作。")
        return redirect("outages:detail", number=number)
    post = request.POST
    try:
        if action == "publish":
            services.publish(
                outage=outage, actor=request.user, override_reason=post.get("override_reason", "")
            )
            messages.success(request, "已发布，停电通知已进入发送队列（重要客户优先）。")
        elif action == "start":
            services.start(outage=outage, actor=request.user, note=post.get("note", ""))
            messages.success(request, "已登记实际停电。")
        elif action == "restore":
            services.restore(outage=outage, actor=request.user, note=post.get("note", ""))
            messages.success(request, "已恢复送电，送电通知已进入发送队列。")
        elif action == "cancel":
            services.cancel(outage=outage, actor=request.user, reason=post.get("reason", ""))
            messages.success(request, "停电已取消。")
        elif action == "estimate":
            form = OutageForm.base_fields["estimated_end"]
            try:
                at = form.clean(post.get("estimated_end", ""))
            except Exception as exc:  # noqa: BLE001 - any parse error is a bad input
                raise ApiError("invalid_times", "请填写有效的预计恢复时间。", status=422) from exc
            if at is None:
                raise ApiError("invalid_times", "请填写预计恢复时间。", status=422)
            services.set_estimated_end(
                outage=outage, estimated_end=at, actor=request.user, note=post.get("note", "")
            )
            messages.success(request, "已更新预计恢复时间。")
        elif action == "key_call":
            customer = get_customer(request.user, post.get("account_no", ""), active_unit=request.active_unit)
            services.record_key_customer_call(
                outage=outage, customer=customer, actor=request.user, note=post.get("note", "")
            )
            messages.success(request, f"已登记电话告知 {customer.name}。")
    except ApiError as exc:
        messages.error(request, exc.message)
    return redirect(reverse("outages:detail", args=[number]))
