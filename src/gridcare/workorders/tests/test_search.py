"""工单查询: closed orders found by number, customer, phone, type, state, unit and date range (page
and API), scoped, paged; the customer's order history; the hotline card's links."""

import datetime as dt
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gridcare.org.services import issue_token
from gridcare.workorders.models import WorkOrder

from .test_lifecycle import act, new_order


def _cancelled(w, **kw):
    order = new_order(w, **kw)
    return act(order, "cancel", w.agent, note="客户撤回")


def _api(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=user)}"}


def test_queue_closed_state_filter_shows_closed_orders(wo_world, client):
    w = wo_world
    order = _cancelled(w)
    client.force_login(w.agent)
    page = client.get("/workorders/?state=cancelled").content.decode()
    assert order.number in page


def test_search_page_finds_a_closed_order_by_number_prefix_customer_and_phone(wo_world, client):
    w = wo_world
    order = _cancelled(w)
    other = new_order(w, customer=w.customer_west)
    client.force_login(w.leader)
    for query in (
        f"number={order.number}",
        f"number={order.number[:-1]}&customer=5100000001",
        "customer=张建",
        "phone=138-1234-1234",  # the customer's phone, typed with dashes
        "state=closed",
        "state=cancelled&order_type=fault_repair",
    ):
        page = client.get(f"/workorders/search/?{query}").content.decode()
        assert f'href="/workorders/{order.number}/"' in page, query
        assert other.number not in page, query
    page = client.get("/workorders/search/?phone=13812341234").content.decode()
    table = page[page.index('id="search-table"') :]
    assert order.number in table and "13812341234" not in table  # never shown whole in the list


def test_search_by_caller_phone_of_an_unknown_customer(wo_world, client):
    w = wo_world
    order = new_order(w, customer=None, caller_phone="13900001111", address="城关镇某路1号")
    client.force_login(w.agent)
    page = client.get("/workorders/search/?phone=13900001111").content.decode()
    table = page[page.index('id="search-table"') :]
    assert order.number in table and "13900001111" not in table and "139****1111" in table


def test_search_is_scoped_and_an_out_of_scope_number_finds_nothing(wo_world, client):
    w = wo_world
    order = new_order(w)
    act(order, "dispatch", w.agent, unit=w.east.pk)
    client.force_login(w.clerk_west)
    page = client.get(f"/workorders/search/?number={order.number}").content.decode()
    assert f'href="/workorders/{order.number}/"' not in page and "没有符合条件的工单" in page
    # a unit outside the user's scope narrows to nothing, not to that unit's orders
    page = client.get(f"/workorders/search/?unit={w.east.pk}").content.decode()
    assert f'href="/workorders/{order.number}/"' not in page
    west = _api(w.clerk_west)
    assert client.get(f"/api/v1/work-orders?number={order.number}", **west).json()["count"] == 0
    assert client.get(f"/api/v1/work-orders/{order.number}", **west).status_code == 404


def test_search_by_unit_subtree_and_created_range_in_shanghai(wo_world, client):
    w = wo_world
    order = new_order(w)
    act(order, "dispatch", w.agent, unit=w.east.pk)
    # Created at 00:30 Shanghai time on 2026-03-02 (still 2026-03-01 in UTC).
    WorkOrder.objects.filter(pk=order.pk).update(created_at=dt.datetime(2026, 3, 1, 16, 30, tzinfo=dt.UTC))
    client.force_login(w.leader)
    found = client.get(
        f"/workorders/search/?unit={w.county.pk}&created_from=2026-03-02&created_to=2026-03-02"
    ).content.decode()
    assert order.number in found
    missed = client.get("/workorders/search/?created_from=2026-03-01&created_to=2026-03-01").content.decode()
    assert order.number not in missed
    other = client.get(f"/workorders/search/?unit={w.west.pk}").content.decode()
    assert order.number not in other
    api = client.get(
        "/api/v1/work-orders?created_from=2026-03-02&created_to=2026-03-02", **_api(w.leader)
    ).json()
    assert [o["number"] for o in api["items"]] == [order.number]


