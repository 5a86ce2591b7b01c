"""Issue #14 items 20 and 21: no script inside templates, a CSP that forbids inline script, no
caching of pages with personal data, HTTPS enforced in production, API docs without a CDN."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

SRC = Path(settings.BASE_DIR)

# An attribute on<event>= inside a tag (onclick, onchange, onload…), htmx's inline-script forms
# (hx-on…, hx-on:…, js: values evaluated by htmx) and javascript: URLs.
INLINE_HANDLER = re.compile(r"<[a-zA-Z][^>]*?\s(on[a-z]+|hx-on[\w:.-]*|data-hx-on[\w:.-]*)\s*=", re.S)
EVAL_VALUE = re.compile(r"""=\s*['"]\s*(js:|javascript:)""", re.I)
SCRIPT = re.compile(r"<script\b([^>]*)>(.*?)</script>", re.S | re.I)


def _templates() -> list[Path]:
    found = sorted(p for p in SRC.rglob("templates/**/*.html"))
    assert len(found) > 40, "the template walk found too few templates"
    return found


def test_no_template_holds_inline_script():
    offences = []
    for path in _templates():
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(SRC)
        for m in INLINE_HANDLER.finditer(text):
            offences.append(f"{rel}: inline handler {m.group(1)}=")
        for m in EVAL_VALUE.finditer(text):
            offences.append(f"{rel}: evaluated value {m.group(1)}")
        for m in SCRIPT.finditer(text):
            attrs, body = m.group(1), m.group(2)
            if body.strip() and "application/json" not in attrs:
                offences.append(f"{rel}: inline <script> with content")
    assert offences == []


def test_the_walk_catches_what_it_looks_for():
    assert INLINE_HANDLER.search("""<tr class="x" onclick="location.href='/a'">""")
    assert INLINE_HANDLER.search("""<div\n  hx-on:click="alert(1)">""")
    assert EVAL_VALUE.search("""<div hx-vals='js:{a: b()}'>""")
    assert not INLINE_HANDLER.search("""<tr data-href="/a" class="online">""")
    assert SCRIPT.search("<script>alert(1)</script>").group(2)


def _csp(response) -> dict[str, str]:
    header = response.headers["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in header.split(";") if part.strip()}


@pytest.mark.django_db
def test_pages_carry_a_csp_without_inline_script_and_are_not_stored(client, world):
    client.login(username="agent", password=world.password)
    for url in [
        "/",
        "/hotline/",
        f"/customers/?q={world.customer_east.account_no}",
        "/knowledge/",
        "/applications/",
        "/applications/callbacks/",
        f"/billing/customer/{world.customer_east.account_no}/",
    ]:
        response = client.get(url)
        assert response.status_code == 200, url
        csp = _csp(response)
        assert csp["script-src"] == "script-src 'self'", url
        assert "unsafe-inline" not in csp["script-src"] and "unsafe-eval" not in csp["script-src"]
        assert csp["object-src"] == "object-src 'none'"
        assert csp["frame-ancestors"] == "frame-ancestors 'none'"
        assert response.headers["Cache-Control"] == "no-store", url


@pytest.mark.django_db
def test_api_answers_with_personal_data_are_not_stored(client, world):
    client.login(username="agent", password=world.password)
    response = client.get(f"/api/v1/customers/{world.customer_east.account_no}")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"


@pytest.mark.django_db
def test_login_page_carries_the_policy(client):
    response = client.get("/login/")
    assert "Content-Security-Policy" in response.headers
    assert response.headers["Cache-Control"] == "no-store"


# An asset or link that leaves this site: an intranet has no internet, and the CSP would block it.
OFF_SITE = re.compile(
    r"""(?:src|href|srcset|action)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//""", re.IGNORECASE
)
CSS_OFF_SITE = re.compile(r"""(?:url\(|@import)\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//""", re.IGNORECASE)


def test_no_template_loads_anything_from_another_site():
    root = Path(__file__).resolve().parents[2]
    templates = [*root.glob("templates/**/*.html"), *root.glob("*/templates/**/*.html")]
    assert templates
    found = [
        f"{path.relative_to(root)}: {m.group(0)}"
        for path in templates
        for pattern in (OFF_SITE, CSS_OFF_SITE)
        for m in pattern.finditer(path.read_text(encoding="utf-8"))
    ]
    assert not found


def test_the_off_site_check_catches_what_it_looks_for():
    assert OFF_SITE.search('<script src="https://example.org/x.js">')
    assert OFF_SITE.search("<link href='//example.org/x.css'>")
    assert CSS_OFF_SITE.search("background: url(https://example.org/a.png)")
    assert not OFF_SITE.search('<script src="/static/vendor/htmx.min.js">')
    assert not OFF_SITE.search("<a href=\"{% url 'home' %}\">")


@pytest.mark.django_db
def test_api_docs_load_swagger_from_this_site(client, world):
    client.login(username="agent", password=world.password)
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    assert not OFF_SITE.findall(html)
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
    assert scripts and all(src.startswith(settings.STATIC_URL) for src in scripts)
    for m in SCRIPT.finditer(html):
        assert not m.group(2).strip() or "application/json" in m.group(1)
    # Nor anything Swagger UI would fetch by itself: its online validator badge (an image from
    # validator.swagger.io) is off.
    settings_json = re.search(r'id="swagger-settings">(.*?)</script>', html, re.S)
    assert settings_json and json.loads(settings_json.group(1))["validatorUrl"] is None


def _production_settings(**env) -> dict:
    code = (
        "import json; from gridcare import settings as s; "
        "print(json.dumps([s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SESSION_COOKIE_SECURE]))"
    )
    environ = {
        **os.environ,
        "GRIDCARE_PRODUCTION": "1",
        "GRIDCARE_DEBUG": "0",
        "GRIDCARE_SECRET_KEY": "x" * 60,
        "GRIDCARE_ALLOWED_HOSTS": "gridcare.example.cn",
        **env,
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=environ, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_production_redirects_to_https_and_sends_hsts():
    redirect, hsts, secure_cookie = _production_settings()
    assert redirect is True
    assert hsts >= 31536000
    assert secure_cookie is True


def test_https_redirect_and_hsts_in_effect(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 31536000
    response = client.get("/login/")
    assert response.status_code == 301
    assert response.headers["Location"].startswith("https://")
    response = client.get("/login/", secure=True)
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert client.get("/healthz").status_code == 200  # probes speak plain HTTP
