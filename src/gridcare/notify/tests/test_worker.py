"""The worker path: a committed message is delivered by `gridcare worker` through the Tasks API."""

import logging
import time

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from gridcare.core.periodic import enqueue_due
from gridcare.notify import services
from gridcare.notify.models import Channel, Message
from gridcare.notify.tasks import deliver_pending_messages


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_committed_message_is_delivered_by_the_worker(caplog):
    message = services.enqueue(channel=Channel.SMS, to="13812341234", body="您的报修工单已受理。")
    assert DBTaskResult.objects.count() == 1  # scheduled when the enqueue committed

    with caplog.at_level(logging.INFO, logger="gridcare.notify.outbox"):
        call_command("worker", "--batch")

    message.refresh_from_db()
    assert message.state == Message.State.SENT
    assert DBTaskResult.objects.get().status == "SUCCESSFUL"
    # The default sender writes to the log, with the phone number masked.
    assert "138****1234" in caplog.text
    assert "13812341234" not in caplog.text


def test_the_task_drains_every_due_message_not_only_its_own(db, recording):
    for n in range(3):
        services.enqueue(channel=Channel.SMS, to=f"1380000000{n}", body="停电通知")

    result = deliver_pending_messages.call()

    assert result["sent"] == 3
    assert not Message.objects.exclude(state=Message.State.SENT).exists()


def test_the_delivery_command_drains_the_outbox(db, recording):
    services.enqueue(channel=Channel.WECHAT, to="oWx_openid_1", body="停电通知")
    services.enqueue(channel=Channel.APP_PUSH, to="device-1", body="停电通知")

    call_command("deliver_messages")

    assert Message.objects.filter(state=Message.State.SENT).count() == 2


def test_the_workers_periodic_sweep_delivers_a_message_whose_task_was_lost(db, recording):
    # Inside the test transaction the after-commit task is never scheduled: as if the process died
    # between the commit and the enqueue.
    message = services.enqueue(channel=Channel.SMS, to="13812341234", body="停电通知")
    assert not DBTaskResult.objects.exists()

    started = enqueue_due({}, time.monotonic())  # what `gridcare worker`'s scheduler does

    path = "gridcare.notify.tasks.deliver_pending_messages"
    assert path in started
    DBTaskResult.objects.get(task_path=path).task.call()  # what the worker then runs
    message.refresh_from_db()
    assert message.state == Message.State.SENT
