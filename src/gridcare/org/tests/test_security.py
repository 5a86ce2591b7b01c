"""Issue #14, items 12-14, 17, 22: one login path and one lockout, counted atomically; throttles;
password rules; TOTP second factor; audit of security events."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pyotp
import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client

from gridcare.core import clock
from gridcare.core.models import AuditLog
from gridcare.org import services
from gridcare.org.models import ApiToken, Role, RoleAssignment, User


def login(client, username, password, **extra):
    return client.post("/login/", {"username": username, "password": password}, **extra)


RACE_PASSWORD = "Race-target-pass-2026"  # noqa: S105


def fail_until_locked(client, username):
    for _ in range(settings.GRIDCARE_LOGIN_MAX_FAILURES):
        login(client, username, "wrong-password")


# --- item 12: one login path, one lockout -----------------------------------------------------


def test_admin_login_goes_through_the_one_login_page(world, client):
    response = client.get("/admin/login/?next=/admin/org/user/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")
    # Posting a password to /admin/login/ gives no session.
    world.agent.is_staff = world.agent.is_superuser = True
    world.agent.save()
    client.post("/admin/login/", {"username": "agent", "password": world.password})
    assert client.get("/admin/").status_code == 302


def test_a_logged_in_member_of_staff_without_admin_rights_gets_403_not_a_loop(world, client):
    login(client, "agent", world.password)
    response = client.get("/admin/", follow=True)
    assert response.status_code == 403
    assert len(response.redirect_chain) <= 2


def test_unknown_names_keep_their_count_like_accounts(world, client, monkeypatch):
    """Waiting between failures does not tell an account from an unknown name: both lock at the
    same count, however long ago the earlier failures were."""
    import types

    from django.core.cache.backends import locmem

    for name in ("agent", "ghost"):
        for _ in range(settings.GRIDCARE_LOGIN_MAX_FAILURES - 1):
            login(client, name, "wrong-password")
    three_hours_later = time.time() + 3 * 3600
    monkeypatch.setattr(locmem, "time", types.SimpleNamespace(time=lambda: three_hours_later))
    known = login(client, "agent", "wrong-password").content.decode()
    unknown = login(client, "ghost", "wrong-password").content.decode()
    assert "账号已锁定" in known and "账号已锁定" in unknown


def test_a_locked_account_gets_no_session_on_any_path(world, client):
    world.agent.is_staff = world.agent.is_superuser = True
    world.agent.save()
    fail_until_locked(client, "agent")
    # The right password through the admin's own form (AdminAuthenticationForm → authenticate()).
    from django.contrib.admin.forms import AdminAuthenticationForm

    form = AdminAuthenticationForm(None, data={"username": "agent", "password": world.password})
    assert not form.is_valid()
    assert authenticate(None, username="agent", password=world.password) is None
    response = login(client, "agent", world.password)
    assert "账号已锁定" in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_failures_through_authenticate_count_towards_the_lockout(world):
    for _ in range(settings.GRIDCARE_LOGIN_MAX_FAILURES):
        assert authenticate(None, username="agent", password="wrong-password") is None
    world.agent.refresh_from_db()
    assert services.is_locked_out(world.agent)


# --- item 13: the failure counter is atomic -----------------------------------------------------


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_forty_parallel_wrong_passwords_check_at_most_the_limit(settings, monkeypatch):
    """40 logins at once with wrong passwords: at most GRIDCARE_LOGIN_MAX_FAILURES passwords are
    checked before the account locks (each thread has its own database connection)."""
    settings.GRIDCARE_THROTTLE_LOGIN_IP = "0"
    settings.GRIDCARE_THROTTLE_LOGIN_ACCOUNT = "0"
    User.objects.create_user(username="target", password=RACE_PASSWORD)
    checked: list[str] = []
    guard = threading.Lock()
    original = User.check_password

    def slow_check(self, raw_password):
        with guard:
            checked.append(raw_password)
        time.sleep(0.05)  # a real password hash takes this long; widens the race
        return original(self, raw_password)

    monkeypatch.setattr(User, "check_password", slow_check)
    barrier = threading.Barrier(40)
    statuses: list[int] = []

    def attempt(i: int) -> None:
        try:
            barrier.wait()
            statuses.append(login(Client(), "target", f"wrong-{i}").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(statuses) == 40
    assert len(checked) <= settings.GRIDCARE_LOGIN_MAX_FAILURES
    assert services.is_locked_out(User.objects.get(username="target"))
    # ... and the right password does not get in now.
    assert login(Client(), "target", RACE_PASSWORD).status_code == 200


# --- item 14: throttles, and a lockout that reveals nothing --------------------------------------


def test_login_is_throttled_per_address_with_retry_after(world, client, settings):
    settings.GRIDCARE_THROTTLE_LOGIN_IP = "3/300"
    for name in ("a1", "a2", "a3"):
        assert login(client, name, "x").status_code == 200
    response = login(client, "agent", world.password)
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 301
    # Another address is not throttled.
    assert login(Client(REMOTE_ADDR="10.0.0.9"), "agent", world.password).status_code == 302


def test_successful_logins_from_one_address_are_not_throttled(world, settings):
    """A shift of agents logging in from one address (a NAT, a proxy) is never refused."""
    settings.GRIDCARE_THROTTLE_LOGIN_IP = "3/300"
    for _ in range(6):
        assert login(Client(), "agent", world.password).status_code == 302


def test_admin_password_change_uses_the_throttled_page(world, client):
    client.force_login(world.agent)
    response = client.get("/admin/password_change/")
    assert response.status_code == 302 and response["Location"] == "/password/"


def test_login_is_throttled_per_account(world, client, settings):
    settings.GRIDCARE_THROTTLE_LOGIN_ACCOUNT = "2/300"
    login(Client(REMOTE_ADDR="10.0.0.1"), "agent", "wrong-password")
    login(Client(REMOTE_ADDR="10.0.0.2"), "agent", "wrong-password")
    response = login(Client(REMOTE_ADDR="10.0.0.3"), "agent", world.password)
    assert response.status_code == 429
    assert response.has_header("Retry-After")


def test_lockout_does_not_reveal_which_usernames_exist(world, client):
    fail_until_locked(client, "agent")
    fail_until_locked(client, "nobody-here")
    known = login(client, "agent", "wrong-password")
    unknown = login(client, "nobody-here", "wrong-password")
    assert known.status_code == unknown.status_code == 200
    assert "账号已锁定" in known.content.decode()
    assert "账号已锁定" in unknown.content.decode()
    # Before the lockout, both say the same too.
    first_known = login(Client(REMOTE_ADDR="10.1.1.1"), "clerk_east", "wrong-password").content.decode()
    first_unknown = login(Client(REMOTE_ADDR="10.1.1.1"), "ghost", "wrong-password").content.decode()
    assert "用户名或密码错误" in first_known and "用户名或密码错误" in first_unknown


def test_failures_for_unknown_usernames_are_audited(world, client):
    login(client, "nobody-here", "guess", REMOTE_ADDR="10.2.3.4")
    row = AuditLog.objects.get(action=AuditLog.Action.LOGIN_FAILED, object_repr="nobody-here")
    assert row.ip == "10.2.3.4"
    assert row.detail["reason"] == "unknown"


def test_old_password_check_of_password_change_is_throttled(world, client, settings):
    settings.GRIDCARE_THROTTLE_PASSWORD_CHECK = "3/300"
    login(client, "agent", world.password)
    form = {"new_password1": "Brand-new-phrase-42", "new_password2": "Brand-new-phrase-42"}
    for i in range(3):
        assert client.post("/password/", {"old_password": f"guess-{i}", **form}).status_code == 200
    response = client.post("/password/", {"old_password": world.password, **form})
    assert response.status_code == 429
    assert response.has_header("Retry-After")
    world.agent.refresh_from_db()
    assert world.agent.check_password(world.password)


def test_unknown_api_tokens_are_throttled_per_address(world, client, settings):
    settings.GRIDCARE_THROTTLE_BAD_TOKEN_IP = "3/60"
    for i in range(3):
        response = client.get("/api/v1/work-orders", HTTP_AUTHORIZATION=f"Bearer gc_guess{i}")
        assert response.status_code == 401
    response = client.get("/api/v1/work-orders", HTTP_AUTHORIZATION="Bearer gc_guess9")
    assert response.status_code == 429
    assert response.json()["code"] == "too_many_requests"
    assert int(response["Retry-After"]) > 0


def test_requests_per_api_token_are_throttled(world, client, settings):
    settings.GRIDCARE_THROTTLE_TOKEN = "2/60"
    key = services.issue_token(user=world.agent, name="IVR")
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    assert client.get("/api/v1/work-orders", **headers).status_code == 200
    assert client.get("/api/v1/work-orders", **headers).status_code == 200
    response = client.get("/api/v1/work-orders", **headers)
    assert response.status_code == 429
    assert response.json()["code"] == "too_many_requests"


# --- item 17: password rules, second factor, tokens on a password change -----------------------


@pytest.mark.parametrize(
    "password", ["gridcare", "qlbx95598", "gridcare95598!", "agentagentagent", "Agent-2025-agent"]
)
def test_weak_passwords_are_refused(world, password):
    from django.contrib.auth.password_validation import validate_password

    with pytest.raises(ValidationError):
        validate_password(password, world.agent)


def test_a_long_own_phrase_is_accepted(world):
    from django.contrib.auth.password_validation import validate_password

    validate_password("Lantern-river-copper-7", world.agent)


def test_password_change_refuses_a_short_password(world, client):
    login(client, "agent", world.password)
    response = client.post(
        "/password/",
        {"old_password": world.password, "new_password1": "Xk3#pq9z", "new_password2": "Xk3#pq9z"},
    )
    assert response.status_code == 200
    world.agent.refresh_from_db()
    assert world.agent.check_password(world.password)


def test_password_change_is_audited_and_revokes_tokens(world, client):
    key = services.issue_token(user=world.agent, name="IVR")
    assert client.get("/api/v1/work-orders", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 200
    login(client, "agent", world.password)
    response = client.post(
        "/password/",
        {
            "old_password": world.password,
            "new_password1": "Lantern-river-7",
            "new_password2": "Lantern-river-7",
        },
    )
    assert response.status_code == 302
    assert AuditLog.objects.filter(action=AuditLog.Action.PASSWORD_CHANGED, actor=world.agent).exists()
    assert AuditLog.objects.filter(action=AuditLog.Action.TOKEN_REVOKED, object_repr="agent").exists()
    assert not ApiToken.objects.filter(user=world.agent, revoked=False).exists()
    assert Client().get("/api/v1/work-orders", HTTP_AUTHORIZATION=f"Bearer {key}").status_code == 401


@pytest.fixture
def require_mfa(settings):
    settings.GRIDCARE_REQUIRE_MFA = True


def test_admin_must_enrol_totp_before_a_session(world, client, require_mfa):
    world.agent.is_staff = world.agent.is_superuser = True
    world.agent.save()
    response = login(client, "agent", world.password)
    assert response["Location"] == "/login/mfa/"
    assert client.get("/").status_code == 302  # no session yet
    page = client.get("/login/mfa/").content.decode()
    assert "<svg" in page  # the QR code, inline, made on the server
    secret = client.session["gridcare_mfa_pending"]["secret"]
    assert client.post("/login/mfa/", {"code": "000000"}).status_code == 422
    response = client.post("/login/mfa/", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302
    assert client.get("/").status_code == 200
    world.agent.refresh_from_db()
    assert world.agent.totp_secret == secret
    assert AuditLog.objects.filter(action=AuditLog.Action.MFA_ENROLLED, actor=world.agent).exists()


def test_roles_revealing_personal_data_need_a_code_and_crews_do_not(world, client, require_mfa):
    secret = pyotp.random_base32()
    world.agent.totp_secret = secret
    world.agent.save()
    assert login(client, "agent", world.password)["Location"] == "/login/mfa/"
    response = client.post("/login/mfa/", {"code": pyotp.TOTP(secret).now()})
    assert response.status_code == 302 and response["Location"] == "/"
    # The same code is not accepted twice.
    other = Client()
    login(other, "agent", world.password)
    assert other.post("/login/mfa/", {"code": pyotp.TOTP(secret).now()}).status_code == 422
    # A crew member (no personal data) logs in with the password alone.
    assert login(Client(), "crew", world.password)["Location"] == "/"


def test_wrong_codes_count_towards_the_lockout(world, client, require_mfa):
    world.agent.totp_secret = pyotp.random_base32()
    world.agent.save()
    login(client, "agent", world.password)
    for _ in range(settings.GRIDCARE_LOGIN_MAX_FAILURES):
        client.post("/login/mfa/", {"code": "123456"})
    world.agent.refresh_from_db()
    assert services.is_locked_out(world.agent)


def test_entering_the_password_again_does_not_reset_wrong_codes(world, require_mfa):
    """Knowing the password must not buy unlimited guesses of the second factor: a right password
    before the code does not wipe the wrong codes counted so far."""
    world.agent.totp_secret = pyotp.random_base32()
    world.agent.save()
    client = Client()
    for _round in range(3):
        login(client, "agent", world.password)
        for _ in range(settings.GRIDCARE_LOGIN_MAX_FAILURES - 1):
            client.post("/login/mfa/", {"code": "000001"})
    world.agent.refresh_from_db()
    assert services.is_locked_out(world.agent)
    assert login(Client(), "agent", world.password).status_code == 200  # refused: locked


def test_a_second_step_left_unfinished_does_not_lock_the_account(world, require_mfa):
    secret = pyotp.random_base32()
    world.agent.totp_secret = secret
    world.agent.save()
    for _ in range(settings.GRIDCARE_LOGIN_MAX_FAILURES + 2):
        assert login(Client(), "agent", world.password)["Location"] == "/login/mfa/"
    client = Client()
    login(client, "agent", world.password)
    assert client.post("/login/mfa/", {"code": pyotp.TOTP(secret).now()}).status_code == 302
    world.agent.refresh_from_db()
    assert world.agent.failed_logins == 0 and not services.is_locked_out(world.agent)


@pytest.mark.parametrize("code", ["١٢٣٤٥٦", "１２３４５６"])
def test_a_code_in_other_digits_is_a_wrong_code_not_a_500(world, require_mfa, code):
    world.agent.totp_secret = pyotp.random_base32()
    world.agent.save()
    client = Client(raise_request_exception=False)
    login(client, "agent", world.password)
    assert client.post("/login/mfa/", {"code": code}).status_code == 422


def test_without_the_setting_anyone_may_enrol(world, client):
    login(client, "crew", world.password)
    page = client.get("/mfa/")
    assert page.status_code == 200 and "<svg" in page.content.decode()
    secret = client.session["gridcare_mfa_new_secret"]
    code = pyotp.TOTP(secret).now()
    assert client.post("/mfa/", {"code": code, "password": world.password}).status_code == 200
    world.crew.refresh_from_db()
    assert world.crew.totp_secret == secret
    client.post("/logout/")
    assert login(client, "crew", world.password)["Location"] == "/login/mfa/"


def test_putting_an_authenticator_on_a_logged_in_account_asks_for_the_password(world, client):
    """A session left open (or stolen) cannot replace the account's authenticator with its own."""
    old_secret = pyotp.random_base32()
    world.agent.totp_secret = old_secret
    world.agent.save()
    start = clock.now()
    with clock.frozen(start):
        login(client, "agent", world.password)
        client.post("/login/mfa/", {"code": pyotp.TOTP(old_secret).at(start)})
    with clock.frozen(start + dt.timedelta(minutes=5)):
        client.get("/mfa/")
        new_code = pyotp.TOTP(client.session["gridcare_mfa_new_secret"]).at(clock.now())
        assert client.post("/mfa/", {"code": new_code}).status_code == 422
        assert client.post("/mfa/", {"code": new_code, "password": "not-my-password"}).status_code == 422
    world.agent.refresh_from_db()
    assert world.agent.totp_secret == old_secret
    assert AuditLog.objects.filter(
        action=AuditLog.Action.LOGIN_FAILED, object_repr="agent", detail__reason="old_password"
    ).exists()


