"""Issue #14 in a real browser: the workspace's polling is marked as polling (it must not keep an
idle session alive, item 15), and an administrator enrols a TOTP authenticator from a QR code
made on the server (item 17)."""

from __future__ import annotations

import re

import pyotp
from playwright.sync_api import expect

from gridcare.org.models import Role, RoleAssignment


def test_the_workspace_marks_its_polls_and_only_them(page, world, login):
    login("agent")
    seen: list[tuple[str, str | None]] = []
    page.on("request", lambda r: seen.append((r.url, r.headers.get("x-gridcare-poll"))))
    page.goto("/hotline/")
    page.wait_for_timeout(1500)  # the call strip polls every 300 ms
    polls = [h for url, h in seen if "/hotline/pop/" in url]
    assert polls and all(h == "1" for h in polls)
    assert all(h is None for url, h in seen if "/hotline/pop/" not in url)


def test_an_administrator_enrols_totp_from_the_qr_code(page, world, settings):
    settings.GRIDCARE_REQUIRE_MFA = True
    world.agent.is_staff = world.agent.is_superuser = True
    world.agent.save()
    # 三员分立: the admin site opens to an administrator role, not to the superuser flag alone.
    RoleAssignment.objects.create(user=world.agent, role=Role.ADMIN, unit=world.province)
    page.goto("/admin/")
    page.fill("#id_username", "agent")
    page.fill("#id_password", world.password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/login/mfa/$"))
    expect(page.locator("#totp-qr svg")).to_be_visible()
    secret = page.locator("#totp-secret").inner_text()
    page.fill("#id_code", pyotp.TOTP(secret).now())
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/admin/$"))
    assert page.gc_js_errors == []
