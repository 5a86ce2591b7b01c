"""The outage events' public face: each area/feeder event is a fault outage of the outages app
(故障停电信息), which answers "is my power out, until when" and notifies the affected customers
(key customers first) when the outage opens and when power is back.

Only the outages app's stable verbs are used: ``open_fault_outage``, ``update_fault_scope``,
``set_estimated_end``, ``restore`` (docs/outages.md). They run as the system (actor None).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.outages import services as outages
from gridcare.outages.models import OutageState

from .models import DeviceLevel, FaultEvent

log = logging.getLogger(__name__)


def _with_merged(event: FaultEvent, *related: str) -> Iterator[FaultEvent]:
    """``event`` and every event merged into it, directly or through others, each once (read
    with ``related`` joined)."""
    pending, seen = [event], set()
    while pending:
        current = pending.pop()
        if current.pk in seen:
            continue
        seen.add(current.pk)
        yield current
        pending.extend(FaultEvent.objects.filter(merged_into=current).select_related(*related))


def _scope(event: FaultEvent) -> dict:
    """The event's device and the devices of the events merged into it (areas on a feeder of the
    scope are covered by the feeder)."""
    feeders, areas = {}, {}
    for current in _with_merged(event, "feeder", "transformer_area"):
        if current.level == DeviceLevel.FEEDER and current.feeder_id:
            feeders[current.feeder_id] = current.feeder
        elif current.level == DeviceLevel.AREA and current.transformer_area_id:
            areas[current.transformer_area_id] = current.transformer_area
    return {
        "feeders": list(feeders.values()),
        "transformer_areas": [a for a in areas.values() if a.feeder_id not in feeders],
    }


def _same_scope(event: FaultEvent, scope: dict) -> bool:
    outage = event.outage
    return set(outage.feeders.values_list("id", flat=True)) == {f.pk for f in scope["feeders"]} and set(
        outage.transformer_areas.values_list("id", flat=True)
    ) == {a.pk for a in scope["transformer_areas"]}


def sync_fault_outage(event: FaultEvent) -> None:
    """Open the event's fault outage, or move its scope to the event's current device."""
    event = FaultEvent.objects.select_related("outage", "feeder", "transformer_area", "station").get(
        pk=event.pk
    )
    if event.level == DeviceLevel.CUSTOMER or not event.is_open:
        return
    scope = _scope(event)
    try:
        if event.outage_id is None:
            outage = outages.open_fault_outage(
                **scope,
                reason=f"{event.device_label}故障",
                started_at=event.first_call_at or event.created_at,
                estimated_end=event.estimated_restore_at,
                unit=event.station,
                actor=None,
                idempotency_key=f"repair:{event.number}",
            )
            FaultEvent.objects.filter(pk=event.pk).update(outage=outage, customers_notified_at=clock.now())
        elif event.outage.state == OutageState.IN_PROGRESS and not _same_scope(event, scope):
            outages.update_fault_scope(
                outage=event.outage, actor=None, reason=f"{event.device_label}故障", **scope
            )
    except ApiError as exc:
        log.warning("fault outage of event %s not published: %s", event.number, exc.message)


def take_over_outage(*, source: FaultEvent, target: FaultEvent) -> None:
    """A merged event's outage passes to the target when the target has none yet; when both have
    one, the source's is merged into the target's (its customers are told once, restored once)."""
    if not source.outage_id or source.outage_id == target.outage_id:
        return
    if target.outage_id is None:
        target.outage_id = source.outage_id
        FaultEvent.objects.filter(pk=target.pk).update(outage_id=source.outage_id)
        FaultEvent.objects.filter(pk=source.pk).update(outage=None)
        source.outage_id = None
        return
    try:
        outages.merge_fault_outage(
            source=source.outage,
            into=target.outage,
            actor=None,
            note=f"抢修事件 {source.number} 并入 {target.number}",
        )
    except ApiError as exc:
        log.warning("outage of event %s not merged into %s: %s", source.number, target.number, exc.message)


def set_eta(event: FaultEvent) -> None:
    if event.outage_id and event.estimated_restore_at:
        try:
            outages.set_estimated_end(
                outage=event.outage, estimated_end=event.estimated_restore_at, actor=None
            )
        except ApiError as exc:
            log.warning("estimate of event %s not published: %s", event.number, exc.message)


def restore_outages(event: FaultEvent, note: str) -> None:
    """Power is back: the event's outage and those of events merged into it are restored, which
    sends the restoration notice to every affected customer."""
    for current in _with_merged(event, "outage"):
        if current.outage_id:
            outage = current.outage
            if outage.state in (OutageState.IN_PROGRESS, OutageState.PUBLISHED):
                outages.restore(outage=outage, at=event.restored_at, actor=None, note=note[:300])
