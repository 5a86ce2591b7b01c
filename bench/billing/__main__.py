"""bench/billing: the monthly calculation run (电费核算) for N customers and the "why is my bill
high" answer, each figure beside a control measured in the same run (docs/benchmarks.md).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gridcare python -m bench.billing
    python -m bench.billing --smoke

Works in a scratch database (default ``<DATABASE_URL's name>_billing``; created, then dropped): migrate, seed
the demo county's organization, topology and N customers (``seed_demo_county``: bulk COPY, no
history), then write in bulk with raw SQL (``populate``): a billing account per customer on the
tariff of its category (zj-residential, zj-residential-tou, demo-business, demo-large-industry,
demo-agriculture), readings on the 25th of the two months before the month billed and of the month
itself (time-of-use registers for TOU residential, business and large industry; reactive energy
and demand for large industry; 0.4 % unread this month; 1 % using 2.5 × their usual), and the
released bills of the twelve months before (the tier year's sums, the swings; the previous
month's and last year's with their lines). The month billed is the last full month. Then:

(a) **the monthly calculation run** (``billing.runs.calculate_month`` by the city's billing clerk
    over the demo's city — its three counties — for the month) against its raw SQL **read +
    write floor**: the read part is the raw SELECTs of the rows the calculation reads (the run's
    accounts with their customers, the readings in its window, the meters, the previous month's
    bills, the tier-year sums), fetched whole (median of ``--floor-runs``, before the run); the
    write part replays, after the run, the rows it wrote — its bills (numbers suffixed to stay
    unique), bill lines, anomalies and estimated readings (a day later) — read back as text and
    written again as raw COPY in one transaction with the foreign-key checks PostgreSQL defers to
    the commit run (``SET CONSTRAINTS ALL IMMEDIATE``: the run pays them at its commit), rolled
    back (median; ``bench.common.copy_floor``). No usage measured, no
    tariff applied, nothing numbered. Target: run ≤ 3 × (read + write floor). Then every anomaly
    is accepted (``runs.accept_all``) and the run released (``runs.release``: due dates, arrears,
    an SMS per bill); its time is printed (no target). Checked: every customer billed has exactly
    one bill of the month, each bill's amount is the sum of its lines, the run's totals are its
    bills', the unread customers are the estimated bills, one SMS per bill owed to a customer with
    a mobile, and a second ``calculate_month`` on the released run answers 409.
(b) **the bill explanation** (``billing.answers.explain(answers.bill_for(user, number))``, "why is
    my bill high", as a 95598 agent) of random bills of the run against the raw SQL that reads the
    same rows in two statements (prepared on the server, as GridCare's reads are): the bill with
    the previous month's and last year's bills, their lines and the lines' tariff versions and the
    customer's station; the billing account with the tariff version in force. Alternating, after
    warm-ups. Target: p95 ≤ 2 × raw p95.
(c) **the payment API** beside the bench control's (bench/billing/pay.py): payments/s under 16
    clients with every 10th request retried. Target: ≥ 0.5 × the control's rate, nothing lost or
    doubled.

``--parts`` runs only some of (a), (b), (c); (b) and (c) then work on the populated history.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import time

from bench import common
from bench.intake.scratch import scratch_database

# Season factors (as the demo's billing: air conditioning in summer, heating in winter; farms).
SEASON = [1.3, 1.2, 1.0, 0.85, 0.9, 1.1, 1.5, 1.6, 1.1, 0.85, 0.95, 1.2]
FARM_SEASON = [0.5, 0.5, 0.8, 1.2, 1.4, 1.6, 1.8, 1.6, 1.2, 0.8, 0.6, 0.5]
SCHEDULE_OF = {
    "residential_tiered": "zj-residential",
    "residential_tou": "zj-residential-tou",
    "general_business": "demo-business",
    "large_industry": "demo-large-industry",
    "agriculture": "demo-agriculture",
}
READ_DAY = 25
HISTORY_MONTHS = 12

# --- populate (raw SQL, server-side) -----------------------------------------------------------------

PROFILE_SQL = """
CREATE UNLOGGED TABLE bench_billing_profile AS
SELECT c.id AS customer_id, m.id AS meter_id, m.multiplier AS multiplier, c.tariff_category AS category,
       c.customer_class AS customer_class,
       CASE c.tariff_category
            WHEN 'large_industry' THEN COALESCE(NULLIF(c.contracted_capacity_kva, 0), 630) * (120 + random() * 260)
            WHEN 'general_business' THEN 500 + random() * 7500
            WHEN 'agriculture' THEN 200 + random() * 2800
            ELSE LEAST(exp(5.3 + 0.45 * sqrt(-2 * ln(1 - random())) * cos(2 * pi() * random())), 1500)
       END::float8 AS monthly,
       c.tariff_category IN ('residential_tou', 'general_business', 'large_industry') AS tou,
       c.tariff_category = 'large_industry' AS large,
       random() < %(unread)s AS unread,
       random() < %(arrears)s AS owes,
       CASE WHEN random() < %(swing)s THEN 2.5 ELSE 1.0 END AS swing,
       tan(acos(0.83 + random() * 0.14)) AS tan_phi,
       (1000 + floor(random() * 29000))::numeric AS t0,
       CASE WHEN c.tariff_category = 'residential_tou' THEN 0.45 + random() * 0.25 ELSE 0.45 END AS peak_share
  FROM customers_customer c
  JOIN LATERAL (SELECT id, multiplier FROM customers_meter
                 WHERE customer_id = c.id AND is_active ORDER BY id LIMIT 1) m ON true
 WHERE c.status <> 'closed'
