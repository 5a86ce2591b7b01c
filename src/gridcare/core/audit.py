"""Audit log of sensitive reads, exports and security events."""

from __future__ import annotations

from typing import Any

from django.db import models

from . import clock
from .models import AuditLog


def client_ip(request: Any) -> str | None:
    if request is None:
        return None
    return request.META.get("REMOTE_ADDR") or None


def record(
    *,
    action: str,
    actor: Any = None,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    detail: dict | None = None,
    request: Any = None,
) -> AuditLog:
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
    user = actor if getattr(actor, "is_authenticated", False) else None
    return AuditLog.objects.create(
        at=clock.now(),
        actor=user,
        actor_name=getattr(actor, "username", "") or "",
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:200],
        detail=detail or {},
        ip=client_ip(request),
    )
