"""The 业扩 forms as PDF: real files read back with pypdf; personal data in full only for a role
that may see it; every print audited; a document the application has not reached answers 404."""

from __future__ import annotations

import io
import os
from decimal import Decimal

from pypdf import PdfReader

from gridcare.core import clock
from gridcare.core.models import AuditLog
from gridcare.org.services import issue_token

from .helpers import accept, at


def _text(response) -> str:
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"] == "application/pdf"
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)


def test_the_application_form_is_printed_with_what_the_customer_applied_for(yk_world, client):
    w = yk_world
    with clock.frozen(at(2026, 3, 2, 9, 0)):
        application = accept(
            w.clerk_east,
            requested_kva=Decimal("12"),
            equipment=[{"name": "空调", "kw": "3.5", "phase": 1, "voltage": "220V", "count": 2}],
        )
    client.force_login(w.clerk_east)
    printed = client.get(f"/applications/{application.number}/documents/application.pdf")
    if dump := os.environ.get("GRIDCARE_DUMP_PDF"):
        with open(dump, "wb") as out:
            out.write(printed.content)
    text = _text(printed)
    assert "用电申请书" in text and application.number in text
    assert "陈光明" in text and "520102198503031234" in text and "13700001111" in text  # the clerk may see it
    assert "空调" in text and "12" in text
    detail = client.get(f"/applications/{application.number}/").content.decode()
    assert f"/applications/{application.number}/documents/application.pdf" in detail  # offered on the page
    assert AuditLog.objects.filter(action=AuditLog.Action.EXPORT, actor=w.clerk_east).count() == 1
    # The county manager (no personal-data role) gets it masked; a clerk of another station: 404.
    headers = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=w.county_manager)}"}
    masked = _text(client.get(f"/api/v1/applications/{application.number}/documents/application", **headers))
    assert "520102198503031234" not in masked and "13700001111" not in masked
    client.force_login(w.clerk_west)
    assert client.get(f"/applications/{application.number}/documents/application.pdf").status_code == 404
    client.force_login(w.clerk_east)
    assert client.get(f"/applications/{application.number}/documents/nonsense.pdf").status_code == 404


def test_every_form_of_a_10kv_connection_once_it_reached_its_node(yk_world, client):
    from gridcare.applications import services

    from .helpers import record_for

    w = yk_world
    am = w.account_manager
    with clock.frozen(at(2026, 3, 2, 9, 0)):
        application = accept(w.clerk_east, requested_kva=Decimal("630"), usage_class="large_industry")
    client.force_login(am)
    base = f"/applications/{application.number}/documents"
    assert client.get(f"{base}/contract.pdf").status_code == 404  # not energized yet
    assert client.get(f"{base}/plan.pdf").status_code == 404  # not surveyed yet
    survey_sheet = _text(client.get(f"{base}/survey.pdf"))
    assert "现场勘查工作单" in survey_sheet and "（现场填写）" in survey_sheet
    with clock.frozen(at(2026, 3, 3, 9, 0)):
        for node in ("survey", "plan_reply"):
            record_for(application, node, am)
            services.act_on_node(application=application, node=node, action="finish", actor=am)
        services.act_on_node(application=application, node="design_review", action="start", actor=am)
        services.act_on_node(application=application, node="design_review", action="finish", actor=am)
        for node in ("mid_inspection", "completion_inspection"):
            services.act_on_node(application=application, node=node, action="start", actor=am)
            record_for(application, node, am)
            services.act_on_node(application=application, node=node, action="finish", actor=am)
        services.act_on_node(application=application, node="energize", action="start", actor=am)
        record_for(application, "energize", w.metering_county)
        services.act_on_node(
            application=application, node="energize", action="finish", actor=w.metering_county
        )
    plan = _text(client.get(f"{base}/plan.pdf"))
    assert (
        "供电方案答复单" in plan
        and "方案一" in plan
        and "客户配电室" in plan
        and "陈光明于2026-03-03" in plan
    )
    acceptance = _text(client.get(f"{base}/acceptance.pdf"))
    assert "验收单" in acceptance and "中间检查" in acceptance and "3330001000001" in acceptance
    contract = _text(client.get(f"{base}/contract.pdf"))
    if dump := os.environ.get("GRIDCARE_DUMP_PDF"):
        with open(dump.replace(".pdf", "-contract.pdf"), "wb") as out:
            out.write(client.get(f"{base}/contract.pdf").content)
    assert "高压供用电合同" in contract and "630" in contract and "产权分界点" in contract