"""
# Register steps of the previous month (s1) and of the month billed (s2), and their split.
PROFILE_STEPS_SQL = """
UPDATE bench_billing_profile SET
  valley_share = CASE WHEN category = 'residential_tou' THEN 1 - peak_share ELSE 0.25 END,
  s1 = round((monthly * (%(season1)s)[CASE WHEN category = 'agriculture' THEN 2 ELSE 1 END]
              * (0.88 + random() * 0.24) / multiplier)::numeric, 2),
  s2 = round((monthly * swing * (%(season2)s)[CASE WHEN category = 'agriculture' THEN 2 ELSE 1 END]
              * (0.88 + random() * 0.24) / multiplier)::numeric, 2)
"""
ACCOUNTS_SQL = """
INSERT INTO billing_billingaccount (customer_id, schedule_id, household_persons, demand_basis, demand_kw,
       power_factor_standard, payment_method, bank_account, arrears, credit, late_fee_exempt)
SELECT p.customer_id, s.id,
       CASE WHEN p.customer_class = 'residential' THEN (ARRAY[1, 2, 3, 3, 4, 4, 5, 6])[1 + mod(p.customer_id, 8)] ELSE 0 END,
       'capacity', 0, CASE WHEN p.large THEN 0.90 END, 'counter', '', 0, 0, false
  FROM bench_billing_profile p
  JOIN billing_tariffschedule s ON s.code = CASE p.category
       WHEN 'residential_tou' THEN 'zj-residential-tou' WHEN 'general_business' THEN 'demo-business'
       WHEN 'large_industry' THEN 'demo-large-industry' WHEN 'agriculture' THEN 'demo-agriculture'
       ELSE 'zj-residential' END
"""
# Three readings a meter: the 25th of the month before the previous one (t0), of the previous
# month (t0 + s1) and of the month billed (t0 + s1 + s2, unless unread).
READINGS_SQL = """
INSERT INTO billing_meterreading (meter_id, customer_id, read_on, kind, total, peak, flat, valley, sharp,
       reactive, max_demand_kw, source, recorded_at)
SELECT p.meter_id, p.customer_id, r.day, 'remote', p.t0 + r.step,
       CASE WHEN p.tou THEN round(p.t0 * 0.5 + r.step * p.peak_share::numeric, 2) END,
       CASE WHEN p.tou THEN p.t0 * 0.3 + r.step - round(r.step * p.peak_share::numeric, 2)
                                          - round(r.step * p.valley_share::numeric, 2) END,
       CASE WHEN p.tou THEN round(p.t0 * 0.2 + r.step * p.valley_share::numeric, 2) END,
       NULL,
       CASE WHEN p.large THEN round(r.step * p.tan_phi::numeric, 2) END,
       CASE WHEN p.large AND r.last > 0 THEN round(r.last * p.multiplier / 400, 3) END,
       '用电信息采集', now()
  FROM bench_billing_profile p
 CROSS JOIN LATERAL (VALUES (%(d0)s::date, 0::numeric, 0::numeric), (%(d1)s::date, p.s1, p.s1),
                            (%(d2)s::date, p.s1 + p.s2, p.s2)) AS r(day, step, last)
 WHERE NOT (p.unread AND r.day = %(d2)s::date)
"""
# Released bills of the twelve months before, paid but for the previous month's of the customers
# in arrears: the previous month's from the readings, the others drawn; one energy line each at
# the schedule's first price (the bill's amount).
BILLS_SQL = """
INSERT INTO billing_bill (number, customer_id, run_id, period, kind, corrects_id, state, period_start,
       period_end, previous_total, current_total, estimated, kwh, peak_kwh, flat_kwh, valley_kwh, amount,
       paid, issued_on, due_on, paid_on, late_fee_charged, late_fee_paid, late_fee_from, late_fee_waived,
       year_kwh_before, note, created_at)
