"""The node-deadline sweep (``gridcare.applications.tasks.sweep_node_deadlines``, run by the worker
every ``GRIDCARE_APPLICATION_SWEEP_SECONDS``): every running node clock whose next warning time
has passed moves to its highest due level — once — with one history row per level passed (the
lower ones marked skipped) and one notice to the owner unit of the highest.

Applications are locked in id order before their nodes, as every action locks them; so within a
batch no node can change under the sweep, and a batch's nodes are moved by one conditional
UPDATE (``warning_level`` still the level read: a second sweep that waited for the locks finds
nothing left to raise), their history rows by one INSERT and their notices by one outbox insert
(recipients read once per batch). Deadlines are swept by their indexed next warning time (never
as far-future queued jobs).
"""

from __future__ import annotations

import datetime as dt

from django.db import connection, transaction

from gridcare.core import clock
from gridcare.notify import services as notify

from . import clocks, notices
from .models import Application, ApplicationEvent, ApplicationNode, NodeKind

BATCH = 500


def _levels(node: ApplicationNode, now: dt.datetime) -> tuple[int, dt.datetime | None]:
    times = clocks.warning_times(node)
    level = node.warning_level
    while level < 3 and times[level] <= now:
        level += 1
    return level, (times[level] if level < 3 else None)


def _move(moves: list[tuple[ApplicationNode, int, dt.datetime | None]]) -> set[int]:
    """Write the new levels of ``moves`` where the level is still the one read; the ids won."""
    if not moves:
        return set()
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                f"""UPDATE {ApplicationNode._meta.db_table} AS n
                       SET warning_level = m.level, next_warning_at = m.next_at
                      FROM unnest(%s::bigint[], %s::smallint[], %s::smallint[], %s::timestamptz[])
                           AS m(id, old_level, level, next_at)
                     WHERE n.id = m.id AND n.warning_level = m.old_level
                       AND n.finished_at IS NULL AND n.paused_at IS NULL
                 RETURNING n.id""",  # noqa: S608 - the table name is the model's
                [
                    [n.pk for n, _l, _t in moves],
                    [n.warning_level for n, _l, _t in moves],
                    [level for _n, level, _t in moves],
                    [at for _n, _l, at in moves],
                ],
            )
            return {row[0] for row in cursor.fetchall()}
    won = set()
    for node, level, following in moves:
        if ApplicationNode.objects.filter(
            pk=node.pk, warning_level=node.warning_level, finished_at__isnull=True, paused_at__isnull=True
        ).update(warning_level=level, next_warning_at=following):
            won.add(node.pk)
    return won


def _sweep_batch(nodes: list[ApplicationNode], now: dt.datetime) -> int:
    moves = []
    for node in nodes:
        level, following = _levels(node, now)
        if level != node.warning_level:
            moves.append((node, level, following))
    won = _move(moves)
    events, items, moved = [], [], 0
    raised = [(node, level) for node, level, _t in moves if node.pk in won]
    recipients = notices.Recipients([node for node, _level in raised]) if raised else None
    labels = {value: str(label) for value, label in NodeKind.choices}
    for node, level in raised:
        old_level = node.warning_level
        label = labels.get(node.kind, node.kind)
        due = clock.local(node.due_at)
        events += [
            ApplicationEvent(
                application_id=node.application_id,
                node=node.kind,
                action="warning",
                at=now,
                note=f"{label}时限{'已超期' if r == 3 else '预警'}（{r}级）"
                + ("，已由更高级别预警取代，未单独通知" if r < level else ""),
                data={"level": r, "due_at": due, "skipped": r < level},
            )
            for r in range(old_level + 1, level + 1)
        ]
        moved += level - old_level
        node.warning_level = level
        assert recipients is not None
        people = recipients.of(node.application, node, level)
        items += notices.warning_items(node.application, node, level, people, label)
    ApplicationEvent.objects.bulk_create(events)
    if items:
        notify.enqueue_many(items)
    return moved


def raise_due_warnings(now: dt.datetime | None = None) -> int:
    """Raise every due node warning; returns how many levels moved."""
    now = now or clock.now()
    moved = 0
    while True:
        with transaction.atomic():
            due = ApplicationNode.objects.filter(
                next_warning_at__lte=now, finished_at__isnull=True, paused_at__isnull=True
            )
            ids = list(due.order_by("application_id").values_list("application_id", flat=True)[:BATCH])
            if not ids:
                return moved
            list(Application.objects.filter(pk__in=ids).order_by("pk").select_for_update().values_list("pk"))
            nodes = list(
                due.filter(application_id__in=ids).select_related(
                    "definition", "owner_unit", "application", "application__customer__account_manager"
                )
            )
            batch_moved = _sweep_batch(nodes, now)
            moved += batch_moved
            if len(ids) < BATCH or not batch_moved:
                return moved
