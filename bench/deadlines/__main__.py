"""bench/deadlines: `gridcare check-deadlines` over N open orders, beside the raw SQL floor.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gridcare python -m bench.deadlines --orders 1000000
    python -m bench.deadlines --smoke

Works in a scratch database ``<dbname>_deadlines`` on the same server (created, then dropped):
migrate, seed the demo county, write N open orders with deadlines and history as the engine
would have (bulk COPY, see populate.py) such that every warning falling due in the last
``--missed-minutes`` has not been raised yet, then, with the clock held at that instant:

1. the floor: the single raw SQL statement that reads the due deadlines with their orders;
2. the sweep: ``call_command("check_deadlines")`` (deadlines.raise_due_warnings), timed;
3. correctness: it raised exactly the due levels, one history row per (deadline, level) — and
   every raised level of every deadline has exactly one — and nothing is due afterwards;
4. a second sweep raises nothing: warning events and messages are counted before and after.

Targets (BENCHMARKS.md): sweep under 10 s for 1,000,000 open orders on an ordinary day, and at
most 5 × the floor.
"""

from __future__ import annotations

import argparse
import io
import re
import statistics
import sys
import time

from bench import common
from bench.intake.scratch import scratch_database

FLOOR_SQL = """
SELECT d.id, d.order_id, d.milestone, d.policy_id, d.warning_level, d.started_at, d.due_at,
       o.number, o.order_type, o.customer_id, o.transformer_area_id, o.assignee_id,
       o.assigned_unit_id, o.accepted_unit_id
  FROM workorders_deadline d JOIN workorders_workorder o ON o.id = d.order_id
 WHERE d.met_at IS NULL AND d.paused_at IS NULL AND d.next_warning_at IS NOT NULL
   AND d.next_warning_at <= %s
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.deadlines", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--orders", type=int, default=1_000_000, help="open orders to write (default 1,000,000)"
    )
    parser.add_argument("--customers", type=int, default=20_000, help="customers in the demo county")
    parser.add_argument(
        "--missed-minutes",
        type=float,
        default=30,
        help="the worker stopped raising warnings this long ago; what fell due since is due now (default 30)",
    )
    parser.add_argument("--floor-runs", type=int, default=3, help="runs of the raw SQL floor (median)")
    parser.add_argument("--smoke", action="store_true", help="tiny size for CI (3,000 orders, 300 customers)")
    parser.add_argument("--db", default=None, help="scratch database name (default <dbname>_deadlines)")
    parser.add_argument("--keep-db", action="store_true", help="keep the scratch database afterwards")
    parser.add_argument(
        "--snapshot",
        default=None,
        metavar="NAME",
        help="after writing the orders, save the database as template NAME (for repeated runs)",
    )
    parser.add_argument(
        "--from-snapshot",
        default=None,
        metavar="NAME",
        help="start from template NAME saved by --snapshot instead of writing the orders again",
    )
    args = parser.parse_args(argv)
    if args.smoke:
        args.orders, args.customers = 3_000, 300
    return args


def snapshot_file(name: str):
    from django.conf import settings

    return settings.VAR_DIR / f"bench-deadlines-{name}.json"


def save_snapshot(name: str, pop) -> None:
    from django.db import connection

    from bench.intake.scratch import copy_database

    connection.close()
    copy_database(connection.settings_dict["NAME"], name)
    pop.save(snapshot_file(name))
    print(f"saved snapshot {name}", flush=True)


def counts() -> dict[str, int]:
    from gridcare.notify.models import Message
    from gridcare.workorders.models import WorkOrderEvent

    return {
        "warning events": WorkOrderEvent.objects.filter(action="warning").count(),
        "messages": Message.objects.count(),
    }


def sweep() -> tuple[float, int]:
    from django.core.management import call_command

    out = io.StringIO()
    started = time.perf_counter()
    call_command("check_deadlines", stdout=out)
    elapsed = time.perf_counter() - started
    match = re.search(r"raised (\d+)", out.getvalue())
    return elapsed, int(match.group(1)) if match else -1


def floor(now, runs: int) -> tuple[list[float], int]:
    from django.db import connection

    times, rows = [], 0
    for _ in range(runs):
        with connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(FLOOR_SQL, [now])
            rows = len(cursor.fetchall())
            times.append(time.perf_counter() - started)
    return times, rows


def sql_value(sql: str) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql)
        return cursor.fetchone()[0]


def verify_levels() -> tuple[int, int]:
    """(pairs with more than one history row, deadlines whose rows don't match their level)."""
    twice = sql_value(
        """SELECT COUNT(*) FROM (
             SELECT order_id, data->>'milestone', data->>'level' FROM workorders_workorderevent
              WHERE action = 'warning' GROUP BY 1, 2, 3 HAVING COUNT(*) > 1) AS t"""
    )
    mismatched = sql_value(
        """SELECT COUNT(*) FROM workorders_deadline d
             LEFT JOIN (SELECT order_id, data->>'milestone' AS milestone, COUNT(*) AS n,
                               MAX((data->>'level')::int) AS top
                          FROM workorders_workorderevent WHERE action = 'warning' GROUP BY 1, 2) e
               ON e.order_id = d.order_id AND e.milestone = d.milestone
            WHERE COALESCE(e.n, 0) <> d.warning_level OR COALESCE(e.top, 0) <> d.warning_level"""
    )
    return twice, mismatched


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with scratch_database("deadlines", name=args.db, keep=args.keep_db, template=args.from_snapshot):
        common.setup_django(require_postgresql=True)
        from django.db import connection

        from gridcare.core import clock

        from .populate import Population, populate

        before = common.conditions()
        if args.from_snapshot:
            pop = Population.load(snapshot_file(args.from_snapshot))
            args.orders, args.missed_minutes = pop.orders, pop.missed_minutes
            print(f"from snapshot {args.from_snapshot}: {pop.orders:,} orders written {pop.now.isoformat()}")
        else:
            common.ensure_demo_county(args.customers)
            print(f"writing {args.orders:,} open orders (COPY) …", flush=True)
            pop = populate(args.orders, missed_minutes=args.missed_minutes)
            if args.snapshot:
                save_snapshot(args.snapshot, pop)
        print(
            f"written in {pop.seconds:.1f} s: {pop.orders:,} open orders, {pop.deadlines:,} deadlines "
            f"({pop.running:,} running), {pop.events:,} history rows"
        )
        print("  by type: " + ", ".join(f"{k} {v:,}" for k, v in sorted(pop.by_type.items())))
        print(
            f"  due now (fell due in the last {args.missed_minutes:g} min): {pop.due_levels:,} warning levels on "
            f"{pop.due_deadlines:,} deadlines of {pop.due_orders:,} orders "
            f"({pop.due_orders / max(pop.orders, 1):.1%} of the open orders)",
            flush=True,
        )
        with connection.cursor() as cursor:
            for table in ("workorders_workorder", "workorders_deadline", "workorders_workorderevent"):
                cursor.execute(f"VACUUM ANALYZE {table}")
            cursor.execute("CHECKPOINT")

        with clock.frozen(pop.now):
            floor_times, floor_rows = floor(pop.now, args.floor_runs)
            floor_s = statistics.median(floor_times)
            print(
                f"floor (raw SQL, due deadlines with their orders): {floor_rows:,} rows, "
                + ", ".join(f"{t * 1000:.0f} ms" for t in floor_times)
                + f" → median {floor_s * 1000:.0f} ms",
                flush=True,
            )
            c0 = counts()
            t1, raised1 = sweep()
            c1 = counts()
            print(f"sweep 1 (gridcare check-deadlines): {t1:.2f} s, raised {raised1:,}", flush=True)
            still_due = sql_value(
                f"SELECT COUNT(*) FROM workorders_deadline WHERE met_at IS NULL AND paused_at IS NULL "
                f"AND next_warning_at <= '{pop.now.isoformat()}'"
            )
            twice, mismatched = verify_levels()
            t2, raised2 = sweep()
            c2 = counts()
            print(f"sweep 2 (again):                    {t2:.2f} s, raised {raised2:,}", flush=True)

        new_events = c1["warning events"] - c0["warning events"]
        new_messages = c1["messages"] - c0["messages"]
        checks = {
            "the floor read every due deadline": floor_rows == pop.due_deadlines,
            "sweep 1 raised exactly the due levels": raised1 == pop.due_levels,
            "one history row per raised level": new_events == raised1,
            "notices queued for the raised levels": new_messages > 0 or raised1 == 0,
            "nothing due after sweep 1": still_due == 0,
            "no (deadline, level) with two history rows": twice == 0,
            "every deadline's history rows match its level": mismatched == 0,
            "sweep 2 raised nothing": raised2 == 0,
            "sweep 2 wrote no event and no message": c2 == c1,
        }
        after = common.conditions()
        print()
        common.print_conditions(
            before,
            after,
            runs=f"floor × {args.floor_runs}, sweep × 1 (+ the repeat)",
            size=f"{pop.orders:,} open orders, {pop.running:,} running deadlines, missed window "
            f"{args.missed_minutes:g} min",
        )
        print()
        print("== results ==")
        print(f"due warning levels:        {pop.due_levels:,} on {pop.due_deadlines:,} deadlines")
        print(f"history rows written:      {new_events:,}; messages queued: {new_messages:,}")
        print(f"floor (raw SQL read):      {floor_s * 1000:.0f} ms (median of {len(floor_times)})")
        print(f"gridcare check-deadlines:  {t1:.2f} s  ({raised1 / t1 if t1 else 0:,.0f} levels/s)")
        print(f"ratio sweep / floor:       {t1 / floor_s if floor_s else float('nan'):.1f} ×  (target ≤ 5 ×)")
        print(f"second sweep:              {t2:.2f} s, raised {raised2}")
        size_note = (
            "" if pop.orders >= 1_000_000 else f" (at {pop.orders:,} orders; the target is for 1,000,000)"
        )
        print(f"target < 10 s:             {common.verdict(t1 < 10)}{size_note}")
        print(f"target ≤ 5 × floor:        {common.verdict(t1 <= 5 * floor_s)}")
        print("== correctness ==")
        for label, ok in checks.items():
            print(f"  {common.verdict(ok)}  {label}")
        return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
