"""The 工作台 shows each person what waits for them, in their scope."""

import re

from gridcare.repair import services
from gridcare.repair.models import FaultEvent

from .helpers import call


def figures(html: str) -> dict[str, dict[str, int]]:
    """{tile title: {figure label: value}} as the page shows them."""
    found: dict[str, dict[str, int]] = {}
    for title, body in re.findall(r'data-tile="([^"]+)">(.*?)</div>\s*</div>\s*</div>', html, re.S):
        pairs = re.findall(
            r'fw-semibold[^"]*">(\d+)</div>\s*<div class="small text-muted">([^<]+)</div>', body
        )
        found[title] = {label: int(value) for value, label in pairs}
    return found


def test_the_dispatcher_sees_the_storm_and_the_outsider_sees_nothing(grid, storm_clock, client):
    for c in grid.customers_by_area[grid.areas[0].pk][:3]:
        call(grid, c)
    services.run_analysis()

    client.force_login(grid.dispatcher)
    shown = figures(client.get("/").content.decode())
    assert shown["抢修指挥"]["在途抢修事件"] == 1
    assert shown["工单"]["在途工单"] == 3
    assert shown["停电信息"]["故障停电"] == 1

    event = FaultEvent.objects.get()
    services.dispatch_to_crew(event=event, crew=grid.crew_one, actor=grid.dispatcher, replace=True)
    client.force_login(grid.crew)
    shown = figures(client.get("/").content.decode())
    assert shown["我的抢修任务"]["进行中"] == 1 and "抢修指挥" not in shown

    client.force_login(grid.outsider)
    shown = figures(client.get("/").content.decode())
    assert "抢修指挥" not in shown and shown["工单"]["在途工单"] == 0
    assert shown["停电信息"]["故障停电"] == 0
