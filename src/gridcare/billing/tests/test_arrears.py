"""Arrears: reminders, disconnection only when the rules allow (exemptions shown), notice timing,
the cut re-checked at its moment, reconnection within 24 h of payment with warnings, the "533"
window and runs, and the API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from gridcare.billing import arrears
from gridcare.billing.models import (
    Bill,
    BillingAccount,
    BillState,
    DisconnectionCase,
    PrepaidAccount,
    PrepaidCommand,
    SupervisionRun,
    SupplyGuarantee,
    TariffSchedule,
)
from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.customers.models import Customer, CustomerPhone
from gridcare.notify.models import Channel, Message
from gridcare.org.models import Role
from gridcare.org.services import create_staff, issue_token
from gridcare.workorders.models import Channel as OrderChannel
from gridcare.workorders.models import OrderType, WorkOrder
from gridcare.workorders.services import Intake, create_work_order

D = Decimal
S = DisconnectionCase.State


def at(text: str) -> dt.datetime:
    """A local (Asia/Shanghai) instant."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=clock.LOCAL_TZ)


def owe(customer, *, amount="120.50", due=dt.date(2026, 1, 20), number=None) -> Bill:
    """An open bill due on ``due`` and the account's arrears equal to what it owes."""
    account, _ = BillingAccount.objects.get_or_create(
        customer=customer, defaults={"schedule": TariffSchedule.objects.get(code="zj-residential")}
    )
    bill = Bill.objects.create(
        number=number or f"B{customer.account_no}{due:%Y%m}",
        customer=customer,
        period=due.replace(day=1) - dt.timedelta(days=1),
        state=BillState.OPEN,
        period_start=dt.date(2025, 12, 1),
        period_end=dt.date(2025, 12, 31),
        amount=D(amount),
        issued_on=due - dt.timedelta(days=15),
        due_on=due,
    )
    account.arrears += D(amount)
    account.save(update_fields=["arrears"])
    return bill


def pay_all(customer) -> None:
    """What payments does before calling on_paid: the bills paid, the arrears cleared."""
    Bill.objects.filter(customer=customer, state=BillState.OPEN).update(state=BillState.PAID)
    BillingAccount.objects.filter(customer=customer).update(arrears=D("0"))


@pytest.fixture
def w(world):
    w = world
    w.billing = create_staff(
        username="billing_east",
        password=w.password,
        full_name="陈核算",
        roles=[(Role.BILLING_CLERK, w.east)],
        mobile="13900000001",
    )
    w.head = create_staff(
        username="head_east", password=w.password, full_name="何所长", roles=[(Role.MANAGER, w.east)]
    )
    w.county_manager = create_staff(
        username="county_mgr", password=w.password, full_name="罗经理", roles=[(Role.MANAGER, w.county)]
    )
    w.shop = Customer.objects.create(
        account_no="5100000009",
        name="东风五金店",
        transformer_area=w.area_east,
        station=w.east,
        customer_class=Customer.CustomerClass.NON_RESIDENTIAL,
        tariff_category=Customer.TariffCategory.GENERAL_BUSINESS,
    )
    CustomerPhone.objects.create(customer=w.shop, number="13700001111", is_primary=True)
    return w


def sms_to(phone: str) -> list[Message]:
    return list(Message.objects.filter(channel=Channel.SMS, recipient_address=phone).order_by("id"))


def inbox_of(user) -> list[Message]:
    return list(Message.objects.filter(channel=Channel.STAFF_INBOX, recipient_id=str(user.pk)).order_by("id"))


def proposed(w, customer, when="2026-03-02 09:00") -> DisconnectionCase:
    with clock.frozen(at(when)):
        arrears.send_reminders()
        return arrears.propose_disconnection(customer, actor=w.billing)


# --- Reminders and the proposal -----------------------------------------------------------------


