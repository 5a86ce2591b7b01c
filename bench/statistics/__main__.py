"""bench/statistics: the statistics pages, a KPI from raw rows, the command wall and the roll-ups'
refresh on a province of 10,000,000 orders and 20,000,000 calls (PostgreSQL), each beside its floor.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gridcare python -m bench.statistics
    python -m bench.statistics --smoke

Works in a database of its own beside DATABASE_URL's (``<dbname>_statistics``, or ``--db``), kept
between runs when ``--keep-db`` (filling 30,000,000 rows takes a while); a kept database holding the
requested sizes is reused. It holds a province of 12 cities × 8 counties × 8 supply stations, a
95598 center per city, 13 months of orders (every type, channel and state; time limits for repairs)
and calls (answered, abandoned, short abandons), written server-side with INSERT … SELECT, the
statistics triggers off during the load (an empty database has no bucket to keep fresh), then:

1. **roll-up build**: ``rollups.refresh()`` over the whole history, timed;
2. **monthly page**: ``GET /quality/statistics/?area=…&period=month`` for the whole province, last
   month and this month to date, server time (in-process Django client); the figures alone
   (``statistics.reports``); and the **floor**: one raw SQL statement reading the same cells and
   adding up the same parts per metric and period in the database;
3. **a KPI from raw rows** (no cells): complaints and the answer rate of a month for the province,
   GridCare's row count (``metrics.aggregate``) and its conditional aggregation (what the reader
   does for a stale bucket) beside hand-written SQL;
4. **the command wall's refresh**: ``GET /quality/wall/data/`` through a kiosk session;
5. **keeping up with intake**: 50 orders/s through ``create_work_order`` for ``--intake-seconds``,
   with 10 updates/s of orders of earlier days (callback results), while the refresher runs every
   10 s; the refresh times, the stale buckets left, and intake latency with the triggers on against
   the same load with the triggers off (the control).

Targets (issue 17): monthly page ≤ 300 ms and ≤ 3 × its floor; a KPI from raw rows ≤ 3 × its SQL;
the wall's refresh ≤ 200 ms; roll-ups keep up with 50 orders/s.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import threading
import time
from urllib.parse import urlsplit, urlunsplit

from bench import common

CITIES, COUNTIES, STATIONS = 12, 8, 8


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.statistics", description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--calls", type=int, default=20_000_000)
    parser.add_argument("--months", type=int, default=13)
    parser.add_argument("--runs", type=int, default=15, help="timed runs of each read")
    parser.add_argument("--intake-seconds", type=float, default=60)
    parser.add_argument("--db", default="", help="database name (default <dbname>_statistics)")
    parser.add_argument("--keep-db", action="store_true", help="keep (and reuse) the database")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, for CI")
    args = parser.parse_args(argv)
    if args.smoke:
        args.orders, args.calls, args.months, args.runs, args.intake_seconds = 6_000, 12_000, 2, 2, 3
    return args


def _admin(url: str):
    import psycopg

    return psycopg.connect(urlunsplit(urlsplit(url)._replace(path="/postgres")), autocommit=True)


def open_database(args: argparse.Namespace) -> tuple[str, bool]:
    """Point DATABASE_URL at the benchmark's database; True when it already holds the sizes asked."""
    import psycopg

    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("This benchmark measures PostgreSQL: set DATABASE_URL=postgres://USER@HOST:PORT/DBNAME")
    base = urlsplit(url).path.lstrip("/") or "gridcare"
    name = args.db or f"{base}_statistics" + ("_smoke" if args.smoke else "")
    new_url = urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    reuse = False
    with _admin(url) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    if exists and args.keep_db:
        try:
            with psycopg.connect(new_url) as conn:
                got = conn.execute("SELECT orders, calls, months FROM bench_statistics_sizes").fetchone()
                reuse = got == (args.orders, args.calls, args.months)
        except psycopg.Error:
            reuse = False
    if not reuse:
        with _admin(url) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = new_url
    print(f"database: {name} ({'reused' if reuse else 'new'})", flush=True)
    return name, reuse


