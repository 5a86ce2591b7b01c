"""Browser tests: Playwright for Python driving Debian's Chromium against pytest-django's live server.

- The browser is ``/usr/bin/chromium`` (``apt-get install chromium``); Playwright never downloads one.
  Without it the tests are skipped, unless ``GRIDCARE_REQUIRE_BROWSER=1`` (CI), then they fail.
- Every test gets a fresh browser context at 1366×768 with a Chinese ``Accept-Language``, as the
  staff's desktops have. Screenshots land in ``test-artifacts/browser/<test>/``: one per ``shot()``
  step and a final one when the test ends (pass or fail).
- Tests use the ``world`` fixture of ``src/gridcare/conftest.py`` on a transactional database, so the
  live server thread sees the data the test created.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

# The fixture world of src/gridcare/conftest.py (staff personas, two customers) and its autouse
# fixtures (fast password hashing, clock reset) serve the browser tests too.
from gridcare.conftest import PASSWORD, _fast_password_hashing, _reset_clock_and_calendar, world  # noqa: F401

CHROMIUM = os.environ.get("GRIDCARE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
VIEWPORT = {"width": 1366, "height": 768}
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"

# Playwright's sync API runs an asyncio loop in this thread; Django would otherwise refuse ORM calls
# made by the test (the world fixture, assertions on the database) while that loop is running.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def _browser_required() -> bool:
    return os.environ.get("GRIDCARE_REQUIRE_BROWSER", "").strip().lower() in {"1", "true", "yes", "on"}


@pytest.fixture(scope="session")
def chromium_browser():
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        message = f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
        if _browser_required():
            pytest.fail(f"{message}; GRIDCARE_REQUIRE_BROWSER=1 requires the browser tests", pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _artifact_dir(node: pytest.Item) -> Path:
    name = re.sub(r"[^\w.-]+", "_", node.name).strip("_")
    directory = ARTIFACTS / name
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def pytest_collection_modifyitems(items):
    """Every browser test runs against the live server on a transactional database, restored from
    its serialized rows afterwards — a test without that mark would leave the next one's database
    half-restored (a file need not, and cannot forget to, say so)."""
    for item in items:
        if "/tests/browser/" in str(item.fspath).replace("\\", "/"):
            item.add_marker(pytest.mark.browser)
            item.add_marker(pytest.mark.django_db(transaction=True, serialized_rollback=True))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"gc_report_{report.when}", report)
    return report


class Shots:
    """Numbered screenshots of one test: ``shot("search-results")`` → ``03-search-results.png``."""

    def __init__(self, page, directory: Path):
        self.page = page
        self.directory = directory
        self.count = 0

    def __call__(self, label: str, *, full_page: bool = True) -> Path:
        self.count += 1
        path = self.directory / f"{self.count:02d}-{label}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


@pytest.fixture
def page(request, chromium_browser, live_server) -> Iterator:
    context = chromium_browser.new_context(
        viewport=VIEWPORT, locale="zh-CN", timezone_id="Asia/Shanghai", base_url=live_server.url
    )
    context.set_default_timeout(10_000)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    pg.gc_js_errors = errors
    pg.gc_shots = Shots(pg, _artifact_dir(request.node))
    yield pg
    call_report = getattr(request.node, "gc_report_call", None)
    outcome = "failed" if call_report is not None and call_report.failed else "end"
    try:
        pg.gc_shots(outcome)
    finally:
        context.close()


@pytest.fixture
def shot(page) -> Shots:
    return page.gc_shots


@pytest.fixture
def login(page):
    """Log in through the login form (the world's staff share one password); lands on the home page."""

    def do_login(username: str, password: str | None = None):
        page.goto("/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password or PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"/$"))
        return page

    return do_login


@pytest.fixture
def use_language(page, live_server):
    """Choose the UI language the way the language menu does: with Django's language cookie."""

    def choose(language: str) -> None:
        page.context.add_cookies(
            [{"name": "django_language", "value": language, "url": live_server.url + "/"}]
        )

    return choose


@pytest.fixture
def django_db_serialized_rollback() -> bool:
    """Put back the rows the migrations seeded (policies, calendar, wrap-up codes) after an earlier
    transactional test flushed them: ``live_server`` asks for ``transactional_db`` directly, so the
    tests' ``serialized_rollback=True`` marker alone is not honoured."""
    return True
