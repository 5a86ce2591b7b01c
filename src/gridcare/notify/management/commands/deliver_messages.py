"""``gridcare deliver-messages``: drain the outbox now, or keep draining it (``--loop``).

The worker task normally delivers; this is the reconciliation path for cron, for a deployment
without a task worker, and for an operator who wants the queue emptied now."""

from __future__ import annotations

import signal
import time

from django.core.management.base import BaseCommand

from gridcare.notify import delivery


class Command(BaseCommand):
    help = "Deliver due outbound messages (outbox). With --loop, keep polling like a worker."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="keep running, polling every --interval")
        parser.add_argument("--interval", type=float, default=10.0, help="seconds between polls (--loop)")
        parser.add_argument("--limit", type=int, default=None, help="claim at most this many per pass")

    def handle(self, *args, loop=False, interval=10.0, limit=None, **options):
        self.running = True
        if loop:
            signal.signal(signal.SIGTERM, self._stop)
            signal.signal(signal.SIGINT, self._stop)
        while True:
            stats = delivery.deliver_pending(limit=limit)
            if stats.claimed or stats.dead or not loop:
                self.stdout.write(
                    f"claimed {stats.claimed}, sent {stats.sent}, retrying {stats.retrying}, dead {stats.dead}"
                )
            if not (loop and self.running):
                return
            time.sleep(interval)
            if not self.running:
                return

    def _stop(self, signum, frame):
        self.running = False
