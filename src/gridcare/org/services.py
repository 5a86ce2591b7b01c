"""Business actions on the organization: units, staff, roles, login lockout, API tokens."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction

from gridcare.core import audit, clock
from gridcare.core.memo import Memo
from gridcare.core.models import AuditLog

from .models import ApiToken, RoleAssignment, Unit, User


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


# --- login lockout ---------------------------------------------------------------------------


def is_locked_out(user: User) -> bool:
    return user.locked_until is not None and user.locked_until > clock.now()


def record_failed_login(*, user: User, request: Any = None) -> bool:
    """Count a failed password; lock the account after GRIDCARE_LOGIN_MAX_FAILURES. Returns locked."""
    user.failed_logins += 1
    locked = user.failed_logins >= settings.GRIDCARE_LOGIN_MAX_FAILURES
    if locked:
        user.locked_until = clock.now() + dt.timedelta(minutes=settings.GRIDCARE_LOCKOUT_MINUTES)
        user.failed_logins = 0
    user.save(update_fields=["failed_logins", "locked_until"])
    audit.record(
        action=AuditLog.Action.LOCKED_OUT if locked else AuditLog.Action.LOGIN_FAILED,
        obj=user,
        object_repr=user.username,
        request=request,
    )
    return locked


def record_successful_login(*, user: User) -> None:
    if user.failed_logins or user.locked_until:
        user.failed_logins = 0
        user.locked_until = None
        user.save(update_fields=["failed_logins", "locked_until"])


def unlock(*, user: User) -> None:
    user.failed_logins = 0
    user.locked_until = None
    user.save(update_fields=["failed_logins", "locked_until"])


# --- API tokens ------------------------------------------------------------------------------


@transaction.atomic
def issue_token(*, user: User, name: str = "", actor: Any = None) -> str:
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


def authenticate_token(key: str) -> User | None:
    """The active user holding the unrevoked token ``key``, or None.

    Each request gets its own copy of the user, so nothing set on it during one request is seen
    by the next; the copies share the scope (role assignments, visible units) worked out once.
    """
    from . import scoping

    key_hash = ApiToken.hash_key(key)
    kept = _tokens.peek(key_hash)
    if kept is not None:
        return copy.copy(kept)
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
