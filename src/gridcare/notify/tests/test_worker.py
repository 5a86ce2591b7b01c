"""The worker path: a committed message is delivered by `gridcare worker` through the Tasks API."""

import datetime as dt
import logging
import time

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from gridcare.core import clock
from gridcare.core.periodic import enqueue_due
from gridcare.notify import services
from gridcare.notify.models import Channel, Message
from gridcare.notify.tasks import deliver_pending_messages

PATH = "gridcare.notify.tasks.deliver_pending_messages"


def scheduled_runs():
    """When each queued delivery task may run (None: at once)."""
    return [row.task.run_after for row in DBTaskResult.objects.filter(task_path=PATH)]


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

    assert PATH in started
    DBTaskResult.objects.get(task_path=PATH).task.call()  # what the worker then runs
    message.refresh_from_db()
    assert message.state == Message.State.SENT


def test_failing_batches_schedule_one_wake_up_at_the_first_retry(
    db, recording, gateway_down, retry_policy, django_capture_on_commit_callbacks
):
    start = clock.FrozenClock(dt.datetime(2026, 11, 24, 9, 0)).at
    with clock.frozen(start):
        services.enqueue(channel=Channel.SMS, to="13812341234", body="停电通知")
        services.enqueue(channel=Channel.SMS, to="13987654321", body="停电通知")
        for _ in range(2):  # the second run finds nothing due and the wake-up already set
            with django_capture_on_commit_callbacks(execute=True):
                deliver_pending_messages.call()

    assert scheduled_runs() == [start + dt.timedelta(seconds=60)]


def test_a_task_that_runs_out_of_time_hands_over_to_a_continuation(db, settings, recording):
    settings.GRIDCARE_NOTIFY_BATCH_SIZE = 1
    settings.GRIDCARE_NOTIFY_TASK_SECONDS = 0
    for n in range(3):
        services.enqueue(channel=Channel.SMS, to=f"1380000000{n}", body="停电通知")

    result = deliver_pending_messages.call()

    assert (result["sent"], result["out_of_time"]) == (1, True)
    assert scheduled_runs() == [None]  # to run at once
