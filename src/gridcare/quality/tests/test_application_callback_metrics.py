"""业扩回访 answers in the quality figures (issue 18, item 5): 业扩回访满意率 and 业扩回访问题线索,
the same read from the rows and from the roll-ups."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from gridcare.applications import callback_work
from gridcare.applications.models import ApplicationCallback
from gridcare.applications.tests.conftest import yk_world  # noqa: F401, F811  (fixture)
from gridcare.applications.tests.helpers import accept, at
from gridcare.applications.tests.test_callbacks import ACCEPT_ANSWERS, auditor  # noqa: F401, F811  (fixture)
from gridcare.core import clock


def _callback(application):
    return ApplicationCallback.objects.get(application=application, node="accept")


def _call(callback, actor, when, outcome="answered", **kwargs):
    with clock.frozen(when):
        return callback_work.record_call(callback=callback, actor=actor, outcome=outcome, **kwargs)


def test_callback_answers_feed_the_quality_figures(yk_world, auditor):  # noqa: F811  (fixtures)
    """业扩回访满意率 and 业扩回访问题线索 in the registry: the same from the rows and the roll-ups."""
    from gridcare.quality import rollups, statistics

    w = yk_world
    answers = [("satisfied", "no"), ("basically", "no"), ("dissatisfied", "yes")]
    for i, (satisfaction, bribery) in enumerate(answers):
        with clock.frozen(at(2026, 3, 3, 16, i)):
            application = accept(w.clerk_east, applicant_name=f"客户{i}")
        _call(
            _callback(application),
            w.agent,
            at(2026, 3, 4, 9, i),
            answers=ACCEPT_ANSWERS | {"bribery": bribery},
            satisfaction=satisfaction,
        )
    march = statistics.Span(dt.date(2026, 3, 1), dt.date(2026, 4, 1))
    rate = statistics.metric_in_force("yk_callback_satisfaction", march.start)
    findings = statistics.metric_in_force("yk_callback_findings", march.start)
    with clock.frozen(at(2026, 4, 2, 9, 0)):
        for _pass in range(2):  # from the rows, then from the roll-ups
            got = statistics.figures([(rate, w.county, march), (findings, w.county, march)], w.county_manager)
            assert (got[0].value, got[0].numerator_rows, got[0].denominator_rows) == (Decimal("66.67"), 2, 3)
            assert got[1].value == Decimal(1)
            rollups.refresh()