SELECT 'HB' || to_char(x.period, 'YYYYMM') || lpad(x.customer_id::text, 10, '0'), x.customer_id, NULL,
       x.period, 'original', NULL, CASE WHEN x.owes THEN 'open' ELSE 'paid' END, x.period_start, x.period_end,
       x.previous_total, x.current_total,
       false, x.kwh,
       CASE WHEN x.tou THEN round(x.kwh * x.peak_share::numeric, 2) ELSE 0 END,
       CASE WHEN x.tou THEN x.kwh - round(x.kwh * x.peak_share::numeric, 2) - round(x.kwh * x.valley_share::numeric, 2) ELSE 0 END,
       CASE WHEN x.tou THEN round(x.kwh * x.valley_share::numeric, 2) ELSE 0 END,
       round(x.kwh * x.price, 2), CASE WHEN x.owes THEN 0 ELSE round(x.kwh * x.price, 2) END, x.issued,
       x.issued + 15, CASE WHEN x.owes THEN NULL ELSE x.issued + 3 END,
       0, 0, NULL, false, 0, '', now()
  FROM (
    SELECT p.customer_id, p.tou, p.peak_share, p.valley_share, h.period, p.owes AND h.period = %(previous)s::date AS owes,
           (h.period - interval '1 month')::date + %(day)s AS period_start,
           h.period + %(day)s - 1 AS period_end,
           (date_trunc('month', h.period) + interval '1 month')::date + 1 AS issued,
           CASE WHEN h.period = %(previous)s::date THEN p.t0 END AS previous_total,
           CASE WHEN h.period = %(previous)s::date THEN p.t0 + p.s1 END AS current_total,
           CASE WHEN h.period = %(previous)s::date THEN p.s1 * p.multiplier
                ELSE round((p.monthly * (CASE WHEN p.category = 'agriculture' THEN h.farm ELSE h.season END)
                            * (0.88 + random() * 0.24))::numeric, 2) END AS kwh,
           (v.rules -> 'tier_prices' ->> 0)::numeric AS price
      FROM bench_billing_profile p
      JOIN billing_billingaccount a ON a.customer_id = p.customer_id
      JOIN billing_tariffversion v ON v.schedule_id = a.schedule_id
     CROSS JOIN unnest(%(periods)s::date[], %(seasons)s::float8[], %(farms)s::float8[]) AS h(period, season, farm)
  ) x
"""
ARREARS_SQL = """
UPDATE billing_billingaccount a SET arrears = o.owed
  FROM (SELECT customer_id, SUM(amount - paid) AS owed FROM billing_bill WHERE state = 'open' GROUP BY customer_id) o
 WHERE o.customer_id = a.customer_id
"""
LINES_SQL = """
INSERT INTO billing_billline (bill_id, seq, item, label, tier, tou_period, quantity, unit, price, amount, version_id)
SELECT b.id, 1, 'energy', '电度电费', 1, '', b.kwh, 'kWh', (v.rules -> 'tier_prices' ->> 0)::numeric, b.amount, v.id
  FROM billing_bill b
  JOIN billing_billingaccount a ON a.customer_id = b.customer_id
  JOIN billing_tariffversion v ON v.schedule_id = a.schedule_id
 WHERE b.period = ANY(%(periods)s::date[])
"""

# --- (a) the floor ------------------------------------------------------------------------------

FLOOR_READS = {
    "accounts": """
SELECT a.customer_id, c.customer_class, a.schedule_id, a.household_persons, a.demand_basis,
       c.contracted_capacity_kva, a.power_factor_standard
  FROM billing_billingaccount a JOIN customers_customer c ON c.id = a.customer_id
 WHERE c.station_id = ANY(%(stations)s) AND c.status <> 'closed'
   AND NOT EXISTS (SELECT 1 FROM billing_bill b WHERE b.customer_id = a.customer_id AND b.period = %(period)s
                      AND b.kind IN ('original', 'imported'))
 ORDER BY a.customer_id
""",
    "readings": """
SELECT customer_id, meter_id, read_on, kind, total, peak, flat, valley, sharp, reactive, max_demand_kw
  FROM billing_meterreading WHERE read_on > %(window_from)s AND read_on <= %(last_day)s
""",
    "meters": "SELECT id, customer_id, multiplier, is_active FROM customers_meter",
    "previous bills": """
SELECT customer_id, period_end, kwh, period_start FROM billing_bill
 WHERE period = %(previous)s AND kind IN ('original', 'imported')
""",
    "tier-year sums": """
SELECT customer_id, SUM(kwh) FROM billing_bill
 WHERE period >= %(tier_year)s AND period < %(period)s AND state <> 'draft' GROUP BY customer_id
