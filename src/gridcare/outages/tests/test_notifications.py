"""Notices to every affected customer through the outbox: key customers first, once each."""

import pytest

from gridcare.core.api_errors import ApiError
from gridcare.notify.delivery import deliver_pending
from gridcare.notify.models import Channel, Message, Priority
from gridcare.outages import queries, services
from gridcare.outages.models import OutageCustomer, OutageKind, OutageState

from .conftest import local
from .senders import Recording


@pytest.fixture
def recording(settings):
    Recording.sent = []
    settings.GRIDCARE_SENDERS = dict.fromkeys(
        ("sms", "email", "wechat", "app_push", "log"), "gridcare.outages.tests.senders.Recording"
    )
    return Recording.sent


@pytest.fixture
def published(ow):
    outage, _ = services.create_outage(
        kind=OutageKind.PLANNED,
        reason="10kV东风线设备检修",
        actor=ow.dispatcher,
        planned_start=local(2026, 12, 2, 8),
        planned_end=local(2026, 12, 2, 18),
        area_text="东风路沿线",
        feeders=["F01"],
    )
    return services.publish(outage=outage, actor=ow.dispatcher)


def sms(outage):
    return Message.objects.filter(about_id=outage.number, channel=Channel.SMS)


def test_publishing_queues_one_sms_per_customer_with_a_mobile_and_an_email_to_the_account_manager(
    ow, published
):
    texts = list(sms(published).values_list("recipient_address", flat=True))
    assert sorted(texts) == ["13800000010", "13800000011", "13812341234"]  # not the landline-only one
    assert queries.customers_without_mobile(published) == 1
    body = sms(published).first().body
    assert body.startswith(
        "【国网城关县供电公司】尊敬的客户：因10kV东风线设备检修，我公司计划于12月2日08:00至18:00对东风路沿线停电，"
        "预计12月2日18:00恢复供电"
    )
    assert body.endswith("给您带来不便敬请谅解。咨询请拨打95598。")
    [email] = Message.objects.filter(about_id=published.number, channel=Channel.EMAIL)
    assert email.recipient_address == "kong@gridcare.example"
    assert "城关县人民医院" in email.body and email.priority == Priority.KEY_CUSTOMER


def test_key_customers_are_sent_first(ow, published, recording):
    hospital = sms(published).get(recipient_address="13800000010")
    assert hospital.priority == Priority.KEY_CUSTOMER
    assert {m.priority for m in sms(published).exclude(pk=hospital.pk)} == {Priority.BULK}

    deliver_pending(batch_size=1)

    sent_sms = [to for channel, to, _body in recording if channel == Channel.SMS]
    assert sent_sms[0] == "13800000010"
    assert len(sent_sms) == 3


def test_publishing_again_or_requeueing_sends_nothing_twice(ow, published):
    before = Message.objects.count()

    services.publish(outage=published, actor=ow.dispatcher)
    assert services.queue_notices(published, services.Purpose.NOTICE) == 0

    assert Message.objects.count() == before
    assert published.events.filter(action="publish").count() == 1


def test_delivery_state_is_visible_per_outage(ow, published, recording):
    [notice] = queries.delivery_progress(published)
    assert (notice["label"], notice["total"], notice["pending"], notice["sent"]) == ("停电通知", 4, 4, 0)

    deliver_pending()

    [notice] = queries.delivery_progress(published)
    assert (notice["sent"], notice["pending"], notice["done_percent"]) == (4, 0, 100)
    row = next(r for r in queries.key_customers(published) if r.customer == ow.hospital)
    assert row.message_states["notice"] == Message.State.SENT


def test_restoring_tells_every_customer_key_customers_first(ow, published, recording):
    ow.now.advance(days=8)  # 12-02 09:00, during the outage
    services.start(outage=published, actor=ow.dispatcher, at=local(2026, 12, 2, 8))
    ow.now.advance(hours=7)

    outage = services.restore(outage=published, actor=ow.dispatcher, note="检修完毕")

    assert outage.state == OutageState.RESTORED and outage.actual_end == local(2026, 12, 2, 16)
    restored = Message.objects.filter(dedup_key__startswith=f"outage:{outage.number}:restored:sms:")
    assert restored.count() == 3
    assert restored.get(recipient_address="13800000010").priority == Priority.KEY_CUSTOMER
    assert restored.first().body == (
        "【国网城关县供电公司】尊敬的客户：东风路沿线已于12月2日16:00恢复供电，感谢您的理解与支持。"
        "如您家中仍无电，请拨打95598报修。"
    )
    assert OutageCustomer.objects.filter(outage=outage, restore_queued_at__isnull=False).count() == 3
    services.restore(outage=outage, actor=ow.dispatcher)
    assert restored.count() == 3  # restoring twice sends nothing more
    labels = [p["label"] for p in queries.delivery_progress(outage)]
    assert labels == ["停电通知", "恢复送电通知"]


def test_cancelling_a_published_outage_tells_the_customers_who_were_told(ow, published):
    services.cancel(outage=published, actor=ow.dispatcher, reason="施工计划调整")

    cancelled = Message.objects.filter(dedup_key__startswith=f"outage:{published.number}:cancelled:sms:")
    assert cancelled.count() == 3
    assert "原定于12月2日08:00至18:00对东风路沿线的停电已取消" in cancelled.first().body


