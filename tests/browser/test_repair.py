"""The dispatcher's flow through a real browser: board → event → confirm and dispatch → the crew
member reports arrival and restoration on the mobile page → the board is clear."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from gridcare.repair.tests.conftest import grid  # noqa: F401 — the feeder with customers and crews


def logout(page) -> None:
    page.click("#user-menu")
    page.click("#logout")


def test_dispatcher_confirms_and_dispatches_and_the_crew_restores(page, shot, grid, login):  # noqa: F811
    from gridcare.repair.models import FaultEvent
    from gridcare.repair.services import report_fault_call, run_analysis
    from gridcare.workorders.models import State, WorkOrder

    area = grid.areas[0]
    for c in grid.customers_by_area[area.pk][:3]:
        report_fault_call(actor=grid.agent, content="家里停电了", customer=c)
    run_analysis()
    event = FaultEvent.objects.get()

    login("dispatcher")
    page.locator("#gc-nav").get_by_role("link", name="抢修指挥").click()
    page.wait_for_url(re.compile(r"/repair/$"))
    board = page.locator("#event-board")
    expect(board).to_contain_text(event.number)
    expect(board).to_contain_text(area.name)
    expect(page.locator("#board")).to_have_attribute("hx-trigger", "every 10s")
    shot("board")

    page.get_by_role("link", name=event.number).click()
    expect(page.locator("#topology-tree")).to_contain_text(area.name)
    expect(page.locator("#event-calls tbody tr")).to_have_count(3)
    page.click("#confirm-event")
    expect(page.locator("#event-title")).to_contain_text("已确认")
    page.select_option("#dispatch-crew", grid.crew_one.code)
    page.check("#replace-crew")
    page.click("#dispatch-button")
    expect(page.locator("#event-crew")).to_contain_text(grid.crew_one.name)
    shot("event-dispatched")
    logout(page)

    login("crew")
    page.locator("#gc-nav").get_by_role("link", name="我的抢修任务").click()
    job = page.locator(f"#job-{event.number}")
    expect(job).to_contain_text(area.name)
    job.locator(".arrive-button").click()
    expect(page.locator(f"#job-{event.number}")).to_contain_text("已到达现场")
    page.locator(f"#job-{event.number} textarea[name=result]").fill("更换低压熔断器，已恢复送电")
    shot("crew-on-site")
    page.locator(f"#job-{event.number} .restore-button").click()
    expect(page.locator("main")).to_contain_text("目前没有派给您队伍的抢修任务")
    logout(page)

    event.refresh_from_db()
    assert event.state == FaultEvent.State.RESTORED
    assert set(WorkOrder.objects.filter(trouble_call__event=event).values_list("state", flat=True)) == {
        State.REVIEWED
    }
    login("dispatcher")
    page.goto("/repair/")
    expect(page.locator("#event-board")).to_contain_text("当前没有未恢复的停电事件")
    assert not page.gc_js_errors
