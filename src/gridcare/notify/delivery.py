"""Draining the outbox: claim due rows in sending order, hand them to the channel's sender, record
the outcome. Called by the worker task (tasks.py) and by ``gridcare deliver-messages``.

At-least-once: a row is claimed (state ``sending``, attempts + 1, a lease until
``now + GRIDCARE_NOTIFY_LEASE_SECONDS``) and committed *before* it is sent; its outcome is
committed as soon as the sender reports it, message by message. A worker that dies mid-batch
leaves the rows it had not finished ``sending``; when the lease runs out they are due again. Only
the message that was in flight (handed to the gateway, outcome not yet written) can be sent a
second time, and the sender gets the message's own id as idempotency key
(``Message.idempotency_key``) so a gateway that honours it drops even that repeat.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Min

from gridcare.core import clock

from .models import Message
from .senders import PermanentSendError, sender_for

logger = logging.getLogger("gridcare.notify.outbox")

MAX_ERROR_CHARS = 2000


@dataclass
class DeliveryStats:
    claimed: int = 0
    sent: int = 0
    retrying: int = 0
    dead: int = 0
    out_of_time: bool = False

    def as_dict(self) -> dict[str, int | bool]:
        return asdict(self)


def deliver_pending(
    *, limit: int | None = None, time_budget: float | None = None, batch_size: int | None = None
) -> DeliveryStats:
    """Deliver due messages, batch after batch, until none is due (or ``limit`` messages were
    claimed, or ``time_budget`` seconds have passed — then ``out_of_time`` is set)."""
    stats = DeliveryStats()
    size = batch_size or settings.GRIDCARE_NOTIFY_BATCH_SIZE
    started = time.monotonic()
    while True:
        if limit is not None:
            size = min(size, limit - stats.claimed)
            if size <= 0:
                break
        batch, looked_at = claim_batch(size, stats)
        if not looked_at:
            break
        if batch:
            deliver_batch(batch, stats)
        if time_budget is not None and time.monotonic() - started > time_budget:
            stats.out_of_time = any_due()
            break
    return stats


def claim_batch(size: int, stats: DeliveryStats) -> tuple[list[Message], int]:
    """Lock up to ``size`` due rows (key customers first, then oldest) and mark them ``sending``.

    Returns the claimed rows and how many due rows were looked at. Rows another worker holds are
    skipped on PostgreSQL; SQLite runs one writer at a time anyway."""
    now = clock.now()
    max_attempts = settings.GRIDCARE_NOTIFY_MAX_ATTEMPTS
    with transaction.atomic():
        qs = Message.objects.due(now).order_by("priority", "created_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            qs = qs.select_for_update(skip_locked=True)
        rows = list(qs[:size])
        if not rows:
            return [], 0
        # A row still "sending" after its lease on its last attempt: the worker died mid-send
        # each time. Stop there rather than crash-looping on it.
        lost = [row for row in rows if row.state == Message.State.SENDING and row.attempts >= max_attempts]
        lost_pks = {row.pk for row in lost}
        live = [row for row in rows if row.pk not in lost_pks]
        if lost:
            Message.objects.filter(pk__in=lost_pks).update(
                state=Message.State.DEAD,
                next_attempt_at=None,
                last_error="投递进程在发送中退出，已达最大尝试次数（可能已送达）",
            )
            stats.dead += len(lost)
        lease_until = now + dt.timedelta(seconds=settings.GRIDCARE_NOTIFY_LEASE_SECONDS)
        Message.objects.filter(pk__in=[row.pk for row in live]).update(
            state=Message.State.SENDING,
            attempts=F("attempts") + 1,
            last_attempt_at=now,
            next_attempt_at=lease_until,
        )
    for row in live:
        row.state = Message.State.SENDING
        row.attempts += 1
        row.last_attempt_at = now
        row.next_attempt_at = lease_until
    stats.claimed += len(live)
    return live, len(rows)


def deliver_batch(batch: Sequence[Message], stats: DeliveryStats) -> None:
    """Send claimed rows through their channels' senders, committing each outcome as soon as the
    sender reports it: a crash mid-batch repeats at most the message in flight."""
    by_channel: dict[str, list[Message]] = defaultdict(list)
    for message in batch:
        by_channel[message.channel].append(message)
    for channel, messages in by_channel.items():
        done: set[int] = set()
        try:
            outcomes = iter(sender_for(channel).send_batch(messages))
        except Exception as exc:  # noqa: BLE001 - a broken sender fails its messages, not the worker
            failure: Exception | None = exc
        else:
            failure = None
            while True:
                try:
                    outcome = next(outcomes)
                except StopIteration:
                    break
                except Exception as exc:  # noqa: BLE001 - as above; what it reported stays recorded
                    failure = exc
                    break
                record_outcomes([outcome], stats)  # committed before the next message is sent
                done.add(outcome[0].pk)
        if failure is not None:
            logger.error("sender for %s failed", channel, exc_info=failure)
            record_outcomes([(message, "", failure) for message in messages if message.pk not in done], stats)


def record_outcomes(outcomes: Sequence[tuple[Message, str, Exception | None]], stats: DeliveryStats) -> None:
    """Write each outcome: sent, failed (due again after the backoff) or dead.

    Rows with the same outcome share one UPDATE."""
    if not outcomes:
        return
    now = clock.now()
    max_attempts = settings.GRIDCARE_NOTIFY_MAX_ATTEMPTS
    groups: dict[tuple, list[int]] = defaultdict(list)
    for message, provider_ref, error in outcomes:
        if error is None:
            changes = {
                "state": Message.State.SENT,
                "next_attempt_at": None,
                "sent_at": now,
                "provider_ref": (provider_ref or "")[:100],
            }
            stats.sent += 1
        else:
            last_error = f"{type(error).__name__}: {error}"[:MAX_ERROR_CHARS]
            if isinstance(error, PermanentSendError) or message.attempts >= max_attempts:
                changes = {"state": Message.State.DEAD, "next_attempt_at": None, "last_error": last_error}
                stats.dead += 1
                logger.error(
                    "message %s gave up after %s attempts: %s", message.pk, message.attempts, last_error
                )
            else:
                changes = {
                    "state": Message.State.FAILED,
                    "next_attempt_at": now + retry_delay(message.attempts),
                    "last_error": last_error,
                }
                stats.retrying += 1
                logger.warning(
                    "message %s attempt %s failed, retry at %s: %s",
                    message.pk,
                    message.attempts,
                    changes["next_attempt_at"],
                    last_error,
                )
        for name, value in changes.items():
            setattr(message, name, value)
        groups[tuple(changes.items())].append(message.pk)
    if len(groups) == 1:  # the usual case (one message at a time): one autocommitted UPDATE
        [(changes_key, pks)] = groups.items()
        Message.objects.filter(pk__in=pks).update(**dict(changes_key))
        return
    with transaction.atomic():
        for changes_key, pks in groups.items():
            Message.objects.filter(pk__in=pks).update(**dict(changes_key))


def retry_delay(attempts: int) -> dt.timedelta:
    """Exponential backoff after the ``attempts``-th failure: base, 2×base, 4×base … capped."""
    base = settings.GRIDCARE_NOTIFY_RETRY_SECONDS
    cap = settings.GRIDCARE_NOTIFY_RETRY_MAX_SECONDS
    return dt.timedelta(seconds=min(cap, base * 2 ** max(attempts - 1, 0)))


def any_due() -> bool:
    return Message.objects.due(clock.now()).exists()


def next_due_at() -> dt.datetime | None:
    """When the earliest open message becomes due (a retry, a held message, a lease running out)."""
    return Message.objects.open().aggregate(at=Min("next_attempt_at"))["at"]
