"""Bad input never gives a 500 (issue #14 items 6, 10, 11): phones, control characters, bounded
numbers and times, JSON ``{code, message}`` for every API error, Idempotency-Key rules, and an
OpenAPI whose schema names are unique."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gridcare.core.api_errors import ErrorCode
from gridcare.core.validation import InvalidPhone, parse_phone
from gridcare.org.services import issue_token
from gridcare.workorders.models import WorkOrder

UNKNOWN_CALLER = {
    "order_type": "consultation",
    "caller_phone": "13900001111",
    "address": "城东路1号",
    "content": "电价咨询",
}


@pytest.fixture
def bearer(world):
    token = issue_token(user=world.agent)
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def post(client, url, body, headers, **extra):
    return client.post(url, body, content_type="application/json", **headers, **extra)


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json")
    answer = response.json()
    assert answer["code"] == code and isinstance(answer["message"], str) and answer["message"]
    assert answer["code"] in set(ErrorCode)


# --- item 6: phones ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("13812345678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("0851-86001234", "085186001234"),
        ("(0851)86001234转123", "085186001234-123"),
        ("０８５１８６００１２３４", "085186001234"),
    ],
)
def test_phones_are_normalized(typed, stored):
    assert parse_phone(typed)[0] == stored


@pytest.mark.parametrize("typed", ["1381234abcd", "12345", "95598", "86001234", "138123456789", "0851-abc"])
def test_phones_with_letters_or_without_area_code_are_refused(typed):
    with pytest.raises(InvalidPhone):
        parse_phone(typed)


def test_api_refuses_a_phone_with_letters_and_stores_a_normalized_one(world, client, bearer):
    bad = post(client, "/api/v1/work-orders", {**UNKNOWN_CALLER, "caller_phone": "1381234abcd"}, bearer)
    assert_error(bad, 422, "invalid_input")
    fault = post(
        client,
        "/api/v1/repair/calls",
        {"content": "停电", "caller_phone": "1381234abcd", "address": "城东路1号"},
        bearer,
    )
    assert_error(fault, 422, "invalid_input")
    assert WorkOrder.objects.count() == 0
    good = post(client, "/api/v1/work-orders", {**UNKNOWN_CALLER, "caller_phone": "138-1234-5678"}, bearer)
    assert good.status_code == 201
    assert WorkOrder.objects.get().caller_phone == "13812345678"


def test_page_form_refuses_a_phone_with_letters(world, client):
    client.force_login(world.agent)
    response = client.post(
        "/workorders/new/",
        {
            "order_type": "consultation",
            "channel": "hotline",
            "caller_phone": "1381234abcd",
            "address": "城东路1号",
            "content": "电价咨询",
        },
    )
    assert response.status_code in (200, 400)
    assert "电话号码格式不正确" in response.content.decode()
    assert WorkOrder.objects.count() == 0


def test_the_import_uses_the_same_phone_rule():
    from gridcare.customers.importing.cells import Invalid, phones

    assert phones("0851-86001234转12；13812345678") == [
        ("085186001234-12", "landline"),
        ("13812345678", "mobile"),
    ]
    with pytest.raises(Invalid):
        phones("1381234abcd")


# --- item 10: control characters, bounds, times ------------------------------------------------------


@pytest.mark.parametrize("field", ["content", "caller_name", "address"])
def test_nul_in_any_text_of_an_intake_is_a_422_and_writes_nothing(world, client, bearer, field):
    response = post(client, "/api/v1/work-orders", {**UNKNOWN_CALLER, field: "电价\x00咨询"}, bearer)
    assert_error(response, 422, "invalid_input")
    assert "13900001111" not in response.content.decode()
    assert WorkOrder.objects.count() == 0


def test_nul_in_an_action_note_and_in_a_url_number(world, client, bearer):
    created = post(client, "/api/v1/work-orders", UNKNOWN_CALLER, bearer).json()
    note = post(client, f"/api/v1/work-orders/{created['number']}/actions/urge", {"note": "催\x00办"}, bearer)
    assert_error(note, 422, "invalid_input")
    in_url = client.get("/api/v1/work-orders/GD%00X", **bearer)
    assert_error(in_url, 404, "not_found")
    in_query = client.get("/api/v1/work-orders", {"state": "accepted\x00"}, **bearer)
    assert in_query.status_code in (400, 422) and in_query.json()["code"] in (
        "invalid_characters",
        "invalid_input",
    )


def test_nul_in_a_page_url_and_a_page_form_is_a_400_not_a_500(world, client):
    client.force_login(world.agent)
    assert client.get("/workorders/GD%00X/").status_code in (400, 404)
    assert client.get("/customers/51%0000001/").status_code in (400, 404)
    posted = client.post(
        "/workorders/new/",
        {"order_type": "consultation", "channel": "hotline", "address": "城东路1号", "content": "咨\x00询"},
    )
    assert posted.status_code == 400
    assert WorkOrder.objects.count() == 0


@pytest.mark.parametrize(
    ("url", "query"),
    [
        ("/api/v1/work-orders", {"limit": 10**20}),
        ("/api/v1/work-orders", {"limit": 0}),
        ("/api/v1/repair/events", {"limit": 10**6}),
        ("/api/v1/customers", {"q": "张", "limit": 500}),
        ("/api/v1/knowledge/search", {"q": "电价", "limit": 500}),
        ("/api/v1/outages", {"limit": 10**9}),
    ],
)
def test_invalid_limit_is_the_same_422_everywhere(world, client, bearer, url, query):
    assert_error(client.get(url, query, **bearer), 422, "invalid_limit")


def test_a_huge_offset_is_refused_not_a_500(world, client, bearer):
    assert_error(client.get("/api/v1/work-orders", {"offset": 10**20}, **bearer), 422, "invalid_input")
    assert client.get("/api/v1/work-orders", {"offset": 10**6}, **bearer).status_code == 200


@pytest.mark.parametrize(
    "at", ["2026-11-24T09:00:00-16:52", "0107-11-24T09:00:00+08:00", "2026-11-24T09:00:00\x00"]
)
def test_times_postgresql_cannot_store_are_refused(world, client, bearer, at):
    response = post(
        client,
        "/api/v1/calls",
        {"call_id": "c-1", "event": "ringing", "caller": "13900001111", "at": at},
        bearer,
    )
    assert_error(response, 422, "invalid_input")


# --- item 10: every API error is {code, message} -----------------------------------------------------


def test_unparseable_and_non_json_bodies(world, client, bearer):
    broken = client.post("/api/v1/work-orders", "{not json", content_type="application/json", **bearer)
    assert_error(broken, 400, "invalid_body")
    plain = client.post(
        "/api/v1/work-orders", '{"order_type": "consultation"}', content_type="text/plain", **bearer
    )
    assert_error(plain, 415, "unsupported_media_type")
    assert WorkOrder.objects.count() == 0


def test_csrf_404_and_405_answer_json(world, client, bearer):
    csrf_client = type(client)(enforce_csrf_checks=True)
    csrf_client.force_login(world.agent)
    assert_error(post(csrf_client, "/api/v1/work-orders", UNKNOWN_CALLER, {}), 403, "csrf_failed")
    assert_error(client.get("/api/v1/no-such-thing", **bearer), 404, "not_found")
    not_allowed = client.delete("/api/v1/work-orders", **bearer)
    assert_error(not_allowed, 405, "method_not_allowed")
    assert "GET" in not_allowed["Allow"]


def test_an_unhandled_error_is_a_json_500(world, client, bearer, monkeypatch):
    from gridcare.workorders import queries

    def boom(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(queries, "get_order", boom)
    client.raise_request_exception = False
    response = client.get("/api/v1/work-orders/GD1", **bearer)
    assert_error(response, 500, "server_error")
    assert "boom" not in response.content.decode() and "Traceback" not in response.content.decode()


def test_every_error_code_in_the_source_is_in_the_enum():
    source = Path(__file__).resolve().parents[2]
    used = set()
    for path in source.rglob("*.py"):
        if "tests" in path.parts or "migrations" in path.parts:
            continue
        used |= set(re.findall(r'ApiError\(\s*"([a-z_]+)"', path.read_text(encoding="utf-8")))
    assert used and used <= {c.value for c in ErrorCode}, used - {c.value for c in ErrorCode}


# --- item 10: Idempotency-Key ----------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["电话-1", "key\x01", "with space", "k" * 61])
def test_a_bad_idempotency_key_is_refused(world, client, bearer, key):
    response = post(client, "/api/v1/work-orders", UNKNOWN_CALLER, bearer, HTTP_IDEMPOTENCY_KEY=key)
    assert_error(response, 400, "invalid_idempotency_key")
    assert WorkOrder.objects.count() == 0


def test_reusing_a_key_with_another_body_is_a_422(world, client, bearer):
    first = post(client, "/api/v1/work-orders", UNKNOWN_CALLER, bearer, HTTP_IDEMPOTENCY_KEY="k-1")
    same = post(client, "/api/v1/work-orders", UNKNOWN_CALLER, bearer, HTTP_IDEMPOTENCY_KEY="k-1")
    assert (first.status_code, same.status_code) == (201, 200)
    assert same.json()["number"] == first.json()["number"]
    other = post(
        client,
        "/api/v1/work-orders",
        {**UNKNOWN_CALLER, "content": "另一件事"},
        bearer,
        HTTP_IDEMPOTENCY_KEY="k-1",
    )
    assert_error(other, 422, "idempotency_key_reused")
    assert WorkOrder.objects.count() == 1


def test_outage_create_refuses_a_reused_key_with_another_body(world, client):
    from gridcare.core import clock
    from gridcare.org.models import Role
    from gridcare.org.services import create_staff

    dispatcher = create_staff(
        username="disp2", password=world.password, full_name="调度二", roles=[(Role.DISPATCHER, world.county)]
    )
    headers = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=dispatcher)}"}
    start = clock.local(clock.now()).replace(microsecond=0)
    body = {
        "kind": "fault",
        "reason": "线路故障",
        "planned_start": start.isoformat(),
        "transformer_areas": ["T01"],
    }
    first = post(client, "/api/v1/outages", body, headers, HTTP_IDEMPOTENCY_KEY="o-1")
    again = post(client, "/api/v1/outages", body, headers, HTTP_IDEMPOTENCY_KEY="o-1")
    assert (first.status_code, again.status_code) == (201, 200)
    other = post(client, "/api/v1/outages", {**body, "reason": "倒杆"}, headers, HTTP_IDEMPOTENCY_KEY="o-1")
    assert_error(other, 422, "idempotency_key_reused")


# --- item 11: OpenAPI -----------------------------------------------------------------------------------


def test_openapi_names_are_unique_and_errors_documented(world, client, bearer):
    schema = client.get("/api/v1/openapi.json").json()
    paths = schema["paths"]

    def item_ref(path, status="200"):
        content = paths[path]["get"]["responses"][status]["content"]["application/json"]["schema"]
        return content.get("items", content).get("$ref") or content["$ref"]

    assert item_ref("/api/v1/work-orders/{number}/history").endswith("/OrderEventOut")
    assert item_ref("/api/v1/repair/events/{number}").endswith("/OutageEventOut")
    components = schema["components"]["schemas"]
    assert {"OrderEventOut", "OutageEventOut", "CtiCallOut", "EventCallOut", "ErrorOut"} <= set(components)
    for operations in paths.values():
        for operation in operations.values():
            assert {"400", "401", "404", "422"} <= set(operation["responses"])
    assert "idempotency_key_reused" in schema["info"]["description"]
    # The history answer matches its own schema (the outage event's fields are not required).
    created = post(client, "/api/v1/work-orders", UNKNOWN_CALLER, bearer).json()
    history = client.get(f"/api/v1/work-orders/{created['number']}/history", **bearer).json()
    required = set(components["OrderEventOut"]["required"])
    assert all(required <= set(event) for event in history)


def test_the_openapi_document_has_one_answer_per_status(client):
    """Swagger UI refused the document ("duplicated mapping key"): ninja's own answers were keyed
    by int beside the common errors keyed by text, so JSON held "404" twice."""
    import json

    def no_duplicates(pairs):
        keys = [key for key, _value in pairs]
        assert len(keys) == len(set(keys)), keys
        return dict(pairs)

    json.loads(client.get("/api/v1/openapi.json").content, object_pairs_hook=no_duplicates)
