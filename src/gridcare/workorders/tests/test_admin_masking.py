"""Issue #14 item 18: work orders in the admin show the caller's phone and address masked."""

from __future__ import annotations


def test_work_orders_in_the_admin_mask_the_caller(wo_world, admin_client):
    from gridcare.workorders.models import WorkOrder

    from .test_lifecycle import new_order

    order = new_order(wo_world)
    WorkOrder.objects.filter(pk=order.pk).update(caller_phone="13912345678", address="城关镇东风路18号3单元")
    html = admin_client.get(f"/admin/workorders/workorder/{order.pk}/change/").content.decode()
    assert "13912345678" not in html and "139****5678" in html
    assert "东风路18号3单元" not in html
    # Orders are read-only in the admin, so there is nothing to reveal there either.
    html = admin_client.get(f"/admin/workorders/workorder/{order.pk}/change/?reveal=1").content.decode()
    assert "13912345678" not in html
