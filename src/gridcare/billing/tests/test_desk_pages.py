"""The billing desk's pages: a cashier takes money once however often the form is sent, the receipt
adds up, a reversal needs its reason, a waiver needs a second person, an account outside the
clerk's scope is refused, a bad file shows its bad row; reconciliation and the lists."""

from __future__ import annotations

import datetime as dt
import io
import json
import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from gridcare.billing.models import Allocation, BillState, LateFeeWaiver, Payment, PaymentFile
from gridcare.core import clock
from gridcare.org.models import Role
from gridcare.org.services import create_staff

from .conftest import at, bearer
from .test_imports import bank_file
from .test_payments import owing

D = Decimal
NOW = at(2026, 3, 20, 10, 0)


def two_bills(w):
    """East owes February (300.00, due 10 March: 10 days late on 20 March, 3.00 fee) and March
    (120.00, due 10 April)."""
    february = owing(w.customer_east, dt.date(2026, 2, 1), "300.00", dt.date(2026, 3, 10))
    march = owing(w.customer_east, dt.date(2026, 3, 1), "120.00", dt.date(2026, 4, 10))
    return february, march


def token_of(page) -> str:
    found = re.search(r'name="token" value="([0-9a-f]{20})"', page.content.decode())
    assert found, "the counter form carries its one-time reference"
    return found.group(1)


@pytest.mark.django_db
def test_the_counter_page_shows_what_is_owed_today_and_posts_once_when_sent_twice(bw, client):
    w = bw
    february, march = two_bills(w)
    client.force_login(w.billing_east)
    with clock.frozen(NOW):
        page = client.get("/billing/desk/", {"account_no": w.customer_east.account_no})
        text = page.content.decode()
        assert page.status_code == 200
        assert 'id="desk-due">423.00<' in text  # 300 + 3.00 fee + 120
        assert 'id="desk-late-fees">3.00<' in text and "张*国" in text
        form = {
            "account_no": w.customer_east.account_no,
            "token": token_of(page),
            "channel": "counter",
            "amount": "423.00",
            "reference": "",
        }
        first = client.post("/billing/desk/pay/", form)
        second = client.post("/billing/desk/pay/", form, follow=True)
    payment = Payment.objects.get()
    assert first.status_code == 302 and first["Location"] == f"/billing/desk/receipts/{payment.receipt_no}/"
    assert second.redirect_chain[-1][0] == f"/billing/desk/receipts/{payment.receipt_no}/"
    assert "该笔缴费已入账，未重复收取" in second.content.decode()
    assert (payment.amount, payment.operator, payment.unit, payment.channel) == (
        D("423.00"),
        w.billing_east,
        w.east,
        "counter",
    )
    assert Allocation.objects.count() == 3
    february.refresh_from_db()
    march.refresh_from_db()
    assert (february.state, march.state) == (BillState.PAID, BillState.PAID)


@pytest.mark.django_db
def test_the_receipt_lists_what_each_part_paid_adding_up_to_the_payment(bw, client):
    w = bw
    two_bills(w)
    client.force_login(w.billing_east)
    with clock.frozen(NOW):
        page = client.get("/billing/desk/", {"account_no": w.customer_east.account_no})
        receipt = client.post(
            "/billing/desk/pay/",
            {
                "account_no": w.customer_east.account_no,
                "token": token_of(page),
                "channel": "pos",
                "amount": "500.00",
                "reference": "POS-881234",
            },
            follow=True,
        )
    text = receipt.content.decode()
    assert "收费成功：500.00 元" in text and "POS-881234" in text
    rows = re.findall(r'<td>(违约金|电费|预存)</td><td class="text-end">([\d.]+)</td>', text)
    assert rows == [("违约金", "3.00"), ("电费", "300.00"), ("电费", "120.00"), ("预存", "77.00")]
    assert sum(D(amount) for _part, amount in rows) == D("500.00")
    assert 'id="receipt-total">500.00<' in text
    payment = Payment.objects.get()
    with clock.frozen(NOW):
        pdf = client.get(f"/billing/desk/receipts/{payment.receipt_no}/pdf/")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    from pypdf import PdfReader

    content = b"".join(pdf.streaming_content) if pdf.streaming else pdf.content
    printed = "".join(p.extract_text() for p in PdfReader(io.BytesIO(content)).pages)
    assert payment.receipt_no in printed and "500.00" in printed and "77.00" in printed


