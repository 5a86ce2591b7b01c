"""The 电费 tile of the 工作台 for billing clerks and managers: runs waiting for review or release,
their open anomalies, disconnections and reconnections under way in the user's scope."""

from __future__ import annotations

from django.db.models import Sum
from django.urls import reverse
from django.utils.translation import gettext as _

from gridcare.org import scoping
from gridcare.org.home import Figure, Tile
from gridcare.org.types import StaffRequest

from .models import BillingRun, DisconnectionCase

USERS = ("billing_clerk", "manager", "admin")
CUT_PENDING = (
    DisconnectionCase.State.PROPOSED,
    DisconnectionCase.State.NOTIFIED,
    DisconnectionCase.State.CALLED,
)


def tile(request: StaffRequest) -> Tile | None:
    user = request.user
    if not scoping.authenticated(user) or not (user.is_superuser or scoping.has_role(user, *USERS)):
        return None
    url = reverse("billing:runs")
    cases_url = reverse("billing:cases")
    waiting = scoping.restrict(BillingRun.objects.all(), user, "unit_id", request.active_unit).filter(
        state=BillingRun.State.CALCULATED
    )
    cases = scoping.restrict(DisconnectionCase.objects.all(), user, "unit_id", request.active_unit)
    return Tile(
        title=_("电费核算"),
        link=url,
        order=16,
        figures=[
            Figure(_("待发行批次"), waiting.count(), url),
            Figure(_("待审异常"), waiting.aggregate(n=Sum("anomalies"))["n"] or 0, url, "warning"),
            Figure(
                _("待停电"), cases.filter(state__in=CUT_PENDING).count(), f"{cases_url}?state=pending_cut"
            ),
            Figure(
                _("待复电"),
                cases.filter(state=DisconnectionCase.State.RECONNECTING).count(),
                f"{cases_url}?state=reconnecting",
                "danger",
            ),
        ],
    )
