"""The 业扩报装 pages: list (scoped, filtered, sorted), 受理 (every field, one application per
form however often it is sent), the detail with its node actions (the same verbs as the API,
refusals and stale versions shown as messages), the customer's progress, the 95598 card."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

from gridcare.applications import services
from gridcare.applications.models import Application, ApplicationDocument, ApplicationNode
from gridcare.core import clock
from gridcare.core.models import AuditLog

from .helpers import accept, at, record_for

HX = {"HTTP_HX_REQUEST": "true"}


def _now(when: dt.datetime) -> None:
    clock.set_source(lambda: when)


def _form(**overrides: str) -> dict[str, str]:
    data = {
        "form_token": "tok-1",
        "app_type": "new",
        "channel": "hall",
        "applicant_name": "白溪食品有限公司",
        "id_type": "business_license",
        "id_number": "91520100MA6XYZ1234",
        "address": "城关镇工业园3号",
        "contact_name": "刘经理",
        "contact_phone": "13900002222",
        "usage_class": "non_residential",
        "load_nature": "3",
        "requested_kva": "400",
        "supply": "single",
        "households": "1",
        "eq-0-name": "冷库压缩机",
        "eq-0-kw": "75",
        "eq-0-phase": "3",
        "eq-0-voltage": "380V",
        "eq-0-count": "2",
        "eq-1-name": "照明",
        "eq-1-kw": "5",
        "eq-1-phase": "1",
        "eq-1-count": "10",
        "doc-application_form": "on",
        "doc-identity": "on",
        "doc-business_license": "on",
        "doc-business_license-shared": "on",
        "doc-property": "on",
        "doc-property-shared": "on",
    }
    data.update(overrides)
    return data


def test_accept_form_takes_every_field_and_a_double_click_makes_one_application(yk_world, client):
    w = yk_world
    client.force_login(w.clerk_east)
    page = client.get("/applications/new/").content.decode()
    assert 'name="form_token"' in page and "一证办电" in page and 'name="eq-5-kw"' in page
    first = client.post("/applications/new/", _form())
    assert first.status_code == 302
    application = Application.objects.get()
    assert first["Location"] == f"/applications/{application.number}/"
    assert application.voltage == "kv10" and application.category == "hv"
    assert application.equipment == [
        {"name": "冷库压缩机", "kw": "75", "phase": 3, "voltage": "380V", "count": 2},
        {"name": "照明", "kw": "5", "phase": 1, "voltage": "380V", "count": 10},
    ]
    docs = {d.kind: d.via_shared_data for d in ApplicationDocument.objects.filter(application=application)}
    assert docs == {"application_form": False, "identity": False, "business_license": True, "property": True}
    # The second click of the same form: the same application, not a second one.
    again = client.post("/applications/new/", _form())
    assert again.status_code == 302 and again["Location"] == first["Location"]
    assert Application.objects.count() == 1
    detail = client.get(first["Location"]).content.decode()
    assert "重复提交" in detail
    # The same token with other content is refused with a message, nothing written.
    other = client.post("/applications/new/", _form(requested_kva="500"))
    assert other.status_code == 422 and "此表单已提交过" in other.content.decode()
    assert Application.objects.count() == 1


def test_accept_form_errors_are_messages_not_500(yk_world, client):
    w = yk_world
    client.force_login(w.clerk_east)
    bad = client.post("/applications/new/", _form(**{"eq-0-kw": "很多", "contact_phone": "123"}))
    text = bad.content.decode()
    assert bad.status_code == 422 and "第1行设备" in text and "电话号码格式不正确" in text
    dual_lv = client.post("/applications/new/", _form(form_token="tok-2", requested_kva="20", supply="dual"))
    assert dual_lv.status_code == 422 and 'id="accept-error"' in dual_lv.content.decode()
    assert not Application.objects.exists()
    client.force_login(w.crew)
    assert client.get("/applications/new/").status_code == 403


def test_list_is_scoped_sorted_and_filtered(yk_world, client):
    w = yk_world
    plain = accept(w.clerk_east, applicant_name="甲一")
    green = accept(w.clerk_east, applicant_name="乙二", green_channel=True)
    west = accept(w.clerk_west, applicant_name="丙三", contact_phone="13700003333")
    hv = accept(
        w.clerk_east, app_type="increase", usage_class="non_residential", requested_kva=Decimal("400")
    )
    client.force_login(w.clerk_east)
    page = client.get("/applications/").content.decode()
    assert page.index(green.number) < page.index(plain.number)
    assert west.number not in page and "甲一" not in page  # masked
    assert client.get(f"/applications/{west.number}/").status_code == 404
    assert client.get(f"/applications/{west.number}/progress/").status_code == 404
    by_type = client.get("/applications/?type=increase", **HX).content.decode()
    assert hv.number in by_type and plain.number not in by_type
    by_number = client.get(f"/applications/?number={plain.number}").content.decode()
    assert plain.number in by_number and green.number not in by_number
    record_for(plain, "survey", w.clerk_east)
    services.act_on_node(application=plain, node="survey", action="finish", actor=w.clerk_east)
    by_node = client.get("/applications/?node=plan_reply").content.decode()
    assert plain.number in by_node and green.number not in by_node
    services.act(application=green, action="cancel", actor=w.clerk_east, note="客户撤回")
    assert green.number not in client.get("/applications/").content.decode()
    assert green.number in client.get("/applications/?state=cancelled").content.decode()
    client.force_login(w.county_manager)
    county = client.get("/applications/").content.decode()
    assert west.number in county
    by_unit = client.get(f"/applications/?unit={w.west.pk}").content.decode()
    assert west.number in by_unit and plain.number not in by_unit


def test_overdue_and_near_due_filters_and_the_home_tile(yk_world, client):
    w = yk_world
    _now(at(2026, 3, 2, 9, 0))
    late = accept(w.clerk_east)
    _now(at(2026, 3, 9, 9, 0))
    fresh = accept(w.clerk_east)
    ApplicationNode.objects.filter(application=fresh, kind="plan_reply").update(warning_level=1)
    client.force_login(w.clerk_east)
    overdue = client.get("/applications/?overdue=1").content.decode()
    assert late.number in overdue and fresh.number not in overdue
    near = client.get("/applications/?near=1").content.decode()
    assert fresh.number in near and late.number not in near
    home = client.get("/").content.decode()
    assert "业扩报装" in home and "/applications/?overdue=1" in home
    tile = re.search(r"业扩报装.*?</div>\s*</div>", home, re.S)
    assert tile is not None
    assert 'href="/applications/"' in home  # the menu entry
    client.force_login(w.crew)
    assert 'href="/applications/"' not in client.get("/").content.decode()


def _hv(w):
    return accept(
        w.clerk_east,
        app_type="new",
        usage_class="non_residential",
        requested_kva=Decimal("400"),
        customer=None,
    )


def test_node_actions_call_the_verbs_refusals_and_stale_versions_are_messages(yk_world, client):
    w = yk_world
    application = _hv(w)
    client.force_login(w.clerk_east)
    page = client.get(f"/applications/{application.number}/").content.decode()
    # The survey of a 10 kV application is the county's: the station's clerk is not offered to
    # finish it, and a direct POST is refused (403 shown in the form, nothing changed).
    assert 'data-node="survey" data-action="finish"' not in page
    refused = client.post(f"/applications/{application.number}/nodes/survey/finish/", {"version": 1}, **HX)
    assert refused.status_code == 403 and "您的岗位不能执行“完成环节”" in refused.content.decode()
    assert ApplicationNode.objects.get(application=application, kind="survey").state == "open"
    client.force_login(w.account_manager)
    page = client.get(f"/applications/{application.number}/").content.decode()
    assert 'data-node="survey" data-action="finish"' in page
    # Finishing the survey needs its findings: refused until the survey page records them.
    missing = client.post(f"/applications/{application.number}/nodes/survey/finish/", {"version": 1}, **HX)
    assert missing.status_code == 409 and "请先登记现场勘查结论" in missing.content.decode()
    surveyed = client.post(
        f"/applications/{application.number}/survey/",
        {"version": 1, "possible": "yes", "approved_kva": "630", "voltage": "kv10", "supply": "single"},
        follow=True,
    )
    assert "勘查结论已登记" in surveyed.content.decode()
    form = client.get(f"/applications/{application.number}/nodes/survey/finish/", **HX).content.decode()
    assert 'name="version" value="2"' in form
    done = client.post(f"/applications/{application.number}/nodes/survey/finish/", {"version": 2}, **HX)
    assert done.status_code == 204 and done["HX-Redirect"] == f"/applications/{application.number}/"
    application.refresh_from_db()
    assert application.current_node == "plan_reply" and application.version == 3
    # A second click with the page's old version: a message, not a 500 and not a second change.
    stale = client.post(f"/applications/{application.number}/nodes/plan_reply/finish/", {"version": 2}, **HX)
    assert stale.status_code == 409 and "已被他人更新" in stale.content.decode()
    # Without htmx the message comes back on the page.
    plain = client.post(
        f"/applications/{application.number}/nodes/plan_reply/finish/", {"version": 2}, follow=True
    )
    assert plain.status_code == 200 and "已被他人更新" in plain.content.decode()
    application.refresh_from_db()
    assert application.version == 3
    # A wait needs its reason; with it, the node waits and the customer is told what to do.
    no_reason = client.post(
        f"/applications/{application.number}/nodes/plan_reply/wait/", {"version": 3}, **HX
    )
    assert no_reason.status_code == 422
    client.post(
        f"/applications/{application.number}/nodes/plan_reply/wait/",
        {"version": 3, "reason": "documents_missing", "note": "缺项目批复"},
        **HX,
    )
    progress = client.get(f"/applications/{application.number}/progress/").content.decode()
    assert "客户资料不全：缺项目批复" in progress and "供电方案答复" in progress
    # Cancelling needs a note.
    cancel = client.post(f"/applications/{application.number}/actions/cancel/", {"version": 4}, **HX)
    assert cancel.status_code == 422
    assert client.get(f"/applications/{application.number}/nodes/survey/fly/").status_code == 404


def test_detail_masks_personal_data_and_reveal_is_audited(yk_world, client):
    w = yk_world
    application = accept(w.clerk_east)
    client.force_login(w.clerk_east)
    page = client.get(f"/applications/{application.number}/").content.decode()
    assert "13700001111" not in page and "520102198503031234" not in page and "陈光明" not in page
    assert 'id="reveal"' in page
    shown = client.post(f"/applications/{application.number}/personal-data/").content.decode()
    assert "13700001111" in shown and "520102198503031234" in shown
    assert AuditLog.objects.filter(
        action=AuditLog.Action.VIEW_SENSITIVE, object_id=str(application.pk)
    ).exists()
    client.force_login(w.station_head)  # a manager: no personal data
    assert client.post(f"/applications/{application.number}/personal-data/").status_code == 403


def test_customer_card_lists_the_customers_applications_and_the_lookup(yk_world, client):
    w = yk_world
    _now(at(2026, 3, 2, 9, 0))
    linked = accept(w.clerk_east, app_type="increase", customer=w.customer_east, requested_kva=Decimal("12"))
    other = accept(w.clerk_east, contact_phone="13700009999")
    client.force_login(w.agent)
    card = client.get(f"/applications/customer/{w.customer_east.account_no}/", **HX).content.decode()
    assert linked.number in card and other.number not in card and "现场勘查" in card
    assert "预计 03-" in card
    by_phone = client.get("/applications/lookup/?q=137 0000 9999", **HX).content.decode()
    assert other.number in by_phone and linked.number not in by_phone
    by_number = client.get(f"/applications/lookup/?q={other.number.lower()}", **HX).content.decode()
    assert other.number in by_number
    assert "未找到" in client.get("/applications/lookup/?q=YK0000", **HX).content.decode()
    # The hotline card loads the slot; the empty card offers the lookup.
    hotline = client.get(f"/hotline/customer/{w.customer_east.account_no}/", **HX).content.decode()
    assert f"/applications/customer/{w.customer_east.account_no}/" in hotline
    assert 'id="application-lookup"' in client.get("/hotline/").content.decode()
    # Out of scope: the west clerk does not see the east customer's card.
    client.force_login(w.clerk_west)
    assert client.get(f"/applications/customer/{w.customer_east.account_no}/").status_code == 404


def test_progress_page_follows_the_nodes(yk_world, client):
    w = yk_world
    _now(at(2026, 3, 2, 9, 0))
    application = accept(w.clerk_east)
    client.force_login(w.clerk_east)
    page = client.get(f"/applications/{application.number}/progress/").content.decode()
    assert re.search(r'id="progress-current">现场勘查<', page)
    for node in ("survey", "plan_reply"):
        record_for(application, node, w.clerk_east)
        application = services.act_on_node(
            application=application, node=node, action="finish", actor=w.clerk_east
        )
    page = client.get(f"/applications/{application.number}/progress/").content.decode()
    assert re.search(r'id="progress-current">装表接电<', page)
    _now(clock.now() + dt.timedelta(hours=1))
    assert "进度" in page
