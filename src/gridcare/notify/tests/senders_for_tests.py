"""Senders the tests plug in through GRIDCARE_SENDERS, the way a deployment plugs its gateway."""

from __future__ import annotations

from gridcare.notify.senders import PermanentSendError, Sender


class RecordingSender(Sender):
    """Accepts every message and remembers it, in order."""

    sent: list[tuple[str, str, str]] = []

    def send(self, message):
        RecordingSender.sent.append((message.channel, message.recipient_address, message.body))
        return f"ok-{message.pk}"


class GatewayDownSender(Sender):
    """An SMS gateway that is down: every attempt raises."""

    def send(self, message):
        raise ConnectionError("短信网关无响应")


class RejectingSender(Sender):
    """A gateway that rejects the number outright."""

    def send(self, message):
        raise PermanentSendError("号码不存在")
