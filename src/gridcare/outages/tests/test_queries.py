"""Is this customer / address / area out, why and until when — today, this week, fault."""

import pytest

from gridcare.outages import queries, services
from gridcare.outages.models import OutageKind

from .conftest import local


@pytest.fixture
def outages(ow):
    """A fault on 东风2号台区 since 08:40, a temporary job on 西湖1号台区 tomorrow, planned work on
    东风线 in ten days, and a fault on 东风1号台区 already restored this morning."""
    w = ow
    w.fault = services.open_fault_outage(
        transformer_areas=["T03"], reason="台区变压器故障", started_at=local(2026, 11, 24, 8, 40), actor=None
    )
    w.tomorrow, _ = services.create_outage(
        kind=OutageKind.TEMPORARY,
        reason="西湖线临时消缺",
        actor=w.dispatcher,
        planned_start=local(2026, 11, 25, 14),
        planned_end=local(2026, 11, 25, 17),
        transformer_areas=["T02"],
        area_text="西湖乡柳树村",
    )
    services.publish(outage=w.tomorrow, actor=w.dispatcher)
    w.later, _ = services.create_outage(
        kind=OutageKind.PLANNED,
        reason="东风线改造",
        actor=w.dispatcher,
        planned_start=local(2026, 12, 4, 8),
        planned_end=local(2026, 12, 4, 18),
        feeders=["F01"],
    )
    services.publish(outage=w.later, actor=w.dispatcher)
    w.earlier = services.open_fault_outage(
        transformer_areas=["T01"], reason="低压线路断线", started_at=local(2026, 11, 24, 6), actor=None
    )
    services.restore(outage=w.earlier, at=local(2026, 11, 24, 8), actor=None)
    return w


def numbers(result):
    return [r.outage.number for r in result.rows]


def find(user, **kw):
    return queries.lookup(user, queries.OutageLookup(**kw))


def test_by_account_number_for_today_week_and_fault(outages):
    w = outages
    today = find(w.agent, account_no="5100000010", when="today")
    assert numbers(today) == [w.fault.number]
    assert [r.outage for r in today.out_now] == [w.fault]
    assert today.rows[0].status == "正在停电（11月24日08:40起），恢复时间待定"

    assert numbers(find(w.agent, account_no="5100000001", when="today")) == [w.earlier.number]
    assert find(w.agent, account_no="5100000001", when="today").rows[0].status == "已于11月24日08:00恢复供电"
    assert find(w.agent, account_no="5100000001", when="fault").rows == []
    assert numbers(find(w.agent, account_no="5100000002", when="week")) == [w.tomorrow.number]
    assert find(w.agent, account_no="5100000002", when="today").rows == []
    assert numbers(find(w.agent, account_no="5100000010", when="all")) == [w.fault.number, w.later.number]


def test_until_when_follows_the_latest_estimate(outages):
    w = outages
    services.set_estimated_end(outage=w.fault, estimated_end=local(2026, 11, 24, 14, 30), actor=w.dispatcher)

    [row] = find(w.agent, account_no="5100000011", when="fault").rows
    assert row.status == "正在停电（11月24日08:40起），预计11月24日14:30恢复"


def test_by_address_fragment_counts_the_matching_customers(outages):
    w = outages
    result = find(w.agent, address="东风路", when="week")
    assert numbers(result) == [w.earlier.number, w.fault.number]
    assert {r.outage.number: r.matched_customers for r in result.rows} == {
        w.earlier.number: 1,
        w.fault.number: 3,
    }


def test_by_area_and_feeder_by_code_or_name(outages):
    w = outages
    assert numbers(find(w.agent, area="T03", when="fault")) == [w.fault.number]
    assert numbers(find(w.agent, area="东风2号", when="fault")) == [w.fault.number]
    assert numbers(find(w.agent, feeder="F01", when="all")) == [
        w.earlier.number,
        w.fault.number,
        w.later.number,
    ]
    assert numbers(find(w.agent, feeder="西湖线", when="week")) == [w.tomorrow.number]
    assert find(w.agent, area="T99").not_found == "台区 T99"


def test_a_station_sees_only_outages_touching_its_areas(outages):
    w = outages
    seen = set(queries.visible_outages(w.clerk_west).values_list("number", flat=True))
    assert seen == {w.tomorrow.number}
    assert find(w.clerk_west, account_no="5100000010").not_found == "户号 5100000010"
    assert find(w.clerk_west, feeder="F01").not_found == "线路 F01"
    assert queries.visible_outages(w.outsider).count() == 0
    assert set(queries.visible_outages(w.agent).values_list("number", flat=True)) == {
        w.fault.number,
        w.tomorrow.number,
        w.later.number,
        w.earlier.number,
    }


def test_current_outages_for_a_customer(outages):
    w = outages
    assert services  # the repair app's entry point:
    assert queries.current_outages_for_customer(w.hospital) == [w.fault]
    assert queries.current_outages_for_customer(w.customer_east) == []
    assert queries.current_outages_for_customer(w.customer_west) == []
    w.now.advance(days=1, hours=6)  # 11-25 15:00, during the temporary job (nobody pressed "start")
    assert queries.current_outages_for_customer(w.customer_west) == [w.tomorrow]


def test_a_customer_lookup_is_a_handful_of_queries(outages, django_assert_max_num_queries):
    w = outages
    with django_assert_max_num_queries(4):
        find(w.agent, account_no="5100000010", when="week")
