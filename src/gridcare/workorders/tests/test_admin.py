"""Policies are edited in the admin; orders are shown there but only change through the services."""


def test_admin_pages_render_and_orders_are_read_only(wo_world, admin_client):
    from gridcare.workorders.models import TimeLimitPolicy

    from .test_lifecycle import new_order

    order = new_order(wo_world)
    assert admin_client.get("/admin/workorders/workorder/").status_code == 200
    page = admin_client.get(f"/admin/workorders/workorder/{order.pk}/change/")
    assert page.status_code == 200 and "dispatch" in page.content.decode()
    assert admin_client.get("/admin/workorders/workorder/add/").status_code == 403
    policy = TimeLimitPolicy.objects.filter(milestone="arrive", area_class="rural").first()
    assert admin_client.get(f"/admin/workorders/timelimitpolicy/{policy.pk}/change/").status_code == 200
    for url in [
        "/admin/workorders/callbackrule/",
        "/admin/workorders/supervisionsetting/",
        "/admin/core/numbersequence/",
        "/admin/core/calendarday/",
    ]:
        assert admin_client.get(url).status_code == 200, url
