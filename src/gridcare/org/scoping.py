"""The one scoping door: every page and API query a user can reach goes through here.

A user sees the subtree of each unit where they hold a role. In the staff console they may
narrow that to one of their units with the unit switcher (``request.active_unit``).
Objects outside the scope are answered with 404, never 403, so ids and account numbers
cannot be probed.
"""

from __future__ import annotations

from typing import Any, TypeGuard, TypeVar, cast

from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models import Q
from django.http import Http404

from .models import Role, RoleAssignment, Unit
from .types import Actor, Viewer

M = TypeVar("M", bound=models.Model)


def authenticated(user: Viewer | None) -> TypeGuard[Actor]:
    """Whether ``user`` is a signed-in account (an ``Actor``); False for anonymous and None."""
    return bool(getattr(user, "is_authenticated", False))


def signed_in(user: Viewer) -> Actor:
    """``request.user`` of a view behind ``login_required``, as the ``Actor`` it is there; a view
    reached without signing in (a missing decorator) is refused, not served to ``AnonymousUser``."""
    if not authenticated(user):
        raise PermissionDenied
    return user


def assignments_of(user: Actor) -> list[RoleAssignment]:
    cache: list[RoleAssignment] | None = getattr(user, "_gridcare_assignments", None)
    if cache is None:
        cache = list(RoleAssignment.objects.filter(user=user).select_related("unit"))
        setattr(user, "_gridcare_assignments", cache)  # noqa: B010 (a cache, not a model field)
    return cache


def roles_of(user: Viewer) -> set[str]:
    if not authenticated(user):
        return set()
    return {a.role for a in assignments_of(user)}


def has_role(user: Viewer, *roles: str) -> bool:
    if getattr(user, "is_superuser", False):
        return True
    return bool(roles_of(user) & set(roles))


def root_units(user: Viewer, active_unit: Unit | None = None) -> list[Unit]:
    """The units whose subtrees the user sees (narrowed to ``active_unit`` when given)."""
    if not authenticated(user) or not user.is_active:
        return []
    if active_unit is not None:
        if user.is_superuser or any(active_unit.path.startswith(a.unit.path) for a in assignments_of(user)):
            return [active_unit]
        return []
    if user.is_superuser:
        return list(Unit.objects.filter(parent__isnull=True))
    return [a.unit for a in assignments_of(user)]


def visible_units(user: Viewer, active_unit: Unit | None = None) -> models.QuerySet[Unit]:
    """The units themselves that the user sees, selected by their subtrees' paths (one condition
    per root, not a list of ids: a province is a thousand units)."""
    roots = root_units(user, active_unit)
    if not roots:
        return Unit.objects.none()
    condition = Q()
    for unit in roots:
        condition |= Q(path__startswith=unit.path)
    return Unit.objects.filter(condition)


def visible_unit_ids(user: Viewer, active_unit: Unit | None = None) -> list[int]:
    key = f"_gridcare_visible_{active_unit.pk if active_unit else 0}"
    cached: list[int] | None = getattr(user, key, None)
    if cached is not None:
        return cached
    roots = root_units(user, active_unit)
    if not roots:
        ids: list[int] = []
    else:
        condition = Q()
        for unit in roots:
            condition |= Q(path__startswith=unit.path)
        ids = list(Unit.objects.filter(condition).values_list("id", flat=True))
    if getattr(user, "is_authenticated", False):
        setattr(user, key, ids)
    return ids


def restrict(
    queryset: models.QuerySet[M],
    user: Viewer,
    unit_field: str | tuple[str, ...],
    active_unit: Unit | None = None,
) -> models.QuerySet[M]:
    """Limit ``queryset`` to rows whose ``unit_field`` (or any of several) lies in the user's scope."""
    if getattr(user, "is_superuser", False) and active_unit is None:
        return queryset
    return queryset.filter(scope_q(user, unit_field, active_unit))


def scope_q(user: Viewer, unit_field: str | tuple[str, ...], active_unit: Unit | None = None) -> Q:
    """The condition ``restrict`` filters by (for a caller that ORs it with a rule of its own).
    Unlike ``restrict`` it does not short-cut the superuser: it always names the visible units."""
    ids = visible_unit_ids(user, active_unit)
    fields = (unit_field,) if isinstance(unit_field, str) else unit_field
    condition = Q()
    for field in fields:
        condition |= Q(**{f"{field}__in": ids})
    return condition


