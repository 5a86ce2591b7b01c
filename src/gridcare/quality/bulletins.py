"""督办通报 ("1234"): twice a day (``BulletinSetting.times``) a bulletin per unit — its overdue and
near-due orders with the person responsible, the orders urged and escalated, the warnings raised
since the last bulletin, and the complaint hot spots — kept as issued, sent to the unit's leaders
through the outbox, readable and exportable by those in scope (issue 17, item 4)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Min, Q

from gridcare.core.clock import LOCAL_TZ, local
from gridcare.core.clock import now as clock_now
from gridcare.notify.services import tell_staff
from gridcare.org.models import Role, RoleAssignment, Unit
from gridcare.workorders.models import OPEN_STATES, Deadline, OrderType, WorkOrder, WorkOrderEvent

from . import metrics
from .models import Bulletin, BulletinSetting

ROWS_PER_LIST = 200  # the most orders one list of a bulletin names (the counts are always whole)


def slots_due(now: dt.datetime, setting: BulletinSetting) -> list[dt.datetime]:
    """Today's slots (Asia/Shanghai) that have come, latest last."""
    today = local(now).date()
    return [
        slot for t in setting.slot_times() if (slot := dt.datetime.combine(today, t, tzinfo=LOCAL_TZ)) <= now
    ]


def _previous_slot(slot: dt.datetime, setting: BulletinSetting) -> dt.datetime:
    """The slot before ``slot`` (yesterday's last when ``slot`` is today's first)."""
    times = setting.slot_times() or [slot.timetz()]
    day = local(slot).date()
    candidates = [
        dt.datetime.combine(d, t, tzinfo=LOCAL_TZ) for d in (day - dt.timedelta(days=1), day) for t in times
    ]
    earlier = [c for c in candidates if c < slot]
    return max(earlier) if earlier else slot - dt.timedelta(hours=12)


def _order_row(o: WorkOrder, due: dict[int, dt.datetime], now: dt.datetime) -> dict[str, Any]:
    due_at = due.get(o.pk)
    return {
        "number": o.number,
        "type": str(OrderType(o.order_type).label),
        "state": o.get_state_display(),
        "unit": o.assigned_unit.name
        if o.assigned_unit
        else (o.accepted_unit.name if o.accepted_unit else ""),
        "responsible": (o.assignee.display_name if o.assignee else ""),
        "due_at": local(due_at).strftime("%Y-%m-%d %H:%M") if due_at else "",
        "overdue_hours": round((now - due_at).total_seconds() / 3600, 1) if due_at and due_at < now else 0,
        "urged": o.urge_count,
        "tier": o.escalation_tier,
    }


def compose(unit: Unit, slot: dt.datetime, setting: BulletinSetting, now: dt.datetime | None = None) -> dict:
    """What ``unit``'s bulletin of ``slot`` says, from the rows as they are now."""
    now = now or clock_now()
    orders = metrics.unit_orders(unit)
    open_orders = orders.filter(state__in=OPEN_STATES).select_related(
        "assignee", "assigned_unit", "accepted_unit"
    )
    counts = open_orders.aggregate(
        **metrics.warning_counts(),
        urged=Count("id", filter=Q(urge_count__gt=0)),
        escalated=Count("id", filter=Q(escalation_tier__gt=0)),
    )

    def listed(qs) -> list[dict[str, Any]]:
        chosen = list(qs.order_by("warning_level", "created_at")[:ROWS_PER_LIST])
        due = dict(
            Deadline.objects.filter(order__in=chosen, met_at__isnull=True)
            .values("order_id")
            .annotate(first=Min("due_at"))
            .values_list("order_id", "first")
        )
        rows = [_order_row(o, due, now) for o in chosen]
        return sorted(rows, key=lambda r: (-r["overdue_hours"], r["due_at"] or "9999"))

    since = _previous_slot(slot, setting)
    warnings = WorkOrderEvent.objects.filter(
        order__in=orders, action="warning", at__gt=since, at__lte=slot
    ).count()
    hot_from = now - dt.timedelta(days=setting.hot_spot_days)
    complaints = orders.filter(order_type=OrderType.COMPLAINT, created_at__gte=hot_from).exclude(
        state__in=["merged", "cancelled"]
    )
    by_class = Counter(complaints.values_list("complaint_class", flat=True))
    hot_spots = metrics.complaint_hot_spots(unit, hot_from, minimum=setting.hot_spot_min)
    return {
        "unit": unit.name,
        "slot": local(slot).strftime("%Y-%m-%d %H:%M"),
        "since": local(since).strftime("%Y-%m-%d %H:%M"),
        "counts": {**counts, "warnings": warnings, "complaints": complaints.count()},
        "overdue": listed(open_orders.filter(warning_level__gte=3)),
        "near_due": listed(open_orders.filter(warning_level__in=[1, 2])),
        "urged": listed(open_orders.filter(urge_count__gt=0)),
        "escalated": listed(open_orders.filter(escalation_tier__gt=0)),
        "hot_spots": hot_spots,
        "complaint_classes": {k or "-": v for k, v in by_class.most_common()},
    }


def leaders(unit: Unit) -> list[Any]:
    """The unit's leaders (管理人员 assigned at the unit itself), active accounts."""
    return [
        a.user
        for a in RoleAssignment.objects.filter(
            unit=unit, role=Role.MANAGER, user__is_active=True
        ).select_related("user")
    ]


def issue(
    unit: Unit, slot: dt.datetime, setting: BulletinSetting, now: dt.datetime | None = None
) -> Bulletin | None:
    """Issue ``unit``'s bulletin of ``slot`` once (None when it already was) and tell its leaders."""
    now = now or clock_now()
    if Bulletin.objects.filter(unit=unit, slot_at=slot).exists():
        return None
    data = compose(unit, slot, setting, now)
    number = f"DB{local(slot):%Y%m%d%H%M}-{unit.code}"
    try:
        with transaction.atomic():
            bulletin = Bulletin.objects.create(
                number=number, unit=unit, slot_at=slot, issued_at=now, data=data
            )
            c = data["counts"]
            bulletin.recipients = tell_staff(
                leaders(unit),
                subject=f"督办通报 {data['slot']} {unit.name}",
                body=(
                    f"在途{c['open']}件，超期{c['overdue']}件，临期{c['near']}件，"
                    f"被催办{c['urged']}件，已升级{c['escalated']}件，新增预警{c['warnings']}次。"
                ),
                about=("quality.bulletin", str(bulletin.pk)),
                dedup=f"bulletin:{bulletin.number}",
                sms=False,
            )
            bulletin.save(update_fields=["recipients"])
    except IntegrityError:  # a racing worker issued it first
        return None
    return bulletin


def issue_due(now: dt.datetime | None = None) -> int:
    """Issue every bulletin whose slot has come today and that is not issued yet (the latest slot
    only: a worker that was down all morning does not send the morning's and the afternoon's
    bulletins at once). Returns how many were issued."""
    now = now or clock_now()
    setting = BulletinSetting.current()
    slots = slots_due(now, setting)
    if not slots:
        return 0
    slot = slots[-1]
    issued = 0
    for unit in Unit.objects.filter(kind__in=setting.kinds(), is_active=True).order_by("path"):
        if issue(unit, slot, setting, now) is not None:
            issued += 1
    return issued
