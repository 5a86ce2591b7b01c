"""Nothing from the internet (a utility's intranet has none): rendered pages, the command wall,
our own scripts and styles fetch nothing off this site, and the CSP names no other host."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

# The fixture world of src/gridcare/conftest.py and its autouse fixtures serve here too.
from gridcare.conftest import _fast_password_hashing, _reset_clock_and_calendar, world  # noqa: F401, F811
from gridcare.core.tests.test_headers import CSS_OFF_SITE, OFF_SITE, SRC, _csp

# What a rendered page asks the browser to fetch by itself: scripts, stylesheets, images, frames,
# media, fonts and CSS urls — not links a person clicks (<a href>), which load nothing.
FETCHED = re.compile(
    r"""<(?:script|img|iframe|audio|video|source|embed|object|link)\b[^>]*?\s(?:src|href|data|srcset|poster)\s*=\s*["']?\s*([^"'\s>]+)""",
    re.IGNORECASE,
)
OFF_SITE_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*:)?//", re.IGNORECASE)
FETCH_DIRECTIVES = (
    "default-src",
    "script-src",
    "style-src",
    "img-src",
    "font-src",
    "connect-src",
    "object-src",
)


def _fetched_off_site(html: str) -> list[str]:
    urls = [m.group(1) for m in FETCHED.finditer(html)]
    urls += [m.group(0) for m in CSS_OFF_SITE.finditer(html)]
    return [u for u in urls if OFF_SITE_URL.match(u) or u.lower().startswith(("url(", "@import"))]


def test_the_fetch_check_catches_what_it_looks_for():
    assert _fetched_off_site('<script src="https://cdn.example.org/echarts.js"></script>')
    assert _fetched_off_site('<link rel="stylesheet" href="//fonts.example.org/a.css">')
    assert _fetched_off_site('<img src="http://tiles.example.org/1/2/3.png">')
    assert _fetched_off_site("<style>body{background:url(https://example.org/a.png)}</style>")
    assert not _fetched_off_site('<script src="/static/vendor/echarts.min.js"></script>')
    assert not _fetched_off_site('<a href="https://recorder.intranet/1.wav">录音</a>')  # a link loads nothing


@pytest.mark.django_db
def test_rendered_pages_fetch_nothing_from_another_site_and_the_policy_forbids_it(client, world):  # noqa: F811
    """Every page the staff and the command wall open, rendered with data, asks the browser for
    nothing off this site; and the policy names no other host, so the browser would refuse if a
    page ever did (a utility's intranet has no internet)."""
    from gridcare.org.models import Role
    from gridcare.org.services import create_staff
    from gridcare.quality.models import WallScreen

    leader = create_staff(
        username="csp_leader", password=world.password, full_name="郑经理", roles=[(Role.MANAGER, world.city)]
    )
    from gridcare.applications import services as applications

    application, _created = applications.accept_application(
        actor=world.clerk_east,
        intake=applications.Intake(
            app_type="new",
            applicant_name="陈光明",
            id_type="resident_id",
            id_number="520102198503031234",
            address="城关镇东风路20号",
            contact_name="陈光明",
            contact_phone="13700001111",
            usage_class="residential",
            requested_kva=Decimal("8"),
        ),
    )
    number = application.number
    bill, run, billing_clerk = _billing(world)
    receipt_no = _receipt(bill)
    cashier = create_staff(
        username="csp_cashier",
        password=world.password,
        full_name="周收费",
        roles=[(Role.CASHIER, world.east)],
    )
    _ended_guarantee(world, billing_clerk)
    pages = {
        billing_clerk: [
            "/billing/runs/",
            f"/billing/runs/{run.pk}/",
            f"/billing/bills/{bill.number}/",
            f"/billing/customer/{bill.customer.account_no}/",
            f"/billing/bills/{bill.number}/explanation/",
            "/billing/desk/",
            f"/billing/desk/?account_no={bill.customer.account_no}",
            f"/billing/desk/receipts/{receipt_no}/",
            "/billing/desk/payments/",
            f"/billing/desk/payments/customer/{bill.customer.account_no}/",
            "/billing/desk/waivers/",
            "/billing/desk/reconciliations/",
            "/billing/desk/files/",
            "/billing/disconnections/",
            f"/billing/disconnections/new/?account_no={bill.customer.account_no}",
            "/billing/guarantees/",
            "/billing/guarantees/?show=ended",
            "/billing/supervision/",
            "/billing/prepaid/",
        ],
        # A cashier's pages draw without the clerk's tabs and the receipt without its reversal.
        cashier: [
            "/billing/desk/",
            f"/billing/desk/?account_no={bill.customer.account_no}",
            f"/billing/desk/receipts/{receipt_no}/",
            "/billing/desk/payments/",
            f"/billing/desk/payments/customer/{bill.customer.account_no}/",
        ],
        world.clerk_east: [
            "/applications/",
            "/applications/new/",
            f"/applications/{number}/",
            f"/applications/{number}/progress/",
            f"/applications/{number}/survey/",
            f"/applications/{number}/plan/",
            f"/applications/{number}/inspections/",
            f"/applications/{number}/energization/",
        ],
        world.agent: [
            "/applications/callbacks/",
            f"/applications/callbacks/{application.callbacks.get().pk}/",
            "/",
            "/hotline/",
            "/hotline/return-calls/",
            "/knowledge/",
            "/workorders/",
            "/quality/me/",
            "/quality/inspections/",
        ],
        leader: [
            "/quality/statistics/",
            "/quality/statistics/?area=hotline",
            "/quality/statistics/m/complaints/",
            "/quality/statistics/m/complaints/rows/",
            "/quality/bulletins/",
            "/quality/agents/",
            "/quality/staffing/",
            "/workorders/callbacks/",
            "/repair/",
            "/outages/",
            "/applications/figures/",
            "/applications/audit-cases/",
        ],
    }
    for user, urls in pages.items():
        client.force_login(user)
        for url in urls:
            response = client.get(url, follow=True)
            assert response.status_code == 200, url
            assert _fetched_off_site(response.content.decode()) == [], url
            csp = _csp(response)
            for directive in FETCH_DIRECTIVES:
                sources = csp[directive].split()[1:]
                assert set(sources) <= {"'self'", "'none'", "'unsafe-inline'", "data:"}, (url, directive)
    client.logout()
    _screen, key = WallScreen.issue(name="主屏", unit=world.county)
    wall = client.get(f"/quality/wall/open/{key}/", follow=True)
    assert wall.status_code == 200 and _fetched_off_site(wall.content.decode()) == []


