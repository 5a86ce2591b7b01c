from __future__ import annotations

from .models import Unit
from .scoping import assignments_of

SESSION_KEY = "gridcare_active_unit"


class ActiveUnitMiddleware:
    """Puts the unit chosen in the unit switcher on ``request.active_unit`` (None = all my units)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request.active_unit = None
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            unit_id = request.session.get(SESSION_KEY)
            if unit_id:
                unit = Unit.objects.filter(pk=unit_id).first()
                allowed = unit is not None and (
                    user.is_superuser or any(unit.path.startswith(a.unit.path) for a in assignments_of(user))
                )
                if allowed:
                    request.active_unit = unit
                else:
                    request.session.pop(SESSION_KEY, None)
        return self.get_response(request)
