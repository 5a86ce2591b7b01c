"""Verbs of the outbox: queue messages in the caller's transaction, retry dead ones, mark inbox
messages read. Delivery itself is in ``delivery.py``; the worker task in ``tasks.py``.

Typical use from a higher app's service, inside its transaction::

    notify.enqueue(
        channel=Channel.SMS, to=phone, to_name=customer.name, body=text,
        priority=Priority.KEY_CUSTOMER, about=("workorders.workorder", order.number),
        dedup_key=f"accepted:{order.number}:{phone}",
    )

Nothing is sent before the caller's transaction commits; after it commits one delivery task is
scheduled per transaction, however many messages it queued.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, fields
from typing import Any

from django.db import IntegrityError, transaction

from gridcare.core import clock

from . import bulk, tasks
from .models import Channel, Message, Priority, QuietHours

CHANNELS = frozenset(Channel.values)
BULK_CHUNK = 5000
# After a bulk insert this large, refresh the planner's statistics so the worker's queue query
# keeps using the queue index (PostgreSQL would otherwise sort every due row for each batch).
ANALYZE_AFTER_ROWS = 5000


@dataclass(frozen=True, kw_only=True)
class Outgoing:
    """One message to queue with :func:`enqueue_many` (the same fields :func:`enqueue` takes)."""

    channel: str
    to: str
    body: str
    subject: str = ""
    to_name: str = ""
    priority: int = Priority.NORMAL
    dedup_key: str | None = None
    recipient: tuple[str, str] | None = None
    about: tuple[str, str] | None = None
    not_before: dt.datetime | None = None
    ignore_quiet_hours: bool = False


def enqueue(
    *,
    channel: str,
    to: str,
    body: str,
    subject: str = "",
    to_name: str = "",
    priority: int = Priority.NORMAL,
    dedup_key: str | None = None,
    recipient: tuple[str, str] | None = None,
    about: tuple[str, str] | None = None,
    not_before: dt.datetime | None = None,
    ignore_quiet_hours: bool = False,
) -> Message:
    """Queue one message in the current transaction and return its row.

    ``recipient`` and ``about`` are ``(type, id)`` references as plain strings, e.g.
    ``("org.user", "12")`` and ``("workorders.workorder", "GD20261124000001")``. With a
    ``dedup_key`` that was queued before, nothing new is written and the first row is returned.
    ``not_before`` holds the message until that instant. An SMS to anyone but a staff member
    (``recipient`` not ``org.user``: a customer) that would go out inside the quiet hours
    (``QuietHours``, 22:00–07:00 by default) is held until they end, unless
    ``ignore_quiet_hours`` (an urgent safety notice). Messages to ``staff_inbox`` are
    delivered by being stored: they are visible in the recipient's inbox once committed.
    """
    item = Outgoing(
        channel=channel,
        to=to,
        body=body,
        subject=subject,
        to_name=to_name,
        priority=priority,
        dedup_key=dedup_key,
        recipient=recipient,
        about=about,
        not_before=not_before,
        ignore_quiet_hours=ignore_quiet_hours,
    )
    row = _row(item, clock.now())
    if row.dedup_key:
        existing = Message.objects.filter(dedup_key=row.dedup_key).first()
        if existing is not None:
            return existing
        try:
            with transaction.atomic():
                row.save(force_insert=True)
        except IntegrityError:
            # Queued concurrently by another transaction that committed first.
            return Message.objects.get(dedup_key=row.dedup_key)
    else:
        row.save(force_insert=True)
    if row.state != Message.State.SENT:
        _deliver_after_commit()
    return row


def enqueue_outgoing(item: Outgoing) -> Message:
    """:func:`enqueue` of one prepared :class:`Outgoing` item."""
    return enqueue(**{f.name: getattr(item, f.name) for f in fields(Outgoing)})


_INBOX, _SMS, _URGENT = str(Channel.STAFF_INBOX), str(Channel.SMS), int(Priority.URGENT)


def staff_notice(
    people: Iterable[Any], *, subject: str, body: str, about: tuple[str, str], dedup: str, sms: bool = True
) -> list[Outgoing]:
    """A notice to staff members (anything with ``pk``, ``display_name``, ``mobile``): each person
    once, a staff-inbox message and — with ``sms`` and a mobile on file — an SMS carrying subject
    and body, both urgent. Dedup keys ``{dedup}:inbox:{pk}`` and ``{dedup}:sms:{pk}``. Pure: it
    reads no database (the deadline sweep calls it off the database thread)."""
    sms_body = f"{subject} {body}"
    seen: set[Any] = set()
    items = []
    for person in people:
        pk = person.pk
        if pk in seen:
            continue
        seen.add(pk)
        recipient = ("org.user", str(pk))
        name = person.display_name
        items.append(
            Outgoing(
                channel=_INBOX,
                to=recipient[1],
                to_name=name,
                subject=subject,
                body=body,
                priority=_URGENT,
                recipient=recipient,
                about=about,
                dedup_key=f"{dedup}:inbox:{pk}",
            )
        )
        if sms and person.mobile:
            items.append(
                Outgoing(
                    channel=_SMS,
                    to=person.mobile,
                    to_name=name,
                    subject=subject,
                    body=sms_body,
                    priority=_URGENT,
                    recipient=recipient,
                    about=about,
                    dedup_key=f"{dedup}:sms:{pk}",
                )
            )
    return items


def tell_staff(
    people: Iterable[Any], *, subject: str, body: str, about: tuple[str, str], dedup: str, sms: bool = True
) -> int:
    """Queue a :func:`staff_notice` (each person once, inbox and SMS) in the caller's transaction;
    returns how many people were told."""
    items = staff_notice(people, subject=subject, body=body, about=about, dedup=dedup, sms=sms)
    for item in items:
        enqueue_outgoing(item)
    return len({item.recipient for item in items})


def enqueue_many(
    items: Iterable[Outgoing], *, refresh_statistics: bool = True, fresh_keys: bool = False
) -> int:
    """Queue many messages at once (an outage notice to every affected customer).

    Returns how many rows were written: items whose ``dedup_key`` is already queued, or repeats
    within ``items``, are skipped. Runs in the caller's transaction, or in its own.

    ``refresh_statistics=False``: a caller that queues many batches in a row (the deadline sweep)
    refreshes the planner's statistics once at its end (``bulk.refresh_statistics``) instead of
    after every batch. ``fresh_keys=True``: the caller expects every dedup key to be new; the
    rows then take a faster way in on PostgreSQL (``bulk.insert_values``), with the same result."""
    now = clock.now()
    return enqueue_prepared(
        (prepare_many(chunk, now) for chunk in _chunks(items, BULK_CHUNK)),
        refresh_statistics=refresh_statistics,
        fresh_keys=fresh_keys,
    )


def prepare_many(items: Iterable[Outgoing], now: dt.datetime | None = None) -> list[tuple]:
    """The checked outbox rows of ``items`` (raises ValueError as ``enqueue`` does), for
    ``enqueue_prepared``. No database access: a caller may prepare them in a helper thread
    while its connection is busy (pass ``now``, the instant the messages are queued)."""
    now = now or clock.now()
    make_row = bulk.row_maker()
    return [make_row(_given(item, now)) for item in items]


def enqueue_prepared(
    chunks: Iterable[list[tuple]], *, refresh_statistics: bool = True, fresh_keys: bool = False
) -> int:
    """``enqueue_many`` for rows made by ``prepare_many`` (one list or more)."""
    queued = 0
    needs_delivery = False
    state_at = bulk.columns().index("state")
    with transaction.atomic():
        for rows in chunks:
            queued += bulk.insert_values(rows, fresh_keys=fresh_keys)
            needs_delivery = needs_delivery or any(row[state_at] != _SENT for row in rows)
    if queued >= ANALYZE_AFTER_ROWS and refresh_statistics:
        transaction.on_commit(bulk.refresh_statistics, robust=True)
    if needs_delivery and queued:
        _deliver_after_commit()
    return queued


def retry(*, message_ids: Iterable[int]) -> int:
    """Give failed or dead messages a fresh round of attempts, due now (admin "retry")."""
    with transaction.atomic():
        count = Message.objects.filter(
            pk__in=list(message_ids), state__in=[Message.State.DEAD, Message.State.FAILED]
        ).update(state=Message.State.PENDING, attempts=0, next_attempt_at=clock.now())
    if count:
        _deliver_after_commit()
    return count


def mark_read(*, user_id: int | str, message_ids: Iterable[int] | None = None) -> int:
    """Mark the user's staff-inbox messages read (all of them when ``message_ids`` is None).
    Only the user's own messages are touched, whatever ids are passed."""
    qs = Message.objects.filter(
        channel=Channel.STAFF_INBOX, recipient_address=str(user_id), read_at__isnull=True
    )
    if message_ids is not None:
        qs = qs.filter(pk__in=list(message_ids))
    return qs.update(read_at=clock.now())