@pytest.mark.django_db
def test_a_pos_payment_needs_the_terminals_reference(bw, client):
    w = bw
    two_bills(w)
    client.force_login(w.billing_east)
    with clock.frozen(NOW):
        page = client.get("/billing/desk/", {"account_no": w.customer_east.account_no})
        answer = client.post(
            "/billing/desk/pay/",
            {
                "account_no": w.customer_east.account_no,
                "token": token_of(page),
                "channel": "pos",
                "amount": "10",
            },
            follow=True,
        )
    assert "POS收费请填写POS凭证上的参考号" in answer.content.decode()
    assert not Payment.objects.exists()


@pytest.mark.django_db
def test_a_reversal_needs_its_reason_and_reopens_the_bill(bw, client):
    w = bw
    february, _march = two_bills(w)
    client.force_login(w.billing_east)
    with clock.frozen(NOW):
        page = client.get("/billing/desk/", {"account_no": w.customer_east.account_no})
        client.post(
            "/billing/desk/pay/",
            {
                "account_no": w.customer_east.account_no,
                "token": token_of(page),
                "channel": "counter",
                "amount": "303.00",
            },
        )
        payment = Payment.objects.get()
        url = f"/billing/desk/receipts/{payment.receipt_no}/reverse/"
        refused = client.post(url, {"reason": "  "}, follow=True)
        assert "请填写冲正原因" in refused.content.decode()
        payment.refresh_from_db()
        assert payment.state == "posted"
        done = client.post(url, {"reason": "客户交错户号"}, follow=True)
    text = done.content.decode()
    assert "已冲正" in text and "冲正：客户交错户号" in text and 'id="reverse-form"' not in text
    payment.refresh_from_db()
    february.refresh_from_db()
    assert payment.state == "reversed"
    assert (february.state, february.paid, february.late_fee_charged, february.late_fee_from) == (
        BillState.OPEN,
        0,
        0,
        None,
    )


@pytest.mark.django_db
def test_a_waiver_asked_on_the_counter_page_is_decided_by_another_clerk(bw, client):
    w = bw
    february, _march = two_bills(w)
    client.force_login(w.billing_east)
    with clock.frozen(NOW):
        asked = client.post(f"/billing/bills/{february.number}/waiver/", {"reason": "低保户"}, follow=True)
        assert "减免申请已提交" in asked.content.decode()
        waiver = LateFeeWaiver.objects.get()
        queue = client.get("/billing/desk/waivers/").content.decode()
        assert "本人申请，须由他人审批" in queue
        own = client.post(f"/billing/desk/waivers/{waiver.pk}/decide/", {"decision": "approve"}, follow=True)
        assert "减免须由申请人以外的人审批" in own.content.decode()
        waiver.refresh_from_db()
        assert waiver.state == "requested"
        client.force_login(w.billing_county)
        approved = client.post(
            f"/billing/desk/waivers/{waiver.pk}/decide/",
            {"decision": "approve", "note": "核实无误"},
            follow=True,
        )
    assert "已批准减免违约金 3.00 元" in approved.content.decode()
    waiver.refresh_from_db()
    february.refresh_from_db()
    assert (waiver.state, waiver.approved_by, february.late_fee_waived) == (
        "approved",
        w.billing_county,
        True,
    )


@pytest.mark.django_db
def test_a_rejection_needs_a_note(bw, client):
    w = bw
    february, _march = two_bills(w)
    with clock.frozen(NOW):
        client.force_login(w.billing_east)
        client.post(f"/billing/bills/{february.number}/waiver/", {"reason": "客户称未收到账单"})
        waiver = LateFeeWaiver.objects.get()
        client.force_login(w.billing_county)
        empty = client.post(f"/billing/desk/waivers/{waiver.pk}/decide/", {"decision": "reject"}, follow=True)
        assert "请填写驳回理由" in empty.content.decode()
        client.post(
            f"/billing/desk/waivers/{waiver.pk}/decide/", {"decision": "reject", "note": "已按时送达"}
        )
    waiver.refresh_from_db()
    assert waiver.state == "rejected"


