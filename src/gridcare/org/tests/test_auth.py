"""Login, lockout after repeated failures, session timeout, password change."""

import datetime as dt

from django.conf import settings

from gridcare.core import clock
from gridcare.core.models import AuditLog


def login(client, username, password):
    return client.post("/login/", {"username": username, "password": password})


def test_login_and_logout(world, client):
    response = login(client, "agent", world.password)
    assert response.status_code == 302
    assert "王座席" in client.get("/").content.decode()
    client.post("/logout/")
    assert client.get("/").status_code == 302


def test_wrong_password_shows_chinese_error(world, client):
    response = login(client, "agent", "wrong")
    assert "用户名或密码错误" in response.content.decode()


def test_account_locks_after_repeated_failures_even_with_right_password(world, client):
    for _ in range(settings.GRIDCARE_LOGIN_MAX_FAILURES):
        login(client, "agent", "wrong")
    response = login(client, "agent", world.password)
    assert response.status_code == 200
    assert "账号已锁定" in response.content.decode()
    assert AuditLog.objects.filter(action=AuditLog.Action.LOCKED_OUT, object_repr="agent").exists()
    # After the lockout period the right password works again.
    with clock.frozen(clock.now() + dt.timedelta(minutes=settings.GRIDCARE_LOCKOUT_MINUTES + 1)):
        assert login(client, "agent", world.password).status_code == 302


def test_session_expires_when_idle(world, client):
    assert settings.SESSION_SAVE_EVERY_REQUEST
    login(client, "agent", world.password)
    assert client.session.get_expiry_age() == settings.SESSION_COOKIE_AGE <= 60 * 60
    session = client.session
    session.set_expiry(-1)
    session.save()
    assert client.get("/").status_code == 302


def test_password_change(world, client):
    login(client, "agent", world.password)
    response = client.post(
        "/password/",
        {
            "old_password": world.password,
            "new_password1": "Nw-pass-95598x",
            "new_password2": "Nw-pass-95598x",
        },
    )
    assert response.status_code == 302
    client.post("/logout/")
    assert login(client, "agent", "Nw-pass-95598x").status_code == 302
