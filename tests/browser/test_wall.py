"""The command wall at 1920×1080 (issue 17): opened by its link, it fills itself and keeps
refreshing with no one at the keyboard."""

from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect

from gridcare.core import clock
from gridcare.customers.models import Feeder
from gridcare.quality.models import WallScreen
from gridcare.repair.models import Crew, FaultEvent
from gridcare.workorders.models import WorkOrder


def test_the_wall_fills_and_refreshes_at_1920x1080(page, shot, world):
    w = world
    now = clock.now()
    for i in range(6):
        Feeder.objects.create(name=f"10kV城东{i + 2}线", code=f"F1{i}", substation=w.substation, unit=w.east)
        Feeder.objects.create(name=f"10kV城西{i + 2}线", code=f"F2{i}", substation=w.substation, unit=w.west)
    FaultEvent.objects.create(
        number="SJ20260001",
        level="feeder",
        state="dispatched",
        feeder=w.feeder_east,
        station=w.east,
        affected_count=1260,
        caller_count=41,
        created_at=now - dt.timedelta(minutes=35),
        updated_at=now,
    )
    FaultEvent.objects.create(
        number="SJ20260002",
        level="area",
        state="waiting",
        feeder=w.feeder_west,
        transformer_area=w.area_west,
        station=w.west,
        affected_count=86,
        caller_count=5,
        created_at=now - dt.timedelta(minutes=8),
        updated_at=now,
    )
    Crew.objects.create(
        name="城东抢修一班", code="C1", station=w.east, team_unit=w.east_crew, status="dispatched"
    )
    Crew.objects.create(
        name="城西抢修一班", code="C2", station=w.west, team_unit=w.east_crew, status="on_duty"
    )
    for i, (kind, level) in enumerate(
        [("fault_repair", 0), ("complaint", 3), ("consultation", 1), ("fault_repair", 0)]
    ):
        WorkOrder.objects.create(
            number=f"W{i}",
            order_type=kind,
            channel="hotline",
            state="dispatched",
            accepted_unit=w.city,
            assigned_unit=w.east,
            warning_level=level,
            created_at=now,
            updated_at=now,
        )
    _screen, key = WallScreen.issue(name="指挥中心主屏", unit=w.county)

    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"/quality/wall/open/{key}/")
    expect(page.locator("#w-events")).to_contain_text("SJ20260001")
    expect(page.locator("#w-orders-total")).to_contain_text("4")
    page.wait_for_function("document.querySelector('#w-topology canvas') !== null")
    first = page.locator("body").get_attribute("data-loaded")
    shot("wall-1920x1080", full_page=False)
    WorkOrder.objects.create(
        number="W9",
        order_type="complaint",
        channel="hotline",
        state="accepted",
        accepted_unit=w.city,
        assigned_unit=w.west,
        created_at=now,
        updated_at=now,
    )
    expect(page.locator("#w-orders-total")).to_contain_text("5", timeout=12_000)  # no reload, no click
    assert page.locator("body").get_attribute("data-loaded") is not None and first is not None
    assert page.gc_js_errors == []
