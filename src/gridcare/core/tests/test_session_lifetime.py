"""Issue #14, item 15: polling does not keep a session alive; a session ends 12 h after login."""

from __future__ import annotations

import datetime as dt

from django.conf import settings

from gridcare.core import clock
from gridcare.core.models import AuditLog

POLL = {"HTTP_X_GRIDCARE_POLL": "1", "HTTP_HX_REQUEST": "true"}


def minutes(n: int) -> dt.timedelta:
    return dt.timedelta(minutes=n)


def test_polls_do_not_count_as_activity(world, client):
    start = clock.now()
    with clock.frozen(start):
        client.post("/login/", {"username": "dispatcher", "password": world.password})
    idle = settings.SESSION_COOKIE_AGE // 60
    # The repair board polls every few seconds for longer than the idle timeout.
    for m in range(0, idle + 10, 5):
        with clock.frozen(start + minutes(m)):
            response = client.get("/repair/", **POLL)
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith("/login/")
    with clock.frozen(start + minutes(idle + 5)):
        assert client.get("/").status_code == 302
    row = AuditLog.objects.filter(action=AuditLog.Action.LOGOUT, actor=world.dispatcher).get()
    assert row.detail == {"reason": "idle"}


def test_real_activity_keeps_the_session(world, client):
    start = clock.now()
    with clock.frozen(start):
        client.post("/login/", {"username": "dispatcher", "password": world.password})
    idle = settings.SESSION_COOKIE_AGE // 60
    for m in range(0, idle * 2, idle // 2):
        with clock.frozen(start + minutes(m)):
            assert client.get("/").status_code == 200


def test_a_session_ends_after_its_absolute_lifetime(world, client, settings):
    settings.GRIDCARE_SESSION_MAX_HOURS = 2
    start = clock.now()
    with clock.frozen(start):
        client.post("/login/", {"username": "agent", "password": world.password})
    for m in range(0, 120, 10):
        with clock.frozen(start + minutes(m)):
            assert client.get("/").status_code == 200
    with clock.frozen(start + minutes(125)):
        response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_the_absolute_lifetime_defaults_to_twelve_hours():
    assert settings.GRIDCARE_SESSION_MAX_HOURS == 12


def test_pages_that_poll_mark_their_polls():
    """The call strip, the repair board and the outage progress poll with hx-trigger="every …";
    gridcare/poll.js marks such requests, and every page loads it."""
    from django.contrib.staticfiles import finders
    from django.template.loader import get_template

    with open(finders.find("gridcare/poll.js"), encoding="utf-8") as file:
        script = file.read()
    assert "X-GridCare-Poll" in script and "every" in script
    assert "gridcare/poll.js" in get_template("base.html").template.source
