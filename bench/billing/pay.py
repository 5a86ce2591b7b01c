"""bench/billing (c): the payment API (``POST /api/v1/payments``) beside the bench control's.

Both apps are served by the same command (``gunicorn <app>.wsgi -w N``, bench/servers.py) on the
scratch database. The clients (bench/intake/load.py: threads, raw sockets, 127.0.0.1 only) pay the
open bills of random customers — the bill's amount, or part of it, or a little more — as an online
channel would: the channel's transaction number is the body's ``reference`` and the
``Idempotency-Key``; every 10th request is sent again with the same reference (a gateway retrying
after a timeout). GridCare locks the account, checks the reference, numbers a receipt, applies the
money oldest debt first (each bill's late fee, then the bill; the rest as credit), moves the
account's arrears, cancels a disconnection not yet made. The control validates the same body,
checks the token against a hash and INSERTs one row unique by (channel, reference) — on a repeat
it answers the stored row. Alternating runs; medians. Target: GridCare ≥ 0.5 × the control's
payments/s, nothing lost or doubled under the retries.

Checked afterwards: every 2xx answer's receipt is stored; a retried reference answered the same
receipt; exactly one payment per reference; each payment's allocations add up to it; every
account's arrears still equal what its open bills owe; the control holds one row per reference.
"""

from __future__ import annotations

import functools
import hashlib
import os
import random
import secrets
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

from bench import common
from bench.intake.load import Run, describe, drive
from bench.servers import ROOT, free_port, pythonpath, start_server, stop_server

CHANNEL = "online"


def payers(rng: random.Random, limit: int = 50_000) -> list[tuple[str, Decimal]]:
    """Customers owing an open bill, with what they owe (a sample of at most ``limit``)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT c.account_no, SUM(b.amount - b.paid) FROM billing_bill b
                 JOIN customers_customer c ON c.id = b.customer_id
                WHERE b.state = 'open' AND b.amount > b.paid
                GROUP BY c.account_no"""
        )
        rows = cursor.fetchall()
    rng.shuffle(rows)
    return rows[:limit]


def body_maker(owing: list[tuple[str, Decimal]], seed: int):
    def body(i: int, key: str) -> dict:
        rng = random.Random(seed * 1_000_003 + i)
        account, owed = owing[rng.randrange(len(owing))]
        share = rng.choice((Decimal("1"), Decimal("1"), Decimal("0.5"), Decimal("1.2")))
        amount = max(Decimal("0.01"), (owed * share).quantize(Decimal("0.01")))
        return {"account_no": account, "channel": CHANNEL, "amount": str(amount), "reference": key}

    return body


def checks(runs: list[Run], prefix: str) -> dict[str, bool]:
    from django.db import connection

    receipts_by_key: dict[str, set[str]] = {}
    bad = 0
    for run in runs:
        for r in run.results:
            if 200 <= r.status < 300 and r.number:
                receipts_by_key.setdefault(r.key, set()).add(r.number)
            else:
                bad += 1
            if r.retry and r.status != 200:
                bad += 1
        bad += len(run.errors)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reference, receipt_no FROM billing_payment WHERE channel = %s AND reference LIKE %s",
            [CHANNEL, f"{prefix}%"],
        )
        stored = dict(cursor.fetchall())
        cursor.execute(
            """SELECT COUNT(*) FROM billing_payment p
                 LEFT JOIN (SELECT payment_id, SUM(amount) AS s FROM billing_allocation GROUP BY payment_id) a
                        ON a.payment_id = p.id
                WHERE p.channel = %s AND p.reference LIKE %s AND COALESCE(a.s, 0) <> p.amount""",
            [CHANNEL, f"{prefix}%"],
        )
        unbalanced = cursor.fetchone()[0]
        cursor.execute(
            """SELECT COUNT(*) FROM billing_billingaccount a
                 LEFT JOIN (SELECT customer_id, SUM(amount - paid) AS owed FROM billing_bill
                             WHERE state = 'open' GROUP BY customer_id) o ON o.customer_id = a.customer_id
                WHERE a.arrears <> COALESCE(o.owed, 0)"""
        )
        arrears_off = cursor.fetchone()[0]
        cursor.execute("SELECT COUNT(*), COUNT(DISTINCT reference) FROM bench_control_payment")
        control_rows, control_refs = cursor.fetchone()
    answered = {n for numbers in receipts_by_key.values() for n in numbers}
    lost = answered - set(stored.values())
    split = [k for k, v in receipts_by_key.items() if len(v) > 1]
    mismatched = [k for k, v in receipts_by_key.items() if stored.get(k) not in v]
    return {
        f"every payment request answered 2xx, a retry 200 ({bad} not)": bad == 0,
        f"nothing lost: every answered receipt stored ({len(lost)} missing)": not lost,
        f"a retried reference answered the same receipt ({len(split)} split)": not split,
        f"one payment per reference ({len(stored):,} payments, {len(receipts_by_key):,} references)": len(
            stored
        )
        == len(receipts_by_key)
        and not mismatched,
        f"each payment's allocations add up to it ({unbalanced} differ)": unbalanced == 0,
        f"arrears = Σ owed of open bills after the payments ({arrears_off} differ)": arrears_off == 0,
        f"control: one row per reference ({control_rows:,} rows)": control_rows == control_refs,
    }


