"""Issue #14 item 18: the admin's call records show the caller's number masked, in the list, the
change page and its title; the full number only on an audited reveal."""

from __future__ import annotations

import pytest

from gridcare.core import clock
from gridcare.core.models import AuditLog
from gridcare.hotline.models import Call
from gridcare.org.models import Role, RoleAssignment

pytestmark = pytest.mark.django_db


def test_call_records_in_the_admin_mask_the_caller_number(client, world):
    admin = world.agent.__class__.objects.create_superuser("sysadmin", "s@example.com", world.password)
    RoleAssignment.objects.create(user=admin, role=Role.ADMIN, unit=world.province)
    client.force_login(admin)
    call = Call.objects.create(
        call_id="CTI-1", caller_number="13812341234", customer=world.customer_east, ringing_at=clock.now()
    )
    for url in ["/admin/hotline/call/", f"/admin/hotline/call/{call.pk}/change/"]:
        html = client.get(url).content.decode()
        assert "13812341234" not in html and "138****1234" in html, url
    reveals = AuditLog.objects.filter(action=AuditLog.Action.VIEW_SENSITIVE)
    assert not reveals.exists()
    html = client.get(f"/admin/hotline/call/{call.pk}/change/?reveal=1").content.decode()
    assert "13812341234" in html
    assert reveals.get().detail == {"via": "admin", "fields": ["caller_number"]}
