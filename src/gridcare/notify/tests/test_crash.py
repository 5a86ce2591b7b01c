"""A delivery worker SIGKILLed mid-batch: every message still arrives, and only the one in flight
can arrive twice (with the same idempotency key, so the gateway can drop it)."""

import collections
import json
import os
import signal
import subprocess
import sys
import time

import pytest
from django.db import connection

from gridcare.notify import services
from gridcare.notify.models import Channel, Message
from gridcare.notify.services import Outgoing

from .conftest import HERE

# A worker process on the test database: the settings module with the test database's name.
WORKER = """
import sys
import django
import gridcare.settings as s
s.DATABASES["default"]["NAME"] = sys.argv[1]
django.setup()
from django.core.management import call_command
call_command(*sys.argv[2:])
"""


def start_worker(log_path, lease_seconds, *command):
    env = {
        **os.environ,
        "GRIDCARE_SENDERS": json.dumps({"sms": f"{HERE}.FileRecordingSender"}),
        "GRIDCARE_TEST_DELIVERY_LOG": str(log_path),
        "GRIDCARE_NOTIFY_LEASE_SECONDS": str(lease_seconds),
        "GRIDCARE_NOTIFY_BATCH_SIZE": "200",
        "GRIDCARE_WORKER_LEASE_SECONDS": str(lease_seconds),
    }
    return subprocess.Popen(
        [
            sys.executable,
            "-c",
            WORKER,
            str(connection.settings_dict["NAME"]),
            *(command or ["deliver_messages"]),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def deliveries(log_path):
    if not log_path.exists():
        return []
    return [line.split() for line in log_path.read_text().splitlines()]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_worker_killed_mid_batch_repeats_at_most_the_message_in_flight(tmp_path):
    written = services.enqueue_many(
        Outgoing(channel=Channel.SMS, to=f"138{n:08d}", body=f"停电通知 {n}") for n in range(200)
    )
    assert written == 200
    ids = set(Message.objects.values_list("pk", flat=True))
    log_path = tmp_path / "gateway.log"

    worker = start_worker(log_path, lease_seconds=2)
    deadline = time.monotonic() + 60
    while len(deliveries(log_path)) < 60 and worker.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    delivered_before_crash = len(deliveries(log_path))
    assert 60 <= delivered_before_crash < 200, worker.stderr.read().decode()[-2000:]  # mid-batch

    time.sleep(2.5)  # the dead worker's lease on its unfinished rows runs out
    restarted = start_worker(log_path, lease_seconds=2)
    _out, err = restarted.communicate(timeout=120)
    assert restarted.returncode == 0, err.decode()[-2000:]

    sent = deliveries(log_path)
    times = collections.Counter(int(pk) for pk, _key in sent)
    assert set(times) == ids  # nothing lost
    twice = [pk for pk, n in times.items() if n > 1]
    assert len(twice) <= 1 and max(times.values()) <= 2  # only the message in flight, once more
    # Each delivery carried the message's own id as idempotency key (a repeat carries the same).
    assert all(key == f"gridcare-msg-{pk}" for pk, key in sent)
    assert set(Message.objects.values_list("state", flat=True)) == {Message.State.SENT}


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_task_whose_worker_was_killed_is_released_and_finished_by_the_next_worker(tmp_path):
    """`gridcare worker` SIGKILLed while its delivery task runs: the task row stays RUNNING (the
    task backend never hears of the crash). Once the dead worker's heartbeat is older than the
    lease, the next worker queues the row again and finishes it."""
    from django_tasks_db.models import DBTaskResult

    services.enqueue_many(
        Outgoing(channel=Channel.SMS, to=f"139{n:08d}", body=f"停电通知 {n}") for n in range(200)
    )
    [task_row] = DBTaskResult.objects.filter(task_path="gridcare.notify.tasks.deliver_pending_messages")
    log_path = tmp_path / "gateway.log"

    worker = start_worker(log_path, 2, "worker")
    deadline = time.monotonic() + 60
    while len(deliveries(log_path)) < 60 and worker.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    assert len(deliveries(log_path)) < 200, worker.stderr.read().decode()[-2000:]
    task_row.refresh_from_db()
    assert task_row.status == "RUNNING"  # left behind by the dead worker

    time.sleep(2.5)  # its heartbeat (and the messages' lease) runs out
    restarted = start_worker(log_path, 2, "worker", "--batch")
    _out, err = restarted.communicate(timeout=120)
    assert restarted.returncode == 0, err.decode()[-2000:]

    task_row.refresh_from_db()
    assert task_row.status == "SUCCESSFUL"  # released, claimed again and finished
    assert len(task_row.worker_ids) == 2
    times = collections.Counter(int(pk) for pk, _key in deliveries(log_path))
    assert set(times) == set(Message.objects.values_list("pk", flat=True))
    assert max(times.values()) <= 2 and sum(n > 1 for n in times.values()) <= 1
    assert set(Message.objects.values_list("state", flat=True)) == {Message.State.SENT}
