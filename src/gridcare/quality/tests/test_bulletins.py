"""督办通报 twice a day: what each unit's bulletin says, once per slot, to the unit's leaders;
kept, readable in scope, exported."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from gridcare.core import clock
from gridcare.core.clock import LOCAL_TZ
from gridcare.core.models import AuditLog
from gridcare.notify.models import Message
from gridcare.org.models import Role
from gridcare.org.services import create_staff
from gridcare.quality.bulletins import issue_due
from gridcare.quality.models import Bulletin
from gridcare.workorders.models import Deadline, TimeLimitPolicy, WorkOrderEvent

from .test_metrics import order

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 16)


def local(hour, minute=0, day=DAY):
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=LOCAL_TZ)


@pytest.fixture
def floor(world):
    w = world
    w.east_leader = create_staff(
        username="east_lead", password=w.password, full_name="冯所长", roles=[(Role.MANAGER, w.east)]
    )
    w.west_leader = create_staff(
        username="west_lead", password=w.password, full_name="韩所长", roles=[(Role.MANAGER, w.west)]
    )
    start = local(7) - dt.timedelta(days=1)
    w.late = order(
        w, w.east, start, "fault_repair", state="dispatched", warning_level=3, assignee=w.clerk_east
    )
    Deadline.objects.create(
        order=w.late,
        milestone="arrive",
        policy=TimeLimitPolicy.objects.filter(milestone="arrive").first(),
        started_at=start,
        due_at=start + dt.timedelta(minutes=45),
    )
    w.near = order(w, w.east, start, "business", state="in_progress", warning_level=1, urge_count=2)
    w.raised = order(
        w, w.east, start, "complaint", state="in_progress", escalation_tier=1, transformer_area=w.area_east
    )
    order(w, w.east, local(9, day=DAY - dt.timedelta(days=2)), "complaint", transformer_area=w.area_east)
    order(w, w.west, start, "consultation", state="dispatched")
    order(w, w.east, start, "fault_repair")  # archived: not in transit
    return w


def test_each_unit_gets_its_bulletin_once_per_slot_and_its_leaders_are_told(floor):
    w = floor
    with clock.frozen(local(8, 0)):
        assert issue_due() == 0  # before 08:30
    with clock.frozen(local(8, 31)):
        assert issue_due() == 5  # two counties, three stations
        assert issue_due() == 0  # the same slot again: nothing
    east = Bulletin.objects.get(unit=w.east)
    counts = east.data["counts"]
    assert (counts["open"], counts["overdue"], counts["near"], counts["urged"], counts["escalated"]) == (
        3,
        1,
        1,
        1,
        1,
    )
    overdue = east.data["overdue"]
    assert [(r["number"], r["responsible"]) for r in overdue] == [(w.late.number, "李受理")]
    assert overdue[0]["overdue_hours"] == pytest.approx(24.8, abs=0.1)  # due at 07:45 yesterday
    assert east.data["hot_spots"] == [{"where": "东风1号台区", "complaints": 2}]
    told = Message.objects.filter(about_type="quality.bulletin", about_id=str(east.pk), channel="staff_inbox")
    assert [m.recipient_id for m in told] == [str(w.east_leader.pk)] and east.recipients == 1
    assert "超期1件" in told.get().body
    assert Bulletin.objects.get(unit=w.county).data["counts"]["open"] == 4  # its two stations: 3 + 1

    WorkOrderEvent.objects.create(order=w.late, action="warning", at=local(10))
    with clock.frozen(local(12)):
        assert issue_due() == 0  # the morning slot is done, the afternoon's has not come
    with clock.frozen(local(16, 45)):
        assert issue_due() == 5
    afternoon = Bulletin.objects.get(unit=w.east, slot_at=local(16, 30))
    assert afternoon.data["counts"]["warnings"] == 1  # raised since the morning bulletin
    assert east.data["counts"]["warnings"] == 0


def test_a_leader_reads_the_bulletins_of_their_units_only_and_exports_one(floor, client):
    w = floor
    with clock.frozen(local(8, 31)):
        issue_due()
    east = Bulletin.objects.get(unit=w.east)
    west = Bulletin.objects.get(unit=w.west)
    client.force_login(w.east_leader)
    listing = client.get("/quality/bulletins/").content.decode()
    assert east.number in listing and west.number not in listing
    page = client.get(f"/quality/bulletins/{east.pk}/")
    assert f"/workorders/{w.late.number}/" in page.content.decode()
    assert client.get(f"/quality/bulletins/{west.pk}/").status_code == 404
    export = client.get(f"/quality/bulletins/{east.pk}/", {"format": "xlsx"})
    cells = [c.value for row in load_workbook(io.BytesIO(export.content)).active.iter_rows() for c in row]
    assert w.late.number in cells and "李受理" in cells
    client.force_login(w.agent)
    assert client.get("/quality/bulletins/").status_code == 403


def pdf_text(content: bytes) -> tuple[int, str]:
    """How many pages a PDF has and the text read back out of it (what a search or a copy finds)."""
    reader = PdfReader(io.BytesIO(content))
    return len(reader.pages), "\n".join(page.extract_text() for page in reader.pages)


def test_a_leader_prints_the_bulletin_as_a_pdf_with_what_the_page_shows(floor, client):
    w = floor
    w.late.customer = w.customer_east  # the caller of the overdue order: never in the bulletin
    w.late.caller_name, w.late.caller_phone = "张建国", "13812341234"
    w.late.number = "YW20261115000123"  # as wide as order numbers come: printed on one line
    w.late.save()
    with clock.frozen(local(8, 31)):
        issue_due()
    east = Bulletin.objects.get(unit=w.east)
    client.force_login(w.east_leader)
    assert (
        'id="export-pdf" href="?format=pdf"' in client.get(f"/quality/bulletins/{east.pk}/").content.decode()
    )

    with clock.frozen(local(9, 5)):
        printed = client.get(f"/quality/bulletins/{east.pk}/", {"format": "pdf"})
    assert printed.status_code == 200 and printed["Content-Type"] == "application/pdf"
    assert (
        printed["Content-Disposition"] == f'attachment; filename="bulletin-{east.number}-20261116-0905.pdf"'
    )
    assert printed.content.startswith(b"%PDF-")
    pages, text = pdf_text(printed.content)
    assert pages >= 1
    assert "督办通报" in text and "城东供电所 2026-11-16 08:30" in text and east.number in text
    overdue = text[text.index("超期工单（1）") : text.index("临期工单（1）")]
    assert w.late.number in overdue and "李受理" in overdue and "24.8" in overdue
    near_due = text[text.index("临期工单（1）") : text.index("被催办工单（1）")]
    assert w.near.number in near_due and w.late.number not in near_due
    assert w.near.number in text[text.index("被催办工单（1）") : text.index("已升级工单（1）")]
    assert w.raised.number in text[text.index("已升级工单（1）") : text.index("投诉热点")]
    assert "东风1号台区" in text[text.index("投诉热点") :]
    for label in ("在途工单", "新增预警"):
        assert label in text
    assert "生成时间：2026-11-16 09:05（北京时间）" in text
    assert f"第 1 页 / 共 {pages} 页" in text
    assert not any(personal in text for personal in ("张建国", "13812341234", "138****1234", "东风路18号"))

    exported = AuditLog.objects.get(action=AuditLog.Action.EXPORT, actor=w.east_leader)
    assert (exported.object_type, exported.object_id) == ("quality.bulletin", str(east.pk))
    assert exported.detail["format"] == "pdf"
    assert exported.detail["rows"] == 6  # the counts, the 4 listed orders, the hot spot


def test_the_pdf_goes_through_the_bulletin_pages_door(floor, client):
    w = floor
    with clock.frozen(local(8, 31)):
        issue_due()
    west = Bulletin.objects.get(unit=w.west)
    client.force_login(w.east_leader)
    assert client.get(f"/quality/bulletins/{west.pk}/", {"format": "pdf"}).status_code == 404
    client.force_login(w.agent)  # a hotline agent sees every station, but reads no bulletins
    assert client.get(f"/quality/bulletins/{west.pk}/", {"format": "pdf"}).status_code == 403
    client.force_login(w.west_leader)
    assert client.get(f"/quality/bulletins/{west.pk}/", {"format": "pdf"}).status_code == 200
    assert [a.actor for a in AuditLog.objects.filter(action=AuditLog.Action.EXPORT)] == [w.west_leader]