def test_a_fault_outage_notifies_at_once_and_a_grown_scope_sends_the_notice_only_to_newcomers(ow):
    outage = services.open_fault_outage(
        transformer_areas=["T01"],
        reason="10kV东风线故障跳闸",
        started_at=local(2026, 11, 24, 8, 40),
        estimated_end=local(2026, 11, 24, 12, 0),
        actor=None,
    )
    [first] = sms(outage)
    assert first.recipient_address == "13812341234" and first.priority == Priority.NORMAL
    assert "11月24日08:40起停电，抢修人员正在全力抢修，预计11月24日12:00前恢复供电" in first.body

    services.update_fault_scope(outage=outage, feeders=["F01"], actor=ow.dispatcher)
    services.update_fault_scope(outage=outage, transformer_areas=["T03"], actor=ow.dispatcher)
    services.update_fault_scope(outage=outage, feeders=["F01"], actor=ow.dispatcher)

    # Each customer is sent the notice once (those told before get a correction instead:
    # test_scope_change_notices.py).
    notices = sms(outage).filter(dedup_key__contains=":notice:")
    assert sorted(notices.values_list("recipient_address", flat=True)) == [
        "13800000010",
        "13800000011",
        "13812341234",
    ]


def test_a_big_outage_tells_key_customers_at_once_and_the_rest_from_the_worker(
    ow, settings, django_capture_on_commit_callbacks
):
    from gridcare.outages import tasks

    settings.GRIDCARE_OUTAGE_INLINE_NOTICES = 2  # "big" = more than two customers
    with django_capture_on_commit_callbacks() as callbacks:
        outage = services.open_fault_outage(
            transformer_areas=["T03"],
            reason="台区变压器故障",
            started_at=local(2026, 11, 24, 8, 40),
            actor=None,
        )
    assert list(sms(outage).values_list("recipient_address", flat=True)) == ["13800000010"]
    assert Message.objects.filter(about_id=outage.number, channel=Channel.EMAIL).count() == 1
    assert len(callbacks) == 2  # the notify delivery run and the deferred notices

    assert tasks.queue_outage_notices.call(outage.pk, services.Purpose.NOTICE) == 1
    assert sorted(sms(outage).values_list("recipient_address", flat=True)) == ["13800000010", "13800000011"]
    assert tasks.queue_outage_notices.call(outage.pk, services.Purpose.NOTICE) == 0


def test_a_deferred_notice_is_dropped_once_power_is_back(ow, settings):
    from gridcare.outages import tasks

    settings.GRIDCARE_OUTAGE_INLINE_NOTICES = 2
    outage = services.open_fault_outage(
        transformer_areas=["T03"], reason="台区变压器故障", started_at=local(2026, 11, 24, 8, 40), actor=None
    )
    services.restore(outage=outage, actor=None, at=local(2026, 11, 24, 8, 55))

    assert tasks.queue_outage_notices.call(outage.pk, services.Purpose.NOTICE) == 0
    assert tasks.queue_outage_notices.call(outage.pk, services.Purpose.RESTORED) == 1
    assert not sms(outage).filter(recipient_address="13800000011", dedup_key__contains=":notice:").exists()


def test_merged_fault_outages_tell_each_customer_once_and_restore_once(ow):
    """Two fault outages found to be one fault: whoever either told is not told again, and the
    restoration of the survivor tells every customer of both exactly once."""
    west = services.open_fault_outage(
        transformer_areas=["T01"], reason="台区故障", started_at=local(2026, 11, 24, 8, 40), actor=None
    )
    east = services.open_fault_outage(
        transformer_areas=["T03"], reason="台区故障", started_at=local(2026, 11, 24, 8, 50), actor=None
    )
    told = sorted(
        Message.objects.filter(channel=Channel.SMS, body__contains="停电").values_list(
            "recipient_address", flat=True
        )
    )
    assert told == ["13800000010", "13800000011", "13812341234"]

    survivor = services.merge_fault_outage(source=east, into=west, actor=None, note="同一线路故障")
    east.refresh_from_db()
    assert east.state == OutageState.MERGED and east.merged_into == survivor
    assert survivor.customer_count == 4 and survivor.actual_start == local(2026, 11, 24, 8, 40)
    # Nobody is told of the fault a second time; the merged outage leaves the lookups.
    assert sorted(sms(survivor).values_list("recipient_address", flat=True)) == ["13812341234"]
    assert Message.objects.filter(channel=Channel.SMS).count() == 3
    assert [o.pk for o in queries.outages_for_customer(ow.hospital)] == [survivor.pk]

    services.restore(outage=survivor, actor=None)
    restored = Message.objects.filter(channel=Channel.SMS, dedup_key__contains="restored")
    assert sorted(restored.values_list("recipient_address", flat=True)) == [
        "13800000010",
        "13800000011",
        "13812341234",
    ]


def test_only_open_fault_outages_merge(ow):
    one = services.open_fault_outage(
        transformer_areas=["T01"], reason="故障", started_at=local(2026, 11, 24, 8), actor=None
    )
    two = services.open_fault_outage(
        transformer_areas=["T03"], reason="故障", started_at=local(2026, 11, 24, 8), actor=None
    )
    services.restore(outage=two, actor=None)
    with pytest.raises(ApiError) as exc:
        services.merge_fault_outage(source=two, into=one, actor=None)
    assert exc.value.code == "illegal_transition"
    with pytest.raises(ApiError):
        services.merge_fault_outage(source=one, into=one, actor=None)


def test_the_deferred_notices_path_names_the_task():
    """``notices`` schedules by path (core.scheduling); a wrong path would only fail after commit."""
    from gridcare.core import scheduling
    from gridcare.outages import tasks
    from gridcare.outages.notices import QUEUE_NOTICES

    assert scheduling.task(QUEUE_NOTICES) is tasks.queue_outage_notices
