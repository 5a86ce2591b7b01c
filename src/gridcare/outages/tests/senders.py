"""A sender the tests plug in through GRIDCARE_SENDERS, the way a deployment plugs its gateway."""

from gridcare.notify.senders import Sender


class Recording(Sender):
    sent: list[tuple[str, str, str]] = []

    def send(self, message):
        Recording.sent.append((message.channel, message.recipient_address, message.body))
        return f"ok-{message.pk}"
