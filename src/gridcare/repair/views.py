"""Pages of fault repair command: the live board, an event, the crew board, the crew's own page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.core.masking import mask_name, mask_phone
from gridcare.org import scoping

from . import crew_queue, queries, services
from .actions import ACTIONS, act_on_event
from .dispatching import current_shift
from .models import DeviceLevel, FaultEvent, SupportRequest


def _is_dispatcher(user) -> bool:
    return scoping.has_role(user, *services.DISPATCH_ROLES)


def _board_context(request) -> dict:
    events = list(queries.board(request.user, active_unit=request.active_unit))
    now = clock.now()
    borrowed = crew_queue.borrowed_crews(events)
    rows = []
    for e in events:
        start = e.first_call_at or e.created_at
        elapsed = int((now - start).total_seconds() // 60)
        limit, limit_label = _limit_for(e)
        rows.append(
            {
                "e": e,
                "elapsed": elapsed,
                "limit": limit,
                "limit_label": limit_label,
                "over": limit is not None and elapsed > limit,
                "borrowed": borrowed.get(e.pk, []),
            }
        )
    return {
        "rows": rows,
        # Events waiting for a crew in priority order, their place and why each waits.
        "queue": crew_queue.queue_view(events, now),
        "borrowing": len(borrowed),
        "pending": queries.pending_calls(request.user, request.active_unit).count(),
        "pending_hazard": queries.pending_calls(request.user, request.active_unit)
        .filter(hazard=True)
        .count(),
        "queued": queries.queued_calls(request.user, request.active_unit).count(),
        "failed": [
            {"c": c, "who": c.customer.account_no if c.customer_id else mask_phone(c.caller_phone)}
            for c in queries.failed_calls(request.user, request.active_unit)[:50]
        ],
        "is_dispatcher": _is_dispatcher(request.user),
        "now": now,
        "counts": {
            "feeder": sum(1 for e in events if e.level == DeviceLevel.FEEDER),
            "area": sum(1 for e in events if e.level == DeviceLevel.AREA),
            "customer": sum(1 for e in events if e.level == DeviceLevel.CUSTOMER),
            "affected": sum(e.affected_count for e in events),
        },
    }


def _limit_for(event: FaultEvent) -> tuple[int | None, str]:
    """The time limit the board compares the elapsed time with: dispatch before a crew is sent,
    arrival before it is on site, restoration after (the engine's deadlines of the primary order)."""
    order = event.primary_order
    if order is None:
        return None, ""
    wanted = (
        "dispatch" if event.dispatched_at is None else "arrive" if event.arrived_at is None else "restore"
    )
    for d in order.deadlines.all():
        if d.milestone == wanted:
            start = event.first_call_at or event.created_at
            return int((d.due_at - start).total_seconds() // 60), d.get_milestone_display()
    return None, ""


@login_required
def board(request):
    """抢修指挥看板: open events, refreshed every 10 seconds."""
    context = _board_context(request)
    if request.htmx:
        return render(request, "repair/_board.html", context)
    context["recent"] = queries.recent_closed(request.user, active_unit=request.active_unit, limit=10)
    return render(request, "repair/board.html", context)


@login_required
@require_POST
def analyse(request):
    if not _is_dispatcher(request.user):
        raise PermissionDenied
    report = services.run_analysis()
    messages.success(
        request,
        f"研判完成：新定位 {report.placed} 个来电，关联 {report.linked} 个，新事件 {len(report.created)} 个，合并 {report.merged} 个。",
    )
    return redirect("repair:board")


@login_required
@require_POST
def retry_call(request, ref: str):
    """重新处理: a failed recorded call back in the queue."""
    call = queries.get_reported_call(request.user, ref, request.active_unit)
    try:
        services.retry_reported_call(call=call, actor=request.user)
    except ApiError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("来电已重新排队处理"))
    return redirect("repair:board")


def _history_labels() -> dict[str, str]:
    """What each history row of an event says it was: the workflow's actions by their table
    labels, and the rows the analysis and the crew queue write."""
    from .transitions import TRANSITIONS

    labels = {str(t.action): str(t.label) for t in TRANSITIONS}
    labels.update(
        {
            "create": _("研判生成"),
            "dispatch": _("派工"),
            "merged": _("并入其他事件"),
            "merge_in": _("合并事件"),
            "promote": _("升级为线路故障"),
            "demote": _("改判为台区故障"),
            "suspect": _("疑似停电"),
            "withdraw": _("研判撤销"),
            "release_crew": _("释放队伍"),
            "reinforce_request": _("申请邻所支援"),
            "review": _("审核"),
            "urge": _("催办"),
            "hazard": _("安全隐患·紧急抢修"),
            "reinforce": _("邻所支援"),
            "service_warning": _("服务预警"),
            "support_answer": _("支援答复"),
        }
    )
    return labels


def _labelled(updates):
    labels = _history_labels()
    rows = list(updates)
    for u in rows:
        u.label = labels.get(u.action, u.action)
    return rows


@login_required
def event_detail(request, number: str):
    event = queries.get_event(request.user, number, request.active_unit)
    calls = list(queries.event_calls(event)[:300])
    is_dispatcher = _is_dispatcher(request.user)
    context = {
        "e": event,
        "calls": [
            {
                "c": c,
                "phone": mask_phone(c.order.caller_phone),
                "name": mask_name(c.customer.name) if c.customer_id else "",
            }
            for c in calls
        ],
        "customers": [{"c": c, "name": mask_name(c.name)} for c in queries.event_customers(event, limit=100)],
        "tree": queries.topology_tree(event),
        "updates": _labelled(event.updates.select_related("actor").order_by("-at", "-id")[:50]),
        "assignments": event.assignments.select_related("crew", "crew__station").order_by("assigned_at"),
        "supports": event.support_requests.select_related("requested_by").all(),
        "is_dispatcher": is_dispatcher,
        "my_crew": services.crew_of(request.user, event),
        "actions": ACTIONS,
        "support_kinds": SupportRequest.Kind.choices,
    }
    if is_dispatcher and event.is_open:
        context["crews"] = services.best_crews(event)
        context["neighbour_crews"] = services.best_crews(event, neighbours=True)
    if event.state == FaultEvent.State.WAITING and event.crew_id is None:
        station_queue = queries.station_waiting_events(request.user, event.station_id, request.active_unit)
        context["queue_entry"] = next(
            (q for q in crew_queue.queue_view(station_queue) if q.event.pk == event.pk), None
        )
    limit, label = _limit_for(event)
    context["limit"], context["limit_label"] = limit, label
    return render(request, "repair/event.html", context)


@login_required
@require_POST
def event_action(request, number: str, action: str):
    event = queries.get_event(request.user, number, request.active_unit)
    post = request.POST
    payload = {
        "note": post.get("note", ""),
        "crew": post.get("crew") or None,
        "replace": post.get("replace") == "1",
        "level": post.get("level") or None,
        "transformer_area": post.get("transformer_area") or None,
        "feeder": post.get("feeder") or None,
        "orders": post.getlist("orders"),
        "into": post.get("into") or None,
        "situation": post.get("situation", ""),
        "cause": post.get("cause", ""),
        "estimated_restore_at": post.get("estimated_restore_at") or None,
        "kind": post.get("kind") or None,
        "result": post.get("result", ""),
    }
    try:
        result = act_on_event(event=event, action=action, actor=request.user, **payload)
    except ApiError as exc:
        messages.error(request, exc.message)
        result = event
    except ValueError:
        messages.error(request, "时间格式不正确")
        result = event
    else:
        messages.success(request, f"{ACTIONS.get(action, action)}：已完成")
    back = post.get("next") or ""
    if back == "my":
        return redirect("repair:my_jobs")
    return redirect(reverse("repair:event", args=[result.number]))


@login_required
def crews(request):
    """抢修队伍看板: who is on duty, dispatched, on site, off; today's roster."""
    date, shift = current_shift()
    context = {
        "crews": queries.crew_board(request.user, request.active_unit),
        "rosters": queries.rosters_today(request.user, date, request.active_unit),
        "shift_date": date,
        "shift": shift,
        "is_dispatcher": _is_dispatcher(request.user),
    }
    return render(request, "repair/crews.html", context)


@login_required
@require_POST
def crew_duty(request, code: str):
    crew = queries.get_crew(request.user, code, request.active_unit)
    try:
        services.set_crew_duty(crew=crew, actor=request.user, on_duty=request.POST.get("on_duty") == "1")
    except ApiError as exc:
        messages.error(request, exc.message)
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = "repair:crews"
    return redirect(next_url)


@login_required
def my_jobs(request):
    """我的抢修任务 (mobile-friendly): the crew member's open jobs with one-tap reports."""
    jobs = queries.my_jobs(request.user)
    return render(
        request,
        "repair/my_jobs.html",
        {"jobs": jobs, "crews": queries.my_crews(request.user), "support_kinds": SupportRequest.Kind.choices},
    )