def test_api_lists_closed_orders_paged_and_stable(wo_world, client):
    w = wo_world
    orders = [_cancelled(w) for _ in range(3)]
    leader = _api(w.leader)
    first = client.get("/api/v1/work-orders?state=closed&limit=2", **leader).json()
    second = client.get("/api/v1/work-orders?state=closed&limit=2&offset=2", **leader).json()
    assert first["count"] == 3
    numbers = [o["number"] for o in first["items"] + second["items"]]
    assert sorted(numbers) == sorted(o.number for o in orders) and len(set(numbers)) == 3
    assert all("13812341234" not in str(o) for o in first["items"])


def test_api_list_refuses_unbounded_limit_and_offset(wo_world, client):
    leader = _api(wo_world.leader)
    for query in ("limit=100000", "limit=0", "limit=-1"):
        bad = client.get(f"/api/v1/work-orders?{query}", **leader)
        assert bad.status_code == 422 and bad.json()["code"] == "invalid_limit", query
    bad = client.get("/api/v1/work-orders?offset=99999999999", **leader)
    assert bad.status_code == 422
    bad = client.get("/api/v1/work-orders?created_from=2026-03-02&created_to=2026-03-01", **leader)
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_date_range"


def test_search_query_count_does_not_grow_with_rows(wo_world, client):
    w = wo_world
    for _ in range(2):
        _cancelled(w)
    client.force_login(w.leader)
    client.get("/workorders/search/?state=closed")  # warm the session and scope
    with CaptureQueriesContext(connection) as few:
        client.get("/workorders/search/?state=closed")
    for _ in range(4):
        _cancelled(w, customer=w.customer_west)
    with CaptureQueriesContext(connection) as more:
        client.get("/workorders/search/?state=closed")
    assert len(more) == len(few)
    leader = _api(w.leader)
    with CaptureQueriesContext(connection) as api_more:
        assert client.get("/api/v1/work-orders?state=closed", **leader).json()["count"] == 6
    assert len(api_more) < 15


def test_customer_page_lists_all_of_the_customers_orders(wo_world, client):
    w = wo_world
    closed = _cancelled(w)
    open_ = new_order(w)
    elsewhere = new_order(w, customer=w.customer_west)
    client.force_login(w.agent)
    page = client.get("/customers/5100000001/").content.decode()
    assert "历史工单" in page and "/workorders/search/?customer=5100000001" in page
    slot = client.get("/workorders/search/?customer=5100000001", HTTP_HX_REQUEST="true").content.decode()
    assert f'href="/workorders/{closed.number}/"' in slot and f'href="/workorders/{open_.number}/"' in slot
    assert elsewhere.number not in slot


def test_hotline_card_recent_orders_are_links(wo_world, client):
    w = wo_world
    order = _cancelled(w)
    client.force_login(w.agent)
    card = client.get("/hotline/customer/5100000001/", HTTP_HX_REQUEST="true").content.decode()
    assert f'href="/workorders/{order.number}/"' in card


@pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL plans")
def test_common_search_filters_can_use_an_index_on_postgresql(wo_world):
    """With sequential scans priced out, each common filter is answered from an index: the number
    prefix (wo_number_unique), the customer (wo_customer_state), the created range (created_at)."""
    w = wo_world
    from gridcare.workorders import queries

    searches = {
        "wo_number_unique": queries.OrderSearch(number="GZ2026"),
        "wo_customer_state": queries.OrderSearch(customer="5100000001"),
        "workorders_workorder_created_at": queries.OrderSearch(
            created_from=dt.date(2026, 3, 1), created_to=dt.date(2026, 3, 2)
        ),
    }
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    for index, search in searches.items():
        plan = queries.search(w.leader, search).explain()
        # a plain, backward or bitmap scan of that index: each reads the index, not the table
        assert re.search(rf"(Index Scan( Backward)? using|Bitmap Index Scan on) {index}", plan), plan
    # the order page's exact lookup by number still uses the same unique index
    assert "using wo_number_unique" in WorkOrder.objects.filter(number="GZ20260301000001").explain()


def test_api_list_refuses_a_date_that_is_not_a_calendar_date(wo_world, client):
    """A bare number is not read as seconds since 1970 ("0" would be 1970-01-01 and find nothing)."""
    leader = _api(wo_world.leader)
    for value in ("0", "20260302", "1.5", "1e9", "1999-12-31", "2026-13-01"):
        bad = client.get(f"/api/v1/work-orders?created_to={value}", **leader)
        assert bad.status_code == 422, value
        assert set(bad.json()) >= {"code", "message"}
    good = client.get("/api/v1/work-orders?created_to=2026-03-02", **leader)
    assert good.status_code == 200
