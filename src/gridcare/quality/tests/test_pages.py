"""The statistics pages as a leader uses them: figures, a metric's ranking, the rows behind a
figure, Excel exports that hold the same numbers, and the scoping door."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook

from gridcare.core.models import AuditLog
from gridcare.org.models import Role
from gridcare.org.services import create_staff

from .test_metrics import at, order

pytestmark = pytest.mark.django_db

NOV = {"period": "month", "date": "2026-11-15"}


@pytest.fixture
def county_world(world):
    w = world
    for day in (3, 9, 20):
        order(w, w.east, at(day))
    order(w, w.west, at(5))
    order(w, w.west, at(5, month=10))
    order(w, w.east, at(7, month=10))
    return w


def test_the_complaints_page_shows_each_figure_with_its_comparisons(county_world, client):
    w = county_world
    leader = create_staff(
        username="lead", password=w.password, full_name="郑经理", roles=[(Role.MANAGER, w.county)]
    )
    client.force_login(leader)
    page = client.get("/quality/statistics/", {**NOV, "area": "complaints"})
    assert page.status_code == 200
    html = page.content.decode()
    row = html[html.index('data-metric="complaints"') :]
    row = row[: row.index("</tr>")]
    assert ">4 <small" in row  # 3 east + 1 west
    assert "↑" in row and "100.0%" in row  # 2 in October: doubled, and more complaints is worse
    assert "text-danger" in row
    # The figure's rows: as many as it counts, each order linked.
    rows = client.get("/quality/statistics/m/complaints/rows/", NOV)
    assert "共 4 条" in rows.content.decode()
    assert rows.content.decode().count("/workorders/T") == 4


def test_a_metric_page_ranks_the_stations_and_exports_the_same_numbers(county_world, client):
    w = county_world
    leader = create_staff(
        username="lead", password=w.password, full_name="郑经理", roles=[(Role.MANAGER, w.county)]
    )
    client.force_login(leader)
    page = client.get("/quality/statistics/m/complaints/", {**NOV, "unit": w.county.pk})
    html = page.content.decode()
    ranking = html[html.index('id="ranking"') :]
    assert ranking.index("城西供电所") < ranking.index("城东供电所")  # 1 complaint before 3
    assert 'id="chart-data"' in html and "echarts.min.js" in html
    export = client.get("/quality/statistics/m/complaints/", {**NOV, "unit": w.county.pk, "format": "xlsx"})
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(export.content)).active
    table = [[c.value for c in r] for r in sheet.iter_rows(min_row=3)]
    assert [(r[1], r[2]) for r in table] == [("城西供电所", "1"), ("城东供电所", "3")]
    assert AuditLog.objects.filter(action=AuditLog.Action.EXPORT, actor=leader).exists()


def test_statistics_pages_are_for_readers_in_their_scope(county_world, client):
    w = county_world
    client.force_login(w.agent)
    assert client.get("/quality/statistics/").status_code == 403
    east = create_staff(
        username="east_lead", password=w.password, full_name="冯所长", roles=[(Role.MANAGER, w.east)]
    )
    client.force_login(east)
    assert client.get("/quality/statistics/m/complaints/", {"unit": w.west.pk}).status_code == 404
    own = client.get("/quality/statistics/m/complaints/rows/", NOV)
    assert "共 3 条" in own.content.decode()
    bad = client.get("/quality/statistics/", {"start": "2026-11-30", "end": "2026-11-01"})
    assert bad.status_code == 200 and "结束日期早于开始日期" in bad.content.decode()


def test_the_leaders_home_tile_counts_today_and_links_to_the_figure(world, client):
    from gridcare.core import clock
    from gridcare.core.clock import LOCAL_TZ

    w = world
    now = clock.local_now().replace(hour=12, minute=0)
    with clock.frozen(now.astimezone(LOCAL_TZ)):
        order(w, w.east, now - dt.timedelta(hours=1))
        order(w, w.east, now - dt.timedelta(days=1))  # yesterday: not today
        leader = create_staff(
            username="lead", password=w.password, full_name="郑经理", roles=[(Role.MANAGER, w.county)]
        )
        client.force_login(leader)
        html = client.get("/").content.decode()
    assert "今日统计" in html
    tile = html[html.index("今日投诉工单量") - 400 : html.index("今日投诉工单量") + 200]
    assert "/quality/statistics/m/complaints/?unit=" in tile and "period=day" in tile
    client.force_login(w.agent)
    assert "今日统计" not in client.get("/").content.decode()