""",
}

# --- (b) the explanation's raw read -------------------------------------------------------------

EXPLAIN_BILLS_SQL = """
SELECT b.id, b.customer_id, b.number, b.period, b.kind, b.state, b.period_start, b.period_end, b.estimated,
       b.kwh, b.peak_kwh, b.flat_kwh, b.valley_kwh, b.amount, b.year_kwh_before, c.station_id,
       l.seq, l.item, l.tier, l.tou_period, l.quantity, l.price, l.amount, l.version_id, v.label
  FROM billing_bill t
  JOIN customers_customer c ON c.id = t.customer_id
  JOIN billing_bill b ON b.customer_id = t.customer_id
   AND (b.id = t.id OR (b.period IN ((t.period - interval '1 month')::date, (t.period - interval '1 year')::date)
                        AND b.kind IN ('original', 'imported') AND b.state IN ('open', 'paid')))
  LEFT JOIN billing_billline l ON l.bill_id = b.id
  LEFT JOIN billing_tariffversion v ON v.id = l.version_id
 WHERE t.number = %s AND t.state <> 'draft'
 ORDER BY b.period, l.seq
"""
EXPLAIN_ACCOUNT_SQL = """
SELECT a.customer_id, a.schedule_id, a.household_persons, v.id, v.rules
  FROM billing_billingaccount a
  JOIN LATERAL (SELECT id, rules FROM billing_tariffversion
                 WHERE schedule_id = a.schedule_id AND effective_from <= %s
                 ORDER BY effective_from DESC LIMIT 1) v ON true
 WHERE a.customer_id = %s
"""


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.billing", description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=500_000, help="customers (default 500,000)")
    parser.add_argument("--reads", type=int, default=400, help="bill explanations timed (and raw reads)")
    parser.add_argument("--floor-runs", type=int, default=3, help="runs of each floor (median)")
    parser.add_argument("--unread", type=float, default=0.004, help="share of meters unread this month")
    parser.add_argument("--swing", type=float, default=0.01, help="share of customers using 2.5 × this month")
    parser.add_argument(
        "--arrears", type=float, default=0.05, help="share of customers owing the previous month's bill"
    )
    parser.add_argument("--smoke", action="store_true", help="tiny size for CI (2,000 customers)")
    parser.add_argument("--profile", metavar="FILE", help="write a cProfile of the calculation run to FILE")
    parser.add_argument(
        "--db",
        default=None,
        help="scratch database name (default: DATABASE_URL's name + '_billing', so that a run by hand "
        "and CI's smoke run on another database never drop each other's)",
    )
    parser.add_argument("--keep-db", action="store_true", help="keep the scratch database afterwards")
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--parts", default="abc", help="which of (a), (b), (c) to run (default abc)")
    parser.add_argument("--payments", type=int, default=3000, help="(c) payments a run (default 3000)")
    parser.add_argument("--pay-runs", type=int, default=2, help="(c) runs of each server (default 2)")
    parser.add_argument("--pay-warmup", type=int, default=100, help="(c) untimed payments before each run")
    parser.add_argument("--clients", type=int, default=16, help="(c) concurrent clients (default 16)")
    parser.add_argument("--workers", type=int, default=2, help="(c) gunicorn sync workers (default 2)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.customers, args.reads, args.floor_runs = 2_000, 60, 1
        args.payments, args.pay_runs, args.pay_warmup = 150, 1, 20
    return args


def add_months(first: dt.date, n: int) -> dt.date:
    k = first.year * 12 + first.month - 1 + n
    return dt.date(k // 12, k % 12 + 1, 1)


class _Rollback(Exception):
    pass


# --- the world ----------------------------------------------------------------------------------


def seed_county(customers: int) -> float:
    """Migrate, then the demo county's organization, staff, topology and customers (no history)."""
    from django.core.management import call_command
    from django.db import connection

    from gridcare.demo.seeding import seed_demo_county

    call_command("migrate", interactive=False, verbosity=0)
    started = time.perf_counter()
    report = seed_demo_county(customers=customers, seed=95598)
    elapsed = time.perf_counter() - started
    print(f"seeded {report.customers:,} customers (demo county, no history) in {elapsed:.1f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE customers_customer")
        cursor.execute("VACUUM ANALYZE customers_meter")
    return elapsed


