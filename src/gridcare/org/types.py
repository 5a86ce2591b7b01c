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
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeAlias

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser

    from .models import User

Actor: TypeAlias = "User"
Viewer: TypeAlias = "User | AnonymousUser"

__all__ = ["Actor", "Viewer"]