def production_sessions() -> str:
    """Sessions where production keeps them (Redis, ``GRIDCARE_REDIS_URL``) when a Redis answers on
    127.0.0.1:6379; else the database fallback (a session write per page: the idle timeout)."""
    import socket

    if os.environ.get("GRIDCARE_REDIS_URL"):
        return "redis (GRIDCARE_REDIS_URL)"
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=0.5).close()
    except OSError:
        return "database (no Redis on 127.0.0.1:6379)"
    os.environ["GRIDCARE_REDIS_URL"] = "redis://127.0.0.1:6379/14"
    return "redis://127.0.0.1:6379/14"


def drop_database(name: str, url: str) -> None:
    from django.db import connections

    connections.close_all()
    with _admin(url) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- the province --------------------------------------------------------------------------------


def build_units():
    from gridcare.org.models import Role, Unit
    from gridcare.org.services import create_staff, create_unit

    province = create_unit(name="基准省电力公司", code="BP", kind=Unit.Kind.PROVINCE)
    stations, centers = [], []
    for c in range(CITIES):
        city = create_unit(name=f"基准市{c:02d}", code=f"BP{c:02d}", kind=Unit.Kind.CITY, parent=province)
        centers.append(
            create_unit(
                name=f"基准市{c:02d}客户服务中心",
                code=f"BP{c:02d}K",
                kind=Unit.Kind.DEPARTMENT,
                parent=city,
                function=Unit.Function.CUSTOMER_SERVICE,
            )
        )
        for k in range(COUNTIES):
            county = create_unit(
                name=f"基准县{c:02d}{k}", code=f"BP{c:02d}{k}", kind=Unit.Kind.COUNTY, parent=city
            )
            for s in range(STATIONS):
                stations.append(
                    create_unit(
                        name=f"基准所{c:02d}{k}{s}",
                        code=f"BP{c:02d}{k}{s}",
                        kind=Unit.Kind.STATION,
                        parent=county,
                    )
                )
    create_staff(
        username="bench_leader",
        password="bench-statistics-1",
        full_name="省公司领导",
        roles=[(Role.MANAGER, province)],
    )
    create_staff(
        username="bench_agent",
        password="bench-statistics-1",
        full_name="基准座席",
        roles=[(Role.AGENT, centers[0])],
    )
    return province, centers, stations


ORDERS_SQL = """
INSERT INTO workorders_workorder (
  number, order_type, subtype, channel, state, priority, caller_name, caller_phone, address, area_class,
  customer_class, content, complaint_class, suspended_from, urge_count, escalation_tier, warning_level,
  reply, problem_solved, cause_analysis, preventive_measures, accountability, callback_required,
  satisfaction, version, created_at, updated_at, accepted_unit_id, assigned_unit_id,
  idempotency_fingerprint, callback_attempts, callback_result, at_fault, closed_at)
SELECT 'B' || lpad(g::text, 10, '0'), t, '', ch, st, 0, '', '', '', ac, 'residential', '', '', '', 0, 0,
       CASE WHEN st IN ('accepted', 'dispatched', 'in_progress') AND r3 < 0.2 THEN 3 ELSE 0 END,
       '', '', '', '', '', cb, CASE WHEN cb AND st = 'archived' THEN sat ELSE '' END, 1, at, at,
       center, CASE WHEN t IN ('consultation', 'bill_query') AND r3 < 0.7 THEN NULL ELSE station END,
       '', 0, '', t = 'complaint' AND r3 < 0.3,
       CASE WHEN st IN ('archived', 'merged', 'cancelled') THEN at + interval '3 hours' END
FROM (
  SELECT g,
         %(start)s::timestamptz + (g - %(first)s) * %(step)s * interval '1 second' AS at,
         (ARRAY['fault_repair','fault_repair','fault_repair','consultation','consultation','bill_query',
                'complaint','service_request','business','praise','opinion','report'])[1 + floor(random() * 12)::int] AS t,
         (ARRAY['hotline','hotline','hotline','ivr','web','wechat','regulator_12398','counter'])[1 + floor(random() * 8)::int] AS ch,
         CASE WHEN g > %(open_after)s AND random() < 0.6
              THEN (ARRAY['accepted','dispatched','in_progress','replied','reviewed'])[1 + floor(random() * 5)::int]
              ELSE (ARRAY['archived','archived','archived','archived','archived','archived','archived','archived',
                          'archived','archived','archived','archived','archived','archived','archived','archived',
                          'archived','archived','merged','cancelled'])[1 + floor(random() * 20)::int] END AS st,
         (ARRAY['urban','urban','rural','rural','remote'])[1 + floor(random() * 5)::int] AS ac,
         random() < 0.6 AS cb,
         (ARRAY['satisfied','satisfied','satisfied','satisfied','basically','dissatisfied'])[1 + floor(random() * 6)::int] AS sat,
         random() AS r3,
         (%(stations)s::bigint[])[1 + floor(random() * %(n_stations)s)::int] AS station,
         (%(centers)s::bigint[])[1 + floor(random() * %(n_centers)s)::int] AS center
  FROM generate_series(%(first)s, %(last)s) g
) s
"""

