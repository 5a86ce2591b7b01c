"""Scoped reads of fault repair command, used by pages and the API alike.

Events and crews are seen by the subtree of their station (org.scoping); a crew member also sees
the events their crew is sent to, wherever they are.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Count, Prefetch, Q, QuerySet
from django.http import Http404

from gridcare.customers.models import TransformerArea
from gridcare.org import scoping
from gridcare.org.types import Viewer
from gridcare.workorders.models import OPEN_STATES
from gridcare.workorders.queries import visible_orders

from .analysis import affected_customers
from .models import Crew, CrewAssignment, DutyRoster, FaultEvent, ReportedCall, TroubleCall


def visible_events(user: Viewer, active_unit: Any = None) -> QuerySet[FaultEvent]:
    scoped = scoping.restrict(FaultEvent.objects.all(), user, "station_id", active_unit)
    mine = FaultEvent.objects.filter(
        Q(assignments__crew__members=user) | Q(assignments__crew__leader=user)
    ).values("pk")
    if getattr(user, "is_superuser", False) and active_unit is None:
        return scoped
    return FaultEvent.objects.filter(Q(pk__in=scoped.values("pk")) | Q(pk__in=mine))


def _with_relations(qs: QuerySet[FaultEvent]) -> QuerySet[FaultEvent]:
    return qs.select_related(
        "station", "crew", "feeder", "transformer_area", "customer", "primary_order", "confirmed_by", "outage"
    )


def board(user: Viewer, *, active_unit: Any = None, state: str = "", level: str = "") -> QuerySet[FaultEvent]:
    """The live board: open events, feeders and areas before single customers, oldest first."""
    qs = visible_events(user, active_unit).filter(state__in=FaultEvent.OPEN_STATES)
    if state:
        qs = qs.filter(state=state)
    if level:
        qs = qs.filter(level=level)
    return _with_relations(qs).order_by("-hazard", "-service_warning_level", "level", "created_at")


def station_waiting_events(user: Viewer, station_id: int, active_unit: Any = None) -> list[FaultEvent]:
    """The station's open events without a crew (its part of the crew queue), as the viewer sees them."""
    qs = visible_events(user, active_unit).filter(
        station_id=station_id, state=FaultEvent.State.WAITING, crew__isnull=True
    )
    return list(_with_relations(qs))


def recent_closed(user: Viewer, *, active_unit: Any = None, limit: int = 20) -> list[FaultEvent]:
    qs = visible_events(user, active_unit).filter(
        state__in=[FaultEvent.State.RESTORED, FaultEvent.State.CANCELLED]
    )
    return list(_with_relations(qs).order_by("-restored_at")[:limit])


def get_event(user: Viewer, number: str, active_unit: Any = None) -> FaultEvent:
    qs = _with_relations(visible_events(user, active_unit))
    try:
        return qs.get(number=number)
    except FaultEvent.DoesNotExist as exc:
        raise Http404("not found") from exc


def event_calls(event: FaultEvent) -> QuerySet[TroubleCall]:
    return (
        TroubleCall.objects.filter(event=event)
        .select_related("order", "customer", "transformer_area")
        .order_by("received_at", "id")
    )


def event_customers(event: FaultEvent, limit: int | None = 200):
    qs = affected_customers(event).select_related("transformer_area")
    return qs[:limit] if limit else qs


def topology_tree(event: FaultEvent) -> dict:
    """Map-free topology of the event: substation > feeder > areas, with the callers per area."""
    feeder = event.feeder or (event.transformer_area.feeder if event.transformer_area_id else None)
    if feeder is None and event.customer_id:
        feeder = event.customer.transformer_area.feeder
    if feeder is None:
        return {}
    callers = dict(
        TroubleCall.objects.filter(event=event)
        .values_list("transformer_area_id")
        .annotate(n=Count("caller_key", distinct=True))
    )
    areas = (
        TransformerArea.objects.filter(feeder=feeder)
        .annotate(n_customers=Count("customers"))
        .order_by("code")
    )
    suspect_area = event.transformer_area_id if event.level == "area" else None
    return {
        "substation": feeder.substation,
        "feeder": feeder,
        "feeder_suspect": event.level == "feeder",
        "areas": [
            {
                "area": a,
                "customers": a.n_customers,
                "callers": callers.get(a.pk, 0),
                "suspect": a.pk == suspect_area,
                "affected": event.level == "feeder" or a.pk == suspect_area,
            }
            for a in areas
        ],
    }


