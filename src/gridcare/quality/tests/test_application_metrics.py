"""The 业扩 KPIs of the registry agree with the applications' figures on the hand-built set
(applications/tests/test_figures.py): HV 2 of 3, LV 2 of 3 — whether read from the rows or from
the roll-ups."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from gridcare.applications.tests.conftest import yk_world  # noqa: F401  (fixture)
from gridcare.applications.tests.test_figures import NOW, hand_built  # noqa: F401  (fixture)
from gridcare.core import clock
from gridcare.quality import rollups, statistics
from gridcare.quality.statistics import Span

MARCH = Span(dt.date(2026, 3, 1), dt.date(2026, 4, 1))


def test_the_registry_counts_the_rates_as_the_figures_do(hand_built):  # noqa: F811
    w = hand_built
    with clock.frozen(NOW):
        for rolled in (False, True):
            if rolled:
                rollups.refresh()
            hv = statistics.figure(
                statistics.metric_in_force("yk_hv_on_time"), w.county_manager, w.county, MARCH
            )
            lv = statistics.figure(
                statistics.metric_in_force("yk_lv_on_time"), w.county_manager, w.county, MARCH
            )
            days = statistics.figure(
                statistics.metric_in_force("yk_avg_connect_days"), w.county_manager, w.county, MARCH
            )
            assert (hv.numerator, hv.denominator, round(hv.value, 2)) == (2, 3, Decimal("66.67"))
            assert (lv.numerator, lv.denominator, round(lv.value, 2)) == (2, 3, Decimal("66.67"))
            # Natural days, waits included: A 16.04, B and C 29.04, L1 3, L2 and L3 8.04 → 93.17 / 6.
            assert days.numerator_rows == 6 and round(days.value, 1) == Decimal("15.5")