DEADLINES_SQL = """
INSERT INTO workorders_deadline (milestone, started_at, due_at, met_at, provisional, warning_level, policy_id, order_id)
SELECT m, o.created_at, o.created_at + (CASE o.area_class WHEN 'urban' THEN 45 WHEN 'rural' THEN 90 ELSE 120 END
          * (CASE m WHEN 'arrive' THEN 1 ELSE 4 END)) * interval '1 minute',
       CASE WHEN o.state IN ('accepted', 'dispatched') OR random() < 0.03 THEN NULL
            ELSE o.created_at + (10 + random() * (CASE m WHEN 'arrive' THEN 100 ELSE 400 END)) * interval '1 minute' END,
       false, 0, %(policy)s, o.id
FROM workorders_workorder o CROSS JOIN (VALUES ('arrive'), ('restore')) AS ms(m)
WHERE o.order_type = 'fault_repair' AND o.id BETWEEN %(low)s AND %(high)s
"""

CALLS_SQL = """
INSERT INTO hotline_call (
  call_id, caller_number, called_line, state, note, abandon_inferred, abandoned_in, arrived_at, call_date,
  outcome, recording_ref, short_abandon, transfers_count, unit_id, queued_at, answered_at, abandoned_at,
  ended_at, wrapped_up_at, wait_seconds, talk_seconds, wrap_up_seconds)
SELECT 'bc' || g, '139' || lpad((floor(random() * 3000000))::int::text, 8, '0'), '95598', 'ended', '', false,
       CASE WHEN ans THEN '' ELSE 'queue' END, at, (at AT TIME ZONE 'Asia/Shanghai')::date,
       CASE WHEN ans THEN 'answered' ELSE 'abandoned' END, '', NOT ans AND wait < 5, 0, unit, at,
       CASE WHEN ans THEN at + wait * interval '1 second' END,
       CASE WHEN NOT ans THEN at + wait * interval '1 second' END,
       at + (wait + CASE WHEN ans THEN talk ELSE 0 END) * interval '1 second',
       CASE WHEN ans THEN at + (wait + talk + wrap) * interval '1 second' END,
       wait, CASE WHEN ans THEN talk END, CASE WHEN ans THEN wrap END
FROM (
  SELECT g, %(start)s::timestamptz + (g - %(first)s) * %(step)s * interval '1 second' AS at,
         random() < 0.9 AS ans, floor(random() * random() * 90)::int AS wait,
         30 + floor(random() * 400)::int AS talk, 10 + floor(random() * 100)::int AS wrap,
         (%(centers)s::bigint[])[1 + floor(random() * %(n_centers)s)::int] AS unit
  FROM generate_series(%(first)s, %(last)s) g
) s
"""

SOURCE_TABLES = ["workorders_workorder", "workorders_deadline", "hotline_call"]