def test_a_new_authenticator_can_be_confirmed_right_after_logging_in(world, client):
    """The code of the old authenticator spent at login (same 30 s) does not refuse the new one's."""
    old_secret = pyotp.random_base32()
    world.agent.totp_secret = old_secret
    world.agent.save()
    start = clock.now()
    with clock.frozen(start):
        login(client, "agent", world.password)
        assert client.post("/login/mfa/", {"code": pyotp.TOTP(old_secret).at(start)}).status_code == 302
        client.get("/mfa/")
        new_secret = client.session["gridcare_mfa_new_secret"]
        response = client.post(
            "/mfa/", {"code": pyotp.TOTP(new_secret).at(start), "password": world.password}
        )
        assert response.status_code == 200
        world.agent.refresh_from_db()
        assert world.agent.totp_secret == new_secret
        # That code is spent: it does not log in a second time.
        other = Client()
        login(other, "agent", world.password)
        assert other.post("/login/mfa/", {"code": pyotp.TOTP(new_secret).at(start)}).status_code == 422


# --- item 22: audit of security events ----------------------------------------------------------


def test_logins_and_logouts_are_audited(world, client):
    login(client, "agent", world.password)
    client.post("/logout/")
    actions = list(AuditLog.objects.filter(actor=world.agent).order_by("id").values_list("action", flat=True))
    assert actions[-2:] == [AuditLog.Action.LOGIN, AuditLog.Action.LOGOUT]


