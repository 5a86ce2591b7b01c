"""Running deadlines of orders: start, meet, pause/resume, and the three warning levels.

Warnings are found two ways: each deadline schedules a task at its next warning time (Tasks
API ``run_after``), and ``raise_due_warnings`` (``gridcare check-deadlines``) sweeps every
deadline whose next warning time has passed. Both go through ``_raise`` which moves a deadline
from level L-1 to L with a conditional UPDATE, so a warning is never raised twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable

from django.db import connection, transaction
from django.db.models import F

from gridcare.core import clock

from . import policies
from .escalation import ORDER_FIELDS, BulkRecipients, outgoing, warning_text
from .models import Deadline, Milestone, OrderType, TimeLimitPolicy, WorkOrder, WorkOrderEvent

log = logging.getLogger(__name__)

# Which action meets which milestone.
MET_BY = {
    "dispatch": {Milestone.DISPATCH},
    "arrive": {Milestone.ARRIVE, Milestone.DISPATCH},
    "contact": {Milestone.CONTACT},
    "reply": {Milestone.REPLY, Milestone.RESTORE, Milestone.CONTACT, Milestone.ARRIVE, Milestone.DISPATCH},
}


def _next_warning(deadline: Deadline) -> dt.datetime | None:
    times = policies.warning_times(deadline.policy, deadline.started_at, deadline.due_at)
    return times[deadline.warning_level] if deadline.warning_level < 3 else None


def start(order: WorkOrder, starts_on: str, at: dt.datetime) -> list[Deadline]:
    created = []
    for policy in policies.applicable_policies(order, starts_on):
        due = policies.due_at(policy, at)
        deadline = Deadline(
            order=order,
            milestone=policy.milestone,
            policy=policy,
            started_at=at,
            due_at=due.at,
            provisional=due.provisional,
        )
        deadline.next_warning_at = _next_warning(deadline)
        created.append(deadline)
    Deadline.objects.bulk_create(created)
    # One bulk write of the warning checks in this transaction, rather than one enqueue per deadline.
    later = [(d.pk, d.next_warning_at) for d in created if d.pk is not None and d.next_warning_at is not None]
    if later:
        from .tasks import schedule_checks_with_commit

        schedule_checks_with_commit(later)
    return created


def schedule(deadline: Deadline) -> None:
    """Ask the worker to look at this deadline when its next warning falls due."""
    if deadline.next_warning_at is None or deadline.pk is None:
        return
    from .tasks import check_deadline

    when = deadline.next_warning_at
    pk = deadline.pk
    transaction.on_commit(lambda: check_deadline.using(run_after=when).enqueue(pk))


def meet(order: WorkOrder, action: str, at: dt.datetime) -> None:
    milestones = MET_BY.get(action)
    if milestones:
        Deadline.objects.filter(order=order, milestone__in=milestones, met_at__isnull=True).update(
            met_at=at, paused_at=None, next_warning_at=None
        )


def close_all(order: WorkOrder, at: dt.datetime) -> None:
    Deadline.objects.filter(order=order, met_at__isnull=True).update(
        met_at=at, paused_at=None, next_warning_at=None
    )


def pause(order: WorkOrder, at: dt.datetime) -> int:
    """Suspension stops the clock only where the policy allows it."""
    return Deadline.objects.filter(
        order=order, met_at__isnull=True, paused_at__isnull=True, policy__pauses_when_suspended=True
    ).update(paused_at=at)


def resume(order: WorkOrder, at: dt.datetime) -> None:
    """Push paused deadlines (and their warning times) forward by the time spent suspended."""
    for deadline in Deadline.objects.filter(
        order=order, met_at__isnull=True, paused_at__isnull=False
    ).select_related("policy"):
        pause = at - deadline.paused_at
        deadline.started_at += pause
        deadline.due_at += pause
        deadline.paused_at = None
        deadline.next_warning_at = _next_warning(deadline)
        deadline.save(update_fields=["started_at", "due_at", "paused_at", "next_warning_at"])
        schedule(deadline)


def _raise(deadline: Deadline, now: dt.datetime) -> int:
    """Raise every warning level of ``deadline`` that is due; returns how many were raised."""
    from .escalation import notify_warning

    raised = 0
    times = policies.warning_times(deadline.policy, deadline.started_at, deadline.due_at)
    while deadline.warning_level < 3 and times[deadline.warning_level] <= now:
        level = deadline.warning_level + 1
        following = times[level] if level < 3 else None
        won = Deadline.objects.filter(
            pk=deadline.pk, warning_level=level - 1, met_at__isnull=True, paused_at__isnull=True
        ).update(warning_level=level, next_warning_at=following)
        if not won:
            break  # someone else raised it, or it was met meanwhile
        deadline.warning_level = level
        WorkOrder.objects.filter(pk=deadline.order_id, warning_level__lt=level).update(warning_level=level)
        WorkOrderEvent.objects.create(
            order_id=deadline.order_id,
            action="warning",
            at=now,
            from_state="",
            to_state="",
            note=f"{deadline.get_milestone_display()}时限{'已超期' if level == 3 else '预警'}（{level}级）",
            data={"milestone": deadline.milestone, "level": level, "due_at": deadline.due_at.isoformat()},
        )
        notify_warning(deadline, level)
        raised += 1
    if raised and deadline.warning_level < 3:
        deadline.next_warning_at = times[deadline.warning_level]
        schedule(deadline)
    return raised


def check_one(deadline_id: int, now: dt.datetime | None = None) -> int:
    now = now or clock.now()
    with transaction.atomic():
        deadline = (
            Deadline.objects.select_related("policy", "order")
            .filter(pk=deadline_id, met_at__isnull=True, paused_at__isnull=True)
            .first()
        )
        if deadline is None:
            return 0
        return _raise(deadline, now)


def due_deadline_ids(now: dt.datetime, limit: int | None = None) -> Iterable[int]:
    qs = Deadline.objects.filter(
        met_at__isnull=True, paused_at__isnull=True, next_warning_at__isnull=False, next_warning_at__lte=now
    ).order_by("next_warning_at")
    ids = qs.values_list("id", flat=True)
    return ids[:limit] if limit else ids


def raise_due_warnings(now: dt.datetime | None = None, batch_size: int = 5000) -> int:
    """The reconciliation sweep: raise every due warning once. Returns how many were raised.

    Set-based: the due deadlines are read once through the partial index, then handled in
    batches, each one transaction of a fixed number of statements whatever its size — lock the
    batch's orders (in id order, as ``services.perform`` locks an order before its deadlines),
    lock and re-read the still-due deadlines (skipping any a ``check_deadline`` task holds),
    move each to its highest due level in one UPDATE, lift the orders' warning level, write the
    history rows and queue the notices with ``notify.enqueue_many`` (dedup keys as in
    ``escalation.notify_warning``), and schedule the next checks after commit. Rows are locked
    and re-checked before they change, so two sweeps (or a sweep and a task) never raise the
    same level twice.
    """
    now = now or clock.now()
    due = list(
        Deadline.objects.filter(
            met_at__isnull=True,
            paused_at__isnull=True,
            next_warning_at__isnull=False,
            next_warning_at__lte=now,
        )
        .order_by("next_warning_at", "id")
        .values_list("id", "order_id")
    )
    recipients = BulkRecipients()
    policy_cache: dict[int, TimeLimitPolicy] = {}
    total = 0
    for start_at in range(0, len(due), batch_size):
        total += _raise_batch(due[start_at : start_at + batch_size], now, recipients, policy_cache)
    return total


def _raise_batch(
    batch: list[tuple[int, int]],
    now: dt.datetime,
    recipients: BulkRecipients,
    policy_cache: dict[int, TimeLimitPolicy],
) -> int:
    from gridcare.notify import services as notify

    with transaction.atomic():
        order_ids = sorted({order_id for _pk, order_id in batch})
        # Lock the orders first, in id order: actions lock an order and then its deadlines, and
        # two sweeps take the same orders in the same order, so nobody waits in a circle.
        locked = list(
            WorkOrder.objects.filter(pk__in=order_ids)
            .order_by("pk")
            .select_for_update()
            .values_list("pk", flat=True)
        )
        rows = list(
            Deadline.objects.filter(
                pk__in=[pk for pk, _order_id in batch],
                order_id__in=locked,
                met_at__isnull=True,
                paused_at__isnull=True,
                next_warning_at__isnull=False,
                next_warning_at__lte=now,
            )
            .order_by("due_at", "id")
            .select_for_update(skip_locked=True)
            .values_list("id", "order_id", "milestone", "policy_id", "warning_level", "started_at", "due_at")
        )
        missing = {r[3] for r in rows} - policy_cache.keys()
        if missing:
            policy_cache.update((p.pk, p) for p in TimeLimitPolicy.objects.filter(pk__in=missing))

        # (deadline id, order id, milestone, due_at, old level, new level, next warning time)
        raised = []
        for pk, order_id, milestone, policy_id, level, started_at, due_at in rows:
            times = policies.warning_times(policy_cache[policy_id], started_at, due_at)
            new_level = level
            while new_level < 3 and times[new_level] <= now:
                new_level += 1
            if new_level > level:
                following = times[new_level] if new_level < 3 else None
                raised.append((pk, order_id, milestone, due_at, level, new_level, following))
        if not raised:
            return 0
        _move_levels(raised)

        top_level: dict[int, int] = {}
        for _pk, order_id, _m, _d, _old, new_level, _n in raised:
            top_level[order_id] = max(top_level.get(order_id, 0), new_level)
        for level in (1, 2, 3):
            ids = [order_id for order_id, top in top_level.items() if top == level]
            if ids:
                WorkOrder.objects.filter(pk__in=ids, warning_level__lt=level).update(warning_level=level)

        orders = {o["id"]: o for o in WorkOrder.objects.filter(pk__in=list(top_level)).values(*ORDER_FIELDS)}
        recipients.load(list(orders.values()))
        events = []
        messages = []
        # Labels are lazy translations: resolve each once per batch, not once per message.
        milestone_labels = {m.value: str(m.label) for m in Milestone}
        type_labels = {t.value: str(t.label) for t in OrderType}
        for pk, order_id, milestone, due_at, old_level, new_level, _n in raised:
            order = orders[order_id]
            milestone_label = milestone_labels[milestone]
            type_label = type_labels[order["order_type"]]
            for level in range(old_level + 1, new_level + 1):
                events.append(
                    WorkOrderEvent(
                        order_id=order_id,
                        action="warning",
                        at=now,
                        from_state="",
                        to_state="",
                        note=f"{milestone_label}时限{'已超期' if level == 3 else '预警'}（{level}级）",
                        data={"milestone": milestone, "level": level, "due_at": due_at.isoformat()},
                    )
                )
                subject, body = warning_text(order["number"], type_label, milestone_label, due_at, level)
                messages.extend(
                    outgoing(
                        order["number"],
                        recipients.tier_recipients(order, level),
                        subject,
                        body,
                        dedup=f"warning:{pk}:{level}",
                    )
                )
        WorkOrderEvent.objects.bulk_create(events, batch_size=2000)
        notify.enqueue_many(messages)
        later = [(pk, following) for pk, *_rest, following in raised if following is not None]
        if later:
            from .tasks import schedule_checks

            transaction.on_commit(lambda: schedule_checks(later))
        return len(events)


def _move_levels(raised: list[tuple]) -> None:
    """Set each raised deadline's level and next warning time (rows are locked by the caller)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE workorders_deadline AS d
                   SET warning_level = v.new_level, next_warning_at = v.following
                  FROM (SELECT unnest(%s::bigint[]) AS id, unnest(%s::int[]) AS old_level,
                               unnest(%s::int[]) AS new_level, unnest(%s::timestamptz[]) AS following) AS v
                 WHERE d.id = v.id AND d.warning_level = v.old_level
                """,
                [
                    [r[0] for r in raised],
                    [r[4] for r in raised],
                    [r[5] for r in raised],
                    [r[6] for r in raised],
                ],
            )
        return
    objs = [Deadline(pk=r[0], warning_level=r[5], next_warning_at=r[6]) for r in raised]
    Deadline.objects.bulk_update(objs, ["warning_level", "next_warning_at"], batch_size=500)


def bump_order_warning(order: WorkOrder) -> None:
    WorkOrder.objects.filter(pk=order.pk, warning_level__lt=3).update(warning_level=F("warning_level") + 1)
