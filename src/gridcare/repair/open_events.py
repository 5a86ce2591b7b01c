"""What the API tells a fault caller at once: the open outage event covering the customer, read from
a short per-process view of the open events (refreshed at most every ``REFRESH_SECONDS``), so the
intake endpoint answers without a query of its own (docs/decisions/0006-queued-fault-calls.md).

The view may lag a second or two behind the board: a caller may hear "正在研判" for an event formed
a moment ago; the call is linked to it all the same when it is processed. Never written to.
"""

from __future__ import annotations

import time

from .models import DeviceLevel, FaultEvent

REFRESH_SECONDS = 1.5

_view: dict = {"until": 0.0, DeviceLevel.FEEDER: {}, DeviceLevel.AREA: {}, DeviceLevel.CUSTOMER: {}}


def forget() -> None:
    """Read the events again at the next call (tests; after an analysis run in this process)."""
    _view["until"] = 0.0


_RELATED = ("crew", "transformer_area", "feeder", "customer")


def _refresh() -> None:
    """Feeder and transformer-area events whole (a storm has tens of them); single-customer events
    (a storm has a thousand: one per customer-side fault) only by customer, read whole when their
    customer calls again."""
    events = (
        FaultEvent.objects.filter(
            state__in=FaultEvent.OPEN_STATES, level__in=(DeviceLevel.FEEDER, DeviceLevel.AREA)
        )
        .select_related(*_RELATED)
        .order_by("created_at", "id")
    )
    by_level: dict[str, dict[int, FaultEvent | int]] = FaultEvent.oldest_by_device(events)
    own = (
        FaultEvent.objects.filter(state__in=FaultEvent.OPEN_STATES, level=DeviceLevel.CUSTOMER)
        .exclude(customer_id=None)
        .order_by("-created_at", "-id")
        .values_list("customer_id", "pk")
    )
    by_level[DeviceLevel.CUSTOMER] = dict(own)  # the oldest wins: written last
    _view.update(by_level)
    _view["until"] = time.monotonic() + REFRESH_SECONDS


def covering(customer) -> FaultEvent | None:
    """The open event of the customer's feeder, else of its transformer area, else the customer's
    own (the same precedence as ``analysis.open_event_for``)."""
    if customer is None:
        return None
    if time.monotonic() >= _view["until"]:
        _refresh()
    area = customer.transformer_area
    found = _view[DeviceLevel.FEEDER].get(area.feeder_id) or _view[DeviceLevel.AREA].get(area.pk)
    if found is not None:
        return found
    own = _view[DeviceLevel.CUSTOMER].get(customer.pk)
    if own is None:
        return None
    return (
        FaultEvent.objects.select_related(*_RELATED).filter(pk=own, state__in=FaultEvent.OPEN_STATES).first()
    )
