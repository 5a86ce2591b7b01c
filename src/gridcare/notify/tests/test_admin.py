"""The outbox in the admin: operators filter by state and retry what was given up."""

from django.contrib.admin import helpers
from django.urls import reverse

from gridcare.notify import services
from gridcare.notify.models import Channel, Message


def dead_sms(phone):
    message = services.enqueue(channel=Channel.SMS, to=phone, body="停电通知")
    Message.objects.filter(pk=message.pk).update(
        state=Message.State.DEAD, next_attempt_at=None, attempts=8, last_error="网关无响应"
    )
    return message


def test_the_list_masks_phone_numbers_and_filters_by_state(admin_client):
    dead_sms("13812341234")
    services.enqueue(channel=Channel.SMS, to="13987654321", body="停电通知")

    page = admin_client.get(reverse("admin:notify_message_changelist"), {"state__exact": "dead"})

    text = page.content.decode()
    assert page.status_code == 200
    assert "138****1234" in text
    assert "13812341234" not in text
    assert "139****4321" not in text  # filtered out: still pending
    assert "已放弃" in text


def test_retry_action_requeues_dead_messages(admin_client):
    dead = dead_sms("13812341234")
    sent = services.enqueue(channel=Channel.SMS, to="13987654321", body="已发")
    Message.objects.filter(pk=sent.pk).update(state=Message.State.SENT, next_attempt_at=None)

    response = admin_client.post(
        reverse("admin:notify_message_changelist"),
        {"action": "retry_messages", helpers.ACTION_CHECKBOX_NAME: [dead.pk, sent.pk]},
        follow=True,
    )

    assert "1 条消息已重新排队" in response.content.decode()
    dead.refresh_from_db()
    assert (dead.state, dead.attempts) == (Message.State.PENDING, 0)
    assert Message.objects.get(pk=sent.pk).state == Message.State.SENT  # a sent message is never resent


def test_messages_cannot_be_added_or_edited_by_hand(admin_client):
    message = dead_sms("13812341234")

    assert admin_client.get(reverse("admin:notify_message_add")).status_code == 403
    page = admin_client.get(reverse("admin:notify_message_change", args=[message.pk]))
    assert page.status_code == 200
    assert 'name="body"' not in page.content.decode()
    assert "138****1234" in page.content.decode()
    assert "13812341234" not in page.content.decode()
