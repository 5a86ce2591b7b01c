"""Where the subject of a staff message lives: an order, an outage event, an outage.

``notify`` is below the business apps and does not import them: each app registers, in its
``AppConfig.ready``, the URL name of the page of the objects its messages are about
(``register("workorders.workorder", "workorders:detail", _("查看工单"))``); the inbox then links
each message to that page with the message's ``about_id``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise


@dataclass(frozen=True)
class Link:
    url: str
    label: str


_routes: dict[str, tuple[str, str | Promise]] = {}  # the label lazy: translated when shown


def register(about_type: str, url_name: str, label: str | Promise) -> None:
    _routes[about_type] = (url_name, label)


def link_for(about_type: str, about_id: str) -> Link | None:
    route = _routes.get(about_type)
    if route is None or not about_id:
        return None
    try:
        return Link(reverse(route[0], args=[about_id]), f"{route[1]} {about_id}")
    except NoReverseMatch:
        return None
