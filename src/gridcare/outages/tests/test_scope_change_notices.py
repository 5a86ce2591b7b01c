"""A fault outage's scope follows its repair event (promoted from a transformer area to the feeder,
demoted, re-assigned): customers told of the first guess get one correction, not a second notice;
customers no longer in it are told so once; newcomers get the notice; each customer one message per
change, and one restoration notice at the end.

The fixture's 10kV东风线 (F01) supplies 东风1号台区 (T01: 张建国, mobile 13812341234) and 东风2号台区
(T03: the hospital, a key customer with an account manager, 13800000010; 陈明 13800000011; a customer
with a landline only; a closed account)."""

from collections import defaultdict

from gridcare.notify.models import Channel, Message
from gridcare.outages import services
from gridcare.outages.models import OutageCustomer

from .conftest import local

EAST, HOSPITAL, NEIGHBOUR = "13812341234", "13800000010", "13800000011"


def sms_by_phone(outage) -> dict[str, list[str]]:
    """Each mobile's SMS about the outage, by purpose in the order queued ("notice", "corrected" …)."""
    found: dict[str, list[str]] = defaultdict(list)
    for to, key in (
        Message.objects.filter(about_id=outage.number, channel=Channel.SMS)
        .order_by("id")
        .values_list("recipient_address", "dedup_key")
    ):
        found[to].append(key.split(":")[2])
    return dict(found)


def body(outage, phone, purpose) -> str:
    return (
        Message.objects.filter(
            about_id=outage.number, recipient_address=phone, dedup_key__contains=f":{purpose}:"
        )
        .order_by("-id")
        .first()
        .body
    )


def area_outage(code="T01", reason="东风1号台区故障"):
    return services.open_fault_outage(
        transformer_areas=[code],
        reason=reason,
        started_at=local(2026, 11, 24, 8, 40),
        estimated_end=local(2026, 11, 24, 12, 0),
        actor=None,
    )


def test_area_to_feeder_the_area_gets_one_correction_the_rest_of_the_feeder_one_notice(ow):
    outage = area_outage()
    assert sms_by_phone(outage) == {EAST: ["notice"]}

    outage = services.update_fault_scope(outage=outage, feeders=["F01"], reason="10kV东风线故障", actor=None)

    assert sms_by_phone(outage) == {
        EAST: ["notice", "corrected"],
        HOSPITAL: ["notice"],
        NEIGHBOUR: ["notice"],
    }
    assert body(outage, EAST, "corrected") == (
        "【国网城关县供电公司】尊敬的客户：经进一步核实，您所在区域11月24日08:40起的停电系10kV东风线故障，"
        "停电范围更新为东风1号台区、东风2号台区供电范围，抢修人员正在全力抢修，预计11月24日12:00前恢复供电，"
        "给您带来不便敬请谅解。咨询请拨打95598。"
    )
    assert "因10kV东风线故障，东风1号台区、东风2号台区供电范围于11月24日08:40起停电" in body(
        outage, HOSPITAL, "notice"
    )
    # The hospital's account manager: one e-mail naming it as newly in the outage.
    [email] = Message.objects.filter(about_id=outage.number, channel=Channel.EMAIL)
    assert email.recipient_address == "kong@gridcare.example"
    assert "新纳入停电范围：\n  5100000010 城关县人民医院" in email.body
    # The history counts what the change sent.
    row = outage.events.get(action="update_scope")
    assert (row.data["corrected"], row.data["withdrawn"], row.data["notified"], row.data["managers"]) == (
        1,
        0,
        2,
        1,
    )
    assert "更正1条、撤回0条、新通知2条" in row.note


def test_feeder_to_one_area_the_others_get_one_withdrawal_and_no_restoration(ow):
    outage = services.open_fault_outage(
        feeders=["F01"], reason="10kV东风线故障", started_at=local(2026, 11, 24, 8, 40), actor=None
    )
    assert sms_by_phone(outage) == {EAST: ["notice"], HOSPITAL: ["notice"], NEIGHBOUR: ["notice"]}

    outage = services.update_fault_scope(
        outage=outage, transformer_areas=["T03"], reason="东风2号台区故障", actor=ow.dispatcher
    )

    assert sms_by_phone(outage) == {
        EAST: ["notice", "withdrawn"],
        HOSPITAL: ["notice", "corrected"],
        NEIGHBOUR: ["notice", "corrected"],
    }
    assert body(outage, EAST, "withdrawn") == (
        "【国网城关县供电公司】尊敬的客户：经核实，您所在台区不在11月24日08:40起的本次故障停电范围内，"
        "此前发送的停电通知有误，特此更正，给您带来不便敬请谅解。如您家中仍无电，请拨打95598报修。"
    )
    assert "停电系东风2号台区故障，停电范围更新为东风2号台区供电范围" in body(outage, HOSPITAL, "corrected")
    assert "恢复时间将另行通知" in body(outage, HOSPITAL, "corrected")  # no estimate yet
    assert not OutageCustomer.objects.filter(outage=outage, customer=ow.customer_east).exists()
    [email] = Message.objects.filter(
        about_id=outage.number, channel=Channel.EMAIL, dedup_key__contains=":scope:"
    )
    assert "仍在停电范围内：\n  5100000010 城关县人民医院" in email.body

    services.restore(outage=outage, actor=None)
    restored = sms_by_phone(outage)
    assert restored[HOSPITAL][-1] == restored[NEIGHBOUR][-1] == "restored"
    assert restored[EAST] == ["notice", "withdrawn"]  # not told of a restoration that was not theirs


