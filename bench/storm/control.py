"""The control of the storm's ingest (docs/benchmarks.md rule 1): a bare django-ninja endpoint that
validates a small pydantic body, checks a bearer token without a query, and does one INSERT into a
one-table model on the same PostgreSQL. Served by the same gunicorn command as GridCare, through
``bench.storm.control_settings`` (GridCare's settings with this URL conf)."""

from __future__ import annotations

import os

from django.db import connection
from django.urls import path
from ninja import NinjaAPI, Schema
from ninja.security import HttpBearer

TABLE = "bench_storm_control_call"
TOKEN = os.environ.get("BENCH_CONTROL_TOKEN", "control-token")


class Token(HttpBearer):
    def authenticate(self, request, token):
        return token if token == TOKEN else None


class CallIn(Schema):
    content: str
    account_no: str | None = None
    caller_name: str = ""
    caller_phone: str = ""
    address: str = ""
    channel: str = "hotline"


api = NinjaAPI(urls_namespace="bench-control", auth=Token())


@api.post("/calls", response={201: dict})
def report_call(request, body: CallIn):
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (account_no, caller_phone, address, content, created_at) "
            "VALUES (%s, %s, %s, %s, now()) RETURNING id",
            [body.account_no or "", body.caller_phone, body.address, body.content],
        )
        (pk,) = cursor.fetchone()
    return 201, {"id": pk}


def create_table() -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (id bigserial PRIMARY KEY, account_no varchar(20), "
            "caller_phone varchar(20), address varchar(200), content text, created_at timestamptz)"
        )
        cursor.execute(f"TRUNCATE {TABLE}")


def count() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {TABLE}")
        return cursor.fetchone()[0]


def healthz(request):
    from django.http import HttpResponse

    return HttpResponse("ok")


urlpatterns = [path("healthz", healthz), path("api/v1/repair/", api.urls)]
