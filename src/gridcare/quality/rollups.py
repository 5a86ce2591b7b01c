# ruff: noqa: S608  -- the trigger SQL names tables and columns from the models, never input
"""Roll-ups: the statistics read from pre-added parts, kept current incrementally (issue 17, item 10).

A figure of an *additive* metric side (a count, a sum, an average as total and rows, the 2-hour
repeat calls) over a period is the sum of its parts over the period's pieces. GridCare keeps those
parts per **bucket** — each local day before today, and each hour of today — and per unit
*subtree* (a county's cell holds its stations' rows too), for every active metric at once, as one
JSON cell per (bucket, unit). A province's month is then ~30 cells read in one query.

Freshness, without trusting every write path to remember:

- **Database triggers** on every source table (and on the tables a source reads through a foreign
  key: a time limit reads its order's type, state and unit) bump a per-hour stamp
  (``RollupStamp``) on each insert, update and delete of a row whose time lies in that hour — except
  the hour that is running, which no bucket holds yet (so intake pays nothing).
- A bucket remembers the sum of its hours' stamps when it was built, each metric's definition
  fingerprint, and the moment its figure changes by itself (a condition on "now": a time limit
  falling due). A bucket is used for a metric only while all three still hold.
- The reader uses valid cells and computes the rest — the running hour, a bucket not (or no
  longer) valid — from the rows, in the same single conditional-aggregation query per source that
  builds the cells, so a figure is the same whichever way it was added up (tested).
- ``refresh()`` (a periodic task, and ``gridcare roll-up-statistics``) builds what is missing or
  stale: today's finished hours first, then days, newest first.

Non-additive sides (distinct counts, stocks such as customers now)
and an agent's own figures are always computed from the rows.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, F, Min, Q, QuerySet, Sum
from django.db.models.functions import Coalesce

from gridcare.core import clock
from gridcare.core.clock import LOCAL_TZ
from gridcare.org import scoping
from gridcare.org.models import Unit
from gridcare.org.types import Viewer

from . import metrics
from .models import Metric, RollupBucket, RollupCell, RollupStamp

HOUR = 3600
DAY_HOURS = 24
# A bucket is built once it ended this long ago: a transaction that wrote a row of the running
# hour (no stamp) has committed by then.
GRACE = dt.timedelta(minutes=5)
# Part of every fingerprint: bump it when the way a part is computed changes, and every cell is
# rebuilt.
VERSION = "3"

Part = tuple[Decimal, int]  # (total, rows)

# The bucket of the stocks (sources with no time, such as customers now): one per database, its
# stamp at this hour number (no real hour is negative), bumped by every change of a stock row.
STOCK = -1
STOCK_BUCKET = (STOCK, 0)


def epoch_hour(at: dt.datetime) -> int:
    return int(at.timestamp()) // HOUR


def hour_start(hour: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(hour * HOUR, tz=dt.UTC)


@functools.lru_cache(maxsize=4096)
def day_hour(day: dt.date) -> int:
    """The epoch hour a local (Asia/Shanghai) day starts at."""
    return epoch_hour(dt.datetime.combine(day, dt.time(), tzinfo=LOCAL_TZ))


@functools.lru_cache(maxsize=4096)
def local_day(hour: int) -> dt.date:
    return clock.local(hour_start(hour)).date()


# --- what is rolled -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Side:
    """One rolled side of a metric: the numerator (0) or the denominator (1)."""

    metric: Metric
    index: int
    spec: dict
    exclude: dict | None

    @property
    def source(self) -> metrics.Source:
        return metrics.SOURCES[self.spec["source"]]

    @property
    def now_fields(self) -> set[str]:
        return metrics.now_fields(self.spec.get("where")) | metrics.now_fields(self.exclude)

    @property
    def stock(self) -> bool:
        return not self.source.date_field


def rollable(spec: dict | None) -> bool:
    if not spec:
        return False
    source = metrics.SOURCES.get(spec.get("source", ""))
    return bool(source and source.count_unit) and metrics.agg_name(spec)[0] in metrics.ADDITIVE


def sides_of(metric: Metric) -> list[Side]:
    """The rolled sides of ``metric`` (none, one or both)."""
    out = []
    if rollable(metric.numerator):
        out.append(Side(metric, 0, metric.numerator, metric.exclude or None))
    if metric.denominator is not None and rollable(metric.denominator):
        same = metric.denominator.get("source") == metric.numerator.get("source")
        out.append(Side(metric, 1, metric.denominator, (metric.exclude or None) if same else None))
    return out


def fingerprint(metric: Metric) -> str:
    """What a metric's cells were computed from (kept on the instance: read once per request)."""
    what = json.dumps([VERSION, metric.numerator, metric.denominator, metric.exclude or {}], sort_keys=True)
    cached = getattr(metric, "_rollup_fp", None)
    if cached is None or cached[0] != what:
        cached = (what, hashlib.sha256(what.encode()).hexdigest()[:16])
        metric._rollup_fp = cached  # type: ignore[attr-defined]
    return cached[1]


def digest(rolled: list[Metric]) -> str:
    """One fingerprint of every rolled metric's definition (a bucket built for exactly these is
    valid for all of them at once)."""
    joined = ";".join(f"{m.pk}:{fingerprint(m)}" for m in sorted(rolled, key=lambda m: m.pk))
    return hashlib.sha256(joined.encode()).hexdigest()[:16]


def rolled_metrics() -> list[Metric]:
    """Every active metric row (each version: a period is read at the version in force then) with a
    rolled side."""
    return [m for m in Metric.objects.filter(is_active=True).order_by("pk") if sides_of(m)]


# --- computing parts from rows (the cells, and the pieces a reader cannot take from cells) -------


