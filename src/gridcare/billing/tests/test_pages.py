"""Billing pages: the agent's card slot, the bill and its PDF, the clerks' run review."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import pytest

from gridcare.billing import runs
from gridcare.billing.models import Anomaly, Bill, BillingRun
from gridcare.core import clock

from .conftest import at
from .test_answers import summer_household

D = Decimal


def released(w):
    summer_household(w)
    with clock.frozen(at(2026, 9, 1, 9, 0)):
        run = runs.calculate_month(actor=w.billing_county, unit=w.county, period=dt.date(2026, 8, 1))
        runs.accept_all(actor=w.billing_county, run=run, note="ok")
        runs.release(actor=w.billing_county, run=run)
    return Bill.objects.get(customer=w.customer_east, period=dt.date(2026, 8, 1))


@pytest.mark.django_db
def test_the_agents_card_shows_the_bills_and_answers_why_high(bw, client):
    w = bw
    bill = released(w)
    client.force_login(w.agent)
    card = client.get(f"/billing/customer/{w.customer_east.account_no}/")
    text = card.content.decode()
    assert card.status_code == 200 and "351.56" in text and "电费为什么高" in text
    why = client.get(f"/billing/bills/{bill.number}/explanation/").content.decode()
    assert "比上期多220.00千瓦时" in why and "距下一档还有 1680.00 千瓦时" in why
    page = client.get(f"/billing/bills/{bill.number}/").content.decode()
    assert "浙江居民年阶梯" in page and "2026-09-16" in page and "张*国" in page
    client.force_login(w.clerk_west)
    assert client.get(f"/billing/bills/{bill.number}/").status_code == 404
    assert client.get(f"/billing/customer/{w.customer_east.account_no}/").status_code == 404


@pytest.mark.django_db
def test_the_printed_bill_is_a_pdf_with_the_amount_and_the_account(bw, client):
    from pypdf import PdfReader

    w = bw
    bill = released(w)
    client.force_login(w.agent)
    answer = client.get(f"/billing/bills/{bill.number}/pdf/")
    assert answer.status_code == 200 and answer["Content-Type"] == "application/pdf"
    content = b"".join(answer.streaming_content) if answer.streaming else answer.content
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(content)).pages)
    assert "351.56" in text and w.customer_east.account_no in text and bill.number in text


@pytest.mark.django_db
def test_a_clerk_reviews_and_releases_a_run_on_the_page(bw, client):
    w = bw
    summer_household(w)
    client.force_login(w.billing_county)
    with clock.frozen(at(2026, 9, 1, 9, 0)):
        # A unit that is not a number, or not the clerk's, is asked for again (never a 500).
        for unit in ("abc", "99999999999999999999", w.county2.pk):
            wrong = client.post("/billing/runs/", {"unit": unit, "period": "2026-08"}, follow=True)
            assert "请选择您管辖范围内的单位" in wrong.content.decode(), unit
        assert not BillingRun.objects.exists()
        made = client.post("/billing/runs/", {"unit": w.county.pk, "period": "2026-08"})
        run = BillingRun.objects.get()
        assert made.status_code == 302 and made["Location"] == f"/billing/runs/{run.pk}/"
        early = client.post(f"/billing/runs/{run.pk}/release/", follow=True)
        assert "条核算异常未审核，不能发行" in early.content.decode()
        for anomaly in Anomaly.objects.filter(run=run):
            client.post(
                f"/billing/runs/{run.pk}/anomalies/{anomaly.pk}/review/",
                {"decision": "accept", "note": "已核实"},
            )
        done = client.post(f"/billing/runs/{run.pk}/release/", follow=True)
    assert "电费已发行" in done.content.decode()
    run.refresh_from_db()
    assert run.state == "released"
    client.force_login(w.billing_west)
    assert client.get(f"/billing/runs/{run.pk}/").status_code == 404
