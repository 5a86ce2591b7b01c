"""bench/applications: 业扩报装 with N applications in flight, each figure beside a control
measured in the same run (docs/benchmarks.md).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gridcare python -m bench.applications
    python -m bench.applications --smoke

Works in a scratch database (default ``gc_bench_applications``; created, then dropped): migrate,
seed a small demo county, then write N applications in flight in bulk (``populate``: half HV
single-supply, half LV residential, each on a timed node picked at random with the earlier nodes
done; clocks started so that a realistic share of the warnings fell due in the last
``--missed-minutes`` and have not been raised yet). Then:

(a) **node-deadline sweep** (``applications.sweep.raise_due_warnings``) against its raw SQL
    **read + write floor**: the read part is one raw SELECT of the due nodes plus one raw UPDATE of
    their warning level (in a transaction that is rolled back, so the sweep sees the same rows);
    the write part replays, after the sweep, the rows the sweep wrote — its history rows and its
    outbox messages (inbox and SMS per recipient) — as raw COPY in one transaction, with the
    foreign-key checks deferred to the commit run, rolled back (``bench.common.copy_floor``). No level computed, no recipient found, no text worded. Target:
    sweep ≤ 3 × (read + write floor); the read floor alone is printed too. Checked: every due
    node raised once, nothing due after, a second sweep raises nothing.
(b) **creating an application through the service** (``services.accept_application``: path,
    owners, clocks in working days, number, history, the customer's SMS) against the control: a
    plain Django create of the same row set with no rules — the application row, its node rows
    (``bulk_create``), one history row and the customer's SMS in the outbox, fields copied from
    what the service made, in one transaction. Target: service rate ≥ 0.5 × control rate.
(c) **the progress answer** (``queries.progress`` of a loaded application) against the raw SQL
    that reads the same: its nodes with their definitions and owner units, and the open waits,
    in one statement. Target: p95 ≤ 2 × raw p95.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time

from bench import common
from bench.intake.scratch import scratch_database

SWEEP_FLOOR_SELECT = """
SELECT n.id, n.application_id, n.kind, n.warning_level, n.counted_from, n.due_at, n.next_warning_at
  FROM applications_applicationnode n
 WHERE n.next_warning_at <= %s AND n.finished_at IS NULL AND n.paused_at IS NULL
"""
SWEEP_FLOOR_UPDATE = (
    "UPDATE applications_applicationnode SET warning_level = warning_level + 1 WHERE id = ANY(%s)"
)
PROGRESS_SQL = """
SELECT n.id, n.seq, n.kind, n.state, n.limit_days, n.started_at, n.counted_from, n.due_at, n.paused_at,
       n.finished_at, n.warning_level, p.clock_starts, p.customer_action, u.name,
       w.id, w.reason, w.note, w.started_at
  FROM applications_applicationnode n
  JOIN applications_pathnode p ON p.id = n.definition_id
  JOIN org_unit u ON u.id = n.owner_unit_id
  LEFT JOIN applications_nodewait w ON w.node_id = n.id AND w.ended_at IS NULL
 WHERE n.application_id = %s
 ORDER BY n.seq, w.started_at
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.applications", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--applications", type=int, default=50_000, help="applications in flight (default 50,000)"
    )
    parser.add_argument("--customers", type=int, default=2_000, help="customers in the demo county")
    parser.add_argument(
        "--missed-minutes", type=float, default=120, help="warnings fallen due this long ago are due"
    )
    parser.add_argument(
        "--creates", type=int, default=300, help="applications created through the service (and the control)"
    )
    parser.add_argument("--reads", type=int, default=400, help="progress answers timed (and raw reads)")
    parser.add_argument("--floor-runs", type=int, default=3, help="runs of the sweep floor (median)")
    parser.add_argument("--smoke", action="store_true", help="tiny size for CI (2,000 applications)")
    parser.add_argument("--db", default="gc_bench_applications", help="scratch database name")
    parser.add_argument("--keep-db", action="store_true", help="keep the scratch database afterwards")
    parser.add_argument("--seed", type=int, default=18)
    args = parser.parse_args(argv)
    if args.smoke:
        args.applications, args.customers, args.creates, args.reads = 2_000, 300, 40, 60
    return args


# --- the world ----------------------------------------------------------------------------------