def _unit_expr(source: metrics.Source) -> Any:
    fields = [F(f) for f in source.count_unit]
    return fields[0] if len(fields) == 1 else Coalesce(*fields)


def _condition(side: Side, now: dt.datetime) -> Q:
    condition = metrics._q(side.spec.get("where", {}), now) & metrics.kept(side.spec)
    if side.exclude:
        condition &= ~metrics._q(side.exclude, now)
    return condition


def compute(
    source: metrics.Source, sides: list[Side], qs: QuerySet, *, now: dt.datetime, by_unit: bool
) -> dict[Any, dict[tuple[int, int], Part]]:
    """The parts of ``sides`` (all of ``source``) over ``qs`` — per counting unit, or in total
    (key None) — in one query (the repeat rules need their own)."""
    aggregates: dict[str, Any] = {}
    repeats: list[tuple[int, Side]] = []
    for i, side in enumerate(sides):
        name, _args = metrics.agg_name(side.spec)
        if name in metrics.REPEATS:
            repeats.append((i, side))
            continue
        condition = _condition(side, now)
        aggregates[f"n{i}"] = Count("pk", filter=condition)
        added = metrics.summand(side.spec)
        if added is not None:
            aggregates[f"s{i}"] = Sum(added, filter=condition)
    found: list[dict[str, Any]]
    if not aggregates:
        found = []
    elif by_unit:
        found = list(qs.order_by().annotate(_u=_unit_expr(source)).values("_u").annotate(**aggregates))
    else:
        found = [{"_u": None, **qs.order_by().aggregate(**aggregates)}]
    out: dict[Any, dict[tuple[int, int], Part]] = defaultdict(dict)
    for row in found:
        for i, side in enumerate(sides):
            n = row.get(f"n{i}")
            if n is None:
                continue
            total = row.get(f"s{i}")
            if metrics.agg_name(side.spec)[0] == "avg_minutes" and total is not None:
                amount = metrics.duration_total(total)
            else:
                amount = metrics.as_number(total)
            if n or amount:
                out[row["_u"]][(side.metric.pk, side.index)] = (amount, n)
    for _i, side in repeats:
        ids = metrics.repeats(side.spec, qs.filter(_condition(side, now)))
        if not ids:
            continue
        if by_unit:
            counted = (
                side.source.queryset()
                .filter(pk__in=ids)
                .order_by()
                .annotate(_u=_unit_expr(source))
                .values("_u")
                .annotate(n=Count("pk"))
            )
            for row in counted:
                out[row["_u"]][(side.metric.pk, side.index)] = (Decimal(row["n"]), row["n"])
        else:
            out[None][(side.metric.pk, side.index)] = (Decimal(len(ids)), len(ids))
    return out


def _in_hours(source: metrics.Source, ranges: Iterable[tuple[int, int]]) -> Q:
    either = Q()
    for a, b in ranges:
        either |= Q(**{f"{source.date_field}__gte": hour_start(a), f"{source.date_field}__lt": hour_start(b)})
    return either


def _changes_at(source: metrics.Source, sides: list[Side], qs: QuerySet, now: dt.datetime) -> dict[int, int]:
    """For each metric with a condition on "now": when (epoch seconds) its figure over ``qs``
    next changes by itself — the earliest value still ahead of one of those fields."""
    fields = sorted({f for side in sides for f in side.now_fields})
    if not fields:
        return {}
    got = qs.order_by().aggregate(**{f: Min(f, filter=Q(**{f"{f}__gte": now})) for f in fields})
    out: dict[int, int] = {}
    for side in sides:
        times = [got[f] for f in side.now_fields if got.get(f) is not None]
        if times:
            at = int(min(times).timestamp())
            out[side.metric.pk] = min(at, out.get(side.metric.pk, at))
    return out


# --- building buckets ------------------------------------------------------------------------------


def _ancestors() -> dict[int, list[int]]:
    """Every unit's id with its ancestors' (itself first)."""
    out = {}
    for pk, path in Unit.objects.values_list("pk", "path"):
        out[pk] = [int(p) for p in path.strip("/").split("/") if p][::-1] or [pk]
    return out


def _stamped(start: int, hours: int) -> range:
    """The stamp hours of a bucket (the stock bucket: its one stamp)."""
    return range(start, start + max(hours, 1))


def _generation(start: int, hours: int) -> int:
    stamped = _stamped(start, hours)
    got = RollupStamp.objects.filter(hour__gte=stamped.start, hour__lt=stamped.stop).aggregate(
        g=Sum("generation")
    )
    return int(got["g"] or 0)


def build(
    start: int, hours: int, rolled: list[Metric] | None = None, *, now: dt.datetime | None = None
) -> int:
    """(Re)build one bucket's cells for every rolled metric; the number of cells written."""
    rolled = rolled_metrics() if rolled is None else rolled
    now = now or clock.now()
    ancestors = _ancestors()
    by_source: dict[str, list[Side]] = defaultdict(list)
    for metric in rolled:
        for side in sides_of(metric):
            if side.stock == ((start, hours) == STOCK_BUCKET):
                by_source[side.spec["source"]].append(side)
    # Read outside any transaction (no lock held while counting): the stamps first, then the rows;
    # a change after the stamps were read makes the bucket stale again.
    generation = _generation(start, hours)
    cells: dict[int, dict[str, list]] = defaultdict(dict)
    until: dict[int, int] = {}
    for key, sides in by_source.items():
        source = metrics.SOURCES[key]
        qs = source.queryset()
        if source.date_field:
            qs = qs.filter(_in_hours(source, [(start, start + hours)]))
        for unit_id, found in compute(source, sides, qs, now=now, by_unit=True).items():
            if unit_id is None:
                continue
            for up in ancestors.get(unit_id, []):
                cell = cells[up]
                for (pk, index), (total, n) in found.items():
                    parts = cell.setdefault(str(pk), ["0", 0, "0", 0])
                    parts[2 * index] = str(Decimal(parts[2 * index]) + total)
                    parts[2 * index + 1] += n
        until.update(_changes_at(source, sides, qs, now))
    entries = {str(m.pk): {"fp": fingerprint(m), "until": until.get(m.pk)} for m in rolled}
    try:
        with transaction.atomic():
            RollupCell.objects.filter(start=start, hours=hours).delete()
            RollupCell.objects.bulk_create(
                [RollupCell(start=start, hours=hours, unit_id=u, parts=p) for u, p in cells.items()],
                batch_size=2000,
            )
            RollupBucket.objects.update_or_create(
                start=start,
                hours=hours,
                defaults={
                    "generation": generation,
                    "built_at": now,
                    "metrics": entries,
                    "digest": digest(rolled),
                    "until_min": min(until.values()) if until else None,
                },
            )
    except IntegrityError:  # another worker wrote the same bucket at the same moment: theirs stands
        return 0
    return len(cells)


