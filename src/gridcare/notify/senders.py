"""Senders deliver messages of one channel. Which class serves which channel is configured in
``settings.GRIDCARE_SENDERS`` (channel → dotted path), e.g. from the environment variable
``GRIDCARE_SENDERS='{"email": "gridcare.notify.senders.SmtpEmailSender"}'``.

A message may be handed to a sender twice (at-least-once delivery: the worker died before it
could record the outcome). Pass ``message.idempotency_key`` to the gateway as its client
reference / idempotency key so it can drop the repeat; the e-mail sender makes it the Message-ID.

A sender is a class with a ``send_batch(messages)`` method (subclass :class:`Sender` and write
``send(message)``). To fail a message, raise: :class:`PermanentSendError` gives up at once (a
wrong address), any other exception is retried with backoff. See docs/notify.md.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import EmailMessage, get_connection
from django.utils.module_loading import import_string

from .models import mask_address

if TYPE_CHECKING:
    from .models import Message

logger = logging.getLogger("gridcare.notify.outbox")

LOG_SENDER = "gridcare.notify.senders.LogSender"


class PermanentSendError(Exception):
    """The message can never be delivered (bad address, rejected content): do not retry."""


class Sender(ABC):
    """Base class: deliver one message per ``send`` call; raise to fail it."""

    @abstractmethod
    def send(self, message: Message) -> str:
        """Deliver ``message``; return the gateway's reference (or "")."""

    def send_batch(self, messages: Sequence[Message]) -> Iterator[tuple[Message, str, Exception | None]]:
        """Yield ``(message, provider_ref, error)`` for each message, error None on success.

        Override to share a connection across the batch (see SmtpEmailSender)."""
        for message in messages:
            try:
                yield message, self.send(message) or "", None
            except Exception as exc:  # noqa: BLE001 - any sender failure is recorded on the row
                yield message, "", exc


class LogSender(Sender):
    """Writes the message to the log. The default for every channel: the demo has no SMS
    gateway, and a deployment without one still sees what would have been sent."""

    def send(self, message: Message) -> str:
        logger.info(
            "message %s via %s to %s (%s): %s %s",
            message.idempotency_key,
            message.channel,
            mask_address(message.recipient_address),
            message.recipient_name,
            message.subject,
            message.body[:200],
        )
        return ""


class SmtpEmailSender(Sender):
    """Sends e-mail through the SMTP server in EMAIL_HOST / EMAIL_PORT / EMAIL_HOST_USER /
    EMAIL_HOST_PASSWORD / EMAIL_USE_TLS / EMAIL_USE_SSL, from DEFAULT_FROM_EMAIL.

    Uses Django's SMTP backend explicitly (not EMAIL_BACKEND), so a deployment that sets this
    sender always talks SMTP; one connection serves a whole batch."""

    backend = "django.core.mail.backends.smtp.EmailBackend"

    def send(self, message: Message) -> str:
        """One message on a connection of its own (the outbox sends whole batches)."""
        [(_message, ref, error)] = list(self.send_batch([message]))
        if error is not None:
            raise error
        return ref

    def send_batch(self, messages: Sequence[Message]) -> Iterator[tuple[Message, str, Exception | None]]:
        connection = get_connection(self.backend, fail_silently=False)
        try:
            connection.open()
        except Exception as exc:  # noqa: BLE001 - server down: every message of the batch fails
            for message in messages:
                yield message, "", exc
            return
        try:
            for message in messages:
                try:
                    email = self.build(message)
                    email.connection = connection
                    if not email.send():
                        raise RuntimeError("SMTP server accepted no recipient")
                    yield message, email.extra_headers.get("Message-ID", ""), None
                except Exception as exc:  # noqa: BLE001
                    yield message, "", exc
        finally:
            try:
                connection.close()
            except Exception:  # noqa: BLE001 - closing a broken connection must not fail the batch
                logger.warning("closing the SMTP connection failed", exc_info=True)

    def build(self, message: Message) -> EmailMessage:
        if "@" not in message.recipient_address:
            raise PermanentSendError(f"not an e-mail address: {mask_address(message.recipient_address)}")
        to = (
            f"{message.recipient_name} <{message.recipient_address}>"
            if message.recipient_name
            else message.recipient_address
        )
        return EmailMessage(
            subject=message.subject or message.body[:40],
            body=message.body,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=[to],
            # The same message always has the same Message-ID, so a repeat after a worker crash
            # can be recognised (and dropped) by the server or the mail client.
            headers={"Message-ID": f"<{message.idempotency_key}@{self.domain()}>"},
        )

    @staticmethod
    def domain() -> str:
        """The sending domain (of DEFAULT_FROM_EMAIL) for Message-IDs."""
        address = settings.DEFAULT_FROM_EMAIL.rsplit("<", 1)[-1].rstrip(">").strip()
        return address.rpartition("@")[2] or "gridcare.localhost"


def sender_path(channel: str) -> str:
    return getattr(settings, "GRIDCARE_SENDERS", {}).get(channel) or LOG_SENDER


def sender_for(channel: str) -> Sender:
    """A fresh instance of the sender configured for ``channel`` (one per batch)."""
    path = sender_path(channel)
    cls = import_string(path)
    if not (isinstance(cls, type) and hasattr(cls, "send_batch")):
        raise ImproperlyConfigured(f"{path} is not a sender class (it needs a send_batch method)")
    return cls()