def test_the_same_scope_again_sends_nothing_and_writes_no_history(ow):
    outage = area_outage()
    services.update_fault_scope(outage=outage, feeders=["F01"], reason="10kV东风线故障", actor=None)
    sent = Message.objects.count()
    rows = outage.events.count()

    services.update_fault_scope(outage=outage, feeders=["F01"], reason="10kV东风线故障", actor=None)
    services.update_fault_scope(outage=outage, feeders=["F01"], actor=ow.dispatcher)
    assert Message.objects.count() == sent and outage.events.count() == rows
    # The same areas declared another way (the feeder's areas one by one): recorded, nobody told.
    services.update_fault_scope(outage=outage, transformer_areas=["T01", "T03"], actor=ow.dispatcher)
    assert Message.objects.count() == sent
    assert outage.events.filter(action="update_scope").count() == 2


def test_after_a_promotion_the_restoration_tells_each_customer_once(ow):
    outage = area_outage()
    services.update_fault_scope(outage=outage, feeders=["F01"], reason="10kV东风线故障", actor=None)
    services.restore(outage=outage, actor=None)
    services.restore(outage=outage, actor=None)

    assert sms_by_phone(outage) == {
        EAST: ["notice", "corrected", "restored"],
        HOSPITAL: ["notice", "restored"],
        NEIGHBOUR: ["notice", "restored"],
    }


def test_back_and_forth_each_change_tells_each_customer_at_most_once(ow):
    outage = area_outage()
    services.update_fault_scope(outage=outage, feeders=["F01"], reason="10kV东风线故障", actor=None)
    services.update_fault_scope(
        outage=outage, transformer_areas=["T03"], reason="东风2号台区故障", actor=None
    )
    # 张建国 was told his area is not in the outage; the feeder again: told once more, by a correction
    # (the notice is not sent twice), and the hospital and 陈明 a correction for each change.
    services.update_fault_scope(outage=outage, feeders=["F01"], reason="10kV东风线故障", actor=None)

    assert sms_by_phone(outage) == {
        EAST: ["notice", "corrected", "withdrawn", "corrected"],
        HOSPITAL: ["notice", "corrected", "corrected"],
        NEIGHBOUR: ["notice", "corrected", "corrected"],
    }
    keys = Message.objects.filter(about_id=outage.number, recipient_address=EAST).values_list(
        "dedup_key", flat=True
    )
    assert sorted(k.split(":", 2)[2].rsplit(":", 2)[0] for k in keys) == [
        "corrected:1",
        "corrected:3",
        "notice",
        "withdrawn:2",
    ]
    services.restore(outage=outage, actor=None)
    assert all(sent.count("restored") == 1 for sent in sms_by_phone(outage).values())


def test_a_correction_at_night_waits_for_the_quiet_hours_to_end(ow):
    ow.now.advance(hours=14)  # 11-24 23:00
    outage = services.open_fault_outage(
        transformer_areas=["T01"],
        reason="东风1号台区故障",
        started_at=local(2026, 11, 24, 22, 50),
        actor=None,
    )
    services.update_fault_scope(outage=outage, feeders=["F01"], reason="10kV东风线故障", actor=None)
    corrected = Message.objects.get(about_id=outage.number, dedup_key__contains=":corrected:")
    assert corrected.next_attempt_at == local(2026, 11, 25, 7)


def test_a_big_outage_sends_the_corrections_at_once_and_the_newcomers_notice_from_the_worker(ow, settings):
    from gridcare.outages import tasks

    settings.GRIDCARE_OUTAGE_INLINE_NOTICES = 2  # "big" = more than two customers
    outage = area_outage()  # one customer: told at once
    services.update_fault_scope(outage=outage, feeders=["F01"], reason="10kV东风线故障", actor=None)
    assert sms_by_phone(outage) == {
        EAST: ["notice", "corrected"],
        HOSPITAL: ["notice"],
    }  # the key customer first
    assert tasks.queue_outage_notices.call(outage.pk, services.Purpose.NOTICE) == 1
    assert sms_by_phone(outage) == {
        EAST: ["notice", "corrected"],
        HOSPITAL: ["notice"],
        NEIGHBOUR: ["notice"],
    }
