"""Smoke tests through a real browser: what a member of staff sees and does on the staff console."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect


def no_horizontal_overflow(page) -> None:
    widths = page.evaluate(
        "() => ({doc: document.documentElement.scrollWidth, view: document.documentElement.clientWidth})"
    )
    assert widths["doc"] <= widths["view"], f"page {page.url} is wider than the window: {widths}"


def test_agent_logs_in_finds_a_customer_by_phone_and_reveals_personal_data(page, shot, world, login):
    from gridcare.core.models import AuditLog

    login("agent")
    expect(page.locator("#user-menu")).to_have_text("王座席")
    page.click("#user-menu")
    expect(page.locator(".dropdown-menu")).to_contain_text("座席员")
    expect(page.locator("main")).to_contain_text("座席员 @ 测试市供电公司")
    shot("home")

    page.get_by_role("link", name="客户查询").click()
    page.wait_for_url(re.compile(r"/customers/$"))
    # A mark on the window survives an htmx swap but not a page load.
    page.evaluate("window.gcNoReload = true")
    page.fill("#q", "138 1234 1234")
    page.press("#q", "Enter")
    results = page.locator("#customer-results")
    expect(results).to_contain_text("张建国")
    expect(results).to_contain_text("138****1234")
    expect(results).not_to_contain_text("13812341234")
    expect(results).not_to_contain_text("刘秀英")
    assert page.evaluate("window.gcNoReload") is True, "the search reloaded the page instead of swapping"
    expect(page).to_have_url(re.compile(r"q=138"))
    shot("search-results")

    results.get_by_role("link", name="5100000001").click()
    page.wait_for_url(re.compile(r"/customers/5100000001/$"))
    expect(page.locator("#customer-name")).to_have_text("张建国")
    topology = page.locator("#topology")
    for part in ("城关110kV变电站", "10kV东风线", "东风1号台区"):
        expect(topology).to_contain_text(part)
    expect(page.locator("main")).to_contain_text("138****1234")
    expect(page.locator("main")).not_to_contain_text("13812341234")
    shot("customer")

    page.evaluate("window.gcNoReload = true")
    page.click("#reveal")
    personal = page.locator("#personal-data")
    expect(personal).to_contain_text("13812341234")
    expect(personal).to_contain_text("520102198001011234")
    expect(personal).to_contain_text("城关镇东风路18号3单元")
    assert page.evaluate("window.gcNoReload") is True
    assert AuditLog.objects.filter(actor=world.agent, action=AuditLog.Action.VIEW_SENSITIVE).exists()
    shot("personal-data")
    assert page.gc_js_errors == []


def test_clerk_of_another_station_finds_nothing_and_gets_404(page, shot, world, login):
    login("clerk_west")
    page.goto("/customers/")
    page.fill("#q", "13812341234")
    page.press("#q", "Enter")
    expect(page.locator("#customer-results")).to_contain_text("在您的管辖范围内没有找到匹配的客户")
    expect(page.locator("#customer-results")).not_to_contain_text("张建国")
    shot("nothing-found")

    response = page.goto("/customers/5100000001/")
    assert response is not None and response.status == 404
    expect(page.locator("#error-page")).to_contain_text("页面不存在")
    expect(page.locator("body")).not_to_contain_text("张建国")
    shot("not-found")

    # Their own customer is there.
    response = page.goto("/customers/5100000002/")
    assert response is not None and response.status == 200
    expect(page.locator("#customer-name")).to_have_text("刘秀英")


def test_wrong_password_is_refused_in_chinese_and_the_account_locks(page, shot, world, settings):
    settings.GRIDCARE_LOGIN_MAX_FAILURES = 3
    page.goto("/")
    page.wait_for_url(re.compile(r"/login/"))
    shot("login")
    for _attempt in range(2):
        page.fill("#id_username", "agent")
        page.fill("#id_password", "not-the-password")
        page.click("button[type=submit]")
        expect(page.locator("#login-error")).to_have_text("用户名或密码错误。")
    shot("wrong-password")

    page.fill("#id_username", "agent")
    page.fill("#id_password", "not-the-password")
    page.click("button[type=submit]")
    expect(page.locator("#login-error")).to_contain_text("账号已锁定")

    # Locked: even the right password is refused now.
    page.fill("#id_username", "agent")
    page.fill("#id_password", world.password)
    page.click("button[type=submit]")
    expect(page.locator("#login-error")).to_contain_text("账号已锁定")
    expect(page).to_have_url(re.compile(r"/login/"))
    shot("locked")
    world.agent.refresh_from_db()
    assert world.agent.locked_until is not None


def test_unit_switcher_narrows_what_is_visible(page, shot, world, login):
    from gridcare.org.models import Role
    from gridcare.org.services import create_staff

    create_staff(
        username="clerk_both",
        password=world.password,
        full_name="陈两所",
        roles=[(Role.BUSINESS_CLERK, world.east), (Role.BUSINESS_CLERK, world.west)],
    )
    login("clerk_both")
    expect(page.locator("main")).to_contain_text("城东供电所、城西供电所")
    page.goto("/customers/?q=13987654321")
    expect(page.locator("#customer-results")).to_contain_text("刘秀英")
    shot("all-units")

    switcher = page.locator("#unit-switcher select")
    with page.expect_navigation():
        switcher.select_option(label="城东供电所 · 业务受理员")
    expect(switcher.locator("option:checked")).to_have_text("城东供电所 · 业务受理员")
    expect(page.locator("#customer-results")).to_contain_text("在您的管辖范围内没有找到匹配的客户")
    shot("east-only")
    assert page.goto("/customers/5100000002/").status == 404
    page.goto("/customers/?q=13812341234")
    expect(page.locator("#customer-results")).to_contain_text("张建国")
    page.goto("/")
    expect(page.locator(".card-footer")).to_have_text(re.compile(r"当前可见范围：\s*城东供电所$"))

    with page.expect_navigation():
        page.locator("#unit-switcher select").select_option(value="")
    expect(page.locator("main")).to_contain_text("城东供电所、城西供电所")


def test_switch_to_english_in_the_user_menu_then_log_out(page, shot, world, login):
    login("agent")
    expect(page.get_by_role("link", name="客户查询")).to_be_visible()
    page.click("#user-menu")
    with page.expect_navigation():
        page.locator(".dropdown-menu select[name=language]").select_option("en")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_role("link", name="Customer search")).to_be_visible()
    expect(page.locator("main")).to_contain_text("My positions")
    expect(page.locator("main")).to_contain_text("Hotline agent @ 测试市供电公司")
    shot("home-english")

    page.goto("/customers/5100000001/")
    expect(page.locator("main")).to_contain_text("Grid topology")
    no_horizontal_overflow(page)
    shot("customer-english")

    page.click("#user-menu")
    page.click("#logout")
    page.wait_for_url(re.compile(r"/login/"))
    expect(page.locator("button[type=submit]")).to_have_text("Log in")
    shot("logged-out")
    assert page.goto("/customers/").url.split("?")[0].endswith("/login/")


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_pages_fit_a_1366x768_screen(page, shot, world, login, use_language, language):
    use_language(language)
    page.goto("/login/")
    expect(page.locator("html")).to_have_attribute("lang", language)
    no_horizontal_overflow(page)
    shot("login")
    login("agent")
    for path, label in [
        ("/", "home"),
        ("/customers/?q=5100000001", "search"),
        ("/customers/5100000002/", "customer"),
        ("/password/", "password-change"),
        ("/customers/0000000000/", "not-found"),
    ]:
        page.goto(path)
        no_horizontal_overflow(page)
        shot(label)
    # Every page of the main menu, whatever the menu holds by now.
    menu = page.locator("#gc-nav .navbar-nav .nav-link")
    for i, href in enumerate(menu.evaluate_all("links => links.map(a => a.getAttribute('href'))")):
        page.goto(href)
        no_horizontal_overflow(page)
        shot(f"menu-{i + 1}")
    page.goto("/customers/5100000001/")
    page.click("#reveal")
    expect(page.locator("#personal-data")).to_be_visible()
    no_horizontal_overflow(page)
    page.click("#user-menu")
    expect(page.locator("#logout")).to_be_visible()
    no_horizontal_overflow(page)
    shot("user-menu", full_page=False)
    assert page.gc_js_errors == []


def test_a_refused_action_shows_its_reason_in_the_form(page, shot, world, login):
    """The service refuses (a note is required, or the order changed meanwhile): the form stays
    open and says why — htmx must swap 4xx answers of our forms, not drop them."""
    from gridcare.workorders import services

    order, _ = services.create_work_order(
        actor=world.agent,
        intake=services.Intake(
            order_type="complaint",
            channel="hotline",
            content="态度差",
            customer=world.customer_east,
            complaint_class="service",
        ),
    )
    login("agent")
    page.goto(f"/workorders/{order.number}/")
    page.locator('[data-action="cancel"]').click()
    page.locator("#action-form button[type=submit]").click()
    expect(page.locator("#action-error")).to_contain_text("须填写说明")
    shot("note-required")
    services.perform(order=order, action="urge", actor=world.agent)  # someone else acts meanwhile
    page.fill("#action-form textarea[name=note]", "重复受理")
    page.locator("#action-form button[type=submit]").click()
    expect(page.locator("#action-error")).to_contain_text("已被他人更新")
    shot("changed-meanwhile")