def test_reminders_go_once_per_overdue_bill(w):
    owe(w.customer_east, due=dt.date(2026, 2, 20))
    with clock.frozen(at("2026-02-20 10:00")):  # due today: not overdue yet
        assert arrears.send_reminders() == 0
    with clock.frozen(at("2026-02-21 10:00")):  # one day overdue (reminder_after_days 1)
        assert arrears.send_reminders() == 1
        assert arrears.send_reminders() == 0
    [sms] = sms_to("13812341234")
    assert "120.50元" in sms.body and "2026-02-20" in sms.body


def test_a_disconnection_needs_a_bill_overdue_over_30_days_and_its_reminder(w):
    owe(w.customer_east, due=dt.date(2026, 1, 31))
    # 2026-03-02 is 30 days after the due date: not "more than 30".
    with clock.frozen(at("2026-03-02 09:00")), pytest.raises(ApiError) as refused:
        arrears.propose_disconnection(w.customer_east, actor=w.billing)
    assert refused.value.code == "disconnection_not_due"
    # 31 days, but no reminder was ever sent.
    with clock.frozen(at("2026-03-03 09:00")), pytest.raises(ApiError) as refused:
        arrears.propose_disconnection(w.customer_east, actor=w.billing)
    assert refused.value.code == "disconnection_not_due" and "催费" in refused.value.message
    case = proposed(w, w.customer_east, "2026-03-03 09:00")
    assert (case.state, case.arrears, case.oldest_due_on) == (S.PROPOSED, D("120.50"), dt.date(2026, 1, 31))
    assert case.method == DisconnectionCase.Method.FIELD and case.unit == w.east
    assert case.events.get().action == "propose"
    # A second proposal while this one is open is refused.
    with clock.frozen(at("2026-03-03 09:05")), pytest.raises(ApiError) as refused:
        arrears.propose_disconnection(w.customer_east, actor=w.billing)
    assert refused.value.code == "disconnection_open"
    # Someone outside billing may not propose.
    with clock.frozen(at("2026-03-03 09:05")), pytest.raises(ApiError) as refused:
        arrears.propose_disconnection(w.shop, actor=w.agent)
    assert refused.value.code == "forbidden_role"


def test_exempt_customers_are_refused_with_each_reason_shown(w):
    owe(w.customer_west)  # 刘秀英: 孤寡老人
    with clock.frozen(at("2026-03-02 09:00")):
        arrears.send_reminders()
    # A vulnerable household (clerk of the west station: in scope there).
    west_billing = create_staff(
        username="billing_west", password=w.password, full_name="孔核算", roles=[(Role.BILLING_CLERK, w.west)]
    )
    with clock.frozen(at("2026-03-02 09:00")), pytest.raises(ApiError) as refused:
        arrears.propose_disconnection(w.customer_west, actor=west_billing)
    assert refused.value.code == "disconnection_exempt" and refused.value.status == 409
    assert "孤寡老人" in refused.value.message
    assert [e["code"] for e in refused.value.extra["exemptions"]] == ["vulnerable"]

    # 保电 for the whole county (extreme weather) covers every station under it; a customer's own
    # 保电 (an exam at home); an open bill query.
    owe(w.customer_east)
    SupplyGuarantee.objects.create(
        unit=w.county,
        reason=SupplyGuarantee.Reason.WEATHER,
        note="寒潮",
        starts_at=at("2026-03-01 00:00"),
        ends_at=at("2026-03-05 00:00"),
        created_by=w.head,
    )
    SupplyGuarantee.objects.create(
        customer=w.customer_east,
        reason=SupplyGuarantee.Reason.EVENT,
        starts_at=at("2026-03-01 00:00"),
        ends_at=at("2026-03-03 00:00"),
        created_by=w.head,
    )
    with clock.frozen(at("2026-03-02 09:00")):
        arrears.send_reminders()
        query, _ = create_work_order(
            actor=w.agent,
            intake=Intake(
                order_type=OrderType.BILL_QUERY,
                channel=OrderChannel.HOTLINE,
                content="客户对1月电费有异议",
                customer=w.customer_east,
            ),
        )
        shown = arrears.exemptions(w.customer_east, clock.now())
        assert [e.code for e in shown] == ["extreme_weather", "guarantee", "dispute"]
        assert all(e.blocks for e in shown)
        assert "寒潮" in shown[0].detail and query.number in shown[2].detail
        with pytest.raises(ApiError) as refused:
            arrears.propose_disconnection(w.customer_east, actor=w.billing)
    assert refused.value.code == "disconnection_exempt"
    assert "极端天气保电" in refused.value.message and "电费争议未结" in refused.value.message
    # After the 保电 ends and the query is closed, nothing stands in the way.
    WorkOrder.objects.filter(pk=query.pk).update(state="archived")
    with clock.frozen(at("2026-03-05 09:00")):
        assert arrears.exemptions(w.customer_east, clock.now()) == []
        assert arrears.propose_disconnection(w.customer_east, actor=w.billing).state == S.PROPOSED
    assert not DisconnectionCase.objects.filter(customer=w.customer_west).exists()