def populate(args, period: dt.date) -> dict:
    """Accounts, readings and twelve months of released bills, written server-side."""
    from django.db import connection, transaction

    from gridcare.billing.calculation import previous_month

    started = time.perf_counter()
    previous = previous_month(period)
    history = [add_months(period, -k) for k in range(HISTORY_MONTHS, 0, -1)]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT setseed(%s)", [(args.seed % 1000) / 1000])
        cursor.execute(PROFILE_SQL, {"unread": args.unread, "swing": args.swing, "arrears": args.arrears})
        cursor.execute(
            "ALTER TABLE bench_billing_profile ADD COLUMN s1 numeric, ADD COLUMN s2 numeric, "
            "ADD COLUMN valley_share float8"
        )
        cursor.execute(
            PROFILE_STEPS_SQL,
            {
                "season1": [SEASON[previous.month - 1], FARM_SEASON[previous.month - 1]],
                "season2": [SEASON[period.month - 1], FARM_SEASON[period.month - 1]],
            },
        )
        cursor.execute("ALTER TABLE bench_billing_profile ADD PRIMARY KEY (customer_id)")
        cursor.execute(ACCOUNTS_SQL)
        accounts = cursor.rowcount
        days = [add_months(period, k).replace(day=READ_DAY) for k in (-2, -1, 0)]
        cursor.execute(READINGS_SQL, {"d0": days[0], "d1": days[1], "d2": days[2]})
        readings = cursor.rowcount
        cursor.execute(
            BILLS_SQL,
            {
                "day": READ_DAY,
                "previous": previous,
                "periods": history,
                "seasons": [SEASON[p.month - 1] for p in history],
                "farms": [FARM_SEASON[p.month - 1] for p in history],
            },
        )
        bills = cursor.rowcount
        cursor.execute(ARREARS_SQL)
        owing = cursor.rowcount
        cursor.execute(LINES_SQL, {"periods": [history[0], previous]})
        lines = cursor.rowcount
        cursor.execute("SELECT COUNT(*) FILTER (WHERE unread) FROM bench_billing_profile")
        unread = cursor.fetchone()[0]
    with connection.cursor() as cursor:
        for table in ("billing_billingaccount", "billing_meterreading", "billing_bill", "billing_billline"):
            cursor.execute(f"VACUUM ANALYZE {table}")
    elapsed = time.perf_counter() - started
    print(
        f"populated {accounts:,} billing accounts, {readings:,} readings, {bills:,} released bills of "
        f"{HISTORY_MONTHS} months ({owing:,} customers owing last month's), {lines:,} lines in {elapsed:.1f} s",
        flush=True,
    )
    return {
        "accounts": accounts,
        "readings": readings,
        "bills": bills,
        "owing": owing,
        "unread": unread,
        "seconds": elapsed,
    }


def staff():
    """The city (the demo's three counties), its billing clerk, and a 95598 agent."""
    from gridcare.org.models import Unit, User

    city = Unit.objects.get(code="QL01")
    return city, User.objects.get(username="billing01"), User.objects.get(username="agent01")


# --- (a) the run --------------------------------------------------------------------------------


def read_floor(city, period: dt.date, runs: int) -> tuple[list[float], dict[str, int]]:
    """The raw SELECTs of the rows the calculation reads, fetched whole."""
    from django.db import connection

    from gridcare.billing.calculation import LOOKBACK_DAYS, month_end, previous_month, tier_year_start

    params = {
        "stations": list(city.subtree().values_list("pk", flat=True)),
        "period": period,
        "previous": previous_month(period),
        "window_from": period - dt.timedelta(days=LOOKBACK_DAYS),
        "last_day": month_end(period),
        "tier_year": tier_year_start(period, 1),
    }
    times, counts = [], {}
    for _ in range(runs):
        with connection.cursor() as cursor:
            t0 = time.perf_counter()
            for label, sql in FLOOR_READS.items():
                cursor.execute(sql, params)
                counts[label] = len(cursor.fetchall())
            times.append(time.perf_counter() - t0)
    return times, counts


def _columns(table: str) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        return [
            c.name for c in connection.introspection.get_table_description(cursor, table) if c.name != "id"
        ]


def replay_of_run(run_id: int) -> dict[str, tuple[list[str], list[tuple]]]:
    """What the run wrote (bills, lines, anomalies, estimated readings), read back as text (not
    timed); bill numbers get a suffix and estimated readings a day (the originals are still there)."""
    from django.db import connection

    tweak = {
        "billing_bill": {"number": "number || 'F'"},
        "billing_meterreading": {"read_on": "(read_on + 1)::text"},
    }
    where = {
        "billing_bill": "run_id = %s",
        "billing_billline": "bill_id IN (SELECT id FROM billing_bill WHERE run_id = %s)",
        "billing_anomaly": "run_id = %s",
        "billing_meterreading": "source = 'run:' || %s",
    }
    out = {}
    with connection.cursor() as cursor:
        for table, condition in where.items():
            cols = _columns(table)
            select = ", ".join(tweak.get(table, {}).get(c, f"{c}::text") for c in cols)
            cursor.execute(f"SELECT {select} FROM {table} WHERE {condition} ORDER BY id", [run_id])  # noqa: S608
            out[table] = (cols, cursor.fetchall())
    return out


def write_floor(replay: dict[str, tuple[list[str], list[tuple]]], runs: int) -> list[float]:
    """The run's rows written again as raw COPY in one transaction, rolled back."""
    return common.copy_floor(replay, runs)


