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


class FileRecordingSender(Sender):
    """A gateway in another process: appends ``<id> <idempotency key>`` of each delivery to the
    file named in $GRIDCARE_TEST_DELIVERY_LOG (one unbuffered write, so a SIGKILLed worker's
    deliveries are all there), a few milliseconds per message like a real gateway."""

    def send(self, message):
        import os
        import time

        line = f"{message.pk} {message.idempotency_key}\n".encode()
        fd = os.open(os.environ["GRIDCARE_TEST_DELIVERY_LOG"], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)
        time.sleep(0.005)
        return f"ok-{message.pk}"


class ConnectionLostSender(Sender):
    """Delivers two messages of a batch, then its connection breaks (send_batch raises)."""

    def send(self, message):
        return f"ok-{message.pk}"

    def send_batch(self, messages):
        for message in messages[:2]:
            yield message, self.send(message), None
        raise ConnectionResetError("网关连接中断")
