"""The injectable clock. Every business rule asks ``clock.now()``, never ``timezone.now()``
directly, so tests (and the demo's "what if" tools) can move time.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterator
from typing import overload
from zoneinfo import ZoneInfo

from django.utils import timezone

LOCAL_TZ = ZoneInfo("Asia/Shanghai")

_source: Callable[[], dt.datetime] = timezone.now


def now() -> dt.datetime:
    """The current instant, timezone-aware (UTC)."""
    return _source()


def local_now() -> dt.datetime:
    return now().astimezone(LOCAL_TZ)


@overload
def local(at: dt.datetime) -> dt.datetime: ...
@overload
def local(at: None) -> None: ...
@overload
def local(at: dt.datetime | None) -> dt.datetime | None: ...
def local(at: dt.datetime | None) -> dt.datetime | None:
    """``at`` in Asia/Shanghai (None stays None): how the API writes every time. A naive value is
    read as Asia/Shanghai, as Django reads one (``TIME_ZONE``), not as the server's zone."""
    if at is None:
        return None
    return at.replace(tzinfo=LOCAL_TZ) if at.tzinfo is None else at.astimezone(LOCAL_TZ)


def today() -> dt.date:
    """Today's date in Asia/Shanghai."""
    return local_now().date()


def set_source(source: Callable[[], dt.datetime]) -> None:
    global _source
    _source = source


def reset() -> None:
    set_source(timezone.now)


@contextlib.contextmanager
def frozen(at: dt.datetime) -> Iterator[FrozenClock]:
    """Freeze the clock at ``at`` (naive values are read as Asia/Shanghai) for a block."""
    clock = FrozenClock(at)
    previous = _source
    set_source(clock)
    try:
        yield clock
    finally:
        set_source(previous)


class FrozenClock:
    def __init__(self, at: dt.datetime) -> None:
        if timezone.is_naive(at):
            at = at.replace(tzinfo=LOCAL_TZ)
        self.at = at

    def __call__(self) -> dt.datetime:
        return self.at

    def advance(self, **delta: float) -> None:
        self.at = self.at + dt.timedelta(**delta)
