"""A county leader's morning on the statistics pages (issue 17): the complaints figures of the
month, a metric's trend and station ranking drawn by ECharts, the rows behind a figure, an order."""

from __future__ import annotations

import datetime as dt
import re

from playwright.sync_api import expect
from pypdf import PdfReader

from gridcare.core.clock import LOCAL_TZ
from gridcare.org.models import Role
from gridcare.org.services import create_staff
from gridcare.quality.bulletins import issue
from gridcare.quality.models import BulletinSetting
from gridcare.workorders.models import WorkOrder


def _order(w, unit, when, number, **kw):
    return WorkOrder.objects.create(
        number=number,
        order_type=kw.pop("order_type", "complaint"),
        channel=kw.pop("channel", "hotline"),
        state="archived",
        accepted_unit=w.city,
        assigned_unit=unit,
        created_at=when,
        updated_at=when,
        **kw,
    )


def test_the_leaders_morning_figures_ranking_rows_bulletin_and_an_overdue_order(page, shot, world, login):
    w = world
    create_staff(username="leader", password=w.password, full_name="郑经理", roles=[(Role.MANAGER, w.county)])
    this_month = dt.datetime.now(LOCAL_TZ).replace(day=1, hour=10, minute=0, second=0, microsecond=0)
    last_month = (this_month - dt.timedelta(days=1)).replace(day=5)
    for i in range(3):
        _order(w, w.east, this_month + dt.timedelta(hours=i), f"TS2026000{i}")
    _order(w, w.west, this_month, "TS20260009", channel="regulator_12398")
    _order(w, w.east, last_month, "TS20250001")

    login("leader")
    page.get_by_role("link", name="统计报表").first.click()
    page.wait_for_url(re.compile(r"/quality/statistics/"))
    row = page.locator('#figures tr[data-metric="complaints"]')
    expect(row).to_contain_text("4")
    expect(row).to_contain_text("↑")
    shot("complaints-of-the-month")

    row.get_by_role("link", name="投诉工单量").click()
    page.wait_for_url(re.compile(r"/quality/statistics/m/complaints/"))
    expect(page.locator("#ranking")).to_contain_text("城东供电所")
    page.wait_for_function(
        "document.querySelectorAll('#chart-trend canvas, #chart-units canvas').length >= 2"
    )
    shot("metric-trend-and-ranking")

    page.locator("#ranking").get_by_role("link", name="城东供电所").click()
    page.wait_for_url(re.compile(rf"unit={w.east.pk}"))
    page.get_by_role("link", name=re.compile(r"3 条明细")).click()
    expect(page.locator("#rows-count")).to_contain_text("共 3 条")
    shot("the-rows-behind-the-figure")
    page.locator("#rows").get_by_role("link", name="TS20260000").click()
    page.wait_for_url(re.compile(r"/workorders/TS20260000/"))

    # The morning bulletin: from the statistics page to the overdue order it names.
    late = _order(w, w.east, this_month, "GZ20260077", order_type="fault_repair")
    WorkOrder.objects.filter(pk=late.pk).update(state="dispatched", warning_level=3, assignee=w.clerk_east)
    setting = BulletinSetting.current()
    issue(w.county, dt.datetime.now(LOCAL_TZ).replace(second=0, microsecond=0), setting)
    page.goto("/quality/statistics/")
    page.get_by_role("link", name="督办通报").first.click()
    page.locator("#bulletins a").first.click()
    expect(page.locator("#list-overdue")).to_contain_text("李受理")
    shot("the-morning-bulletin")
    with page.expect_download() as printing:  # 打印 PDF: a file to print, naming the same order
        page.get_by_role("link", name="打印 PDF").click()
    printed = printing.value
    assert re.fullmatch(r"bulletin-DB\d{12}-X01-\d{8}-\d{4}\.pdf", printed.suggested_filename)
    text = "".join(p.extract_text() for p in PdfReader(printed.path()).pages)
    assert "GZ20260077" in text and "李受理" in text
    page.locator("#list-overdue").get_by_role("link", name="GZ20260077").click()
    page.wait_for_url(re.compile(r"/workorders/GZ20260077/"))
    assert page.gc_js_errors == []
