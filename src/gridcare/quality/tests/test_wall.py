"""The command wall: opened by its secret link, counts of its unit only, no personal data, and no
staff session read or kept alive by a screen nobody watches over."""

from __future__ import annotations

import datetime as dt
import json

import pytest
from django.contrib.sessions.models import Session

from gridcare.core import clock
from gridcare.hotline.models import Call
from gridcare.quality.models import WallScreen
from gridcare.repair.models import FaultEvent

from .test_metrics import order

pytestmark = pytest.mark.django_db


def open_wall(client, unit, name="主屏"):
    screen, key = WallScreen.issue(name=name, unit=unit)
    opened = client.get(f"/quality/wall/open/{key}/")
    assert opened.status_code == 302 and opened["Location"] == "/quality/wall/"
    return screen


def test_the_wall_shows_its_units_counts_and_no_personal_data(world, client):
    w = world
    now = clock.now()
    order(w, w.east, now, "fault_repair", state="dispatched", warning_level=3, customer=w.customer_east)
    order(
        w,
        w.east,
        now,
        "complaint",
        state="in_progress",
        customer=w.customer_east,
        transformer_area=w.area_east,
    )
    order(w, w.west, now, "complaint", state="in_progress", customer=w.customer_west)
    FaultEvent.objects.create(
        number="SJ0001",
        level="feeder",
        state="dispatched",
        feeder=w.feeder_east,
        station=w.east,
        affected_count=120,
        caller_count=9,
        created_at=now - dt.timedelta(minutes=30),
        updated_at=now,
    )
    Call.objects.create(
        call_id="c1",
        caller_number=w.customer_east.phones.first().number,
        unit=w.east,
        state="answered",
        ringing_at=now,
        answered_at=now,
    )
    open_wall(client, w.east)
    page = client.get("/quality/wall/")
    assert page.status_code == 200 and "供电服务指挥大屏" in page.content.decode()
    got = client.get("/quality/wall/data/")
    data = got.json()
    assert data["unit"] == "城东供电所"
    assert (data["orders"]["open"], data["orders"]["overdue"]) == (2, 1)  # not the west station's
    assert data["calls"]["talking"] == 1 and data["calls"]["offered_today"] == 1
    assert [e["number"] for e in data["events"]] == ["SJ0001"]
    feeders = {f["name"]: f["status"] for s in data["topology"]["children"] for f in s["children"]}
    assert feeders == {"10kV东风线": "outage"}
    assert data["hot_spots"] == [{"where": "东风1号台区", "complaints": 1}]
    text = json.dumps(data, ensure_ascii=False)
    for secret in ("张建国", "13812341234", "城关镇东风路18号", "5100000001"):
        assert secret not in text


def test_a_wrong_key_no_cookie_or_a_deactivated_screen_shows_nothing(world, client):
    assert client.get("/quality/wall/open/wall_guess/").status_code == 403
    assert client.get("/quality/wall/").status_code == 403
    assert client.get("/quality/wall/data/").json()["code"] == "wall_closed"
    screen = open_wall(client, world.county)
    assert client.get("/quality/wall/data/").status_code == 200
    screen.is_active = False
    screen.save()
    assert client.get("/quality/wall/data/").status_code == 403
    client.cookies["gc_wall"] = "forged:value"
    assert client.get("/quality/wall/").status_code == 403


def test_the_wall_neither_reads_nor_extends_a_staff_session_in_the_same_browser(world, client):
    client.force_login(world.dispatcher)
    session = Session.objects.get()
    before = session.expire_date
    open_wall(client, world.county)
    with clock.frozen(clock.now() + dt.timedelta(minutes=20)):
        for _ in range(3):
            answer = client.get("/quality/wall/data/")
            assert answer.status_code == 200
            assert "sessionid" not in answer.cookies  # no session cookie set or refreshed
    assert Session.objects.get().expire_date == before
    # The wall's page shows no one's name: it is not signed in as anyone.
    assert "周调度" not in client.get("/quality/wall/").content.decode()


def test_create_wall_prints_a_link_that_opens_the_screen_once_made(world, client):
    import io

    from django.core.management import CommandError, call_command

    out = io.StringIO()
    call_command(
        "create_wall", "S01", "--name", "城东所小屏", "--base-url", "https://gc.example/", stdout=out
    )
    link = out.getvalue().strip()
    assert link.startswith("https://gc.example/quality/wall/open/wall_")
    screen = WallScreen.objects.get(name="城东所小屏")
    assert screen.unit == world.east and link.rsplit("/", 2)[-2] not in screen.key_hash  # only the hash kept
    assert client.get(link.removeprefix("https://gc.example")).status_code == 302
    with pytest.raises(CommandError):
        call_command("create_wall", "NOPE", stdout=io.StringIO())
