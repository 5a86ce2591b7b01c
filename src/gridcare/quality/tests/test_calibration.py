"""质检校准: several inspectors score one call blind; once closed, the spread per section and each
inspector's deviation from the median (worked out by hand below); only participants and leaders,
in scope, see a session; agents are refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.org.models import Role, RoleAssignment, User
from gridcare.org.services import create_staff
from gridcare.quality import inspection
from gridcare.quality.models import CalibrationSession, Inspection

from .test_metrics import at, call

pytestmark = pytest.mark.django_db

WEEK = dt.date(2026, 11, 9)  # a Monday


@pytest.fixture
def panel(world):
    """An agent's inspected call at the city's 95598 center, three inspectors and a shift leader
    there, an inspector of another county (outside the call's unit)."""
    w = world

    def staff(username, name, role, unit):
        return create_staff(username=username, password=w.password, full_name=name, roles=[(role, unit)])

    w.seat = staff("seat", "被检座席", Role.AGENT, w.city)
    w.qc1 = staff("qc1", "质检甲", Role.INSPECTOR, w.city)
    w.qc2 = staff("qc2", "质检乙", Role.INSPECTOR, w.city)
    w.qc3 = staff("qc3", "质检丙", Role.INSPECTOR, w.city)
    w.leader = staff("lead", "值班长", Role.SHIFT_LEADER, w.city)
    w.faraway = staff("qc_far", "山区质检", Role.INSPECTOR, w.county2)
    c = call(w.city, "13800000000", at(10, 9), 5, 180)
    c.answered_by = w.seat
    c.save()
    w.x = Inspection.objects.create(
        call=c, agent=w.seat, unit=w.city, week=WEEK, reason="抽检", created_at=at(17, 8)
    )
    return w


def open_session(w, by=None, people=None):
    with clock.frozen(at(18, 9)):
        return inspection.open_calibration(
            actor=by or w.leader,
            inspection_pk=w.x.pk,
            inspectors=[p.pk for p in (people or [w.qc1, w.qc2, w.leader])],
            note="统一“答复不完整”的扣分尺度",
        )


def score(w, who, session, deductions):
    with clock.frozen(at(18, 10)):
        return inspection.score_calibration(actor=who, pk=session.pk, deductions=deductions, notes="")


def test_scores_are_blind_until_the_session_closes(panel, client):
    w = panel
    with clock.frozen(at(17, 9)):  # the inspection itself was scored before: 97.0
        inspection.score(actor=w.qc3, pk=w.x.pk, deductions=["tone"], notes="客户多次重复诉求")
    session = open_session(w)
    w.x.refresh_from_db()
    assert session.state == CalibrationSession.State.OPEN and session.form_id == w.x.form_id
    score(w, w.qc1, session, ["greeting", "answer"])  # 90.5

    # Only my own score before closing; the others' only as "scored" or not.
    seen_by_qc2 = {p.inspector.pk: p for p in inspection.participants(w.qc2, session)}
    assert seen_by_qc2[w.qc1.pk].scored and seen_by_qc2[w.qc1.pk].score is None
    assert seen_by_qc2[w.qc1.pk].deductions == []
    assert {p.inspector.pk: p.score for p in inspection.participants(w.qc1, session)}[w.qc1.pk] == Decimal(
        "90.5"
    )
    client.force_login(w.qc2)
    page = client.get(f"/quality/calibrations/{session.pk}/").content.decode()
    assert (
        "质检甲" in page
        and "已评分" in page
        and "90.5" not in page
        and 'id="calibration-results"' not in page
    )
    # …nor the inspection's own score (97.0), on the inspection's page.
    inspection_page = client.get(f"/quality/inspections/{w.x.pk}/").content.decode()
    assert 'id="calibration-blind"' in inspection_page and "97.0" not in inspection_page
    assert "客户多次重复诉求" not in inspection_page
    # The leader (a participant too) does not see the scores before closing either.
    client.force_login(w.leader)
    assert "90.5" not in client.get(f"/quality/calibrations/{session.pk}/").content.decode()

    # One score is not a calibration: the session stays open.
    with pytest.raises(ApiError) as err:
        inspection.close_calibration(actor=w.leader, pk=session.pk)
    assert (err.value.code, err.value.status) == ("calibration_incomplete", 409)
    score(w, w.qc2, session, ["tone", "answer", "record"])  # 85.0
    with pytest.raises(ApiError) as err:  # a participant who did not open it does not close it
        inspection.close_calibration(actor=w.qc2, pk=session.pk)
    assert err.value.code == "forbidden_role"
    closed = client.post(f"/quality/calibrations/{session.pk}/", {"action": "close"})
    assert closed.status_code == 302

    client.force_login(w.qc2)
    after = client.get(f"/quality/calibrations/{session.pk}/").content.decode()
    assert "90.5" in after and "85.0" in after and 'id="calibration-results"' in after
    assert "97.0" in client.get(f"/quality/inspections/{w.x.pk}/").content.decode()
    with pytest.raises(ApiError) as err:
        score(w, w.qc2, session, [])
    assert err.value.code == "illegal_transition"


def test_spread_per_section_and_deviation_from_the_median_by_hand(panel, client):
    """服务规范 30 %, 业务处理 40 %, 沟通技巧 30 %:
    质检甲 greeting(-5) answer(-20): 95, 80, 100 → 28.5 + 32 + 30 = 90.5
    质检乙 tone(-10) answer(-20) record(-10): 90, 70, 100 → 27 + 28 + 30 = 85.0
    值班长 greeting(-5): 95, 100, 100 → 28.5 + 40 + 30 = 98.5
    Reference = median(85.0, 90.5, 98.5) = 90.5; deviations 0.0, −5.5, +8.0; spread 13.5;
    mean |deviation| = 13.5 / 3 = 4.50. Sections: 服务规范 90–95 (spread 5, median 95),
    业务处理 70–100 (30, median 80), 沟通技巧 100–100 (0)."""
    w = panel
    session = open_session(w, by=w.qc1, people=[w.qc1, w.qc2, w.leader])  # a lead inspector opens it
    score(w, w.qc1, session, ["greeting", "answer"])
    score(w, w.qc2, session, ["tone", "answer", "record"])
    score(w, w.leader, session, ["greeting"])
    assert inspection.calibration_results(session) is None  # nothing before it closes
    with clock.frozen(at(18, 11)):
        session = inspection.close_calibration(actor=w.qc1, pk=session.pk)  # the opener closes it

    results = inspection.calibration_results(session)
    assert results is not None
    assert results.reference == Decimal("90.5")
    assert results.spread == Decimal("13.5")
    assert results.mean_abs_deviation == Decimal("4.50")
    by_name = {r.row.inspector.display_name: r for r in results.inspectors}
    assert {name: r.score for name, r in by_name.items()} == {
        "质检甲": Decimal("90.5"),
        "质检乙": Decimal("85.0"),
        "值班长": Decimal("98.5"),
    }
    assert {name: r.deviation for name, r in by_name.items()} == {
        "质检甲": Decimal("0.0"),
        "质检乙": Decimal("-5.5"),
        "值班长": Decimal("8.0"),
    }
    sections = {s.name: s for s in results.sections}
    assert list(sections) == ["服务规范", "业务处理", "沟通技巧"]  # 服务红线 has no weight
    assert (sections["服务规范"].low, sections["服务规范"].high, sections["服务规范"].spread) == (90, 95, 5)
    assert sections["服务规范"].median == Decimal("95.0")
    assert sections["业务处理"].scores == [80, 70, 100] and sections["业务处理"].spread == 30
    assert sections["业务处理"].median == Decimal("80.0")
    assert sections["沟通技巧"].spread == 0
    assert by_name["质检乙"].sections == [90, 70, 100]
    assert {i.code: i.deducted_by for i in results.items} == {
        "greeting": 2,
        "answer": 2,
        "tone": 1,
        "record": 1,
    }

    client.force_login(w.qc2)
    page = client.get(f"/quality/calibrations/{session.pk}/").content.decode()
    assert (
        'id="reference">90.5<' in page and 'id="spread">13.5<' in page and "-5.5" in page and "+8.0" in page
    )


def test_an_inspector_outside_the_unit_gets_404_and_cannot_be_chosen(panel, client):
    w = panel
    session = open_session(w)
    client.force_login(w.faraway)
    assert client.get(f"/quality/calibrations/{session.pk}/").status_code == 404
    assert client.post(f"/quality/calibrations/{session.pk}/", {"action": "close"}).status_code == 404
    assert client.get(f"/quality/inspections/{w.x.pk}/calibrate/").status_code == 404
    assert (
        str(session.pk)
        not in client.get("/quality/calibrations/").content.decode().split('id="calibrations"')[1]
    )
    with pytest.raises(ApiError) as err:
        open_session(w, by=w.faraway)
    assert err.value.status == 404
    with pytest.raises(ApiError) as err:  # nor is anyone who cannot see the call a participant
        open_session(w, people=[w.qc1, w.faraway])
    assert (err.value.code, err.value.status) == ("invalid_input", 422)
    with pytest.raises(ApiError) as err:
        open_session(w, people=[w.qc1])
    assert err.value.code == "invalid_input"  # two at least
    # An inspector in the unit who is not a participant does not see it either; a leader does.
    client.force_login(w.qc3)
    assert client.get(f"/quality/calibrations/{session.pk}/").status_code == 404
    with pytest.raises(ApiError) as err:
        inspection.score_calibration(actor=w.qc3, pk=session.pk, deductions=[])
    assert err.value.status == 404


def test_an_agent_is_refused(panel, client):
    w = panel
    session = open_session(w)
    client.force_login(w.seat)
    assert client.get("/quality/calibrations/").status_code == 403
    assert client.get(f"/quality/calibrations/{session.pk}/").status_code == 403
    with pytest.raises(ApiError) as err:
        open_session(w, by=w.seat)
    assert (err.value.code, err.value.status) == ("forbidden_role", 403)
    assert w.seat not in inspection.calibration_candidates(w.x)
    # Nor does an agent who also leads a shift open a session on their own call.
    RoleAssignment.objects.create(user=w.seat, role=Role.SHIFT_LEADER, unit=w.city)
    with pytest.raises(ApiError) as err:
        open_session(w, by=User.objects.get(pk=w.seat.pk))
    assert (err.value.code, err.value.status) == ("forbidden_role", 403)


def test_a_leader_opens_a_session_from_the_inspection_page(panel, client):
    w = panel
    client.force_login(w.leader)
    page = client.get(f"/quality/inspections/{w.x.pk}/").content.decode()
    assert f"/quality/inspections/{w.x.pk}/calibrate/" in page
    form = client.get(f"/quality/inspections/{w.x.pk}/calibrate/").content.decode()
    offered = form.split('id="calibration-form"')[1]
    assert "质检甲" in offered and "值班长" in offered
    assert "山区质检" not in offered and "被检座席" not in offered
    refused = client.post(f"/quality/inspections/{w.x.pk}/calibrate/", {"inspector": [w.qc1.pk]})
    assert refused.status_code == 200 and "至少需要两名" in refused.content.decode()
    opened = client.post(
        f"/quality/inspections/{w.x.pk}/calibrate/", {"inspector": [w.qc1.pk, w.qc2.pk], "note": "对齐尺度"}
    )
    assert opened.status_code == 302
    session = CalibrationSession.objects.get()
    assert opened["Location"] == f"/quality/calibrations/{session.pk}/"
    assert sorted(session.scores.values_list("inspector__username", flat=True)) == ["qc1", "qc2"]
    client.force_login(w.qc1)
    assert (
        client.post(
            f"/quality/calibrations/{session.pk}/",
            {"action": "score", "deduct": ["answer"], "notes": "答复不全"},
        ).status_code
        == 302
    )
    mine = session.scores.get(inspector=w.qc1)
    assert mine.score == Decimal("92.0") and mine.deductions == ["answer"]  # 30 + 80 × 40 % + 30
