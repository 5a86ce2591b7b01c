"""Prepaid (费控): the low-balance SMS once per episode, below zero a warning and the cut after the
grace (a remote meter by command, a local one by itself), 保电 blocking it, a purchase restoring,
and the days left at the recent spend."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from gridcare.billing import prepaid
from gridcare.billing.models import (
    BillingAccount,
    DailyUsage,
    PrepaidAccount,
    PrepaidCommand,
    SupplyGuarantee,
    TariffSchedule,
)
from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.customers.models import Customer
from gridcare.notify.models import Channel, Message

D = Decimal
P = PrepaidAccount.State
PHONE = "13812341234"  # 张建国 (world.customer_east)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=clock.LOCAL_TZ)


def texts() -> list[str]:
    return list(
        Message.objects.filter(channel=Channel.SMS, recipient_address=PHONE)
        .order_by("id")
        .values_list("body", flat=True)
    )


@pytest.fixture
def account(world):
    BillingAccount.objects.create(
        customer=world.customer_east, schedule=TariffSchedule.objects.get(code="zj-residential")
    )
    Customer.objects.filter(pk=world.customer_east.pk).update(is_prepaid=True)
    return PrepaidAccount.objects.create(customer=world.customer_east, balance=D("50.00"))


def fresh(account: PrepaidAccount) -> PrepaidAccount:
    account.refresh_from_db()
    return account


def test_the_low_balance_sms_goes_once_per_episode(account):
    cid = account.customer_id
    # 50 − 25 = 25, below the 30-yuan threshold (BillingSetting.low_balance_yuan).
    assert prepaid.draw_down(cid, D("25"), at("2026-03-01 10:00")) == D("25.00")
    assert fresh(account).state == P.LOW
    assert len(texts()) == 1 and "25.00元" in texts()[0] and "30.00元" in texts()[0]
    prepaid.draw_down(cid, D("5"), at("2026-03-02 10:00"))  # 20: still the same episode
    assert prepaid.check_prepaid(at("2026-03-02 11:00")) == 0
    assert len(texts()) == 1
    prepaid.on_purchase(cid, D("100"), at("2026-03-03 10:00"))  # 120: the episode ends
    assert fresh(account).state == P.NORMAL and account.low_told_at is None
    prepaid.draw_down(cid, D("100"), at("2026-03-04 10:00"))  # 20 again: a new episode
    assert len(texts()) == 2
    # The account's own threshold wins over the setting's.
    PrepaidAccount.objects.filter(pk=account.pk).update(
        low_threshold=D("10"), state=P.NORMAL, low_told_at=None
    )
    assert prepaid.check_prepaid(at("2026-03-04 11:00")) == 0
    with pytest.raises(ApiError) as refused:
        prepaid.draw_down(cid, D("-1"), at("2026-03-04 11:00"))
    assert refused.value.code == "invalid_input"


def test_below_zero_a_remote_meter_is_cut_by_command_after_the_grace(account):
    cid = account.customer_id
    prepaid.draw_down(cid, D("52.40"), at("2026-03-01 10:00"))  # 50 − 52.40 = −2.40
    account = fresh(account)
    assert (account.state, account.balance, account.negative_since) == (
        P.NEGATIVE,
        D("-2.40"),
        at("2026-03-01 10:00"),
    )
    assert "欠费2.40元" in texts()[-1] and "30分钟后停电" in texts()[-1]
    assert prepaid.check_prepaid(at("2026-03-01 10:29")) == 0  # within the 30 minutes
    assert not account.commands.exists()
    assert prepaid.check_prepaid(at("2026-03-01 10:30")) == 1
    account = fresh(account)
    assert (account.state, account.cut_at) == (P.CUT, at("2026-03-01 10:30"))
    assert list(account.commands.values_list("kind", "result")) == [("trip", "")]
    assert "已停止供电" in texts()[-1]
    assert Customer.objects.get(pk=cid).status == Customer.Status.DISCONNECTED
    assert prepaid.check_prepaid(at("2026-03-01 11:00")) == 0  # nothing twice
    assert account.commands.count() == 1


def test_a_local_meter_trips_itself_no_command_sent(account):
    PrepaidAccount.objects.filter(pk=account.pk).update(mode=PrepaidAccount.Mode.LOCAL)
    prepaid.draw_down(account.customer_id, D("60"), at("2026-03-01 10:00"))
    prepaid.check_prepaid(at("2026-03-01 10:31"))
    account = fresh(account)
    assert account.state == P.CUT and not account.commands.exists()
    prepaid.on_purchase(account.customer_id, D("50"), at("2026-03-01 12:00"))  # −10 + 50 = 40
    assert fresh(account).state == P.NORMAL and not account.commands.exists()


def test_a_guarantee_blocks_the_cut_and_says_why(world, account):
    SupplyGuarantee.objects.create(
        unit=world.county,
        reason=SupplyGuarantee.Reason.WEATHER,
        note="高温",
        starts_at=at("2026-07-01 00:00"),
        ends_at=at("2026-07-10 00:00"),
        created_by=world.clerk_east,
    )
    prepaid.draw_down(account.customer_id, D("60"), at("2026-07-05 10:00"))
    assert prepaid.check_prepaid(at("2026-07-05 11:00")) == 0  # the blocked row is a record, no change
    prepaid.check_prepaid(at("2026-07-05 12:00"))
    account = fresh(account)
    assert account.state == P.NEGATIVE and account.cut_at is None
    [blocked] = account.commands.all()
    assert blocked.result == prepaid.BLOCKED and "极端天气" in blocked.reason
    # The guarantee over, the next sweep cuts.
    prepaid.check_prepaid(at("2026-07-10 00:05"))
    account = fresh(account)
    assert account.state == P.CUT
    assert account.commands.filter(kind=PrepaidCommand.Kind.TRIP, result="").count() == 1


def test_a_purchase_restores_a_cut_account(account):
    cid = account.customer_id
    prepaid.draw_down(cid, D("60"), at("2026-03-01 10:00"))
    prepaid.check_prepaid(at("2026-03-01 10:30"))
    prepaid.on_purchase(cid, D("5"), at("2026-03-01 11:00"))  # −10 + 5 = −5: still cut
    assert fresh(account).state == P.CUT
    prepaid.on_purchase(cid, D("100"), at("2026-03-01 11:10"))  # 95
    account = fresh(account)
    assert (account.state, account.balance, account.restored_at) == (
        P.NORMAL,
        D("95.00"),
        at("2026-03-01 11:10"),
    )
    assert account.negative_since is None
    assert list(account.commands.order_by("id").values_list("kind", flat=True)) == ["trip", "close"]
    assert "已为您恢复供电" in texts()[-1]
    assert Customer.objects.get(pk=cid).status == Customer.Status.ACTIVE


def test_days_left_at_the_recent_daily_spend(account):
    cid = account.customer_id
    on = dt.date(2026, 3, 10)
    assert prepaid.estimated_days_left(cid, on) is None  # no usage yet
    for n in range(1, 8):
        DailyUsage.objects.create(
            customer_id=cid, day=on - dt.timedelta(days=n), kwh=D("10") if n % 2 else D("12")
        )
    DailyUsage.objects.create(customer_id=cid, day=on - dt.timedelta(days=8), kwh=D("500"))  # too old
    # Last 7 days: 10, 12, 10, 12, 10, 12, 10 = 76 kWh → 10.857 a day × 0.538 (band 1) = 5.841 yuan
    # a day; 50 / 5.841 = 8.56 → 8 whole days.
    assert prepaid.estimated_days_left(cid, on) == 8
    PrepaidAccount.objects.filter(pk=account.pk).update(balance=D("-1"))
    assert prepaid.estimated_days_left(cid, on) == 0
