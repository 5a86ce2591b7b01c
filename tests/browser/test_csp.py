"""Issue #14 item 21: the key pages run under the Content-Security-Policy (no inline script, no
eval) without a single violation, and their interactive parts (htmx, the page scripts) still work."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from playwright.sync_api import expect

from gridcare.core import clock

from .test_hotline import hotline_world  # noqa: F401 — an outage event, a complaint, the knowledge seed

WATCH_VIOLATIONS = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " " + (e.blockedURI || "inline") + " " + (e.sourceFile || "") + ":" + e.lineNumber);
});
"""


@pytest.fixture
def watched(page):
    """The page, recording every CSP violation (DOM event and console message)."""
    console: list[str] = []
    page.on(
        "console",
        lambda msg: console.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.context.add_init_script(WATCH_VIOLATIONS)
    page.gc_csp_console = console
    return page


def assert_no_violation(page) -> None:
    events = page.evaluate("window.__csp || []")
    assert events == [], f"CSP violations on {page.url}: {events}"
    assert page.gc_csp_console == [], f"CSP messages on {page.url}: {page.gc_csp_console}"
    assert page.gc_js_errors == []


def test_key_pages_work_under_the_policy(watched, shot, login, hotline_world):  # noqa: F811
    from gridcare.outages import services as outages

    page = watched
    w = hotline_world
    start = clock.now() + dt.timedelta(days=3)
    outage, _ = outages.create_outage(
        kind="planned",
        reason="10kV东风线检修",
        actor=w.dispatcher,
        planned_start=start,
        planned_end=start + dt.timedelta(hours=6),
        transformer_areas=[w.area_east],
    )

    # The agent workspace: the call strip polls with its token (data-send, no js: values), the
    # customer search swaps in results, picking a customer re-targets the intake form.
    login("agent")
    with page.expect_request(re.compile(r"/hotline/pop/\?.*v=")):
        page.goto("/hotline/")
    response = page.context.request.get("/hotline/")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    page.fill("#ws-search", "13812341234")
    page.press("#ws-search", "Enter")
    expect(page.locator("#search-results")).to_contain_text("张建国")
    page.locator("#search-results a").first.click()
    expect(page.locator("#customer-card")).to_have_attribute("data-account", w.customer_east.account_no)
    with page.expect_request(re.compile(rf"/hotline/intake/\?.*account_no={w.customer_east.account_no}")):
        page.select_option("#ws-order-type", "complaint")
    page.keyboard.press("Escape")
    shot("workspace")
    assert_no_violation(page)

    # The work order page: an action form loads into the panel; 取消 (data-clear) empties it.
    page.goto(f"/workorders/{w.complaint.number}/")
    actions = page.locator("button[data-action]")
    if actions.count():
        actions.first.click()
        expect(page.locator("#action-panel form")).to_be_visible()
        page.locator("#action-panel [data-clear]").click()
        expect(page.locator("#action-panel")).to_be_empty()
    shot("work-order")
    assert_no_violation(page)

    # Knowledge search swaps results in place.
    page.goto("/knowledge/")
    page.evaluate("window.gcNoReload = true")
    page.fill("#q", "电价")
    page.press("#q", "Enter")
    expect(page.locator("#kb-results")).to_contain_text("电价")
    assert page.evaluate("window.gcNoReload") is True
    shot("knowledge")
    assert_no_violation(page)
    page.context.clear_cookies()

    # The repair board polls; a row (data-href) opens the event; the reassign select fills the
    # hidden fields (data-split-target); the outage page loads.
    login("dispatcher")
    page.goto("/repair/")
    expect(page.locator("#event-board")).to_contain_text(w.event.number)
    with page.expect_response(re.compile(r"/repair/"), timeout=15_000):
        pass  # the 10 s poll
    page.locator(f"#event-board tr[data-href] >> text={w.event.number}").first.click(
        position={"x": 2, "y": 2}
    )
    page.wait_for_url(re.compile(rf"/repair/.*{w.event.number}"))
    target = page.locator("#reassign-target")
    options = target.locator("option[value^='area:']")
    if options.count():
        value = options.first.get_attribute("value")
        target.select_option(value)
        form = target.locator("xpath=ancestor::form")
        expect(form.locator("input[name=level]")).to_have_value("area")
        expect(form.locator("input[name=transformer_area]")).to_have_value(value.split(":", 1)[1])
    shot("event")
    assert_no_violation(page)

    page.goto(f"/outages/{outage.number}/")
    expect(page.locator("main")).to_contain_text(outage.number)
    shot("outage")
    assert_no_violation(page)


def test_the_admin_and_the_api_docs_run_under_the_policy(watched, shot, login, world):
    from gridcare.org.models import Role, RoleAssignment

    page = watched
    admin = world.agent.__class__.objects.create_superuser("sysadmin", "s@example.com", world.password)
    RoleAssignment.objects.create(user=admin, role=Role.ADMIN, unit=world.province)
    login("sysadmin")
    page.goto(f"/admin/customers/customer/{world.customer_east.pk}/change/")
    expect(page.locator("#content")).to_contain_text("520102********1234")
    expect(page.locator("#content")).not_to_contain_text("520102198001011234")
    page.click("#reveal-personal-data")
    expect(page.locator("#id_id_number")).to_have_value("520102198001011234")
    shot("admin-revealed")
    assert_no_violation(page)

    page.goto("/api/v1/docs")
    expect(page.locator("#swagger-ui")).to_contain_text("GridCare API", timeout=15_000)
    shot("api-docs")
    assert_no_violation(page)
