"""Shared benchmark helpers: Django setup, run conditions, percentiles and medians, the demo county.

Every benchmark prints the conditions it ran under (docs/benchmarks.md, rule 3) and its figures beside
a control measured in the same run (rule 1). Typical use::

    from bench import common

    common.setup_django(require_postgresql=True)
    before = common.conditions()
    ...
    common.print_conditions(before, common.conditions(), runs=3)
"""

from __future__ import annotations

import datetime as dt
import math
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any


def setup_django(*, require_postgresql: bool = True) -> None:
    """Configure Django from the environment; exit with a clear message when PostgreSQL is required."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridcare.settings")
    if require_postgresql and not os.environ.get("DATABASE_URL", "").startswith(
        ("postgres://", "postgresql://")
    ):
        sys.exit(
            "This benchmark measures PostgreSQL: set DATABASE_URL=postgres://USER@HOST:PORT/DBNAME "
            "(a database of its own; it will be migrated and seeded)."
        )
    if require_postgresql:
        ensure_database(os.environ["DATABASE_URL"])
    import django

    django.setup()


def ensure_database(url: str) -> None:
    """Create the database ``url`` names when the server has none of that name (a fresh machine)."""
    from urllib.parse import urlsplit, urlunsplit

    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name:
        return
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            conn.execute(f'CREATE DATABASE "{name}"')  # the operator's own DATABASE_URL
            print(f"database {name} created", flush=True)


# --- conditions ------------------------------------------------------------------------------

PG_SETTINGS = [
    "shared_buffers",
    "work_mem",
    "effective_cache_size",
    "random_page_cost",
    "max_parallel_workers_per_gather",
    "jit",
    "synchronous_commit",
    "autovacuum",
]


def conditions() -> dict[str, Any]:
    """What the machine and the database look like right now."""
    info: dict[str, Any] = {
        "date": dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z"),
        "nproc": os.cpu_count(),
        "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": platform.python_version(),
    }
    try:
        import django
        from django.db import connection

        info["django"] = django.get_version()
        info["database"] = connection.vendor
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SHOW server_version")
                info["postgresql"] = cursor.fetchone()[0]
                settings = {}
                for name in PG_SETTINGS:
                    cursor.execute(f"SHOW {name}")
                    settings[name] = cursor.fetchone()[0]
                info["pg_settings"] = settings
    except Exception as exc:  # conditions are informative, never fatal
        info["database_error"] = str(exc)
    return info


def print_conditions(before: dict[str, Any], after: dict[str, Any] | None = None, **extra: Any) -> None:
    print("== conditions ==")
    print(f"date: {before['date']}")
    print(f"nproc: {before['nproc']}   python {before['python']}   django {before.get('django', '?')}")
    load = f"load average before: {before['loadavg']}"
    if after is not None:
        load += f"   after: {after['loadavg']}"
    print(load)
    if "postgresql" in before:
        print(f"PostgreSQL {before['postgresql']}")
        print("  " + "  ".join(f"{k}={v}" for k, v in before["pg_settings"].items()))
    for key, value in extra.items():
        print(f"{key}: {value}")


# --- statistics ------------------------------------------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) with linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = math.ceil(position)
    if low == high:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else math.nan


@dataclass
class Latency:
    """Latencies of one series of calls, in milliseconds."""

    samples: list[float]

    @property
    def p50(self) -> float:
        return percentile(self.samples, 50)

    @property
    def p95(self) -> float:
        return percentile(self.samples, 95)

    @property
    def p99(self) -> float:
        return percentile(self.samples, 99)

    def __str__(self) -> str:
        return f"p50 {self.p50:7.2f} ms  p95 {self.p95:7.2f} ms  (n={len(self.samples)})"


def timed_ms(call: Callable[[], Any]) -> tuple[float, Any]:
    """Run ``call`` once; return (elapsed milliseconds, its result)."""
    started = time.perf_counter_ns()
    result = call()
    return (time.perf_counter_ns() - started) / 1e6, result


@contextmanager
def stopwatch(label: str, sink: dict[str, float] | None = None):
    started = time.perf_counter()
    yield
    elapsed = time.perf_counter() - started
    if sink is not None:
        sink[label] = elapsed
    print(f"{label}: {elapsed:.1f} s", flush=True)


# --- CPU spent by the server's processes (robust to a busy machine) -----------------------------

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of one process so far (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICK  # utime, stime


def child_pids(parent: int) -> list[int]:
    """The processes whose parent is ``parent`` (a gunicorn master's workers)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == parent:
                        found.append(int(entry))
            except OSError:
                continue
    return found


def database_backend_pids(dbname: str) -> list[int]:
    """The PostgreSQL client backends connected to ``dbname``, except this process's own."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND backend_type = 'client backend' "
            "AND pid <> pg_backend_pid()",
            [dbname],
        )
        return [row[0] for row in cursor.fetchall()]


def cpu_of(pids: Sequence[int]) -> float:
    return sum(process_cpu_seconds(p) for p in pids)


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


# --- the demo county -------------------------------------------------------------------------

DEMO_TABLES = [
    "customers_supplycontract",
    "customers_meter",
    "customers_customeraddress",
    "customers_customerphone",
    "customers_customer",
    "customers_transformerarea",
    "customers_feeder",
    "customers_substation",
    "org_roleassignment",
    "org_apitoken",
    "org_user",
    "org_unit",
]


@dataclass
class CountyState:
    customers: int
    reused: bool
    seed_seconds: float | None


def demo_county_size() -> int | None:
    """Customers in the database when it holds the demo county (None when it holds none)."""
    from gridcare.customers.models import Customer
    from gridcare.org.models import Unit

    if not Unit.objects.filter(code="QL").exists():
        return None
    return Customer.objects.count()


def ensure_demo_county(customers: int, *, seed: int | None = None, reseed: bool = False) -> CountyState:
    """Migrate, then reuse the demo county when it has exactly ``customers`` customers, else
    (re)build it and time the seeding. Rebuilding empties the demo's tables first (TRUNCATE …
    CASCADE, which also empties whatever references them, e.g. work orders): use a database of
    the benchmark's own.
    """
    from django.core.management import call_command
    from django.db import connection

    from gridcare.demo.seeding import DEFAULT_SEED

    call_command("migrate", interactive=False, verbosity=0)
    size = demo_county_size()
    if size == customers and not reseed:
        print(
            f"demo county with {customers:,} customers found: reused (seeding not timed; --reseed times it)"
        )
        return CountyState(customers=customers, reused=True, seed_seconds=None)
    if size is not None or connection.vendor == "postgresql":
        from gridcare.customers.models import Customer
        from gridcare.org.models import Unit

        if size is not None or Unit.objects.exists() or Customer.objects.exists():
            print(f"emptying the demo tables (they held {size or 0:,} customers)", flush=True)
            with connection.cursor() as cursor:
                tables = ", ".join(connection.ops.quote_name(t) for t in DEMO_TABLES)
                cursor.execute(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("CHECKPOINT")
    print(f"seeding the demo county with {customers:,} customers …", flush=True)
    started = time.perf_counter()
    call_command("seed_demo", customers=customers, seed=seed or DEFAULT_SEED, no_knowledge=True, verbosity=1)
    elapsed = time.perf_counter() - started
    if connection.vendor == "postgresql":
        # Set hint bits and the visibility map once, as autovacuum would later; otherwise the
        # first queries after a bulk load pay for it with writes.
        with (
            stopwatch("VACUUM ANALYZE after seeding (not part of the seeding time)"),
            connection.cursor() as cursor,
        ):
            for table in DEMO_TABLES[:8]:
                cursor.execute(f"VACUUM (ANALYZE) {connection.ops.quote_name(table)}")
    return CountyState(customers=customers, reused=False, seed_seconds=elapsed)


class _Rollback(Exception):
    pass


def copy_floor(replay: dict[str, tuple[list[str], list[tuple]]], runs: int) -> list[float]:
    """A write floor: rows read back as text (``{table: (columns, rows)}``) written again by raw
    COPY in one transaction, their deferred constraint checks run (``SET CONSTRAINTS ALL
    IMMEDIATE``: the foreign keys Django declares ``DEFERRABLE INITIALLY DEFERRED`` are checked
    at commit, which the measured code pays and a rolled-back floor would not), rolled back; the
    time of each of ``runs`` rounds. ``copy_floor.last_checks`` keeps the checks' share."""
    from django.db import connection, transaction

    times, checks = [], []
    for _ in range(runs):
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                t0 = time.perf_counter()
                for table, (cols, rows) in replay.items():
                    with cursor.cursor.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as out:
                        for row in rows:
                            out.write_row(row)
                t1 = time.perf_counter()
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                t2 = time.perf_counter()
                times.append(t2 - t0)
                checks.append(t2 - t1)
                raise _Rollback
        except _Rollback:
            pass
    copy_floor.last_checks = checks  # type: ignore[attr-defined]
    return times
