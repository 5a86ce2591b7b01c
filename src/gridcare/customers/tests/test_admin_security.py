"""Issue #14 item 18 (personal data masked and audited in the admin; 三员分立) and item 20 (an
account number entered in the admin cannot carry script)."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from gridcare.core.models import AuditLog
from gridcare.customers.models import Customer
from gridcare.org.models import Role, RoleAssignment
from gridcare.org.services import create_staff

pytestmark = pytest.mark.django_db

ID_NUMBER = "520102198001011234"


def _admin(world, username: str, role: str | None, *, superuser: bool = False):
    user = create_staff(
        username=username,
        password=world.password,
        full_name=username,
        roles=[(role, world.province)] if role else [],
        is_staff=True,
        mobile="13700001111",
    )
    if superuser:
        user.is_superuser = True
        user.save(update_fields=["is_superuser"])
    return user


@pytest.fixture
def sysadmin(client, world):
    user = _admin(world, "sysadmin", Role.ADMIN, superuser=True)
    client.force_login(user)
    return user


def test_the_admin_masks_id_and_phone_numbers(client, world, sysadmin):
    c = world.customer_east
    listing = client.get("/admin/customers/customer/")
    assert listing.status_code == 200
    page = client.get(f"/admin/customers/customer/{c.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert ID_NUMBER not in html and "13812341234" not in html
    assert "520102********1234" in html and "138****1234" in html
    assert not AuditLog.objects.filter(action=AuditLog.Action.VIEW_SENSITIVE).exists()


def test_a_masked_save_keeps_the_stored_values(client, world, sysadmin):
    c = world.customer_east
    page = client.get(f"/admin/customers/customer/{c.pk}/change/")
    form = page.context["adminform"].form
    assert "id_number" not in form.fields
    c.refresh_from_db()
    assert c.id_number == ID_NUMBER


def test_revealing_in_the_admin_shows_the_full_values_and_is_audited(client, world, sysadmin):
    c = world.customer_east
    page = client.get(f"/admin/customers/customer/{c.pk}/change/?reveal=1")
    html = page.content.decode()
    assert ID_NUMBER in html and "13812341234" in html
    entry = AuditLog.objects.get(action=AuditLog.Action.VIEW_SENSITIVE)
    assert entry.actor == sysadmin and entry.object_id == str(c.pk)
    assert entry.detail["via"] == "admin"
    assert "id_number" in entry.detail["fields"] and "customerphone.number" in entry.detail["fields"]


def test_staff_mobiles_are_masked_in_the_user_admin(client, world):
    security = _admin(world, "secadmin", Role.SECURITY_ADMIN)
    client.force_login(security)
    html = client.get(f"/admin/org/user/{security.pk}/change/").content.decode()
    assert "13700001111" not in html and "137****1111" in html


# --- 三员分立 -------------------------------------------------------------------------------


def test_the_system_administrator_manages_configuration_not_accounts_or_the_audit_log(
    client, world, sysadmin
):
    assert client.get("/admin/core/calendarday/").status_code == 200
    assert client.get("/admin/org/unit/").status_code == 200
    assert client.get("/admin/org/user/").status_code == 403
    assert client.get("/admin/org/roleassignment/add/").status_code == 403
    assert client.get("/admin/core/auditlog/").status_code == 403


def test_the_security_administrator_manages_accounts_and_roles_only(client, world):
    client.force_login(_admin(world, "secadmin", Role.SECURITY_ADMIN))
    assert client.get("/admin/org/user/").status_code == 200
    assert client.get("/admin/org/roleassignment/add/").status_code == 200
    assert client.get("/admin/core/calendarday/").status_code == 403
    assert client.get("/admin/customers/customer/").status_code == 403
    assert client.get("/admin/core/auditlog/").status_code == 403


def test_the_audit_administrator_reads_the_audit_log_and_nothing_else(client, world):
    entry = AuditLog.objects.create(at="2026-01-05T08:00:00+08:00", actor_name="x", action="export")
    client.force_login(_admin(world, "auditadmin", Role.AUDIT_ADMIN, superuser=True))
    assert client.get("/admin/core/auditlog/").status_code == 200
    assert client.get(f"/admin/core/auditlog/{entry.pk}/change/").status_code == 200
    assert client.get(f"/admin/core/auditlog/{entry.pk}/delete/").status_code == 403
    assert client.post(f"/admin/core/auditlog/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.post(
        "/admin/core/auditlog/", {"action": "delete_selected", "_selected_action": [entry.pk], "post": "yes"}
    ).status_code in (200, 302, 403)
    assert AuditLog.objects.filter(pk=entry.pk).exists()
    for url in ["/admin/org/user/", "/admin/customers/customer/", "/admin/core/calendarday/"]:
        assert client.get(url).status_code == 403, url


def test_a_superuser_flag_without_an_administrator_role_opens_nothing(client, world):
    client.force_login(_admin(world, "root", None, superuser=True))
    response = client.get("/admin/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


def test_no_account_holds_two_administrator_roles(world):
    user = _admin(world, "sysadmin2", Role.ADMIN)
    with pytest.raises(ValidationError):
        RoleAssignment.objects.create(user=user, role=Role.AUDIT_ADMIN, unit=world.city)
    with pytest.raises(ValidationError):
        RoleAssignment(user=user, role=Role.SECURITY_ADMIN, unit=world.province).full_clean()
    RoleAssignment.objects.create(user=user, role=Role.ADMIN, unit=world.city)  # same role elsewhere: fine
    RoleAssignment.objects.create(user=user, role=Role.AGENT, unit=world.city)


def test_the_security_admin_cannot_give_one_account_two_administrator_roles(client, world):
    client.force_login(_admin(world, "secadmin", Role.SECURITY_ADMIN))
    target = _admin(world, "sysadmin3", Role.ADMIN)
    response = client.post(
        "/admin/org/roleassignment/add/", {"user": target.pk, "role": Role.AUDIT_ADMIN, "unit": world.city.pk}
    )
    assert response.status_code == 200  # the form again, with the error
    assert "三者互斥" in response.content.decode()
    assert not RoleAssignment.objects.filter(user=target, role=Role.AUDIT_ADMIN).exists()


# --- item 20: account numbers -------------------------------------------------------------


def test_an_account_number_with_script_is_refused_in_the_admin(client, world, sysadmin):
    evil = "1');alert(1)//"
    response = client.post(
        "/admin/customers/customer/add/",
        {
            "account_no": evil,
            "name": "测试户",
            "customer_class": "residential",
            "tariff_category": "residential_tiered",
            "load_class": 3,
            "status": "active",
            "contracted_capacity_kva": 8,
            "credit_rating": "A",
            "transformer_area": world.area_east.pk,
            "station": world.east.pk,
            **{
                f"{p}-{k}": 0
                for p in ("phones", "addresses", "meters", "contracts")
                for k in ("TOTAL_FORMS", "INITIAL_FORMS")
            },
        },
    )
    assert response.status_code == 200
    assert "户号只能包含字母、数字和 - _ . 符号" in response.content.decode()
    assert not Customer.objects.filter(account_no=evil).exists()


def test_customer_search_results_carry_no_inline_script(client, world):
    client.login(username="agent", password=world.password)
    html = client.get(f"/customers/?q={world.customer_east.account_no}").content.decode()
    assert world.customer_east.account_no in html
    assert "onclick" not in html and "data-href=" in html


def test_the_user_form_cannot_give_two_administrator_roles_at_once(client, world):
    client.force_login(_admin(world, "secadmin", Role.SECURITY_ADMIN))
    target = _admin(world, "plain", None)
    page = client.get(f"/admin/org/user/{target.pk}/change/")
    form = page.context["adminform"].form
    data = {
        k: v
        for k, v in form.initial.items()
        if v is not None
        and k not in ("password", "groups", "user_permissions", "last_login", "date_joined", "locked_until")
    }
    data.update(
        {
            "date_joined_0": "2026-01-05",
            "date_joined_1": "08:00:00",
            "failed_logins": 0,
            "assignments-TOTAL_FORMS": 2,
            "assignments-INITIAL_FORMS": 0,
            "assignments-0-role": Role.ADMIN,
            "assignments-0-unit": world.city.pk,
            "assignments-1-role": Role.AUDIT_ADMIN,
            "assignments-1-unit": world.city.pk,
        }
    )
    response = client.post(f"/admin/org/user/{target.pk}/change/", data)
    assert response.status_code == 200
    assert "三者互斥" in response.content.decode()
    assert not RoleAssignment.objects.filter(user=target).exists()
