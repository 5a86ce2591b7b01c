"""Issue 17 on the floor: an inspector scores a call on the form; the agent reads the score, their
evaluation and appeals (Chromium, screenshots)."""

from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import expect

from gridcare.core import clock
from gridcare.core.clock import LOCAL_TZ
from gridcare.hotline.models import Call
from gridcare.org.models import Role
from gridcare.org.services import create_staff
from gridcare.quality import inspection
from gridcare.quality.models import Inspection
from gridcare.workorders.models import WorkOrder


def test_an_inspector_scores_a_call_and_the_agent_reads_it_and_appeals(page, shot, world, login):
    w = world
    create_staff(username="qc", password=w.password, full_name="质检员小周", roles=[(Role.INSPECTOR, w.city)])
    today = clock.local_now()
    monday = (today - dt.timedelta(days=today.weekday() + 7)).date()
    start = dt.datetime.combine(monday, dt.time(9), tzinfo=LOCAL_TZ)
    for i in range(3):
        c = Call(
            call_id=f"cti-{i}",
            caller_number="13812341234",
            unit=w.city,
            queued_at=start + dt.timedelta(days=i),
            recording_ref=f"https://rec.example/{i}.wav",
            answered_by=w.agent,
            outcome=Call.Outcome.ANSWERED,
        )
        c.answered_at = c.queued_at + dt.timedelta(seconds=8)
        c.ended_at = c.answered_at + dt.timedelta(seconds=180)
        c.wrapped_up_at = c.ended_at + dt.timedelta(seconds=40)
        c.derive_figures(short_abandon_seconds=5)
        c.save()
        o = WorkOrder.objects.create(
            number=f"ZX2026{i:04d}",
            order_type="consultation",
            channel="hotline",
            state="archived",
            accepted_unit=w.city,
            accepted_by=w.agent,
            created_at=c.arrived_at,
            updated_at=c.arrived_at,
            content="咨询电价" if i else "客户说要向媒体反映",
        )
        c.work_orders.add(o)
    inspection.sample_week(monday)
    must = Inspection.objects.get(reason__startswith="必检")

    login("qc")
    page.goto("/quality/inspections/")
    expect(page.locator("#inspections")).to_contain_text("必检")
    page.goto(f"/quality/inspections/{must.pk}/")
    expect(page.get_by_role("link", name="播放录音")).to_be_visible()
    page.check("#d-greeting")
    page.check("#d-answer")
    page.fill("textarea[name=notes]", "答复不完整，未用结束语")
    shot("inspector-scoring")
    page.click("#score-form button")
    expect(page.locator("#inspection-score")).to_contain_text("90.5")

    page.context.clear_cookies()
    login("agent")
    page.get_by_role("link", name="质检").first.click()
    expect(page.locator("#inspections")).to_contain_text("90.5")
    page.goto(f"/quality/inspections/{must.pk}/")
    page.fill("#appeal-form textarea", "结束语已使用，见录音 02:55")
    page.click("#appeal-form button")
    expect(page.locator("body")).to_contain_text("申诉中")
    page.get_by_role("link", name="我的服务评价").first.click()
    page.wait_for_url(re.compile(r"/quality/agents/\d+/"))
    expect(page.locator("#indicators")).to_contain_text("质检平均得分")
    shot("agent-reads-evaluation")
    assert page.gc_js_errors == []
    page.goto("about:blank")
