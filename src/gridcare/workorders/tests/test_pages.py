"""The work-order pages: queues, the order page, htmx action forms, intake, supervision bulletin."""

import io

from openpyxl import load_workbook

from gridcare.core.models import AuditLog
from gridcare.core.testing import in_calling_hours
from gridcare.workorders import services
from gridcare.workorders.models import OrderType, WorkOrder

from .test_lifecycle import act, new_order


def test_queue_sorted_by_priority_and_scoped(wo_world, client):
    w = wo_world
    plain = new_order(w, customer=w.customer_west)
    w.customer_east.is_key = True
    w.customer_east.save()
    key = new_order(w, customer=w.customer_east)
    act(plain, "dispatch", w.agent, unit=w.west.pk)
    act(key, "dispatch", w.agent, unit=w.east.pk)
    client.force_login(w.agent)
    page = client.get("/workorders/").content.decode()
    assert page.index(key.number) < page.index(plain.number)
    assert "绿色通道" in page
    client.force_login(w.clerk_east)
    page = client.get("/workorders/").content.decode()
    assert key.number in page and plain.number not in page
    assert client.get(f"/workorders/{plain.number}/").status_code == 404


def test_order_page_shows_timeline_deadlines_and_actions(wo_world, client):
    w = wo_world
    order = new_order(w)
    client.force_login(w.agent)
    page = client.get(f"/workorders/{order.number}/").content.decode()
    assert "流转记录" in page and "到达现场" in page and 'data-action="dispatch"' in page


def test_action_form_through_htmx_and_error_message(wo_world, client):
    w = wo_world
    order = new_order(w)
    client.force_login(w.agent)
    form = client.get(f"/workorders/{order.number}/actions/dispatch/", HTTP_HX_REQUEST="true")
    assert 'name="unit"' in form.content.decode()
    done = client.post(
        f"/workorders/{order.number}/actions/dispatch/",
        {"version": order.version, "unit": w.east.pk},
        HTTP_HX_REQUEST="true",
    )
    assert done.status_code == 204 and done["HX-Redirect"].endswith(f"/workorders/{order.number}/")
    order.refresh_from_db()
    assert order.state == "dispatched"
    stale = client.post(
        f"/workorders/{order.number}/actions/cancel/", {"version": 1, "note": "撤"}, HTTP_HX_REQUEST="true"
    )
    assert stale.status_code in (409, 422) and "已被他人更新" in stale.content.decode()


def test_four_items_enforced_on_the_page(wo_world, client):
    w = wo_world
    order = act(new_order(w, OrderType.COMPLAINT), "dispatch", w.agent, unit=w.east.pk)
    order = act(act(order, "take", w.clerk_east), "reply", w.clerk_east, reply="已道歉", at_fault=False)
    with in_calling_hours():
        order = act(act(order, "review", w.leader), "callback", w.agent, satisfaction="satisfied")
    client.force_login(w.leader)
    refused = client.post(
        f"/workorders/{order.number}/actions/archive/", {"version": order.version}, HTTP_HX_REQUEST="true"
    )
    assert "四不销单" in refused.content.decode()
    assert WorkOrder.objects.get(pk=order.pk).state == "called_back"


def test_intake_page_creates_and_suggests_urging_a_duplicate(wo_world, client):
    w = wo_world
    client.force_login(w.agent)
    data = {
        "order_type": "complaint",
        "channel": "hotline",
        "account_no": "5100000001",
        "content": "抄表不准",
        "complaint_class": "business",
    }
    created = client.post("/workorders/new/", data)
    assert created.status_code == 302
    first = WorkOrder.objects.get()
    again = client.post("/workorders/new/", data)
    assert again.status_code == 200 and first.number in again.content.decode()
    assert WorkOrder.objects.count() == 1
    client.post(f"/workorders/{first.number}/urge/", {})
    first.refresh_from_db()
    assert first.urge_count == 1


def test_intake_page_rejects_foreign_account_number(wo_world, client):
    w = wo_world
    client.force_login(w.clerk_east)
    page = client.post(
        "/workorders/new/",
        {
            "order_type": "complaint",
            "channel": "hotline",
            "account_no": w.customer_west.account_no,
            "content": "x",
            "complaint_class": "service",
        },
    )
    assert page.status_code == 200 and "没有该户号" in page.content.decode()
    assert not WorkOrder.objects.exists()


def test_supervision_bulletin_page_and_excel_export(wo_world, client):
    w = wo_world
    act(new_order(w), "dispatch", w.agent, unit=w.east.pk)
    client.force_login(w.leader)
    assert "城东供电所" in client.get("/workorders/supervision/").content.decode()
    export = client.get("/workorders/supervision/", {"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(export.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][0] == "承办单位" and rows[2][0] == "城东供电所" and rows[2][1] == 1
    assert AuditLog.objects.filter(action="export", actor=w.leader).exists()


def test_the_agent_sees_the_open_orders_they_accepted(wo_world, client):
    w = wo_world
    mine = new_order(w, customer=w.customer_east)  # accepted by the agent
    other, _ = services.create_work_order(
        actor=w.leader,
        intake=services.Intake(
            order_type=OrderType.COMPLAINT,
            channel="hotline",
            content="态度差",
            customer=w.customer_west,
            complaint_class="service",
        ),
    )
    client.force_login(w.agent)
    page = client.get("/workorders/?scope=accepted").content.decode()
    assert mine.number in page and other.number not in page
    home = client.get("/").content.decode()
    assert "我受理的在途" in home and 'href="/workorders/?scope=accepted"' in home


def test_the_bulletin_keeps_two_units_of_the_same_name_apart(wo_world):
    from gridcare.org.services import create_unit
    from gridcare.workorders import bulletin

    w = wo_world
    twin = create_unit(name=w.east.name, code="S09", kind=w.east.kind, parent=w.county)
    act(new_order(w), "dispatch", w.agent, unit=w.east.pk)
    act(new_order(w), "dispatch", w.agent, unit=twin.pk)
    rows = [r for r in bulletin.by_unit(w.agent) if r.unit == w.east.name]
    assert [r.in_transit for r in rows] == [1, 1]


def test_an_order_taken_after_switching_unit_is_accepted_by_that_unit(wo_world, client):
    """首问负责: someone with roles at two stations who narrowed to 城西 takes the order for 城西."""
    from gridcare.org.models import Role
    from gridcare.org.services import create_staff

    w = wo_world
    both = create_staff(
        username="clerk_both",
        password=w.password,
        full_name="陈两所",
        roles=[(Role.BUSINESS_CLERK, w.east), (Role.BUSINESS_CLERK, w.west)],
    )
    client.force_login(both)
    client.post("/unit/", {"unit": w.west.pk, "next": "/"})
    client.post(
        "/workorders/new/",
        {
            "order_type": "complaint",
            "channel": "hall",
            "account_no": "5100000002",
            "content": "营业厅排队太久",
            "complaint_class": "service",
            "confirm_new": "1",
        },
    )
    order = WorkOrder.objects.get()
    assert order.accepted_unit == w.west
    assert order.events.get(action="accept").actor_unit == w.west