def _valid(bucket: RollupBucket | None, generation: int, metric: Metric, now_s: int) -> bool:
    if bucket is None or bucket.generation != generation:
        return False
    entry = bucket.metrics.get(str(metric.pk))
    return (
        bool(entry)
        and entry["fp"] == fingerprint(metric)
        and (entry["until"] is None or entry["until"] > now_s)
    )


def _first_hour() -> int | None:
    """The hour of the oldest row of any rolled source."""
    firsts = []
    for source in metrics.SOURCES.values():
        if source.date_field and source.count_unit:
            got = source.queryset().aggregate(first=Min(source.date_field))["first"]
            if got is not None:
                firsts.append(epoch_hour(got))
    return min(firsts) if firsts else None


@dataclass
class Refreshed:
    built: int = 0
    cells: int = 0
    pending: int = 0  # buckets still stale when the time budget ran out
    seconds: float = 0.0
    stale: list[tuple[int, int]] = field(default_factory=list)


def stale_buckets(
    *, now: dt.datetime | None = None, rolled: list[Metric] | None = None
) -> list[tuple[int, int]]:
    """The buckets to build, most useful first: today's finished hours (latest first), then the
    days before today (latest first)."""
    now = now or clock.now()
    rolled = rolled_metrics() if rolled is None else rolled
    first = _first_hour()
    if not rolled:
        return []
    if first is None:  # no dated row yet: only the stocks
        first = epoch_hour(now) + 1
    today = clock.local(now).date()
    today_start = day_hour(today)
    done_before = epoch_hour(now - GRACE)  # hours that ended at least GRACE ago: < done_before
    wanted: list[tuple[int, int]] = [(h, 1) for h in range(done_before - 1, max(today_start, first) - 1, -1)]
    day = today - dt.timedelta(days=1)
    first_day = local_day(first)
    if now - GRACE < dt.datetime.combine(today, dt.time(), tzinfo=LOCAL_TZ):
        day -= dt.timedelta(days=1)  # yesterday ended less than GRACE ago
    while day >= first_day:
        wanted.append((day_hour(day), DAY_HOURS))
        day -= dt.timedelta(days=1)
    if any(side.stock for m in rolled for side in sides_of(m)):
        wanted.insert(0, STOCK_BUCKET)
    if not wanted:
        return []
    low = min(s for s, _ in wanted)
    buckets = {(b.start, b.hours): b for b in RollupBucket.objects.filter(start__gte=low).defer("metrics")}
    stamps = dict(RollupStamp.objects.filter(hour__gte=low).values_list("hour", "generation"))
    now_s = int(now.timestamp())
    current = digest(rolled)
    out = []
    for start, hours in wanted:
        generation = sum(stamps.get(h, 0) for h in _stamped(start, hours))
        bucket = buckets.get((start, hours))
        if (
            bucket is not None
            and bucket.generation == generation
            and bucket.digest == current
            and (bucket.until_min is None or bucket.until_min > now_s)
        ):
            continue  # valid for every metric at once
        if not all(_valid(bucket, generation, m, now_s) for m in rolled):
            out.append((start, hours))
    return out


def refresh(*, budget_seconds: float | None = None, now: dt.datetime | None = None) -> Refreshed:
    """Build the stale buckets (within ``budget_seconds`` when given) and drop the hours of days
    that have their own bucket."""
    began = time.monotonic()
    rolled = rolled_metrics()
    stale = stale_buckets(now=now, rolled=rolled)
    done = Refreshed(stale=stale)
    for start, hours in stale:
        if budget_seconds is not None and done.built and time.monotonic() - began > budget_seconds:
            done.pending = len(stale) - done.built
            break
        done.cells += build(start, hours, rolled, now=now)
        done.built += 1
    today_start = day_hour(clock.local(now or clock.now()).date())
    old_hours = RollupBucket.objects.filter(hours=1, start__lt=today_start - DAY_HOURS)
    RollupCell.objects.filter(hours=1, start__lt=today_start - DAY_HOURS).delete()
    old_hours.delete()
    done.seconds = time.monotonic() - began
    return done


# --- reading ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Want:
    metric: Metric
    unit: Unit
    since: dt.datetime
    until: dt.datetime


@dataclass
class Plan:
    cells: list[tuple[int, int]]  # (start, hours) of the valid buckets used
    raw: tuple[tuple[int, int], ...]  # epoch-hour ranges computed from the rows
    stock: bool | None = None  # a stock side: from the stock cell (True) or its rows (False)


def _merge_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[list[int]] = []
    for a, b in sorted(ranges):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


def _merge(hours: list[int]) -> tuple[tuple[int, int], ...]:
    ranges: list[list[int]] = []
    for h in sorted(hours):
        if ranges and ranges[-1][1] == h:
            ranges[-1][1] = h + 1
        else:
            ranges.append([h, h + 1])
    return tuple((a, b) for a, b in ranges)