@pytest.mark.django_db
def test_an_account_outside_the_clerks_scope_is_refused(bw, client):
    w = bw
    two_bills(w)
    client.force_login(w.billing_west)
    with clock.frozen(NOW):
        looked = client.get("/billing/desk/", {"account_no": w.customer_east.account_no})
        assert looked.status_code == 404
        assert "户号不存在或不在您的管辖范围" in looked.content.decode()
        assert 'id="pay-form"' not in looked.content.decode()
        posted = client.post(
            "/billing/desk/pay/",
            {
                "account_no": w.customer_east.account_no,
                "token": "0" * 20,
                "channel": "counter",
                "amount": "10.00",
            },
        )
        assert posted.status_code == 404
    assert not Payment.objects.exists()
    client.force_login(w.billing_east)
    with clock.frozen(NOW):
        page = client.get("/billing/desk/", {"account_no": w.customer_east.account_no})
        client.post(
            "/billing/desk/pay/",
            {
                "account_no": w.customer_east.account_no,
                "token": token_of(page),
                "channel": "counter",
                "amount": "5",
            },
        )
    receipt_no = Payment.objects.get().receipt_no
    client.force_login(w.billing_west)
    with clock.frozen(NOW):
        assert client.get(f"/billing/desk/receipts/{receipt_no}/").status_code == 404
        assert (
            client.post(f"/billing/desk/receipts/{receipt_no}/reverse/", {"reason": "x"}).status_code == 404
        )
        assert client.get(f"/billing/desk/payments/customer/{w.customer_east.account_no}/").status_code == 404


@pytest.mark.django_db
def test_the_desk_and_the_runs_are_for_billing_staff(bw, client):
    w = bw
    client.force_login(w.agent)
    for url in (
        "/billing/desk/",
        "/billing/desk/payments/",
        "/billing/desk/waivers/",
        "/billing/desk/files/",
        "/billing/runs/",
    ):
        assert client.get(url).status_code == 403
    client.force_login(w.billing_east)
    home = client.get("/billing/runs/").content.decode()
    assert 'href="/billing/desk/"' in home


@pytest.mark.django_db
def test_a_cashier_takes_money_and_asks_for_waivers_but_reverses_and_decides_nothing(bw, client):
    """收费员: the counter, the receipt, the day's list and a waiver request are theirs; the
    reversal of a payment, a waiver's decision, reconciliation, files and the monthly run are
    a billing clerk's (another person than the one who took the money)."""
    w = bw
    february, _ = two_bills(w)
    cashier = create_staff(
        username="cashier_east", password=w.password, full_name="周收费", roles=[(Role.CASHIER, w.east)]
    )
    client.force_login(cashier)
    with clock.frozen(NOW):
        page = client.get("/billing/desk/", {"account_no": w.customer_east.account_no})
        assert page.status_code == 200
        text = page.content.decode()
        assert 'href="/billing/desk/payments/"' in text and 'href="/billing/desk/waivers/"' not in text
        client.post(f"/billing/bills/{february.number}/waiver/", {"reason": "系统故障未能缴费"})
        asked = LateFeeWaiver.objects.get(bill=february)
        assert (asked.requested_by, asked.state) == (cashier, LateFeeWaiver.State.REQUESTED)
        posted = client.post(
            "/billing/desk/pay/",
            {
                "account_no": w.customer_east.account_no,
                "token": token_of(page),
                "channel": "counter",
                "amount": "303.00",
                "reference": "",
            },
            follow=True,
        )
        payment = Payment.objects.get()
        receipt = posted.content.decode()
        assert (payment.operator, payment.unit, payment.amount) == (cashier, w.east, D("303.00"))
        assert payment.receipt_no in receipt and 'id="reverse-form"' not in receipt
        refused = client.post(
            f"/billing/desk/receipts/{payment.receipt_no}/reverse/", {"reason": "收错"}, follow=True
        )
        assert "冲正须由电费核算员或管理人员办理" in refused.content.decode()
        for url in (
            "/billing/desk/waivers/",
            "/billing/desk/reconciliations/",
            "/billing/desk/files/",
            "/billing/runs/",
        ):
            assert client.get(url).status_code == 403, url
        assert client.get("/billing/desk/payments/").status_code == 200
    payment.refresh_from_db()
    february.refresh_from_db()
    assert payment.state == Payment.State.POSTED and february.state == BillState.PAID
    # Over the API the cashier posts a channel's payment too, and still cannot reverse one.
    with clock.frozen(NOW):
        api = client.post(
            "/api/v1/payments",
            {
                "account_no": w.customer_east.account_no,
                "channel": "pos",
                "amount": "10.00",
                "reference": "POS-9",
            },
            "application/json",
            **bearer(cashier),
        )
        assert api.status_code == 201
        again = client.post(
            f"/api/v1/payments/{payment.receipt_no}/reversal",
            {"reason": "收错"},
            "application/json",
            **bearer(cashier),
        )
    assert again.status_code == 403 and again.json()["code"] == "forbidden_role"


