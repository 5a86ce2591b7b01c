"""The work-order tile of the 工作台: my orders, my scope's orders in transit, near due, overdue."""

from __future__ import annotations

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.translation import gettext as _

from gridcare.org import scoping
from gridcare.org.home import Figure, Tile
from gridcare.org.models import Role
from gridcare.org.types import StaffRequest

from .models import OPEN_STATES
from .queries import visible_orders


def tile(request: StaffRequest) -> Tile:
    user, url = request.user, reverse("workorders:queue")
    counts = (
        visible_orders(user, request.active_unit)
        .filter(state__in=OPEN_STATES)
        .aggregate(
            open=Count("id"),
            mine=Count("id", filter=Q(assignee=user)),
            accepted=Count("id", filter=Q(accepted_by=user)),
            near=Count("id", filter=Q(warning_level__in=(1, 2))),
            overdue=Count("id", filter=Q(warning_level__gte=3)),
        )
    )
    # A hotline agent takes orders rather than handling them: what they accepted is still open.
    first = (
        Figure(_("我受理的在途"), counts["accepted"], f"{url}?scope=accepted")
        if scoping.has_role(user, Role.AGENT) and not counts["mine"]
        else Figure(_("我的待办"), counts["mine"], f"{url}?scope=mine")
    )
    return Tile(
        title=_("工单"),
        link=url,
        order=10,
        figures=[
            first,
            Figure(_("在途工单"), counts["open"], url),
            Figure(_("临近超时"), counts["near"], f"{url}?warning=1", "warning"),
            Figure(_("已超时"), counts["overdue"], f"{url}?warning=3", "danger"),
        ],
    )