def test_role_and_account_changes_are_audited_with_the_actor(world, client):
    admin = User.objects.create_superuser("root", password=world.password)
    RoleAssignment.objects.create(user=admin, role=Role.SECURITY_ADMIN, unit=world.province)
    client.force_login(admin)
    client.post(
        "/admin/org/roleassignment/add/",
        {"user": world.crew.pk, "role": Role.AUDITOR, "unit": world.east.pk},
    )
    assignment = RoleAssignment.objects.get(user=world.crew, role=Role.AUDITOR)
    granted = AuditLog.objects.get(
        action=AuditLog.Action.ROLE_GRANTED, object_repr="crew", detail__role="auditor"
    )
    assert granted.actor == admin
    client.post(f"/admin/org/roleassignment/{assignment.pk}/delete/", {"post": "yes"})
    assert AuditLog.objects.filter(
        action=AuditLog.Action.ROLE_REVOKED, actor=admin, object_repr="crew"
    ).exists()
    world.crew.is_superuser = True
    world.crew.save()
    row = AuditLog.objects.get(action=AuditLog.Action.ACCOUNT_CHANGED, object_repr="crew")
    assert row.detail == {"is_superuser": [False, True]}


def test_token_revocation_is_audited(world):
    services.issue_token(user=world.agent, name="IVR")
    token = ApiToken.objects.get(user=world.agent)
    token.revoked = True
    token.save()
    assert AuditLog.objects.filter(action=AuditLog.Action.TOKEN_REVOKED, object_id=str(token.pk)).exists()