def _billing(w):
    """A billing clerk, a released bill with its lines and a run holding an anomaly."""
    import datetime as dt

    from gridcare.billing.models import (
        Anomaly,
        Bill,
        BillingAccount,
        BillingRun,
        BillLine,
        TariffSchedule,
        TariffVersion,
    )
    from gridcare.org.models import Role
    from gridcare.org.services import create_staff

    clerk = create_staff(
        username="csp_billing",
        password=w.password,
        full_name="钱核算",
        roles=[(Role.BILLING_CLERK, w.county)],
    )
    schedule = TariffSchedule.objects.get(code="zj-residential")
    BillingAccount.objects.create(customer=w.customer_east, schedule=schedule)
    run = BillingRun.objects.create(period=dt.date(2026, 11, 1), unit=w.county)
    bill = Bill.objects.create(
        number="ZDCSP0001",
        customer=w.customer_east,
        run=run,
        period=dt.date(2026, 11, 1),
        state="open",
        period_start=dt.date(2026, 10, 26),
        period_end=dt.date(2026, 11, 25),
        kwh=Decimal("300"),
        amount=Decimal("161.40"),
        issued_on=dt.date(2026, 12, 2),
        due_on=dt.date(2026, 12, 17),
    )
    BillLine.objects.create(
        bill=bill,
        seq=1,
        item="energy",
        label="第1档电度电费",
        tier=1,
        quantity=Decimal("300"),
        price=Decimal("0.538"),
        amount=Decimal("161.40"),
        version=TariffVersion.objects.filter(schedule=schedule).first(),
    )
    Anomaly.objects.create(run=run, bill=bill, kind="swing", detail="电量波动")
    Anomaly.objects.create(run=run, bill=bill, kind="overshoot", detail="上月估抄示数高于本次实抄示数")
    return bill, run, clerk


def _ended_guarantee(w, clerk) -> None:
    """A 保电 ended early (who and why shown under its end)."""
    import datetime as dt

    from gridcare.billing import guarantees
    from gridcare.billing.models import SupplyGuarantee
    from gridcare.core import clock

    now = clock.now()
    made = guarantees.add_guarantee(
        actor=clerk,
        customer=w.customer_east,
        reason=SupplyGuarantee.Reason.MEDICAL,
        note="家用制氧机",
        starts_at=now - dt.timedelta(days=1),
        ends_at=now + dt.timedelta(days=5),
    )
    guarantees.end_guarantee(made, actor=clerk, why="设备已停用")


def _receipt(bill) -> str:
    """A counter payment of part of the bill (its receipt's number)."""
    from gridcare.billing import payments
    from gridcare.core import clock

    payment, _created = payments.post_payment(
        customer=bill.customer,
        channel="counter",
        reference="CSP-1",
        amount=Decimal("100.00"),
        paid_at=clock.now(),
    )
    return payment.receipt_no


def test_our_scripts_and_styles_fetch_nothing_from_another_site():
    """The site's own JS and CSS (and the vendored CSS) name no other host to load from."""
    static = SRC / "static"
    own = [p for p in SRC.rglob("static/**/*") if p.suffix in {".js", ".css"} and "vendor" not in p.parts]
    assert len(own) >= 4
    fetch_in_js = re.compile(r"""(?:fetch|import|importScripts|XMLHttpRequest)\s*\(\s*["'`](?:[a-z]+:)?//""")
    found = [
        f"{p.relative_to(SRC)}: {m.group(0)}"
        for p in own
        for pattern in (CSS_OFF_SITE, fetch_in_js, OFF_SITE)
        for m in pattern.finditer(p.read_text(encoding="utf-8"))
    ]
    found += [
        f"{p.relative_to(SRC)}: {m.group(0)}"
        for p in (static / "vendor").glob("*.css")
        for m in CSS_OFF_SITE.finditer(p.read_text(encoding="utf-8"))
    ]
    assert found == []
