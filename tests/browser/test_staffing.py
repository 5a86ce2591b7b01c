"""排班测算 through a real browser: a manager opens it from the menu, the table and the ECharts
bar chart come up (no inline script, no CSP violation), a storm scenario is worked out by htmx
without reloading the page."""

from __future__ import annotations

import datetime as dt

from playwright.sync_api import expect


def test_manager_plans_tomorrow_and_a_storm(page, shot, world, login):
    from gridcare.core import clock
    from gridcare.quality.tests.staffing_history import add_planners, calls

    add_planners(world)
    tomorrow = clock.today() + dt.timedelta(days=1)
    for weeks in range(1, 9):
        calls(world.east, tomorrow - dt.timedelta(days=7 * weeks), 9, 5, 100, talk=180)

    login("county_manager")
    page.get_by_role("link", name="排班测算").click()
    table = page.locator("#staffing-table")
    expect(table).to_be_visible()
    nine = table.locator("tbody tr").nth(18)
    expect(nine).to_contain_text("09:00–09:30")
    expect(nine.locator("td").nth(4)).to_have_text("14")  # 100 calls of 180 s: the reference's 14
    expect(page.locator("#staffing-chart canvas")).to_have_count(1)
    shot("staffing")

    page.evaluate("window.staffingMark = true")
    page.fill("#sf-storm", "3")
    page.click("#staffing-form button[type=submit]")
    expect(page.locator("#staffing-storm")).to_be_visible()
    expect(nine.locator("td").nth(1)).to_have_text("300.0")
    assert page.evaluate("window.staffingMark") is True  # swapped by htmx, not reloaded
    expect(page.locator("#staffing-chart canvas")).to_have_count(1)
    shot("storm")
    assert page.gc_js_errors == []
