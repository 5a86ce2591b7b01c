"""Queueing messages: written with the caller's business change, once, and only if it commits."""

import datetime as dt

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult

from gridcare.core import clock
from gridcare.notify import queries, services
from gridcare.notify.models import Channel, Message, Priority
from gridcare.notify.services import Outgoing


def outage_sms(phone, **extra):
    return dict(
        channel=Channel.SMS,
        to=phone,
        to_name="张建国",
        body="【国网】您所在的东风1号台区因计划检修于11月25日8:00-12:00停电，请提前做好准备。",
        **extra,
    )


def test_a_queued_message_waits_for_the_worker_and_names_its_work_order(db):
    message = services.enqueue(
        **outage_sms("13812341234"),
        about=("workorders.workorder", "GD20261124000001"),
        recipient=("customers.customer", "5100000001"),
    )

    message.refresh_from_db()
    assert message.state == Message.State.PENDING
    assert message.attempts == 0
    assert list(queries.messages_about("workorders.workorder", "GD20261124000001")) == [message]
    assert (message.recipient_type, message.recipient_id) == ("customers.customer", "5100000001")


def test_the_same_warning_is_never_queued_twice(db):
    key = "warning:GD20261124000001:2026-11-25T09:00:00+08:00:2:12"
    first = services.enqueue(channel=Channel.SMS, to="13812341234", body="二级预警", dedup_key=key)
    again = services.enqueue(channel=Channel.SMS, to="13812341234", body="二级预警", dedup_key=key)

    assert again.pk == first.pk
    assert Message.objects.filter(dedup_key=key).count() == 1


def test_a_rolled_back_business_change_leaves_no_message_and_schedules_nothing(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        services.enqueue(**outage_sms("13812341234"))
        services.enqueue_many([Outgoing(**outage_sms("13987654321"))])
        raise RuntimeError("the work order could not be saved")

    assert Message.objects.count() == 0
    assert callbacks == []


def test_one_transaction_schedules_one_delivery_task_however_many_messages(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        services.enqueue(**outage_sms("13812341234"))
        services.enqueue(**outage_sms("13987654321"))
        services.enqueue_many(Outgoing(**outage_sms(f"1390000{n:04d}")) for n in range(50))

    assert Message.objects.count() == 52
    assert len(callbacks) == 1
    assert DBTaskResult.objects.filter(task_path__endswith="deliver_pending_messages").count() == 1


def test_a_message_written_after_a_rolled_back_savepoint_still_schedules_delivery(
    db, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        with pytest.raises(RuntimeError), transaction.atomic():
            services.enqueue(**outage_sms("13812341234"))
            raise RuntimeError("inner step failed")
        services.enqueue(**outage_sms("13987654321"))

    assert Message.objects.count() == 1
    assert len(callbacks) == 1


def test_bulk_queueing_skips_keys_already_queued_and_repeated(db):
    services.enqueue(**outage_sms("13800000000"), dedup_key="outage:TD1:13800000000")
    items = [
        Outgoing(**outage_sms(f"138{n:08d}"), dedup_key=f"outage:TD1:138{n:08d}", priority=Priority.BULK)
        for n in range(4500)
    ]
    items.append(items[10])  # the same customer twice in the affected list

    queued = services.enqueue_many(items)

    assert queued == 4499
    assert Message.objects.count() == 4500
    assert Message.objects.filter(priority=Priority.BULK).count() == 4499


def test_a_message_held_until_later_is_not_due_before(db, recording):
    with clock.frozen(dt.datetime(2026, 11, 24, 9, 0)) as frozen:
        services.enqueue(**outage_sms("13812341234"), not_before=clock.now() + dt.timedelta(hours=2))
        from gridcare.notify.delivery import deliver_pending

        assert deliver_pending().claimed == 0
        frozen.advance(hours=2)
        assert deliver_pending().sent == 1


def test_bad_input_is_refused(db):
    with pytest.raises(ValueError):
        services.enqueue(channel="fax", to="0851-1234567", body="x")
    with pytest.raises(ValueError):
        services.enqueue(channel=Channel.SMS, to=" ", body="x")


def test_bulk_queueing_twice_in_one_transaction_writes_both_lists(db):
    with transaction.atomic():
        first = services.enqueue_many(Outgoing(**outage_sms(f"1370000{n:04d}")) for n in range(30))
        second = services.enqueue_many(Outgoing(**outage_sms(f"1360000{n:04d}")) for n in range(20))

    assert (first, second) == (30, 20)
    assert Message.objects.count() == 50


def test_bulk_warnings_to_staff_land_in_their_inboxes_at_once(db):
    queued = services.enqueue_many(
        Outgoing(channel=Channel.STAFF_INBOX, to=str(user_id), body="10kV东风线停电超过12小时（二级预警）")
        for user_id in (7, 8, 9)
    )

    assert queued == 3
    assert [m.body for m in queries.inbox_for(8)] == ["10kV东风线停电超过12小时（二级预警）"]
    assert not Message.objects.open().exists()


def test_bulk_rows_read_back_like_rows_queued_one_by_one(db):
    with clock.frozen(dt.datetime(2026, 11, 24, 9, 0)):
        one = services.enqueue(
            **outage_sms("13812341234"), subject="停电通知", about=("outages.outage", "TD1")
        )
        services.enqueue_many(
            [Outgoing(**outage_sms("13987654321"), subject="停电通知", about=("outages.outage", "TD1"))]
        )

    bulk = Message.objects.get(recipient_address="13987654321")
    fields = ["channel", "recipient_name", "subject", "body", "priority", "state", "attempts", "about_type"]
    assert [getattr(bulk, f) for f in fields] == [getattr(one, f) for f in fields]
    assert bulk.created_at == one.created_at == bulk.next_attempt_at
    assert bulk.dedup_key is None and bulk.last_error == "" and bulk.sent_at is None


def test_bulk_queueing_of_fresh_keys_still_skips_a_key_already_queued(db):
    """``fresh_keys`` is a hint for speed (COPY straight into the outbox on PostgreSQL): when a
    key is there after all, or repeats, the rows go in the usual way, duplicates skipped."""
    services.enqueue(**outage_sms("13800000000"), dedup_key="warning:1:1:sms:5")
    items = [Outgoing(**outage_sms(f"138{n:08d}"), dedup_key=f"warning:1:1:sms:{n + 5}") for n in range(300)]

    with transaction.atomic():
        queued = services.enqueue_many(items, fresh_keys=True)
        again = services.enqueue_many([*items[:3], items[0]], fresh_keys=True)
        fresh = services.enqueue_many(
            [Outgoing(**outage_sms("13900000000"), dedup_key="warning:2:1:sms:5")], fresh_keys=True
        )

    assert (queued, again, fresh) == (299, 0, 1)
    assert Message.objects.count() == 301
    assert Message.objects.filter(dedup_key="warning:1:1:sms:5").get().recipient_address == "13800000000"


def test_bulk_queueing_leaves_the_statistics_to_the_caller_when_asked(
    db, django_capture_on_commit_callbacks, monkeypatch
):
    from gridcare.notify import bulk

    monkeypatch.setattr(services, "ANALYZE_AFTER_ROWS", 10)
    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        services.enqueue_many(Outgoing(**outage_sms(f"1370000{n:04d}")) for n in range(20))
    assert bulk.refresh_statistics in callbacks

    with django_capture_on_commit_callbacks() as callbacks, transaction.atomic():
        services.enqueue_many(
            (Outgoing(**outage_sms(f"1360000{n:04d}")) for n in range(20)), refresh_statistics=False
        )
    assert bulk.refresh_statistics not in callbacks
