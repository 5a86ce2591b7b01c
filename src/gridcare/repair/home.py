"""The repair tile of the 工作台: open outage events, those waiting for a crew, calls to place;
for a crew member, their open jobs."""

from __future__ import annotations

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.translation import gettext as _

from gridcare.org import scoping
from gridcare.org.home import Figure, Tile
from gridcare.org.models import Role

from .models import FaultEvent
from .queries import my_open_jobs, pending_calls, visible_events
from .services import DISPATCH_ROLES


def tile(request) -> Tile | None:
    user = request.user
    if scoping.has_role(user, *DISPATCH_ROLES):
        board = reverse("repair:board")
        counts = (
            visible_events(user, request.active_unit)
            .filter(state__in=FaultEvent.OPEN_STATES)
            .aggregate(
                open=Count("id"),
                waiting=Count("id", filter=Q(state=FaultEvent.State.WAITING)),
                warned=Count("id", filter=Q(service_warning_level__gt=0)),
            )
        )
        return Tile(
            title=_("抢修指挥"),
            link=board,
            order=20,
            figures=[
                Figure(_("在途抢修事件"), counts["open"], board),
                Figure(_("待派工"), counts["waiting"], board, "warning"),
                Figure(_("待定位来电"), pending_calls(user, request.active_unit).count(), board, "warning"),
                Figure(_("超时预警"), counts["warned"], board, "danger"),
            ],
        )
    if scoping.has_role(user, Role.CREW):
        jobs = reverse("repair:my_jobs")
        return Tile(
            title=_("我的抢修任务"),
            link=jobs,
            order=20,
            figures=[Figure(_("进行中"), my_open_jobs(user).count(), jobs, "warning")],
        )
    return None
