"""The intake's prepared statement behaves like any other query: it survives a database connection
that died while idle (PostgreSQL restart, failover, an idle timeout), and Django's query
instrumentation (CaptureQueriesContext, execute_wrapper — what tracing and APM hook into) sees it."""

import pytest
from django.db import close_old_connections, connection
from django.test.utils import CaptureQueriesContext

from gridcare.org.services import issue_token
from gridcare.workorders.models import WorkOrder

BODY = {"order_type": "fault_repair", "account_no": "5100000001", "content": "整栋楼停电"}


def intake(client, token, key):
    return client.post(
        "/api/v1/work-orders",
        BODY,
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Bearer {token}",
        HTTP_IDEMPOTENCY_KEY=key,
    )


def terminate_backend_of(conn):
    """What a PostgreSQL restart or failover does to an idle connection, from another connection."""
    import psycopg

    pid = conn.connection.info.backend_pid
    params = conn.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s, 10000)", [pid])  # waits until it is gone


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_the_first_intake_after_the_database_dropped_the_connection_succeeds(wo_world, client):
    if connection.vendor != "postgresql":
        pytest.skip("the prepared intake statement runs on PostgreSQL only")
    # As deployed (settings.py): persistent connections with CONN_HEALTH_CHECKS.
    assert connection.settings_dict["CONN_HEALTH_CHECKS"] and connection.settings_dict["CONN_MAX_AGE"]
    token = issue_token(user=wo_world.agent)
    assert intake(client, token, "before").status_code == 201

    terminate_backend_of(connection)
    close_old_connections()  # what each request does when it starts (the test client skips it)
    answer = intake(client, token, "after")

    assert answer.status_code == 201, answer.content
    assert WorkOrder.objects.filter(number=answer.json()["number"]).exists()


def test_an_intake_is_seen_by_djangos_query_instrumentation(wo_world, client):
    token = issue_token(user=wo_world.agent)
    intake(client, token, "warm-up")  # the statement is prepared on the connection by now
    seen = []

    def watch(execute, sql, params, many, context):
        seen.append(sql)
        return execute(sql, params, many, context)

    with CaptureQueriesContext(connection) as captured, connection.execute_wrapper(watch):
        answer = intake(client, token, "watched")

    assert answer.status_code == 201
    inserts = [q["sql"] for q in captured.captured_queries if "INSERT" in q["sql"].upper()]
    assert inserts, [q["sql"] for q in captured.captured_queries]
    assert any("INSERT" in sql.upper() for sql in seen)
