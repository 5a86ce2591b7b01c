"""The key customer's account manager hears of the outage by e-mail — through a REAL SMTP server
(aiosmtpd on 127.0.0.1) and the notify app's delivery, no mocks."""

import email
import email.policy

from gridcare.notify.delivery import deliver_pending
from gridcare.notify.models import Channel, Message
from gridcare.outages import services

from .conftest import local


def test_the_account_manager_of_an_affected_key_customer_gets_an_email(ow, smtp_server):
    outage = services.open_fault_outage(
        transformer_areas=["T03"], reason="台区变压器故障", started_at=local(2026, 11, 24, 8, 40), actor=None
    )

    stats = deliver_pending()

    assert stats.sent == 3  # two SMS (log sender) and the e-mail
    [envelope] = smtp_server.envelopes
    assert envelope.rcpt_tos == ["kong@gridcare.example"]
    assert envelope.mail_from == "95598@gridcare.localhost"
    received = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    # A long encoded subject is folded onto its own line ("Subject:\n =?utf-8?b?…"); Python's
    # parser keeps the folding space, mail clients drop it.
    assert received["Subject"].strip() == f"【停电通知】重要客户停电告知 {outage.number}"
    assert received["To"].addresses[0].display_name == "孔经理"
    body = received.get_content()
    assert "5100000010 城关县人民医院" in body and "正在停电（11月24日08:40起）" in body
    message = Message.objects.get(channel=Channel.EMAIL)
    assert message.state == Message.State.SENT and message.provider_ref == received["Message-ID"]

    services.restore(outage=outage, actor=None, at=local(2026, 11, 24, 10, 5))
    deliver_pending()

    assert len(smtp_server.envelopes) == 2
    second = email.message_from_bytes(smtp_server.envelopes[1].original_content, policy=email.policy.default)
    assert second["Subject"].strip() == f"【恢复送电通知】重要客户停电告知 {outage.number}"
    assert "已于11月24日10:05恢复供电" in second.get_content()
