"""质检: the weekly draw (must-checks and a stratified sample by agent seniority), scoring on the
form worked out by hand, the agent's appeal within its days and its review by someone else."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.org.models import Role
from gridcare.org.services import create_staff
from gridcare.quality import inspection
from gridcare.quality.models import Inspection

from .test_metrics import at, call, order

pytestmark = pytest.mark.django_db

WEEK = dt.date(2026, 11, 9)  # a Monday


@pytest.fixture
def floor(world):
    w = world
    w.novice = create_staff(
        username="novice", password=w.password, full_name="新座席", roles=[(Role.AGENT, w.city)]
    )
    w.veteran = create_staff(
        username="veteran", password=w.password, full_name="老座席", roles=[(Role.AGENT, w.city)]
    )
    w.veteran.date_joined = clock.now() - dt.timedelta(days=800)
    w.veteran.save()
    w.inspector = create_staff(
        username="qc", password=w.password, full_name="质检员", roles=[(Role.INSPECTOR, w.city)]
    )
    w.leader = create_staff(
        username="lead", password=w.password, full_name="值班长", roles=[(Role.SHIFT_LEADER, w.city)]
    )

    def answered(agent, day, hour, kind=None, **order_kw):
        c = call(w.city, f"13{day:02d}{hour:02d}000000"[:11], at(day, hour), 5, 120)
        c.answered_by = agent
        c.save()
        if kind:
            c.work_orders.add(order(w, w.east, at(day, hour), kind, **order_kw))
        return c

    for i in range(4):
        answered(w.novice, 9 + i, 9, "fault_repair")
    for i in range(3):
        answered(w.novice, 9 + i, 11, "consultation")
    answered(w.novice, 13, 9)
    w.complained = answered(w.novice, 13, 10, "complaint")
    w.media = answered(w.novice, 13, 11, "consultation", content="客户称要找媒体曝光")
    for i in range(6):
        answered(w.veteran, 9 + i, 14, "bill_query")
    return w


def test_the_week_draws_every_must_check_and_a_sample_by_seniority(floor):
    w = floor
    with clock.frozen(at(17, 8)):
        assert inspection.sample_week(WEEK) == 9  # novice: 2 must + 5 sampled; veteran: 2
        assert inspection.sample_week(WEEK) == 0  # drawn once
    novice = Inspection.objects.filter(agent=w.novice)
    reasons = sorted(novice.values_list("reason", flat=True))
    assert reasons == ["必检：关键词“媒体”", "必检：投诉", "抽检", "抽检", "抽检", "抽检", "抽检"]
    assert {x.call_id for x in novice if x.reason.startswith("必检")} == {w.complained.pk, w.media.pk}
    sampled = novice.filter(reason="抽检")
    assert {"fault_repair", "consultation"} <= set(sampled.values_list("business", flat=True))  # stratified
    assert Inspection.objects.filter(agent=w.veteran, reason="抽检").count() == 2


def test_scoring_on_the_form_and_a_fatal_item(floor):
    w = floor
    with clock.frozen(at(17, 8)):
        inspection.sample_week(WEEK)
    x, y = Inspection.objects.filter(agent=w.novice)[:2]
    # 服务规范 95 × 30 % + 业务处理 80 × 40 % + 沟通技巧 100 × 30 % = 90.5
    scored = inspection.score(
        actor=w.inspector, pk=x.pk, deductions=["greeting", "answer"], notes="答复不完整"
    )
    assert (scored.score, scored.fatal, scored.state) == (Decimal("90.5"), False, "scored")
    fatal = inspection.score(
        actor=w.inspector, pk=y.pk, deductions=["leak", "greeting"], notes="泄露户主信息"
    )
    assert (fatal.score, fatal.fatal) == (Decimal("0"), True)
    with pytest.raises(ApiError) as unknown:
        inspection.score(actor=w.inspector, pk=x.pk, deductions=["nap"], notes="")
    assert unknown.value.status == 422
    with pytest.raises(ApiError) as agent:
        inspection.score(actor=w.veteran, pk=x.pk, deductions=[], notes="")
    assert agent.value.code == "forbidden_role"


def test_the_agent_appeals_in_time_and_someone_else_reviews(floor, client):
    w = floor
    with clock.frozen(at(17, 8)):
        inspection.sample_week(WEEK)
    x, late = Inspection.objects.filter(agent=w.novice)[:2]
    with clock.frozen(at(17, 9)):
        inspection.score(actor=w.inspector, pk=x.pk, deductions=["greeting", "answer"], notes="")
        inspection.score(actor=w.inspector, pk=late.pk, deductions=["greeting"], notes="")
    with clock.frozen(at(19, 9)):  # within 3 days
        inspection.appeal(actor=w.novice, pk=x.pk, text="答复内容符合知识库标准答复")
    with clock.frozen(at(21, 10)), pytest.raises(ApiError) as too_late:
        inspection.appeal(actor=w.novice, pk=late.pk, text="迟到的申诉")
    assert too_late.value.code == "appeal_too_late"
    with pytest.raises(ApiError) as own_review:
        inspection.review(actor=w.inspector, pk=x.pk, deductions=["greeting"], note="维持")
    assert own_review.value.code == "forbidden_role"  # the inspector who scored it does not judge the appeal
    reviewed = inspection.review(
        actor=w.leader, pk=x.pk, deductions=["greeting"], note="答复无误，撤销该项扣分"
    )
    assert (reviewed.score, reviewed.state) == (Decimal("98.5"), "reviewed")

    client.force_login(w.novice)
    mine = client.get("/quality/inspections/").content.decode()
    assert mine.count("/quality/inspections/") >= 2 and "老座席" not in mine
    page = client.get(f"/quality/inspections/{x.pk}/").content.decode()
    assert "撤销该项扣分" in page and "****" in page  # the caller masked
    other = Inspection.objects.filter(agent=w.veteran).first()
    assert client.get(f"/quality/inspections/{other.pk}/").status_code == 404


def test_an_inspector_scores_through_the_page_and_the_score_reaches_the_evaluation(floor, client):
    from gridcare.quality import evaluation
    from gridcare.quality.statistics import Span

    w = floor
    with clock.frozen(at(17, 8)):
        inspection.sample_week(WEEK)
    x = Inspection.objects.filter(agent=w.veteran).first()
    client.force_login(w.inspector)
    with clock.frozen(at(18, 9)):
        answer = client.post(
            f"/quality/inspections/{x.pk}/", {"action": "score", "deduct": ["tone"], "notes": "语气生硬"}
        )
    assert answer.status_code == 302
    x.refresh_from_db()
    assert x.score == Decimal("97.0")  # 服务规范 90 × 30 % + 40 + 30
    [veteran] = evaluation.evaluate(
        w.leader, w.city, Span(dt.date(2026, 11, 1), dt.date(2026, 12, 1)), agents=[w.veteran]
    )
    points = {p.metric.code: p.points for p in veteran.indicators}
    assert points["inspection_score"] == Decimal("92.5")  # linear: 60 → 0, 100 → 100
