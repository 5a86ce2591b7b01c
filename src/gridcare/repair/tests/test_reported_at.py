"""A fault call over the API may say when the customer called (``reported_at``: IVR batches, storm
replays): the analysis counts it by that time; a time ahead of the clock or older than the analysis
window is refused and nothing is written."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from gridcare.core import clock
from gridcare.org.services import issue_token
from gridcare.repair import services
from gridcare.repair.models import FaultEvent, RepairSetting, ReportedCall, TroubleCall
from gridcare.repair.services.call_queue import REPORTED_AT_CLOCK_SKEW

pytestmark = pytest.mark.django_db

URL = "/api/v1/repair/calls"


def api(user):
    return Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(user=user)}")


def post(client, body, key=None):
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(URL, body, content_type="application/json", headers=headers)


def iso(at: dt.datetime) -> str:
    return clock.local(at).isoformat()


def test_calls_reported_earlier_count_in_the_analysis_by_the_time_the_customer_called(grid, storm_clock):
    client = api(grid.agent)
    people = grid.customers_by_area[grid.areas[0].pk]
    now = clock.now()
    times = [now - dt.timedelta(minutes=m) for m in (40, 30, 20)]
    for person, at in zip(people[:3], times, strict=True):
        r = post(client, {"content": "停电", "account_no": person.account_no, "reported_at": iso(at)})
        assert r.status_code == 202, r.content
        assert dt.datetime.fromisoformat(r.json()["reported_at"]) == at
        assert dt.datetime.fromisoformat(r.json()["received_at"]) == now
    rows = list(ReportedCall.objects.order_by("id"))
    assert [r.reported_at for r in rows] == times and {r.received_at for r in rows} == {now}

    services.run_analysis()
    calls = TroubleCall.objects.filter(order__customer__in=people[:3]).order_by("received_at")
    assert [c.received_at for c in calls] == times  # the trouble calls keep the customers' times
    event = FaultEvent.objects.get(level="area")
    assert event.first_call_at == times[0]
    # The queue's lag is measured from the arrival, not from the customer's call.
    assert all(r.processed_at == now for r in ReportedCall.objects.all())


def test_a_naive_time_is_read_as_asia_shanghai_and_a_little_clock_skew_is_taken_as_now(grid, storm_clock):
    client = api(grid.agent)
    people = grid.customers_by_area[grid.areas[1].pk]
    local_now = clock.local(clock.now())
    naive = (local_now - dt.timedelta(minutes=5)).replace(tzinfo=None)
    r = post(
        client, {"content": "停电", "account_no": people[0].account_no, "reported_at": naive.isoformat()}
    )
    assert r.status_code == 202, r.content
    assert ReportedCall.objects.get(ref=r.json()["ref"]).reported_at == local_now - dt.timedelta(minutes=5)

    ahead = clock.now() + REPORTED_AT_CLOCK_SKEW
    r = post(client, {"content": "停电", "account_no": people[1].account_no, "reported_at": iso(ahead)})
    assert r.status_code == 202, r.content
    assert ReportedCall.objects.get(ref=r.json()["ref"]).reported_at == clock.now()


@pytest.mark.parametrize(
    "when",
    [
        pytest.param(lambda now: now + REPORTED_AT_CLOCK_SKEW + dt.timedelta(seconds=1), id="future"),
        pytest.param(lambda now: now + dt.timedelta(days=1), id="tomorrow"),
        pytest.param(lambda now: now - dt.timedelta(minutes=121), id="older-than-the-window"),
    ],
)
def test_a_time_in_the_future_or_older_than_the_window_is_refused_and_nothing_written(
    grid, storm_clock, when
):
    customer = grid.customers_by_area[grid.areas[0].pk][0]
    at = when(clock.now())
    r = post(api(grid.agent), {"content": "停电", "account_no": customer.account_no, "reported_at": iso(at)})
    assert r.status_code == 422, r.content
    body = r.json()
    assert body["code"] == "invalid_reported_at" and "来电时间" in body["message"]
    assert not ReportedCall.objects.exists()


def test_the_oldest_time_allowed_is_the_analysis_window_as_configured(grid, storm_clock):
    customer = grid.customers_by_area[grid.areas[0].pk][0]
    client = api(grid.agent)
    at = clock.now() - dt.timedelta(minutes=119)
    assert (
        post(
            client, {"content": "停电", "account_no": customer.account_no, "reported_at": iso(at)}
        ).status_code
        == 202
    )
    setting = RepairSetting.current()
    setting.window_minutes = 30
    setting.save()
    other = grid.customers_by_area[grid.areas[0].pk][1]
    at = clock.now() - dt.timedelta(minutes=31)
    r = post(client, {"content": "停电", "account_no": other.account_no, "reported_at": iso(at)})
    assert r.status_code == 422 and r.json()["code"] == "invalid_reported_at" and "30" in r.json()["message"]
    assert ReportedCall.objects.count() == 1


@pytest.mark.parametrize(
    "value",
    [
        "yesterday",
        "2026-07-14 25:00",
        1784012400,
        "1784012400",
        1784012400.5,
        True,
        "",
        "2026-07-14T14:50:00+99:00",
    ],
)
def test_a_reported_at_that_is_not_an_iso_datetime_is_refused(grid, storm_clock, value):
    customer = grid.customers_by_area[grid.areas[0].pk][0]
    r = post(api(grid.agent), {"content": "停电", "account_no": customer.account_no, "reported_at": value})
    assert r.status_code == 422, r.content
    assert r.json()["code"] == "invalid_input"
    assert not ReportedCall.objects.exists()


def test_an_idempotent_repeat_keeps_the_first_reported_at_even_after_the_window(grid, storm_clock):
    client = api(grid.agent)
    customer = grid.customers_by_area[grid.areas[0].pk][0]
    at = clock.now() - dt.timedelta(minutes=10)
    body = {"content": "停电", "account_no": customer.account_no, "reported_at": iso(at)}
    first = post(client, body, key="ivr-0001")
    assert first.status_code == 202
    again = post(client, body, key="ivr-0001")
    assert again.status_code == 200 and again.json()["ref"] == first.json()["ref"]
    # The same key with another time is another request: refused, the first time kept.
    moved = {**body, "reported_at": iso(at + dt.timedelta(minutes=1))}
    r = post(client, moved, key="ivr-0001")
    assert r.status_code == 422 and r.json()["code"] == "idempotency_key_reused"
    # A retry long after (its time now older than the window) still answers the first call.
    storm_clock.advance(hours=3)
    late = post(client, body, key="ivr-0001")
    assert late.status_code == 200 and late.json()["ref"] == first.json()["ref"]
    assert dt.datetime.fromisoformat(late.json()["reported_at"]) == at
    # … but not a new call with that time.
    assert post(client, body, key="ivr-0002").json()["code"] == "invalid_reported_at"
    assert ReportedCall.objects.count() == 1 and ReportedCall.objects.get().reported_at == at


def test_the_openapi_documents_reported_at_and_its_error(client, db):
    doc = client.get("/api/v1/openapi.json").json()
    schema = doc["components"]["schemas"]["FaultCallIn"]["properties"]["reported_at"]
    assert "analysis window" in str(schema) and "invalid_reported_at" in str(schema)
    assert "| `invalid_reported_at` |" in doc["info"]["description"]