def analyze(*tables: str) -> None:
    """Planner statistics after the run's writes (autovacuum would take them before the review
    and release; the machine's PostgreSQL may run without it). Not part of any figure."""
    from django.db import connection

    t0 = time.perf_counter()
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"ANALYZE {table}")
    print(f"ANALYZE after the run (not part of any figure): {time.perf_counter() - t0:.1f} s", flush=True)


def at_release(period: dt.date) -> dt.datetime:
    from gridcare.billing.calculation import month_end
    from gridcare.core import clock

    return dt.datetime.combine(month_end(period) + dt.timedelta(days=2), dt.time(9, 0), tzinfo=clock.LOCAL_TZ)


def run_calculation(clerk, city, period: dt.date, profile: str | None):
    from gridcare.billing import runs
    from gridcare.core import clock

    with clock.frozen(at_release(period)):
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            t0 = time.perf_counter()
            profiler.enable()
            run = runs.calculate_month(actor=clerk, unit=city, period=period)
            profiler.disable()
            elapsed = time.perf_counter() - t0
            profiler.dump_stats(profile)
            print(f"cProfile of the run written to {profile} (the run's time below is with the profiler)")
            return elapsed, run
        t0, cpu0 = time.perf_counter(), time.process_time()
        run = runs.calculate_month(actor=clerk, unit=city, period=period)
        elapsed = time.perf_counter() - t0
        print(
            f"calculate_month: this process's CPU {time.process_time() - cpu0:.2f} s of {elapsed:.2f} s",
            flush=True,
        )
        return elapsed, run


def release_run(clerk, run, period: dt.date) -> tuple[float, float, int]:
    from gridcare.billing import runs
    from gridcare.billing.models import BillingRun

    with clock_at(period):
        t0 = time.perf_counter()
        accepted = runs.accept_all(actor=clerk, run=run, note="压测：批量审核通过")
        t1 = time.perf_counter()
        runs.release(actor=clerk, run=BillingRun.objects.get(pk=run.pk))
        t2 = time.perf_counter()
    return t1 - t0, t2 - t1, accepted


def clock_at(period: dt.date):
    from gridcare.core import clock

    return clock.frozen(at_release(period))


def second_calculation(clerk, city, period: dt.date) -> int | None:
    from gridcare.billing import runs
    from gridcare.core.api_errors import ApiError

    with clock_at(period):
        try:
            runs.calculate_month(actor=clerk, unit=city, period=period)
        except ApiError as exc:
            return exc.status
    return None


def run_checks(run, period: dt.date, pop: dict, floor_counts: dict[str, int]) -> dict[str, bool]:
    """What the run wrote, counted (before release)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT COUNT(*), COUNT(DISTINCT customer_id), COALESCE(SUM(amount), 0), COALESCE(SUM(kwh), 0),
                      COUNT(*) FILTER (WHERE estimated)
                 FROM billing_bill WHERE period = %s AND kind = 'original'""",
            [period],
        )
        bills, customers, amount, kwh, estimated = cursor.fetchone()
        cursor.execute(
            """SELECT COUNT(*) FROM billing_billingaccount a JOIN customers_customer c ON c.id = a.customer_id
                WHERE c.status <> 'closed' AND NOT EXISTS (
                      SELECT 1 FROM billing_bill b WHERE b.customer_id = a.customer_id AND b.period = %s)""",
            [period],
        )
        unbilled = cursor.fetchone()[0]
        cursor.execute(
            """SELECT COUNT(*) FROM billing_bill b
                 LEFT JOIN (SELECT l.bill_id, SUM(l.amount) AS amount FROM billing_billline l
                              JOIN billing_bill x ON x.id = l.bill_id WHERE x.run_id = %s GROUP BY l.bill_id) s
                   ON s.bill_id = b.id
                WHERE b.run_id = %s AND b.amount <> COALESCE(s.amount, 0)""",
            [run.pk, run.pk],
        )
        mismatched = cursor.fetchone()[0]
        cursor.execute(
            "SELECT COUNT(*) FROM billing_billline l JOIN billing_bill b ON b.id = l.bill_id WHERE b.run_id = %s",
            [run.pk],
        )
        lines = cursor.fetchone()[0]
    run.refresh_from_db()
    return {
        f"every account billed once ({bills:,} bills, {customers:,} customers, {pop['accounts']:,} accounts)": (
            bills == customers == pop["accounts"] and unbilled == 0
        ),
        "the floor read the run's customers": floor_counts.get("accounts") == pop["accounts"] == run.bills,
        f"each bill's amount is the sum of its lines ({lines:,} lines; {mismatched} bills differ)": mismatched
        == 0
        and lines > 0,
        "the run's totals are its bills'": run.total_amount == amount and run.total_kwh == kwh,
        f"the unread meters are the estimated bills ({estimated:,})": estimated == pop["unread"],
    }


