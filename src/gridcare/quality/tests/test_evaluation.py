"""个人服务品质评价: each agent's own figures → points → a weighted score and stars, worked out by
hand; a leader's quarterly assessment; an agent reads their own and nobody else's."""

from __future__ import annotations

from decimal import Decimal

import pytest

from gridcare.org.models import Role
from gridcare.org.services import create_staff
from gridcare.quality import evaluation
from gridcare.quality.models import AgentAssessment
from gridcare.quality.statistics import Span

from .test_metrics import NOV, at, call, order

pytestmark = pytest.mark.django_db


@pytest.fixture
def seats(world):
    w = world
    w.fast = create_staff(
        username="fast", password=w.password, full_name="甲座席", roles=[(Role.AGENT, w.city)]
    )
    w.slow = create_staff(
        username="slow", password=w.password, full_name="乙座席", roles=[(Role.AGENT, w.city)]
    )
    w.chief = create_staff(
        username="chief", password=w.password, full_name="陈主任", roles=[(Role.MANAGER, w.city)]
    )
    for day in range(2, 8):  # 甲: 6 calls, 200 s talk + 40 s wrap-up = 240 s
        c = call(w.city, f"1380000000{day}", at(day, 9), 5, 200, wrap=40)
        c.answered_by = w.fast
        c.save()
    for day in (3, 4):  # 乙: 2 calls, 400 s + 80 s = 480 s
        c = call(w.city, f"1390000000{day}", at(day, 10), 5, 400, wrap=80)
        c.answered_by = w.slow
        c.save()
    for day in range(10, 15):  # orders 甲 accepted, all called back 满意
        order(
            w,
            w.east,
            at(day),
            "fault_repair",
            accepted_by=w.fast,
            callback_required=True,
            satisfaction="satisfied",
        )
    return w


def test_each_agent_is_scored_on_their_own_rows_by_the_scheme(seats):
    w = seats
    first, second, idle = evaluation.evaluate(w.chief, w.city, NOV)
    assert (first.agent, second.agent, idle.agent) == (w.fast, w.slow, w.agent)
    assert idle.score is None  # no call, no order: nothing to score, listed last
    points = {p.metric.code: (p.value, p.points) for p in first.indicators}
    assert points["calls_answered"] == (Decimal(6), Decimal("100.0"))  # above the average of 4
    assert points["average_handling_time"] == (Decimal(240), Decimal("100.0"))  # full at 240 s
    assert points["wrap_up_seconds"] == (Decimal(40), Decimal("88.9"))  # (40 − 120) / (30 − 120)
    assert points["satisfaction_rate"] == (Decimal("100.00"), Decimal("100.0"))
    assert points["first_contact_resolution"][1] is None  # nothing to judge: its weight goes to the rest
    assert points["inspection_score"][1] is None  # not inspected this period
    # Scheme v2 (with inspection): (20×100 + 15×100 + 5×88.9 + 25×100) / 65 = 99.1
    assert (first.score, first.stars) == (Decimal("99.1"), 5)
    slow = {p.metric.code: p.points for p in second.indicators}
    assert (slow["calls_answered"], slow["average_handling_time"], slow["wrap_up_seconds"]) == (
        Decimal("50.0"),
        Decimal("0.0"),
        Decimal("44.4"),
    )
    assert slow["satisfaction_rate"] is None
    assert (second.score, second.stars) == (Decimal("30.6"), 1)  # (20×50 + 15×0 + 5×44.4) / 40


def test_a_leader_assesses_the_quarter_once_and_the_agent_reads_it(seats, client):
    w = seats
    client.force_login(w.chief)
    ranking = client.get("/quality/agents/", {"unit": w.city.pk, "date": "2026-11-15"}).content.decode()
    assert ranking.index("甲座席") < ranking.index("乙座席")
    page = f"/quality/agents/{w.fast.pk}/?period=quarter&date=2026-11-15"
    assert client.post(page, {"remarks": "  "}).status_code == 200  # refused: remarks required
    assert not AgentAssessment.objects.exists()
    client.post(page, {"remarks": "接通量高，处理时长控制好。"})
    kept = AgentAssessment.objects.get()
    assert (kept.year, kept.quarter, kept.score, kept.stars, kept.assessed_by) == (
        2026,
        4,
        Decimal("99.1"),
        5,
        w.chief,
    )
    assert {f["metric"] for f in kept.figures} >= {"calls_answered", "average_handling_time"}
    with pytest.raises(Exception) as twice:
        evaluation.assess(actor=w.chief, agent=w.fast, day=Span(NOV.start, NOV.end).start, remarks="再评一次")
    assert getattr(twice.value, "code", "") == "already_assessed"

    client.force_login(w.fast)
    own = client.get("/quality/me/", follow=True).content.decode()
    assert "接通量高，处理时长控制好。" in own and 'id="assess-form"' not in own
    assert client.get(f"/quality/agents/{w.slow.pk}/").status_code == 404  # another agent's: not theirs
    assert client.get("/quality/agents/").status_code == 403  # the ranking is for leaders
