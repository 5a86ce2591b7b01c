"""Quiet hours (短信免打扰时段): SMS to customers queued at night wait until morning; staff
messages and notices marked urgent go out at once; the window is a row an admin edits."""

import datetime as dt

import pytest

from gridcare.core import clock
from gridcare.notify import services
from gridcare.notify.delivery import deliver_pending
from gridcare.notify.models import Channel, QuietHours
from gridcare.notify.services import Outgoing


@pytest.fixture(autouse=True)
def _quiet_hours_off():
    """Overrides the package's fixture: these tests use the quiet hours as configured."""


def local(*args):
    return dt.datetime(*args, tzinfo=clock.LOCAL_TZ)


def customer_sms(**kw):
    return services.enqueue(
        channel=Channel.SMS,
        to="13812341234",
        body="您所在区域计划停电",
        recipient=("customers.customer", "7"),
        **kw,
    )


def test_a_customer_sms_queued_at_three_in_the_morning_waits_until_seven(db, recording):
    with clock.frozen(local(2026, 12, 2, 3, 0)):
        message = customer_sms()
        assert message.next_attempt_at == local(2026, 12, 2, 7, 0)
        deliver_pending()
        assert recording == []
    with clock.frozen(local(2026, 12, 2, 7, 0)):
        deliver_pending()
    assert [to for _channel, to, _body in recording] == ["13812341234"]


def test_quiet_hours_run_over_midnight_and_hold_a_later_instant_too(db):
    with clock.frozen(local(2026, 12, 2, 22, 30)):
        assert customer_sms().next_attempt_at == local(2026, 12, 3, 7, 0)
        held = customer_sms(not_before=local(2026, 12, 3, 1, 0))
        assert held.next_attempt_at == local(2026, 12, 3, 7, 0)
    with clock.frozen(local(2026, 12, 2, 21, 59)):
        assert customer_sms().next_attempt_at == local(2026, 12, 2, 21, 59)


def test_staff_sms_and_urgent_safety_notices_are_not_held(db):
    class Person:
        pk = 5
        display_name = "何所长"
        mobile = "13600000001"

    with clock.frozen(local(2026, 12, 2, 3, 0)):
        services.tell_staff(
            [Person()], subject="停电预警", body="10kV线路停电超过12小时", about=("x", "1"), dedup="t"
        )
        staff_sms = services.Message.objects.get(channel=Channel.SMS)
        assert staff_sms.next_attempt_at == local(2026, 12, 2, 3, 0)
        urgent = customer_sms(ignore_quiet_hours=True)
        assert urgent.next_attempt_at == local(2026, 12, 2, 3, 0)


def test_the_window_is_a_setting_an_admin_edits(db):
    QuietHours.objects.create(enabled=True, starts=dt.time(21, 0), ends=dt.time(8, 30))
    with clock.frozen(local(2026, 12, 2, 21, 30)):
        assert customer_sms().next_attempt_at == local(2026, 12, 3, 8, 30)
    QuietHours.objects.update(enabled=False)
    QuietHours.forget_all()
    with clock.frozen(local(2026, 12, 2, 3, 0)):
        assert customer_sms().next_attempt_at == local(2026, 12, 2, 3, 0)


def test_bulk_queued_customer_sms_are_held_too(db):
    items = [
        Outgoing(
            channel=Channel.SMS, to=f"138{n:08d}", body="恢复供电", recipient=("customers.customer", str(n))
        )
        for n in range(3)
    ]
    with clock.frozen(local(2026, 12, 2, 23, 0)):
        assert services.enqueue_many(items) == 3
    held = set(services.Message.objects.values_list("next_attempt_at", flat=True))
    assert held == {local(2026, 12, 3, 7, 0)}
