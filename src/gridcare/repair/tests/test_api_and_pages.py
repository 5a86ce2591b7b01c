"""The repair API and pages: scoped like the rest, same verbs as the services."""

from __future__ import annotations

import pytest
from django.test import Client

from gridcare.org.services import issue_token
from gridcare.repair import services
from gridcare.repair.models import FaultEvent

from .helpers import call

pytestmark = pytest.mark.django_db


def api(user):
    return Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(user=user)}")


def test_fault_calls_over_the_api_roll_up_and_later_callers_hear_the_event(grid, storm_clock):
    client = api(grid.agent)
    people = grid.customers_by_area[grid.areas[0].pk]
    for c in people[:3]:
        r = client.post(
            "/api/v1/repair/calls",
            {"content": "停电", "account_no": c.account_no},
            content_type="application/json",
            headers={"Idempotency-Key": f"k-{c.pk}"},
        )
        assert r.status_code == 202, r.content
        assert r.json()["state"] == "queued" and r.json()["order_number"] is None
    again = client.post(
        "/api/v1/repair/calls",
        {"content": "停电", "account_no": people[0].account_no},
        content_type="application/json",
        headers={"Idempotency-Key": f"k-{people[0].pk}"},
    )
    assert again.status_code == 200 and not again.json()["repeated"]  # the same key: no urging

    services.run_analysis()  # processes the queued calls, then rolls them up
    late = client.post(
        "/api/v1/repair/calls",
        {"content": "停电", "account_no": people[3].account_no},
        content_type="application/json",
    ).json()
    assert late["event"]["level"] == "area"
    assert "已掌握" in late["answer"]
    services.run_analysis()
    status = client.get(late["status_url"]).json()
    assert status["state"] == "done" and status["event"]["number"] == late["event"]["number"]

    dispatcher = api(grid.dispatcher)
    board = dispatcher.get("/api/v1/repair/events").json()
    assert board["count"] == 1
    number = board["items"][0]["number"]
    assert board["items"][0]["call_count"] == 4
    customers = dispatcher.get(f"/api/v1/repair/events/{number}/customers").json()
    assert customers["count"] == 5 and customers["items"][0]["is_key"]
    calls = dispatcher.get(f"/api/v1/repair/events/{number}/calls").json()
    assert calls["count"] == 4
    assert calls["items"][0]["order_number"] and calls["items"][0]["customer_name_masked"]
    # A page of a feeder's thousands: the query is paged, the count is still the whole.
    page = dispatcher.get(f"/api/v1/repair/events/{number}/customers?limit=2&offset=1").json()
    assert page["count"] == 5 and [c["account_no"] for c in page["items"]] == [
        c["account_no"] for c in customers["items"][1:3]
    ]
    assert all(c["name_masked"] and c["transformer_area_code"] for c in page["items"])

    r = dispatcher.post(
        f"/api/v1/repair/events/{number}/actions/dispatch",
        {"crew": grid.crew_one.code, "replace": True},
        content_type="application/json",
    )
    assert r.status_code == 200 and r.json()["crew_code"] == grid.crew_one.code
    crew = api(grid.crew)
    assert (
        crew.post(
            f"/api/v1/repair/events/{number}/actions/arrive", {}, content_type="application/json"
        ).json()["state"]
        == "on_site"
    )
    r = crew.post(
        f"/api/v1/repair/events/{number}/actions/restore",
        {"result": "已更换熔断器"},
        content_type="application/json",
    )
    assert r.json()["state"] == "restored"


def test_outsiders_and_other_counties_do_not_see_events(grid, storm_clock):
    from gridcare.org.models import Role
    from gridcare.org.services import create_staff

    for c in grid.customers_by_area[grid.areas[0].pk][:3]:
        call(grid, c)
    services.run_analysis()
    number = FaultEvent.objects.get().number
    mountain = create_staff(
        username="d2", password=grid.password, full_name="山区调度", roles=[(Role.DISPATCHER, grid.county2)]
    )
    assert api(mountain).get(f"/api/v1/repair/events/{number}").status_code == 404
    assert api(mountain).get("/api/v1/repair/events").json()["count"] == 0
    assert api(grid.outsider).get(f"/api/v1/repair/events/{number}").status_code == 404
    r = api(grid.agent).post(
        f"/api/v1/repair/events/{number}/actions/confirm", {}, content_type="application/json"
    )
    assert r.status_code == 403 and r.json()["code"] == "forbidden_role"


def test_crew_list_and_duty(grid):
    client = api(grid.dispatcher)
    crews = client.get("/api/v1/repair/crews").json()
    assert {c["code"] for c in crews} >= {"S01C1", "S01C2", "S02C1"}
    r = client.post("/api/v1/repair/crews/S01C2/duty", {"on_duty": False}, content_type="application/json")
    assert r.json()["status"] == "off"
    # A yes/no is true or false: 0, 1 or "yes" are refused (found by schemathesis), nothing changes.
    for wrong in (1, "yes", "true"):
        r = client.post(
            "/api/v1/repair/crews/S01C2/duty", {"on_duty": wrong}, content_type="application/json"
        )
        assert r.status_code == 422, wrong
    assert (
        client.get("/api/v1/repair/crews").json()[[c["code"] for c in crews].index("S01C2")]["status"]
        == "off"
    )


def test_board_event_and_crew_pages_render(grid, storm_clock):
    for c in grid.customers_by_area[grid.areas[0].pk][:3]:
        call(grid, c)
    services.run_analysis()
    event = FaultEvent.objects.get()
    client = Client()
    client.force_login(grid.dispatcher)
    page = client.get("/repair/")
    assert page.status_code == 200
    assert 'hx-trigger="every 10s"' in page.content.decode()
    assert event.number in page.content.decode()
    partial = client.get("/repair/", headers={"HX-Request": "true"})
    assert "<html" not in partial.content.decode() and event.number in partial.content.decode()
    detail = client.get(f"/repair/events/{event.number}/").content.decode()
    assert "topology-tree" in detail and grid.areas[0].name in detail
    assert client.get("/repair/crews/").status_code == 200
    r = client.post(f"/repair/events/{event.number}/act/confirm/")
    assert r.status_code == 302
    event.refresh_from_db()
    assert event.confirmed_by == grid.dispatcher

    crew_client = Client()
    crew_client.force_login(grid.crew)
    services.dispatch_to_crew(event=event, crew=grid.crew_one, actor=grid.dispatcher, replace=True)
    mine = crew_client.get("/repair/my/").content.decode()
    assert event.number in mine and "到达现场" in mine
    crew_client.post(f"/repair/events/{event.number}/act/arrive/", {"next": "my"})
    event.refresh_from_db()
    assert event.state == FaultEvent.State.ON_SITE


def test_setup_crews_builds_the_network_from_repair_teams(grid):
    from gridcare.repair.models import Crew
    from gridcare.repair.setup import setup_crews

    Crew.objects.all().delete()
    assert setup_crews() == 6  # two stations with a 抢修班, three levels each
    assert setup_crews() == 0
    team = Crew.objects.get(code="S01T1C1")
    assert list(team.members.all()) == [grid.crew]
