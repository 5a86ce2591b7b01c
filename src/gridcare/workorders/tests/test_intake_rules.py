"""Issue #14: intake rules are the service's — per-type requirements, who may take requests, and
the open order of the same matter — whichever door (API, plain form, workspace) an order comes in by."""

import pytest

from gridcare.core.api_errors import ApiError
from gridcare.org.models import Role
from gridcare.org.services import create_staff, issue_token
from gridcare.workorders import services
from gridcare.workorders.models import WorkOrder


def api_post(client, user, body):
    token = issue_token(user=user)
    return client.post(
        "/api/v1/work-orders", body, content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )


COMPLAINT = {"order_type": "complaint", "channel": "hotline", "account_no": "5100000001", "content": "态度差"}


def test_a_complaint_needs_its_class_through_the_api_and_the_plain_form(world, client):
    refused = api_post(client, world.agent, COMPLAINT)
    assert refused.status_code == 422 and refused.json()["code"] == "complaint_class_required"
    client.force_login(world.agent)
    page = client.post("/workorders/new/", COMPLAINT)
    assert page.status_code == 200 and "请选择投诉分类" in page.content.decode()
    assert not WorkOrder.objects.exists()
    created = api_post(client, world.agent, {**COMPLAINT, "complaint_class": "service"})
    assert created.status_code == 201


def test_the_service_refuses_a_complaint_without_a_valid_class(world):
    for complaint_class in ("", "nonsense"):
        with pytest.raises(ApiError) as err:
            services.create_work_order(
                actor=world.agent,
                intake=services.Intake(
                    order_type="complaint",
                    channel="hotline",
                    content="态度差",
                    customer=world.customer_east,
                    complaint_class=complaint_class,
                ),
            )
        assert err.value.code == "complaint_class_required"
    assert not WorkOrder.objects.exists()


def test_only_the_roles_that_take_requests_may_file_orders(world, client):
    editor = create_staff(
        username="kb_editor",
        password=world.password,
        full_name="林知识",
        roles=[(Role.KNOWLEDGE_EDITOR, world.city)],
    )
    body = {**COMPLAINT, "complaint_class": "service"}
    for user in (world.crew, editor):
        refused = api_post(client, user, body)
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden_role"
        client.force_login(user)
        assert client.get("/workorders/new/").status_code == 403
        assert client.post("/workorders/new/", body).status_code == 403
        assert client.post("/hotline/intake/", body).status_code == 403
        fault = {"content": "家里没电", "caller_phone": "13700001111", "address": "城关镇某路1号"}
        token = issue_token(user=user)
        refused = client.post(
            "/api/v1/repair/calls",
            fault,
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token}",
        )
        assert refused.status_code == 403 and refused.json()["code"] == "forbidden_role"
    assert not WorkOrder.objects.exists()
    from django.apps import apps  # repair sits above workorders: no import of its models here

    assert not apps.get_model("repair", "ReportedCall").objects.exists()
    # The counter takes requests.
    assert api_post(client, world.clerk_east, {**body, "channel": "hall"}).status_code == 201


def test_the_duplicate_rule_is_the_services(world):
    intake = services.Intake(
        order_type="complaint",
        channel="hotline",
        content="抄表错误",
        customer=world.customer_east,
        complaint_class="business",
    )
    first, _ = services.accept_request(actor=world.agent, intake=intake)
    with pytest.raises(services.DuplicateOrder) as err:
        services.accept_request(actor=world.agent, intake=intake)
    assert err.value.order == first and err.value.code == "duplicate_open_order"
    second, created = services.accept_request(actor=world.agent, intake=intake, confirm_duplicate=True)
    assert created and second != first and WorkOrder.objects.count() == 2