def measure(args, cashier) -> tuple[list[str], dict[str, bool], bool]:
    """Serve both apps, drive them alternately; the printed lines, the checks, the verdict."""
    from django.db import connection

    from gridcare.org.services import issue_token

    url = os.environ["DATABASE_URL"]
    base_env = dict(os.environ, DATABASE_URL=url, PYTHONPATH=pythonpath())
    base_env.pop("DJANGO_SETTINGS_MODULE", None)
    control_env = dict(base_env, DJANGO_SETTINGS_MODULE="bench.control.settings")
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "bench_control", "-v", "0"],
        cwd=ROOT,
        env=control_env,
        check=True,
    )
    token = issue_token(user=cashier, name="bench/billing payments")
    control_token = secrets.token_urlsafe(24)
    control_env["BENCH_CONTROL_TOKEN_SHA256"] = hashlib.sha256(control_token.encode()).hexdigest()
    owing = payers(random.Random(args.seed))
    dbname = connection.settings_dict["NAME"]
    connection.close()
    servers = {
        "control": ("bench.control", free_port(), control_token, control_env),
        "gridcare": ("gridcare", free_port(), token, base_env),
    }
    logs = Path(tempfile.gettempdir())
    procs = {}
    prefix = f"pay{secrets.token_hex(3)}"
    results: dict[str, list[Run]] = {"control": [], "gridcare": []}
    every: list[Run] = []
    cpu: dict[str, list[tuple[float, float]]] = {"control": [], "gridcare": []}
    lines: list[str] = []
    try:
        for name, (app, port, _tok, env) in servers.items():
            procs[name] = start_server(
                app, port, args.workers, env, logs / f"bench-billing-{name}-{os.getpid()}.log"
            )
        for r in range(args.pay_runs):
            for name in ("control", "gridcare"):
                _app, port, tok, _env = servers[name]
                send = functools.partial(
                    drive,
                    port=port,
                    token=tok,
                    accounts=[],
                    clients=args.clients,
                    path="/api/v1/payments",
                    answer_field="receipt_no",
                )
                warm = send(
                    requests=args.pay_warmup,
                    key_prefix=f"{prefix}w{r}{name[0]}",
                    seed=9000 + r,
                    body=body_maker(owing, 9000 + r),
                )
                pids = common.child_pids(procs[name].pid), common.database_backend_pids(dbname)
                cpu_before = common.cpu_of(pids[0]), common.cpu_of(pids[1])
                run = send(
                    requests=args.payments,
                    key_prefix=f"{prefix}r{r}{name[0]}",
                    seed=r,
                    body=body_maker(owing, r),
                    max_seconds=300,
                )
                n = max(len(run.results), 1)
                cpu[name].append(
                    (
                        1000 * (common.cpu_of(pids[0]) - cpu_before[0]) / n,
                        1000 * (common.cpu_of(pids[1]) - cpu_before[1]) / n,
                    )
                )
                results[name].append(run)
                if name == "gridcare":
                    every += [warm, run]
                lines.append(f"    run {r + 1} " + describe(name, run, "payments"))
                lines += [f"      {e}" for e in run.errors[:5]]
    finally:
        for proc in procs.values():
            stop_server(proc)

    def med(name: str, fn) -> float:
        return common.median([fn(run) for run in results[name]])

    g_rate, c_rate = (med(n, lambda r: r.orders_per_second) for n in ("gridcare", "control"))
    g99, c99 = (med(n, lambda r: common.percentile(r.latencies(), 99)) for n in ("gridcare", "control"))
    ratio = g_rate / c_rate if c_rate else float("nan")
    ok = ratio >= 0.5
    for name, label, rate, p99 in (
        ("control", "control ", c_rate, c99),
        ("gridcare", "GridCare", g_rate, g99),
    ):
        web, db = (common.median([c[i] for c in cpu[name]]) for i in (0, 1))
        lines.append(
            f"    {label} {rate:7.1f} payments/s  p99 {p99:6.1f} ms  CPU per request: web workers {web:.2f} ms "
            f"+ database {db:.2f} ms = {web + db:.2f} ms"
        )
    lines.append(
        f"    ratio payments/s GridCare / control: {ratio:.2f} ×  (target ≥ 0.5 ×)  {'PASS' if ok else 'MISS'}"
    )
    lines.insert(
        0,
        f"(c) payment API: gunicorn -w {args.workers} each, {args.clients} clients, {args.payments:,} payments a run "
        f"(+ every 10th retried, after {args.pay_warmup} untimed), {args.pay_runs} runs each alternating, "
        f"{len(owing):,} customers owing",
    )
    return lines, checks(every, prefix), ok