def _row(item: Outgoing, now: dt.datetime) -> Message:
    return Message(**_fields(item, now))


def _fields(item: Outgoing, now: dt.datetime) -> dict[str, Any]:
    return dict(zip(bulk.GIVEN, _given(item, now), strict=True))


def _given(item: Outgoing, now: dt.datetime) -> tuple:
    """The checked values of one message, in the order of ``bulk.GIVEN``."""
    if item.channel not in CHANNELS:
        raise ValueError(f"unknown channel {item.channel!r}")
    address = (item.to or "").strip()
    if not address:
        raise ValueError("a message needs a recipient address")
    if not item.body:
        raise ValueError("a message needs a body")
    inbox = item.channel == Channel.STAFF_INBOX
    recipient_type, recipient_id = item.recipient or ("", "")
    first_attempt = None if inbox else (item.not_before or now)
    if item.channel == _SMS and recipient_type != _STAFF and not item.ignore_quiet_hours:
        first_attempt = _after_quiet_hours(first_attempt)
    about_type, about_id = item.about or ("", "")
    return (
        str(item.channel),
        address,
        item.to_name,
        recipient_type,
        str(recipient_id),
        about_type,
        str(about_id),
        item.subject[:200],
        item.body,
        int(item.priority),
        item.dedup_key or None,
        _SENT if inbox else _PENDING,
        now if inbox else None,
        first_attempt,
        now,
    )