def populate(args: argparse.Namespace, stations, centers, start: dt.datetime, end: dt.datetime) -> None:
    from django.db import connection

    from gridcare.workorders.models import TimeLimitPolicy

    policy = TimeLimitPolicy.objects.order_by("pk").first()
    chunk = 1_000_000
    with connection.cursor() as cursor:
        cursor.execute("SELECT setseed(0.17)")
        for table in SOURCE_TABLES:
            cursor.execute(f"ALTER TABLE {table} DISABLE TRIGGER USER")
        step = (end - start).total_seconds() / args.orders
        for first in range(1, args.orders + 1, chunk):
            last = min(args.orders, first + chunk - 1)
            began = time.perf_counter()
            cursor.execute(
                ORDERS_SQL,
                {
                    "start": start + dt.timedelta(seconds=(first - 1) * step),
                    "first": first,
                    "last": last,
                    "step": step,
                    "open_after": int(args.orders * 0.995),
                    "stations": [s.pk for s in stations],
                    "n_stations": len(stations),
                    "centers": [c.pk for c in centers],
                    "n_centers": len(centers),
                },
            )
            cursor.execute(
                "SELECT min(id), max(id) FROM workorders_workorder WHERE number >= %s", [f"B{first:010d}"]
            )
            low, high = cursor.fetchone()
            cursor.execute(DEADLINES_SQL, {"policy": policy.pk, "low": low, "high": high})
            print(f"  orders {last:>11,} ({time.perf_counter() - began:.1f} s)", flush=True)
        step = (end - start).total_seconds() / args.calls
        for first in range(1, args.calls + 1, 2 * chunk):
            last = min(args.calls, first + 2 * chunk - 1)
            began = time.perf_counter()
            cursor.execute(
                CALLS_SQL,
                {
                    "start": start + dt.timedelta(seconds=(first - 1) * step),
                    "first": first,
                    "last": last,
                    "step": step,
                    "centers": [c.pk for c in centers],
                    "n_centers": len(centers),
                },
            )
            print(f"  calls  {last:>11,} ({time.perf_counter() - began:.1f} s)", flush=True)
        for table in SOURCE_TABLES:
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
        cursor.execute("CREATE TABLE bench_statistics_sizes (orders bigint, calls bigint, months int)")
        cursor.execute(
            "INSERT INTO bench_statistics_sizes VALUES (%s, %s, %s)", [args.orders, args.calls, args.months]
        )
    with connection.cursor() as cursor:
        connection.ensure_connection()
        old = connection.connection.autocommit
        connection.connection.autocommit = True
        cursor.execute("VACUUM ANALYZE")
        connection.connection.autocommit = old


# --- measuring -----------------------------------------------------------------------------------

FLOOR_SQL = """
SELECT span, e.key, sum((e.value->>0)::numeric), sum((e.value->>1)::bigint),
       sum((e.value->>2)::numeric), sum((e.value->>3)::bigint)
FROM (SELECT c.parts, s.span FROM quality_rollupcell c
      JOIN unnest(%(starts)s::bigint[], %(spans)s::int[], %(hours)s::int[]) AS s(start, span, hours)
        ON s.start = c.start AND s.hours = c.hours
      WHERE c.unit_id = %(unit)s) cells,
     jsonb_each(cells.parts) e
WHERE e.key = ANY(%(metrics)s)
GROUP BY span, e.key
"""


def timings(call, runs: int) -> common.Latency:
    call()  # warm
    return common.Latency([common.timed_ms(call)[0] for _ in range(runs)])


def floor_for(unit, spans, chosen):
    """The raw SQL that reads the rows a page's reports read — the buckets of its days (and the
    stocks'), the stamps of its hours, the unit's cells of those days (and its stock cell) — and
    adds the parts up per metric and period in the database: three statements, nothing checked or
    assembled in Python."""
    from django.db import connection

    from gridcare.quality import rollups

    starts, which, hours = [], [], []
    for i, span in enumerate(spans):
        day = span.start
        while day < span.end:
            starts.append(rollups.day_hour(day))
            which.append(i)
            hours.append(24)
            day += dt.timedelta(days=1)
    ranges = [(rollups.day_hour(s.start), rollups.day_hour(s.end)) for s in spans]
    if any(side.stock for m in chosen for side in rollups.sides_of(m)):
        # The stock cell (customers now) is read once, as the page does.
        start, span_hours = rollups.STOCK_BUCKET
        starts.append(start)
        which.append(-1)
        hours.append(span_hours)
        ranges.append((start, start + 1))

    def run():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT start, hours, generation, metrics FROM quality_rollupbucket "
                "WHERE (hours = 24 AND start = ANY(%s)) OR (hours = 0 AND start = -1)",
                [starts],
            )
            cursor.fetchall()
            cursor.execute(
                "SELECT hour, generation FROM quality_rollupstamp WHERE "
                + " OR ".join(["(hour >= %s AND hour < %s)"] * len(ranges)),
                [x for r in ranges for x in r],
            )
            cursor.fetchall()
            cursor.execute(
                FLOOR_SQL,
                {
                    "starts": starts,
                    "spans": which,
                    "hours": hours,
                    "unit": unit.pk,
                    "metrics": [str(m.pk) for m in chosen],
                },
            )
            return cursor.fetchall()

    return run