@pytest.mark.django_db
def test_a_file_with_a_bad_row_shows_the_row_and_posts_nothing(bw, client):
    w = bw
    two_bills(w)
    content = bank_file(
        w,
        (w.customer_east.account_no, "303.00", "B0001", "2026-03-19", "成功"),
        ("9999999999", "10.00", "B0002", "2026-03-19", "成功"),
        (w.customer_east.account_no, "abc", "B0003", "2026-03-19", "S"),
    )
    client.force_login(w.billing_county)
    with clock.frozen(NOW):
        answer = client.post(
            "/billing/desk/files/",
            {"kind": "withholding", "file": SimpleUploadedFile("bank-0319.csv", content, "text/csv")},
            follow=True,
        )
    record = PaymentFile.objects.get()
    assert answer.redirect_chain[-1][0] == f"/billing/desk/files/{record.pk}/"
    text = answer.content.decode()
    assert record.state == "rejected" and "2 行有误，整个文件未导入" in text
    bad = text[text.index('id="bad-rows"') : text.index('id="good-rows"')]
    assert "<td>3</td><td>9999999999</td><td>户号不存在或不在您的管辖范围</td>" in bad
    assert "<td>4</td>" in bad and "金额不正确：abc" in bad
    assert not Payment.objects.exists()
    with clock.frozen(NOW):
        listing = client.get("/billing/desk/files/").content.decode()
        assert "bank-0319.csv" in listing and "已拒绝" in listing
        # Another station's clerk does not see the county's files.
        client.force_login(w.billing_west)
        assert client.get(f"/billing/desk/files/{record.pk}/").status_code == 404


@pytest.mark.django_db
def test_a_good_file_is_imported_and_its_rows_reported(bw, client):
    w = bw
    two_bills(w)
    content = bank_file(w, (w.customer_east.account_no, "303.00", "B0001", "2026-03-19", "00"))
    client.force_login(w.billing_east)
    with clock.frozen(NOW):
        answer = client.post(
            "/billing/desk/files/",
            {"kind": "withholding", "file": SimpleUploadedFile("bank.csv", content, "text/csv")},
            follow=True,
        )
    assert "已导入1行，金额合计 303.00 元" in answer.content.decode()
    assert Payment.objects.get().reference == "B0001"


@pytest.mark.django_db
def test_reconciling_a_day_lists_the_differences(bw, client):
    w = bw
    two_bills(w)
    client.force_login(w.billing_east)
    with clock.frozen(NOW):
        for ref, amount in (("P-1", "30.00"), ("P-2", "20.00")):
            page = client.get("/billing/desk/", {"account_no": w.customer_east.account_no})
            client.post(
                "/billing/desk/pay/",
                {
                    "account_no": w.customer_east.account_no,
                    "token": token_of(page),
                    "channel": "pos",
                    "amount": amount,
                    "reference": ref,
                },
            )
    with clock.frozen(at(2026, 3, 21, 9, 0)):
        client.force_login(w.billing_east)  # a new day, a new session
        result = client.post(
            "/billing/desk/reconciliations/",
            {
                "unit": w.east.pk,
                "channel": "pos",
                "day": "2026-03-20",
                "their_count": "2",
                "their_total": "55.00",
                "rows": "P-1,30.00\nP-3,25.00",
            },
            follow=True,
        )
        text = result.content.decode()
        assert "对账不平" in text
        differences = text[text.index('id="rec-differences"') :]
        assert "P-3" in differences and "渠道有、本方无" in differences
        assert "P-2" in differences and "本方有、渠道无" in differences
        listing = client.get("/billing/desk/reconciliations/").content.decode()
        assert "2026-03-20" in listing and "不平 · 2 条差异" in listing
        bad = client.post(
            "/billing/desk/reconciliations/",
            {
                "unit": w.east.pk,
                "channel": "pos",
                "day": "2026-03-20",
                "their_count": "1",
                "their_total": "1",
                "rows": "P-1",
            },
            follow=True,
        )
        assert "第1行须为“流水号,金额”" in bad.content.decode()
        # A unit outside the clerk's scope is not offered and not taken.
        client.force_login(w.billing_west)
        other = client.post(
            "/billing/desk/reconciliations/",
            {
                "unit": w.east.pk,
                "channel": "pos",
                "day": "2026-03-20",
                "their_count": "0",
                "their_total": "0",
            },
            follow=True,
        )
        assert "请选择您管辖范围内的单位" in other.content.decode()


