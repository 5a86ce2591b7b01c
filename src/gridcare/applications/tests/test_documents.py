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
    assert AuditLog.objects.filter(action=AuditLog.Action.EXPORT, actor=w.clerk_east).count() == 1
    # The county manager (no personal-data role) gets it masked; a clerk of another station: 404.
    headers = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=w.county_manager)}"}
    masked = _text(client.get(f"/api/v1/applications/{application.number}/documents/application", **headers))
    assert "520102198503031234" not in masked and "13700001111" not in masked
    client.force_login(w.clerk_west)
    assert client.get(f"/applications/{application.number}/documents/application.pdf").status_code == 404
    client.force_login(w.clerk_east)
    assert client.get(f"/applications/{application.number}/documents/nonsense.pdf").status_code == 404
