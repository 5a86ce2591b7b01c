"""Planned-outage and restoration SMS to customers are not sent in the night (短信免打扰时段):
queued at 3 a.m. they wait until the quiet hours end; the account managers' e-mails do not."""

from gridcare.notify.models import Channel, Message
from gridcare.outages import services
from gridcare.outages.models import OutageKind

from .conftest import local


def test_a_planned_outage_published_and_restored_at_night_texts_customers_at_seven(ow):
    ow.now.advance(hours=18)  # 11-25 03:00
    outage, _ = services.create_outage(
        kind=OutageKind.PLANNED,
        reason="10kV东风线设备检修",
        actor=ow.dispatcher,
        planned_start=local(2026, 12, 2, 8),
        planned_end=local(2026, 12, 2, 18),
        area_text="东风路沿线",
        feeders=["F01"],
    )
    outage = services.publish(outage=outage, actor=ow.dispatcher)
    notices = Message.objects.filter(about_id=outage.number, channel=Channel.SMS)
    assert notices.count() == 3
    assert set(notices.values_list("next_attempt_at", flat=True)) == {local(2026, 11, 25, 7)}
    email = Message.objects.get(about_id=outage.number, channel=Channel.EMAIL)
    assert email.next_attempt_at == local(2026, 11, 25, 3)

    ow.now.advance(days=7, hours=5)  # 12-02 08:00
    services.start(outage=outage, actor=ow.dispatcher, at=local(2026, 12, 2, 8))
    ow.now.advance(hours=15)  # 12-02 23:00: the work ran late
    services.restore(outage=outage, actor=ow.dispatcher, note="检修完毕")
    restored = Message.objects.filter(dedup_key__startswith=f"outage:{outage.number}:restored:sms:")
    assert restored.count() == 3
    assert set(restored.values_list("next_attempt_at", flat=True)) == {local(2026, 12, 3, 7)}