@pytest.mark.django_db
def test_the_days_payments_filter_by_channel_and_link_to_their_receipts(bw, client):
    w = bw
    two_bills(w)
    client.force_login(w.billing_east)
    with clock.frozen(NOW):
        for channel, ref, amount in (("pos", "P-1", "30.00"), ("counter", "", "20.00")):
            page = client.get("/billing/desk/", {"account_no": w.customer_east.account_no})
            client.post(
                "/billing/desk/pay/",
                {
                    "account_no": w.customer_east.account_no,
                    "token": token_of(page),
                    "channel": channel,
                    "amount": amount,
                    "reference": ref,
                },
            )
        day = client.get("/billing/desk/payments/", {"unit": w.east.pk, "day": "2026-03-20"}).content.decode()
        pos = client.get(
            "/billing/desk/payments/", {"unit": w.east.pk, "day": "2026-03-20", "channel": "pos"}
        ).content.decode()
        other_day = client.get(
            "/billing/desk/payments/", {"unit": w.east.pk, "day": "2026-03-19"}
        ).content.decode()
        mine = client.get(f"/billing/desk/payments/customer/{w.customer_east.account_no}/").content.decode()
    receipts = list(Payment.objects.order_by("paid_at", "id").values_list("receipt_no", flat=True))
    assert all(f'href="/billing/desk/receipts/{r}/"' in day for r in receipts)
    assert "入账 2 笔，合计 50.00 元" in day
    assert receipts[0] in pos and receipts[1] not in pos and "入账 1 笔，合计 30.00 元" in pos
    assert receipts[0] not in other_day
    assert all(r in mine for r in receipts)


@pytest.mark.django_db
def test_waivers_over_the_api_need_a_second_person(bw, client):
    w = bw
    february, _march = two_bills(w)
    with clock.frozen(NOW):
        made = client.post(
            "/api/v1/late-fee-waivers",
            data=json.dumps({"bill": february.number, "reason": "低保户"}),
            content_type="application/json",
            **bearer(w.billing_east),
        )
        assert made.status_code == 201, made.content
        pk = made.json()["id"]
        own = client.post(
            f"/api/v1/late-fee-waivers/{pk}/approval",
            data="{}",
            content_type="application/json",
            **bearer(w.billing_east),
        )
        assert own.status_code == 403 and own.json()["code"] == "self_approval" and own.json()["message"]
        listed = client.get("/api/v1/late-fee-waivers?state=requested", **bearer(w.billing_county)).json()
        assert [x["id"] for x in listed["items"]] == [pk]
        assert client.get("/api/v1/late-fee-waivers", **bearer(w.billing_west)).json()["items"] == []
        no_note = client.post(
            f"/api/v1/late-fee-waivers/{pk}/rejection",
            data="{}",
            content_type="application/json",
            **bearer(w.billing_county),
        )
        assert no_note.status_code == 422 and no_note.json()["code"] == "reason_required"
        approved = client.post(
            f"/api/v1/late-fee-waivers/{pk}/approval",
            data=json.dumps({"note": "同意"}),
            content_type="application/json",
            **bearer(w.billing_county),
        )
    assert approved.status_code == 200
    assert (approved.json()["state"], approved.json()["amount"], approved.json()["decided_by"]) == (
        "approved",
        "3.00",
        "billing_county",
    )