def release_checks(run) -> tuple[dict[str, bool], int]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM billing_bill WHERE run_id = %s AND state = 'draft'", [run.pk])
        drafts = cursor.fetchone()[0]
        cursor.execute(
            """SELECT COUNT(*) FROM billing_bill b WHERE b.run_id = %s AND b.amount > 0
                  AND EXISTS (SELECT 1 FROM customers_customerphone p WHERE p.customer_id = b.customer_id
                                 AND p.kind = 'mobile')""",
            [run.pk],
        )
        owed_with_mobile = cursor.fetchone()[0]
        cursor.execute(
            """SELECT COUNT(*), COUNT(DISTINCT m.dedup_key) FROM notify_message m
                WHERE m.dedup_key LIKE 'bill:%%:issued' AND m.dedup_key IN (
                      SELECT 'bill:' || number || ':issued' FROM billing_bill WHERE run_id = %s)""",
            [run.pk],
        )
        messages, distinct = cursor.fetchone()
        cursor.execute(
            """SELECT COUNT(*) FROM billing_billingaccount a
                 LEFT JOIN (SELECT customer_id, SUM(amount - paid) AS owed FROM billing_bill
                             WHERE state = 'open' GROUP BY customer_id) o ON o.customer_id = a.customer_id
                WHERE a.arrears <> COALESCE(o.owed, 0)""",
        )
        arrears_off = cursor.fetchone()[0]
    return {
        "no draft bill left after release": drafts == 0,
        f"one SMS per bill owed to a customer with a mobile ({messages:,})": messages
        == distinct
        == owed_with_mobile,
        f"arrears = Σ owed of open bills for every account ({arrears_off} differ)": arrears_off == 0,
    }, messages


# --- (b) the explanation ------------------------------------------------------------------------


def explain_latencies(numbers: list[str], user) -> tuple[list[float], list[float], int]:
    from gridcare.billing import answers
    from gridcare.core import prepared

    ours, raw, wrong = [], [], 0
    for number in numbers:
        t0 = time.perf_counter()
        answer = answers.explain(answers.bill_for(user, number))
        ours.append((time.perf_counter() - t0) * 1000)
        # The raw read as the fastest plain SQL would do it: prepared statements on the server
        # (as GridCare's own reads are), no model instances.
        t0 = time.perf_counter()
        rows = prepared.fetch(EXPLAIN_BILLS_SQL, [number])
        account = prepared.fetch(EXPLAIN_ACCOUNT_SQL, [rows[0][7], rows[0][1]])
        raw.append((time.perf_counter() - t0) * 1000)
        bills = {r[2] for r in rows}
        own_lines = sum(1 for r in rows if r[2] == number and r[16] is not None)
        if not (
            answer.bill.number == number
            and answer.previous is not None
            and answer.last_year is not None
            and len(bills) == 3
            and own_lines == len(answer.bill.lines.all())
            and len(account) == 1
        ):
            wrong += 1
    return ours, raw, wrong


def explain_statements(number: str, user) -> list[tuple[float, str]]:
    """The statements one explanation issues, with their times (ms; not part of any figure)."""
    from django.db import connection

    from gridcare.billing import answers

    seen: list[tuple[float, str]] = []

    def timed(execute, sql, params, many, context):
        t0 = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            seen.append(((time.perf_counter() - t0) * 1000, " ".join(sql.split())[:100]))

    with connection.execute_wrapper(timed):
        t0 = time.perf_counter()
        answers.explain(answers.bill_for(user, number))
        total = (time.perf_counter() - t0) * 1000
    seen.append((total, "(the whole explanation, statements and Python)"))
    return seen


