"""What the command wall (供电服务指挥大屏) shows: counts of one unit's subtree, right now — calls
and agents, open orders by type with warnings, live fault events on the county's topology, crews
by status, arrivals against their limits today, complaint hot spots. No personal data: numbers,
unit and device names, event numbers. Read without a viewer: the screen's unit is its scope."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import Any

from django.db.models import Count, DurationField, ExpressionWrapper, F, Q, Sum

from gridcare.core.clock import LOCAL_TZ, local, local_now
from gridcare.core.clock import now as clock_now
from gridcare.customers.models import Feeder
from gridcare.hotline.models import AgentState, Call
from gridcare.org.models import Role, RoleAssignment, Unit
from gridcare.repair.models import Crew, DeviceLevel, FaultEvent
from gridcare.workorders.models import OPEN_STATES, Deadline, OrderType

from . import metrics

HOT_SPOT_DAYS = 7


def _today_start() -> dt.datetime:
    return dt.datetime.combine(local_now().date(), dt.time(), tzinfo=LOCAL_TZ)


def calls(unit: Unit) -> dict[str, Any]:
    """Calls waiting (queued or ringing) and in conversation now, today's offered, answered and
    abandoned (short abandons not counted), agents by state."""
    mine = Call.objects.filter(metrics.SOURCES["calls"].unit_q(unit))
    today = mine.filter(call_date=local_now().date()).aggregate(
        offered=Count("id"),
        answered=Count("id", filter=Q(outcome=Call.Outcome.ANSWERED)),
        abandoned=Count("id", filter=Q(outcome=Call.Outcome.ABANDONED, short_abandon=False)),
        short=Count("id", filter=Q(short_abandon=True)),
    )
    live = mine.filter(
        state__in=[Call.State.QUEUED, Call.State.RINGING, Call.State.ANSWERED],
        arrived_at__gte=clock_now() - dt.timedelta(hours=2),
    ).aggregate(
        waiting=Count("id", filter=Q(state__in=[Call.State.QUEUED, Call.State.RINGING])),
        talking=Count("id", filter=Q(state=Call.State.ANSWERED)),
    )
    agents = RoleAssignment.objects.filter(role=Role.AGENT, unit__in=unit.subtree()).values("user_id")
    states = Counter(AgentState.objects.filter(agent_id__in=agents).values_list("state", flat=True))
    offered = today["offered"] - today["short"]
    return {
        "ringing": live["waiting"],
        "talking": live["talking"],
        "offered_today": today["offered"],
        "answered_today": today["answered"],
        "abandoned_today": today["abandoned"],
        "answer_rate": round(100 * today["answered"] / offered, 1) if offered else None,
        "agents": [
            {"label": str(s.label), "n": states.get(s.value, 0)}
            for s in AgentState.State
            if s != AgentState.State.OFFLINE
        ],
    }


def orders(unit: Unit) -> dict[str, Any]:
    rows = (
        metrics.unit_orders(unit)
        .filter(state__in=OPEN_STATES)
        .values("order_type")
        .annotate(**metrics.warning_counts())
        .order_by("-open")
    )
    by_type = [
        {
            "type": str(OrderType(r["order_type"]).label),
            "open": r["open"],
            "near": r["near"],
            "overdue": r["overdue"],
        }
        for r in rows
    ]
    return {
        "by_type": by_type,
        "open": sum(r["open"] for r in by_type),
        "near": sum(r["near"] for r in by_type),
        "overdue": sum(r["overdue"] for r in by_type),
    }


def events(unit: Unit) -> list[dict[str, Any]]:
    now = clock_now()
    live = (
        FaultEvent.objects.filter(state__in=FaultEvent.OPEN_STATES, station__in=unit.subtree())
        .exclude(level=DeviceLevel.CUSTOMER)
        .select_related("station", "feeder", "transformer_area", "crew")
        .order_by("-hazard", "-affected_count", "created_at")[:40]
    )
    out = []
    for e in live:
        started = e.first_call_at or e.created_at
        out.append(
            {
                "number": e.number,
                "level": e.get_level_display(),
                "level_code": e.level,
                "device": e.transformer_area.name
                if e.transformer_area
                else (e.feeder.name if e.feeder else ""),
                "feeder_id": e.feeder_id,
                "station": e.station.name if e.station else "",
                "state": e.get_state_display(),
                "hazard": e.hazard,
                "confidence": float(e.confidence),
                "affected": e.affected_count,
                "callers": e.caller_count,
                "crew": e.crew.name if e.crew else "",
                "minutes": int((now - started).total_seconds() // 60),
            }
        )
    return out


def topology(unit: Unit, live: list[dict[str, Any]]) -> dict[str, Any]:
    """The unit's stations and their feeders, each feeder marked by its live events: "outage"
    (a feeder event), "suspect" (area events on it), or "normal"."""
    on_feeder: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for e in live:
        if e["feeder_id"]:
            on_feeder[e["feeder_id"]].append(e)
    stations: dict[int, dict[str, Any]] = {}
    for f in (
        Feeder.objects.filter(unit__in=unit.subtree()).select_related("unit").order_by("unit__path", "code")
    ):
        station = stations.setdefault(f.unit_id, {"name": f.unit.name, "children": []})
        here = on_feeder.get(f.pk, [])
        status = (
            "outage"
            if any(e["level_code"] == DeviceLevel.FEEDER for e in here)
            else ("suspect" if here else "normal")
        )
        station["children"].append({"name": f.name, "status": status, "events": len(here)})
    return {"name": unit.name, "children": list(stations.values())}


def crews(unit: Unit) -> list[dict[str, Any]]:
    counts = Counter(Crew.objects.filter(station__in=unit.subtree()).values_list("status", flat=True))
    return [{"status": s.value, "label": str(s.label), "n": counts.get(s.value, 0)} for s in Crew.Status]


def arrivals(unit: Unit) -> dict[str, Any]:
    """Today's arrival time limits: met on time, late (met late or overdue), still running, and
    the average minutes to arrive — one query."""
    now = clock_now()
    met = Q(met_at__isnull=False)
    got = Deadline.objects.filter(
        metrics.SOURCES["deadlines"].unit_q(unit), milestone="arrive", started_at__gte=_today_start()
    ).aggregate(
        on_time=Count("id", filter=met & Q(met_at__lte=F("due_at"))),
        met=Count("id", filter=met),
        overdue=Count("id", filter=Q(met_at__isnull=True, due_at__lt=now)),
        running=Count("id", filter=Q(met_at__isnull=True, due_at__gte=now)),
        took=Sum(ExpressionWrapper(F("met_at") - F("started_at"), output_field=DurationField()), filter=met),
    )
    seconds = metrics.duration_total(got["took"]) if got["took"] is not None else None
    return {
        "on_time": got["on_time"],
        "late": got["met"] - got["on_time"] + got["overdue"],
        "running": got["running"],
        "avg_minutes": round(float(seconds) / got["met"] / 60, 1)
        if seconds is not None and got["met"]
        else None,
    }


def hot_spots(unit: Unit) -> list[dict[str, Any]]:
    return metrics.complaint_hot_spots(unit, clock_now() - dt.timedelta(days=HOT_SPOT_DAYS), limit=8)


def snapshot(unit: Unit) -> dict[str, Any]:
    live = events(unit)
    data: dict[str, Any] = {
        "unit": unit.name,
        "at": local(clock_now()).strftime("%Y-%m-%d %H:%M:%S"),
        "calls": calls(unit),
        "orders": orders(unit),
        "events": live,
        "topology": topology(unit, live),
        "crews": crews(unit),
        "arrivals": arrivals(unit),
        "hot_spots": hot_spots(unit),
    }
    for e in live:
        del e["feeder_id"], e["level_code"]
    return data
