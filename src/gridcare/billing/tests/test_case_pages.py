"""Arrears pages: opening a case (refused for an exempt customer, with the reason), a case walked
through notice → call → cut → payment → reconnection, scope and roles, 保电, the "533" bulletin
and the 费控 accounts."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal

import pytest

from gridcare.billing import arrears, payments
from gridcare.billing.models import (
    Channel,
    DailyUsage,
    DisconnectionCase,
    PrepaidAccount,
    PrepaidCommand,
    SupervisionRun,
    SupplyGuarantee,
)
from gridcare.core import clock
from gridcare.org.models import Role
from gridcare.org.services import create_staff

from .test_arrears import at, cut, owe, pay_all, w  # noqa: F401  (the arrears world)

S = DisconnectionCase.State


@contextmanager
def on(client, user, when: str) -> Iterator[None]:
    """The clock at ``when`` and ``user`` signed in then (a session lasts 30 minutes of its clock)."""
    with clock.frozen(at(when)):
        client.force_login(user)
        yield


def text(answer) -> str:
    return answer.content.decode()


def messages_of(answer) -> list[str]:
    return [str(m) for m in answer.context["messages"]] if answer.context else []


@pytest.fixture
def west_clerk(w):  # noqa: F811
    return create_staff(
        username="billing_west", password=w.password, full_name="孔核算", roles=[(Role.BILLING_CLERK, w.west)]
    )


def test_an_exempt_customer_is_refused_with_the_reason_shown(w, west_clerk, client):  # noqa: F811
    owe(w.customer_west)  # 刘秀英: 孤寡老人
    with on(client, west_clerk, "2026-03-02 09:00"):
        arrears.send_reminders()
        check = client.get("/billing/disconnections/new/?account_no=5100000002")
        page = text(check)
        assert check.status_code == 200 and "刘*英" in page and "刘秀英" not in page
        assert "特殊群体" in page and "孤寡老人" in page and 'id="propose"' not in page
        assert "不得发起欠费停电" in page
        # Posted anyway (a stale page): the verb refuses and the page says why.
        refused = client.post("/billing/disconnections/new/", {"account_no": "5100000002"}, follow=True)
    [message] = messages_of(refused)
    assert "该客户不得停电" in message and "孤寡老人" in message
    assert not DisconnectionCase.objects.exists()


def test_a_case_is_walked_from_the_notice_to_the_reconnection_on_the_pages(w, client):  # noqa: F811
    owe(w.shop, amount="860.00")  # 东风五金店: non-residential, so the call is needed
    with on(client, w.billing, "2026-03-02 09:00"):
        arrears.send_reminders()
        check = text(client.get("/billing/disconnections/new/?account_no=5100000009"))
        assert "860.00" in check and "已催费" in check and "无豁免情形" in check
        opened = client.post("/billing/disconnections/new/", {"account_no": "5100000009"})
        case = DisconnectionCase.objects.get()
        url = f"/billing/disconnections/{case.number}/"
        assert opened.status_code == 302 and opened["Location"] == url
        page = text(client.get(url))
    assert "拟停电" in page and 'id="notice-form"' in page and 'id="execute-form"' not in page

    with on(client, w.billing, "2026-03-02 10:30"):
        no_proof = client.post(
            f"{url}notice/", {"delivered_at": "2026-03-02T10:00", "proof": ""}, follow=True
        )
        assert "送达凭证" in messages_of(no_proof)[0]
        done = client.post(
            f"{url}notice/", {"delivered_at": "2026-03-02T10:00", "proof": "挂号信 XA001"}, follow=True
        )
    assert messages_of(done) == ["已登记停电通知送达"]
    page = text(done)
    assert "挂号信 XA001" in page and "2026-03-05 10:00" in page  # the cut three days after delivery

    with on(client, w.billing, "2026-03-05 10:00"):
        no_call = client.post(f"{url}execute/", {"at": ""}, follow=True)
        assert "非居民客户停电前须电话告知" in messages_of(no_call)[0]
        client.post(f"{url}call/", {"called_at": "2026-03-05T08:30"})
        cut_ = client.post(f"{url}execute/", {"at": ""}, follow=True)
    assert messages_of(cut_) == ["已登记电话告知", "已执行停电"]
    case.refresh_from_db()
    assert case.state == S.DISCONNECTED and case.field_order is not None
    page = text(cut_)
    assert case.field_order.number in page and "2026-03-05 08:30" in page and 'id="wait-payment"' in page

    # The customer pays at the counter, the late fee with it: the reconnection is due 24 h later.
    with on(client, w.billing, "2026-03-06 09:00"):
        payments.post_payment(
            customer=w.shop,
            channel=Channel.COUNTER,
            reference="GT-0306-01",
            amount=Decimal("1000.00"),
            paid_at=clock.now(),
        )
        page = text(client.get(url))
        assert "待复电" in page and "复电时限 2026-03-07 09:00" in page
        listed = text(client.get("/billing/disconnections/?state=reconnecting"))
        assert case.number in listed
    with on(client, w.billing, "2026-03-06 15:00"):
        back = client.post(f"{url}reconnected/", {"at": ""}, follow=True)
    assert messages_of(back) == ["已登记复电"]
    case.refresh_from_db()
    assert case.state == S.RECONNECTED and case.reconnected_at == at("2026-03-06 15:00")
    history = re.sub(r"\s+", " ", text(back))
    for step in ["发起停电", "通知送达", "电话告知", "执行停电", "欠费缴清", "复电"]:
        assert step in history


def test_cases_outside_the_scope_are_not_found_and_readers_cannot_act(w, west_clerk, client):  # noqa: F811
    owe(w.customer_east)
    with clock.frozen(at("2026-03-02 09:00")):
        arrears.send_reminders()
        case = arrears.propose_disconnection(w.customer_east, actor=w.billing)
    url = f"/billing/disconnections/{case.number}/"
    with on(client, west_clerk, "2026-03-02 10:00"):
        assert client.get(url).status_code == 404
        gone = client.post(f"{url}notice/", {"delivered_at": "2026-03-02T10:00", "proof": "x"})
        assert gone.status_code == 404
        assert case.number not in text(client.get("/billing/disconnections/"))
    with on(client, w.agent, "2026-03-02 10:00"):  # the hotline does not read arrears cases
        assert client.get("/billing/disconnections/").status_code == 403
    # An account manager reads the case but the verb refuses the action.
    manager = create_staff(
        username="am_east", password=w.password, full_name="高经理", roles=[(Role.ACCOUNT_MANAGER, w.east)]
    )
    with on(client, manager, "2026-03-02 10:30"):
        page = text(client.get(url))
        assert "张*国" in page and "不能办理欠费停复电" in page
        refused = client.post(
            f"{url}notice/", {"delivered_at": "2026-03-02T10:00", "proof": "回执"}, follow=True
        )
    assert messages_of(refused) == ["您的岗位不能办理欠费停电"]
    case.refresh_from_db()
    assert case.state == S.PROPOSED


def test_the_list_filters_by_state_with_the_deadline_and_warning(w, client):  # noqa: F811
    owe(w.customer_east)
    reconnecting = cut(w, w.customer_east)
    pay_all(w.customer_east)
    arrears.on_paid(w.customer_east.pk, at("2026-03-27 09:00"))
    arrears.raise_reconnection_warnings(at("2026-03-28 09:00"))
    owe(w.shop)
    with clock.frozen(at("2026-03-27 09:00")):
        arrears.send_reminders()
        pending = arrears.propose_disconnection(w.shop, actor=w.billing)
    with on(client, w.billing, "2026-03-28 10:00"):
        everything = text(client.get("/billing/disconnections/"))
        overdue = text(client.get("/billing/disconnections/?state=reconnect_overdue"))
        waiting = text(client.get("/billing/disconnections/?state=notice_pending"))
    assert reconnecting.number in everything and pending.number in everything
    assert reconnecting.number in overdue and pending.number not in overdue
    assert "复电时限 2026-03-28 09:00" in overdue and "3级·超期" in overdue
    assert pending.number in waiting and reconnecting.number not in waiting


def test_guarantees_are_added_and_ended_on_the_page(w, client):  # noqa: F811
    with on(client, w.billing, "2026-03-02 09:00"):
        added = client.post(
            "/billing/guarantees/",
            {
                "target": "customer",
                "account_no": "5100000001",
                "reason": "medical",
                "note": "家用制氧机",
                "starts_at": "2026-03-02T09:00",
                "ends_at": "2026-06-02T09:00",
            },
            follow=True,
        )
        assert messages_of(added) == ["已登记保电：5100000001"]
        assert "家用制氧机" in text(added) and "保电中" in text(added)
        unit = client.post(
            "/billing/guarantees/",
            {
                "target": "unit",
                "unit": w.east.pk,
                "reason": "weather",
                "starts_at": "2026-03-02T09:00",
                "ends_at": "2026-03-04T09:00",
            },
            follow=True,
        )
        assert messages_of(unit) == ["整个单位的保电须由管理人员登记"]
        # The exemption now shows when a case would be opened.
        owe(w.customer_east)
        arrears.send_reminders()
        check = text(client.get("/billing/disconnections/new/?account_no=5100000001"))
        assert "医疗/生命支持设备" in check and "家用制氧机" in check
    made = SupplyGuarantee.objects.get()
    with on(client, w.billing, "2026-03-10 09:00"):
        blank = client.post(f"/billing/guarantees/{made.pk}/end/", {"why": ""}, follow=True)
        assert SupplyGuarantee.objects.get().ended_early_at is None and messages_of(blank)
        ended = client.post(f"/billing/guarantees/{made.pk}/end/", {"why": "设备已停用"}, follow=True)
    assert messages_of(ended) == ["保电已结束"]
    made.refresh_from_db()
    assert made.ends_at == at("2026-03-10 09:00") and (made.ended_by, made.end_reason) == (
        w.billing,
        "设备已停用",
    )
    with on(client, w.billing, "2026-03-10 09:05"):
        listed = text(client.get("/billing/guarantees/?show=ended"))
    assert "提前结束" in listed and "设备已停用" in listed


def test_the_533_bulletin_lists_an_overdue_reconnection(w, west_clerk, client):  # noqa: F811
    owe(w.customer_east)
    case = cut(w, w.customer_east)
    pay_all(w.customer_east)
    arrears.on_paid(w.customer_east.pk, at("2026-03-27 09:00"))
    with clock.frozen(at("2026-03-28 12:30")):
        run = arrears.run_533()
    assert isinstance(run, SupervisionRun)
    with on(client, w.billing, "2026-03-28 13:00"):
        listed = text(client.get("/billing/supervision/"))
        bulletin = text(client.get(f"/billing/supervision/{run.pk}/"))
        printed = client.get(f"/billing/supervision/{run.pk}/print/")
    assert "2026-03-28" in listed and f"/billing/supervision/{run.pk}/" in listed
    row = re.search(rf'<tr class="([^"]*)">\s*<td><a href="[^"]+">{case.number}</a>', bulletin)
    assert row is not None and "overdue" in row.group(1)
    assert "城东供电所" in bulletin and "2026-03-28 09:00 · <strong>已超时</strong>" in bulletin
    assert printed.status_code == 200 and case.number in text(printed) and "data-print" in text(printed)
    with on(client, west_clerk, "2026-03-28 13:00"):  # the east station's row is not theirs
        assert case.number not in text(client.get(f"/billing/supervision/{run.pk}/"))


def test_prepaid_list_shows_a_below_zero_account_and_its_page(w, client):  # noqa: F811
    owe(w.customer_east, amount="0.01")  # a billing account on the residential tariff
    east = PrepaidAccount.objects.create(
        customer=w.customer_east, balance=Decimal("-12.30"), state=PrepaidAccount.State.NEGATIVE
    )
    owe(w.shop, amount="0.01")
    PrepaidAccount.objects.create(customer=w.shop, balance=Decimal("150.00"))
    for n in range(7):
        DailyUsage.objects.create(
            customer=w.shop, day=dt.date(2026, 3, 1) + dt.timedelta(days=n), kwh=Decimal("10")
        )
    PrepaidCommand.objects.create(
        account=east, kind="trip", reason="费控余额不足停电", sent_at=at("2026-03-07 09:00")
    )
    with on(client, w.billing, "2026-03-08 10:00"):
        listed = text(client.get("/billing/prepaid/"))
        negative = text(client.get("/billing/prepaid/?state=negative"))
        account = client.get("/billing/prepaid/5100000001/")
        shop = text(client.get("/billing/prepaid/5100000009/"))
    assert "-12.30" in listed and "欠费待停" in listed and "张*国" in listed
    assert listed.index("5100000001") < listed.index("5100000009")  # the lowest balance first
    assert "5100000001" in negative and "5100000009" not in negative
    # 150 yuan at 10 kWh a day × 0.538 yuan: 27 days.
    assert re.search(r'id="prepaid-5100000009".*?<td class="text-end">27</td>', listed, re.S)
    assert account.status_code == 200 and "费控余额不足停电" in text(account)
    assert 'id="usage-data"' in shop and "2026-03-07" in shop and "vendor/echarts.min.js" in shop
    # Under 保电 the account shows it, and the filter finds it.
    SupplyGuarantee.objects.create(
        unit=w.county,
        reason=SupplyGuarantee.Reason.WEATHER,
        starts_at=at("2026-03-08 00:00"),
        ends_at=at("2026-03-10 00:00"),
        created_by=w.county_manager,
    )
    with on(client, w.billing, "2026-03-08 10:00"):
        protected = text(client.get("/billing/prepaid/?state=protected"))
    assert "5100000001" in protected and "5100000009" in protected and "保电中" in protected
    with on(client, w.agent, "2026-03-08 10:00"):
        assert client.get("/billing/prepaid/").status_code == 403


def test_the_lists_read_a_fixed_number_of_queries(w, client):  # noqa: F811
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from gridcare.customers.models import Customer

    def customer(n: int) -> Customer:
        return Customer.objects.create(
            account_no=f"51000001{n:02d}",
            name=f"测试户{n}",
            transformer_area=w.area_east,
            station=w.east,
            customer_class=Customer.CustomerClass.RESIDENTIAL,
            tariff_category=Customer.TariffCategory.RESIDENTIAL_TIERED,
        )

    def add(n: int) -> None:
        c = customer(n)
        owe(c, amount="10.00", number=f"BQ{n}")
        PrepaidAccount.objects.create(customer=c, balance=Decimal(n))
        DisconnectionCase.objects.create(
            number=f"TDQ{n}",
            customer=c,
            unit=w.east,
            arrears=Decimal("10.00"),
            oldest_due_on=dt.date(2026, 1, 20),
            proposed_by=w.billing,
        )

    def reads(url: str) -> int:
        with on(client, w.billing, "2026-03-02 09:00"), CaptureQueriesContext(connection) as seen:
            assert client.get(url).status_code == 200
        return len(seen)

    add(1)
    one = (reads("/billing/disconnections/"), reads("/billing/prepaid/"))
    for n in range(2, 7):
        add(n)
    assert (reads("/billing/disconnections/"), reads("/billing/prepaid/")) == one
