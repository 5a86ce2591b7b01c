"""One entry point for the actions on an event, for the API and the pages: the action name and
plain payload (codes, numbers, text) are resolved to objects and handed to the service verb."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.utils.translation import gettext

from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.customers.models import Feeder, TransformerArea
from gridcare.org import scoping
from gridcare.org.types import Actor

from . import queries, services
from .models import Crew, FaultEvent
from .transitions import ACTIONS, EVENTS
from .transitions import FaultEventAction as A

__all__ = ["ACTIONS", "act_on_event"]


def _crew(actor: Actor, code: str | None) -> Crew:
    if not code:
        raise ApiError("crew_required", gettext("请选择队伍"), status=422)
    crew = Crew.objects.select_related("station", "team_unit").filter(code=code, is_active=True).first()
    if crew is None or not scoping.unit_in_scope(actor, crew.station_id):
        raise ApiError("invalid_crew", gettext("队伍不存在或不在您的管辖范围内"), status=422)
    return crew


def _visible_area(actor: Actor, code: str | None) -> TransformerArea | None:
    if not code:
        return None
    area = TransformerArea.objects.select_related("feeder").filter(code=code).first()
    if area is None or not scoping.unit_in_scope(actor, area.station_id):
        raise ApiError("invalid_area", gettext("台区不存在或不在您的管辖范围内"), status=422)
    return area


def _visible_feeder(actor: Actor, code: str | None) -> Feeder | None:
    if not code:
        return None
    feeder = Feeder.objects.filter(code=code).first()
    if feeder is None or not scoping.unit_in_scope(actor, feeder.unit_id):
        raise ApiError("invalid_feeder", gettext("线路不存在或不在您的管辖范围内"), status=422)
    return feeder


def act_on_event(*, event: FaultEvent, action: str, actor: Actor, **p: Any) -> FaultEvent:
    """The row's verb with the payload turned into objects (in the actor's scope); an action not in
    the table is ``unknown_action`` (404)."""
    action = EVENTS.transition(action).action
    note = str(p.get("note") or "")
    if action == A.CONFIRM:
        return services.confirm_event(event=event, actor=actor, note=note)
    if action == A.REASSIGN:
        return services.reassign_device(
            event=event,
            actor=actor,
            level=str(p.get("level") or ""),
            area=_visible_area(actor, p.get("transformer_area")),
            feeder=_visible_feeder(actor, p.get("feeder")),
            note=note,
        )
    if action == A.SPLIT:
        return services.split_event(
            event=event, actor=actor, order_numbers=list(p.get("orders") or []), note=note
        )
    if action == A.MERGE:
        target = queries.get_event(actor, str(p.get("into") or ""))
        return services.merge_events(source=event, target=target, actor=actor, note=note)
    if action == A.DISPATCH:
        return services.dispatch_to_crew(
            event=event,
            crew=_crew(actor, p.get("crew")),
            actor=actor,
            note=note,
            replace=bool(p.get("replace")),
        )
    if action == A.REINFORCE:
        return services.send_reinforcement(
            event=event, crew=_crew(actor, p.get("crew")), actor=actor, note=note
        )
    if action == A.ARRIVE:
        return services.report_arrival(event=event, actor=actor, note=note)
    if action == A.PROGRESS:
        return services.report_progress(
            event=event, actor=actor, situation=str(p.get("situation") or ""), cause=str(p.get("cause") or "")
        )
    if action == A.ETA:
        eta = p.get("estimated_restore_at")
        if isinstance(eta, str) and eta:
            eta = dt.datetime.fromisoformat(eta)
        if not isinstance(eta, dt.datetime):
            raise ApiError("eta_required", "请填写预计恢复送电时间 (estimated_restore_at).", status=422)
        if eta.tzinfo is None:
            eta = eta.replace(tzinfo=clock.LOCAL_TZ)
        return services.report_eta(event=event, actor=actor, estimated_restore_at=eta, note=note)
    if action == A.SUPPORT:
        services.request_support(event=event, actor=actor, kind=str(p.get("kind") or ""), note=note)
        return event
    if action == A.RESTORE:
        return services.report_restored(
            event=event, actor=actor, result=str(p.get("result") or note), cause=str(p.get("cause") or "")
        )
    return services.cancel_event(event=event, actor=actor, note=note)
