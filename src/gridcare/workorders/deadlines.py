"""Running deadlines of orders: start, meet, pause/resume, and the three warning levels.

Warnings are found two ways: each deadline schedules a task at its next warning time (Tasks
API ``run_after``), and ``raise_due_warnings`` (``gridcare check-deadlines``) sweeps every
deadline whose next warning time has passed. Both lock the order first (as actions do), and
both move a deadline's level with a conditional UPDATE (``WHERE warning_level = <as read>``), so
a warning is never raised twice: the task one deadline at a time (``_raise``), the sweep in
bulk. A deadline found with several levels due (an order already overdue when first checked)
moves straight to the highest: the levels passed over are written to the history as skipped,
and only the highest is notified — once per order, level and person.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import Q

from gridcare.core import clock
from gridcare.core.bulk import copy_rows
from gridcare.customers.models import Customer, TransformerArea
from gridcare.notify import bulk
from gridcare.notify import services as notify

from . import policies
from .checks import schedule_checks_with_commit
from .escalation import (
    ORDER_FIELDS,
    BulkRecipients,
    notify_warning,
    outgoing,
    warning_dedup,
    warning_event,
    warning_text,
)
from .models import (
    Deadline,
    DurationUnit,
    Milestone,
    OrderType,
    TimeLimitPolicy,
    WorkOrder,
    WorkOrderEvent,
)

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
    created = policies.new_deadlines(order, starts_on, at)
    Deadline.objects.bulk_create(created)
    # One bulk write of the warning checks in this transaction, rather than one enqueue per deadline.
    later = [(d.pk, d.next_warning_at) for d in created if d.pk is not None and d.next_warning_at is not None]
    if later:
        schedule_checks_with_commit(later)
    return created


def schedule(deadline: Deadline) -> None:
    """Ask the worker to look at this deadline when its next warning falls due."""
    if deadline.next_warning_at is not None and deadline.pk is not None:
        schedule_checks_with_commit([(deadline.pk, deadline.next_warning_at)])


def recompute_for_calendar(*, years: Iterable[int], **_signal: object) -> int:
    """Holidays of ``years`` were entered or changed (``core.calendar.calendar_changed``): every
    running deadline counted in working days or hours that is provisional or whose span touches
    those years is counted again, and its next warning rescheduled. Returns how many moved."""
    years = set(years)
    if not years:
        return 0
    # A deadline counts working time over every year its span touches: one that started in a
    # changed year (or before it) and ends in it (or after it), or one still counted provisionally.
    touched = Q(provisional=True) | Q(started_at__year__lte=max(years), due_at__year__gte=min(years))
    running = Deadline.objects.filter(
        touched,
        met_at__isnull=True,
        policy__unit__in=(DurationUnit.WORKING_DAYS, DurationUnit.WORKING_HOURS),
    ).select_related("policy")
    moved = 0
    with transaction.atomic():
        # Orders first, in id order, as actions, check_one and the sweep lock them: whoever changes
        # a running deadline holds its order, so nobody waits in a circle.
        orders = running.values("order_id")
        list(
            WorkOrder.objects.filter(pk__in=orders).order_by("pk").select_for_update(no_key=True).values("pk")
        )
        for deadline in running.select_for_update(of=("self",)):
            due = policies.due_at(deadline.policy, deadline.started_at)
            if due.at == deadline.due_at and due.provisional == deadline.provisional:
                continue
            deadline.due_at, deadline.provisional = due.at, due.provisional
            deadline.next_warning_at = _next_warning(deadline)
            deadline.save(update_fields=["due_at", "provisional", "next_warning_at"])
            schedule(deadline)
            moved += 1
    return moved


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
    """Push paused deadlines (and their warning times) forward by the time spent suspended,
    measured in each policy's own unit (``policies.after_suspension``): a working-day limit
    suspended over a weekend or a holiday loses only the working days it was suspended."""
    for deadline in Deadline.objects.filter(
        order=order, met_at__isnull=True, paused_at__isnull=False
    ).select_related("policy"):
        started, due = policies.after_suspension(deadline.policy, deadline.started_at, deadline.paused_at, at)
        deadline.started_at, deadline.due_at, deadline.provisional = started, due.at, due.provisional
        deadline.paused_at = None
        deadline.next_warning_at = _next_warning(deadline)
        deadline.save(update_fields=["started_at", "due_at", "provisional", "paused_at", "next_warning_at"])
        schedule(deadline)


def _raise(deadline: Deadline, now: dt.datetime) -> int:
    """Raise ``deadline`` to the highest warning level that is due; returns how many levels it
    moved. Lower levels passed over on the way (an order already overdue when first checked)
    are recorded in the history as skipped; only the highest one is notified."""
    times = policies.warning_times(deadline.policy, deadline.started_at, deadline.due_at)
    old_level = level = deadline.warning_level
    while level < 3 and times[level] <= now:
        level += 1
    if level == old_level:
        return 0
    following = times[level] if level < 3 else None
    won = Deadline.objects.filter(
        pk=deadline.pk, warning_level=old_level, met_at__isnull=True, paused_at__isnull=True
    ).update(warning_level=level, next_warning_at=following)
    if not won:
        return 0  # someone else raised it, or it was met meanwhile
    deadline.warning_level, deadline.next_warning_at = level, following
    WorkOrder.objects.filter(pk=deadline.order_id, warning_level__lt=level).update(warning_level=level)
    label = deadline.get_milestone_display()
    WorkOrderEvent.objects.bulk_create(
        [
            WorkOrderEvent(
                order_id=deadline.order_id,
                action="warning",
                at=now,
                from_state="",
                to_state="",
                **dict(
                    zip(
                        ("note", "data"),
                        warning_event(
                            deadline.milestone, label, raised, deadline.due_at, skipped=raised < level
                        ),
                        strict=True,
                    )
                ),
            )
            for raised in range(old_level + 1, level + 1)
        ]
    )
    notify_warning(deadline, level)
    if following is not None:
        schedule(deadline)
    return level - old_level


def check_one(deadline_id: int, now: dt.datetime | None = None) -> int:
    now = now or clock.now()
    with transaction.atomic():
        running = Deadline.objects.filter(pk=deadline_id, met_at__isnull=True, paused_at__isnull=True)
        order_id = running.values_list("order_id", flat=True).first()
        if order_id is None:
            return 0
        # Lock the order before touching its deadline, as actions and the sweep do: a task that
        # held the deadline while waiting for the order would deadlock with an action that holds
        # the order and meets the deadline.
        WorkOrder.objects.select_for_update(no_key=True).filter(pk=order_id).values_list("pk").first()
        deadline = (
            Deadline.objects.select_related("policy", "order")
            .filter(pk=deadline_id, met_at__isnull=True, paused_at__isnull=True)
            .first()
        )
        if deadline is None:
            return 0
        return _raise(deadline, now)


SWEEP_BATCH = 20_000


def raise_due_warnings(now: dt.datetime | None = None, batch_size: int = SWEEP_BATCH) -> int:
    """The reconciliation sweep: raise every due warning once. Returns how many were raised.

    Set-based: the due deadlines are read once through the partial index, then handled in
    batches, each one transaction of a fixed number of statements whatever its size:

    1. one SELECT locks the batch's orders (``FOR NO KEY UPDATE``, in id order) and reads the
       still-due deadlines with what the notices need. Whoever changes a running deadline holds
       its order's lock first (actions in ``services.perform``, ``check_one``, the sweep), so
       the deadlines of a locked order stay as read, and nobody waits in a circle: two sweeps
       take the same orders in the same order;
    2. each deadline's highest due level is computed (``policies.warning_times``);
    3. one conditional UPDATE moves the deadlines (``WHERE warning_level = <the level read>``,
       ``RETURNING`` the winners) and lifts their orders' warning level;
    4. the history rows (one per raised level, those passed over marked skipped) go in by COPY,
       the notice of the highest level raised through the notify outbox
       (``notify.enqueue_prepared``, COPY; one per order, level and person, dedup keys as in
       ``escalation.notify_warning``), and the next checks by COPY into the task table — all in
       the same transaction.

    The orders are locked and the update is conditional besides, so two sweeps (or a sweep and
    a task) never raise the same level twice. The outbox's planner statistics are refreshed once,
    at the end. Other databases than PostgreSQL (SQLite in tests) take the same steps through
    the ORM.
    """
    now = now or clock.now()
    due = _due_deadlines(now)
    sweep = _Sweep(now)
    total = 0
    for start_at in range(0, len(due), batch_size):
        total += sweep.raise_batch(due[start_at : start_at + batch_size])
    if sweep.queued >= ANALYZE_OUTBOX_AFTER:
        bulk.refresh_statistics()
    return total


# After a sweep that queued this many messages, refresh the outbox's planner statistics once.
ANALYZE_OUTBOX_AFTER = 5000


def _due_deadlines(now: dt.datetime) -> list[int]:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id FROM {_DEADLINE} WHERE met_at IS NULL AND paused_at IS NULL "  # noqa: S608
                "AND next_warning_at IS NOT NULL AND next_warning_at <= %s ORDER BY next_warning_at, id",
                [now],
            )
            return [row[0] for row in cursor.fetchall()]
    return list(
        Deadline.objects.filter(
            met_at__isnull=True,
            paused_at__isnull=True,
            next_warning_at__isnull=False,
            next_warning_at__lte=now,
        )
        .order_by("next_warning_at", "id")
        .values_list("id", flat=True)
    )


_DEADLINE = Deadline._meta.db_table
_ORDER = WorkOrder._meta.db_table
_EVENT = WorkOrderEvent._meta.db_table

# What the sweep reads of each due deadline and its order (order_id and the last eleven are
# ``ORDER_FIELDS``).
_ROW_FIELDS = (
    "id",
    "order_id",
    "milestone",
    "policy_id",
    "warning_level",
    "started_at",
    "due_at",
    "order__number",
    "order__order_type",
    "order__customer_id",
    "order__customer__account_manager_id",
    "order__transformer_area_id",
    "order__transformer_area__grid_manager_id",
    "order__assignee_id",
    "order__assigned_unit_id",
    "order__accepted_unit_id",
    "order__customer__station_id",
    "order__transformer_area__station_id",
)


def _locking_select_sql() -> str:
    return f"""
        SELECT d.id, d.order_id, d.milestone, d.policy_id, d.warning_level, d.started_at, d.due_at,
               o.number, o.order_type, o.customer_id, c.account_manager_id, o.transformer_area_id,
               t.grid_manager_id, o.assignee_id, o.assigned_unit_id, o.accepted_unit_id,
               c.station_id, t.station_id
          FROM {_DEADLINE} d
          JOIN {_ORDER} o ON o.id = d.order_id
          LEFT JOIN {Customer._meta.db_table} c ON c.id = o.customer_id
          LEFT JOIN {TransformerArea._meta.db_table} t ON t.id = o.transformer_area_id
         WHERE d.id = ANY(%s) AND d.met_at IS NULL AND d.paused_at IS NULL
           AND d.next_warning_at IS NOT NULL AND d.next_warning_at <= %s
         ORDER BY o.id, d.id
           FOR NO KEY UPDATE OF o
    """  # noqa: S608 - table names come from the models


# Moves the deadlines by one conditional UPDATE, lifts their orders' warning level in the same
# statement, and answers the deadlines that moved.
_MOVE_SQL = f"""
    WITH moved AS (
        UPDATE {_DEADLINE} AS d
           SET warning_level = v.new_level, next_warning_at = v.following
          FROM unnest(%s::bigint[], %s::int[], %s::int[], %s::timestamptz[])
               AS v(id, old_level, new_level, following)
         WHERE d.id = v.id AND d.warning_level = v.old_level
           AND d.met_at IS NULL AND d.paused_at IS NULL
           AND d.id = ANY(%s::bigint[])  -- an index scan of the few rows, not a merge of them all
        RETURNING d.id, d.order_id, d.warning_level
    ), lifted AS (
        UPDATE {_ORDER} AS o SET warning_level = m.level
          FROM (SELECT order_id, MAX(warning_level) AS level FROM moved GROUP BY order_id) AS m
         WHERE o.id = m.order_id AND o.warning_level < m.level
    )
    SELECT id FROM moved
