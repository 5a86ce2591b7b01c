"""The bulk reconciliation sweep behaves exactly like raising deadline by deadline."""

import datetime as dt
import importlib
import threading

import pytest
from django.db import connection, connections

from gridcare.core import clock
from gridcare.core.clock import LOCAL_TZ
from gridcare.core.testing import in_threads
from gridcare.notify.models import Message
from gridcare.workorders import deadlines, sweep
from gridcare.workorders.models import Deadline, TimeLimitPolicy, WorkOrderEvent

from .test_lifecycle import act, new_order


def local(*args):
    return dt.datetime(*args, tzinfo=LOCAL_TZ)


@pytest.fixture
def policies(transactional_db):
    """The seeded policies, should a transactional test before this one have flushed them."""
    from django.apps import apps

    if not TimeLimitPolicy.objects.exists():
        importlib.import_module("gridcare.workorders.migrations.0002_seed_policies").seed(apps, None)


def _assigned_order(w):
    order = act(new_order(w, customer=w.customer_east), "dispatch", w.agent, unit=w.east.pk)
    return act(order, "take", w.clerk_east)


def _notices(order):
    rows = Message.objects.filter(about_id=order.number).values_list(
        "channel", "recipient_address", "recipient_name", "subject", "body", "priority"
    )
    return sorted(tuple(str(v).replace(order.number, "#") for v in row) for row in rows)


def _warnings(order):
    return sorted(
        (e.note, e.data["milestone"], e.data["level"], e.data["due_at"])
        for e in WorkOrderEvent.objects.filter(order=order, action="warning")
    )


def test_sweep_writes_what_the_scheduled_check_writes(wo_world):
    w = wo_world
    w.station_head.mobile = "13600000001"
    w.station_head.save()
    w.clerk_east.mobile = "13600000002"
    w.clerk_east.save()
    with clock.frozen(local(2026, 3, 2, 9, 0)):
        by_task = _assigned_order(w)
        by_sweep = _assigned_order(w)
    now = local(2026, 3, 2, 9, 50)  # arrival overdue: levels 1, 2 and 3 at once
    raised_by_task = sum(deadlines.check_one(d.pk, now) for d in Deadline.objects.filter(order=by_task))
    assert sweep.raise_due_warnings(now) == raised_by_task == 3
    assert _warnings(by_sweep) == _warnings(by_task)
    assert all(w[3].endswith("+08:00") for w in _warnings(by_sweep))  # as the API writes times
    assert _notices(by_sweep) == _notices(by_task)
    assert {m for m in _notices(by_sweep) if m[0] == "sms"}  # the mobiles get an SMS too
    for order in (by_task, by_sweep):
        order.refresh_from_db()
        assert order.warning_level == 3
        arrive = Deadline.objects.get(order=order, milestone="arrive")
        assert (arrive.warning_level, arrive.next_warning_at) == (3, None)


def test_sweep_keeps_the_next_warning_time(wo_world):
    w = wo_world
    with clock.frozen(local(2026, 3, 2, 9, 0)):
        order = new_order(w, customer=w.customer_east)
    assert sweep.raise_due_warnings(local(2026, 3, 2, 9, 3)) == 1
    dispatch = Deadline.objects.get(order=order, milestone="dispatch")
    assert dispatch.warning_level == 1
    assert dispatch.next_warning_at == local(2026, 3, 2, 9, 4)  # 80% of 5 minutes
    assert deadlines.check_one(dispatch.pk, local(2026, 3, 2, 9, 3, 59)) == 0
    assert deadlines.check_one(dispatch.pk, local(2026, 3, 2, 9, 4)) == 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_sweep_schedules_the_next_check_of_each_raised_deadline(policies, wo_world):
    from django_tasks_db.models import DBTaskResult

    with clock.frozen(local(2026, 3, 2, 9, 0)):
        order = new_order(wo_world, customer=wo_world.customer_east)
    DBTaskResult.objects.all().delete()
    assert sweep.raise_due_warnings(local(2026, 3, 2, 9, 3)) == 1
    dispatch = Deadline.objects.get(order=order, milestone="dispatch")
    scheduled = [
        (r.args_kwargs["args"][0], r.run_after)
        for r in DBTaskResult.objects.filter(task_path="gridcare.workorders.tasks.check_deadline")
    ]
    assert scheduled == [(dispatch.pk, local(2026, 3, 2, 9, 4))]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
