"""bench.storm --family: the generators are deterministic per seed, the scorer and the naive
groupers score hand-made cases right, and a tiny storm goes through the real services."""

from __future__ import annotations

import dataclasses

import pytest

from bench.storm import scenarios as sc
from bench.storm.county_gen import plan_county, write_county
from bench.storm.naive import PlacedCall, Topology, evident_devices, n1, n2, score
from bench.storm.storm_gen import generate_storm

TINY = sc.Scenario(
    name="tiny",
    seed=4242,
    about="a test county",
    stations=2,
    profiles=("urban", "rural"),
    feeders_per_station=(2, 3),
    areas_per_feeder=(5, 6),
    customers_per_area=(8, 14),
    crews_per_station=1,
    members_per_crew=2,
    minutes=15,
    feeder_faults=1,
    area_faults=1,
    area_clusters=1,
    stagger_minutes=3,
    call_p=(0.4, 0.6),
    delay_mean_minutes=2,
    no_account_share=0.3,
    repeat_share=0.2,
    lone_rate=0.01,
    volume=3,
)


def test_county_is_the_same_for_a_seed_and_follows_the_parameters():
    first, again = plan_county(TINY), plan_county(TINY)
    assert first == again
    assert plan_county(dataclasses.replace(TINY, seed=4243)) != first
    assert len(first.stations) == 2
    for feeder in first.feeders:
        assert 5 <= len(feeder.areas) <= 6
    for area in first.areas:
        assert 8 <= area.customers <= 14
    assert len({c.account_no for c in first.customers}) == len(first.customers)
    assert len({c.address for c in first.customers}) == len(first.customers)
    assert {a.area_class for a in first.areas} <= {"urban", "rural", "remote"}


def test_storm_is_the_same_for_a_seed_and_its_truth_is_consistent():
    plan = plan_county(TINY)
    storm, again = generate_storm(plan, TINY), generate_storm(plan, TINY)
    assert storm == again
    assert generate_storm(plan, dataclasses.replace(TINY, seed=1)) != storm
    faulted = set(storm.devices())
    assert sum(1 for kind, _ in faulted if kind == "feeder") == 1
    # The cluster: two or three faulted transformers on one feeder that is not faulted itself.
    by_feeder: dict[int, int] = {}
    for kind, index in faulted:
        if kind == "area":
            feeder = plan.areas[index].feeder
            by_feeder[feeder] = by_feeder.get(feeder, 0) + 1
    assert any(n in (2, 3) and ("feeder", f) not in faulted for f, n in by_feeder.items())
    under_fault = {
        c
        for kind, index in faulted
        for c in (plan.feeder_customers(index) if kind == "feeder" else plan.area_customers(index))
    }
    for call in storm.calls:
        assert 0 <= call.at < TINY.minutes * 60
        if call.truth[0] == "customer":
            assert call.customer == call.truth[1] and call.customer not in under_fault
        else:
            assert call.truth in faulted and call.customer in under_fault
        if not call.account:
            assert call.address
    assert [c.at for c in storm.calls] == sorted(c.at for c in storm.calls)


def test_scorer_counts_right_calls_found_devices_and_spurious_events():
    truths = [("area", 1), ("area", 1), ("area", 1), ("customer", 5), ("feeder", 2), ("feeder", 2)]
    predicted = [("area", 1), ("customer", 11), ("area", 1), ("customer", 5), ("area", 9), None]
    callers = [11, 12, 13, 5, 21, 22]
    evident = evident_devices(truths, callers)
    assert evident == {("area", 1), ("feeder", 2)}
    s = score(truths, predicted, [("area", 1), ("area", 9)], {("area", 1), ("feeder", 2)}, evident)
    assert (s.calls, s.right) == (6, 3)  # two on their transformer, the lone fault on its customer
    assert (s.devices, s.found, s.missed) == (2, 1, [("feeder", 2)])
    assert (s.device_events, s.spurious) == (2, 1)  # the event on area 9, which is healthy
    assert s.spurious_share == 0.5


def test_a_lone_fault_on_another_customers_event_is_wrong():
    s = score([("customer", 5)], [("customer", None)], [], set(), set())
    assert s.right == 0


def test_naive_groupers_on_a_thin_feeder():
    # Feeder 10 with four areas of 10 customers; three areas have two callers, one has one.
    topology = Topology(area_customers={1: 10, 2: 10, 3: 10, 4: 10, 5: 10}, feeder_areas={10: 4, 20: 1})
    calls = [
        PlacedCall("c1", 1, 1, 10),
        PlacedCall("c2", 2, 1, 10),
        PlacedCall("c3", 3, 2, 10),
        PlacedCall("c4", 4, 2, 10),
        PlacedCall("c5", 5, 3, 10),
        PlacedCall("c6", 6, 3, 10),
        PlacedCall("c7", 7, 4, 10),
        PlacedCall("c9", 9, 5, 20),  # a lone caller on another feeder
        PlacedCall("p1", None, None, 10),  # placed on the feeder only
    ]
    first = n1(calls, topology)
    assert first.device_events == [("feeder", 10)]
    assert first.devices == [("feeder", 10)] * 7 + [("customer", 9), ("feeder", 10)]
    # Round-1 thresholds: 3 callers for an area, so nothing qualifies: customer events only.
    second = n2(calls, topology)
    assert second.device_events == []
    assert second.devices[:7] == [("customer", c) for c in range(1, 8)]
    assert second.devices[8] is None


@pytest.mark.django_db
def test_a_tiny_storm_goes_through_the_services_and_is_scored():
    from bench.storm import family
    from gridcare.core import clock
    from gridcare.customers.models import Customer, TransformerArea
    from gridcare.repair.models import Crew

    family.forget_process_caches()
    try:
        plan = plan_county(TINY)
        ids = write_county(plan)
        assert Customer.objects.count() == len(plan.customers)
        assert TransformerArea.objects.count() == len(plan.areas)
        first = plan.customers[0]
        customer = Customer.objects.get(pk=ids.customer_id(0))
        assert (customer.account_no, customer.transformer_area_id) == (
            first.account_no,
            ids.area_id(first.area),
        )
        assert Crew.objects.count() == 2 and all(c.members.count() == 2 for c in Crew.objects.all())

        storm = generate_storm(plan, TINY)
        run = family.drive(storm, plan, ids, tick=60, minutes=TINY.minutes)
        assert run.failures == []
        assert len(run.orders) == len(storm.calls) and all(run.orders)
        result = family.score_run(TINY, plan, ids, storm, run, seconds_county=0.0)
        assert result.gridcare.calls == result.naive1.calls == len(storm.calls)
        # Every faulted device's first call is tracked, and a tracked event time is a tick.
        assert set(run.tracks) == result.faulted & set(run.tracks)
        for track in run.tracks.values():
            assert track.seen is None or track.seen % 60 == 0
    finally:
        clock.reset()
        family.forget_process_caches()
