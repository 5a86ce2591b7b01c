"""Every type through its whole loop; illegal transitions refused; history written."""

import datetime as dt

import pytest

from gridcare.core import clock
from gridcare.core.api_errors import ApiError
from gridcare.core.testing import in_calling_hours
from gridcare.workorders import services
from gridcare.workorders.models import OPEN_STATES, OrderType, State, WorkOrderEvent
from gridcare.workorders.transitions import TABLE

T0 = dt.datetime(2026, 3, 2, 9, 0)  # a Monday


def new_order(w, order_type=OrderType.FAULT_REPAIR, **kw):
    if order_type == OrderType.COMPLAINT:
        kw.setdefault("complaint_class", "service")
    intake = services.Intake(
        order_type=order_type,
        channel=kw.pop("channel", "hotline"),
        content="家里没电了",
        customer=kw.pop("customer", w.customer_east),
        **kw,
    )
    order, created = services.create_work_order(actor=w.agent, intake=intake)
    assert created
    return order


def act(order, action, actor, **kw):
    return services.perform(order=order, action=action, actor=actor, **kw)


def full_loop(w, order_type):
    order = new_order(w, order_type, subtype="outage_query" if order_type == OrderType.CONSULTATION else "")
    order = act(order, "dispatch", w.agent, unit=w.east.pk)
    order = act(order, "take", w.clerk_east)
    if order_type in {OrderType.FAULT_REPAIR, OrderType.BUSINESS}:
        order = act(order, "arrive", w.clerk_east)
    if order_type == OrderType.COMPLAINT:
        order = act(order, "reply", w.clerk_east, reply="已向客户致歉并整改", at_fault=False)
        order = act(
            order,
            "complaint_items",
            w.clerk_east,
            problem_solved="已解决",
            cause_analysis="沟通不到位",
            preventive_measures="全所培训",
            accountability="已批评教育",
        )
    else:
        order = act(order, "reply", w.clerk_east, reply="已处理完毕")
    assert order.state == State.REPLIED
    order = act(order, "review", w.leader)
    if order.callback_required:
        assert order.state == State.REVIEWED
        with in_calling_hours():
            order = act(order, "callback", w.agent, satisfaction="satisfied")
        assert order.state == State.CALLED_BACK
    order = act(order, "archive", w.leader)
    assert order.state == State.ARCHIVED and order.closed_at is not None
    return order


@pytest.mark.parametrize("order_type", OrderType.values)
def test_every_type_closes_the_loop(wo_world, order_type):
    with clock.frozen(T0):
        order = full_loop(wo_world, order_type)
    actions = list(order.events.values_list("action", flat=True))
    assert actions[0] == "accept" and actions[-1] == "archive"
    assert all(e.actor_id for e in order.events.exclude(action="warning"))


def test_numbers_are_readable_and_unique(wo_world):
    with clock.frozen(T0):
        a = new_order(wo_world)
        b = new_order(wo_world)
        c = new_order(wo_world, OrderType.COMPLAINT)
    assert a.number == "GZ20260302000001" and b.number == "GZ20260302000002"
    assert c.number == "TS20260302000001"


def test_unknown_customer_needs_phone_and_address(wo_world):
    with pytest.raises(ApiError) as err:
        services.create_work_order(
            actor=wo_world.agent,
            intake=services.Intake(
                order_type="fault_repair", channel="hotline", content="没电", customer=None
            ),
        )
    assert err.value.code == "caller_required"
    order, _ = services.create_work_order(
        actor=wo_world.agent,
        intake=services.Intake(
            order_type="fault_repair",
            channel="hotline",
            content="没电",
            caller_phone="13700000000",
            address="城关镇幸福路1号",
        ),
    )
    assert order.customer is None and order.caller_phone == "13700000000"


ALL_STATES = list(State.values)


