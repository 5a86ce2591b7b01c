"""A database of the benchmark's own on the server DATABASE_URL names (created fresh, dropped after).

CI runs every benchmark's smoke test against one shared database; each of these benchmarks works
in a scratch database beside it so that none sees (or empties) another's rows.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit


def _admin_url(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/postgres"))


def scratch_url(url: str, suffix: str, name: str | None = None) -> tuple[str, str]:
    parts = urlsplit(url)
    base = parts.path.lstrip("/") or "gridcare"
    db = name or f"{base}_{suffix}"[:63]
    return urlunsplit(parts._replace(path=f"/{db}")), db


def _execute(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(_admin_url(url), autocommit=True) as conn:
        conn.execute(sql)


def copy_database(source: str, target: str) -> None:
    """Save database ``source`` (no session may be connected to it) as ``target``."""
    url = os.environ["DATABASE_URL"]
    _execute(url, f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)')
    _execute(url, f'CREATE DATABASE "{target}" TEMPLATE "{source}"')


@contextmanager
def scratch_database(
    suffix: str, *, name: str | None = None, keep: bool = False, template: str | None = None
):
    """Point DATABASE_URL at a fresh database ``<dbname>_<suffix>`` for the block; drop it after."""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit(
            "This benchmark measures PostgreSQL: set DATABASE_URL=postgres://USER@HOST:PORT/DBNAME "
            "(the benchmark creates and drops a scratch database beside it)."
        )
    new_url, db = scratch_url(url, suffix, name)
    _execute(url, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    _execute(url, f'CREATE DATABASE "{db}"' + (f' TEMPLATE "{template}"' if template else ""))
    os.environ["DATABASE_URL"] = new_url
    print(f"scratch database: {db}", flush=True)
    try:
        yield new_url
    finally:
        os.environ["DATABASE_URL"] = url
        if keep:
            print(f"kept the scratch database {db} (--keep-db)")
        else:
            try:
                from django.db import connections

                connections.close_all()
            except Exception:  # noqa: S110 - Django may not be set up yet
                pass
            _execute(url, f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