def staff():
    """A county, two of its stations, and the people who accept and act (created once)."""
    from gridcare.org.models import Role, Unit
    from gridcare.org.services import create_staff

    county = Unit.objects.filter(kind=Unit.Kind.COUNTY).order_by("pk").first()
    stations = list(Unit.objects.filter(parent=county, kind=Unit.Kind.STATION).order_by("pk")[:2])
    clerk = create_staff(
        username="bench_yk_clerk",
        password="bench-pass-1234",
        full_name="业扩受理员",
        roles=[(Role.BUSINESS_CLERK, stations[0])],
    )
    return county, stations, clerk


def populate(args, county, stations, clerk, now: dt.datetime) -> dict:
    """N applications in flight, written in bulk as the engine would have left them."""
    from django.db import connection, transaction

    from gridcare.applications import clocks
    from gridcare.applications.models import Application, ApplicationEvent, ApplicationNode, NodePath
    from gridcare.core import calendar

    rng = random.Random(args.seed)
    hv = NodePath.objects.get(category="hv", supply="single", voltage="")
    lv = NodePath.objects.get(category="residential")
    defs = {p.pk: list(p.nodes.order_by("seq")) for p in (hv, lv)}
    missed = now - dt.timedelta(minutes=args.missed_minutes)
    due_nodes = 0
    started = time.perf_counter()
    batch = 2_000
    made = 0
    while made < args.applications:
        apps, events = [], []
        for i in range(made, min(made + batch, args.applications)):
            path = hv if i % 2 == 0 else lv
            station = stations[i % len(stations)]
            accepted = now - dt.timedelta(days=rng.uniform(1, 40))
            apps.append(
                Application(
                    number=f"YB{i:010d}",
                    app_type="new",
                    category=path.category,
                    voltage="kv10" if path is hv else "lv",
                    path=path,
                    current_node="",
                    applicant_name="测试户",
                    id_type="resident_id",
                    id_number="520102198503031234",
                    address="测试路1号",
                    contact_name="测试户",
                    contact_phone=f"137{i:08d}",
                    usage_class="large_industry" if path is hv else "residential",
                    requested_kva=630 if path is hv else 8,
                    supply_unit=station,
                    accepted_unit=station,
                    accepted_by=clerk,
                    accepted_at=accepted,
                    total_days=path.total_days,
                    total_due_at=calendar.add_working_days(accepted, path.total_days or 0).at,
                    updated_at=now,
                )
            )
        with transaction.atomic():
            Application.objects.bulk_create(apps)
            nodes = []
            for app in apps:
                definitions = defs[app.path_id]
                timed = [k for k, d in enumerate(definitions) if d.limit_days]
                current = rng.choice(timed)
                app.current_node = definitions[current].kind
                clock_at = app.accepted_at
                for k, d in enumerate(definitions):
                    node = ApplicationNode(
                        application=app,
                        seq=d.seq,
                        kind=d.kind,
                        definition=d,
                        owner_unit=county if d.owner_level == "county" else app.supply_unit,
                        owner_role=d.owner_role,
                        limit_days=d.limit_days,
                    )
                    if k < current:
                        clock_at = clock_at + dt.timedelta(hours=rng.uniform(2, 30))
                        node.state, node.opened_at, node.finished_at = "done", clock_at, clock_at
                        if d.limit_days:
                            node.started_at = node.counted_from = clock_at - dt.timedelta(hours=20)
                            node.due_at = calendar.add_working_days(node.counted_from, d.limit_days).at
                            node.warning_level = 0
                    elif k == current:
                        node.state, node.opened_at = "open", clock_at
                        # A span of the limit already used: most early, some near or past due.
                        span = calendar.add_working_days(now, d.limit_days).at - now
                        used = rng.choice([rng.uniform(0, 0.5), rng.uniform(0.4, 1.1), rng.uniform(0, 1.2)])
                        node.started_at = node.counted_from = now - span * used
                        clocks._count(node)
                        times = clocks.warning_times(node)
                        node.warning_level = sum(1 for t in times if t <= missed)
                        node.next_warning_at = times[node.warning_level] if node.warning_level < 3 else None
                        node.definition = d
                        if node.next_warning_at is not None and node.next_warning_at <= now:
                            due_nodes += 1
                    nodes.append(node)
                events.append(
                    ApplicationEvent(
                        application=app,
                        node="accept",
                        action="accept",
                        to_state="in_progress",
                        at=app.accepted_at,
                        actor=clerk,
                    )
                )
            ApplicationNode.objects.bulk_create(nodes, batch_size=5_000)
            ApplicationEvent.objects.bulk_create(events)
            Application.objects.bulk_update(apps, ["current_node"], batch_size=2_000)
        made += len(apps)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE applications_applicationnode")
        cursor.execute("VACUUM ANALYZE applications_application")
    elapsed = time.perf_counter() - started
    print(
        f"populated {made:,} applications in {elapsed:.1f} s ({due_nodes:,} nodes with a warning due)",
        flush=True,
    )
    return {"applications": made, "due": due_nodes}


