"""The outage tile of the 工作台: outages in effect today, fault outages, planned this week."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _

from gridcare.org.home import Figure, Tile

from .queries import filter_when, visible_outages


def tile(request) -> Tile:
    url = reverse("outages:list")
    visible = visible_outages(request.user, request.active_unit)
    return Tile(
        title=_("停电信息"),
        link=url,
        order=30,
        figures=[
            Figure(_("今日停电"), filter_when(visible, "today").count(), f"{url}?when=today"),
            Figure(_("故障停电"), filter_when(visible, "fault").count(), f"{url}?when=fault", "danger"),
            Figure(_("7天内停电"), filter_when(visible, "week").count(), f"{url}?when=week"),
        ],
    )
