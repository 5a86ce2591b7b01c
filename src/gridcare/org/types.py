"""Who acts and who looks, as services and the scoping door see them.

``Actor`` is the authenticated staff account a service acts for: the concrete ``org.User`` model
itself, not a Protocol, so mypy (with django-stubs) checks every attribute a service reads
(``pk``, ``username``, ``is_superuser``, ``full_name``, ``assignments``...) against the real model.
The role assignments the scoping door caches on the instance are reached only through
``org.scoping.assignments_of`` and are not part of the type.

``Viewer`` is whoever a page or API request may carry (``request.user``): an ``Actor`` or Django's
``AnonymousUser``. The scoping door takes a ``Viewer`` (an anonymous one sees nothing); services
take an ``Actor``.

Both are aliases for the type checker only: at run time they are strings, so importing them costs
no model import and no cycle.

``StaffRequest`` and ``ApiRequest`` name what a page view and an API operation receive after
GridCare's middleware and authentication: ``request.user`` a ``Viewer`` and ``request.active_unit``
the unit chosen in the unit switcher (``org.middleware``); for the API (django-ninja, which has
authenticated the request before the operation runs) ``request.auth`` the ``Actor``. They add
annotations only (Django passes its own ``WSGIRequest``), and are real classes so that ninja can
resolve an operation's signature at run time.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

from django.http import HttpRequest

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser
    from django_htmx.middleware import HtmxDetails

    from .models import Unit, User

Actor: TypeAlias = "User"
Viewer: TypeAlias = "User | AnonymousUser"


class StaffRequest(HttpRequest):
    """A page request: ``user`` (signed in where the view requires it) and the active unit."""

    user: Viewer
    active_unit: Unit | None
    htmx: HtmxDetails  # django_htmx.middleware.HtmxMiddleware


class ApiRequest(HttpRequest):
    """An authenticated API request: ``auth`` is the account the token or session belongs to."""

    auth: Actor
    user: Viewer
    active_unit: Unit | None


__all__ = ["Actor", "ApiRequest", "StaffRequest", "Viewer"]