# --- main ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    parts = set(args.parts)
    if "b" in parts:
        parts.add("a")  # the explanations are of the run's bills
    with scratch_database("billing", name=args.db, keep=args.keep_db):
        common.setup_django(require_postgresql=True)
        from django.db import connection

        from gridcare.billing.models import Bill
        from gridcare.core import clock

        seed_seconds = seed_county(args.customers)
        today = clock.local(clock.now()).date()
        period = add_months(today.replace(day=1), -1)
        pop = populate(args, period)
        before = common.conditions()
        city, clerk, agent = staff()
        checks: dict[str, bool] = {}
        report: list[str] = []
        verdicts: list[bool] = []

        if "a" in parts:
            # (a) the run, beside its floor.
            floor_times, floor_counts = read_floor(city, period, args.floor_runs)
            read_s = common.median(floor_times)
            print(f"read floor: {read_s:.2f} s ({floor_counts})", flush=True)
            run_s, run = run_calculation(clerk, city, period, args.profile)
            print(f"calculate_month: {run_s:.1f} s for {run.bills:,} bills", flush=True)
            analyze("billing_bill", "billing_billline", "billing_anomaly", "billing_meterreading")
            replay = replay_of_run(run.pk)
            write_times = write_floor(replay, args.floor_runs)
            write_s = common.median(write_times)
            print(f"write floor: {write_s:.2f} s", flush=True)
            floor_s = read_s + write_s
            checks.update(run_checks(run, period, pop, floor_counts))
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT kind, COUNT(*) FROM billing_anomaly WHERE run_id = %s GROUP BY kind ORDER BY kind",
                    [run.pk],
                )
                anomalies = dict(cursor.fetchall())
            accept_s, release_s, accepted = release_run(clerk, run, period)
            released, messages = release_checks(run)
            checks.update(released)
            status = second_calculation(clerk, city, period)
            checks[f"a second calculate_month on the released run answers 409 (got {status})"] = status == 409
            ok_a = run_s <= 3 * floor_s
            verdicts.append(ok_a)
            reads = ", ".join(f"{n:,} {label}" for label, n in floor_counts.items())
            written = ", ".join(f"{len(rows):,} {table}" for table, (_cols, rows) in replay.items())
            report += [
                f"(a) read floor (raw SELECTs: {reads}): {read_s:.2f} s  ({', '.join(f'{t:.2f}' for t in floor_times)})",
                f"    write floor (raw COPY of {written}, with their deferred foreign-key checks "
                f"{common.median(common.copy_floor.last_checks):.2f} s): {write_s:.2f} s  "
                f"({', '.join(f'{t:.2f}' for t in write_times)})",
                f"    floor (read + write):      {floor_s:.2f} s",
                f"    runs.calculate_month:      {run_s:.2f} s  ({run.bills / run_s:,.0f} bills/s)  "
                f"ratio {run_s / floor_s:.2f} ×  (target ≤ 3 ×)  {'PASS' if ok_a else 'MISS'}"
                + ("  [under cProfile]" if args.profile else ""),
                f"    anomalies held: {sum(anomalies.values()):,} ({', '.join(f'{k} {v:,}' for k, v in anomalies.items())})",
                f"    runs.accept_all:           {accept_s:.2f} s ({accepted:,} accepted)",
                f"    runs.release:              {release_s:.2f} s ({messages:,} SMS queued; no target)",
            ]

        if "b" in parts:
            # (b) the explanation, beside the raw SQL read.
            rng = random.Random(args.seed)
            numbers = list(Bill.objects.filter(run=run).values_list("number", flat=True))
            sample = [rng.choice(numbers) for _ in range(args.reads)]
            explain_latencies([rng.choice(numbers) for _ in range(20)], agent)  # warm up
            ours, raw, wrong = explain_latencies(sample, agent)
            p95, raw95 = common.percentile(ours, 95), common.percentile(raw, 95)
            statements = explain_statements(sample[0], agent)
            checks[
                f"every explanation has its bill, lines, previous and last year's bill ({wrong} wrong)"
            ] = wrong == 0
            ok_b = p95 <= 2 * raw95
            verdicts.append(ok_b)
            report += [
                f"(b) raw SQL explanation p50/p95: {common.percentile(raw, 50):.2f} / {raw95:.2f} ms",
                f"    answers.explain p50/p95:   {common.percentile(ours, 50):.2f} / {p95:.2f} ms",
                f"    ratio p95:                 {p95 / raw95:.2f} ×  (target ≤ 2 ×)  {'PASS' if ok_b else 'MISS'}",
                f"    one explanation issues {len(statements) - 1} statements (the raw read 2):",
            ]
            report += [f"      {ms:6.2f} ms  {sql}" for ms, sql in statements]

        if "c" in parts:
            # (c) the payment API, beside the control's.
            from bench.billing import pay

            lines, paid, ok_c = pay.measure(args, clerk)
            checks.update(paid)
            verdicts.append(ok_c)
            report += lines

        print()
        common.print_conditions(
            before,
            common.conditions(),
            runs=f"parts {''.join(sorted(parts))}; read floor × {args.floor_runs}, write floor × {args.floor_runs}, "
            f"run × 1 (+ the refused repeat); explanations {args.reads} after 20 warm-ups, alternating with "
            f"the raw read; payments {args.pay_runs} runs a server, alternating",
            size=f"{args.customers:,} customers seeded ({seed_seconds:.0f} s), {pop['accounts']:,} billing accounts, "
            f"{pop['readings']:,} readings, {pop['bills']:,} earlier bills (populated in {pop['seconds']:.0f} s); "
            f"month billed {period:%Y-%m}",
        )
        print()
        print("== results ==")
        print("\n".join(report))
        print("== correctness ==")
        for label, ok in checks.items():
            print(f"  {common.verdict(ok)}  {label}")
        return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
