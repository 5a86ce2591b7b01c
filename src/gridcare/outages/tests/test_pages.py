"""The staff pages: list, lookup, create and publish with the notice rule, scoping."""

import pytest

from gridcare.customers.models import TransformerArea
from gridcare.outages import services
from gridcare.outages.models import Outage, OutageState

from .conftest import local


@pytest.fixture
def fault(ow):
    return services.open_fault_outage(
        transformer_areas=["T03"], reason="台区变压器故障", started_at=local(2026, 11, 24, 8, 40), actor=None
    )


def login(client, user, password):
    client.force_login(user)
    return client


def test_the_list_shows_todays_fault_to_its_station_only(ow, fault, client):
    page = login(client, ow.clerk_east, ow.password).get("/outages/?when=fault")
    assert page.status_code == 200
    html = page.content.decode()
    assert fault.number in html and "台区变压器故障" in html and "正在停电" in html
    assert "停电信息" in html  # the navigation entry
    # A fault outage has no written scope: the list names its transformer area, as its page does.
    area = TransformerArea.objects.get(code="T03")
    assert not fault.area_text and f"{area.name}供电范围" in html

    client.force_login(ow.clerk_west)
    assert fault.number not in client.get("/outages/?when=fault").content.decode()
    assert client.get(f"/outages/{fault.number}/").status_code == 404


def test_lookup_answers_for_an_account_number(ow, fault, client):
    client.force_login(ow.agent)
    page = client.get("/outages/lookup/?account_no=5100000011&when=today", HTTP_HX_REQUEST="true")
    html = page.content.decode()
    assert "5100000011 陈明" in html and "正在停电" in html and fault.number in html
    assert "<html" not in html  # the htmx partial
    full = client.get("/outages/lookup/?account_no=5100000002&when=week").content.decode()
    assert "查询期间没有停电信息" in full


def test_the_customer_partial_for_the_agents_screen(ow, fault, client):
    client.force_login(ow.agent)
    html = client.get("/outages/customer/5100000010/").content.decode()
    assert 'id="customer-outages"' in html and fault.number in html
    client.force_login(ow.clerk_west)
    assert client.get("/outages/customer/5100000010/").status_code == 404


def test_detail_shows_scope_key_customers_and_progress(ow, fault, client):
    client.force_login(ow.dispatcher)
    html = client.get(f"/outages/{fault.number}/").content.decode()
    assert "影响 3 户，其中重要客户 1 户" in html
    assert "城关县人民医院" in html and "138****0010" in html
    assert "共 3 条，已发送 0" in html
    assert "无手机号 1 户" in html

    client.post(f"/outages/{fault.number}/actions/key_call/", {"account_no": "5100000010", "note": "已告知"})
    html = client.get(f"/outages/{fault.number}/").content.decode()
    assert "已告知 1 / 1" in html


def test_create_then_publish_short_notice_needs_a_reason(ow, client):
    client.force_login(ow.dispatcher)
    response = client.post(
        "/outages/new/",
        {
            "kind": "planned",
            "reason": "10kV东风线设备检修",
            "area_text": "东风路沿线",
            "feeders": "F01",
            "transformer_areas": "",
            "planned_start": "2026-11-27T08:00",
            "planned_end": "2026-11-27T18:00",
        },
    )
    outage = Outage.objects.get()
    assert response.status_code == 302 and response.url == f"/outages/{outage.number}/"
    assert outage.planned_start == local(2026, 11, 27, 8)

    html = client.get(response.url).content.decode()
    assert "提前通知不足" in html

    refused = client.post(f"/outages/{outage.number}/actions/publish/", follow=True).content.decode()
    assert "须提前7天发布" in refused
    outage.refresh_from_db()
    assert outage.state == OutageState.DRAFT

    client.post(f"/outages/{outage.number}/actions/publish/", {"override_reason": "抢修配合，需提前停电"})
    outage.refresh_from_db()
    assert outage.state == OutageState.PUBLISHED
    html = client.get(f"/outages/{outage.number}/").content.decode()
    assert "不足时限发布：周调度" in html and "抢修配合，需提前停电" in html


def test_an_agent_sees_no_create_button_and_cannot_create(ow, client):
    client.force_login(ow.agent)
    assert 'id="new-outage"' not in client.get("/outages/").content.decode()
    assert client.get("/outages/new/").status_code == 302


def test_a_merged_outage_points_to_the_one_it_joined(ow, fault, client):
    other = services.open_fault_outage(
        transformer_areas=["T01"], reason="台区故障", started_at=local(2026, 11, 24, 8, 50), actor=None
    )
    services.merge_fault_outage(source=other, into=fault, actor=None)
    html = login(client, ow.clerk_east, ow.password).get(f"/outages/{other.number}/").content.decode()
    assert "已并入" in html and f'href="/outages/{fault.number}/"' in html
    assert "已告知</button>" not in html  # no phone checklist on a merged outage


def test_the_list_names_the_same_areas_as_the_outage_page_and_notice(ow, client):
    """The list reads every outage's areas with one query; it names the first three by code, as
    the outage's own page and its customer notice do (areas added later may sort first)."""
    from gridcare.customers.models import AreaClass
    from gridcare.outages import wording

    for code in ("S09", "S01"):  # created after T01/T03, yet first by code
        TransformerArea.objects.create(
            name=f"{code}号台区",
            code=code,
            feeder=ow.feeder_east,
            station=ow.east,
            area_class=AreaClass.URBAN,
        )
    outage = services.open_fault_outage(
        feeders=["F01"], reason="线路跳闸", started_at=local(2026, 11, 24, 9, 0), actor=None
    )
    expected = wording.scope_text(outage)
    assert expected.startswith("S01号台区、S09号台区") and "等4个台区" in expected
    assert wording.scope_texts([outage]) == {outage.pk: expected}
    html = login(client, ow.clerk_east, ow.password).get("/outages/?when=fault").content.decode()
    assert expected in html