def measure_pages(args, province, leader, month: tuple) -> dict:
    from django.test import Client

    from gridcare.core.clock import LOCAL_TZ
    from gridcare.quality import statistics

    client = Client()
    client.force_login(leader)
    out = {}
    for label, day in month:
        for area in ("hotline", "orders", "repair", "complaints", "callbacks"):
            url = f"/quality/statistics/?area={area}&period=month&date={day.isoformat()}&unit={province.pk}"
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
            page = timings(lambda url=url: client.get(url), args.runs)
            span = statistics.period_of("month", day)
            chosen = [m for m in statistics.in_force(span.start) if m.area == area]
            figures = timings(
                lambda chosen=chosen, span=span: statistics.reports(chosen, leader, province, span), args.runs
            )
            today = dt.datetime.now(LOCAL_TZ).date()
            now_span, previous, year_before = span.to_date(today)
            whole = [now_span, previous, year_before]
            floor = timings(floor_for(province, whole, chosen), args.runs)
            out[(label, area)] = (page, figures, floor)
            print(
                f"  {label:<13} {area:<10} page {page.p50:7.1f} ms (p95 {page.p95:6.1f})   figures {figures.p50:6.1f} ms"
                f"   floor {floor.p50:5.2f} ms   figures/floor {figures.p50 / floor.p50:5.1f}×   page/floor {page.p50 / floor.p50:5.1f}×",
                flush=True,
            )
    return out


def measure_raw_kpi(args, province, leader, span) -> list[tuple]:
    from django.db import connection

    from gridcare.quality import rollups, statistics

    rows = []
    hand = {
        "complaints": (
            "SELECT count(*) FROM workorders_workorder WHERE order_type = 'complaint' "
            "AND state NOT IN ('merged', 'cancelled') AND created_at >= %(a)s AND created_at < %(b)s "
            "AND (assigned_unit_id IN (SELECT id FROM org_unit WHERE path LIKE %(p)s) "
            "OR (assigned_unit_id IS NULL AND accepted_unit_id IN (SELECT id FROM org_unit WHERE path LIKE %(p)s)))"
        ),
        "answer_rate": (
            "SELECT count(*) FILTER (WHERE outcome = 'answered'), count(*) FROM hotline_call "
            "WHERE NOT short_abandon AND arrived_at >= %(a)s AND arrived_at < %(b)s "
            "AND unit_id IN (SELECT id FROM org_unit WHERE path LIKE %(p)s)"
        ),
    }
    for code, sql in hand.items():
        metric = statistics.metric_in_force(code)

        def by_rows(metric=metric):
            num = statistics._side(metric, "numerator", None, leader, province, span, None)
            den = None
            if metric.denominator is not None:
                den = statistics._side(metric, "denominator", None, leader, province, span, None)
            return num, den

        def by_reader(metric=metric):
            reader = rollups.Reader([rollups.Want(metric, province, span.since, span.until)], leader)
            plan = rollups.Plan([], ((rollups.epoch_hour(span.since), rollups.epoch_hour(span.until)),))
            return reader._raw([plan])

        def by_hand(sql=sql):
            with connection.cursor() as cursor:
                cursor.execute(sql, {"a": span.since, "b": span.until, "p": province.path + "%"})
                return cursor.fetchone()

        got_rows, got_hand = by_rows(), by_hand()
        assert int(got_rows[0][1]) == got_hand[0], (code, got_rows, got_hand)
        a, b, c = timings(by_rows, args.runs), timings(by_reader, args.runs), timings(by_hand, args.runs)
        rows.append((code, a, b, c))
        print(
            f"  {code:<12} rows {a.p50:8.1f} ms   one-query {b.p50:8.1f} ms   hand SQL {c.p50:8.1f} ms"
            f"   rows/SQL {a.p50 / c.p50:4.2f}×   one-query/SQL {b.p50 / c.p50:4.2f}×",
            flush=True,
        )
    return rows


