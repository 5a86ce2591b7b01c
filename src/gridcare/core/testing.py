"""Helpers for the test suites (no production code imports this)."""

from __future__ import annotations

import contextlib
import datetime as dt
import socket
from collections.abc import Iterator

from gridcare.core import clock


class Mailbox:
    """What a local SMTP server (aiosmtpd) received."""

    def __init__(self):
        self.envelopes = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    """A TCP port on 127.0.0.1 nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def in_threads(work, count: int, *, barrier: bool = False) -> list:
    """Run ``work()`` in ``count`` threads at once, each on its own database connection (closed
    when it ends); return what each returned. Re-raises the first exception a thread met.
    ``barrier``: the threads start ``work`` together."""
    import threading

    from django.db import connections

    results: list = []
    errors: list[BaseException] = []
    start = threading.Barrier(count) if barrier else None

    def run():
        try:
            if start is not None:
                start.wait()
            results.append(work())
        except BaseException as exc:  # noqa: BLE001 - re-raised below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
    return results


@contextlib.contextmanager
def in_calling_hours() -> Iterator[clock.FrozenClock]:
    """The clock frozen at an instant the seeded callback calling hours (08:00–20:00 Asia/Shanghai)
    allow, never before now: now itself when it is within them, else the next 10:00. For a test
    that records a phone callback and is not about the hours (it passes at any time of day)."""
    at = clock.local_now()
    if not 8 <= at.hour < 20:
        day = at.date() + dt.timedelta(days=1 if at.hour >= 20 else 0)
        at = dt.datetime.combine(day, dt.time(10), tzinfo=clock.LOCAL_TZ)
    with clock.frozen(at) as frozen:
        yield frozen