@dataclass(frozen=True)
class Usable:
    """What the reader needs to know of a bucket: whether no row of its hours changed since it
    was built, and which of the wanted metrics it cannot answer (definition changed, or a
    condition on "now" has turned since)."""

    fresh: bool
    invalid: frozenset[str]


_BUCKETS_PG = """
SELECT b.start, b.hours,
       b.generation = COALESCE((SELECT sum(s.generation) FROM quality_rollupstamp s
                                WHERE s.hour >= b.start AND s.hour < b.start + GREATEST(b.hours, 1)), 0),
       ARRAY(SELECT w.k FROM unnest(%(keys)s::text[], %(fps)s::text[]) AS w(k, f)
             LEFT JOIN jsonb_each(b.metrics) AS e ON e.key = w.k
             WHERE e.value IS NULL OR e.value->>'fp' IS DISTINCT FROM w.f
                OR (e.value->>'until')::bigint <= %(now)s)
FROM quality_rollupbucket b
WHERE (b.hours = 24 AND b.start = ANY(%(days)s::bigint[]))
   OR (b.hours = 1 AND b.start >= %(low)s AND b.start < %(high)s)
   OR (b.hours = 0 AND b.start = -1)
"""

_CELLS_PG = """
SELECT g.grp, e.key, sum((e.value->>0)::numeric), sum((e.value->>1)::bigint),
       sum((e.value->>2)::numeric), sum((e.value->>3)::bigint)
FROM unnest(%(grp)s::int[], %(unit)s::bigint[], %(start)s::bigint[], %(hours)s::int[])
     AS g(grp, unit, start, hours)
JOIN quality_rollupcell c ON c.unit_id = g.unit AND c.hours = g.hours AND c.start = g.start
CROSS JOIN LATERAL jsonb_each(c.parts) AS e
WHERE e.key = ANY(%(keys)s::text[])
GROUP BY g.grp, e.key
"""

Sums = dict[tuple[int, str], tuple[Decimal, int, Decimal, int]]


