"""Payments under the sequences the floor and the channels produce: a case opened while a payment
waits for the account, a payment dated earlier but posted later and then another reversed, the
same request answered the same way twice, a rule edit rolled back."""

from __future__ import annotations

import datetime as dt
import threading
import time
from decimal import Decimal as D

import pytest
from django.db import connection, transaction

from gridcare.billing import latefees, payments
from gridcare.billing.models import Bill, BillingAccount, DisconnectionCase, LateFeeRule, Payment
from gridcare.billing.tests.conftest import at, bearer
from gridcare.billing.tests.test_payments import owing
from gridcare.core import clock


def pay(customer, amount, when, reference, posted_at):
    with clock.frozen(posted_at):
        return payments.post_payment(
            customer=customer, channel="counter", reference=reference, amount=D(amount), paid_at=when
        )[0]


def together(*steps) -> None:
    """Run ``steps`` at once, each in a thread with its own connection (closed after)."""

    def run(step):
        try:
            step()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(step,)) for step in steps]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


@pytest.mark.skipif(
    not __import__("os").environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="concurrent writers need PostgreSQL",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_case_opened_while_the_payment_waits_for_the_account_is_cancelled_by_it(bw):
    w = bw
    owing(w.customer_east, dt.date(2026, 9, 1), "100.00", dt.date(2026, 10, 15))
    locked = threading.Event()

    def proposer():
        with transaction.atomic():
            BillingAccount.objects.select_for_update().get(customer=w.customer_east)
            DisconnectionCase.objects.create(
                number="TD-RACE",
                customer=w.customer_east,
                unit=w.east,
                state=DisconnectionCase.State.PROPOSED,
                arrears=D("100.00"),
                oldest_due_on=dt.date(2026, 10, 15),
                proposed_by=w.billing_east,
            )
            locked.set()
            time.sleep(0.8)  # the payment starts meanwhile and waits for the account

    def payer():
        locked.wait()
        pay(w.customer_east, "500.00", at(2026, 12, 1, 9, 0), "RACE-CASE", at(2026, 12, 1, 9, 0))

    together(proposer, payer)
    assert BillingAccount.objects.get(customer=w.customer_east).arrears == 0
    assert DisconnectionCase.objects.get(number="TD-RACE").state == DisconnectionCase.State.CANCELLED


@pytest.mark.skipif(
    not __import__("os").environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="concurrent writers need PostgreSQL",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_payment_that_waited_for_the_account_sees_the_bill_released_meanwhile(bw):
    """A channel's payment reads the open bills in the round trip that locks the account; they
    are read once the lock is granted, so a bill released while the payment waited (by the
    transaction holding the account) is paid too — not left open beside money kept as credit."""
    w = bw
    older = owing(w.customer_east, dt.date(2026, 9, 1), "100.00", dt.date(2026, 12, 15))
    locked = threading.Event()

    def release():
        with transaction.atomic():  # the account stays locked until this commits
            BillingAccount.objects.select_for_update().get(customer=w.customer_east)
            locked.set()
            time.sleep(0.8)  # the payment arrives meanwhile and waits for the account
            owing(w.customer_east, dt.date(2026, 10, 1), "60.00", dt.date(2026, 12, 20))

    def payer():
        locked.wait()
        with clock.frozen(at(2026, 12, 1, 9, 0)):
            payments.post_payment(
                account_no=w.customer_east.account_no,
                viewer=w.billing_east,
                channel="online",
                reference="WAITED",
                amount=D("160.00"),
                paid_at=at(2026, 12, 1, 9, 0),
            )

    together(release, payer)
    account = BillingAccount.objects.get(customer=w.customer_east)
    assert (account.arrears, account.credit) == (0, 0)
    paid = Payment.objects.get(reference="WAITED").allocations.order_by("id").values_list("bill_id", "amount")
    newer = Bill.objects.filter(customer=w.customer_east).exclude(pk=older.pk).get()
    assert list(paid) == [(older.pk, D("100.00")), (newer.pk, D("60.00"))]


@pytest.mark.django_db
def test_reversing_a_payment_replays_the_others_in_the_order_they_were_posted(bw):
    w = bw
    bill = owing(w.customer_east, dt.date(2026, 2, 1), "300.00", dt.date(2026, 3, 10))
    pay(w.customer_east, "100.00", at(2026, 3, 20, 9), "X", at(2026, 3, 20, 9))  # fee 3.00 first
    pay(w.customer_east, "50.00", at(2026, 3, 15, 9), "Y", at(2026, 3, 21, 9))  # dated earlier, posted later
    bill.refresh_from_db()
    before = (bill.late_fee_charged, bill.late_fee_paid, bill.paid, bill.late_fee_from)
    z = pay(w.customer_east, "10.00", at(2026, 3, 25, 9), "Z", at(2026, 3, 25, 9))
    with clock.frozen(at(2026, 3, 25, 10)):
        payments.reverse_payment(z, actor=w.billing_east, reason="录入错误")
    bill.refresh_from_db()
    assert (bill.late_fee_charged, bill.late_fee_paid, bill.paid, bill.late_fee_from) == before


@pytest.mark.django_db
def test_the_first_answer_and_the_retry_answer_are_the_same(bw, client):
    w = bw
    owing(w.customer_east, dt.date(2026, 11, 1), "72.40", dt.date(2026, 12, 17))
    body = {
        "account_no": w.customer_east.account_no,
        "channel": "online",
        "amount": "100",
        "paid_at": "2026-12-06T09:00:00+08:00",
    }
    auth = {**bearer(w.billing_east), "HTTP_IDEMPOTENCY_KEY": "WX-1"}
    with clock.frozen(at(2026, 12, 6, 9, 5)):
        first = client.post("/api/v1/payments", body, "application/json", **auth)
        again = client.post("/api/v1/payments", body, "application/json", **auth)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json() == again.json()
    assert first.json()["amount"] == "100.00"


@pytest.mark.django_db
def test_a_rule_edit_rolled_back_is_not_kept(bw):
    before = len(latefees.Rules.current().rows)
    with pytest.raises(RuntimeError), transaction.atomic():
        LateFeeRule.objects.create(
            effective_from=dt.date(2030, 1, 1),
            label="草案",
            residential_per_day=D("0.5"),
            current_year_per_day=D("0.5"),
            prior_years_per_day=D("0.5"),
        )
        assert len(latefees.Rules.current().rows) == before + 1
        raise RuntimeError("rolled back")
    assert len(latefees.Rules.current().rows) == before


@pytest.mark.django_db
def test_the_openapi_document_keeps_each_state_list_apart(client):
    """Two enums named "State" (a waiver's, a disconnection case's) would share one OpenAPI
    component, and every case answered "reconnecting" would violate the document."""
    from gridcare.billing.models import LateFeeWaiver

    doc = client.get("/api/v1/openapi.json").json()
    enums = [c.get("enum", []) for c in doc["components"]["schemas"].values()]
    assert any(set(DisconnectionCase.State.values) <= set(e) for e in enums)
    waiver_states = [
        p["schema"]
        for p in doc["paths"]["/api/v1/late-fee-waivers"]["get"]["parameters"]
        if p["name"] == "state"
    ]
    assert waiver_states and set(LateFeeWaiver.State.values) <= set(str(waiver_states[0]).split("'"))


@pytest.mark.skipif(
    not __import__("os").environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="prepared statements are PostgreSQL's",
)
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_retry_is_answered_without_a_rollback_so_the_connection_keeps_its_prepared_statements(bw):
    """A gateway's retry is common; answering it by rolling back would make psycopg deallocate
    every statement the connection prepared (its rule on a rollback), and the next payments
    would be parsed and planned anew."""
    w = bw
    owing(w.customer_east, dt.date(2026, 10, 1), "100.00", dt.date(2026, 12, 15))
    first = pay(w.customer_east, "100.00", at(2026, 12, 1, 9, 0), "RETRY-1", at(2026, 12, 1, 9, 0))

    def prepared_here() -> int:
        with connection.cursor() as cursor:
            cursor.execute("SELECT COUNT(*) FROM pg_prepared_statements")
            return cursor.fetchone()[0]

    before = prepared_here()
    with clock.frozen(at(2026, 12, 1, 9, 1)):
        again, created = payments.post_payment(
            customer=w.customer_east,
            channel="counter",
            reference="RETRY-1",
            amount=D("100.00"),
            paid_at=at(2026, 12, 1, 9, 0),
        )
    assert (created, again.receipt_no) == (False, first.receipt_no)
    assert before > 0 and prepared_here() >= before
    assert Payment.objects.filter(reference="RETRY-1").count() == 1


@pytest.mark.django_db
def test_a_channel_cannot_post_a_refund_offset(bw, client):
    """退补冲抵 is GridCare's own posting of a correcting bill's refund, never a channel's."""
    w = bw
    owing(w.customer_east, dt.date(2026, 11, 1), "72.40", dt.date(2026, 12, 17))
    body = {
        "account_no": w.customer_east.account_no,
        "channel": "offset",
        "amount": "72.40",
        "reference": "X1",
    }
    with clock.frozen(at(2026, 12, 6, 9, 5)):
        refused = client.post("/api/v1/payments", body, "application/json", **bearer(w.billing_east))
    assert (refused.status_code, refused.json()["code"]) == (422, "invalid_input")
    assert not Payment.objects.exists()
