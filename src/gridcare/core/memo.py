"""What a process keeps for a while: values read on hot paths and changed rarely.

Policies, parameter rows, the calendar, API tokens, the topology of an area: each request reads
them and an admin's edit or an import changes them. A ``Memo`` answers a kept value while it is
fresh and loads it again after ``seconds``; the process that makes an edit calls ``forget`` so it
sees the edit at once, every other process within ``seconds`` (docs/deployment.md lists them).
Two threads may both load a missing value; both answers are the same rows, and the later one is
kept.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from django.db import connection, transaction

V = TypeVar("V")

_ALL = object()


class Memo(Generic[V]):
    def __init__(self, seconds: float | Callable[[], float], *, max_size: int | None = None) -> None:
        """``seconds``: how long a value stays fresh (a callable is asked at each store, for a
        setting; 0 or less keeps nothing). ``max_size``: the memo empties itself when that many
        values are kept (keys that come from clients)."""
        self._seconds = seconds
        self._max_size = max_size
        self._values: dict[Hashable, tuple[float, V]] = {}
        self._lock = threading.Lock()
        # Transactions (their outermost atomic block) that changed what this memo keeps, not
        # yet committed: they read around the memo (``forget_on_change``).
        self._changing: weakref.WeakSet[object] = weakref.WeakSet()

    def peek(self, key: Hashable) -> V | None:
        """The kept value of ``key`` while fresh, else None."""
        hit = self._values.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        return None

    def get(self, key: Hashable, load: Callable[[], V]) -> V:
        """The kept value of ``key``, or ``load()`` kept for next time."""
        if self._changing and connection.in_atomic_block and connection.atomic_blocks[0] in self._changing:
            return load()  # this transaction changed the rows: its own view, kept by nobody
        hit = self._values.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        value = load()
        self.put(key, value)
        return value

    def put(self, key: Hashable, value: V) -> None:
        seconds = self._seconds() if callable(self._seconds) else self._seconds
        if seconds <= 0:
            return
        with self._lock:
            if self._max_size is not None and len(self._values) >= self._max_size:
                self._values.clear()
            self._values[key] = (time.monotonic() + seconds, value)

    def forget_on_change(self) -> None:
        """For a change's signal (``post_save``/``post_delete``): forget now and again at the
        commit (a value another thread loaded meanwhile is the old one); until then the changing
        transaction loads its own view without keeping it, so a rollback leaves nothing behind."""
        self.forget()
        if connection.in_atomic_block:
            self._changing.add(connection.atomic_blocks[0])
            transaction.on_commit(self.forget)

    def forget(self, key: Hashable = _ALL) -> None:
        """Drop ``key``'s value, or every value."""
        with self._lock:
            if key is _ALL:
                self._values.clear()
            else:
                self._values.pop(key, None)
