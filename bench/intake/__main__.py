"""bench/intake: work orders created over HTTP per second, GridCare beside a bare control.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gridcare python -m bench.intake
    python -m bench.intake --smoke

In a scratch database ``<dbname>_intake`` on the same server (created, then dropped): migrate,
seed the demo county (20,000 customers), give a hotline agent at the province an API token, and
serve two apps with the same command, ``gunicorn <app>.wsgi -w 2 -b 127.0.0.1:PORT``:

- GridCare: ``POST /api/v1/work-orders`` — customer lookup in scope, policy, deadlines, history,
  idempotency, scheduled warning checks;
- the control (bench/control, docs/benchmarks.md rule 1): a bare django-ninja endpoint that validates a
  small pydantic body, checks the bearer token against a hash (no query) and INSERTs one row.

16 clients (threads, 127.0.0.1 only) send fault repairs and complaints for random customers by
account number, each with a fresh Idempotency-Key; every 10th request is sent again with its key.
Control and GridCare run alternately, twice each. Afterwards the orders are counted: every 2xx
answer's number exists (nothing lost), a retried key answered the same number, and there are
exactly as many orders as keys (nothing duplicated).

Targets: GridCare ≥ 0.5 × the control's orders/s and p99 ≤ 3 × the control's p99; on an ordinary
day ≥ 300 orders/s with p99 < 250 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

from bench import common
from bench.intake.load import Run, describe, drive
from bench.intake.scratch import scratch_database
from bench.servers import free_port, pythonpath, start_server, stop_server

ROOT = Path(__file__).resolve().parents[2]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.intake", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--requests", type=int, default=6000, help="first-time requests per run (default 6000)"
    )
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--runs", type=int, default=2, help="runs of each server, alternating (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers (default 2)")
    parser.add_argument("--customers", type=int, default=20_000, help="customers in the demo county")
    parser.add_argument("--warmup", type=int, default=100, help="untimed requests per server before each run")
    parser.add_argument("--max-seconds", type=float, default=300, help="time bound of one run (default 300)")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny size for CI (150 requests a run, 300 customers)"
    )
    parser.add_argument("--db", default=None, help="scratch database name (default <dbname>_intake)")
    parser.add_argument("--keep-db", action="store_true", help="keep the scratch database afterwards")
    args = parser.parse_args(argv)
    if args.smoke:
        args.requests, args.customers, args.warmup = 150, 300, 20
    return args


def check_gridcare(runs: list[Run], user_pk: int, prefix: str) -> dict[str, bool | str]:
    from gridcare.workorders.models import WorkOrder

    numbers_by_key: dict[str, set[str]] = {}
    bad = []
    for run in runs:
        for r in run.results:
            if 200 <= r.status < 300 and r.number:
                numbers_by_key.setdefault(r.key, set()).add(r.number)
            else:
                bad.append(r)
            if r.retry and r.status != 200:
                bad.append(r)
    answered = {n for numbers in numbers_by_key.values() for n in numbers}
    stored = dict(
        WorkOrder.objects.filter(idempotency_key__startswith=f"{user_pk}:{prefix}").values_list(
            "idempotency_key", "number"
        )
    )
    stored_numbers = set(stored.values())
    lost = answered - stored_numbers
    split = [k for k, v in numbers_by_key.items() if len(v) > 1]
    mismatched = [k for k, v in numbers_by_key.items() if stored.get(f"{user_pk}:{k}") not in v]
    return {
        "answers": f"{sum(len(r.results) for r in runs):,} requests, {len(numbers_by_key):,} keys, "
        f"{len(stored):,} orders stored",
        "every request answered 2xx (a retry 200)": not bad and not any(r.errors for r in runs),
        "nothing lost (every answered number stored)": not lost,
        "a retried key answered the same number": not split,
        "one order per key (orders == distinct keys)": len(stored) == len(numbers_by_key) and not mismatched,
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with scratch_database("intake", name=args.db, keep=args.keep_db) as url:
        common.setup_django(require_postgresql=True)
        from django.db import connection

        from gridcare.customers.models import Customer
        from gridcare.org.models import Role, Unit
        from gridcare.org.services import create_staff, issue_token

        before = common.conditions()
        common.ensure_demo_county(args.customers)
        base_env = dict(os.environ, DATABASE_URL=url, PYTHONPATH=pythonpath())
        base_env.pop("DJANGO_SETTINGS_MODULE", None)
        control_env = dict(base_env, DJANGO_SETTINGS_MODULE="bench.control.settings")
        subprocess.run(
            [sys.executable, "-m", "django", "migrate", "bench_control", "-v", "0"],
            cwd=ROOT,
            env=control_env,
            check=True,
        )

        top = Unit.objects.filter(parent__isnull=True).order_by("id").first()
        agent = create_staff(
            username=f"bench_intake_{secrets.token_hex(3)}",
            password=secrets.token_urlsafe(16),
            full_name="压测座席",
            roles=[(Role.AGENT, top)],
        )
        token = issue_token(user=agent, name="bench/intake")
        accounts = list(Customer.objects.values_list("account_no", flat=True))
        control_token = secrets.token_urlsafe(24)
        control_env["BENCH_CONTROL_TOKEN_SHA256"] = hashlib.sha256(control_token.encode()).hexdigest()
        connection.close()

        logs = Path(tempfile.gettempdir())
        servers = {
            "control": ("bench.control", free_port(), control_token, control_env),
            "gridcare": ("gridcare", free_port(), token, base_env),
        }
        procs = {}
        try:
            for name, (app, port, _token, env) in servers.items():
                procs[name] = start_server(
                    app, port, args.workers, env, logs / f"bench-intake-{name}-{os.getpid()}.log"
                )
            print(
                f"serving: gunicorn <app>.wsgi -w {args.workers} (sync) — control on :{servers['control'][1]}, "
                f"GridCare on :{servers['gridcare'][1]}; {args.clients} clients, {args.requests:,} requests a run "
                f"+ a retry of every 10th, {len(accounts):,} customers",
                flush=True,
            )
            prefix = f"b{secrets.token_hex(3)}"
            results: dict[str, list[Run]] = {"control": [], "gridcare": []}
            warmups: dict[str, list[Run]] = {"control": [], "gridcare": []}
            # CPU seconds of the server's workers and of its database backends, per request: a
            # figure a busy machine disturbs much less than requests per second.
            cpu: dict[str, list[tuple[float, float]]] = {"control": [], "gridcare": []}
            dbname = connection.settings_dict["NAME"]
            for r in range(args.runs):
                for name in ("control", "gridcare"):
                    _app, port, tok, _env = servers[name]
                    warm = drive(
                        port=port,
                        token=tok,
                        accounts=accounts,
                        requests=args.warmup,
                        clients=args.clients,
                        key_prefix=f"{prefix}-w{r}{name[0]}",
                        seed=9000 + r,
                    )
                    warmups[name].append(warm)
                    pids = common.child_pids(procs[name].pid), common.database_backend_pids(dbname)
                    connection.close()
                    cpu_before = common.cpu_of(pids[0]), common.cpu_of(pids[1])
                    run = drive(
                        port=port,
                        token=tok,
                        accounts=accounts,
                        requests=args.requests,
                        clients=args.clients,
                        key_prefix=f"{prefix}-r{r}{name[0]}",
                        seed=r,
                        max_seconds=args.max_seconds,
                    )
                    results[name].append(run)
                    n = max(len(run.results), 1)
                    cpu[name].append(
                        tuple(
                            1000 * (common.cpu_of(p) - b) / n for p, b in zip(pids, cpu_before, strict=True)
                        )
                    )
                    print(f"run {r + 1}  " + describe(name, run), flush=True)
                    print(
                        f"          CPU per request: web workers {cpu[name][-1][0]:.2f} ms, "
                        f"database {cpu[name][-1][1]:.2f} ms",
                        flush=True,
                    )
                    for error in run.errors[:5]:
                        print(f"    {error}")
        finally:
            for proc in procs.values():
                stop_server(proc)

        checks = check_gridcare(results["gridcare"] + warmups["gridcare"], agent.pk, prefix)
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM bench_control_intake")
            control_rows = cursor.fetchone()[0]
        control_answers = sum(r.ok for r in results["control"] + warmups["control"])
        after = common.conditions()

        def med(name: str, fn) -> float:
            return common.median([fn(run) for run in results[name]])

        def p99(run: Run) -> float:
            return common.percentile(run.latencies(), 99)

        g_rate, c_rate = (
            med("gridcare", lambda r: r.orders_per_second),
            med("control", lambda r: r.orders_per_second),
        )
        g_p50 = med("gridcare", lambda r: common.percentile(r.latencies(), 50))
        g_p95 = med("gridcare", lambda r: common.percentile(r.latencies(), 95))
        c_p50 = med("control", lambda r: common.percentile(r.latencies(), 50))
        c_p95 = med("control", lambda r: common.percentile(r.latencies(), 95))
        g_p99, c_p99 = med("gridcare", p99), med("control", p99)
        print()
        common.print_conditions(
            before,
            after,
            runs=f"{args.runs} per server, alternating control / GridCare (each after {args.warmup} untimed requests)",
            server=f"gunicorn -w {args.workers} (sync workers), GRIDCARE_DB_CONN_MAX_AGE="
            f"{os.environ.get('GRIDCARE_DB_CONN_MAX_AGE', '60')}, tasks backend django_tasks_db",
            load=f"{args.clients} client threads on the same machine, {args.requests:,} requests a run + every 10th retried",
        )
        print()
        print("== results (medians of the runs) ==")
        print(
            f"control   {c_rate:8.1f} orders/s  p50 {c_p50:6.1f} ms  p95 {c_p95:6.1f} ms  p99 {c_p99:6.1f} ms"
        )
        print(
            f"GridCare  {g_rate:8.1f} orders/s  p50 {g_p50:6.1f} ms  p95 {g_p95:6.1f} ms  p99 {g_p99:6.1f} ms"
        )
        for name, label in (("control", "control "), ("gridcare", "GridCare")):
            web, db = (common.median([c[i] for c in cpu[name]]) for i in (0, 1))
            print(
                f"{label}  CPU per request: web workers {web:.2f} ms + database {db:.2f} ms = {web + db:.2f} ms"
            )
        g_cpu = common.median([sum(c) for c in cpu["gridcare"]])
        c_cpu = common.median([sum(c) for c in cpu["control"]])
        print(f"CPU per request GridCare / control: {g_cpu / c_cpu if c_cpu else float('nan'):.2f} ×")
        rate_ratio = g_rate / c_rate if c_rate else float("nan")
        p99_ratio = g_p99 / c_p99 if c_p99 else float("nan")
        print(
            f"ratio GridCare / control: orders/s {rate_ratio:.2f} ×  (target ≥ 0.5)   p99 {p99_ratio:.2f} ×  (target ≤ 3)"
        )
        print(f"target orders/s ≥ 0.5 × control: {common.verdict(rate_ratio >= 0.5)}")
        print(f"target p99 ≤ 3 × control:        {common.verdict(p99_ratio <= 3)}")
        print(
            f"absolute (ordinary day): ≥ 300 orders/s {common.verdict(g_rate >= 300)}, "
            f"p99 < 250 ms {common.verdict(g_p99 < 250)}"
        )
        print("== correctness ==")
        print(f"  {checks.pop('answers')}")
        for label, ok in checks.items():
            print(f"  {common.verdict(bool(ok))}  {label}")
        control_ok = control_rows == control_answers
        print(
            f"  {common.verdict(control_ok)}  control: {control_rows:,} rows for {control_answers:,} 2xx answers"
        )
        return 0 if all(checks.values()) and control_ok else 1


if __name__ == "__main__":
    sys.exit(main())
