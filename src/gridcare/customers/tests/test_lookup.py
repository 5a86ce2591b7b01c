"""The agent's one-box customer lookup and the customer page."""

from gridcare.core.models import AuditLog
from gridcare.org.services import issue_token


def test_lookup_by_phone_account_name_and_address(world, client):
    client.force_login(world.agent)
    # Full-width digits and dashes, as a Chinese input method types them, find the same customer.
    for q in [
        "13812341234",
        "138-1234-1234",
        "１３８－１２３４－１２３４",
        "５１０００００００１",
        "张建",
        "东风路18号",
    ]:
        # the htmx partial: just the result table, not the echoed query box
        page = client.get("/customers/", {"q": q}, HTTP_HX_REQUEST="true").content.decode()
        assert "张建国" in page, q
        assert "13812341234" not in page  # masked in lists
        assert "138****1234" in page


def test_precise_fields_combine(world, client):
    client.force_login(world.agent)
    page = client.get("/customers/", {"name": "刘", "address": "柳树村"}).content.decode()
    assert "刘秀英" in page and "张建国" not in page


def test_customer_page_shows_profile_topology_and_masks(world, client):
    client.force_login(world.agent)
    page = client.get(f"/customers/{world.customer_west.account_no}/").content.decode()
    assert "10kV西湖线" in page and "西湖1号台区" in page and "农村" in page
    assert "孤寡老人" in page
    assert "520102198001011234" not in page


def test_reveal_personal_data_is_audited(world, client):
    client.force_login(world.agent)
    response = client.post(f"/customers/{world.customer_east.account_no}/personal-data/")
    assert "13812341234" in response.content.decode()
    log = AuditLog.objects.get(action=AuditLog.Action.VIEW_SENSITIVE)
    assert log.actor == world.agent and log.object_id == str(world.customer_east.pk)


def test_metering_staff_may_not_reveal_personal_data(world, client):
    client.force_login(world.metering)
    response = client.post(f"/customers/{world.customer_east.account_no}/personal-data/")
    assert response.status_code == 403
    assert not AuditLog.objects.filter(action=AuditLog.Action.VIEW_SENSITIVE).exists()


def test_api_search_and_detail(world, client):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=world.agent)}"}
    found = client.get("/api/v1/customers", {"phone": "13987654321"}, **auth).json()
    assert [c["account_no"] for c in found] == ["5100000002"]
    assert found[0]["phones_masked"] == ["139****4321"]
    detail = client.get("/api/v1/customers/5100000002", **auth).json()
    assert detail["topology"]["feeder"] == "10kV西湖线"
    assert detail["flags"]["vulnerable"] == "elderly"


def test_api_search_needs_a_query_and_bounded_limit(world, client):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {issue_token(user=world.agent)}"}
    empty = client.get("/api/v1/customers", **auth)
    assert empty.status_code == 400 and empty.json()["code"] == "query_required"
    bad = client.get("/api/v1/customers", {"q": "张", "limit": 500}, **auth)
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_limit"
    wrong_type = client.get("/api/v1/customers", {"q": "张", "limit": "many"}, **auth)
    assert wrong_type.status_code == 422 and wrong_type.json()["code"] == "invalid_input"


def test_openapi_document(client, db):
    doc = client.get("/api/v1/openapi.json").json()
    assert "/api/v1/customers" in doc["paths"]
    assert "/api/v1/customers/{account_no}" in doc["paths"]
