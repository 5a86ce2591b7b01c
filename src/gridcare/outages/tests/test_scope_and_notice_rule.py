"""Scope → affected customers, and the notice rule (planned 7 days, temporary 24 h)."""

import pytest

from gridcare.core.api_errors import ApiError
from gridcare.notify.models import Message
from gridcare.outages import services
from gridcare.outages.models import NoticeRule, OutageCustomer, OutageKind, OutageState

from .conftest import local


def planned(ow, start, end, kind=OutageKind.PLANNED, **scope):
    scope = scope or {"feeders": ["F01"]}
    outage, _ = services.create_outage(
        kind=kind,
        reason="10kV东风线设备检修",
        actor=ow.dispatcher,
        planned_start=start,
        planned_end=end,
        area_text="东风路沿线",
        **scope,
    )
    return outage


def test_a_feeder_in_scope_means_every_customer_of_its_areas_except_closed_accounts(ow):
    outage = planned(ow, local(2026, 12, 2, 8), local(2026, 12, 2, 18))

    affected = set(
        OutageCustomer.objects.filter(outage=outage).values_list("customer__account_no", flat=True)
    )
    assert affected == {"5100000001", "5100000010", "5100000011", "5100000012"}
    assert outage.customer_count == 4 and outage.key_customer_count == 1
    assert outage.unit == ow.east  # the one station affected publishes
    assert outage.state == OutageState.DRAFT
    assert Message.objects.count() == 0  # a draft tells nobody


def test_areas_of_two_stations_are_published_by_their_common_county(ow):
    outage = planned(ow, local(2026, 12, 2, 8), local(2026, 12, 2, 18), transformer_areas=["T01", "T02"])

    assert outage.unit == ow.county
    assert outage.customer_count == 2


def test_unknown_codes_and_an_empty_scope_are_refused(ow):
    with pytest.raises(ApiError) as exc:
        planned(ow, local(2026, 12, 2, 8), local(2026, 12, 2, 18), transformer_areas=["T99"])
    assert exc.value.code == "unknown_area" and exc.value.status == 422
    with pytest.raises(ApiError) as exc:
        planned(ow, local(2026, 12, 2, 8), local(2026, 12, 2, 18), transformer_areas=[])
    assert exc.value.code == "scope_required"


def test_a_station_head_cannot_cut_another_stations_area(ow):
    with pytest.raises(ApiError) as exc:
        services.create_outage(
            kind=OutageKind.PLANNED,
            reason="检修",
            actor=ow.station_head,
            planned_start=local(2026, 12, 2, 8),
            planned_end=local(2026, 12, 2, 18),
            transformer_areas=["T02"],
        )
    assert exc.value.code == "scope_not_allowed" and exc.value.status == 403


def test_an_agent_may_look_but_not_publish(ow):
    with pytest.raises(ApiError) as exc:
        services.create_outage(
            kind=OutageKind.PLANNED,
            reason="检修",
            actor=ow.agent,
            planned_start=local(2026, 12, 2, 8),
            planned_end=local(2026, 12, 2, 18),
            feeders=["F01"],
        )
    assert exc.value.code == "forbidden" and exc.value.status == 403


def test_a_planned_outage_published_six_days_ahead_is_refused(ow):
    outage = planned(ow, local(2026, 11, 30, 8), local(2026, 11, 30, 18))  # 6 days 23 h ahead

    with pytest.raises(ApiError) as exc:
        services.publish(outage=outage, actor=ow.dispatcher)

    assert exc.value.code == "notice_too_short" and exc.value.status == 422
    assert exc.value.extra["required_hours"] == 168
    assert "7天" in exc.value.message
    outage.refresh_from_db()
    assert outage.state == OutageState.DRAFT
    assert Message.objects.count() == 0


def test_seven_days_ahead_is_enough(ow):
    outage = planned(ow, local(2026, 12, 1, 9), local(2026, 12, 1, 18))

    outage = services.publish(outage=outage, actor=ow.dispatcher)

    assert outage.state == OutageState.PUBLISHED
    assert outage.notice_hours == 168 and outage.required_notice_hours == 168
    assert outage.override_reason == ""


def test_the_override_is_recorded_with_who_and_why(ow):
    outage = planned(ow, local(2026, 11, 26, 8), local(2026, 11, 26, 12))

    outage = services.publish(
        outage=outage, actor=ow.dispatcher, override_reason="配合市政道路施工，工期提前"
    )

    assert outage.state == OutageState.PUBLISHED
    assert outage.override_reason == "配合市政道路施工，工期提前"
    assert outage.override_by == ow.dispatcher and outage.override_at == ow.now.at
    assert float(outage.notice_hours) == 47.0
    event = outage.events.get(action="publish")
    assert event.data["override"] is True and event.note == "配合市政道路施工，工期提前"
    assert event.actor == ow.dispatcher