def visible_crews(user: Viewer, active_unit: Any = None) -> QuerySet[Crew]:
    return scoping.restrict(Crew.objects.filter(is_active=True), user, "station_id", active_unit)


def crew_board(user: Viewer, active_unit: Any = None) -> list[Crew]:
    active = CrewAssignment.objects.filter(released_at__isnull=True).select_related("event")
    return list(
        visible_crews(user, active_unit)
        .select_related("station", "team_unit", "leader")
        .prefetch_related("members", Prefetch("assignments", queryset=active, to_attr="active_jobs"))
        .order_by("station__path", "code")
    )


def get_crew(user: Viewer, code: str, active_unit: Any = None) -> Crew:
    return scoping.get_for_user(
        Crew.objects.select_related("station", "team_unit", "leader"),
        user,
        "station_id",
        active_unit,
        code=code,
    )


def my_crews(user: Viewer) -> list[Crew]:
    return list(
        Crew.objects.filter(Q(members=user) | Q(leader=user), is_active=True)
        .distinct()
        .select_related("station")
    )


def my_open_jobs(user: Viewer) -> QuerySet[FaultEvent]:
    """The open events of the crews ``user`` belongs to (or leads)."""
    return FaultEvent.objects.filter(
        Q(assignments__crew__members=user) | Q(assignments__crew__leader=user),
        assignments__released_at__isnull=True,
        state__in=FaultEvent.OPEN_STATES,
    ).distinct()


def my_jobs(user: Viewer) -> list[FaultEvent]:
    """The crew member's page: the open events of their crews."""
    return list(_with_relations(my_open_jobs(user)).order_by("-hazard", "created_at"))


def rosters_today(user: Viewer, date, active_unit: Any = None) -> list[DutyRoster]:
    crews = visible_crews(user, active_unit)
    return list(
        DutyRoster.objects.filter(date=date, crew__in=crews)
        .select_related("crew", "crew__station")
        .order_by("shift")
    )


def pending_calls(user: Viewer, active_unit: Any = None) -> QuerySet[TroubleCall]:
    """Calls not yet in an event (waiting for the roll-up, or not placed: the dispatcher places them)."""
    return (
        TroubleCall.objects.filter(event__isnull=True, order__state__in=OPEN_STATES)
        .filter(order__in=visible_orders(user, active_unit).values("pk"))
        .select_related("order", "transformer_area")
        .order_by("received_at")
    )


# --- calls recorded by the API (来电登记) ------------------------------------------------------------


def get_reported_call(user: Viewer, ref: str, active_unit: Any = None) -> ReportedCall:
    """A recorded call by its reference: for the person who reported it, or staff whose scope
    covers its unit (the customer's station; the reporter's unit when the customer is unknown)."""
    try:
        key = uuid.UUID(str(ref))
    except ValueError as exc:
        raise Http404("not found") from exc
    call = ReportedCall.objects.select_related("order", "customer__transformer_area").filter(ref=key).first()
    if call is not None and active_unit is None and call.actor_id == getattr(user, "pk", None):
        return call
    return scoping.require_in_scope(call, user, "unit_id", active_unit)


def failed_calls(user: Viewer, active_unit: Any = None) -> QuerySet[ReportedCall]:
    """Recorded calls whose processing failed: a person takes them (the board lists them)."""
    return (
        scoping.restrict(
            ReportedCall.objects.filter(state=ReportedCall.State.FAILED), user, "unit_id", active_unit
        )
        .select_related("customer", "actor")
        .order_by("id")
    )


def queued_calls(user: Viewer, active_unit: Any = None) -> QuerySet[ReportedCall]:
    """Recorded calls still waiting to be processed (normally seconds)."""
    return scoping.restrict(
        ReportedCall.objects.filter(state=ReportedCall.State.QUEUED), user, "unit_id", active_unit
    )
