"""业扩报装 figures on a hand-built set, every number worked out by hand (March 2026 has no
public holiday; dates are local):

HV (10 kV single supply, limits: plan reply 15 from acceptance, design review 10, mid and
completion inspection 5 each, energization 5; all accepted Mon 2 March 09:00):
- A: every node well within → meets.
- B: design review submitted 6 March (due 20 March 09:00), finished 23 March → late; B fails.
- C: design review submitted 6 March, the customer made it wait 9 → 12 March (3 working days:
  10, 11, 12), so it is due 25 March 09:00; finished 24 March (12 working days gross, 9 net) →
  within; C meets. HV 达标率 = 2 / 3 = 66.67 %.
LV residential (total 5 working days; accepted Mon 2 March 09:00, promised 9 March 09:00):
- L1 energized 5 March → meets. L2 energized 10 March (the energization node itself on time) →
  the total is late; fails. L3's customer made the plan reply wait 3 → 5 March (2 working days),
  so its promise moved to 11 March 09:00; energized 10 March → meets. LV 达标率 = 2 / 3.
D (HV) accepted 2 March, nothing done: its plan reply (due 23 March 09:00) is running overdue.
"""

from __future__ import annotations

import io
from decimal import Decimal

import pytest

from gridcare.applications import figures, services
from gridcare.applications.models import Application
from gridcare.core import clock
from gridcare.core.models import AuditLog
from gridcare.org.services import issue_token

from .helpers import accept, at, record_for

HV = {"usage_class": "large_industry", "requested_kva": Decimal("630")}
NOW = at(2026, 4, 1, 12, 0)


def _do(application, node, action, actor, when, **payload):
    with clock.frozen(when):
        if action == "finish":
            record_for(application, node, actor)
        application.refresh_from_db()
        return services.act_on_node(
            application=application,
            node=node,
            action=action,
            actor=actor,
            version=application.version,
            **payload,
        )


def _hv(w, design_finish, *, wait=None, later=None):
    """An HV application through every node; ``later``: (mid start, mid finish, completion start,
    completion finish, energize start, energize finish)."""
    am, meter = w.account_manager, w.metering_county
    with clock.frozen(at(2026, 3, 2, 9, 0)):
        app = accept(w.clerk_east, **HV)
    _do(app, "survey", "finish", am, at(2026, 3, 3, 10, 0))
    _do(app, "plan_reply", "finish", am, at(2026, 3, 5, 10, 0))
    _do(app, "design_review", "start", am, at(2026, 3, 6, 9, 0))
    if wait:
        _do(app, "design_review", "wait", am, wait[0], reason="rectification", note="图纸需修改")
        _do(app, "design_review", "resume", am, wait[1])
    _do(app, "design_review", "finish", am, design_finish)
    times = later or (
        at(2026, 3, 11, 9, 0),
        at(2026, 3, 12, 9, 0),
        at(2026, 3, 13, 9, 0),
        at(2026, 3, 16, 9, 0),
        at(2026, 3, 17, 9, 0),
        at(2026, 3, 18, 10, 0),
    )
    _do(app, "mid_inspection", "start", am, times[0])
    _do(app, "mid_inspection", "finish", am, times[1])
    _do(app, "completion_inspection", "start", am, times[2])
    _do(app, "completion_inspection", "finish", am, times[3])
    _do(app, "energize", "start", am, times[4])
    _do(app, "energize", "finish", meter, times[5])
    return app


def _lv(w, plan_finish, energize_start, energize_finish, *, wait=None):
    with clock.frozen(at(2026, 3, 2, 9, 0)):
        app = accept(w.clerk_east)
    _do(app, "survey", "finish", w.clerk_east, at(2026, 3, 2, 15, 0))
    if wait:
        _do(app, "plan_reply", "wait", w.clerk_east, wait[0], reason="documents_missing", note="缺产权证明")
        _do(app, "plan_reply", "resume", w.clerk_east, wait[1])
    _do(app, "plan_reply", "finish", w.clerk_east, plan_finish)
    _do(app, "energize", "start", w.clerk_east, energize_start)
    _do(app, "energize", "finish", w.metering, energize_finish)
    return app