class Reader:
    """Parts of many figures at once: one query for the buckets of all their periods (with their
    freshness and validity), one that adds up the cells of all their units, one per source and
    unit for what is computed from rows. On PostgreSQL the checks and the sums run in the
    database; elsewhere the same rows are read and added up here."""

    def __init__(self, wants: list[Want], viewer: Viewer, *, now: dt.datetime | None = None) -> None:
        self.wants, self.viewer = wants, viewer
        self.now = now or clock.now()
        self.now_s = int(self.now.timestamp())
        self.current = epoch_hour(self.now)
        self.in_database = connection.vendor == "postgresql"

    def plans(self) -> list[Plan]:
        """For each want, the valid cells that cover its period and the hours left to count from
        the rows."""
        low = min(epoch_hour(w.since) for w in self.wants)
        high = max(-(-int(w.until.timestamp()) // HOUR) for w in self.wants)
        # Only the buckets these periods can use: their days, and the hours of today and yesterday.
        days: set[int] = set()
        for since, until in {(w.since, w.until) for w in self.wants}:
            day, end = clock.local(since).date(), until.timestamp()
            while (start := day_hour(day)) * HOUR < end:
                days.add(start)
                day += dt.timedelta(days=1)
        recent = max(low, day_hour(clock.local(self.now).date()) - DAY_HOURS)
        keys = {str(w.metric.pk): fingerprint(w.metric) for w in self.wants}
        read = self._buckets_in_database if self.in_database else self._buckets_here
        return self._plans(read(sorted(days), recent, high, keys, [w.metric for w in self.wants]))

    def parts(self) -> list[dict[int, Part]]:
        """For each want, the parts of its metric's rolled sides: {side index: (total, rows)}."""
        if not self.wants:
            return []
        keys = {str(w.metric.pk) for w in self.wants}
        plans = self.plans()
        if any(p.raw for p in plans):
            # No row is older than the oldest row: hours before it are not counted at all.
            first = _first_hour()
            for plan in plans:
                plan.raw = tuple((max(a, first), b) for a, b in plan.raw if first is not None and b > first)
        # Wants of one unit over the same cells are added up together (a dated cell holds a
        # metric's dated sides, the stock cell its stock sides: a want adds both).
        groups: dict[tuple[int, tuple], int] = {}
        of_want: list[list[int]] = []
        for want, plan in zip(self.wants, plans, strict=True):
            mine = []
            if plan.cells:
                mine.append(groups.setdefault((want.unit.pk, tuple(plan.cells)), len(groups)))
            if plan.stock:
                mine.append(groups.setdefault((want.unit.pk, (STOCK_BUCKET,)), len(groups)))
            of_want.append(mine)
        add = self._sums_in_database if self.in_database else self._sums_here
        sums = add(groups, keys) if groups else {}
        raw = self._raw(plans)
        out: list[dict[int, Part]] = []
        for want, plan, mine in zip(self.wants, plans, of_want, strict=True):
            key = str(want.metric.pk)
            sides = sides_of(want.metric)
            got: dict[int, Part] = {side.index: (Decimal(0), 0) for side in sides}
            more: dict[tuple[int, int], Part] = {}
            if plan.raw:
                more.update(raw.get((want.unit.pk, plan.raw), {}))
            if plan.stock is False:
                more.update(raw.get((want.unit.pk, STOCK_BUCKET), {}))
            for side in sides:
                total, n = Decimal(0), 0
                for grp in mine:
                    found = sums.get((grp, key))
                    if found:
                        total += found[2 * side.index]
                        n += found[2 * side.index + 1]  # type: ignore[assignment]
                more_total, more_n = more.get((want.metric.pk, side.index), (Decimal(0), 0))
                got[side.index] = (total + more_total, n + more_n)
            out.append(got)
        return out

    # --- buckets: fresh, and valid for which metric -----------------------------------------------

    def _buckets_in_database(
        self, days: list[int], low: int, high: int, keys: dict[str, str], _metrics: list[Metric]
    ) -> dict[tuple[int, int], Usable]:
        with connection.cursor() as cursor:
            cursor.execute(
                _BUCKETS_PG,
                {
                    "keys": list(keys),
                    "fps": list(keys.values()),
                    "now": self.now_s,
                    "days": days,
                    "low": low,
                    "high": high,
                },
            )
            return {(s, h): Usable(bool(fresh), frozenset(bad)) for s, h, fresh, bad in cursor.fetchall()}

    def _buckets_here(
        self, days: list[int], low: int, high: int, keys: dict[str, str], wanted: list[Metric]
    ) -> dict[tuple[int, int], Usable]:
        # A bucket built for today's definitions and not yet expired is valid for every metric:
        # its per-metric entries are read (and decoded) only otherwise.
        current = digest(rolled_metrics())
        found: dict[tuple[int, int], tuple[int, dict | None]] = {}
        others: list[tuple[int, int]] = []
        for start, hours, generation, built_for, until_min in RollupBucket.objects.filter(
            Q(hours=DAY_HOURS, start__in=days)
            | Q(hours=1, start__gte=low, start__lt=high)
            | Q(hours=0, start=STOCK)
        ).values_list("start", "hours", "generation", "digest", "until_min"):
            if built_for == current and (until_min is None or until_min > self.now_s):
                found[(start, hours)] = (generation, None)
            else:
                found[(start, hours)] = (generation, {})
                others.append((start, hours))
        if others:
            for start, hours, generation, entries in RollupBucket.objects.filter(
                hours__in={h for _, h in others}, start__in=[s for s, _ in others]
            ).values_list("start", "hours", "generation", "metrics"):
                if (start, hours) in found:
                    found[(start, hours)] = (generation, entries)
        in_spans = Q()
        for a, b in _merge_ranges([(r.start, r.stop) for r in (_stamped(s, h) for s, h in found)]):
            in_spans |= Q(hour__gte=a, hour__lt=b)
        stamps = dict(RollupStamp.objects.filter(in_spans).values_list("hour", "generation")) if found else {}
        out = {}
        for (start, hours), (generation, entries) in found.items():
            fresh = generation == sum(stamps.get(h, 0) for h in _stamped(start, hours))
            invalid: set[str] = set()
            if entries is not None:
                for key, fp in keys.items():
                    entry = entries.get(key)
                    if (
                        not entry
                        or entry["fp"] != fp
                        or (entry["until"] is not None and entry["until"] <= self.now_s)
                    ):
                        invalid.add(key)
            out[(start, hours)] = Usable(fresh, frozenset(invalid))
        return out

    # --- which cells, which hours from the rows ---------------------------------------------------

    def _plans(self, usable: dict[tuple[int, int], Usable]) -> list[Plan]:
        """One plan per distinct period (and per metric only where a bucket of it cannot answer
        that metric)."""
        hour_days = {day_hour(local_day(start)) for start, hours in usable if hours == 1}
        special = {key for u in usable.values() for key in u.invalid}
        stock = usable.get(STOCK_BUCKET)
        cache: dict[tuple, Plan] = {}
        plans = []
        for want in self.wants:
            key = str(want.metric.pk)
            which = (want.since, want.until, key if key in special else None)
            if which not in cache:
                cache[which] = self._plan(want, key, usable, hour_days)
            plan = Plan(list(cache[which].cells), cache[which].raw)
            if any(side.stock for side in sides_of(want.metric)):
                plan.stock = stock is not None and stock.fresh and key not in stock.invalid
            plans.append(plan)
        return plans

    def _plan(self, want: Want, key: str, usable: dict, hour_days: set[int]) -> Plan:
        """Which valid cells cover ``want``'s period and which hours are left to count from rows."""
        start, end = epoch_hour(want.since), -(-int(want.until.timestamp()) // HOUR)

        def ok(first: int, hours: int) -> bool:
            bucket = usable.get((first, hours))
            return bucket is not None and bucket.fresh and key not in bucket.invalid

        cells: list[tuple[int, int]] = []
        raw: list[int] = []
        day = clock.local(want.since).date()
        first = day_hour(day)
        while first < end:
            last = day_hour(day + dt.timedelta(days=1))
            if first >= start and last <= end and ok(first, DAY_HOURS):
                cells.append((first, DAY_HOURS))
            elif first not in hour_days:
                raw.extend(range(max(first, start), min(last, end)))
            else:
                for h in range(max(first, start), min(last, end)):
                    if h < self.current and ok(h, 1):
                        cells.append((h, 1))
                    else:
                        raw.append(h)
            day += dt.timedelta(days=1)
            first = last
        return Plan(cells, _merge(raw))

    # --- adding up cells --------------------------------------------------------------------------

    def _sums_in_database(self, groups: dict[tuple[int, tuple], int], keys: set[str]) -> Sums:
        grp, unit, start, hours = [], [], [], []
        for (unit_id, cells), g in groups.items():
            for s, h in cells:
                grp.append(g)
                unit.append(unit_id)
                start.append(s)
                hours.append(h)
        with connection.cursor() as cursor:
            cursor.execute(
                _CELLS_PG, {"grp": grp, "unit": unit, "start": start, "hours": hours, "keys": sorted(keys)}
            )
            return {
                (g, k): (Decimal(a), int(b), Decimal(c), int(d)) for g, k, a, b, c, d in cursor.fetchall()
            }

    def _sums_here(self, groups: dict[tuple[int, tuple], int], keys: set[str]) -> Sums:
        needed = {(u, s, h) for (u, cells) in groups for s, h in cells}
        units = {u for u, _, _ in needed}
        which = Q()
        for hours in {h for _, _, h in needed}:
            which |= Q(hours=hours, start__in=sorted({s for _, s, h in needed if h == hours}))
        cells: dict[tuple[int, int, int], dict] = {}
        for unit_id, start, hours, parts in RollupCell.objects.filter(which, unit_id__in=units).values_list(
            "unit_id", "start", "hours", "parts"
        ):
            if (unit_id, start, hours) in needed:
                cells[(unit_id, start, hours)] = parts
        out: Sums = {}
        for (unit_id, wanted), g in groups.items():
            for key in keys:
                found = [p for p in (cells.get((unit_id, s, h), {}).get(key) for s, h in wanted) if p]
                if found:
                    out[(g, key)] = (
                        sum((Decimal(p[0]) for p in found), Decimal(0)),
                        sum(int(p[1]) for p in found),
                        sum((Decimal(p[2]) for p in found), Decimal(0)),
                        sum(int(p[3]) for p in found),
                    )
        return out

    def _raw(self, plans: list[Plan]) -> dict[tuple[int, tuple], dict[tuple[int, int], Part]]:
        """What the cells do not hold, from the rows: per (unit, hour ranges), one query per source."""
        groups: dict[tuple[int, tuple], list[Want]] = defaultdict(list)
        for want, plan in zip(self.wants, plans, strict=True):
            if plan.raw:
                groups[(want.unit.pk, plan.raw)].append(want)
            if plan.stock is False:
                groups[(want.unit.pk, STOCK_BUCKET)].append(want)
        out: dict[tuple[int, tuple], dict[tuple[int, int], Part]] = {}
        for (unit_id, ranges), wants in groups.items():
            unit = wants[0].unit
            stock = ranges == STOCK_BUCKET
            by_source: dict[str, list[Side]] = defaultdict(list)
            seen: set[tuple[int, int]] = set()
            for want in wants:
                for side in sides_of(want.metric):
                    if side.stock == stock and (want.metric.pk, side.index) not in seen:
                        seen.add((want.metric.pk, side.index))
                        by_source[side.spec["source"]].append(side)
            found: dict[tuple[int, int], Part] = {}
            for key, sides in by_source.items():
                source = metrics.SOURCES[key]
                qs = scoping.restrict(source.queryset(), self.viewer, source.scope_fields)
                qs = qs.filter(source.unit_q(unit))
                if not stock:
                    qs = qs.filter(_in_hours(source, ranges))
                found.update(compute(source, sides, qs, now=self.now, by_unit=False).get(None, {}))
            out[(unit_id, ranges)] = found
        return out


# --- the triggers that stamp changed hours ---------------------------------------------------------


def _tables() -> list[tuple[str, str, list[tuple[str, str, str]]]]:
    """(table, time column, [(dependent table, its time column, its column pointing here)]) for
    every rolled source's table and every table a source follows."""
    columns: dict[str, str] = {}
    dependents: dict[str, list[tuple[str, str, str]]] = defaultdict(list)
    for source in metrics.SOURCES.values():
        if not (source.date_field and source.count_unit):
            continue
        model = apps.get_model(source.model)
        table = model._meta.db_table
        columns[table] = model._meta.get_field(source.date_field).column
        for followed, fk in source.follows:
            other = apps.get_model(followed)._meta.db_table
            dependents[other].append((table, columns[table], model._meta.get_field(fk).column))
    tables = sorted(set(columns) | set(dependents))
    return [(t, columns.get(t, ""), dependents.get(t, [])) for t in tables]


def _stock_tables() -> list[tuple[str, list[str]]]:
    """(table, the columns a stock's figures read) for every rolled stock source."""
    out: dict[str, set[str]] = defaultdict(set)
    for source in metrics.SOURCES.values():
        if source.date_field or not source.count_unit:
            continue
        model = apps.get_model(source.model)
        for name in (*source.count_unit, *source.fields):
            out[model._meta.db_table].add(model._meta.get_field(name).column)
    return [(table, sorted(columns)) for table, columns in sorted(out.items())]


TRIGGER_PREFIX = "gc_rollup_"


def _calls() -> tuple[str, dict[str, str]]:
    """The calls' table and the columns the repeat rules read."""
    model = apps.get_model(metrics.SOURCES["calls"].model)
    names = ("id", "caller_number", "arrived_at", "answered_at")
    return model._meta.db_table, {
        n: (model._meta.pk.column if n == "id" else model._meta.get_field(n).column) for n in names
    }


# Whether a call is a repeat (``repeat_numbers``) depends on its number's answered calls up to
# REPEAT_MAX_DAYS around it: an answered call arriving, going or moving marks those calls' hours
# changed — when 2 others lie there (with fewer, no stretch reaches REPEAT_MIN_TIMES). A day's
# margin either side keeps the bound safe at any sub-second boundary.
AROUND_DAYS = metrics.REPEAT_MAX_DAYS + 1
OTHERS = metrics.REPEAT_MIN_TIMES - 1


def trigger_sql(vendor: str) -> list[str]:
    """The statements that install the stamping triggers (SQLite or PostgreSQL)."""
    stamp = RollupStamp._meta.db_table
    buckets = RollupBucket._meta.db_table
    unit_table = Unit._meta.db_table
    statements: list[str] = []
    if vendor == "postgresql":
        statements.append(
            f"""CREATE OR REPLACE FUNCTION {TRIGGER_PREFIX}bump(h bigint) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF h IS NULL OR h = floor(extract(epoch FROM clock_timestamp()) / 3600) THEN RETURN; END IF;
  INSERT INTO {stamp} (hour, generation) VALUES (h, 1)
  ON CONFLICT (hour) DO UPDATE SET generation = {stamp}.generation + 1;
END $$"""
        )
        calls, c = _calls()
        near = (
            f"FROM {calls} WHERE {c['caller_number']} = number AND {c['answered_at']} IS NOT NULL AND {c['id']} <> me "
            f"AND {c['arrived_at']} > at - interval '{AROUND_DAYS} days' AND {c['arrived_at']} < at + interval '{AROUND_DAYS} days'"
        )
        statements.append(
            f"""CREATE OR REPLACE FUNCTION {TRIGGER_PREFIX}repeat(me bigint, number text, at timestamptz) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF (SELECT count(*) FROM (SELECT 1 {near} LIMIT {OTHERS}) enough) < {OTHERS} THEN RETURN; END IF;
  PERFORM {TRIGGER_PREFIX}bump(h) FROM (SELECT DISTINCT floor(extract(epoch FROM {c["arrived_at"]}) / 3600)::bigint AS h {near}) hours;
END $$"""
        )
        moved = (
            f"NEW.{c['caller_number']} IS DISTINCT FROM OLD.{c['caller_number']} "
            f"OR NEW.{c['arrived_at']} IS DISTINCT FROM OLD.{c['arrived_at']}"
        )
        repeat_body = (
            f"IF TG_OP <> 'DELETE' AND NEW.{c['answered_at']} IS NOT NULL AND (TG_OP = 'INSERT' OR OLD.{c['answered_at']} IS NULL OR {moved}) THEN\n"
            f"    PERFORM {TRIGGER_PREFIX}repeat(NEW.{c['id']}, NEW.{c['caller_number']}, NEW.{c['arrived_at']});\n  END IF;\n"
            f"  IF TG_OP <> 'INSERT' AND OLD.{c['answered_at']} IS NOT NULL AND (TG_OP = 'DELETE' OR NEW.{c['answered_at']} IS NULL OR {moved}) THEN\n"
            f"    PERFORM {TRIGGER_PREFIX}repeat(OLD.{c['id']}, OLD.{c['caller_number']}, OLD.{c['arrived_at']});\n  END IF;"
        )
        for table, column, dependents in _tables():
            body = []
            if table == calls:
                body.append(repeat_body)
            if column:
                body.append(
                    f"IF TG_OP <> 'INSERT' THEN PERFORM {TRIGGER_PREFIX}bump(floor(extract(epoch FROM OLD.{column}) / 3600)::bigint); END IF;\n"
                    f"  IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.{column} IS DISTINCT FROM OLD.{column}) THEN\n"
                    f"    PERFORM {TRIGGER_PREFIX}bump(floor(extract(epoch FROM NEW.{column}) / 3600)::bigint);\n  END IF;"
                )
            for dep_table, dep_column, fk in dependents:
                body.append(
                    f"IF TG_OP <> 'INSERT' THEN\n    PERFORM {TRIGGER_PREFIX}bump(h) FROM (SELECT DISTINCT "
                    f"floor(extract(epoch FROM {dep_column}) / 3600)::bigint AS h FROM {dep_table} "
                    f"WHERE {fk} = OLD.id) hours;\n  END IF;"
                )
            statements.append(
                f"""CREATE OR REPLACE FUNCTION {TRIGGER_PREFIX}{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  {chr(10).join("  " + b for b in body).strip()}
  RETURN NULL;
END $$"""
            )
            statements.append(f"DROP TRIGGER IF EXISTS {TRIGGER_PREFIX}{table} ON {table}")
            statements.append(
                f"CREATE TRIGGER {TRIGGER_PREFIX}{table} AFTER INSERT OR UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {TRIGGER_PREFIX}{table}()"
            )
        statements.append(
            f"""CREATE OR REPLACE FUNCTION {TRIGGER_PREFIX}stock() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM {TRIGGER_PREFIX}bump({STOCK}); RETURN NULL; END $$"""
        )
        for table, columns in _stock_tables():
            changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in columns)
            statements.append(f"DROP TRIGGER IF EXISTS {TRIGGER_PREFIX}{table} ON {table}")
            statements.append(
                f"CREATE TRIGGER {TRIGGER_PREFIX}{table} AFTER INSERT OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {TRIGGER_PREFIX}stock()"
            )
            statements.append(f"DROP TRIGGER IF EXISTS {TRIGGER_PREFIX}{table}_u ON {table}")
            statements.append(
                f"CREATE TRIGGER {TRIGGER_PREFIX}{table}_u AFTER UPDATE OF {', '.join(columns)} ON {table} "
                f"FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION {TRIGGER_PREFIX}stock()"
            )
        statements.append(
            f"""CREATE OR REPLACE FUNCTION {TRIGGER_PREFIX}forget() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN DELETE FROM {buckets}; RETURN NULL; END $$"""
        )
        statements.append(f"DROP TRIGGER IF EXISTS {TRIGGER_PREFIX}unit_moved ON {unit_table}")
        statements.append(
            f"CREATE TRIGGER {TRIGGER_PREFIX}unit_moved AFTER UPDATE OF path ON {unit_table} FOR EACH ROW "
            f"WHEN (OLD.path <> '' AND OLD.path IS DISTINCT FROM NEW.path) EXECUTE FUNCTION {TRIGGER_PREFIX}forget()"
        )
        return statements

    def hour(expr: str) -> str:
        return f"(CAST(strftime('%s', {expr}) AS INTEGER) / 3600)"

    running = hour("'now'")

    def bump(expr: str, extra: str = "") -> str:
        return (
            f"INSERT INTO {stamp} (hour, generation) SELECT {hour(expr)}, 1 "
            f"WHERE {expr} IS NOT NULL AND {hour(expr)} <> {running}{extra} "
            "ON CONFLICT(hour) DO UPDATE SET generation = generation + 1;"
        )

    def bump_dependents(dependents: list[tuple[str, str, str]], ref: str) -> str:
        return "".join(
            f"INSERT INTO {stamp} (hour, generation) SELECT DISTINCT {hour(c)}, 1 FROM {t} "
            f"WHERE {fk} = {ref}.id AND {c} IS NOT NULL AND {hour(c)} <> {running} "
            "ON CONFLICT(hour) DO UPDATE SET generation = generation + 1; "
            for t, c, fk in dependents
        )

    calls, c = _calls()

    def repeat(ref: str, condition: str) -> str:
        near = (
            f"FROM {calls} WHERE {c['caller_number']} = {ref}.{c['caller_number']} AND {c['answered_at']} IS NOT NULL "
            f"AND {c['id']} <> {ref}.{c['id']} "
            f"AND {c['arrived_at']} > datetime({ref}.{c['arrived_at']}, '-{AROUND_DAYS} days') "
            f"AND {c['arrived_at']} < datetime({ref}.{c['arrived_at']}, '+{AROUND_DAYS} days')"
        )
        return (
            f"INSERT INTO {stamp} (hour, generation) SELECT DISTINCT {hour(c['arrived_at'])}, 1 {near} "
            f"AND {hour(c['arrived_at'])} <> {running} AND {ref}.{c['answered_at']} IS NOT NULL AND ({condition}) "
            f"AND (SELECT count(*) FROM (SELECT 1 {near} LIMIT {OTHERS})) >= {OTHERS} "
            "ON CONFLICT(hour) DO UPDATE SET generation = generation + 1; "
        )

    moved = f"NEW.{c['caller_number']} IS NOT OLD.{c['caller_number']} OR NEW.{c['arrived_at']} IS NOT OLD.{c['arrived_at']}"
    for table, column, dependents in _tables():
        for op, name in (("INSERT", "i"), ("UPDATE", "u"), ("DELETE", "d")):
            text = ""
            if column and op == "INSERT":
                text = bump(f"NEW.{column}")
            elif column and op == "UPDATE":
                text = (
                    bump(f"OLD.{column}")
                    + " "
                    + bump(f"NEW.{column}", f" AND NEW.{column} IS NOT OLD.{column}")
                )
            elif column:
                text = bump(f"OLD.{column}")
            if op != "INSERT":
                text += " " + bump_dependents(dependents, "OLD")
            if table == calls and op == "INSERT":
                text += " " + repeat("NEW", "1")
            elif table == calls and op == "UPDATE":
                text += " " + repeat("NEW", f"OLD.{c['answered_at']} IS NULL OR {moved}")
                text += repeat("OLD", f"NEW.{c['answered_at']} IS NULL OR {moved}")
            elif table == calls:
                text += " " + repeat("OLD", "1")
            if not text.strip():
                continue
            statements.append(f"DROP TRIGGER IF EXISTS {TRIGGER_PREFIX}{table}_{name}")
            statements.append(
                f"CREATE TRIGGER {TRIGGER_PREFIX}{table}_{name} AFTER {op} ON {table} FOR EACH ROW BEGIN {text} END"
            )
    stock = (
        f"INSERT INTO {stamp} (hour, generation) VALUES ({STOCK}, 1) "
        "ON CONFLICT(hour) DO UPDATE SET generation = generation + 1;"
    )
    for table, columns in _stock_tables():
        changed = " OR ".join(f"OLD.{c} IS NOT NEW.{c}" for c in columns)
        for op, name, when in (
            ("INSERT", "i", ""),
            ("DELETE", "d", ""),
            (f"UPDATE OF {', '.join(columns)}", "u", f" WHEN {changed}"),
        ):
            statements.append(f"DROP TRIGGER IF EXISTS {TRIGGER_PREFIX}{table}_{name}")
            statements.append(
                f"CREATE TRIGGER {TRIGGER_PREFIX}{table}_{name} AFTER {op} ON {table} FOR EACH ROW{when} BEGIN {stock} END"
            )
    statements.append(f"DROP TRIGGER IF EXISTS {TRIGGER_PREFIX}unit_moved")
    statements.append(
        f"CREATE TRIGGER {TRIGGER_PREFIX}unit_moved AFTER UPDATE OF path ON {unit_table} "
        f"WHEN OLD.path <> '' AND OLD.path IS NOT NEW.path BEGIN DELETE FROM {buckets}; END"
    )
    return statements


def install_triggers(schema_editor: Any = None) -> None:
    conn = schema_editor.connection if schema_editor is not None else connection
    with conn.cursor() as cursor:
        for statement in trigger_sql(conn.vendor):
            cursor.execute(statement)


def installed_triggers() -> set[str]:
    """The names of the stamping triggers present in the database."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT tgname FROM pg_trigger WHERE tgname LIKE %s", [TRIGGER_PREFIX + "%"])
        else:
            cursor.execute(
                "SELECT name FROM sqlite_master WHERE type = 'trigger' AND name LIKE %s",
                [TRIGGER_PREFIX + "%"],
            )
        return {row[0] for row in cursor.fetchall()}


def expected_triggers() -> set[str]:
    names = {TRIGGER_PREFIX + "unit_moved"}
    for table, column, dependents in _tables():
        if connection.vendor == "postgresql":
            names.add(TRIGGER_PREFIX + table)
        else:
            names.update(
                f"{TRIGGER_PREFIX}{table}_{n}"
                for n, present in (("i", bool(column)), ("u", True), ("d", True))
                if present and (column or dependents)
            )
    for table, _columns in _stock_tables():
        if connection.vendor == "postgresql":
            names.update({TRIGGER_PREFIX + table, f"{TRIGGER_PREFIX}{table}_u"})
        else:
            names.update(f"{TRIGGER_PREFIX}{table}_{n}" for n in "iud")
    return names
