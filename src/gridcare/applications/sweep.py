"""The node-deadline sweep (``gridcare.applications.tasks.sweep_node_deadlines``, run by the worker
every ``GRIDCARE_APPLICATION_SWEEP_SECONDS``): every running node clock whose next warning time
has passed moves to its highest due level — once — with one history row per level passed (the
lower ones marked skipped) and one notice to the owner unit of the highest.

Set-based, in batches of ``BATCH`` applications, each one transaction of a fixed number of
statements whatever its size (as ``workorders.sweep``):

1. the batch's applications are locked in id order, as every action locks them, so within a
   batch no node can change under the sweep;
2. the still-due nodes are read as plain rows (no model instances) with what the notices need;
3. each node's highest due level is computed (``clocks.times_between``);
4. one conditional UPDATE moves them (``warning_level`` still the level read: a second sweep that
   waited for the locks finds nothing left to raise), ``RETURNING`` the winners;
5. the history rows go in by COPY and the notices through the outbox (``notify.enqueue_prepared``;
   recipients read once per batch, the wording translated once per sweep).

Deadlines are swept by their indexed next warning time (never as far-future queued jobs). Other
databases than PostgreSQL (SQLite in tests) take the same steps through the ORM.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction

from gridcare.core import clock
from gridcare.core.bulk import copy_rows
from gridcare.notify import services as notify

from . import clocks, notices
from .models import Application, ApplicationEvent, ApplicationNode

BATCH = 5000

# What the sweep reads of each due node (one tuple per node).
_FIELDS = (
    "id",
    "application_id",
    "kind",
    "seq",
    "warning_level",
    "counted_from",
    "due_at",
    "owner_unit_id",
    "owner_role",
    "definition__warning_fractions",
    "application__number",
    "application__customer__account_manager_id",
)
_ID, _APP, _KIND, _SEQ, _LEVEL, _FROM, _DUE, _UNIT, _ROLE, _FRACTIONS, _NUMBER, _MANAGER = range(12)

_EVENT_COLUMNS = ("application_id", "node", "action", "at", "from_state", "to_state", "note", "data")


def _move(moves: list[tuple[tuple[Any, ...], int, dt.datetime | None]]) -> set[int]:
    """Write the new levels of ``moves`` where the level is still the one read; the ids won."""
    if not moves:
        return set()
    if connection.vendor == "postgresql":
        ids = [row[_ID] for row, _l, _t in moves]
        with connection.cursor() as cursor:
            cursor.execute(
                f"""UPDATE {ApplicationNode._meta.db_table} AS n
                       SET warning_level = m.level, next_warning_at = m.next_at
                      FROM unnest(%s::bigint[], %s::smallint[], %s::smallint[], %s::timestamptz[])
                           AS m(id, old_level, level, next_at)
                     WHERE n.id = m.id AND n.warning_level = m.old_level
                       AND n.finished_at IS NULL AND n.paused_at IS NULL
                       AND n.id = ANY(%s::bigint[])
                 RETURNING n.id""",  # noqa: S608 - the table name is the model's
                [
                    ids,
                    [row[_LEVEL] for row, _l, _t in moves],
                    [level for _row, level, _t in moves],
                    [at for _row, _l, at in moves],
                    ids,
                ],
            )
            return {row[0] for row in cursor.fetchall()}
    won = set()
    for row, level, following in moves:
        if ApplicationNode.objects.filter(
            pk=row[_ID], warning_level=row[_LEVEL], finished_at__isnull=True, paused_at__isnull=True
        ).update(warning_level=level, next_warning_at=following):
            won.add(row[_ID])
    return won


class _Sweep:
    """What the batches of one sweep share: the instant, the wording, the fractions read."""

    def __init__(self, now: dt.datetime) -> None:
        self.now = now
        self.wording = notices.WarningWording()
        self.postgresql = connection.vendor == "postgresql"
        self.encode = DjangoJSONEncoder().encode if self.postgresql else None

    def batch(self, rows: list[tuple[Any, ...]]) -> int:
        now = self.now
        moves = []
        for row in rows:
            times = clocks.times_between(row[_FROM], row[_DUE], clocks.fractions_of(row[_FRACTIONS]))
            level = row[_LEVEL]
            while level < 3 and times[level] <= now:
                level += 1
            if level != row[_LEVEL]:
                moves.append((row, level, times[level] if level < 3 else None))
        won = _move(moves)
        raised = [(row, level) for row, level, _t in moves if row[_ID] in won]
        if not raised:
            return 0
        recipients = notices.Recipients(
            {(row[_UNIT], row[_ROLE]) for row, _l in raised}, {row[_MANAGER] for row, _l in raised}
        )
        events, items, moved = [], [], 0
        labels = self.wording.labels
        for row, level in raised:
            old_level, label = row[_LEVEL], labels.get(row[_KIND], row[_KIND])
            due = clock.local(row[_DUE])
            for r in range(old_level + 1, level + 1):
                data = {"level": r, "due_at": due, "skipped": r < level}
                events.append(
                    (
                        row[_APP],
                        row[_KIND],
                        "warning",
                        now,
                        "",
                        "",
                        f"{label}时限{'已超期' if r == 3 else '预警'}（{r}级）"
                        + ("，已由更高级别预警取代，未单独通知" if r < level else ""),
                        self.encode(data) if self.encode else data,
                    )
                )
            moved += level - old_level
            items += self.wording.items(
                application_id=row[_APP],
                number=row[_NUMBER],
                kind=row[_KIND],
                seq=row[_SEQ],
                due_at=row[_DUE],
                level=level,
                people=recipients.of(row[_UNIT], row[_ROLE], row[_MANAGER], level),
            )
        if self.postgresql:
            copy_rows(ApplicationEvent._meta.db_table, _EVENT_COLUMNS, events)
        else:
            ApplicationEvent.objects.bulk_create(
                [ApplicationEvent(**dict(zip(_EVENT_COLUMNS, event, strict=True))) for event in events]
            )
        if items:
            notify.enqueue_prepared(
                [notify.prepare_many(items, clock.now())], refresh_statistics=False, fresh_keys=True
            )
        return moved


def raise_due_warnings(now: dt.datetime | None = None) -> int:
    """Raise every due node warning; returns how many levels moved."""
    now = now or clock.now()
    sweep = _Sweep(now)
    moved = 0
    while True:
        with transaction.atomic():
            due = ApplicationNode.objects.filter(
                next_warning_at__lte=now, finished_at__isnull=True, paused_at__isnull=True
            )
            ids = list(
                due.order_by("application_id").values_list("application_id", flat=True).distinct()[:BATCH]
            )
            if not ids:
                return moved
            list(Application.objects.filter(pk__in=ids).order_by("pk").select_for_update().values_list("pk"))
            rows = list(
                due.filter(application_id__in=ids).order_by("application_id", "id").values_list(*_FIELDS)
            )
            batch_moved = sweep.batch(rows)
            moved += batch_moved
            if len(ids) < BATCH or not batch_moved:
                return moved
