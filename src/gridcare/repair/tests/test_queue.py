"""The API's fault calls are recorded at once (来电登记, 202) and processed from the queue: nothing
lost, nothing duplicated, a caller's repeat urges the order their first call created."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from gridcare.core.testing import in_threads
from gridcare.org.services import issue_token
from gridcare.repair import services
from gridcare.repair.models import AnalysisWakeup, FaultEvent, ReportedCall, TroubleCall
from gridcare.repair.services import call_queue
from gridcare.workorders.models import WorkOrder

from .helpers import call

pytestmark = pytest.mark.django_db

URL = "/api/v1/repair/calls"


def api(user):
    return Client(HTTP_AUTHORIZATION=f"Bearer {issue_token(user=user)}")


def post(client, body, key=None):
    headers = {"Idempotency-Key": key} if key else {}
    return client.post(URL, body, content_type="application/json", headers=headers)


def test_a_call_is_recorded_at_once_and_answered_202_without_an_order_yet(grid, storm_clock):
    customer = grid.customers_by_area[grid.areas[0].pk][0]
    r = post(
        api(grid.agent), {"content": "家里停电了", "account_no": customer.account_no, "caller_name": "张"}
    )
    assert r.status_code == 202, r.content
    body = r.json()
    assert body["state"] == "queued" and body["order_number"] is None and body["event"] is None
    assert body["status_url"] == f"{URL}/{body['ref']}"
    assert "正在研判" in body["answer"]
    row = ReportedCall.objects.get()
    assert str(row.ref) == body["ref"]
    assert (row.actor, row.customer, row.unit, row.caller_name, row.content) == (
        grid.agent,
        customer,
        grid.east,
        "张",
        "家里停电了",
    )
    assert row.state == ReportedCall.State.QUEUED and row.received_at is not None
    assert not WorkOrder.objects.exists()  # the work order follows when the call is processed
    assert AnalysisWakeup.objects.get().run_after is not None  # a roll-up (which processes it) is due


def test_the_intake_writes_one_row_and_reads_no_events_or_wakeup_per_call(
    grid, storm_clock, django_capture_on_commit_callbacks
):
    client = api(grid.agent)
    people = grid.customers_by_area[grid.areas[0].pk]
    with django_capture_on_commit_callbacks(execute=True):  # the first call commits and
        post(client, {"content": "停电", "account_no": people[0].account_no})  # wakes the roll-up once
    with CaptureQueriesContext(connection) as queries:
        assert post(client, {"content": "停电", "account_no": people[1].account_no}).status_code == 202
    sql = [q["sql"] for q in queries.captured_queries]
    writes = [s for s in sql if s.lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))]
    # (On PostgreSQL the INSERT is a prepared statement; the query log sees it like any other.)
    assert all("repair_reportedcall" in w for w in writes) and len(writes) == 1
    assert ReportedCall.objects.count() == 2
    assert not [s for s in sql if "repair_analysiswakeup" in s or "repair_faultevent" in s]


def test_the_same_idempotency_key_returns_the_first_call_and_writes_nothing(grid, storm_clock):
    client = api(grid.agent)
    customer = grid.customers_by_area[grid.areas[0].pk][0]
    first = post(client, {"content": "停电", "account_no": customer.account_no}, key="abc")
    again = post(client, {"content": "停电", "account_no": customer.account_no}, key="abc")
    assert first.status_code == 202 and again.status_code == 200
    assert again.json()["ref"] == first.json()["ref"]
    # The same key with another body is refused (as Stripe does), not answered with the first call.
    other_body = post(client, {"content": "停电了！", "account_no": customer.account_no}, key="abc")
    assert other_body.status_code == 422 and other_body.json()["code"] == "idempotency_key_reused"
    assert ReportedCall.objects.count() == 1
    services.run_analysis()
    third = post(client, {"content": "停电", "account_no": customer.account_no}, key="abc").json()
    assert third["state"] == "done" and third["order_number"] == WorkOrder.objects.get().number
    assert ReportedCall.objects.count() == 1 and WorkOrder.objects.count() == 1
    # The key is the caller's own: another agent with the same key records a new call.
    from gridcare.org.models import Role
    from gridcare.org.services import create_staff

    other = create_staff(
        username="agent2", password=grid.password, full_name="二号", roles=[(Role.AGENT, grid.city)]
    )
    assert (
        post(api(other), {"content": "停电", "account_no": customer.account_no}, key="abc").status_code == 202
    )
    assert ReportedCall.objects.count() == 2


def test_out_of_scope_and_invalid_calls_write_nothing(grid, storm_clock):
    east_customer = grid.customers_by_area[grid.areas[0].pk][0]
    r = post(api(grid.clerk_west), {"content": "停电", "account_no": east_customer.account_no})
    assert r.status_code == 404 and r.json()["code"] == "not_found"
    r = post(api(grid.agent), {"content": "停电", "account_no": "0000000000"})
    assert r.status_code == 404
    agent = api(grid.agent)
    r = post(agent, {"content": "   ", "account_no": east_customer.account_no})
    assert r.status_code == 422 and r.json()["code"] == "content_required"
    r = post(agent, {"content": "停电", "caller_phone": "13900000000"})  # unknown customer, no address
    assert r.status_code == 422 and r.json()["code"] == "caller_required"
    r = post(agent, {"content": "停电", "account_no": east_customer.account_no, "channel": "pigeon"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_input"
    r = post(agent, {"account_no": east_customer.account_no})
    assert r.status_code == 422
    r = post(agent, {"content": "停电", "account_no": east_customer.account_no}, key="k" * 61)
    assert r.status_code == 400 and r.json()["code"] == "invalid_idempotency_key"
    r = post(api(grid.outsider), {"content": "停电", "caller_phone": "13900000000", "address": "东风路"})
    assert r.status_code == 403 and r.json()["code"] == "no_unit"
    assert not ReportedCall.objects.exists()
    assert not AnalysisWakeup.objects.exists()


def test_processing_links_to_the_open_event_and_a_repeat_urges_the_first_order(grid, storm_clock):
    people = grid.customers_by_area[grid.areas[0].pk]
    for c in people[:3]:
        call(grid, c)  # the hotline, synchronously
    services.run_analysis()
    event = FaultEvent.objects.get(level="area")
    client = api(grid.agent)
    first = post(client, {"content": "停电", "account_no": people[3].account_no}).json()
    assert first["event"]["number"] == event.number and "已掌握" in first["answer"]
    repeat = post(client, {"content": "还没来电", "account_no": people[3].account_no}).json()

    report = services.run_analysis()
    assert report.processed == 2 and report.failed == 0
    done = api(grid.agent).get(first["status_url"]).json()
    assert done["state"] == "done" and not done["repeated"]
    order = WorkOrder.objects.get(number=done["order_number"])
    assert TroubleCall.objects.get(order=order).event == event
    assert order.state == "dispatched" and done["order_state"] == "dispatched"
    again = client.get(repeat["status_url"]).json()
    assert again["state"] == "done" and again["repeated"] and again["order_number"] == order.number
    order.refresh_from_db()
    assert order.urge_count == 1
    event.refresh_from_db()
    assert event.call_count == 4
    # The trouble call keeps the time the call came in, not the time it was processed.
    assert (
        TroubleCall.objects.get(order=order).received_at
        == ReportedCall.objects.get(ref=first["ref"]).received_at
    )


def test_a_callers_calls_queued_together_make_one_order_and_urge_it(grid, storm_clock):
    client = api(grid.agent)
    customer = grid.customers_by_area[grid.areas[1].pk][0]
    for text in ("停电", "还是没电", "怎么还没人来"):
        assert post(client, {"content": text, "account_no": customer.account_no}).status_code == 202
    # An unknown caller (no account) is placed by the spoken address and counted by their phone.
    body = {"content": "没电了", "caller_phone": "13655550000", "address": "城关镇解放路13号"}
    post(client, body)
    post(client, body)
    services.process_queued_calls()
    assert WorkOrder.objects.filter(customer=customer).count() == 1
    assert WorkOrder.objects.get(customer=customer).urge_count == 2
    assert WorkOrder.objects.filter(caller_phone="13655550000").count() == 1
    assert list(ReportedCall.objects.values_list("repeated", flat=True)) == [False, True, True, False, True]
    assert not ReportedCall.objects.exclude(state="done").exists()


def test_a_failed_call_is_kept_failed_with_its_error_visible_and_retried(grid, storm_clock, monkeypatch):
    people = grid.customers_by_area[grid.areas[0].pk]
    client = api(grid.agent)
    refs = [post(client, {"content": "停电", "account_no": c.account_no}).json()["ref"] for c in people[:3]]
    real = services.report_fault_call

    def half_then_boom(**kwargs):
        if kwargs["customer"] == people[1]:
            real(**kwargs)  # the order is written …
            raise RuntimeError("placement service down")  # … then the processing fails
        return real(**kwargs)

    monkeypatch.setattr(call_queue, "report_fault_call", half_then_boom)
    report = services.process_queued_calls()
    assert (report.processed, report.failed) == (2, 1)
    failed = ReportedCall.objects.get(ref=refs[1])
    assert failed.state == "failed" and "placement service down" in failed.error and failed.order is None
    assert not WorkOrder.objects.filter(customer=people[1]).exists()  # no half-written record
    status = client.get(f"{URL}/{refs[1]}").json()
    assert status["state"] == "failed" and "placement service down" in status["error"]

    board = Client()
    board.force_login(grid.dispatcher)
    page = board.get("/repair/").content.decode()
    assert 'id="failed-calls"' in page and "placement service down" in page

    assert api(grid.agent).post(f"{URL}/{refs[1]}/retry").status_code == 403  # dispatchers only
    monkeypatch.setattr(call_queue, "report_fault_call", real)
    r = board.post(f"/repair/calls/{refs[1]}/retry/")
    assert r.status_code == 302
    assert ReportedCall.objects.get(ref=refs[1]).state == "queued"
    r = api(grid.dispatcher).post(f"{URL}/{refs[1]}/retry")
    assert r.status_code == 409 and r.json()["code"] == "not_failed"
    services.run_analysis()
    again = ReportedCall.objects.get(ref=refs[1])
    assert again.state == "done" and again.order.customer == people[1] and again.attempts == 2
    assert 'id="failed-calls"' not in board.get("/repair/").content.decode()


def test_the_status_is_for_the_reporter_and_staff_whose_scope_covers_the_call(grid, storm_clock):
    from gridcare.org.models import Role
    from gridcare.org.services import create_staff

    customer = grid.customers_by_area[grid.areas[0].pk][0]
    ref = post(api(grid.agent), {"content": "停电", "account_no": customer.account_no}).json()["ref"]
    unknown = post(
        api(grid.clerk_east), {"content": "停电", "caller_phone": "13900001111", "address": "某村某组"}
    ).json()["ref"]
    assert api(grid.agent).get(f"{URL}/{ref}").status_code == 200
    assert api(grid.dispatcher).get(f"{URL}/{ref}").status_code == 200  # the county covers the station
    assert api(grid.clerk_east).get(f"{URL}/{ref}").status_code == 200
    assert api(grid.clerk_west).get(f"{URL}/{ref}").status_code == 404
    mountain = create_staff(
        username="d2", password=grid.password, full_name="山区调度", roles=[(Role.DISPATCHER, grid.county2)]
    )
    assert api(mountain).get(f"{URL}/{ref}").status_code == 404
    assert api(grid.outsider).get(f"{URL}/{ref}").status_code == 404
    # A caller without an account: the reporter's unit decides.
    assert api(grid.dispatcher).get(f"{URL}/{unknown}").status_code == 200
    assert api(grid.clerk_west).get(f"{URL}/{unknown}").status_code == 404
    assert api(grid.agent).get(f"{URL}/not-a-uuid").status_code == 404
    assert api(grid.agent).get(f"{URL}/00000000-0000-0000-0000-000000000000").status_code == 404


def test_the_command_processes_the_queue_before_the_roll_up(grid, storm_clock):
    from io import StringIO

    from django.core.management import call_command

    client = api(grid.agent)
    for c in grid.customers_by_area[grid.areas[2].pk][:3]:
        post(client, {"content": "停电", "account_no": c.account_no})
    out = StringIO()
    call_command("roll_up_fault_calls", stdout=out)
    assert "queued calls processed 3" in out.getvalue()
    event = FaultEvent.objects.get()
    assert event.level == "area" and event.call_count == 3


def test_the_roll_up_task_processes_the_queue(grid, storm_clock):
    from gridcare.repair.tasks import roll_up_fault_calls

    customer = grid.customers_by_area[grid.areas[0].pk][0]
    post(api(grid.agent), {"content": "停电", "account_no": customer.account_no})
    roll_up_fault_calls.call()
    assert ReportedCall.objects.get().state == "done"
    assert FaultEvent.objects.get().level == "customer"  # a single caller: self-check first


def test_the_openapi_declares_the_calls_contract(grid):
    spec = Client().get("/api/v1/openapi.json").json()
    post_op = spec["paths"]["/api/v1/repair/calls"]["post"]
    assert {"202", "200", "404", "422"} <= set(post_op["responses"])
    assert "/api/v1/repair/calls/{ref}" in spec["paths"]


# --- several processes at once (PostgreSQL) -------------------------------------------------------


def _queue(grid, n_customers: int, repeats: int) -> list[str]:
    from gridcare.repair.services import queue_fault_call

    refs = []
    people = [c for area in grid.areas for c in grid.customers_by_area[area.pk]][:n_customers]
    for _round in range(repeats):
        for c in people:
            refs.append(str(queue_fault_call(actor=grid.agent, content="停电", customer=c).call.ref))
    return refs


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SKIP LOCKED needs PostgreSQL")
def test_a_call_held_by_one_process_is_skipped_by_another_and_so_are_its_callers_later_calls(grid):
    from django.db import connections, transaction

    refs = _queue(grid, n_customers=4, repeats=2)  # calls 0-3, then 4-7 (the same four callers)
    held = threading.Event()
    release = threading.Event()

    def hold_first():
        try:
            with transaction.atomic():
                got = call_queue._claim_next_call()
                assert str(got.ref) == refs[0]
                held.set()
                release.wait(30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_first)
    holder.start()
    try:
        assert held.wait(30)
        report = services.process_queued_calls()
        assert report.processed == 6  # all but the held call and its caller's later one
        states = {str(ref): state for ref, state in ReportedCall.objects.values_list("ref", "state")}
        assert states[refs[0]] == "queued" and states[refs[4]] == "queued"
    finally:
        release.set()
        holder.join()
    assert services.process_queued_calls().processed == 2
    assert ReportedCall.objects.get(ref=refs[4]).repeated
    assert WorkOrder.objects.count() == 4


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="SKIP LOCKED needs PostgreSQL")
def test_several_processes_process_every_call_exactly_once(grid):

    _queue(grid, n_customers=12, repeats=3)
    reports = in_threads(services.process_queued_calls, 3)
    assert sum(r.processed for r in reports) == 36 and sum(r.failed for r in reports) == 0
    assert not ReportedCall.objects.exclude(state="done").exists()
    assert WorkOrder.objects.count() == 12  # one order per caller; the other calls urged it
    assert ReportedCall.objects.filter(repeated=True).count() == 24
    assert sorted(WorkOrder.objects.values_list("urge_count", flat=True)) == [2] * 12


def test_the_scheduled_task_paths_name_the_repair_tasks():
    """Verbs schedule by path (core.scheduling); a wrong path would only fail after commit."""
    from gridcare.core import scheduling
    from gridcare.repair import tasks
    from gridcare.repair.services.rollup import CHECK_LONG_OUTAGE
    from gridcare.repair.wakeups import ROLL_UP

    assert scheduling.task(ROLL_UP) is tasks.roll_up_fault_calls
    assert scheduling.task(CHECK_LONG_OUTAGE) is tasks.check_long_outage
