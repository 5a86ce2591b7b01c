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
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

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

    def peek(self, key: Hashable) -> V | None:
        """The kept value of ``key`` while fresh, else None."""
        hit = self._values.get(key)
        if hit is not None and hit[0] > time.monotonic():
            return hit[1]
        return None

    def get(self, key: Hashable, load: Callable[[], V]) -> V:
        """The kept value of ``key``, or ``load()`` kept for next time."""
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

    def forget(self, key: Hashable = _ALL) -> None:
        """Drop ``key``'s value, or every value."""
        with self._lock:
            if key is _ALL:
                self._values.clear()
            else:
                self._values.pop(key, None)