@pytest.mark.parametrize("action", sorted(TABLE))
def test_illegal_transitions_are_refused(wo_world, action):
    """From every state an action's table entry does not list, the action answers 409."""
    transition = TABLE[action]
    with clock.frozen(T0):
        order = new_order(wo_world, OrderType.COMPLAINT)
    for state in ALL_STATES:
        if state in transition.sources:
            continue
        order.state = state
        order.save(update_fields=["state"])
        events_before = WorkOrderEvent.objects.filter(order=order).count()
        with pytest.raises(ApiError) as err:
            services.perform(
                order=order,
                action=action,
                actor=wo_world.leader,
                note="x",
                unit=wo_world.east.pk,
                reply="r",
                at_fault=False,
                satisfaction="satisfied",
                into="X",
            )
        assert err.value.code == "illegal_transition" and err.value.status == 409
        assert WorkOrderEvent.objects.filter(order=order).count() == events_before


def test_roles_and_assigned_unit_are_enforced(wo_world):
    w = wo_world
    order = new_order(w)
    with pytest.raises(ApiError) as err:
        act(order, "dispatch", w.crew, unit=w.east.pk)
    assert err.value.code == "forbidden_role"
    order = act(order, "dispatch", w.agent, unit=w.east.pk)
    with pytest.raises(ApiError) as err:
        act(order, "take", w.clerk_west)
    assert err.value.code == "not_assigned_unit"


def test_dispatch_to_unit_outside_scope_is_refused(wo_world):
    w = wo_world
    order = new_order(w)
    with pytest.raises(ApiError) as err:
        act(order, "dispatch", w.clerk_east, unit=w.west.pk)
    assert err.value.code == "invalid_unit"


def test_stale_version_loses_with_409(wo_world):
    w = wo_world
    order = new_order(w)
    seen = order.version
    act(order, "dispatch", w.agent, unit=w.east.pk, version=seen)
    with pytest.raises(ApiError) as err:
        act(order, "cancel", w.agent, version=seen, note="客户撤回")
    assert err.value.code == "version_conflict" and err.value.status == 409


def test_return_redispatch_suspend_resume_cancel(wo_world):
    w = wo_world
    order = act(new_order(w, OrderType.BUSINESS), "dispatch", w.agent, unit=w.west.pk)
    order = act(order, "return", w.clerk_west, note="不属于本所辖区")
    assert order.state == State.ACCEPTED and order.assigned_unit is None
    order = act(order, "dispatch", w.agent, unit=w.east.pk)
    order = act(order, "redispatch", w.agent, unit=w.west.pk, note="改派城西所")
    assert order.assigned_unit == w.west
    order = act(order, "take", w.clerk_west)
    order = act(order, "suspend", w.clerk_west, note="客户要求延期勘查")
    assert order.state == State.SUSPENDED
    order = act(order, "resume", w.clerk_west)
    assert order.state == State.IN_PROGRESS
    with pytest.raises(ApiError):
        act(order, "cancel", w.agent, note="x")  # not cancellable once in progress
    with pytest.raises(ApiError) as err:
        act(order, "suspend", w.clerk_west)
    assert err.value.code == "note_required"


def test_merge_links_duplicate_into_target(wo_world):
    w = wo_world
    first = new_order(w)
    second = new_order(w)
    second = act(second, "merge", w.agent, into=first.number)
    assert second.state == State.MERGED and second.merged_into == first
    first.refresh_from_db()
    assert first.urge_count == 1
    assert first.events.filter(action="merge_in").exists()


def test_agent_answers_consultation_on_the_call(wo_world):
    w = wo_world
    order = new_order(w, OrderType.CONSULTATION, subtype="policy")
    order = act(order, "reply", w.agent, reply="按居民阶梯电价标准执行")
    assert order.state == State.REPLIED
    fault = new_order(w)
    with pytest.raises(ApiError):
        act(fault, "reply", w.agent, reply="x")


def test_open_states_constant_matches_table():
    assert State.ARCHIVED not in OPEN_STATES and State.SUSPENDED in OPEN_STATES


def test_merged_duplicates_count_as_urgings_with_the_urging_rule(wo_world):
    """Every 2nd urging (the default) raises the warning level — merged duplicates included."""
    w = wo_world
    first = new_order(w)
    version = first.version
    first = act(first, "urge", w.agent)
    assert first.warning_level == 0
    duplicate = act(new_order(w), "merge", w.agent, into=first.number)
    assert duplicate.state == State.MERGED
    first.refresh_from_db()
    assert first.urge_count == 2 and first.warning_level == 1
    assert first.version == version + 2  # whoever holds the old version gets a 409
