"""Answers while the customer is on the line: the money position and "why is my bill high", and the
calculation runs over the API."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from gridcare.billing import runs
from gridcare.billing.models import Bill, BillingAccount, BillState, PaymentPoint
from gridcare.core import clock
from gridcare.org.models import Role
from gridcare.org.services import create_staff

from .conftest import at, bearer, past_bill, read

D = Decimal


def summer_household(w):
    """East: a household whose August bill climbs into band 2 after a 28-day July; last August
    it used about the same."""
    past_bill(w.customer_east, dt.date(2025, 8, 1), dt.date(2025, 7, 26), dt.date(2025, 8, 25), 610, "328.18")
    past_bill(
        w.customer_east, dt.date(2026, 6, 1), dt.date(2026, 5, 26), dt.date(2026, 6, 25), 2100, "1129.80"
    )
    past_bill(
        w.customer_east,
        dt.date(2026, 7, 1),
        dt.date(2026, 6, 26),
        dt.date(2026, 7, 23),
        400,
        "215.20",
        year_kwh_before=D(2100),
    )
    read(w.meter_east, dt.date(2026, 7, 23), "5000")
    read(w.meter_east, dt.date(2026, 8, 25), "5620")  # 620 kWh over 33 days
    read(w.meter_west, dt.date(2026, 7, 23), "100")
    read(w.meter_west, dt.date(2026, 8, 25), "160")
    past_bill(w.customer_west, dt.date(2026, 7, 1), dt.date(2026, 6, 26), dt.date(2026, 7, 23), 55, "29.59")


@pytest.mark.django_db
def test_why_is_my_bill_high_names_the_usage_the_days_and_the_tier(bw, client):
    w = bw
    summer_household(w)
    with clock.frozen(at(2026, 9, 1, 9, 0)):
        run = runs.calculate_month(actor=w.billing_county, unit=w.county, period=dt.date(2026, 8, 1))
        for anomaly in run.anomaly_set.all():
            runs.review(actor=w.billing_county, anomaly=anomaly, accept=True)
        runs.release(actor=w.billing_county, run=run)
    bill = Bill.objects.get(customer=w.customer_east, period=dt.date(2026, 8, 1))
    # 2,500 kWh this year before; 620 now: 260 in band 1 (to 2,760) = 139.88, 360 in band 2 =
    # 211.68; 351.56 in all.
    assert bill.amount == D("351.56")
    answer = client.get(f"/api/v1/billing/bills/{bill.number}/explanation", **bearer(w.agent)).json()
    assert answer["kwh_change"] == "220.00" and answer["kwh_change_percent"] == "55"
    assert answer["days"] == 33 and answer["daily_kwh"] == "18.8"
    codes = [r["code"] for r in answer["reasons"]]
    # Costliest first: 220 kWh more at July's average (215.20 / 400 = 0.538) = 118.36; 360 kWh
    # in band 2 at +0.05 = 18.00.
    assert codes[:2] == ["usage", "tier"]
    assert answer["reasons"][0]["yuan"] == "118.36" and answer["reasons"][1]["yuan"] == "18.00"
    assert "days" in codes and "last_year" in codes
    assert "本期计费33天，上期28天" in next(r["text"] for r in answer["reasons"] if r["code"] == "days")
    assert "与去年同期基本持平" in next(r["text"] for r in answer["reasons"] if r["code"] == "last_year")
    tier = answer["tier"]
    assert (tier["basis"], tier["tier"], tier["position_kwh"], tier["kwh_left_in_tier"]) == (
        "annual",
        2,
        "3120.00",
        "1680.00",  # 4,800 − 3,120 before band 3
    )
    assert tier["next_price"] == "0.838"


@pytest.mark.django_db
def test_the_money_position_shows_arrears_open_bills_and_the_nearest_payment_points(bw, client):
    w = bw
    past_bill(
        w.customer_east,
        dt.date(2026, 10, 1),
        dt.date(2026, 9, 26),
        dt.date(2026, 10, 25),
        300,
        "161.40",
        state=BillState.OPEN,
    )
    BillingAccount.objects.filter(customer=w.customer_east).update(arrears=D("161.40"))
    PaymentPoint.objects.create(
        name="城东营业厅", kind="hall", unit=w.east, address="东风路1号", hours="8:30-17:30"
    )
    PaymentPoint.objects.create(name="县邮政局代收点", kind="post", unit=w.county, address="人民路2号")
    PaymentPoint.objects.create(name="城西营业厅", kind="hall", unit=w.west, address="西湖路3号")
    answer = client.get(f"/api/v1/billing/customers/{w.customer_east.account_no}", **bearer(w.agent)).json()
    assert (answer["arrears"], answer["credit"], answer["balance"]) == ("161.40", "0.00", "-161.40")
    assert [b["period"] for b in answer["open_bills"]] == ["2026-10"]
    assert [p["name"] for p in answer["payment_points"]] == ["城东营业厅", "县邮政局代收点"]
    assert answer["name"] == "张*国"  # masked
    # Out of scope: a clerk of the west station does not see an east customer.
    assert (
        client.get(
            f"/api/v1/billing/customers/{w.customer_east.account_no}", **bearer(w.clerk_west)
        ).status_code
        == 404
    )


@pytest.mark.django_db
def test_a_run_over_the_api_calculate_review_release(bw, client):
    w = bw
    summer_household(w)
    auth = bearer(w.billing_county)
    with clock.frozen(at(2026, 9, 1, 9, 0)):
        bad = client.post(
            "/api/v1/billing-runs", {"unit": w.county.code, "period": "2026-13"}, "application/json", **auth
        )
        assert bad.status_code == 422
        outsider = create_staff(
            username="billing_mountain",
            password=w.password,
            full_name="山核算",
            roles=[(Role.BILLING_CLERK, w.mountain)],
        )
        refused = client.post(
            "/api/v1/billing-runs",
            {"unit": w.county.code, "period": "2026-08"},
            "application/json",
            **bearer(outsider),
        )
        assert (refused.status_code, refused.json()["code"]) == (422, "invalid_unit")
        made = client.post(
            "/api/v1/billing-runs", {"unit": w.county.code, "period": "2026-08"}, "application/json", **auth
        )
        assert made.status_code == 201, made.content
        run = made.json()
        assert run["bills"] == 2 and run["state"] == "calculated"
        early = client.post(f"/api/v1/billing-runs/{run['id']}/release", **auth)
        assert (early.status_code, early.json()["code"]) == (409, "anomalies_open")
        for anomaly in run["open_anomalies"]:
            done = client.post(
                f"/api/v1/billing-runs/{run['id']}/anomalies/{anomaly['id']}/review",
                {"decision": "accept", "note": "已核实"},
                "application/json",
                **auth,
            )
            assert done.status_code == 200 and done.json()["state"] == "accepted"
        released = client.post(f"/api/v1/billing-runs/{run['id']}/release", **auth)
        assert released.status_code == 200 and released.json()["state"] == "released"
    bill = Bill.objects.get(customer=w.customer_east, period=dt.date(2026, 8, 1))
    shown = client.get(f"/api/v1/billing/bills/{bill.number}", **bearer(w.agent)).json()
    assert (
        shown["amount"] == "351.56"
        and [ln["tariff_version"] for ln in shown["lines"]] == ["浙江居民年阶梯"] * 2
    )
    assert client.get("/api/v1/billing/bills/NOPE", **bearer(w.agent)).status_code == 404