def test_an_important_user_is_shown_and_its_notice_copied_to_the_power_authority(w):
    Customer.objects.filter(pk=w.shop.pk).update(load_class=Customer.LoadClass.FIRST)
    w.shop.refresh_from_db()
    owe(w.shop)
    with clock.frozen(at("2026-03-02 09:00")):
        [shown] = arrears.exemptions(w.shop, clock.now())
    assert (shown.code, shown.blocks) == ("important_user", False)
    case = proposed(w, w.shop)
    event = case.events.get()
    assert event.data["copy_to_authority"] is True and "电力管理部门" in event.note
    with clock.frozen(at("2026-03-02 10:00")):
        arrears.record_notice(case, delivered_at=at("2026-03-02 10:00"), proof="签收单 No.1", actor=w.billing)
    assert case.events.get(action="notice").data["copy_to_authority"] is True


# --- Notice, call and the cut -------------------------------------------------------------------


def test_residential_notice_runs_seven_days_before_the_cut(w):
    owe(w.customer_east)
    case = proposed(w, w.customer_east)
    with clock.frozen(at("2026-03-02 10:00")):
        with pytest.raises(ApiError) as refused:
            arrears.record_notice(case, delivered_at=at("2026-03-02 10:00"), proof="  ", actor=w.billing)
        assert refused.value.code == "proof_required"
        with pytest.raises(ApiError) as refused:  # no cut before the notice
            arrears.execute(case, actor=w.billing, at=clock.now())
        assert refused.value.code == "illegal_transition"
        case = arrears.record_notice(
            case, delivered_at=at("2026-03-02 10:00"), proof="张建国本人签收（回执 0012）", actor=w.billing
        )
    # 7 days after delivery: 2026-03-09 10:00.
    assert (case.state, case.earliest_cut_at) == (S.NOTIFIED, at("2026-03-09 10:00"))
    with clock.frozen(at("2026-03-09 09:59")), pytest.raises(ApiError) as refused:
        arrears.execute(case, actor=w.billing, at=clock.now())
    assert refused.value.code == "cut_too_early" and refused.value.extra["earliest_cut_at"].startswith(
        "2026-03-09T10:00"
    )
    with clock.frozen(at("2026-03-09 10:00")):
        case = arrears.execute(case, actor=w.billing, at=clock.now())  # no call needed for a household
    assert case.state == S.DISCONNECTED and case.disconnected_at == at("2026-03-09 10:00")
    order = case.field_order
    assert order.order_type == OrderType.BUSINESS and case.number in order.content
    assert order.customer == w.customer_east and order.accepted_unit == w.east
    w.customer_east.refresh_from_db()
    assert w.customer_east.status == Customer.Status.DISCONNECTED
    assert [e.action for e in case.events.order_by("id")] == ["propose", "notice", "disconnect"]
    assert case.events.get(action="disconnect").data["field_order"] == order.number


