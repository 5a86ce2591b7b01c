"""Placement (故障研判, first step): put each fault call on the topology — by the customer's
account, else the caller's registered phone, else the spoken address against customer addresses,
then against transformer-area names — and write its trouble call. ``analysis`` rolls placed calls
up into events; rules and thresholds in docs/repair.md.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from django.db import IntegrityError, transaction
from django.db.models import F, Value

from gridcare.core import clock
from gridcare.core.memo import Memo
from gridcare.customers.models import Customer, CustomerPhone, Feeder, TransformerArea
from gridcare.customers.queries import normalize_phone, normalize_text
from gridcare.workorders.models import OPEN_STATES, OrderType, WorkOrder

from . import wakeups
from .models import TroubleCall
from .open_events import forget as forget_open_events

ADDRESS_MATCH_LIMIT = 200
# Where a spoken address may be cut to a shorter, still meaningful prefix (…号, …组, …村, …路).
_ADDRESS_CUTS = re.compile(r"[号组村路街巷弄幢栋单元社区镇乡]")


# --- placement --------------------------------------------------------------------------------


@dataclass
class Placement:
    placed_by: str
    customer_id: int | None = None
    area_id: int | None = None
    feeder_id: int | None = None
    station_id: int | None = None


_AREAS: Memo[tuple[int, int]] = Memo(300.0)
_COUNTY: Memo[dict[str, int]] = Memo(300.0)


def county_size() -> dict[str, int]:
    """Customers, transformer areas and feeders of the grid: the analysis model's denominators
    for the background and failure rates (re-read every five minutes)."""
    return _COUNTY.get(
        "size",
        lambda: {
            "customers": Customer.objects.exclude(transformer_area__isnull=True).count(),
            "areas": TransformerArea.objects.count(),
            "feeders": Feeder.objects.count(),
        },
    )


def reset_caches() -> None:
    """Forget cached topology (tests between databases; after a topology import, or wait 5 min),
    the per-process view of open events and the known due roll-up."""
    _AREAS.forget()
    _COUNTY.forget()
    forget_open_events()
    wakeups.forget_wakeups()


def _area_topology(area_id: int) -> tuple[int, int]:
    """(feeder id, station id) of an area, cached for a few minutes per process: every call needs
    it, and the topology changes only by an import."""
    return _AREAS.get(
        area_id,
        lambda: TransformerArea.objects.filter(pk=area_id).values_list("feeder_id", "station_id").get(),
    )


def _area_placement(placed_by: str, area_id: int, customer_id: int | None = None) -> Placement:
    feeder_id, station_id = _area_topology(area_id)
    return Placement(placed_by, customer_id, area_id, feeder_id, station_id)


def _address_candidates(text: str) -> list[str]:
    """The full address, then ever shorter prefixes ending at a 号/组/村/路… (at least 4 characters)."""
    out = [text]
    cuts = [m.end() for m in _ADDRESS_CUTS.finditer(text)]
    for end in reversed(cuts):
        prefix = text[:end]
        if len(prefix) >= 4 and prefix not in out:
            out.append(prefix)
    return out


def place_by_address(address: str) -> Placement:
    text = normalize_text(address)
    if len(text) < 4:
        return Placement(TroubleCall.PlacedBy.UNPLACED)
    for candidate in _address_candidates(text):
        rows = list(
            Customer.objects.filter(search_text__contains=candidate).values_list(
                "id", "transformer_area_id", "transformer_area__feeder_id", "station_id"
            )[:ADDRESS_MATCH_LIMIT]
        )
        if not rows:
            continue
        areas = {r[1] for r in rows}
        if len(rows) == 1 or len(areas) == 1:
            customer_id = rows[0][0] if len(rows) == 1 else None
            return Placement(TroubleCall.PlacedBy.ADDRESS, customer_id, rows[0][1], rows[0][2], rows[0][3])
        feeders = {r[2] for r in rows}
        if len(feeders) == 1:
            return Placement(TroubleCall.PlacedBy.ADDRESS, None, None, rows[0][2], rows[0][3])
        break  # ambiguous: a shorter prefix only matches more places
    # Transformer area names ("柳树村5组台区") spoken as part of the address.
    area = (
        TransformerArea.objects.alias(core=F("name"), spoken=Value(text))
        .filter(spoken__contains=F("core"))
        .only("id", "feeder_id", "station_id")
        .first()
    )
    if area is None:
        stripped = (
            TransformerArea.objects.filter(name__endswith="台区")
            .values_list("id", "name", "feeder_id", "station_id")
            .iterator()
        )
        for area_id, name, feeder_id, station_id in stripped:
            core = normalize_text(name[: -len("台区")])
            if len(core) >= 4 and core in text:
                return Placement(TroubleCall.PlacedBy.AREA_NAME, None, area_id, feeder_id, station_id)
        return Placement(TroubleCall.PlacedBy.UNPLACED)
    return Placement(TroubleCall.PlacedBy.AREA_NAME, None, area.pk, area.feeder_id, area.station_id)


def place_order(order: WorkOrder) -> Placement:
    """Where on the topology a fault call comes from."""
    if order.customer_id:
        customer = order.customer
        return _area_placement(TroubleCall.PlacedBy.ACCOUNT, customer.transformer_area_id, customer.pk)
    phone = normalize_phone(order.caller_phone)
    if phone:
        owners = list(
            CustomerPhone.objects.filter(number=phone)
            .values_list("customer_id", "customer__transformer_area_id")
            .distinct()[:5]
        )
        if owners and len({area for _c, area in owners}) == 1:
            customer_id = owners[0][0] if len(owners) == 1 else None
            return _area_placement(TroubleCall.PlacedBy.PHONE, owners[0][1], customer_id)
    if order.address:
        return place_by_address(order.address)
    return Placement(TroubleCall.PlacedBy.UNPLACED)


def caller_key(order: WorkOrder, placement: Placement) -> str:
    """Who is calling, for counting distinct customers of an area."""
    if placement.customer_id:
        return f"c{placement.customer_id}"
    return f"p{normalize_phone(order.caller_phone) or order.pk}"


def build_trouble_call(order: WorkOrder, *, hazard: bool = False) -> TroubleCall:
    placement = place_order(order)
    return TroubleCall(
        order=order,
        customer_id=placement.customer_id,
        transformer_area_id=placement.area_id,
        feeder_id=placement.feeder_id,
        station_id=placement.station_id or (order.customer.station_id if order.customer_id else None),
        placed_by=placement.placed_by,
        hazard=hazard,
        caller_key=caller_key(order, placement),
        received_at=order.created_at,
    )


def make_trouble_call(order: WorkOrder) -> TroubleCall:
    call = build_trouble_call(order)
    call.save(force_insert=True)
    return call


# Orders taken through ``report_fault_call`` get their trouble call a moment after the order
# commits; the roll-up leaves younger orders to that intake.
INTAKE_GRACE = dt.timedelta(seconds=10)


def place_new_orders(since: dt.datetime, now: dt.datetime | None = None) -> int:
    """Fault orders created elsewhere (work-order API, hotline) that have no trouble call yet."""
    now = now or clock.now()
    orders = (
        WorkOrder.objects.filter(
            order_type=OrderType.FAULT_REPAIR,
            state__in=OPEN_STATES,
            created_at__gte=since,
            created_at__lte=now - INTAKE_GRACE,
            trouble_call__isnull=True,
        )
        .select_related("customer")
        .order_by("created_at")
    )
    count = 0
    for order in orders:
        try:
            with transaction.atomic():
                make_trouble_call(order)
            count += 1
        except IntegrityError:
            continue  # placed by its intake meanwhile
    return count
