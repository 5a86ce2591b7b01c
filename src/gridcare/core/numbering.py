"""Human-readable, gap-tolerant, race-free numbers: PREFIX + period + zero-padded counter."""

from __future__ import annotations

from django.db import connection

from .models import NumberSequence

# One statement takes the next value: insert the counter at 1, or bump it, and return it.
# PostgreSQL and SQLite (≥ 3.35) both speak INSERT … ON CONFLICT … RETURNING.
UPSERT_SQL = (
    'INSERT INTO "core_numbersequence" ("prefix", "period", "value") VALUES (%s, %s, 1) '
    'ON CONFLICT ("prefix", "period") DO UPDATE SET "value" = "core_numbersequence"."value" + 1 '
    'RETURNING "value"'
)
# The same, taken only when the SQL condition ``{when}`` holds (for a larger statement that may
# turn out to write nothing): no row, no value taken.
UPSERT_WHEN_SQL = (
    'INSERT INTO "core_numbersequence" ("prefix", "period", "value") SELECT %s, %s, 1 WHERE {when} '
    'ON CONFLICT ("prefix", "period") DO UPDATE SET "value" = "core_numbersequence"."value" + 1 '
    'RETURNING "value"'
)
assert NumberSequence._meta.db_table == "core_numbersequence"


def next_value(prefix: str, period: str) -> int:
    """Atomically take the next counter value for (prefix, period).

    One statement, so it is atomic on its own (in autocommit mode) and joins the caller's
    transaction when there is one: the counter row is then locked until that transaction ends,
    and a rollback gives the value back.
    """
    with connection.cursor() as cursor:
        cursor.execute(UPSERT_SQL, [prefix, period])
        return int(cursor.fetchone()[0])


WIDTH = 6

# The same number formed in SQL from the counter value ``value`` (for one-statement writes that
# take the number inside a larger INSERT): PREFIX+period, then the value zero-padded to ``width``.
NUMBER_SQL = '(%s || lpad("value"::text, greatest(%s, length("value"::text)), \'0\'))'


def next_number(prefix: str, period: str, width: int = WIDTH) -> str:
    return f"{prefix}{period}{next_value(prefix, period):0{width}d}"


BLOCK_SQL = (
    'INSERT INTO "core_numbersequence" ("prefix", "period", "value") VALUES (%s, %s, %s) '
    'ON CONFLICT ("prefix", "period") DO UPDATE SET "value" = "core_numbersequence"."value" + %s '
    'RETURNING "value"'
)


def next_block(prefix: str, period: str, count: int) -> int:
    """Take ``count`` consecutive counter values for (prefix, period) in one statement (a batch
    numbering its rows); returns the first. Same atomicity as ``next_value``."""
    if count < 1:
        raise ValueError("a block has at least one value")
    with connection.cursor() as cursor:
        cursor.execute(BLOCK_SQL, [prefix, period, count, count])
        return int(cursor.fetchone()[0]) - count + 1
