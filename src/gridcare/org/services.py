"""Business actions on the organization: units, staff, roles, login lockout, API tokens."""

from __future__ import annotations

import copy
import datetime as dt
import hashlib
import secrets
from collections.abc import Callable
from typing import Any

import pyotp
from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import F, Q

from gridcare.core import audit, clock, throttle
from gridcare.core.memo import Memo
from gridcare.core.models import AuditLog

from .models import ROLES_SEEING_PERSONAL_DATA, ApiToken, RoleAssignment, Unit, User
from .types import Actor


def _path_for(unit: Unit) -> tuple[str, int]:
    parent_path = unit.parent.path if unit.parent_id else ""
    depth = unit.parent.depth + 1 if unit.parent_id else 0
    return f"{parent_path}{unit.pk:06d}/", depth


@transaction.atomic
def create_unit(
    *, name: str, code: str, kind: str, parent: Unit | None = None, function: str = "", phone: str = ""
) -> Unit:
    unit = Unit.objects.create(name=name, code=code, kind=kind, parent=parent, function=function, phone=phone)
    unit.path, unit.depth = _path_for(unit)
    unit.save(update_fields=["path", "depth"])
    return unit


@transaction.atomic
def move_unit(*, unit: Unit, new_parent: Unit | None) -> Unit:
    if new_parent is not None and new_parent.path.startswith(unit.path):
        raise ValueError("a unit cannot move under its own subtree")
    old_path = unit.path
    unit.parent = new_parent
    unit.path, unit.depth = _path_for(unit)
    unit.save(update_fields=["parent", "path", "depth"])
    for child in Unit.objects.filter(path__startswith=old_path).exclude(pk=unit.pk).order_by("depth"):
        child.path = unit.path + child.path[len(old_path) :]
        child.depth = child.path.count("/") - 1
        child.save(update_fields=["path", "depth"])
    return unit


def rebuild_paths() -> None:
    """Recompute every unit's path from the parent links (after a raw import)."""
    ordered: list[Unit] = []
    frontier = list(Unit.objects.filter(parent__isnull=True))
    while frontier:
        ordered.extend(frontier)
        frontier = list(Unit.objects.filter(parent__in=frontier))
    for unit in ordered:
        unit.refresh_from_db(fields=["parent"])
        unit.path, unit.depth = _path_for(unit)
        unit.save(update_fields=["path", "depth"])


@transaction.atomic
def create_staff(
    *,
    username: str,
    password: str,
    full_name: str,
    roles: list[tuple[str, Unit]],
    employee_no: str = "",
    mobile: str = "",
    is_staff: bool = False,
) -> User:
    user = User.objects.create_user(
        username=username,
        password=password,
        full_name=full_name,
        employee_no=employee_no,
        mobile=mobile,
        is_staff=is_staff,
    )
    for role, unit in roles:
        RoleAssignment.objects.create(user=user, role=role, unit=unit)
    return user


# --- login: throttles, lockout, second factor -----------------------------------------------


