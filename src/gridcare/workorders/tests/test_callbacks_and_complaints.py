"""Callbacks (100% / reproducible 20% sample), satisfaction, 四不销单 and 提级审核."""

from decimal import Decimal

import pytest

from gridcare.core.api_errors import ApiError
from gridcare.core.testing import in_calling_hours
from gridcare.workorders import services
from gridcare.workorders.models import OrderType, State, WorkOrder

from .test_lifecycle import act, new_order


def test_fault_repairs_always_get_a_callback(wo_world):
    w = wo_world
    order = act(act(new_order(w), "dispatch", w.agent, unit=w.east.pk), "take", w.clerk_east)
    order = act(order, "reply", w.clerk_east, reply="更换熔丝，已恢复送电")
    assert order.callback_required
    order = act(order, "review", w.leader)
    with pytest.raises(ApiError) as err:
        act(order, "archive", w.leader)
    assert err.value.code == "callback_pending"


def test_twenty_percent_sample_is_stable_and_near_twenty_percent(db):
    rate = services.callback_rate(WorkOrder(order_type=OrderType.CONSULTATION, subtype="policy"))
    assert rate == Decimal("0.2")  # seeded data
    numbers = [f"ZX20260302{i:06d}" for i in range(10000)]
    picks = [services.in_callback_sample(n, rate) for n in numbers]
    share = sum(picks) / len(picks)
    assert 0.19 <= share <= 0.21
    assert picks == [services.in_callback_sample(n, rate) for n in numbers]  # reproducible
    assert services.callback_rate(WorkOrder(order_type=OrderType.COMPLAINT)) == 1


def test_dissatisfied_callback_reopens_for_review(wo_world):
    w = wo_world
    order = act(act(new_order(w), "dispatch", w.agent, unit=w.east.pk), "take", w.clerk_east)
    order = act(act(order, "reply", w.clerk_east, reply="已恢复"), "review", w.leader)
    with in_calling_hours():
        order = act(order, "callback", w.agent, satisfaction="dissatisfied", note="客户反映仍然电压低")
    assert order.state == State.REPLIED and order.satisfaction == "dissatisfied"
    order = act(order, "review", w.leader, approve=False, note="请重新处理电压问题")
    assert order.state == State.IN_PROGRESS


def complaint_replied(w, at_fault):
    order = act(
        new_order(w, OrderType.COMPLAINT, complaint_class="service"), "dispatch", w.agent, unit=w.east.pk
    )
    order = act(order, "take", w.clerk_east)
    return act(order, "reply", w.clerk_east, reply="已向客户道歉", at_fault=at_fault)


def test_complaint_cannot_be_archived_until_four_items(wo_world):
    w = wo_world
    order = act(complaint_replied(w, at_fault=False), "review", w.leader)
    with in_calling_hours():
        order = act(order, "callback", w.agent, satisfaction="satisfied")
    order = act(
        order, "complaint_items", w.clerk_east, problem_solved="已解决", cause_analysis="服务意识不强"
    )
    with pytest.raises(ApiError) as err:
        act(order, "archive", w.leader)
    assert err.value.code == "complaint_items_incomplete"
    order = act(
        order,
        "complaint_items",
        w.clerk_east,
        preventive_measures="举一反三全员培训",
        accountability="当事人考核扣分",
    )
    assert act(order, "archive", w.leader).state == State.ARCHIVED


def test_complaint_reply_must_say_whether_at_fault(wo_world):
    w = wo_world
    order = act(
        act(new_order(w, OrderType.COMPLAINT), "dispatch", w.agent, unit=w.east.pk), "take", w.clerk_east
    )
    with pytest.raises(ApiError) as err:
        act(order, "reply", w.clerk_east, reply="x")
    assert err.value.code == "at_fault_required"


def test_at_fault_complaint_needs_review_one_level_up(wo_world):
    w = wo_world
    order = complaint_replied(w, at_fault=True)
    with pytest.raises(ApiError) as err:
        act(order, "review", w.east_reviewer)  # same level as the handling station
    assert err.value.code == "upper_review_required"
    order = act(order, "review", w.county_manager)
    assert order.upper_reviewed_by == w.county_manager


def test_12398_complaint_weighs_double(wo_world):
    w = wo_world
    regulator = new_order(w, OrderType.COMPLAINT, channel="regulator_12398")
    hotline = new_order(w, OrderType.COMPLAINT)
    assert regulator.weight == 2 and hotline.weight == 1


def test_account_manager_priority_and_green_channel(wo_world):
    w = wo_world
    w.customer_east.is_key = True
    w.customer_east.save()
    key = new_order(w, customer=w.customer_east)
    w.customer_west.account_manager = w.agent
    w.customer_west.save()
    managed = new_order(w, customer=w.customer_west, handed_in_by_account_manager=True)
    plain = services.create_work_order(
        actor=w.agent,
        intake=services.Intake(
            order_type="fault_repair",
            channel="hotline",
            content="没电",
            caller_phone="13700000000",
            address="某路",
        ),
    )[0]
    from gridcare.workorders.queries import queue

    numbers = [o.number for o in queue(w.agent)]
    assert numbers.index(managed.number) < numbers.index(key.number) < numbers.index(plain.number)
