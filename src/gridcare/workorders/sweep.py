"""The reconciliation sweep of deadlines (``raise_due_warnings``, ``gridcare check-deadlines``):
every due warning a scheduled check may have missed, raised set-based in large batches — see
``raise_due_warnings`` for the steps, ``deadlines`` for a deadline's life and its one-by-one check.
"""

from __future__ import annotations

import datetime as dt
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeAlias

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction

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
    outgoing,
    warning_dedup,
    warning_event,
    warning_text,
)
from .models import (
    Deadline,
    Milestone,
    OrderType,
    TimeLimitPolicy,
    WorkOrder,
    WorkOrderEvent,
)

log = logging.getLogger(__name__)

# Which action meets which milestone.
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
# A row read by ``_lock_and_read`` (``_ROW_FIELDS``), a raised deadline (its row, the new level
# and the next warning time), a history row (``_EVENT_COLUMNS``), an outbox row
# (``notify.prepare_many``) and an order as ``ORDER_FIELDS``.
Row: TypeAlias = tuple[Any, ...]
Raised: TypeAlias = tuple[Row, int, dt.datetime | None]
EventRow: TypeAlias = tuple[Any, ...]
OutboxRow: TypeAlias = tuple[Any, ...]
OrderRow: TypeAlias = dict[str, Any]

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
            raised: list[Raised] = []
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
            events: list[EventRow] = []
            messages: list[OutboxRow] = []
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

    def _lock_and_read(self, ids: list[int]) -> list[Row]:
        if self.postgresql:
            with connection.cursor() as cursor:
                cursor.execute(_locking_select_sql(), [ids, self.now])
                found: list[Row] = cursor.fetchall()
                return found
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

    def _move(self, raised: list[Raised]) -> set[int]:
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

    def _orders(self, raised: list[Raised]) -> dict[int, OrderRow]:
        """The raised deadlines' orders as ``ORDER_FIELDS`` dicts, their recipients loaded."""
        orders: dict[int, OrderRow] = {}
        for row, _level, _following in raised:
            if row[1] not in orders:
                orders[row[1]] = dict(zip(ORDER_FIELDS, (row[1], *row[7:]), strict=True))
        self.recipients.load(list(orders.values()))
        return orders

    def _history_and_notices(
        self, raised: list[Raised], orders: dict[int, OrderRow], queued_at: dt.datetime
    ) -> list[tuple[list[EventRow], list[OutboxRow]]]:
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

    def _write_events(self, events: list[EventRow]) -> None:
        if self.postgresql:
            copy_rows(_EVENT, _EVENT_COLUMNS, events)
            return
        WorkOrderEvent.objects.bulk_create(
            [WorkOrderEvent(**dict(zip(_EVENT_COLUMNS, event, strict=True))) for event in events],
            batch_size=2000,
        )
