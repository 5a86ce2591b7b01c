"""The WSGI application gunicorn serves: bearer-token API requests take the short middleware
chain, everything else the whole chain."""

import io
import json

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from gridcare.customers.models import Customer
from gridcare.org.services import issue_token
from gridcare.workorders.models import WorkOrder


def call(path: str, *, method: str = "GET", body: dict | None = None, **headers: str):
    """One request through ``gridcare.wsgi.application`` (as gunicorn calls it), inside the
    test's transaction (the signals that close connections are held back, as the test client does)."""
    from gridcare.wsgi import application

    data = json.dumps(body or {}).encode() if body is not None else b""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "HTTP_HOST": "testserver",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(data),
        "wsgi.errors": io.StringIO(),
        "CONTENT_LENGTH": str(len(data)),
        "CONTENT_TYPE": "application/json",
        **{f"HTTP_{k.upper()}": v for k, v in headers.items()},
    }
    answer = {}

    def start_response(status, response_headers, exc_info=None):
        answer["status"] = int(status.split()[0])
        answer["headers"] = dict(response_headers)

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        answer["body"] = b"".join(application(environ, start_response))
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return answer


@pytest.fixture
def token(world):
    return issue_token(user=world.agent)


def test_a_bearer_request_takes_the_token_chain_and_creates_the_order(world, token):
    account = Customer.objects.order_by("id").first().account_no
    answer = call(
        "/api/v1/work-orders",
        method="POST",
        body={
            "order_type": "complaint",
            "account_no": account,
            "content": "抄表员态度差",
            "complaint_class": "service",
        },
        authorization=f"Bearer {token}",
        idempotency_key="wsgi-1",
    )
    assert answer["status"] == 201, answer["body"]
    assert WorkOrder.objects.filter(number=json.loads(answer["body"])["number"]).exists()
    # The page-only middleware (X-Frame-Options, sessions) did not run for it.
    assert "X-Frame-Options" not in answer["headers"]


def test_a_bad_token_is_401_and_never_falls_back_to_a_session(world, client):
    client.force_login(world.agent)  # a valid staff session cookie beside a wrong token
    cookie = f"sessionid={client.cookies['sessionid'].value}"
    answer = call("/api/v1/work-orders", authorization="Bearer wrong", cookie=cookie)
    assert answer["status"] == 401
    assert json.loads(answer["body"])["code"] == "unauthorized"
    # Without a bearer token the same cookie is a session, through the whole chain.
    answer = call("/api/v1/work-orders", cookie=cookie)
    assert answer["status"] == 200
    assert answer["headers"]["X-Frame-Options"] == "DENY"


def test_pages_take_the_whole_chain(world):
    answer = call("/login/")
    assert answer["status"] == 200
    assert answer["headers"]["X-Frame-Options"] == "DENY"
    assert "csrftoken" in answer["headers"].get("Set-Cookie", "")
