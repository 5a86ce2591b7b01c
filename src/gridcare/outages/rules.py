"""The rules of the outage table (``transitions.py``): guards, effects and follow-ups, one small
function each, named for its rule, each taking the ``Step`` the workflow runner is carrying out.
Guards raise ``ApiError`` with the codes the API has always answered; effects change the outage
in memory (the verb saves it and writes its history row); follow-ups queue the customers'
notices once the outage is saved (their count goes in the history row: ``step.found["queued"]``).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.db.models import OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils.translation import gettext

from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.core.workflow import Step
from gridcare.org import scoping
from gridcare.org.models import Role
from gridcare.org.types import Actor

from .models import NoticeRule, Outage, OutageArea, OutageCustomer, OutageEvent, OutageKind, OutageState
from .notices import Purpose, queue_or_defer, queue_scope_change, told_customers
from .scope import check_scope_visible, expand_areas, materialize, set_declared_scope

EDITOR_ROLES = frozenset({Role.DISPATCHER, Role.SHIFT_LEADER, Role.MANAGER, Role.ADMIN})

OutageStep = Step[Outage]


def editors_only() -> ApiError:
    return ApiError("forbidden", gettext("您的岗位不能发布或维护停电信息"), status=403)


def is_editor(actor: Actor) -> bool:
    """The system (None) or a user holding an editor role."""
    return actor is None or scoping.has_role(actor, *EDITOR_ROLES)


def illegal(outage: Outage, doing: str) -> ApiError:
    return ApiError(
        "illegal_transition",
        f"{outage.get_state_display()}的停电信息不能{doing}。",
        status=409,
        state=outage.state,
    )


def user_of(actor: Actor) -> Any:
    return actor if getattr(actor, "is_authenticated", False) else None


def notice_rule(kind: str) -> NoticeRule | None:
    return NoticeRule.objects.filter(kind=kind).first()


def notice_check(outage: Outage, at: dt.datetime | None = None) -> tuple[Decimal, int]:
    """(hours of notice the customers get if published at ``at``, hours the rule requires)."""
    rule = notice_rule(outage.kind)
    required = rule.min_notice_hours if rule else 0
    at = at or clock.now()
    if outage.planned_start is None:
        return Decimal(0), required
    hours = Decimal((outage.planned_start - at).total_seconds() / 3600).quantize(Decimal("0.1"))
    return hours, required


def hours_text(hours: Any) -> str:
    hours = Decimal(hours)
    if hours >= 48 and hours % 24 == 0:
        return f"{int(hours // 24)}天"
    return f"{hours.normalize():f}小时"


# --- guards -------------------------------------------------------------------------------------


def whole_scope_visible(step: OutageStep) -> None:
    """Seeing one of its areas is enough to look at an outage, not to change it: the actor's
    scope covers every feeder and area of it."""
    outage = step.obj
    check_scope_visible(step.actor, list(outage.feeders.all()), list(outage.transformer_areas.all()))


def merge_target_scope_visible(step: OutageStep) -> None:
    into: Outage = step.payload["into"]
    check_scope_visible(step.actor, list(into.feeders.all()), list(into.transformer_areas.all()))


def reason_given(step: OutageStep) -> None:
    if not str(step.payload.get("reason") or "").strip():
        raise ApiError("reason_required", "请填写取消原因。", status=422)


def scope_chosen(step: OutageStep) -> None:
    if not OutageArea.objects.filter(outage=step.obj).exists():
        raise ApiError("scope_required", "请选择停电范围（线路或台区）。", status=422)


def notice_long_enough(step: OutageStep) -> None:
    """Planned 7 days, temporary 24 h ahead (the notice rule), unless a reason says why not."""
    outage = step.obj
    hours, required = notice_check(outage, step.now)
    reason = str(step.payload.get("override_reason") or "").strip()
    short = bool(required and hours < required)
    if short and not reason:
        raise ApiError(
            "notice_too_short",
            f"{outage.get_kind_display()}须提前{hours_text(required)}发布，"
            f"当前距停电仅{hours_text(hours)}；如确需发布，请填写不足时限发布的理由。",
            status=422,
            required_hours=required,
            notice_hours=float(hours),
        )
    step.found.update(hours=hours, required=required, short=short, override_reason=reason)


def a_fault_outage(step: OutageStep) -> None:
    if step.obj.kind != OutageKind.FAULT:
        raise illegal(step.obj, step.transition.label)


def merge_target_open_fault(step: OutageStep) -> None:
    into: Outage = step.payload["into"]
    if into.kind != OutageKind.FAULT or into.state != OutageState.IN_PROGRESS:
        raise illegal(into, step.transition.label)


def began_as_planned(step: OutageStep) -> None:
    """A published outage nobody pressed "start" on is restored only once its planned start passed."""
    outage = step.obj
    if step.before == OutageState.PUBLISHED and not (
        outage.planned_start and outage.planned_start <= step.payload["at"]
    ):
        raise illegal(outage, step.transition.label)


def restored_after_it_began(step: OutageStep) -> None:
    outage = step.obj
    began = outage.planned_start if step.before == OutageState.PUBLISHED else outage.actual_start
    if began and step.payload["at"] < began:
        raise ApiError("invalid_times", "送电时间不能早于停电时间。", status=422)


def estimate_after_start(step: OutageStep) -> None:
    if step.obj.starts_at and step.payload["estimated_end"] <= step.obj.starts_at:
        raise ApiError("invalid_times", "预计恢复时间须晚于停电时间。", status=422)


def a_key_customer_of_the_outage(step: OutageStep) -> None:
    row = (
        OutageCustomer.objects.select_for_update()
        .filter(outage=step.obj, customer=step.payload["customer"], is_key=True)
        .first()
    )
    if row is None:
        raise ApiError("not_a_key_customer", "该客户不是本次停电影响的重要客户。", status=422)
    step.found["row"] = row


def customer_in_scope(step: OutageStep) -> None:
    check_scope_visible(step.actor, [], [step.found["row"].transformer_area])


# --- effects ------------------------------------------------------------------------------------


def stamp_publication(step: OutageStep) -> None:
    outage = step.obj
    outage.published_at, outage.published_by = step.now, user_of(step.actor)
    outage.notice_hours, outage.required_notice_hours = step.found["hours"], step.found["required"]


def record_short_notice_override(step: OutageStep) -> None:
    """Who published with less notice than the rule, why, and when."""
    if step.found["short"]:
        outage = step.obj
        outage.override_reason = step.found["override_reason"][:300]
        outage.override_by, outage.override_at = outage.published_by, step.now


def stamp_actual_start(step: OutageStep) -> None:
    step.obj.actual_start = step.payload.get("at") or step.now
    step.obj.refresh_window()


def record_cancel_reason(step: OutageStep) -> None:
    step.obj.cancel_reason = str(step.payload["reason"]).strip()[:300]


def start_as_planned(step: OutageStep) -> None:
    """Nobody pressed "start" on a published outage: it began as planned."""
    if step.before == OutageState.PUBLISHED:
        step.obj.actual_start = step.obj.planned_start


def stamp_restoration(step: OutageStep) -> None:
    step.obj.actual_end = step.payload["at"]
    step.obj.restore_note = (step.note or "")[:300]
    step.obj.refresh_window()


def set_estimate(step: OutageStep) -> None:
    step.obj.estimated_end = step.payload["estimated_end"]
    step.obj.refresh_window()


def replace_fault_scope(step: OutageStep) -> None:
    """The declared scope and the affected customers become the new ones. Who leaves is dropped,
    after the customers among them who were told of the outage are noted (``found["left_told"]``:
    they hear it does not concern them). ``found["changed"]``: anything changed at all."""
    outage, p = step.obj, step.payload
    before = (
        outage.reason,
        outage.estimated_end,
        set(outage.feeders.values_list("id", flat=True)),
        set(outage.transformer_areas.values_list("id", flat=True)),
    )
    if p.get("reason") is not None and p["reason"].strip():
        outage.reason = p["reason"].strip()[:200]
    if p.get("estimated_end") is not None:
        outage.estimated_end = p["estimated_end"]
    had = set(OutageArea.objects.filter(outage=outage).values_list("transformer_area_id", flat=True))
    step.found["left_told"] = told_customers(outage, had - {a.pk for a in p["expanded"]})
    set_declared_scope(outage, p["feeders"], p["areas"])
    step.found["change"] = materialize(outage, p["expanded"])
    after = (outage.reason, outage.estimated_end, {f.pk for f in p["feeders"]}, {a.pk for a in p["areas"]})
    step.found["changed"] = after != before or any(step.found["change"].values())
    outage.refresh_window()


def take_over_source_scope(step: OutageStep) -> None:
    """The outage merged into takes the scope and customers of this one; what this one already did
    for a customer (notice queued, phone call) counts there, so nobody is told twice."""
    source, into = step.obj, step.payload["into"]
    feeders = sorted({*into.feeders.all(), *source.feeders.all()}, key=lambda f: f.pk)
    areas = sorted({*into.transformer_areas.all(), *source.transformer_areas.all()}, key=lambda a: a.pk)
    set_declared_scope(into, feeders, areas)
    step.found["change"] = materialize(into, expand_areas(feeders, areas))
    carry_notice_marks(source, into)
    if source.actual_start and (into.actual_start is None or source.actual_start < into.actual_start):
        into.actual_start = source.actual_start
    into.refresh_window()


def carry_notice_marks(source: Outage, into: Outage) -> None:
    """What ``source`` already did for a customer counts for ``into``: notice queued, phone call."""
    same = OutageCustomer.objects.filter(outage=source, customer_id=OuterRef("customer_id"))
    rows = OutageCustomer.objects.filter(outage=into)
    rows.filter(notice_queued_at__isnull=True).update(
        notice_queued_at=Subquery(same.values("notice_queued_at")[:1])
    )
    rows.filter(phoned_at__isnull=True).update(
        phoned_at=Subquery(same.values("phoned_at")[:1]),
        phoned_by=Subquery(same.values("phoned_by")[:1]),
        phone_note=Coalesce(Subquery(same.values("phone_note")[:1]), Value("")),
    )


def record_phone_call(step: OutageStep) -> None:
    row = step.found["row"]
    row.phoned_at = step.payload.get("at") or step.now
    row.phoned_by = user_of(step.actor)
    row.phone_note = (step.note or "")[:200]


# --- follow-ups (after the outage is saved; the history row records what they queued) ----------


def queue_customer_notices(step: OutageStep) -> None:
    step.found["queued"] = queue_or_defer(step.obj, Purpose.NOTICE)


def tell_customers_of_scope_change(step: OutageStep) -> None:
    """The scope of a fault outage changed: each customer it concerns gets one message — those
    told of it a correction (still in it) or a withdrawal (no longer in it), newcomers the notice
    (``notices.queue_scope_change``). The same scope again sends nothing."""
    change = step.found["change"]
    if not (change["areas_added"] or change["areas_removed"]):
        step.found.update(queued=0, told={})
        return
    outage = step.obj
    number = OutageEvent.objects.filter(outage=outage, action=step.transition.history_action).count() + 1
    told = queue_scope_change(outage, number, step.found["left_told"])
    step.found.update(queued=sum(told.values()), told=told)


def tell_customers_of_cancellation(step: OutageStep) -> None:
    """Only customers already told (the outage was published) hear it is cancelled."""
    told = step.before == OutageState.PUBLISHED
    step.found["queued"] = queue_or_defer(step.obj, Purpose.CANCELLED) if told else 0


def queue_merge_target_notices(step: OutageStep) -> None:
    """Customers who joined the outage merged into (and were not told of this one) hear of it."""
    step.found["queued"] = queue_or_defer(step.payload["into"], Purpose.NOTICE)


def queue_restoration_notices(step: OutageStep) -> None:
    step.found["queued"] = queue_or_defer(step.obj, Purpose.RESTORED)
