"""bench/deadlines: `gridcare check-deadlines` over N open orders, beside the raw SQL floor.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gridcare python -m bench.deadlines --orders 1000000
    python -m bench.deadlines --smoke

Works in a scratch database ``<dbname>_deadlines`` on the same server (created, then dropped):
migrate, seed the demo county, write N open orders with deadlines and history as the engine
would have (bulk COPY, see populate.py) such that every warning falling due in the last
``--missed-minutes`` has not been raised yet, then, with the clock held at that instant:

1. the read floor: the single raw SQL statement that reads the due deadlines with their orders;
2. the sweep: ``call_command("check_deadlines")`` (sweep.raise_due_warnings), timed;
3. correctness: it raised exactly the due levels, one history row per (deadline, level) — and
   every raised level of every deadline has exactly one — and nothing is due afterwards;
4. a second sweep raises nothing: warning events and messages are counted before and after;
5. the write floor: the writes sweep 1 made, replayed as raw SQL in one transaction that is
   rolled back — the same deadline rows and order rows UPDATEd from arrays (``UPDATE … FROM
   unnest``), the same history rows, outbox messages (dedup keys suffixed) and task rows sent
   with COPY as text. No level is computed, no recipient found, no text formatted: the least
   any sweep must write, on the same tables with the same indexes, constraints and triggers.
   Each run starts like sweep 1, after VACUUM and CHECKPOINT (so it pays the same full-page
   writes), and the counts are checked afterwards (the rollback left nothing behind).

A read alone is not a fair control for a sweep that must write, so both ratios are printed.
Targets (docs/benchmarks.md): sweep under 10 s for 1,000,000 open orders on an ordinary day, and at
most 5 × the (read) floor.
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


def floor(now, runs: int) -> tuple[list[float], list[tuple]]:
    from django.db import connection

    times, rows = [], []
    for _ in range(runs):
        with connection.cursor() as cursor:
            started = time.perf_counter()
            cursor.execute(FLOOR_SQL, [now])
            rows = cursor.fetchall()
            times.append(time.perf_counter() - started)
    return times, rows


# --- the write floor: sweep 1's writes replayed as raw SQL --------------------------------------

TABLES = (
    "workorders_deadline",
    "workorders_workorder",
    "workorders_workorderevent",
    "notify_message",
    "django_tasks_database_dbtaskresult",
)
TASK_PATH = "gridcare.workorders.tasks.check_deadline"


def columns(table: str, without: tuple[str, ...] = ()) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        description = connection.introspection.get_table_description(cursor, table)
    return [c.name for c in description if c.name not in without]


def marks() -> dict[str, object]:
    """Where the tables stand before sweep 1 (what it writes comes after)."""
    return {
        "event": sql_value("SELECT COALESCE(MAX(id), 0) FROM workorders_workorderevent"),
        "message": sql_value("SELECT COALESCE(MAX(id), 0) FROM notify_message"),
        "enqueued": sql_value("SELECT now()"),
    }


def order_levels(order_ids: list[int]) -> dict[int, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT id, warning_level FROM workorders_workorder WHERE id = ANY(%s)", [order_ids])
        return dict(cursor.fetchall())


def replay_of_sweep(due_rows: list[tuple], levels_before: dict[int, int], mark: dict) -> dict:
    """What sweep 1 wrote, read back (not timed) for the write floor to write again."""
    from django.db import connection

    deadline_ids = sorted({row[0] for row in due_rows})
    levels_after = order_levels(sorted(levels_before))
    lifted = sorted(pk for pk, level in levels_after.items() if level != levels_before[pk])
    replay: dict = {"lifted": [(pk, levels_after[pk]) for pk in lifted]}
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, warning_level, next_warning_at FROM workorders_deadline WHERE id = ANY(%s) ORDER BY id",
            [deadline_ids],
        )
        replay["deadlines"] = cursor.fetchall()
        event_cols = columns("workorders_workorderevent", ("id",))
        message_cols = columns("notify_message", ("id",))
        task_cols = columns("django_tasks_database_dbtaskresult")
        as_text = ", ".join

        cursor.execute(
            f"SELECT {as_text(f'{c}::text' for c in event_cols)} FROM workorders_workorderevent "  # noqa: S608
            "WHERE id > %s ORDER BY id",
            [mark["event"]],
        )
        replay["events"] = (event_cols, cursor.fetchall())
        # Messages keep their content; the dedup key gets a suffix (the originals are still there).
        cursor.execute(
            f"SELECT {as_text(f'{c}::text' if c != 'dedup_key' else 'dedup_key || %s' for c in message_cols)} "  # noqa: S608
            "FROM notify_message WHERE id > %s ORDER BY id",
            [":floor", mark["message"]],
        )
        replay["messages"] = (message_cols, cursor.fetchall())
        # Task rows keep their content under a fresh id.
        cursor.execute(
            f"SELECT {as_text(f'{c}::text' if c != 'id' else 'gen_random_uuid()::text' for c in task_cols)} "  # noqa: S608
            "FROM django_tasks_database_dbtaskresult WHERE task_path = %s AND enqueued_at >= %s",
            [TASK_PATH, mark["enqueued"]],
        )
        replay["tasks"] = (task_cols, cursor.fetchall())
    return replay


def vacuum_and_checkpoint() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        for table in TABLES:
            cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute("CHECKPOINT")


def write_floor(replay: dict, parts: dict[str, list[float]] | None = None) -> float:
    """Sweep 1's writes as raw SQL in one transaction, rolled back; returns the seconds. Each
    part's seconds are added to ``parts`` (what each kind of row costs)."""
    from django.db import connection, transaction

    def copy(cursor, table: str, cols: list[str], rows: list[tuple]) -> None:
        with cursor.cursor.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as out:
            for row in rows:
                out.write_row(row)

    vacuum_and_checkpoint()
    times: dict[str, float] = {}
    with transaction.atomic(), connection.cursor() as cursor:
        started = mark = time.perf_counter()

        def took(part: str) -> None:
            nonlocal mark
            now = time.perf_counter()
            times[part] = now - mark
            mark = now

        deadlines = replay["deadlines"]
        ids = [d[0] for d in deadlines]
        cursor.execute(
            """UPDATE workorders_deadline AS d SET warning_level = v.level, next_warning_at = v.following
                 FROM unnest(%s::bigint[], %s::int[], %s::timestamptz[]) AS v(id, level, following)
                WHERE d.id = v.id AND d.id = ANY(%s::bigint[])""",
            [ids, [d[1] for d in deadlines], [d[2] for d in deadlines], ids],
        )
        took("deadline updates")
        lifted = replay["lifted"]
        order_ids = [o[0] for o in lifted]
        cursor.execute(
            """UPDATE workorders_workorder AS o SET warning_level = v.level
                 FROM unnest(%s::bigint[], %s::int[]) AS v(id, level)
                WHERE o.id = v.id AND o.id = ANY(%s::bigint[])""",
            [order_ids, [o[1] for o in lifted], order_ids],
        )
        took("order updates")
        copy(cursor, "workorders_workorderevent", *replay["events"])
        took("history rows")
        copy(cursor, "notify_message", *replay["messages"])
        took("messages")
        copy(cursor, "django_tasks_database_dbtaskresult", *replay["tasks"])
        took("task rows")
        elapsed = time.perf_counter() - started
        transaction.set_rollback(True)
    for part, seconds in times.items():
        if parts is not None:
            parts.setdefault(part, []).append(seconds)
    return elapsed


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
            floor_times, due_rows = floor(pop.now, args.floor_runs)
            floor_rows = len(due_rows)
            floor_s = statistics.median(floor_times)
            levels_before = order_levels(sorted({row[1] for row in due_rows}))
            mark = marks()
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
            replay = replay_of_sweep(due_rows, levels_before, mark)
            write_times = []
            write_parts: dict[str, list[float]] = {}
            for _ in range(args.floor_runs):
                write_times.append(write_floor(replay, write_parts))
            c3 = counts()
            write_s = statistics.median(write_times)
            print(
                f"write floor (raw SQL, sweep 1's writes replayed, rolled back): "
                f"{len(replay['deadlines']):,} deadlines, {len(replay['lifted']):,} orders, "
                f"{len(replay['events'][1]):,} history rows, {len(replay['messages'][1]):,} messages, "
                f"{len(replay['tasks'][1]):,} tasks: "
                + ", ".join(f"{t:.2f} s" for t in write_times)
                + f" → median {write_s:.2f} s",
                flush=True,
            )
            print(
                "  of which (medians): "
                + ", ".join(f"{part} {statistics.median(t):.2f} s" for part, t in write_parts.items()),
                flush=True,
            )

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
            "the write floor replayed every row sweep 1 wrote": (
                len(replay["deadlines"]) == floor_rows
                and len(replay["events"][1]) == new_events
                and len(replay["messages"][1]) == new_messages
            ),
            "the write floor left nothing behind (rolled back)": c3 == c2,
        }
        after = common.conditions()
        print()
        common.print_conditions(
            before,
            after,
            runs=f"read floor × {args.floor_runs}, sweep × 1 (+ the repeat), write floor × {args.floor_runs}",
            size=f"{pop.orders:,} open orders, {pop.running:,} running deadlines, missed window "
            f"{args.missed_minutes:g} min",
        )
        print()
        print("== results ==")
        print(f"due warning levels:        {pop.due_levels:,} on {pop.due_deadlines:,} deadlines")
        print(f"history rows written:      {new_events:,}; messages queued: {new_messages:,}")
        both_s = floor_s + write_s
        print(f"floor (raw SQL read):      {floor_s * 1000:.0f} ms (median of {len(floor_times)})")
        print(f"write floor (raw SQL):     {write_s:.2f} s (median of {len(write_times)})")
        print(f"read + write floor:        {both_s:.2f} s")
        print(f"gridcare check-deadlines:  {t1:.2f} s  ({raised1 / t1 if t1 else 0:,.0f} levels/s)")
        print(f"ratio sweep / read floor:  {t1 / floor_s if floor_s else float('nan'):.1f} ×  (target ≤ 5 ×)")
        print(f"ratio sweep / read+write:  {t1 / both_s if both_s else float('nan'):.1f} ×")
        print(f"second sweep:              {t2:.2f} s, raised {raised2}")
        size_note = (
            "" if pop.orders >= 1_000_000 else f" (at {pop.orders:,} orders; the target is for 1,000,000)"
        )
        print(f"target < 10 s:             {common.verdict(t1 < 10)}{size_note}")
        print(f"target ≤ 5 × read floor:   {common.verdict(t1 <= 5 * floor_s)}")
        print("== correctness ==")
        for label, ok in checks.items():
            print(f"  {common.verdict(ok)}  {label}")
        return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