def test_non_residential_notice_runs_three_days_and_the_call_comes_an_hour_before(w):
    owe(w.shop)
    case = proposed(w, w.shop)
    with clock.frozen(at("2026-03-02 10:00")):
        case = arrears.record_notice(
            case, delivered_at=at("2026-03-02 10:00"), proof="挂号信 XA001", actor=w.billing
        )
    assert case.earliest_cut_at == at("2026-03-05 10:00")  # 3 days
    with clock.frozen(at("2026-03-05 10:00")), pytest.raises(ApiError) as refused:
        arrears.execute(case, actor=w.billing, at=clock.now())
    assert refused.value.code == "call_required"  # no call yet
    with clock.frozen(at("2026-03-05 09:30")):
        case = arrears.record_call(case, at("2026-03-05 09:30"), w.billing)
    assert case.state == S.CALLED
    with clock.frozen(at("2026-03-05 10:00")), pytest.raises(ApiError) as refused:
        arrears.execute(case, actor=w.billing, at=clock.now())  # 30 minutes: too short
    assert refused.value.code == "call_required" and "60" in refused.value.message
    with clock.frozen(at("2026-03-06 10:00")), pytest.raises(ApiError) as refused:
        arrears.execute(case, actor=w.billing, at=clock.now())  # the call is 24.5 h old
    assert refused.value.code == "call_required" and "24" in refused.value.message
    with clock.frozen(at("2026-03-06 10:30")):
        arrears.record_call(case, at("2026-03-06 09:30"), w.billing)  # called again
        case = arrears.execute(case, actor=w.billing, at=clock.now())  # an hour after the call
    assert case.state == S.DISCONNECTED


def test_a_guarantee_that_starts_after_the_notice_blocks_the_cut(w):
    owe(w.customer_east)
    case = proposed(w, w.customer_east)
    with clock.frozen(at("2026-03-02 10:00")):
        arrears.record_notice(case, delivered_at=at("2026-03-02 10:00"), proof="回执 0013", actor=w.billing)
    SupplyGuarantee.objects.create(
        unit=w.east,
        reason=SupplyGuarantee.Reason.EVENT,
        note="中考保电",
        starts_at=at("2026-03-08 00:00"),
        ends_at=at("2026-03-12 00:00"),
        created_by=w.head,
    )
    with clock.frozen(at("2026-03-10 10:00")), pytest.raises(ApiError) as refused:
        arrears.execute(case, actor=w.billing, at=clock.now())
    assert refused.value.code == "disconnection_exempt" and "中考保电" in refused.value.message
    case.refresh_from_db()
    assert case.state == S.NOTIFIED and case.field_order is None
    assert not WorkOrder.objects.filter(order_type=OrderType.BUSINESS).exists()  # nothing half written
    with clock.frozen(at("2026-03-12 10:00")):
        assert arrears.execute(case, actor=w.billing, at=clock.now()).state == S.DISCONNECTED


# --- Payment and reconnection -------------------------------------------------------------------


def cut(w, customer, delivered="2026-03-02 10:00", when="2026-03-20 09:00") -> DisconnectionCase:
    case = proposed(w, customer)
    with clock.frozen(at(delivered)):
        arrears.record_notice(case, delivered_at=at(delivered), proof="回执", actor=w.billing)
    with clock.frozen(at(when)):
        if not arrears.is_residential(customer):
            arrears.record_call(case, at(when) - dt.timedelta(hours=2), w.billing)
        return arrears.execute(case, actor=w.billing, at=clock.now())


