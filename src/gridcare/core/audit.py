"""Audit log of sensitive reads, exports and security events."""

from __future__ import annotations

import contextvars
import ipaddress
from functools import lru_cache
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.db import models

from . import clock
from .models import AuditLog

if TYPE_CHECKING:  # core sits below org: the account model is only named by its Django base
    from django.contrib.auth.base_user import AbstractBaseUser
    from django.contrib.auth.models import AnonymousUser

# The request being served, so that a record made deep in a service or a signal receiver (a role
# granted in the admin, a token revoked) still names the actor and the client address.
current_request: contextvars.ContextVar[Any] = contextvars.ContextVar("gridcare_request", default=None)


@lru_cache(maxsize=8)
def _trusted_networks(proxies: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(p.strip(), strict=False) for p in proxies if p.strip())


def _ip(value: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def client_ip(request: Any) -> str | None:
    """The client's address: ``REMOTE_ADDR``, or, when that is a trusted proxy
    (``GRIDCARE_TRUSTED_PROXIES``), the nearest address in ``GRIDCARE_CLIENT_IP_HEADER`` that is
    not itself a trusted proxy (X-Forwarded-For is read right to left; a client can forge only
    what lies to the left of what the trusted proxies appended)."""
    if request is None:
        return None
    remote = request.META.get("REMOTE_ADDR") or ""
    remote_ip = _ip(remote)
    networks = _trusted_networks(tuple(settings.GRIDCARE_TRUSTED_PROXIES))
    if remote_ip is None:
        return None
    if not networks or not any(remote_ip in net for net in networks):
        return str(remote_ip)
    forwarded = request.META.get(settings.GRIDCARE_CLIENT_IP_HEADER, "")
    for hop in reversed([h for h in forwarded.split(",") if h.strip()]):
        hop_ip = _ip(hop)
        if hop_ip is None:
            break  # garbage in the header: trust nothing further left
        if not any(hop_ip in net for net in networks):
            return str(hop_ip)
    return str(remote_ip)


def record(
    *,
    action: str,
    actor: AbstractBaseUser | AnonymousUser | None = None,
    obj: models.Model | None = None,
    object_type: str = "",
    object_id: str = "",
    object_repr: str = "",
    detail: dict[str, Any] | None = None,
    request: Any = None,
) -> AuditLog:
    """Write one audit row. Without ``request`` the request being served (if any) gives the
    client address, and without ``actor`` its logged-in user is the actor."""
    if request is None:
        request = current_request.get()
    if actor is None and request is not None:
        actor = cast("AbstractBaseUser | AnonymousUser | None", getattr(request, "user", None))
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
        object_repr = object_repr or str(obj)[:200]
    # Signed in: an org.User (AUTH_USER_MODEL), which core, below org, cannot name.
    user = cast(Any, actor) if getattr(actor, "is_authenticated", False) else None
    return AuditLog.objects.create(
        at=clock.now(),
        actor=user,
        actor_name=(getattr(actor, "username", "") or "")[:150],
        action=action,
        object_type=object_type,
        object_id=object_id,
        object_repr=object_repr[:200],
        detail=detail or {},
        ip=client_ip(request),
    )