@pytest.fixture
def hand_built(yk_world):
    w = yk_world
    w.a = _hv(w, at(2026, 3, 10, 9, 0))
    w.b = _hv(
        w,
        at(2026, 3, 23, 10, 0),
        later=(
            at(2026, 3, 24, 9, 0),
            at(2026, 3, 25, 9, 0),
            at(2026, 3, 26, 9, 0),
            at(2026, 3, 27, 9, 0),
            at(2026, 3, 30, 9, 0),
            at(2026, 3, 31, 10, 0),
        ),
    )
    w.c = _hv(
        w,
        at(2026, 3, 24, 10, 0),
        wait=(at(2026, 3, 9, 9, 0), at(2026, 3, 12, 9, 0)),
        later=(
            at(2026, 3, 25, 9, 0),
            at(2026, 3, 25, 15, 0),
            at(2026, 3, 26, 9, 0),
            at(2026, 3, 26, 15, 0),
            at(2026, 3, 27, 9, 0),
            at(2026, 3, 31, 10, 0),
        ),
    )
    w.l1 = _lv(w, at(2026, 3, 3, 10, 0), at(2026, 3, 4, 9, 0), at(2026, 3, 5, 9, 0))
    w.l2 = _lv(w, at(2026, 3, 4, 10, 0), at(2026, 3, 6, 9, 0), at(2026, 3, 10, 10, 0))
    w.l3 = _lv(
        w,
        at(2026, 3, 5, 10, 0),
        at(2026, 3, 6, 9, 0),
        at(2026, 3, 10, 10, 0),
        wait=(at(2026, 3, 3, 9, 0), at(2026, 3, 5, 9, 0)),
    )
    with clock.frozen(at(2026, 3, 2, 9, 0)):
        w.d = accept(w.clerk_east, **HV)
    return w


def _march(viewer, **kw):
    return figures.select(viewer, start=at(2026, 3, 1).date(), end=at(2026, 3, 31).date(), **kw)


def test_the_rates_as_sg186_counts_them(hand_built):
    w = hand_built
    c = Application.objects.get(pk=w.c.pk)
    design = c.nodes.get(kind="design_review")
    # The node's due time moved with the customer's wait: 10 working days from 6 March is 20 March,
    # three working days lost move it to 25 March.
    assert clock.local(design.due_at) == at(2026, 3, 25, 9, 0) and design.paused_days == 3
    found = figures.figures(w.county_manager, _march(w.county_manager), now=NOW)
    hv, lv = found.rates
    assert (hv.counted, hv.met, hv.rate) == (3, 2, Decimal("66.67"))
    assert (lv.counted, lv.met, lv.rate) == (3, 2, Decimal("66.67"))


def test_averages_per_node_and_per_type(hand_built):
    w = hand_built
    found = figures.figures(w.county_manager, _march(w.county_manager), now=NOW)
    nodes = {a.key: a for a in found.nodes}
    # Design review: A 6→10 March = 2, B 6→23 March = 11, C 6→24 March = 12 less 3 waited = 9.
    design = nodes["design_review"]
    assert (design.counted, design.total_days, design.average, design.late) == (3, 22, Decimal("7.33"), 1)
    # Plan reply: three HV from 2→5 March (3 each); LV: L1 2→3 (1), L2 2→4 (2), L3 2→5 less 2 (1).
    plan = nodes["plan_reply"]
    assert (plan.counted, plan.total_days, plan.late) == (6, 13, 0)
    # Accept → energize, net: A 12, B 21, C 21−3 = 18, L1 3, L2 6, L3 6−2 = 4 → 64 / 6.
    assert found.energized == 6
    assert found.average_days == Decimal("10.67")
    (new,) = found.types
    assert (new.key, new.counted, new.average, new.late) == ("new", 6, Decimal("10.67"), 2)
    # By unit: the county's stations — everything was supplied by the east station.
    east = next(u for u in found.by_unit if u.unit == w.east)
    assert (east.hv.met, east.hv.counted, east.lv.met, east.days.counted) == (2, 3, 2, 6)


