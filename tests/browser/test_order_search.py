"""工单查询 through a real browser: a closed order found by its customer, opened from the list; the
customer page loads the customer's order history."""

from __future__ import annotations

import re

from playwright.sync_api import expect


def test_agent_finds_a_cancelled_order_and_the_customer_history(page, shot, world, login):
    from gridcare.workorders import services

    order, _ = services.create_work_order(
        actor=world.agent,
        intake=services.Intake(
            order_type="fault_repair", channel="hotline", content="家里没电了", customer=world.customer_east
        ),
    )
    services.perform(order=order, action="cancel", actor=world.agent, note="客户撤回")

    login("agent")
    page.goto("/workorders/search/")
    page.fill("#id_phone", "138 1234 1234")
    page.select_option("#id_state", "closed")
    page.click("#order-search button[type=submit]")
    table = page.locator("#search-table")
    expect(table).to_contain_text(order.number)
    expect(table).not_to_contain_text("13812341234")
    shot("search-results")
    table.get_by_role("link", name=order.number).click()
    page.wait_for_url(re.compile(rf"/workorders/{order.number}/$"))

    page.goto(f"/customers/{world.customer_east.account_no}/")
    expect(page.locator("#customer-orders")).to_contain_text(order.number)
    shot("customer-history")
    assert page.gc_js_errors == []
