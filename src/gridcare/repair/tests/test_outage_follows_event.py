"""The public fault outage follows its repair event's device: when the dispatcher promotes an area
event to its feeder, the area's customers (told of the transformer fault) get one correction, the
feeder's other customers one notice, and at the restoration everyone one restoration notice."""

from __future__ import annotations

from collections import Counter

import pytest

from gridcare.notify.models import Channel, Message
from gridcare.outages.models import Outage
from gridcare.repair import services
from gridcare.repair.models import DeviceLevel, FaultEvent

from .helpers import call

pytestmark = pytest.mark.django_db


def purposes(outage: Outage) -> dict[str, Counter]:
    """Each customer's SMS about the outage, counted by purpose (notice, corrected, restored …)."""
    found: dict[str, Counter] = {}
    for customer_id, key in Message.objects.filter(
        about_type="outages.outage", about_id=outage.number, channel=Channel.SMS
    ).values_list("recipient_id", "dedup_key"):
        found.setdefault(customer_id, Counter())[key.split(":")[2]] += 1
    return found


def test_promoting_an_area_event_to_the_feeder_corrects_the_area_and_tells_the_rest_once(grid, storm_clock):
    area = grid.areas[0]
    for c in grid.customers_by_area[area.pk][:3]:
        call(grid, c)
    services.run_analysis()
    event = FaultEvent.objects.get(level=DeviceLevel.AREA, transformer_area=area)
    outage = Outage.objects.get(pk=event.outage_id)
    area_customers = {str(c.pk) for c in grid.customers_by_area[area.pk]}
    assert set(purposes(outage)) == area_customers  # told of the transformer fault

    event = services.reassign_device(
        event=event, actor=grid.dispatcher, level=DeviceLevel.FEEDER, feeder=grid.feeder_east, note="整线失电"
    )

    outage.refresh_from_db()
    feeder_customers = {str(c.pk) for people in grid.customers_by_area.values() for c in people} | {
        str(grid.customer_east.pk)
    }
    assert outage.customer_count == len(feeder_customers) == 21
    told = purposes(outage)
    assert set(told) == feeder_customers
    for customer_id, sent in told.items():
        if customer_id in area_customers:
            assert sent == Counter(notice=1, corrected=1), customer_id
        else:
            assert sent == Counter(notice=1), customer_id
    correction = Message.objects.filter(about_id=outage.number, dedup_key__contains=":corrected:").first()
    assert "停电系10kV东风线故障，停电范围更新为" in correction.body
    row = outage.events.get(action="update_scope")
    assert (row.data["corrected"], row.data["notified"]) == (5, 16)

    # The analysis running again changes nothing and tells nobody anything more.
    services.run_analysis()
    assert purposes(outage) == told

    storm_clock.advance(minutes=30)
    services.dispatch_to_crew(event=event, crew=grid.crew_one, actor=grid.dispatcher, replace=True)
    services.report_arrival(event=event, actor=grid.crew)
    storm_clock.advance(hours=1)
    services.report_restored(event=event, actor=grid.crew, result="已恢复送电", cause="线路故障")
    assert {customer_id: sent["restored"] for customer_id, sent in purposes(outage).items()} == dict.fromkeys(
        feeder_customers, 1
    )