def test_paid_before_the_cut_cancels_the_case(w):
    owe(w.customer_east)
    case = proposed(w, w.customer_east)
    arrears.on_paid(w.customer_east.pk, at("2026-03-03 15:00"))  # arrears still owed: nothing
    case.refresh_from_db()
    assert case.state == S.PROPOSED
    pay_all(w.customer_east)
    arrears.on_paid(w.customer_east.pk, at("2026-03-03 15:00"))
    case.refresh_from_db()
    assert (case.state, case.cancel_reason, case.paid_at) == (
        S.CANCELLED,
        "停电前已缴清",
        at("2026-03-03 15:00"),
    )


def test_reconnection_is_due_24_hours_after_payment_with_warnings_on_the_way(w):
    owe(w.customer_east)
    case = cut(w, w.customer_east)
    pay_all(w.customer_east)
    paid = at("2026-03-27 09:00")
    with clock.frozen(paid):
        arrears.on_paid(w.customer_east.pk, paid)
        arrears.on_paid(w.customer_east.pk, paid)  # a second call changes nothing
    case.refresh_from_db()
    assert case.state == S.RECONNECTING and case.reconnect_due_at == at("2026-03-28 09:00")
    assert case.events.filter(action="paid").count() == 1
    assert "2026-03-28 09:00" in sms_to("13812341234")[-1].body
    # Levels at half the time (12 h), at 80 % (19.2 h) and at the deadline (24 h).
    assert arrears.raise_reconnection_warnings(at("2026-03-27 20:59")) == 0
    assert arrears.raise_reconnection_warnings(at("2026-03-27 21:00")) == 1
    assert arrears.raise_reconnection_warnings(at("2026-03-27 21:05")) == 0
    assert [m.subject for m in inbox_of(w.billing)] == [f"【1级预警】复电 {case.number} 时限即将到期"]
    assert inbox_of(w.head) == []
    assert arrears.raise_reconnection_warnings(at("2026-03-28 04:12")) == 1
    assert len(inbox_of(w.head)) == 1 and inbox_of(w.county_manager) == []
    assert arrears.raise_reconnection_warnings(at("2026-03-28 09:00")) == 1
    assert inbox_of(w.county_manager)[0].subject == f"【3级预警】复电 {case.number} 时限已超期"
    assert len(inbox_of(w.billing)) == 3
    case.refresh_from_db()
    assert case.warning_level == 3
    # The "533" bulletin of noon on the 28th (inside March's window) flags it overdue.
    with clock.frozen(at("2026-03-28 12:30")):
        run = arrears.run_533()
    assert (run.day, run.slot) == (dt.date(2026, 3, 28), "noon")
    [row] = run.rows
    assert row["unit"] == "城东供电所" and row["reconnections"] == {"total": 1, "overdue": 1}
    assert row["cases"] == [
        {
            "number": case.number,
            "account_no": "5100000001",
            "state": "reconnecting",
            "due_at": "2026-03-28T09:00:00+08:00",
            "overdue": True,
        }
    ]
    with clock.frozen(at("2026-03-28 13:00")):
        case = arrears.record_reconnected(case, at("2026-03-28 13:00"), w.billing)
    assert case.state == S.RECONNECTED
    assert case.events.get(action="reconnect").data["late"] is True
    w.customer_east.refresh_from_db()
    assert w.customer_east.status == Customer.Status.ACTIVE


def test_a_remote_prepaid_meter_is_tripped_and_closed_by_command(w):
    account = PrepaidAccount.objects.create(customer=w.customer_east, mode=PrepaidAccount.Mode.REMOTE)
    owe(w.customer_east)
    case = cut(w, w.customer_east)
    assert case.method == DisconnectionCase.Method.REMOTE and case.field_order is None
    assert list(account.commands.values_list("kind", flat=True)) == ["trip"]
    pay_all(w.customer_east)
    with clock.frozen(at("2026-03-21 09:00")):
        arrears.on_paid(w.customer_east.pk, at("2026-03-21 09:00"))
    case.refresh_from_db()
    assert case.state == S.RECONNECTED and case.reconnected_at == at("2026-03-21 09:00")
    assert account.commands.filter(kind=PrepaidCommand.Kind.CLOSE).count() == 1
    w.customer_east.refresh_from_db()
    assert w.customer_east.status == Customer.Status.ACTIVE


