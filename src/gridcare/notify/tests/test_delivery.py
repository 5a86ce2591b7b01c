"""Delivery: key customers first, retries with backoff, nothing lost when a sender or worker fails."""

import datetime as dt

import pytest

from gridcare.core import clock
from gridcare.notify import services
from gridcare.notify.delivery import DeliveryStats, claim_batch, deliver_pending
from gridcare.notify.models import Channel, Message, Priority

START = dt.datetime(2026, 11, 24, 9, 0)


def sms(phone, body="停电通知", **extra):
    return services.enqueue(channel=Channel.SMS, to=phone, body=body, **extra)


def test_delivery_sends_and_marks_sent(db, recording):
    with clock.frozen(START):
        message = sms("13812341234", body="您的报修工单已受理，抢修人员将尽快到达。")

        stats = deliver_pending()

    message.refresh_from_db()
    assert stats.sent == 1
    assert message.state == Message.State.SENT
    assert message.sent_at == clock.FrozenClock(START).at
    assert message.attempts == 1
    assert message.provider_ref == f"ok-{message.pk}"
    assert recording == [("sms", "13812341234", "您的报修工单已受理，抢修人员将尽快到达。")]
    assert deliver_pending().claimed == 0  # sent once, never again


def test_key_customers_are_sent_first_then_the_oldest(db, recording):
    sms("13800000001", body="普通客户1")
    sms("13800000002", body="重要客户", priority=Priority.KEY_CUSTOMER)
    sms("13800000003", body="普通客户2")
    sms("13800000004", body="紧急", priority=Priority.URGENT)

    deliver_pending(batch_size=1)

    assert [body for _channel, _to, body in recording] == ["紧急", "重要客户", "普通客户1", "普通客户2"]


def test_a_gateway_that_is_down_is_retried_with_backoff_then_given_up_without_losing_the_row(
    db, recording, gateway_down, retry_policy
):
    with clock.frozen(START) as frozen:
        message = sms("13812341234")

        assert deliver_pending().retrying == 1
        message.refresh_from_db()
        assert message.state == Message.State.FAILED
        assert message.attempts == 1
        assert message.next_attempt_at == clock.now() + dt.timedelta(seconds=60)
        assert "短信网关无响应" in message.last_error

        assert deliver_pending().claimed == 0  # not due before the backoff
        frozen.advance(seconds=60)
        assert deliver_pending().retrying == 1
        message.refresh_from_db()
        assert message.next_attempt_at == clock.now() + dt.timedelta(seconds=120)  # doubled

        frozen.advance(seconds=120)
        assert deliver_pending().dead == 1
        message.refresh_from_db()
        assert message.state == Message.State.DEAD
        assert message.attempts == 3
        assert "ConnectionError" in message.last_error

        frozen.advance(hours=5)
        assert deliver_pending().claimed == 0  # dead rows wait for an operator


def test_a_dead_message_retried_by_an_operator_is_sent_once_the_gateway_is_back(
    db, settings, recording, gateway_down, retry_policy
):
    with clock.frozen(START) as frozen:
        message = sms("13812341234")
        for _ in range(3):
            deliver_pending()
            frozen.advance(hours=1)
        message.refresh_from_db()
        assert message.state == Message.State.DEAD

        settings.GRIDCARE_SENDERS = {
            **settings.GRIDCARE_SENDERS,
            "sms": "gridcare.notify.tests.senders_for_tests.RecordingSender",
        }
        assert services.retry(message_ids=[message.pk]) == 1
        deliver_pending()

    message.refresh_from_db()
    assert message.state == Message.State.SENT
    assert len(recording) == 1


def test_a_rejected_number_is_given_up_at_once(db, settings, retry_policy):
    settings.GRIDCARE_SENDERS = {
        **settings.GRIDCARE_SENDERS,
        "sms": "gridcare.notify.tests.senders_for_tests.RejectingSender",
    }
    message = sms("10000000000")

    assert deliver_pending().dead == 1
    message.refresh_from_db()
    assert message.state == Message.State.DEAD
    assert message.attempts == 1
    assert "号码不存在" in message.last_error


def test_one_channel_failing_does_not_hold_back_the_others(db, recording, gateway_down):
    sms("13812341234")
    services.enqueue(channel=Channel.EMAIL, to="zhang@example.com", subject="账单", body="您的11月电费账单")

    stats = deliver_pending()

    assert (stats.sent, stats.retrying) == (1, 1)
    assert Message.objects.get(channel=Channel.EMAIL).state == Message.State.SENT
    assert Message.objects.get(channel=Channel.SMS).state == Message.State.FAILED


def test_a_sender_that_breaks_mid_batch_keeps_what_it_sent_and_retries_the_rest(db, settings, retry_policy):
    settings.GRIDCARE_SENDERS = {"sms": "gridcare.notify.tests.senders_for_tests.ConnectionLostSender"}
    for n in range(5):
        sms(f"1381234123{n}")

    stats = deliver_pending()

    assert (stats.sent, stats.retrying) == (2, 3)
    states = sorted(Message.objects.values_list("state", flat=True))
    assert states == [Message.State.FAILED] * 3 + [Message.State.SENT] * 2
    assert set(Message.objects.filter(state=Message.State.FAILED).values_list("last_error", flat=True)) == {
        "ConnectionResetError: 网关连接中断"
    }


def test_a_worker_that_dies_mid_send_loses_nothing_the_message_is_sent_after_the_lease(
    db, recording, retry_policy
):
    with clock.frozen(START) as frozen:
        message = sms("13812341234")
        claimed, _ = claim_batch(10, DeliveryStats())  # the worker claims, then the process dies
        assert [m.pk for m in claimed] == [message.pk]

        assert deliver_pending().claimed == 0  # another worker leaves it alone during the lease
        frozen.advance(seconds=301)
        assert deliver_pending().sent == 1

    message.refresh_from_db()
    assert message.state == Message.State.SENT
    assert message.attempts == 2


def test_a_message_whose_worker_died_on_every_attempt_is_given_up(db, recording, retry_policy):
    with clock.frozen(START) as frozen:
        message = sms("13812341234")
        for _ in range(3):
            claim_batch(10, DeliveryStats())
            frozen.advance(seconds=301)

        assert deliver_pending().dead == 1

    message.refresh_from_db()
    assert message.state == Message.State.DEAD
    assert recording == []


def test_staff_inbox_messages_are_delivered_by_being_stored(db, recording):
    message = services.enqueue(channel=Channel.STAFF_INBOX, to="12", body="工单GD20261124000001即将超时")

    assert message.state == Message.State.SENT
    assert deliver_pending().claimed == 0
    assert recording == []


@pytest.mark.parametrize("attempts,seconds", [(1, 60), (2, 120), (3, 240), (10, 3600)])
def test_backoff_doubles_up_to_the_cap(settings, retry_policy, attempts, seconds):
    from gridcare.notify.delivery import retry_delay

    assert retry_delay(attempts) == dt.timedelta(seconds=seconds)
