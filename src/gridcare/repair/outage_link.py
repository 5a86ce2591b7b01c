"""The outage events' public face: each area/feeder event is a fault outage of the outages app
(故障停电信息), which answers "is my power out, until when" and notifies the affected customers
(key customers first) when the outage opens and when power is back.

Only the outages app's stable verbs are used: ``open_fault_outage``, ``update_fault_scope``,
``set_estimated_end``, ``restore`` (docs/outages.md). They run as the system (actor None).
"""

from __future__ import annotations

import logging

from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.outages import services as outages
from gridcare.outages.models import OutageState

from .models import DeviceLevel, OutageEvent

log = logging.getLogger(__name__)


def _scope(event: OutageEvent) -> dict:
    if event.level == DeviceLevel.FEEDER:
        return {"feeders": [event.feeder]}
    return {"transformer_areas": [event.transformer_area]}


def _same_scope(event: OutageEvent) -> bool:
    outage = event.outage
    feeders = set(outage.feeders.values_list("id", flat=True))
    areas = set(outage.transformer_areas.values_list("id", flat=True))
    if event.level == DeviceLevel.FEEDER:
        return feeders == {event.feeder_id} and not areas
    return areas == {event.transformer_area_id} and not feeders


def sync_fault_outage(event: OutageEvent) -> None:
    """Open the event's fault outage, or move its scope to the event's current device."""
    event = OutageEvent.objects.select_related("outage", "feeder", "transformer_area", "station").get(
        pk=event.pk
    )
    if event.level == DeviceLevel.CUSTOMER or not event.is_open:
        return
    try:
        if event.outage_id is None:
            outage = outages.open_fault_outage(
                **_scope(event),
                reason=f"{event.device_label}故障",
                started_at=event.first_call_at or event.created_at,
                estimated_end=event.estimated_restore_at,
                unit=event.station,
                actor=None,
                idempotency_key=f"repair:{event.number}",
            )
            OutageEvent.objects.filter(pk=event.pk).update(outage=outage, customers_notified_at=clock.now())
        elif event.outage.state == OutageState.IN_PROGRESS and not _same_scope(event):
            outages.update_fault_scope(
                outage=event.outage, actor=None, reason=f"{event.device_label}故障", **_scope(event)
            )
    except ApiError as exc:
        log.warning("fault outage of event %s not published: %s", event.number, exc.message)


def take_over_outage(*, source: OutageEvent, target: OutageEvent) -> None:
    """A merged event's outage passes to the target when the target has none yet."""
    if source.outage_id and target.outage_id is None:
        target.outage_id = source.outage_id
        OutageEvent.objects.filter(pk=target.pk).update(outage_id=source.outage_id)
        OutageEvent.objects.filter(pk=source.pk).update(outage=None)
        source.outage_id = None


def set_eta(event: OutageEvent) -> None:
    if event.outage_id and event.estimated_restore_at:
        try:
            outages.set_estimated_end(
                outage=event.outage, estimated_end=event.estimated_restore_at, actor=None
            )
        except ApiError as exc:
            log.warning("estimate of event %s not published: %s", event.number, exc.message)


def restore_outages(event: OutageEvent, note: str) -> None:
    """Power is back: the event's outage and those of events merged into it are restored, which
    sends the restoration notice to every affected customer."""
    pending = [event]
    seen: set[int] = set()
    while pending:
        current = pending.pop()
        if current.pk in seen:
            continue
        seen.add(current.pk)
        if current.outage_id:
            outage = current.outage
            if outage.state in (OutageState.IN_PROGRESS, OutageState.PUBLISHED):
                outages.restore(outage=outage, at=event.restored_at, actor=None, note=note[:300])
        pending.extend(OutageEvent.objects.filter(merged_into=current).select_related("outage"))