# --- "533" ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "last_of_month", "month_length"),
    [
        (dt.date(2026, 4, 26), dt.date(2026, 4, 30), 30),  # 30 days: 26th is the 5th-last
        (dt.date(2026, 3, 27), dt.date(2026, 3, 31), 31),
        (dt.date(2026, 2, 24), dt.date(2026, 2, 28), 28),
        (dt.date(2028, 2, 25), dt.date(2028, 2, 29), 29),  # leap year
    ],
)
def test_the_533_window_runs_from_the_fifth_last_day_to_the_third(first, last_of_month, month_length):
    assert (last_of_month - first).days + 1 == 5
    assert arrears.window_start(first.year, first.month) == first
    assert not arrears.in_533_window(first - dt.timedelta(days=1))
    window = [first + dt.timedelta(days=n) for n in range(8)]  # five days, then the 1st to the 3rd
    assert all(arrears.in_533_window(day) for day in window)
    assert window[-1].day == 3 and window[4] == last_of_month
    assert not arrears.in_533_window(window[-1] + dt.timedelta(days=1))


def test_533_runs_three_times_a_day_once_each(w):
    owe(w.customer_east)
    proposed(w, w.customer_east, "2026-04-20 09:00")
    with clock.frozen(at("2026-04-25 12:00")):  # 25 April: outside the window
        assert arrears.run_533() is None
    with clock.frozen(at("2026-04-26 08:00")):  # inside, before the morning run (08:30)
        assert arrears.run_533() is None
    runs = []
    for when in [
        "2026-04-26 08:30",
        "2026-04-26 10:00",
        "2026-04-26 12:05",
        "2026-04-26 17:00",
        "2026-04-26 23:00",
    ]:
        with clock.frozen(at(when)):
            runs.append(arrears.run_533())
    assert [r.slot for r in runs] == ["morning", "morning", "noon", "evening", "evening"]
    assert runs[0].pk == runs[1].pk and runs[3].pk == runs[4].pk
    assert SupervisionRun.objects.filter(day=dt.date(2026, 4, 26)).count() == 3
    [row] = runs[0].rows
    assert row["disconnections"] == {"proposed": 1, "notified": 0, "called": 0, "total": 1, "oldest_days": 5}
    # Each run tells the east station's billing clerk and head once.
    assert len(inbox_of(w.billing)) == 3 and len(inbox_of(w.head)) == 3
    assert "待停电1户" in inbox_of(w.billing)[0].body
    with clock.frozen(at("2026-05-03 20:00")):
        assert arrears.run_533().day == dt.date(2026, 5, 3)
    with clock.frozen(at("2026-05-04 09:00")):
        assert arrears.run_533() is None


# --- API -----------------------------------------------------------------------------------------