class LoginRefused(Exception):
    """A login attempt refused: ``code`` is "invalid" (wrong name or password, or an inactive
    account) or "locked" — the same for a known and an unknown username."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def is_locked_out(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > clock.now()


def _not_locked(now: dt.datetime) -> Q:
    return Q(locked_until__isnull=True) | Q(locked_until__lte=now)


def _take_attempt(user: User) -> bool:
    """Count one attempt on ``user``'s password (or second factor) *before* it is checked, in one
    conditional UPDATE: of any number of parallel attempts at most GRIDCARE_LOGIN_MAX_FAILURES get
    through before the account locks. False: locked, do not check."""
    return bool(
        User.objects.filter(_not_locked(clock.now()), pk=user.pk)
        .filter(failed_logins__lt=settings.GRIDCARE_LOGIN_MAX_FAILURES)
        .update(failed_logins=F("failed_logins") + 1)
    )


def _attempt_failed(user: User) -> bool:
    """The counted attempt failed; lock the account if it was the last one allowed. Returns locked."""
    now = clock.now()
    locked = bool(
        User.objects.filter(_not_locked(now), pk=user.pk)
        .filter(failed_logins__gte=settings.GRIDCARE_LOGIN_MAX_FAILURES)
        .update(failed_logins=0, locked_until=now + dt.timedelta(minutes=settings.GRIDCARE_LOCKOUT_MINUTES))
    )
    return locked or is_locked_out(User.objects.only("locked_until").get(pk=user.pk))


def _attempt_succeeded(user: User) -> None:
    User.objects.filter(pk=user.pk).exclude(failed_logins=0).update(failed_logins=0)


def _attempt_refunded(user: User) -> None:
    """The counted attempt was right but the login is not complete (a second factor follows)."""
    User.objects.filter(pk=user.pk, failed_logins__gt=0).update(failed_logins=F("failed_logins") - 1)


# An unknown username's failures are kept as long as an account keeps its count (until a lock),
# so waiting cannot tell the two apart either.
UNKNOWN_NAME_COUNT_SECONDS = 30 * 24 * 3600


def _unknown_name_keys(username: str) -> tuple[str, str]:
    base = "gc-login-unknown:" + hashlib.sha256(username.lower().encode()).hexdigest()
    return base + ":count", base + ":locked"


def _unknown_name_failed(username: str) -> bool:
    """A failure for a username that does not exist counts like one for an account, in the cache,
    so that the lockout reveals nothing: the same count, the same lock and lock time. Returns locked."""
    count_key, locked_key = _unknown_name_keys(username)
    cache.add(count_key, 0, timeout=UNKNOWN_NAME_COUNT_SECONDS)
    try:
        count = cache.incr(count_key)
    except ValueError:
        cache.add(count_key, 1, timeout=UNKNOWN_NAME_COUNT_SECONDS)
        count = 1
    if count < settings.GRIDCARE_LOGIN_MAX_FAILURES:
        return False
    cache.set(locked_key, 1, timeout=settings.GRIDCARE_LOCKOUT_MINUTES * 60)
    cache.delete(count_key)
    return True


def _unknown_name_locked(username: str) -> bool:
    return cache.get(_unknown_name_keys(username)[1]) is not None


def _refuse(code: str, *, username: str, user: User | None, request: Any, reason: str) -> LoginRefused:
    audit.record(
        action=AuditLog.Action.LOCKED_OUT if reason == "locked_now" else AuditLog.Action.LOGIN_FAILED,
        actor=None,
        obj=user,
        object_type="org.user",
        object_repr=username[:150],
        detail={"reason": reason},
        request=request,
    )
    return LoginRefused(code)


def check_login(*, username: str, password: str, request: Any = None) -> User:
    """The one check of a username and password (the login page, the admin site and any other
    ``authenticate()`` call come here through ``org.backends.LockoutBackend``).

    Throttled per client address and per username (429), then the account's lockout, counted
    atomically in the database; a failure for an unknown username is counted and audited alike.
    Raises LoginRefused or core.api_errors.TooManyRequests.
    """
    ip = audit.client_ip(request)
    throttle.check("login-ip", ip, settings.GRIDCARE_THROTTLE_LOGIN_IP)
    throttle.check("login-account", username.lower(), settings.GRIDCARE_THROTTLE_LOGIN_ACCOUNT)
    try:
        return _check_login(username=username, password=password, request=request)
    except LoginRefused:
        # Failures count against the address and the name; a right password costs nothing, so a
        # shift of agents logging in from one address is never throttled.
        throttle.hit("login-ip", ip, settings.GRIDCARE_THROTTLE_LOGIN_IP, raise_over=False)
        throttle.hit(
            "login-account", username.lower(), settings.GRIDCARE_THROTTLE_LOGIN_ACCOUNT, raise_over=False
        )
        raise


def _check_login(*, username: str, password: str, request: Any) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        if _unknown_name_locked(username):  # refused without hashing, as a locked account is
            raise _refuse("locked", username=username, user=None, request=request, reason="locked")
        User().set_password(password)  # as long as checking a real password takes
        locked = _unknown_name_failed(username)
        raise _refuse(
            "locked" if locked else "invalid", username=username, user=None, request=request, reason="unknown"
        )
    if not _take_attempt(user):
        raise _refuse("locked", username=username, user=user, request=request, reason="locked")
    if not user.check_password(password):
        locked = _attempt_failed(user)
        raise _refuse(
            "locked" if locked else "invalid",
            username=username,
            user=user,
            request=request,
            reason="locked_now" if locked else "password",
        )
    if not user.is_active:
        raise _refuse("invalid", username=username, user=user, request=request, reason="inactive")
    if mfa_required(user):
        # Half a login: the password gives back only its own attempt. The failures so far (wrong
        # codes included) stay until the code is right, or entering the password again would
        # reset the count and allow unlimited guessing of the second factor.
        _attempt_refunded(user)
    else:
        _attempt_succeeded(user)
    return user


def unlock(*, user: User) -> None:
    user.failed_logins = 0
    user.locked_until = None
    user.save(update_fields=["failed_logins", "locked_until"])
    audit.record(
        action=AuditLog.Action.ACCOUNT_CHANGED, obj=user, object_repr=user.username, detail={"unlocked": True}
    )


def reset_totp(*, user: User) -> None:
    """Remove ``user``'s authenticator (a lost phone): they enrol again at their next login."""
    user.totp_secret = ""
    user.totp_last_step = 0
    user.save(update_fields=["totp_secret", "totp_last_step"])
    audit.record(
        action=AuditLog.Action.ACCOUNT_CHANGED, obj=user, object_repr=user.username, detail={"totp": "reset"}
    )