def test_concurrent_sweeps_raise_each_level_once(policies, wo_world):
    w = wo_world
    with clock.frozen(local(2026, 3, 2, 9, 0)):
        orders = [new_order(w, customer=w.customer_east) for _ in range(40)]
    now = local(2026, 3, 2, 10, 0)  # every level of both deadlines of every order is due
    results = in_threads(lambda: sweep.raise_due_warnings(now, batch_size=7), 4, barrier=True)
    assert sum(results) == len(orders) * 2 * 3
    for order in orders:
        levels = sorted((m, lv) for _note, m, lv, _due in _warnings(order))
        assert levels == [
            ("arrive", 1),
            ("arrive", 2),
            ("arrive", 3),
            ("dispatch", 1),
            ("dispatch", 2),
            ("dispatch", 3),
        ]
    assert sweep.raise_due_warnings(now) == 0


def test_a_deadline_raised_meanwhile_gets_nothing_from_the_sweep(wo_world, monkeypatch):
    """The level moves by a conditional UPDATE: a deadline someone else raised after the sweep
    read it is left alone, and gets no second history row and no second notice."""
    w = wo_world
    with clock.frozen(local(2026, 3, 2, 9, 0)):
        order = new_order(w, customer=w.customer_east)
        other = new_order(w, customer=w.customer_east)
    now = local(2026, 3, 2, 9, 3)  # dispatch level 1 of both orders
    taken = Deadline.objects.get(order=order, milestone="dispatch")
    read = sweep._Sweep._lock_and_read

    def read_then_raced(self, ids):
        rows = read(self, ids)
        assert deadlines.check_one(taken.pk, now) == 1  # as if a task had won the race
        return rows

    monkeypatch.setattr(sweep._Sweep, "_lock_and_read", read_then_raced)
    messages_before = Message.objects.count()
    assert sweep.raise_due_warnings(now) == 1  # only the other order's
    assert [lv for _n, _m, lv, _d in _warnings(order)] == [1]
    assert [lv for _n, _m, lv, _d in _warnings(other)] == [1]
    by_order = {n: Message.objects.filter(about_id=n).count() for n in (order.number, other.number)}
    assert by_order[order.number] == by_order[other.number] > 0  # the task's, once
    assert Message.objects.count() == messages_before + 2 * by_order[other.number]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="concurrent writers need PostgreSQL")
@pytest.mark.parametrize("path", ["check_one", "sweep"])
def test_a_check_waits_for_the_order_an_action_holds(policies, wo_world, path):
    """Actions lock the order, then change its deadlines; the scheduled check and the sweep lock
    the order first too. A check that took the deadline first and then waited for the order would
    deadlock with the action (PostgreSQL would abort one of them)."""
    import time

    from django.db import transaction

    from gridcare.workorders.models import WorkOrder

    with clock.frozen(local(2026, 3, 2, 9, 0)):
        order = new_order(wo_world, customer=wo_world.customer_east)
    dispatch = Deadline.objects.get(order=order, milestone="dispatch")
    now = local(2026, 3, 2, 9, 3)  # dispatch level 1 is due
    action_holds_order = threading.Event()
    results: list[int] = []
    errors: list[BaseException] = []

    def check():
        try:
            action_holds_order.wait()
            if path == "check_one":
                results.append(deadlines.check_one(dispatch.pk, now))
            else:
                results.append(sweep.raise_due_warnings(now))
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connections.close_all()

    thread = threading.Thread(target=check)
    thread.start()
    try:
        with transaction.atomic():
            WorkOrder.objects.select_for_update().get(pk=order.pk)
            action_holds_order.set()
            time.sleep(0.5)  # the check is now waiting
            deadlines.meet(order, "dispatch", now)  # the dispatch deadline is met
    finally:
        action_holds_order.set()
        thread.join()
    assert not errors
    assert results == [0]  # met before the check could raise it
    assert _warnings(order) == []