def test_the_api_proposes_records_and_refuses_with_codes(w, client):
    owe(w.shop)
    with clock.frozen(at("2026-03-02 09:00")):
        arrears.send_reminders()
    billing = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=w.billing)}"}
    west = create_staff(
        username="billing_west", password=w.password, full_name="孔核算", roles=[(Role.BILLING_CLERK, w.west)]
    )
    outsider = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=west)}"}

    def post(url, body, headers=billing):
        return client.post(f"/api/v1/disconnections{url}", body, content_type="application/json", **headers)

    with clock.frozen(at("2026-03-02 09:00")):
        assert post("", {"account_no": "5100000009"}, outsider).status_code == 404  # not in their scope
        created = post("", {"account_no": "5100000009"})
        assert created.status_code == 201, created.content
        number = created.json()["number"]
        assert created.json()["state"] == "proposed" and created.json()["events"][0]["action"] == "propose"
        assert post("", {"account_no": "5100000009"}).json()["code"] == "disconnection_open"
        bad = post(f"/{number}/notice", {"delivered_at": "yesterday", "proof": "回执"})
        assert bad.status_code == 422 and bad.json()["code"] == "invalid_input"
        early = post(f"/{number}/notice", {"delivered_at": "2026-03-01T09:00:00+08:00", "proof": "回执"})
        assert early.status_code == 422 and early.json()["code"] == "invalid_times"
        done = post(f"/{number}/notice", {"delivered_at": "2026-03-02T09:00:00+08:00", "proof": "回执 01"})
        assert done.json()["earliest_cut_at"] == "2026-03-05T09:00:00+08:00"
        too_early = post(f"/{number}/execute", {})
        assert too_early.status_code == 409 and too_early.json()["code"] == "cut_too_early"
        listed = client.get("/api/v1/disconnections", **billing).json()
        assert listed["count"] == 1 and listed["items"][0]["number"] == number
        assert client.get("/api/v1/disconnections", **outsider).json()["count"] == 0
        assert client.get(f"/api/v1/disconnections/{number}", **outsider).status_code == 404
        shown = client.get("/api/v1/disconnections/exemptions/5100000001", **billing).json()
        assert shown == []
        assert client.get("/api/v1/disconnections/exemptions/5100000002", **billing).status_code == 404
        agent = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=w.agent)}"}
        assert client.get("/api/v1/disconnections", **agent).json()["code"] == "forbidden_role"
    with clock.frozen(at("2026-03-05 10:00")):
        called = post(f"/{number}/call", {"called_at": "2026-03-05T08:30:00+08:00"})
        assert called.json()["state"] == "called"
        cut_ = post(f"/{number}/execute", {})
        assert cut_.status_code == 200 and cut_.json()["state"] == "disconnected"
        assert cut_.json()["field_order"].startswith("YW")
        assert post(f"/{number}/reconnected", {}).json()["code"] == "illegal_transition"


def test_a_second_click_and_the_wrong_role_change_nothing(w):
    owe(w.customer_east)
    case = cut(w, w.customer_east)
    with clock.frozen(at("2026-03-20 09:05")), pytest.raises(ApiError) as again:
        arrears.execute(case, actor=w.billing, at=clock.now())
    assert again.value.code == "illegal_transition"
    assert WorkOrder.objects.filter(order_type=OrderType.BUSINESS).count() == 1
    # A manager supervises; the field order is accepted by a billing clerk.
    owe(w.shop)
    case = proposed(w, w.shop)
    with clock.frozen(at("2026-03-02 10:00")):
        arrears.record_notice(case, delivered_at=at("2026-03-02 10:00"), proof="回执", actor=w.head)
    with clock.frozen(at("2026-03-06 10:00")):
        arrears.record_call(case, at("2026-03-06 08:00"), w.head)
        with pytest.raises(ApiError) as refused:
            arrears.execute(case, actor=w.head, at=clock.now())
    assert refused.value.code == "forbidden_role"
    case.refresh_from_db()
    assert case.state == S.CALLED


def test_the_sweeps_are_periodic_tasks(w, settings):
    from gridcare.billing import tasks

    periodic = {path for path, _seconds in settings.GRIDCARE_PERIODIC_TASKS}
    for name in [
        "send_arrears_reminders",
        "raise_reconnection_warnings",
        "run_533_control",
        "check_prepaid_accounts",
    ]:
        assert f"gridcare.billing.tasks.{name}" in periodic
        assert f"gridcare.billing.tasks.{name}" in settings.GRIDCARE_TASKS_RERUN_WHEN_LOST
    owe(w.customer_east)
    with clock.frozen(at("2026-03-28 09:00")):
        assert tasks.send_arrears_reminders.call() == 1
        assert tasks.run_533_control.call() == 1
        assert tasks.raise_reconnection_warnings.call() == 0
        assert tasks.check_prepaid_accounts.call() == 0