def get_for_user(
    queryset: models.QuerySet[M],
    user: Viewer,
    unit_field: str | tuple[str, ...],
    active_unit: Unit | None = None,
    **lookup: Any,
) -> M:
    """One object in the user's scope, or 404 (also for objects that exist elsewhere).

    ``lookup`` must name one object (a unique key). The object is fetched by that key and its unit
    checked against the scope in Python: one indexed lookup instead of a filter with the scope's
    whole list of unit ids.
    """
    try:
        obj = queryset.get(**lookup)
    except cast(Any, queryset.model).DoesNotExist as exc:
        raise Http404("not found") from exc
    return require_in_scope(obj, user, unit_field, active_unit)


def require_in_scope(
    obj: M | None, user: Viewer, unit_field: str | tuple[str, ...], active_unit: Unit | None = None
) -> M:
    """``obj`` if one of its ``unit_field`` units is in the user's scope; else 404 (as for an
    object that does not exist — also when ``obj`` is None)."""
    if obj is None or not in_scope(obj, user, unit_field, active_unit):
        raise Http404("not found")
    return obj


def in_scope(
    obj: Any, user: Viewer, unit_field: str | tuple[str, ...], active_unit: Unit | None = None
) -> bool:
    """Whether one of ``obj``'s ``unit_field`` units is in the user's scope (checked in Python, for
    an object already read by its key)."""
    if getattr(user, "is_superuser", False) and active_unit is None:
        return True
    allowed = visible_unit_ids(user, active_unit)
    fields = (unit_field,) if isinstance(unit_field, str) else unit_field
    return any(getattr(obj, field) in allowed for field in fields)


def unit_in_scope(actor: Viewer, unit: Unit | int | None, active_unit: Unit | None = None) -> bool:
    """May ``actor`` act on ``unit`` (a Unit or its id): the unit lies in the actor's scope,
    narrowed to ``active_unit`` (the unit switcher) when given. A superuser without a switched unit
    may act anywhere; ``None`` (no unit) is in nobody else's scope.

    The one answer to "is this unit mine" outside ``org/``: call sites never compare against
    ``visible_unit_ids`` or unit paths themselves (``org/tests/test_scope_door.py`` checks it)."""
    if getattr(actor, "is_superuser", False) and active_unit is None:
        return True
    if unit is None:
        return False
    unit_id = unit.pk if isinstance(unit, Unit) else unit
    return unit_id in visible_unit_ids(actor, active_unit)


def unit_by_code(actor: Viewer, code: str) -> Unit | None:
    """The active unit with ``code`` if ``actor`` may act on it, else None (a unit named in a
    request: the caller answers its own 4xx)."""
    unit = Unit.objects.filter(code=code, is_active=True).first()
    return unit if unit is not None and unit_in_scope(actor, unit) else None


def unit_by_id(actor: Viewer, value: str | int | None, active_unit: Unit | None = None) -> Unit | None:
    """The active unit whose id ``value`` names (a form's choice: text, maybe not a number) if
    ``actor`` may act on it (within ``active_unit`` when one is switched to), else None."""
    text = str(value if value is not None else "").strip()
    if not text.isdigit() or len(text) > 18:
        return None
    unit = Unit.objects.filter(pk=int(text), is_active=True).first()
    return unit if unit is not None and unit_in_scope(actor, unit, active_unit) else None


def require_unit_in_scope(
    actor: Viewer,
    unit: Unit | int | None,
    active_unit: Unit | None = None,
    *,
    error: Exception | None = None,
) -> None:
    """Raise unless ``actor`` may act on ``unit`` (see ``unit_in_scope``): ``Http404`` by default
    (the API answers it as 404 ``not_found``), or ``error`` when the call site answers another
    status and code (e.g. 422 ``invalid_crew`` for a crew named in a payload)."""
    if not unit_in_scope(actor, unit, active_unit):
        raise error if error is not None else Http404("not found")


def can_see_personal_data(user: Viewer) -> bool:
    from .models import ROLES_SEEING_PERSONAL_DATA

    return has_role(user, *ROLES_SEEING_PERSONAL_DATA)


__all__ = [
    "Role",
    "assignments_of",
    "authenticated",
    "can_see_personal_data",
    "require_in_scope",
    "get_for_user",
    "has_role",
    "in_scope",
    "restrict",
    "require_unit_in_scope",
    "roles_of",
    "root_units",
    "scope_q",
    "unit_by_code",
    "unit_by_id",
    "unit_in_scope",
    "visible_unit_ids",
]
