"""Intake on PostgreSQL writes everything in one statement; it must write what the ORM path writes."""

import datetime as dt

import pytest
from django.db import connection
from django.forms.models import model_to_dict
from django_tasks_db.models import DBTaskResult

from gridcare.core import clock
from gridcare.core.testing import in_threads
from gridcare.workorders import intake_sql, services
from gridcare.workorders.models import Deadline, WorkOrder, WorkOrderEvent

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the one-statement intake is PostgreSQL's"
)

AT = dt.datetime(2026, 9, 30, 16, 0, tzinfo=clock.LOCAL_TZ)  # the eve of the National Day holiday


def _written(order: WorkOrder) -> dict:
    """What one intake wrote, without keys, numbers and the idempotency key."""
    row = model_to_dict(WorkOrder.objects.get(pk=order.pk), exclude=["id", "number", "idempotency_key"])
    events = [model_to_dict(e, exclude=["id", "order"]) for e in WorkOrderEvent.objects.filter(order=order)]
    deadlines = {
        d.milestone: model_to_dict(d, exclude=["id", "order"]) for d in Deadline.objects.filter(order=order)
    }
    ids = {d.pk: d.milestone for d in Deadline.objects.filter(order=order)}
    checks = []
    for task in DBTaskResult.objects.filter(args_kwargs__args__0__in=list(ids)).order_by("run_after"):
        checks.append(
            (
                ids[task.args_kwargs["args"][0]],
                task.args_kwargs["kwargs"],
                task.status,
                task.task_path,
                task.queue_name,
                task.backend_name,
                task.priority,
                task.run_after,
                task.worker_ids,
                task.return_value,
                task.exception_class_path,
                task.traceback,
            )
        )
    return {"order": row, "events": events, "deadlines": deadlines, "checks": checks}


@pytest.mark.parametrize("order_type", ["fault_repair", "complaint"])
def test_one_statement_writes_what_the_orm_writes(wo_world, monkeypatch, order_type):
    assert intake_sql.available()
    intake = services.Intake(
        order_type=order_type,
        channel="hotline",
        content="整栋楼停电",
        customer=wo_world.customer_east,
        complaint_class="service" if order_type == "complaint" else "",
    )
    with clock.frozen(AT):
        fast, created = services.create_work_order(actor=wo_world.agent, intake=intake, idempotency_key="k1")
        assert created
        monkeypatch.setattr(intake_sql, "available", lambda: False)
        slow, created = services.create_work_order(actor=wo_world.agent, intake=intake, idempotency_key="k2")
        assert created
    assert fast.number[-6:] == "000001" and slow.number[-6:] == "000002"
    assert fast.number[:-6] == slow.number[:-6]
    written = _written(fast)
    assert written == _written(slow)
    assert written["deadlines"] and len(written["checks"]) == len(written["deadlines"])
    # What the caller got back matches what was stored.
    assert {d.milestone: d.pk for d in fast.started_deadlines} == {
        d.milestone: d.pk for d in Deadline.objects.filter(order=fast)
    }


def test_repeated_key_writes_nothing_and_gives_the_number_back(wo_world):
    intake = services.Intake(
        order_type="complaint",
        channel="hotline",
        content="态度差",
        customer=wo_world.customer_east,
        complaint_class="service",
    )
    first, _ = services.create_work_order(actor=wo_world.agent, intake=intake, idempotency_key="same")
    again, created = services.create_work_order(actor=wo_world.agent, intake=intake, idempotency_key="same")
    assert not created and again.pk == first.pk
    assert WorkOrder.objects.count() == 1 and WorkOrderEvent.objects.count() == 1
    other, _ = services.create_work_order(actor=wo_world.agent, intake=intake, idempotency_key="other")
    # The attempt with the repeated key rolled back its number: no gap.
    assert int(other.number[-6:]) == int(first.number[-6:]) + 1


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_concurrent_intake_numbers_every_order_once_without_gaps(world):
    """Eight clerks taking orders at once: every order gets its own number, 1…N, nothing lost."""

    counter = iter(range(8))

    def take():
        n = next(counter)
        for k in range(15):
            intake = services.Intake(
                order_type="complaint",
                channel="hotline",
                content="态度差",
                customer=world.customer_east,
                complaint_class="service",
            )
            services.create_work_order(actor=world.agent, intake=intake, idempotency_key=f"{n}-{k}")

    in_threads(take, 8)
    numbers = sorted(int(n[-6:]) for n in WorkOrder.objects.values_list("number", flat=True))
    assert numbers == list(range(1, 121))
    assert WorkOrderEvent.objects.count() == 120


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_same_key_sent_at_once_from_several_connections_is_one_order(world):
    """A client retrying before its first attempt answered: whichever commits first makes the
    order, every other attempt answers that order (found before writing, or by the unique index
    when both wrote at once) and leaves nothing behind."""

    def take():
        taken = {}
        for k in range(10):
            intake = services.Intake(
                order_type="complaint",
                channel="hotline",
                content="态度差",
                customer=world.customer_east,
                complaint_class="service",
            )
            order, _created = services.create_work_order(
                actor=world.agent, intake=intake, idempotency_key=f"same-{k}"
            )
            taken[k] = order.number
        return taken

    answers: dict[int, set[str]] = {}
    for taken in in_threads(take, 4):
        for k, number in taken.items():
            answers.setdefault(k, set()).add(number)
    assert all(len(numbers) == 1 for numbers in answers.values())
    assert WorkOrder.objects.count() == 10 and WorkOrderEvent.objects.count() == 10
    numbers = sorted(int(n[-6:]) for n in WorkOrder.objects.values_list("number", flat=True))
    assert numbers[0] == 1 and len(set(numbers)) == 10