# --- (a) the sweep ------------------------------------------------------------------------------


def sweep_floor(now: dt.datetime, runs: int) -> tuple[list[float], int]:
    from django.db import connection, transaction

    times, n = [], 0
    for _ in range(runs):
        try:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    t0 = time.perf_counter()
                    cursor.execute(SWEEP_FLOOR_SELECT, [now])
                    rows = cursor.fetchall()
                    cursor.execute(SWEEP_FLOOR_UPDATE, [[r[0] for r in rows]])
                    times.append(time.perf_counter() - t0)
                    n = len(rows)
                raise _Rollback
        except _Rollback:
            pass
    return times, n


class _Rollback(Exception):
    pass


def max_ids() -> dict[str, int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM applications_applicationevent")
        events = cursor.fetchone()[0]
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM notify_message")
        messages = cursor.fetchone()[0]
    return {"event": events, "message": messages}


def _columns(table: str) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        return [
            c.name for c in connection.introspection.get_table_description(cursor, table) if c.name != "id"
        ]


def replay_of_sweep(mark: dict[str, int]) -> dict[str, tuple[list[str], list[tuple]]]:
    """What the sweep wrote (history rows, outbox messages), read back as text (not timed); the
    messages' dedup keys get a suffix (the originals are still there)."""
    from django.db import connection

    out = {}
    with connection.cursor() as cursor:
        for key, table, extra in (
            ("event", "applications_applicationevent", ""),
            ("message", "notify_message", ":floor"),
        ):
            cols = _columns(table)
            select = ", ".join(f"{c}::text" if c != "dedup_key" else "dedup_key || %s" for c in cols)
            params: list = [extra] if "dedup_key" in cols else []
            cursor.execute(
                f"SELECT {select} FROM {table} WHERE id > %s ORDER BY id",  # noqa: S608 - names from the schema
                [*params, mark[key]],
            )
            out[table] = (cols, cursor.fetchall())
    return out


def write_floor(replay: dict[str, tuple[list[str], list[tuple]]], runs: int) -> list[float]:
    """The sweep's rows written again as raw COPY in one transaction, rolled back."""
    return common.copy_floor(replay, runs)


def run_sweep(now: dt.datetime) -> tuple[float, int]:
    from gridcare.applications import sweep
    from gridcare.core import clock

    with clock.frozen(now):
        t0 = time.perf_counter()
        moved = sweep.raise_due_warnings(now)
        return time.perf_counter() - t0, moved


# --- (b) creating -------------------------------------------------------------------------------


def intake(i: int):
    from decimal import Decimal

    from gridcare.applications import services

    return services.Intake(
        app_type="new",
        applicant_name="陈光明",
        id_type="resident_id",
        id_number="520102198503031234",
        address=f"城关镇东风路{i}号",
        contact_name="陈光明",
        contact_phone="13700001111",
        usage_class="large_industry" if i % 2 else "residential",
        requested_kva=Decimal("630") if i % 2 else Decimal("8"),
    )


def create_service(clerk, n: int, now: dt.datetime) -> float:
    from gridcare.applications import services
    from gridcare.core import clock

    with clock.frozen(now):
        t0 = time.perf_counter()
        for i in range(n):
            services.accept_application(actor=clerk, intake=intake(i))
        return time.perf_counter() - t0


def create_control(clerk, n: int, now: dt.datetime, templates: dict, offset: int = 0) -> float:
    """The same row set as the service writes (the application, its nodes, one history row, the
    customer's SMS in the outbox, the callback due the next working day), created plainly: fields
    copied from what the service made, no path chosen, no clock counted, no number taken, no
    dedup looked up, no calendar read."""
    from django.db import transaction

    from gridcare.applications.models import (
        Application,
        ApplicationCallback,
        ApplicationEvent,
        ApplicationNode,
    )
    from gridcare.notify.models import Message

    t0 = time.perf_counter()
    for i in range(n):
        app_fields, node_fields, message_fields = templates[i % 2]
        with transaction.atomic():
            app = Application.objects.create(
                **{**app_fields, "number": f"CT{offset + i:010d}", "accepted_at": now, "updated_at": now}
            )
            ApplicationNode.objects.bulk_create(ApplicationNode(application=app, **f) for f in node_fields)
            ApplicationEvent.objects.create(
                application=app, node="accept", action="accept", to_state="in_progress", at=now, actor=clerk
            )
            Message.objects.create(
                **{**message_fields, "about_id": app.number, "dedup_key": f"ct:{app.number}"}
            )
            ApplicationCallback.objects.create(
                application=app,
                node="accept",
                unit_id=app.supply_unit_id,
                node_done_at=now,
                due_from=now + dt.timedelta(days=1),
                due_at=now + dt.timedelta(days=1, hours=12),
            )
    return time.perf_counter() - t0


def templates_of(numbers: list[str]) -> dict:
    """The field values of an application and its nodes the service made (HV and LV)."""
    from gridcare.applications.models import Application, ApplicationNode
    from gridcare.notify.models import Message

    out = {}
    for k, number in enumerate(numbers[:2]):
        app = Application.objects.get(number=number)
        skip = {"id", "number", "idempotency_key", "accepted_at", "updated_at"}
        app_fields = {
            f.attname: getattr(app, f.attname)
            for f in Application._meta.concrete_fields
            if f.name not in skip
        }
        nodes = [
            {
                f.attname: getattr(n, f.attname)
                for f in ApplicationNode._meta.concrete_fields
                if f.name not in ("id", "application")
            }
            for n in ApplicationNode.objects.filter(application=app).order_by("seq")
        ]
        sms = Message.objects.get(about_id=number, dedup_key__endswith=":accepted")
        message = {
            f.attname: getattr(sms, f.attname) for f in Message._meta.concrete_fields if f.name != "id"
        }
        out[k] = (app_fields, nodes, message)
    return out


# --- (c) the progress answer --------------------------------------------------------------------


def progress_latencies(ids: list[int], clerk) -> tuple[list[float], list[float]]:
    from django.db import connection

    from gridcare.applications import queries
    from gridcare.applications.models import Application

    apps = {
        a.pk: a
        for a in Application.objects.filter(pk__in=ids).select_related(
            "supply_unit", "accepted_unit", "customer"
        )
    }
    ours, raw = [], []
    for pk in ids:
        app = apps[pk]
        ms, answer = common.timed_ms(lambda app=app: queries.progress(app))
        ours.append(ms)
        with connection.cursor() as cursor:
            t0 = time.perf_counter()
            cursor.execute(PROGRESS_SQL, [pk])
            rows = cursor.fetchall()
            raw.append((time.perf_counter() - t0) * 1000)
        assert len({r[0] for r in rows}) == len(answer.nodes)
    return ours, raw


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with scratch_database("applications", name=args.db, keep=args.keep_db):
        common.setup_django(require_postgresql=True)
        from gridcare.applications.models import Application, ApplicationEvent, ApplicationNode
        from gridcare.core import clock

        common.ensure_demo_county(args.customers)
        before = common.conditions()
        county, stations, clerk = staff()
        now = clock.now().replace(microsecond=0)
        pop = populate(args, county, stations, clerk, now)

        # (a) the sweep, beside its floor.
        floor_times, floor_rows = sweep_floor(now, args.floor_runs)
        read_floor_s = common.median(floor_times)
        events0 = ApplicationEvent.objects.filter(action="warning").count()
        mark = max_ids()
        t1, moved1 = run_sweep(now)
        replay = replay_of_sweep(mark)
        write_s = common.median(write_floor(replay, args.floor_runs))
        floor_s = read_floor_s + write_s
        still_due = ApplicationNode.objects.filter(
            next_warning_at__lte=now, finished_at__isnull=True, paused_at__isnull=True
        ).count()
        events1 = ApplicationEvent.objects.filter(action="warning").count()
        t2, moved2 = run_sweep(now)

        # (b) creating, service and control alternately (two rounds each, medians of the rates).
        service_rates, control_rates, templates = [], [], None
        for round_ in range(2):
            first = Application.objects.order_by("-pk").values_list("pk", flat=True).first()
            s = create_service(clerk, args.creates, now + dt.timedelta(minutes=round_))
            service_rates.append(args.creates / s)
            if templates is None:
                made = list(
                    Application.objects.filter(pk__gt=first)
                    .order_by("pk")
                    .values_list("number", flat=True)[:2]
                )
                templates = templates_of(made)
            c = create_control(
                clerk, args.creates, now + dt.timedelta(minutes=round_), templates, round_ * args.creates
            )
            control_rates.append(args.creates / c)
        service_rate, control_rate = common.median(service_rates), common.median(control_rates)

        # (c) the progress answer, beside the raw SQL read.
        rng = random.Random(args.seed + 1)
        ids = list(Application.objects.values_list("pk", flat=True))
        sample = [rng.choice(ids) for _ in range(args.reads)]
        progress_latencies(sample[:20], clerk)  # warm up
        ours, raw = progress_latencies(sample, clerk)
        p95, raw95 = common.percentile(ours, 95), common.percentile(raw, 95)

        checks = {
            "the floor read every due node": floor_rows == pop["due"],
            "sweep 1 raised every due node (≥ 1 level each)": moved1 >= pop["due"],
            "one history row per raised level": events1 - events0 == moved1,
            "nothing due after sweep 1": still_due == 0,
            "sweep 2 raised nothing": moved2 == 0,
        }
        ok_a = t1 <= 3 * floor_s if floor_s else False
        ok_b = service_rate >= 0.5 * control_rate
        ok_c = p95 <= 2 * raw95
        print()
        common.print_conditions(
            before,
            common.conditions(),
            runs=f"sweep floor × {args.floor_runs}, sweep × 1 (+ the repeat); creates {args.creates} × 2 rounds each; "
            f"progress reads {args.reads}",
            size=f"{pop['applications']:,} applications in flight, missed window {args.missed_minutes:g} min",
        )
        print()
        print("== results ==")
        print(f"(a) due nodes:                 {pop['due']:,}; levels raised {moved1:,}")
        written = ", ".join(f"{len(rows):,} {table}" for table, (_cols, rows) in replay.items())
        print(
            f"    read floor (raw SELECT+UPDATE): {read_floor_s * 1000:.0f} ms (median of {len(floor_times)})"
        )
        print(f"    write floor (raw COPY of {written}): {write_s * 1000:.0f} ms")
        print(f"    floor (read + write):      {floor_s * 1000:.0f} ms")
        print(
            f"    applications.sweep:        {t1 * 1000:.0f} ms  ratio {t1 / floor_s if floor_s else float('nan'):.2f} ×  (target ≤ 3 ×)  {'PASS' if ok_a else 'MISS'}"
        )
        print(f"    second sweep:              {t2 * 1000:.0f} ms, raised {moved2}")
        print(
            f"(b) control (plain create):    {control_rate:.1f} applications/s  ({', '.join(f'{r:.1f}' for r in control_rates)})"
        )
        print(
            f"    services.accept_application: {service_rate:.1f} applications/s  ({', '.join(f'{r:.1f}' for r in service_rates)})"
        )
        print(
            f"    ratio service / control:   {service_rate / control_rate:.2f}  (target ≥ 0.5)  {'PASS' if ok_b else 'MISS'}"
        )
        print(f"(c) raw SQL progress p50/p95:  {common.percentile(raw, 50):.2f} / {raw95:.2f} ms")
        print(f"    queries.progress p50/p95:  {common.percentile(ours, 50):.2f} / {p95:.2f} ms")
        print(
            f"    ratio p95:                 {p95 / raw95:.2f} ×  (target ≤ 2 ×)  {'PASS' if ok_c else 'MISS'}"
        )
        print("== correctness ==")
        for label, ok in checks.items():
            print(f"  {common.verdict(ok)}  {label}")
        return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