def test_audit_takes_the_client_address_from_the_trusted_proxy(world, client, settings):
    settings.GRIDCARE_TRUSTED_PROXIES = ["10.0.0.0/8"]
    login(client, "agent", "wrong", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7")
    row = AuditLog.objects.filter(action=AuditLog.Action.LOGIN_FAILED).latest("id")
    assert row.ip == "203.0.113.7"
    # From an untrusted peer the header is ignored.
    login(client, "agent", "wrong", REMOTE_ADDR="198.51.100.5", HTTP_X_FORWARDED_FOR="203.0.113.7")
    assert AuditLog.objects.filter(action=AuditLog.Action.LOGIN_FAILED).latest("id").ip == "198.51.100.5"


def test_lockout_period_ends(world, client):
    import datetime as dt

    fail_until_locked(client, "agent")
    with clock.frozen(clock.now() + dt.timedelta(minutes=settings.GRIDCARE_LOCKOUT_MINUTES + 1)):
        assert login(client, "agent", world.password).status_code == 302


def test_an_administrator_resets_a_lost_authenticator_and_unlocks_audited(world, client):
    admin = User.objects.create_superuser("root", password=world.password)
    RoleAssignment.objects.create(user=admin, role=Role.SECURITY_ADMIN, unit=world.province)
    world.agent.totp_secret = pyotp.random_base32()
    world.agent.locked_until = clock.now() + dt.timedelta(minutes=5)
    world.agent.save()
    client.force_login(admin)
    for action in ("reset_totp", "unlock_accounts"):
        client.post("/admin/org/user/", {"action": action, "_selected_action": [world.agent.pk]})
    world.agent.refresh_from_db()
    assert world.agent.totp_secret == "" and world.agent.locked_until is None
    details = list(
        AuditLog.objects.filter(action=AuditLog.Action.ACCOUNT_CHANGED, actor=admin).values_list(
            "detail", flat=True
        )
    )
    assert {"totp": "reset"} in details and {"unlocked": True} in details