_STAFF = "org.user"
# (instant, quiet hours in force, its answer): the messages of one batch share their instant.
_quiet_memo: tuple[dt.datetime, QuietHours, dt.datetime] | None = None


def _after_quiet_hours(at: dt.datetime) -> dt.datetime:
    """``at``, or the end of the customer-SMS quiet hours it falls in (``QuietHours``)."""
    global _quiet_memo
    quiet = QuietHours.current()
    memo = _quiet_memo
    if memo is not None and memo[0] == at and memo[1] is quiet:
        return memo[2]
    answer = quiet.held_until(at) or at
    _quiet_memo = (at, quiet, answer)
    return answer


_SENT = str(Message.State.SENT)
_PENDING = str(Message.State.PENDING)


def _chunks(items: Iterable[Outgoing], size: int) -> Iterator[list[Outgoing]]:
    chunk: list[Outgoing] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _deliver_after_commit() -> None:
    """Schedule one delivery task when the current transaction commits — once per transaction,
    however many messages it queued (the callback is dropped with a rolled-back savepoint, so a
    later enqueue registers it again)."""
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(
        func is tasks.start_delivery for _sids, func, _robust in connection.run_on_commit
    ):
        return
    # robust: a task backend that is down must not fail the caller's committed business change;
    # the rows wait for the next delivery run (see docs/notify.md).
    transaction.on_commit(tasks.start_delivery, robust=True)