def test_the_overdue_lists(hand_built):
    w = hand_built
    sel = _march(w.county_manager)
    found = figures.figures(w.county_manager, sel, now=NOW)
    assert (found.overdue_running, found.finished_late) == (1, 1)
    (running,) = [
        figures.overdue_row(n, NOW) for n in figures.overdue_nodes(w.county_manager, sel, "running", now=NOW)
    ]
    # D's plan reply, due 23 March 09:00: 24, 25, 26, 27, 30, 31 March and 1 April have begun since.
    assert (running.number, running.node, running.days_late) == (w.d.number, "供电方案答复", 7)
    (late,) = [
        figures.overdue_row(n, NOW) for n in figures.overdue_nodes(w.county_manager, sel, "finished", now=NOW)
    ]
    assert (late.number, late.node, late.days_late) == (w.b.number, "设计审核", 1)


def test_scope_another_station_sees_nothing_and_a_foreign_unit_is_404(hand_built, client):
    w = hand_built
    found = figures.figures(w.clerk_west, _march(w.clerk_west), now=NOW)
    assert [r.counted for r in found.rates] == [0, 0] and found.overdue_running == 0
    headers = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=w.clerk_east)}"}
    refused = client.get("/api/v1/applications/figures?unit=X02", **headers)
    assert refused.status_code == 404 and refused.json()["code"] == "not_found"
    bad = client.get("/api/v1/applications/figures?start=2026-03-31&end=2026-03-01", **headers)
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_date_range"


def test_the_api_answers_the_same_figures(hand_built, client):
    w = hand_built
    headers = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=w.county_manager)}"}
    with clock.frozen(NOW):
        got = client.get("/api/v1/applications/figures?unit=X01&start=2026-03-01&end=2026-03-31", **headers)
        listed = client.get(
            "/api/v1/applications/figures/overdue?unit=X01&start=2026-03-01&end=2026-03-31&which=finished",
            **headers,
        )
    assert got.status_code == 200, got.content
    body = got.json()
    assert [(r["key"], r["counted"], r["met"], r["rate"]) for r in body["rates"]] == [
        ("hv", 3, 2, "66.67"),
        ("lv", 3, 2, "66.67"),
    ]
    assert body["average_days"] == "10.67" and body["overdue_running"] == 1
    assert listed.status_code == 200 and listed.json()["count"] == 1
    assert listed.json()["items"][0]["number"] == w.b.number


def test_the_page_and_its_excel_export(hand_built, client):
    from openpyxl import load_workbook

    w = hand_built
    client.force_login(w.county_manager)
    with clock.frozen(NOW):
        page = client.get(f"/applications/figures/?unit={w.county.pk}&start=2026-03-01&end=2026-03-31")
        book = client.get(
            f"/applications/figures/?unit={w.county.pk}&start=2026-03-01&end=2026-03-31&format=xlsx"
        )
    assert page.status_code == 200
    text = page.content.decode()
    assert "业扩报装统计" in text and "66.67%" in text and w.d.number in text
    assert book.status_code == 200 and "attachment" in book["Content-Disposition"]
    sheets = load_workbook(io.BytesIO(book.content))
    rates = list(sheets.worksheets[0].iter_rows(min_row=3, max_row=5, values_only=True))
    assert rates[0][1:4] == (3, 2, 66.67) and rates[1][1:4] == (3, 2, 66.67)
    assert rates[2][1] == 6 and rates[2][3] == 10.67
    running = list(sheets["超期在途"].iter_rows(min_row=2, values_only=True))
    assert [r[0] for r in running] == [w.d.number]
    assert (
        AuditLog.objects.filter(action=AuditLog.Action.EXPORT, object_type="applications.figures").count()
        == 1
    )
    # A unit outside the scope: 404, as if it did not exist.
    client.force_login(w.clerk_east)
    assert client.get(f"/applications/figures/?unit={w.county2.pk}").status_code == 404
