"""Channel files and the payments API: all or nothing, each bad row named, nothing twice."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest

from gridcare.billing import imports
from gridcare.billing.models import Bill, BillingAccount, BillState, Payment, PaymentFile
from gridcare.core import clock
from gridcare.core.api_errors import ApiError

from .conftest import at, bearer, past_bill

D = Decimal


def open_bill(customer, amount):
    bill = past_bill(
        customer,
        dt.date(2026, 11, 1),
        dt.date(2026, 10, 26),
        dt.date(2026, 11, 25),
        200,
        amount,
        state=BillState.OPEN,
    )
    bill.due_on = dt.date(2026, 12, 17)
    bill.save(update_fields=["due_on"])
    BillingAccount.objects.filter(customer=customer).update(arrears=D(amount))
    return bill


def bank_file(w, *rows) -> bytes:
    lines = ["户号,金额,银行流水号,扣款日期,扣款结果"] + [",".join(r) for r in rows]
    return ("\ufeff" + "\n".join(lines) + "\n").encode("utf-8")


@pytest.mark.django_db
def test_a_bank_withholding_file_posts_its_successful_rows(bw):
    w = bw
    east, west = open_bill(w.customer_east, "172.40"), open_bill(w.customer_west, "80.70")
    content = bank_file(
        w,
        (w.customer_east.account_no, "172.40", "B0001", "2026-12-05", "成功"),
        (w.customer_west.account_no, "80.70", "B0002", "2026-12-05", "失败"),
    )
    with clock.frozen(at(2026, 12, 6, 9, 0)):
        record = imports.import_file(
            kind="withholding", name="bank-1205.csv", content=content, actor=w.billing_county
        )
    assert (record.state, record.rows, record.total) == ("accepted", 2, D("172.40"))
    assert [(r["row"], r["message"]) for r in record.report] == [(2, "通过"), (3, "扣款失败，未入账")]
    east.refresh_from_db()
    west.refresh_from_db()
    assert (east.state, west.state) == (BillState.PAID, BillState.OPEN)
    assert Payment.objects.get().channel == "withholding"
    with clock.frozen(at(2026, 12, 6, 9, 5)), pytest.raises(ApiError) as twice:
        imports.import_file(kind="withholding", name="again.csv", content=content, actor=w.billing_county)
    assert (twice.value.code, twice.value.status) == ("file_already_imported", 409)


@pytest.mark.django_db
def test_one_bad_row_rejects_the_whole_file_and_names_the_row(bw):
    w = bw
    open_bill(w.customer_east, "172.40")
    content = bank_file(
        w,
        (w.customer_east.account_no, "172.40", "B0001", "2026-12-05", "成功"),
        ("9999999999", "10.00", "B0002", "2026-12-05", "成功"),
        (w.customer_west.account_no, "12.3.4", "B0003", "2026-12-05", "成功"),
        (w.customer_west.account_no, "5.00", "B0001", "2026-12-05", "成功"),
    )
    with clock.frozen(at(2026, 12, 6, 9, 0)), pytest.raises(ApiError) as rejected:
        imports.import_file(kind="withholding", name="bank.csv", content=content, actor=w.billing_county)
    assert (rejected.value.code, rejected.value.status) == ("bad_file", 422)
    assert [r["row"] for r in rejected.value.extra["rows"]] == [3, 4, 5]
    assert "第3行" in rejected.value.message
    assert not Payment.objects.exists()
    assert PaymentFile.objects.get().state == "rejected"
    assert BillingAccount.objects.get(customer=w.customer_east).arrears == D("172.40")


@pytest.mark.django_db
def test_an_xlsx_agent_list_and_bills_from_the_system_of_record(bw):
    from openpyxl import Workbook

    w = bw
    book = Workbook()
    sheet = book.active
    sheet.append(["账单编号", "户号", "电费年月", "电量", "金额", "缴费截止日"])
    sheet.append(["YX202611001", w.customer_east.account_no, "2026-11", 320, "180.16", dt.date(2026, 12, 20)])
    buffer = io.BytesIO()
    book.save(buffer)
    with clock.frozen(at(2026, 12, 6, 9, 0)):
        imports.import_file(
            kind="bills", name="bills.xlsx", content=buffer.getvalue(), actor=w.billing_county
        )
    bill = Bill.objects.get(number="YX202611001")
    assert (bill.kind, bill.state, bill.amount, bill.due_on) == (
        "imported",
        "open",
        D("180.16"),
        dt.date(2026, 12, 20),
    )
    assert BillingAccount.objects.get(customer=w.customer_east).arrears == D("180.16")
    agent = "户号,金额,流水号,缴费日期\n" + f"{w.customer_east.account_no},180.16,YZ-1,2026-12-06\n"
    with clock.frozen(at(2026, 12, 6, 15, 0)):
        imports.import_file(kind="agent", name="post.csv", content=agent.encode(), actor=w.billing_county)
    bill.refresh_from_db()
    assert bill.state == BillState.PAID


@pytest.mark.django_db
def test_the_payment_api_posts_once_and_answers_the_retry(bw, client):
    w = bw
    open_bill(w.customer_east, "172.40")
    body = {"account_no": w.customer_east.account_no, "channel": "online", "amount": "200.00"}
    auth = {**bearer(w.billing_east), "HTTP_IDEMPOTENCY_KEY": "WX-20261206-1"}
    with clock.frozen(at(2026, 12, 6, 9, 0)):
        first = client.post("/api/v1/payments", body, "application/json", **auth)
        again = client.post("/api/v1/payments", body, "application/json", **auth)
        other = client.post("/api/v1/payments", {**body, "amount": "20.00"}, "application/json", **auth)
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
    receipt = first.json()
    assert receipt["receipt_no"] == again.json()["receipt_no"]
    assert [(a["part"], a["amount"]) for a in receipt["allocations"]] == [
        ("bill", "172.40"),
        ("credit", "27.60"),
    ]
    assert Payment.objects.count() == 1
    shown = client.get(f"/api/v1/payments/{receipt['receipt_no']}", **bearer(w.billing_east))
    assert shown.status_code == 200
    listed = client.get(f"/api/v1/payments?account_no={w.customer_east.account_no}", **bearer(w.billing_east))
    assert listed.status_code == 200, listed.content
    assert [p["receipt_no"] for p in listed.json()["items"]] == [receipt["receipt_no"]]
    # Outside the scope: the west clerk does not see, nor post for, an east customer.
    assert (
        client.get(f"/api/v1/payments/{receipt['receipt_no']}", **bearer(w.billing_west)).status_code == 404
    )
    refused = client.post(
        "/api/v1/payments", {**body, "reference": "X-2"}, "application/json", **bearer(w.billing_west)
    )
    assert refused.status_code == 404
    # An agent takes no money.
    agent = client.post(
        "/api/v1/payments", {**body, "reference": "X-3"}, "application/json", **bearer(w.agent)
    )
    assert (agent.status_code, agent.json()["code"]) == (403, "forbidden_role")
    bad = client.post(
        "/api/v1/payments", {**body, "amount": "-1", "reference": "X-4"}, "application/json", **auth
    )
    assert bad.status_code == 422
    unknown = client.post(
        "/api/v1/payments",
        {**body, "account_no": "9999999999", "reference": "X-5"},
        "application/json",
        **auth,
    )
    assert unknown.status_code == 404
    BillingAccount.objects.filter(customer=w.customer_east).delete()
    no_account = client.post("/api/v1/payments", {**body, "reference": "X-6"}, "application/json", **auth)
    assert (no_account.status_code, no_account.json()["code"]) == (422, "no_billing_account")
    assert Payment.objects.count() == 1


@pytest.mark.django_db
def test_a_file_upload_over_the_api_answers_the_bad_rows(bw, client):
    w = bw
    content = bank_file(w, ("9999999999", "10.00", "B9", "2026-12-05", "成功"))
    upload = io.BytesIO(content)
    upload.name = "bank.csv"
    with clock.frozen(at(2026, 12, 6, 9, 0)):
        answer = client.post(
            "/api/v1/payment-files", {"kind": "withholding", "file": upload}, **bearer(w.billing_county)
        )
    assert answer.status_code == 422
    assert answer.json()["code"] == "bad_file" and answer.json()["rows"][0]["row"] == 2


@pytest.mark.django_db
def test_a_multipart_body_without_its_boundary_is_a_400_not_a_500(bw, client):
    answer = client.generic(
        "POST",
        "/api/v1/payment-files",
        data=b"--x\r\n",
        content_type="multipart/form-data",
        **bearer(bw.billing_county),
    )
    assert (answer.status_code, answer.json()["code"]) == (400, "invalid_body")