def check_old_password(*, user: User, password: str, request: Any = None) -> bool:
    """The old-password check of a password change: throttled per account and per address."""
    ip, rate = audit.client_ip(request), settings.GRIDCARE_THROTTLE_PASSWORD_CHECK
    throttle.check("password-check-ip", ip, rate)
    throttle.check("password-check-account", str(user.pk), rate)
    ok = user.check_password(password)
    if not ok:
        throttle.hit("password-check-ip", ip, rate, raise_over=False)
        throttle.hit("password-check-account", str(user.pk), rate, raise_over=False)
        audit.record(
            action=AuditLog.Action.LOGIN_FAILED,
            actor=user,
            obj=user,
            object_repr=user.username,
            detail={"reason": "old_password"},
            request=request,
        )
    return ok


def mfa_required(user: User) -> bool:
    """Whether ``user`` must give a TOTP code at login: once enrolled always; otherwise, when
    GRIDCARE_REQUIRE_MFA is on, superusers, staff (the admin site) and the roles that may reveal
    personal data."""
    if user.totp_secret:
        return True
    if not settings.GRIDCARE_REQUIRE_MFA:
        return False
    if user.is_superuser or user.is_staff:
        return True
    return RoleAssignment.objects.filter(user=user, role__in=ROLES_SEEING_PERSONAL_DATA).exists()


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=settings.GRIDCARE_MFA_ISSUER)


def _totp_step(secret: str, code: str) -> int | None:
    """The time step ``code`` is valid for (this one or one either side), or None."""
    code = (code or "").strip().replace(" ", "")
    if not (code.isascii() and code.isdigit() and len(code) == 6):  # not "１２３４５６"
        return None
    totp = pyotp.TOTP(secret)
    now = clock.now()
    for drift in (0, -1, 1):
        at = now + dt.timedelta(seconds=drift * totp.interval)
        if secrets.compare_digest(totp.at(at), code):
            return int(at.timestamp()) // totp.interval
    return None


