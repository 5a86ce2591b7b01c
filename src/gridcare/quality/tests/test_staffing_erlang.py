"""Erlang C (quality.staffing): the published reference example to its published digits, and
cases worked by hand. Pure arithmetic: no database."""

from __future__ import annotations

import math

import pytest

from gridcare.quality import staffing
from gridcare.quality.staffing import StaffingInputError, Targets


def test_the_published_reference_example_to_its_published_digits():
    """100 calls per 30 min, 180 s handling, 80 % within 20 s → 10 Erlang, 14 agents, P(wait)
    0.1741, service level 0.888, ASA 7.84 s, occupancy 0.714; 30 % shrinkage → 20 positions
    (pyworkforce's ErlangC and the ErlangC package on CRAN publish these figures; docs/quality.md)."""
    traffic = staffing.traffic_intensity(100, 180, 1800)
    assert traffic == 10
    targets = Targets(service_level=0.8, target_seconds=20, shrinkage=0.3)
    agents = staffing.agents_needed(traffic, 180, targets)
    assert agents == 14
    assert round(staffing.wait_probability(14, traffic), 4) == 0.1741
    assert round(staffing.service_level(14, traffic, 180, 20), 3) == 0.888
    assert round(staffing.average_speed_of_answer(14, traffic, 180), 2) == 7.84
    assert round(staffing.occupancy(14, traffic), 3) == 0.714
    assert staffing.positions_with_shrinkage(14, 0.3) == 20
    # 14 is the smallest: 13 agents answer fewer than 80 % within 20 s.
    assert staffing.service_level(13, traffic, 180, 20) < 0.8

    row = staffing.staff_interval(100, 180, targets)
    assert (row.erlangs, row.agents, row.positions) == (10, 14, 20)
    assert (round(row.wait_probability, 4), round(row.service_level, 3)) == (0.1741, 0.888)
    assert (round(row.asa_seconds, 2), round(row.occupancy, 3)) == (7.84, 0.714)


def test_two_agents_on_one_erlang_worked_by_hand():
    """B(1) = 1/2, B(2) = (1·½)/(2 + ½) = 0.2; C = 2·0.2 / (2 − 1·0.8) = 1/3. ASA = ⅓·180/(2−1) =
    60 s; within 0 s: 1 − ⅓ = ⅔; occupancy ½."""
    assert staffing.erlang_b(2, 1) == pytest.approx(0.2)
    assert staffing.wait_probability(2, 1) == pytest.approx(1 / 3)
    assert staffing.average_speed_of_answer(2, 1, 180) == pytest.approx(60)
    assert staffing.service_level(2, 1, 180, 0) == pytest.approx(2 / 3)
    assert staffing.service_level(2, 1, 180, 60) == pytest.approx(1 - math.exp(-1 / 3) / 3)
    assert staffing.occupancy(2, 1) == 0.5


def test_agents_not_above_the_traffic_are_refused():
    for agents in (9, 10):
        with pytest.raises(StaffingInputError) as refused:
            staffing.wait_probability(agents, 10)
        assert refused.value.code == "invalid_staffing_input" and refused.value.status == 422
        assert "不大于话务量" in refused.value.message
    with pytest.raises(StaffingInputError):
        staffing.service_level(10, 10, 180, 20)
    with pytest.raises(StaffingInputError):
        staffing.average_speed_of_answer(5, 10, 180)
    with pytest.raises(StaffingInputError):
        staffing.occupancy(10, 10.0)


def test_tiny_traffic_is_one_agent_as_in_a_single_server_queue():
    """1 call in half an hour of 180 s: A = 0.1. One agent is M/M/1: P(wait) = ρ = 0.1,
    ASA = ρ·AHT/(1 − ρ) = 20 s, within 20 s: 1 − 0.1·e^(−0.9·20/180) ≈ 0.9095."""
    row = staffing.staff_interval(1, 180, Targets())
    assert row.erlangs == pytest.approx(0.1)
    assert row.agents == 1
    assert row.wait_probability == pytest.approx(0.1)
    assert row.asa_seconds == pytest.approx(20)
    assert row.service_level == pytest.approx(1 - 0.1 * math.exp(-0.1))
    assert row.occupancy == pytest.approx(0.1)


def test_no_call_needs_no_agent():
    row = staffing.staff_interval(0, 180, Targets(shrinkage=0.3))
    assert (row.erlangs, row.agents, row.positions) == (0, 0, 0)
    assert (row.service_level, row.asa_seconds, row.occupancy) == (1.0, 0.0, 0.0)


def test_large_traffic_without_overflow():
    """2,000 calls in half an hour (200 Erlang), and a 12× storm of it (2,400 Erlang): a factorial
    of 2,400 or 2,400^N would overflow a float; the Erlang B recursion does not."""
    for calls, traffic in ((2000, 200), (24000, 2400)):
        row = staffing.staff_interval(calls, 180, Targets())
        assert row.erlangs == traffic
        assert traffic < row.agents < traffic * 1.05
        assert all(math.isfinite(v) for v in (row.wait_probability, row.service_level, row.asa_seconds))
        assert row.service_level >= 0.8
        # The smallest such N: one agent fewer misses the target.
        assert staffing.service_level(row.agents - 1, traffic, 180, 20) < 0.8


def test_asa_and_occupancy_targets_raise_the_agents():
    """At 10 Erlang, 14 agents give ASA 7.84 s and occupancy 0.714: an ASA of at most 5 s or an
    occupancy of at most 0.7 needs 15 (ASA 3.67 s, occupancy 0.667)."""
    by_asa = staffing.agents_needed(10, 180, Targets(max_asa_seconds=5))
    by_occupancy = staffing.agents_needed(10, 180, Targets(max_occupancy=0.7))
    assert by_asa == by_occupancy == 15
    assert round(staffing.average_speed_of_answer(15, 10, 180), 2) == 3.67
    # A loose occupancy ceiling changes nothing.
    assert staffing.agents_needed(10, 180, Targets(max_occupancy=0.85)) == 14


def test_shrinkage_rounds_up_to_whole_positions():
    assert staffing.positions_with_shrinkage(15, 0.3) == 22  # 21.43
    assert staffing.positions_with_shrinkage(7, 0.3) == 10  # 10 exactly, not 11
    assert staffing.positions_with_shrinkage(14, 0) == 14
    assert staffing.positions_with_shrinkage(0, 0.3) == 0


@pytest.mark.parametrize(
    "make",
    [
        lambda: Targets(service_level=1),
        lambda: Targets(service_level=0),
        lambda: Targets(service_level=float("nan")),
        lambda: Targets(target_seconds=-1),
        lambda: Targets(shrinkage=1),
        lambda: Targets(shrinkage=-0.1),
        lambda: Targets(max_occupancy=0),
        lambda: Targets(max_occupancy=1.2),
        lambda: Targets(max_asa_seconds=0),
        lambda: staffing.traffic_intensity(-1, 180),
        lambda: staffing.traffic_intensity(100, 0),
        lambda: staffing.traffic_intensity(100, 180, 0),
        lambda: staffing.traffic_intensity(float("inf"), 180),
        lambda: staffing.wait_probability(0, 0.5),
        lambda: staffing.wait_probability(True, 0.5),
        lambda: staffing.agents_needed(staffing.MAX_TRAFFIC + 1, 180, Targets()),
        lambda: staffing.positions_with_shrinkage(-1, 0.3),
    ],
)
def test_bad_figures_are_refused_with_a_clear_message(make):
    with pytest.raises(StaffingInputError) as refused:
        make()
    assert refused.value.code == "invalid_staffing_input"
    assert refused.value.message
