"""Reads that may go to a read replica (issue 17, item 10).

With ``GRIDCARE_REPLICA_DATABASE_URL`` set, the database alias ``replica`` exists and the statistics
(figures, rankings, trends, drill-down lists, the command wall) read from it inside
``replica_reads()``; everything else — every write, and every read outside that block — uses the
primary. Without a replica nothing changes. A replica trails the primary by its replication lag:
a figure read there may miss the last seconds of changes, never more (the roll-ups' stamps are
read from the same snapshot as the rows).
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Any, TypeVar

from django.conf import settings

REPLICA = "replica"
_reading = contextvars.ContextVar("gridcare_replica_reads", default=False)

F = TypeVar("F", bound=Callable[..., Any])


def configured() -> bool:
    return REPLICA in settings.DATABASES


@contextmanager
def replica_reads() -> Iterator[None]:
    token = _reading.set(True)
    try:
        yield
    finally:
        _reading.reset(token)


def reads_from_replica(view: F) -> F:
    """A view (or API operation) whose reads may be served by the replica."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        with replica_reads():
            return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


class ReplicaRouter:
    """Sends the reads inside ``replica_reads()`` to the replica when one is configured."""

    def db_for_read(self, model: Any, **hints: Any) -> str | None:
        if _reading.get() and configured():
            return REPLICA
        return None

    def db_for_write(self, model: Any, **hints: Any) -> str | None:
        return None

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return True

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        return db != REPLICA  # the replica is a copy of the primary, never migrated itself