def verify_totp(*, user: User, code: str, secret: str = "", request: Any = None) -> bool:
    """Check a TOTP code of ``user`` (against ``secret`` while enrolling). A wrong code counts as
    a failed login (same lockout); a code is accepted once."""
    if not _take_attempt(user):
        raise _refuse("locked", username=user.username, user=user, request=request, reason="locked")
    step = _totp_step(secret or user.totp_secret, code)
    if step is None:
        accepted = False
    elif secret and secret != user.totp_secret:
        # Enrolling a new authenticator: its code has never been used (a code of the old one in
        # the same 30 s does not make it a replay); it is spent for logging in all the same.
        User.objects.filter(pk=user.pk, totp_last_step__lt=step).update(totp_last_step=step)
        accepted = True
    else:
        accepted = bool(User.objects.filter(pk=user.pk, totp_last_step__lt=step).update(totp_last_step=step))
    if not accepted:
        locked = _attempt_failed(user)
        audit.record(
            action=AuditLog.Action.LOCKED_OUT if locked else AuditLog.Action.MFA_FAILED,
            actor=None,
            obj=user,
            object_repr=user.username,
            request=request,
        )
        if locked:
            raise LoginRefused("locked")
        return False
    _attempt_succeeded(user)
    return True


@transaction.atomic
def enrol_totp(*, user: User, secret: str, request: Any = None) -> None:
    user.totp_secret = secret
    user.save(update_fields=["totp_secret"])
    audit.record(
        action=AuditLog.Action.MFA_ENROLLED, actor=user, obj=user, object_repr=user.username, request=request
    )


def revoke_tokens_of(*, user: User, reason: str) -> int:
    """Revoke every live API token of ``user`` (on a password change), audited."""
    revoked = ApiToken.objects.filter(user=user, revoked=False).update(revoked=True)
    if revoked:
        forget_tokens()
        audit.record(
            action=AuditLog.Action.TOKEN_REVOKED,
            obj=user,
            object_repr=user.username,
            detail={"count": revoked, "reason": reason},
        )
    return revoked


# --- API tokens ------------------------------------------------------------------------------


@transaction.atomic
def issue_token(*, user: User, name: str = "", actor: Actor | None = None) -> str:
    token, key = ApiToken.issue(user, name)
    audit.record(action=AuditLog.Action.TOKEN_CREATED, actor=actor, obj=token, detail={"for": user.username})
    return key


# Token → user (with the user's scope already worked out), per process, for a few seconds: an API
# client sends many requests in a row and each would otherwise cost three queries before any work.
# Every change to tokens, users, role assignments or units empties it in this process (signals,
# connected in OrgConfig.ready); other processes see the change within the time to live.
_tokens: Memo[User] = Memo(lambda: settings.GRIDCARE_TOKEN_CACHE_SECONDS, max_size=10_000)


def forget_tokens(update_fields: Any = None, **_kwargs: Any) -> None:
    """Empty this process's token cache (a signal receiver, and for tests). A login, which saves
    only the user's ``last_login``, changes nothing the cache holds and keeps it."""
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return
    _tokens.forget()


def authenticate_token(key: str, before_lookup: Callable[[], None] | None = None) -> User | None:
    """The active user holding the unrevoked token ``key``, or None.

    Each request gets its own copy of the user, so nothing set on it during one request is seen
    by the next; the copies share the scope (role assignments, visible units) worked out once.
    ``before_lookup`` runs only when the token must be looked up in the database (not one this
    process knows): the API's throttle of unknown tokens, which costs a known token nothing.
    """
    from . import scoping

    key_hash = ApiToken.hash_key(key)
    kept = _tokens.peek(key_hash)
    if kept is not None:
        return copy.copy(kept)
    if before_lookup is not None:
        before_lookup()
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_hash=key_hash, revoked=False, user__is_active=True)
        .first()
    )
    if token is None:
        _tokens.forget(key_hash)
        return None
    now = clock.now()
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=5):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    user = token.user
    if settings.GRIDCARE_TOKEN_CACHE_SECONDS > 0:
        scoping.visible_unit_ids(user)  # fills the user's assignments and scope once
        _tokens.put(key_hash, user)
        return copy.copy(user)
    return user