def measure_wall(args, province) -> common.Latency:
    from django.test import Client

    from gridcare.quality.models import WallScreen

    _screen, key = WallScreen.issue(name="基准大屏", unit=province)
    client = Client()
    assert client.get(f"/quality/wall/open/{key}/").status_code in (200, 302)
    assert client.get("/quality/wall/data/").status_code == 200
    wall = timings(lambda: client.get("/quality/wall/data/"), args.runs)
    print(f"  wall refresh   {wall}", flush=True)
    return wall


def keep_up(args, agent, seconds: float, triggers: bool) -> dict:
    """50 orders/s through the intake service and 10 updates/s of earlier days' orders for
    ``seconds``, the refresher every 10 s (when ``triggers``)."""
    from django.db import connection, connections

    from gridcare.quality import rollups
    from gridcare.workorders.models import WorkOrder
    from gridcare.workorders.services import Intake, create_work_order

    with connection.cursor() as cursor:
        for table in SOURCE_TABLES:
            cursor.execute(f"ALTER TABLE {table} {'ENABLE' if triggers else 'DISABLE'} TRIGGER USER")
    old_ids = list(
        WorkOrder.objects.filter(state="archived", callback_required=True)
        .order_by("-pk")
        .values_list("pk", flat=True)[:5000]
    )
    latencies: list[float] = []
    refreshes: list[tuple[float, int, int]] = []
    stop = time.monotonic() + seconds
    errors: list[str] = []

    def intake(worker: int) -> None:
        n = 0
        began = time.monotonic()
        try:
            while time.monotonic() < stop:
                due = began + n / 25  # 2 workers × 25/s
                if time.monotonic() < due:
                    time.sleep(due - time.monotonic())
                t = time.perf_counter()
                create_work_order(
                    actor=agent,
                    intake=Intake(
                        order_type="consultation",
                        channel="hotline",
                        content="基准咨询：电费缴纳方式",
                        caller_name="基准客户",
                        caller_phone=f"1380000{worker}{n % 1000:03d}",
                        address="基准路1号",
                    ),
                )
                latencies.append((time.perf_counter() - t) * 1000)
                if n % 5 == 0 and old_ids:
                    WorkOrder.objects.filter(pk=old_ids[(n // 5 + worker * 2500) % len(old_ids)]).update(
                        satisfaction="basically"
                    )
                n += 1
        except Exception as exc:  # reported below
            errors.append(repr(exc))
        finally:
            connections.close_all()

    def refresher() -> None:
        try:
            while time.monotonic() < stop:
                t = time.perf_counter()
                done = rollups.refresh()
                refreshes.append((time.perf_counter() - t, done.built, done.pending))
                time.sleep(max(0.0, 10 - (time.perf_counter() - t)))
        except Exception as exc:
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=intake, args=(i,)) for i in range(2)]
    if triggers:
        threads.append(threading.Thread(target=refresher))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise SystemExit(f"keep-up run failed: {errors[:3]}")
    with connection.cursor() as cursor:
        for table in SOURCE_TABLES:
            cursor.execute(f"ALTER TABLE {table} ENABLE TRIGGER USER")
    return {"latency": common.Latency(latencies), "rate": len(latencies) / seconds, "refreshes": refreshes}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    url = os.environ.get("DATABASE_URL", "")
    name, reuse = open_database(args)
    sessions = production_sessions()
    common.setup_django(require_postgresql=True)
    from django.core.management import call_command

    from gridcare.core.clock import LOCAL_TZ
    from gridcare.org.models import Unit, User
    from gridcare.quality import rollups, statistics

    before = common.conditions()
    timings_s: dict[str, float] = {}
    today = dt.datetime.now(LOCAL_TZ).date()
    end = dt.datetime.now(LOCAL_TZ) - dt.timedelta(hours=2)
    start = dt.datetime.combine(
        statistics._add_months(today.replace(day=1), -args.months), dt.time(), tzinfo=LOCAL_TZ
    )
    with common.stopwatch("migrate", timings_s):
        call_command("migrate", verbosity=0)
    if not reuse:
        with common.stopwatch("units", timings_s):
            province, centers, stations = build_units()
        with common.stopwatch(f"load {args.orders:,} orders and {args.calls:,} calls", timings_s):
            populate(args, stations, centers, start, end)
    rollups.install_triggers()  # a kept database: the triggers of this version of GridCare
    province = Unit.objects.get(code="BP")
    leader = User.objects.get(username="bench_leader")
    agent = User.objects.get(username="bench_agent")
    if not reuse:
        with common.stopwatch("roll-up build (whole history)", timings_s):
            done = rollups.refresh()
        print(f"  {done.built} buckets, {done.cells} cells", flush=True)
    else:
        done = rollups.refresh()
        print(f"roll-ups brought up to date: {done.built} buckets in {done.seconds:.1f} s", flush=True)

    last_month = statistics._add_months(today.replace(day=1), -1)
    print("== monthly statistics page, whole province (server time, in-process) ==")
    pages = measure_pages(args, province, leader, [("last month", last_month), ("month to date", today)])
    print("== a KPI from raw rows (no cells), last month, whole province ==")
    kpis = measure_raw_kpi(args, province, leader, statistics.period_of("month", last_month))
    print("== the command wall ==")
    wall = measure_wall(args, province)
    print(f"== keeping up: 50 orders/s for {args.intake_seconds:.0f} s, 10 updates/s of earlier days ==")
    control = keep_up(args, agent, args.intake_seconds, triggers=False)
    print(
        f"  control (triggers off): {control['rate']:.1f} orders/s, intake {control['latency']}", flush=True
    )
    loaded = keep_up(args, agent, args.intake_seconds, triggers=True)
    print(f"  triggers on:            {loaded['rate']:.1f} orders/s, intake {loaded['latency']}", flush=True)
    for seconds, built, pending in loaded["refreshes"]:
        print(f"    refresh {seconds * 1000:8.1f} ms  built {built:3d}  left stale {pending}")
    left = rollups.stale_buckets()
    caught_up = rollups.refresh()
    final = rollups.stale_buckets()
    print(
        f"  after the load: {len(left)} buckets stale (the last seconds of updates); one refresh rebuilt "
        f"{caught_up.built} in {caught_up.seconds:.2f} s; stale now: {len(final)}"
    )

    print("== summary ==")
    worst_page = max(p.p50 for p, _f, _fl in pages.values())
    closed = {k: v for k, v in pages.items() if k[0] == "last month"}
    worst_ratio = max(f.p50 / fl.p50 for _p, f, fl in closed.values())
    running = max(f.p50 / fl.p50 for k, (_p, f, fl) in pages.items() if k[0] != "last month")
    worst_kpi = max(a.p50 / c.p50 for _code, a, _b, c in kpis)
    print(
        f"monthly page p50, worst area: {worst_page:.1f} ms (target ≤ 300)  {common.verdict(worst_page <= 300)}"
    )
    print(
        f"figures ÷ floor, last month, worst area: {worst_ratio:.1f}× (target ≤ 3×)  "
        f"{common.verdict(worst_ratio <= 3)}"
    )
    print(
        f"figures ÷ floor, month to date, worst area: {running:.1f}× (the floor reads cells only; the page "
        "also counts the running hour from its rows)"
    )
    print(
        f"KPI from rows ÷ hand SQL, worst: {worst_kpi:.2f}× (target ≤ 3×)  {common.verdict(worst_kpi <= 3)}"
    )
    print(f"wall refresh p50: {wall.p50:.1f} ms (target ≤ 200)  {common.verdict(wall.p50 <= 200)}")
    worst_refresh = max((s for s, _b, _p in loaded["refreshes"]), default=0.0)
    print(
        f"roll-ups under 50 orders/s: intake {loaded['rate']:.1f}/s, slowest refresh {worst_refresh:.2f} s "
        f"(every 10 s), stale left {len(final)}  "
        f"{common.verdict(worst_refresh < 10 and loaded['rate'] >= 45 and not final)}"
    )
    common.print_conditions(before, common.conditions(), runs=args.runs, sessions=sessions)
    if not args.keep_db:
        drop_database(name, url)


if __name__ == "__main__":
    main()
