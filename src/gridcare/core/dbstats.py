"""Planner statistics of a table that grew fast (PostgreSQL's ANALYZE; nothing elsewhere).

Autovacuum re-reads a table's statistics a minute or more after it changed (and never where it
is turned off). A table that goes from a few rows to thousands within minutes — the outbox after
an outage notice, the fault-call queue in a storm — is then planned as if it were still small,
which can turn an index probe into a scan of the whole table. ANALYZE blocks no insert or update.
"""

from __future__ import annotations

from django.db import connection, models


def analyze(model: type[models.Model], *, changed_share: float | None = None, at_least: int = 0) -> bool:
    """ANALYZE ``model``'s table — always, or (``changed_share``) only once that share of its rows,
    and at least ``at_least`` rows, changed since its statistics were taken. True if it ran."""
    if connection.vendor != "postgresql":
        return False
    table = model._meta.db_table
    with connection.cursor() as cursor:
        if changed_share is not None:
            cursor.execute(
                "SELECT n_mod_since_analyze, n_live_tup FROM pg_stat_user_tables WHERE relid = %s::regclass",
                [table],
            )
            row = cursor.fetchone()
            if row is None or row[0] <= max(at_least, int(row[1] * changed_share)):
                return False
        cursor.execute(f"ANALYZE {connection.ops.quote_name(table)}")
    return True
