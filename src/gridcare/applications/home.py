"""The 业扩报装 tile of the 工作台: my scope's applications in flight, near due and overdue now,
each linked to the list filtered the same way."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from gridcare.core import clock
from gridcare.org import scoping
from gridcare.org.home import Figure, Tile
from gridcare.org.types import StaffRequest

from .models import ApplicationState
from .queries import near_due_only, overdue_only, visible_applications

USERS = ("business_clerk", "account_manager", "manager", "admin")


def tile(request: StaffRequest) -> Tile | None:
    user = request.user
    if not scoping.authenticated(user) or not (user.is_superuser or scoping.has_role(user, *USERS)):
        return None
    now, url = clock.now(), reverse("applications:list")
    in_flight = visible_applications(user, request.active_unit).filter(state=ApplicationState.IN_PROGRESS)
    counts = {
        "open": in_flight.count(),
        "near": near_due_only(in_flight, now).count(),
        "overdue": overdue_only(in_flight, now).count(),
    }
    return Tile(
        title=_("业扩报装"),
        link=url,
        order=15,
        figures=[
            Figure(_("在途申请"), counts["open"], url),
            Figure(_("临近超时"), counts["near"], f"{url}?near=1", "warning"),
            Figure(_("已超时"), counts["overdue"], f"{url}?overdue=1", "danger"),
        ],
    )