"""  # noqa: S608 - table names come from the models

_EVENT_COLUMNS = ("order_id", "action", "at", "from_state", "to_state", "note", "data")


class _Sweep:
    """State shared by the batches of one sweep: recipients, policies, labels, counters."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self.recipients = BulkRecipients()
        self.policies: dict[int, TimeLimitPolicy] = {}
        self.queued = 0
        # Labels are lazy translations: resolve each once per sweep, not once per message.
        self.milestone_labels = {m.value: str(m.label) for m in Milestone}
        self.type_labels = {t.value: str(t.label) for t in OrderType}
        self.postgresql = connection.vendor == "postgresql"

    def raise_batch(self, ids: list[int]) -> int:
        with transaction.atomic():
            rows = self._lock_and_read(ids)
            missing = {r[3] for r in rows} - self.policies.keys()
            if missing:
                self.policies.update((p.pk, p) for p in TimeLimitPolicy.objects.filter(pk__in=missing))
            now = self.now
            # (row, new level, next warning time) of each deadline with a level due
            raised = []
            for row in rows:
                level = row[4]
                times = policies.warning_times(self.policies[row[3]], row[5], row[6])
                new_level = level
                while new_level < 3 and times[new_level] <= now:
                    new_level += 1
                if new_level > level:
                    raised.append((row, new_level, times[new_level] if new_level < 3 else None))
            if not raised:
                return 0
            orders = self._orders(raised)
            # While the database moves the levels, a helper thread writes the history rows and
            # the notices of every raised level (plain Python, no database); those of a deadline
            # that lost the conditional update (none while the orders are locked) are dropped.
            with ThreadPoolExecutor(max_workers=1) as helper:
                written = helper.submit(self._history_and_notices, raised, orders, clock.now())
                won = self._move(raised)
                per_deadline = written.result()
            events: list[tuple] = []
            messages: list[tuple] = []
            for (row, _level, _following), (row_events, row_messages) in zip(
                raised, per_deadline, strict=True
            ):
                if row[0] in won:
                    events.extend(row_events)
                    messages.extend(row_messages)
            raised = [r for r in raised if r[0][0] in won]
            self._write_events(events)
            self.queued += notify.enqueue_prepared([messages], refresh_statistics=False, fresh_keys=True)
            later = [(row[0], following) for row, _level, following in raised if following is not None]
            if later:
                schedule_checks_with_commit(later)
            return len(events)

    def _lock_and_read(self, ids: list[int]) -> list[tuple]:
        if self.postgresql:
            with connection.cursor() as cursor:
                cursor.execute(_locking_select_sql(), [ids, self.now])
                return cursor.fetchall()
        # Other databases: lock the orders, in id order, then read their still-due deadlines.
        order_ids = sorted(set(Deadline.objects.filter(pk__in=ids).values_list("order_id", flat=True)))
        locked = list(
            WorkOrder.objects.filter(pk__in=order_ids)
            .order_by("pk")
            .select_for_update()
            .values_list("pk", flat=True)
        )
        return list(
            Deadline.objects.filter(
                pk__in=ids,
                order_id__in=locked,
                met_at__isnull=True,
                paused_at__isnull=True,
                next_warning_at__isnull=False,
                next_warning_at__lte=self.now,
            )
            .order_by("order_id", "id")
            .values_list(*_ROW_FIELDS)
        )

    def _move(self, raised: list[tuple]) -> set[int]:
        """Move each deadline to its new level if it is still at the level read; lift the orders."""
        if self.postgresql:
            with connection.cursor() as cursor:
                ids = [row[0] for row, _l, _f in raised]
                cursor.execute(
                    _MOVE_SQL,
                    [
                        ids,
                        [row[4] for row, _l, _f in raised],
                        [level for _row, level, _f in raised],
                        [following for _row, _l, following in raised],
                        ids,
                    ],
                )
                return {r[0] for r in cursor.fetchall()}
        won = set()
        top_level: dict[int, int] = {}
        for row, level, following in raised:
            if Deadline.objects.filter(
                pk=row[0], warning_level=row[4], met_at__isnull=True, paused_at__isnull=True
            ).update(warning_level=level, next_warning_at=following):
                won.add(row[0])
                top_level[row[1]] = max(top_level.get(row[1], 0), level)
        for level in (1, 2, 3):
            ids = [order_id for order_id, top in top_level.items() if top == level]
            if ids:
                WorkOrder.objects.filter(pk__in=ids, warning_level__lt=level).update(warning_level=level)
        return won

    def _orders(self, raised: list[tuple]) -> dict[int, dict]:
        """The raised deadlines' orders as ``ORDER_FIELDS`` dicts, their recipients loaded."""
        orders: dict[int, dict] = {}
        for row, _level, _following in raised:
            if row[1] not in orders:
                orders[row[1]] = dict(zip(ORDER_FIELDS, (row[1], *row[7:]), strict=True))
        self.recipients.load(list(orders.values()))
        return orders

    def _history_and_notices(
        self, raised: list[tuple], orders: dict[int, dict], queued_at: dt.datetime
    ) -> list[tuple[list, list]]:
        """For each raised deadline, its history rows (``_EVENT_COLUMNS``; the data as JSON text
        on PostgreSQL, for COPY) and the outbox rows of the notices of its raised levels
        (``notify.prepare_many``). No database access."""
        now = self.now
        encode = DjangoJSONEncoder().encode if self.postgresql else None
        notified: set[str] = set()
        result = []
        for row, new_level, _following in raised:
            pk, order_id, milestone, _policy, old_level, _started, due_at = row[:7]
            order = orders[order_id]
            milestone_label = self.milestone_labels[milestone]
            type_label = self.type_labels[order["order_type"]]
            events = []
            for level in range(old_level + 1, new_level + 1):
                note, data = warning_event(
                    milestone, milestone_label, level, due_at, skipped=level < new_level
                )
                events.append((order_id, "warning", now, "", "", note, encode(data) if encode else data))
            # Only the highest level raised is notified, once per order, level and person.
            dedup = warning_dedup(order_id, new_level)
            messages = []
            if dedup not in notified:
                notified.add(dedup)
                subject, body = warning_text(order["number"], type_label, milestone_label, due_at, new_level)
                messages = outgoing(
                    order["number"],
                    self.recipients.tier_recipients(order, new_level),
                    subject,
                    body,
                    dedup=dedup,
                )
            result.append((events, notify.prepare_many(messages, queued_at)))
        return result

    def _write_events(self, events: list[tuple]) -> None:
        if self.postgresql:
            copy_rows(_EVENT, _EVENT_COLUMNS, events)
            return
        WorkOrderEvent.objects.bulk_create(
            [WorkOrderEvent(**dict(zip(_EVENT_COLUMNS, event, strict=True))) for event in events],
            batch_size=2000,
        )
