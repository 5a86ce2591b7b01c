"""The e-mail sender talks to a real SMTP server (aiosmtpd on 127.0.0.1) — no mocks."""

import email
import email.policy

from gridcare.core.testing import free_port
from gridcare.notify import services
from gridcare.notify.delivery import deliver_pending
from gridcare.notify.models import Channel, Message
from gridcare.notify.senders import SmtpEmailSender


def test_an_email_reaches_the_smtp_server_with_its_chinese_subject_and_body(db, smtp_server):
    body = "张建国您好：\n您户号5100000001的11月电费为128.56元，请于12月15日前缴纳。\n国网城关县供电公司"
    message = services.enqueue(
        channel=Channel.EMAIL, to="zhang@example.com", to_name="张建国", subject="11月电费账单", body=body
    )

    assert deliver_pending().sent == 1

    [envelope] = smtp_server.envelopes
    assert envelope.rcpt_tos == ["zhang@example.com"]
    assert envelope.mail_from == "95598@gridcare.localhost"
    received = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert received["Subject"] == "11月电费账单"
    assert received["To"].addresses[0].display_name == "张建国"
    assert received.get_content_charset() == "utf-8"
    assert received.get_content().replace("\r\n", "\n").strip() == body  # SMTP lines end in CRLF
    message.refresh_from_db()
    assert message.state == Message.State.SENT
    assert message.provider_ref == received["Message-ID"]


def test_several_emails_go_over_one_connection_in_priority_order(db, smtp_server):
    services.enqueue(channel=Channel.EMAIL, to="a@example.com", subject="普通", body="普通通知")
    services.enqueue(
        channel=Channel.EMAIL, to="b@example.com", subject="重要", body="重要客户通知", priority=10
    )

    assert deliver_pending().sent == 2

    subjects = [
        email.message_from_bytes(e.original_content, policy=email.policy.default)["Subject"]
        for e in smtp_server.envelopes
    ]
    assert subjects == ["重要", "普通"]


def test_when_the_mail_server_is_down_the_email_waits_for_a_retry(db, smtp_sender, retry_policy):
    smtp_sender.EMAIL_PORT = free_port()  # nothing listens there
    message = services.enqueue(channel=Channel.EMAIL, to="zhang@example.com", subject="账单", body="电费账单")

    assert deliver_pending().retrying == 1

    message.refresh_from_db()
    assert message.state == Message.State.FAILED
    assert "Connection" in message.last_error or "refused" in message.last_error.lower()


def test_a_phone_number_on_the_email_channel_is_given_up_at_once(db, smtp_server):
    message = services.enqueue(channel=Channel.EMAIL, to="13812341234", subject="账单", body="电费账单")

    assert deliver_pending().dead == 1
    message.refresh_from_db()
    assert "not an e-mail address" in message.last_error
    assert "13812341234" not in message.last_error  # masked
    assert smtp_server.envelopes == []


def test_one_message_can_be_sent_on_its_own(db, smtp_server):
    import pytest

    from gridcare.notify.senders import PermanentSendError, SmtpEmailSender

    ok = services.enqueue(channel=Channel.EMAIL, to="a@example.com", subject="单发", body="单独发送")
    assert SmtpEmailSender().send(ok).startswith("<")  # the Message-ID
    assert [e.rcpt_tos for e in smtp_server.envelopes] == [["a@example.com"]]
    wrong = services.enqueue(channel=Channel.EMAIL, to="13812341234", subject="单发", body="单独发送")
    with pytest.raises(PermanentSendError):
        SmtpEmailSender().send(wrong)


def test_an_email_sent_again_carries_the_same_message_id_so_the_repeat_can_be_dropped(db, smtp_server):
    """At-least-once: a worker that died before recording the outcome sends the e-mail again. Its
    Message-ID is the message's own id both times (the idempotency key mail systems dedupe on)."""
    message = services.enqueue(
        channel=Channel.EMAIL, to="zhang@example.com", subject="停电通知", body="明日停电"
    )
    message.refresh_from_db()

    SmtpEmailSender().send(message)
    SmtpEmailSender().send(message)  # the repeat after a crash

    ids = [
        email.message_from_bytes(envelope.original_content, policy=email.policy.default)["Message-ID"]
        for envelope in smtp_server.envelopes
    ]
    assert ids == [f"<gridcare-msg-{message.pk}@gridcare.localhost>"] * 2