def test_temporary_maintenance_needs_24_hours(ow):
    short = planned(ow, local(2026, 11, 25, 8), local(2026, 11, 25, 12), kind=OutageKind.TEMPORARY)
    with pytest.raises(ApiError) as exc:
        services.publish(outage=short, actor=ow.dispatcher)
    assert exc.value.code == "notice_too_short" and "24小时" in exc.value.message

    enough = planned(ow, local(2026, 11, 25, 9), local(2026, 11, 25, 12), kind=OutageKind.TEMPORARY)
    assert services.publish(outage=enough, actor=ow.dispatcher).state == OutageState.PUBLISHED


def test_the_rule_is_data(ow):
    NoticeRule.objects.filter(kind=OutageKind.TEMPORARY).update(min_notice_hours=48)
    outage = planned(ow, local(2026, 11, 25, 20), local(2026, 11, 25, 23), kind=OutageKind.TEMPORARY)

    with pytest.raises(ApiError) as exc:
        services.publish(outage=outage, actor=ow.dispatcher)
    assert exc.value.extra["required_hours"] == 48


def test_a_fault_outage_has_no_notice_rule_and_lists_key_customers_to_phone(ow):
    outage = services.open_fault_outage(
        transformer_areas=["T03"],
        reason="台区变压器故障",
        started_at=local(2026, 11, 24, 8, 40),
        actor=ow.dispatcher,
    )

    assert outage.state == OutageState.IN_PROGRESS and outage.kind == OutageKind.FAULT
    row = OutageCustomer.objects.get(outage=outage, is_key=True)
    assert row.customer == ow.hospital and row.phoned_at is None

    services.record_key_customer_call(
        outage=outage, customer=ow.hospital, actor=ow.dispatcher, note="已告知院办王主任"
    )

    row.refresh_from_db()
    assert (
        row.phoned_at == ow.now.at and row.phoned_by == ow.dispatcher and row.phone_note == "已告知院办王主任"
    )
    with pytest.raises(ApiError) as exc:
        services.record_key_customer_call(outage=outage, customer=ow.neighbour, actor=ow.dispatcher)
    assert exc.value.code == "not_a_key_customer"
    # A merged (or cancelled) outage takes no more phone marks: refused by the service itself.
    type(outage).objects.filter(pk=outage.pk).update(state=OutageState.MERGED)
    with pytest.raises(ApiError) as exc:
        services.record_key_customer_call(outage=outage, customer=ow.hospital, actor=ow.dispatcher)
    assert exc.value.code == "illegal_transition" and exc.value.status == 409


def test_fault_scope_can_grow_and_shrink(ow):
    outage = services.open_fault_outage(
        transformer_areas=["T03"], reason="台区变压器故障", started_at=local(2026, 11, 24, 8, 40), actor=None
    )
    assert outage.customer_count == 3

    outage = services.update_fault_scope(
        outage=outage, feeders=["F01"], actor=ow.dispatcher, note="整条线路失电"
    )
    assert outage.customer_count == 4
    assert set(outage.areas.values_list("transformer_area__code", flat=True)) == {"T01", "T03"}

    outage = services.update_fault_scope(outage=outage, transformer_areas=["T01"], actor=ow.dispatcher)
    assert outage.customer_count == 1 and outage.key_customer_count == 0


def test_seeing_part_of_an_outage_is_not_enough_to_change_it(ow):
    """A station head sees the county-wide fault in their lists but may not restore, re-estimate or
    cancel it; the county's dispatcher may."""
    outage = services.open_fault_outage(
        transformer_areas=["T01", "T02"],
        reason="10kV线路故障",
        started_at=local(2026, 11, 24, 8, 40),
        actor=None,
    )
    for change in (
        lambda who: services.set_estimated_end(
            outage=outage, estimated_end=local(2026, 11, 24, 12), actor=who
        ),
        lambda who: services.restore(outage=outage, actor=who),
    ):
        with pytest.raises(ApiError) as exc:
            change(ow.station_head)
        assert exc.value.code == "scope_not_allowed" and exc.value.status == 403
    services.set_estimated_end(outage=outage, estimated_end=local(2026, 11, 24, 12), actor=ow.dispatcher)
    assert services.restore(outage=outage, actor=ow.dispatcher).state == OutageState.RESTORED
